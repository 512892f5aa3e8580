/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime side's result cache in the format libcni and cnitool read and write: the path
 * <cacheDir>/results/<net>-<containerID>-<ifname>, kind cniCacheV1 with its fields in libcni's
 * order, CNI_ARGS as [[k,v],..] pairs, reading entries libcni wrote, listing, removal. Temp
 * dirs only: no root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns-tools/runtime/runtime.h"
#include "netns-tools/nsrun/ctr.h"

static const char conflist[] =
	"{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"plugins\":[{\"type\":\"a\"}]}";

struct fixture {
	char dir[64];
	struct rt rt;
	struct rt_netconf *nc;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/weft-rtcache.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->rt.cache_dir = f->dir;
	if (rt_netconf_from_bytes(conflist, strlen(conflist), &f->nc, NULL) < 0)
		return -1;
	unsetenv("WEFT_CNI_CACHE_DIR");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ctr_rm_rf(f->dir);
	rt_netconf_free(f->nc);
	free(f);
	return 0;
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 65536);

	assert_non_null(fp);
	assert_non_null(buf);
	assert_true(fread(buf, 1, 65535, fp) > 0);
	fclose(fp);
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Writes one entry for attachment a and returns the file's text. */
static char *write_entry(struct fixture *f, const struct rt_attach *a, const json_t *result)
{
	char path[PATH_MAX];

	assert_int_equal(rt_cache_write(&f->rt, f->nc, a, result, NULL), 0);
	assert_int_equal(rt_cache_path(&f->rt, f->nc->name, a->container_id, a->ifname, path,
				       sizeof(path), NULL),
			 0);
	return slurp(path);
}

static void test_path_naming(void **state)
{
	struct fixture *f = *state;
	struct rt other = {.cache_dir = ""};
	struct cni_err err = {0};
	char path[PATH_MAX], want[PATH_MAX];

	assert_int_equal(rt_cache_path(&f->rt, "net1", "ctr-1", "eth0", path, sizeof(path), NULL),
			 0);
	snprintf(want, sizeof(want), "%s/results/net1-ctr-1-eth0", f->dir);
	assert_string_equal(path, want);
	/* no cache dir given: libcni's, unless $WEFT_CNI_CACHE_DIR says otherwise */
	assert_int_equal(rt_cache_path(NULL, "n", "c", "net1", path, sizeof(path), NULL), 0);
	assert_string_equal(path, "/var/lib/cni/results/n-c-net1");
	setenv("WEFT_CNI_CACHE_DIR", "/srv/cache", 1);
	assert_int_equal(rt_cache_path(&other, "n", "c", "eth1", path, sizeof(path), NULL), 0);
	assert_string_equal(path, "/srv/cache/results/n-c-eth1");
	/* an explicit dir wins over the environment */
	assert_int_equal(rt_cache_path(&f->rt, "n", "c", "eth1", path, sizeof(path), NULL), 0);
	snprintf(want, sizeof(want), "%s/results/n-c-eth1", f->dir);
	assert_string_equal(path, want);
	unsetenv("WEFT_CNI_CACHE_DIR");
	/* all three parts are required, as libcni's getCacheFilePath says */
	assert_int_equal(rt_cache_path(&f->rt, "n", "", "eth0", path, sizeof(path), &err), -EINVAL);
	assert_string_equal(err.msg, "cache file path requires network name (\"n\"), container ID "
				     "(\"\"), and interface name (\"eth0\")");
	assert_int_equal(rt_cache_path(&f->rt, NULL, "c", NULL, path, sizeof(path), NULL), -EINVAL);
	assert_int_equal(rt_cache_path(&f->rt, "n", "c", "eth0", path, 16, &err), -ENAMETOOLONG);
}

static void test_entry_format(void **state)
{
	struct fixture *f = *state;
	json_t *caps = json_pack("{s:[{s:i,s:i,s:s}]}", "portMappings", "hostPort", 8080,
				 "containerPort", 80, "protocol", "tcp");
	json_t *res = json_pack("{s:s,s:[{s:s}]}", "cniVersion", "1.0.0", "ips", "address",
				"10.1.0.2/24");
	struct rt_attach a = {.container_id = "c1",
			      .netns = "/run/netns/x",
			      .ifname = "eth0",
			      .cni_args = "IgnoreUnknown=1;K8S_POD_NAME=p",
			      .cap_args = caps};
	char *config = rt_base64_encode(conflist, strlen(conflist)), want[2048];
	char *text = write_entry(f, &a, res);

	/* libcni's field order, compact, the conflist bytes as Go encodes []byte */
	snprintf(want, sizeof(want),
		 "{\"kind\":\"cniCacheV1\",\"containerId\":\"c1\",\"config\":\"%s\","
		 "\"ifName\":\"eth0\",\"networkName\":\"net1\",\"netns\":\"/run/netns/x\","
		 "\"cniArgs\":[[\"IgnoreUnknown\",\"1\"],[\"K8S_POD_NAME\",\"p\"]],"
		 "\"capabilityArgs\":{\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80,"
		 "\"protocol\":\"tcp\"}]},"
		 "\"result\":{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.0.2/24\"}]}}",
		 config);
	assert_string_equal(text, want);
	free(text);
	free(config);
	json_decref(caps);
	json_decref(res);
}

static void test_entry_optional_fields(void **state)
{
	struct fixture *f = *state;
	json_t *empty = json_object();
	struct rt_attach a = {
		.container_id = "c2", .netns = "", .ifname = "net1", .cap_args = empty};
	char *text = write_entry(f, &a, NULL);
	json_t *j = json_loads(text, 0, NULL);

	/* GC-style attachment: no netns, no CNI_ARGS, no capabilities, no result */
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 5);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "cniCacheV1");
	assert_string_equal(json_string_value(json_object_get(j, "ifName")), "net1");
	assert_null(json_object_get(j, "netns"));
	assert_null(json_object_get(j, "cniArgs"));
	assert_null(json_object_get(j, "capabilityArgs"));
	assert_null(json_object_get(j, "result"));
	json_decref(j);
	json_decref(empty);
	free(text);
}

/* CNI_ARGS "K=V;K=V" becomes libcni's RuntimeConf.Args pairs. */
static void test_cni_args_pairs(void **state)
{
	static const struct {
		const char *args, *pairs;
	} cases[] = {
		{"A=1;B=2", "[[\"A\",\"1\"],[\"B\",\"2\"]]"},
		{"K8S_POD_NAMESPACE=default", "[[\"K8S_POD_NAMESPACE\",\"default\"]]"},
		{"ONLYKEY", "[[\"ONLYKEY\",\"\"]]"},
		{";;A=1;", "[[\"A\",\"1\"]]"},
		{"A=b=c;D=", "[[\"A\",\"b=c\"],[\"D\",\"\"]]"},
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rt_attach a = {.container_id = "c",
				      .netns = "/n",
				      .ifname = "eth0",
				      .cni_args = cases[i].args};
		char *text = write_entry(f, &a, NULL);
		json_t *j = json_loads(text, 0, NULL);
		char *pairs = json_dumps(json_object_get(j, "cniArgs"), JSON_COMPACT);

		if (!pairs || strcmp(pairs, cases[i].pairs) != 0)
			fail_msg("CNI_ARGS '%s': got %s, want %s", cases[i].args,
				 pairs ? pairs : "(none)", cases[i].pairs);
		free(pairs);
		json_decref(j);
		free(text);
	}
}

static void test_roundtrip_and_modes(void **state)
{
	struct fixture *f = *state;
	char sub[128], path[PATH_MAX];
	struct rt rt = {.cache_dir = sub};
	json_t *caps = json_pack("{s:s}", "mac", "c2:11:22:33:44:55");
	struct rt_attach a = {.container_id = "c1",
			      .netns = "/run/netns/x",
			      .ifname = "eth0",
			      .cni_args = "A=1;B=2",
			      .cap_args = caps};
	json_t *res = json_pack("{s:s}", "cniVersion", "1.0.0");
	struct rt_cached c = {0};
	struct stat st;

	/* a missing cache dir is made private, like libcni's MkdirAll(dir, 0700) */
	snprintf(sub, sizeof(sub), "%s/var/cni", f->dir);
	assert_int_equal(rt_cache_write(&rt, f->nc, &a, res, NULL), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/results", sub);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/results/net1-c1-eth0", sub);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(rt_cache_read(&rt, "net1", "c1", "eth0", &c, NULL), 0);
	assert_string_equal(c.container_id, "c1");
	assert_string_equal(c.ifname, "eth0");
	assert_string_equal(c.network, "net1");
	assert_string_equal(c.netns, "/run/netns/x");
	assert_string_equal(c.cni_args, "A=1;B=2");
	assert_true(json_equal(c.cap_args, caps));
	assert_true(json_equal(c.result, res));
	assert_int_equal(c.config_len, strlen(conflist));
	assert_memory_equal(c.config, conflist, c.config_len);
	rt_cached_free(&c);
	/* a second write replaces the entry atomically; no temp file is left behind */
	json_object_set_new(res, "extra", json_true());
	assert_int_equal(rt_cache_write(&rt, f->nc, &a, res, NULL), 0);
	assert_int_equal(rt_cache_read(&rt, "net1", "c1", "eth0", &c, NULL), 0);
	assert_true(json_is_true(json_object_get(c.result, "extra")));
	rt_cached_free(&c);
	snprintf(path, sizeof(path), "%s/results/net1-c1-eth0.tmp.%d", sub, (int)getpid());
	assert_int_equal(access(path, F_OK), -1);
	json_decref(res);
	json_decref(caps);
}

/* An entry exactly as libcni 1.1 writes it (cnitool add), read back by the runtime side. */
static void test_read_libcni_entry(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], text[2048];
	char *config = rt_base64_encode(conflist, strlen(conflist));
	struct rt_cached c = {0};

	snprintf(path, sizeof(path), "%s/results", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(text, sizeof(text),
		 "{\"kind\":\"cniCacheV1\",\"containerId\":\"cnitool-55e2cecc95014b0f7fc4\","
		 "\"config\":\"%s\",\"ifName\":\"eth0\",\"networkName\":\"net1\","
		 "\"netns\":\"/run/netns/x\",\"cniArgs\":[[\"IgnoreUnknown\",\"true\"]],"
		 "\"result\":{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\"}],"
		 "\"ips\":[{\"address\":\"10.22.0.5/24\",\"interface\":0}]}}\n",
		 config);
	snprintf(path, sizeof(path), "%s/results/net1-cnitool-55e2cecc95014b0f7fc4-eth0", f->dir);
	spit(path, text);
	assert_int_equal(
		rt_cache_read(&f->rt, "net1", "cnitool-55e2cecc95014b0f7fc4", "eth0", &c, NULL), 0);
	assert_string_equal(c.netns, "/run/netns/x");
	assert_string_equal(c.cni_args, "IgnoreUnknown=true");
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(c.result, "ips"), 0), "address")),
		"10.22.0.5/24");
	assert_memory_equal(c.config, conflist, strlen(conflist));
	rt_cached_free(&c);
	free(config);
}

static void test_read_rejects(void **state)
{
	static const char *const bad[] = {
		"{\"kind\":\"cniCacheV2\",\"containerId\":\"c\",\"ifName\":\"eth0\"}",
		"{\"containerId\":\"c\",\"ifName\":\"eth0\",\"networkName\":\"net1\"}",
		"{\"kind\":\"cniCacheV1\",\"config\":\"not base64!\"}",
		"{\"kind\":\"cniCacheV1\",\"cniArgs\":[[\"A\"]]}",
		"{\"kind\":\"cniCacheV1\",\"cniArgs\":[[\"A\",1]]}",
		"[\"kind\",\"cniCacheV1\"]",
		"{\"kind\":\"cniCacheV1\",",
	};
	struct fixture *f = *state;
	char path[PATH_MAX], want[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/results", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/results/net1-c-eth0", f->dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rt_cached c = {0};
		struct cni_err err = {0};

		spit(path, bad[i]);
		if (rt_cache_read(&f->rt, "net1", "c", "eth0", &c, &err) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(err.code, CNI_ERR_DECODE);
		snprintf(want, sizeof(want), "failed to get network \"net1\" cached result from %s",
			 path);
		assert_string_equal(err.msg, want);
		assert_null(c.container_id);
	}
	/* a missing entry is -ENOENT and no error (DEL goes on without a prevResult) */
	{
		struct rt_cached c = {0};
		struct cni_err err = {0};

		assert_int_equal(rt_cache_read(&f->rt, "net1", "gone", "eth0", &c, &err), -ENOENT);
		assert_int_equal(err.code, CNI_OK);
	}
}

static void test_list_and_del(void **state)
{
	static const char *const cids[] = {"b", "a", "c"};
	struct fixture *f = *state;
	const char *other_list =
		"{\"cniVersion\":\"1.0.0\",\"name\":\"net2\",\"plugins\":[{\"type\":"
		"\"a\"}]}";
	struct rt_netconf *other = NULL;
	struct rt_cached *list = NULL;
	struct rt_attach a = {.netns = "/n", .ifname = "eth0"};
	char path[PATH_MAX];
	size_t n = 0;

	assert_int_equal(rt_netconf_from_bytes(other_list, strlen(other_list), &other, NULL), 0);
	/* nothing cached yet, no results dir at all: an empty list */
	assert_int_equal(rt_cache_list(&f->rt, NULL, NULL, &list, &n, NULL), 0);
	assert_int_equal(n, 0);
	rt_cached_list_free(list, n);
	for (size_t i = 0; i < 3; i++) {
		a.container_id = cids[i];
		assert_int_equal(rt_cache_write(&f->rt, f->nc, &a, NULL, NULL), 0);
	}
	a.container_id = "a";
	assert_int_equal(rt_cache_write(&f->rt, other, &a, NULL, NULL), 0);
	/* what a writer in flight, a stray dotfile and a foreign file look like */
	snprintf(path, sizeof(path), "%s/results/net1-z-eth0.tmp.99", f->dir);
	spit(path, "{\"kind\":\"cniCacheV1\"}");
	snprintf(path, sizeof(path), "%s/results/.hidden", f->dir);
	spit(path, "{}");
	snprintf(path, sizeof(path), "%s/results/garbage", f->dir);
	spit(path, "not json");

	assert_int_equal(rt_cache_list(&f->rt, "net1", NULL, &list, &n, NULL), 0);
	assert_int_equal(n, 3);
	/* sorted by file name */
	assert_string_equal(list[0].container_id, "a");
	assert_string_equal(list[1].container_id, "b");
	assert_string_equal(list[2].container_id, "c");
	assert_string_equal(list[0].network, "net1");
	rt_cached_list_free(list, n);
	assert_int_equal(rt_cache_list(&f->rt, NULL, "a", &list, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].network, "net1");
	assert_string_equal(list[1].network, "net2");
	rt_cached_list_free(list, n);
	assert_int_equal(rt_cache_list(&f->rt, "net2", "b", &list, &n, NULL), 0);
	assert_int_equal(n, 0);
	rt_cached_list_free(list, n);

	assert_int_equal(rt_cache_del(&f->rt, "net1", "b", "eth0"), 0);
	assert_int_equal(rt_cache_del(&f->rt, "net1", "b", "eth0"), 0); /* already gone: fine */
	assert_int_equal(rt_cache_del(&f->rt, "net1", "", "eth0"), 0);	/* no path: nothing */
	assert_int_equal(rt_cache_list(&f->rt, "net1", NULL, &list, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[1].container_id, "c");
	rt_cached_list_free(list, n);
	rt_netconf_free(other);
}

static void test_base64(void **state)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"",		"Zg==",	    "Zm8=",    "Zm9v",
					    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	char *d = NULL;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		char *e = rt_base64_encode(plain[i], strlen(plain[i]));

		assert_string_equal(e, coded[i]);
		assert_int_equal(rt_base64_decode(e, &d, &n), 0);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(d, plain[i], n);
		free(e);
		free(d);
	}
	/* binary bytes survive, including NUL */
	{
		const unsigned char bin[] = {0x00, 0xff, 0xfe, 0x80, 0x7f};
		char *e = rt_base64_encode(bin, sizeof(bin));

		assert_string_equal(e, "AP/+gH8=");
		assert_int_equal(rt_base64_decode(e, &d, &n), 0);
		assert_int_equal(n, sizeof(bin));
		assert_memory_equal(d, bin, n);
		free(e);
		free(d);
	}
	assert_int_equal(rt_base64_decode("Zm9", &d, &n), -EINVAL);
	assert_int_equal(rt_base64_decode("Zm=v", &d, &n), -EINVAL);
	assert_int_equal(rt_base64_decode("Z!9v", &d, &n), -EINVAL);
	assert_int_equal(rt_base64_decode("Zg==Zg==", &d, &n), -EINVAL);
	assert_int_equal(rt_base64_decode("Z===", &d, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_path_naming, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_optional_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cni_args_pairs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip_and_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_libcni_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_and_del, setup, teardown),
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

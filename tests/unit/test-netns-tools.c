/* SPDX-License-Identifier: Apache-2.0 */
/* netns-tools pure parts: the libcni result cache format (base64 config, cniCacheV1 fields,
 * 0600, listing), cnitool's container IDs (sha512), cgroup layouts of v1, v2 and hybrid
 * hosts, and the nsrun size/CPU parsers. No root needed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "lab.h"
#include "runtime.h"

static void test_base64(void **state)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"",		"Zg==",	    "Zm8=",    "Zm9v",
					    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

	(void)state;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		char *e = rt_base64_encode(plain[i], strlen(plain[i])), *d = NULL;
		size_t n = 0;

		assert_string_equal(e, coded[i]);
		assert_int_equal(rt_base64_decode(e, &d, &n), 0);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(d, plain[i], n);
		free(e);
		free(d);
	}
	{
		char *d = NULL;
		size_t n;

		assert_int_equal(rt_base64_decode("Zm9", &d, &n), -EINVAL);
		assert_int_equal(rt_base64_decode("Zm=v", &d, &n), -EINVAL);
		assert_int_equal(rt_base64_decode("Z!9v", &d, &n), -EINVAL);
	}
}

static void test_cache_roundtrip(void **state)
{
	char dir[64] = "/tmp/weft-rtcache.XXXXXX", path[256], cmd[128];
	const char *list =
		"{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"plugins\":[{\"type\":\"a\"}]}";
	struct rt_netconf *nc = NULL;
	json_t *caps = json_pack("{s:s}", "mac", "c2:11:22:33:44:55");
	json_t *res = json_pack("{s:s,s:[{s:s}]}", "cniVersion", "1.0.0", "ips", "address",
				"10.1.0.2/24");
	struct rt_attach a = {.container_id = "c1",
			      .netns = "/run/netns/x",
			      .ifname = "eth0",
			      .cni_args = "IgnoreUnknown=1;K8S_POD_NAME=p",
			      .cap_args = caps};
	struct rt_cached c = {0}, *all = NULL;
	struct rt rt = {.cache_dir = dir};
	struct stat st;
	json_t *j;
	size_t n = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(rt_netconf_from_bytes(list, strlen(list), &nc, NULL), 0);
	assert_int_equal(rt_cache_write(&rt, nc, &a, res, NULL), 0);
	snprintf(path, sizeof(path), "%s/results/net1-c1-eth0", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	j = json_load_file(path, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "cniCacheV1");
	assert_string_equal(json_string_value(json_object_get(j, "containerId")), "c1");
	assert_string_equal(json_string_value(json_object_get(j, "ifName")), "eth0");
	assert_string_equal(json_string_value(json_object_get(j, "networkName")), "net1");
	assert_string_equal(json_string_value(json_object_get(j, "netns")), "/run/netns/x");
	assert_int_equal(json_array_size(json_object_get(j, "cniArgs")), 2);
	assert_true(json_equal(json_object_get(j, "result"), res));
	json_decref(j);
	assert_int_equal(rt_cache_read(&rt, "net1", "c1", "eth0", &c, NULL), 0);
	assert_int_equal(c.config_len, strlen(list));
	assert_memory_equal(c.config, list, c.config_len);
	assert_string_equal(c.cni_args, "IgnoreUnknown=1;K8S_POD_NAME=p");
	assert_true(json_equal(c.cap_args, caps));
	rt_cached_free(&c);
	assert_int_equal(rt_cache_read(&rt, "net1", "c2", "eth0", &c, NULL), -ENOENT);
	assert_int_equal(rt_cache_list(&rt, "net1", NULL, &all, &n, NULL), 0);
	assert_int_equal(n, 1);
	rt_cached_list_free(all, n);
	assert_int_equal(rt_cache_list(&rt, "other", NULL, &all, &n, NULL), 0);
	assert_int_equal(n, 0);
	rt_cached_list_free(all, n);
	assert_int_equal(rt_cache_del(&rt, "net1", "c1", "eth0"), 0);
	assert_int_equal(rt_cache_del(&rt, "net1", "c1", "eth0"), 0);
	assert_int_equal(stat(path, &st), -1);
	rt_netconf_free(nc);
	json_decref(caps);
	json_decref(res);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_cnitool_id(void **state)
{
	unsigned char d[64];
	char id[29];

	(void)state;
	/* sha512("abc"), FIPS 180-2 appendix C */
	sha512_digest("abc", 3, d);
	assert_int_equal(d[0], 0xdd);
	assert_int_equal(d[1], 0xaf);
	assert_int_equal(d[63], 0x9f);
	lab_cnitool_id("/run/netns/x", id);
	assert_string_equal(id, "cnitool-55e2cecc95014b0f7fc4");
}

static const char hybrid[] =
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids,clone_children\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	"99 35 0:32 / /mnt/again rw,relatime - cgroup cgroup rw,memory\n";

static void test_cgroup_layouts(void **state)
{
	struct cg_layout l;
	char buf[128];

	(void)state;
	assert_int_equal(cgroup_layout_parse(hybrid, &l), 0);
	assert_int_equal(l.n, 5); /* the second mount of memory adds nothing */
	assert_int_equal(l.unified, 4);
	assert_string_equal(l.m[0].ctrls, "cpu,cpuacct");
	assert_string_equal(l.m[2].ctrls, "pids");
	assert_string_equal(l.m[3].ctrls, "name=systemd");
	assert_string_equal(l.m[cgroup_layout_find(&l, "memory", CG_MODE_AUTO)].path,
			    "/sys/fs/cgroup/memory");
	assert_string_equal(l.m[cgroup_layout_find(&l, "cpu", CG_MODE_AUTO)].path,
			    "/sys/fs/cgroup/cpu,cpuacct");
	assert_int_equal(cgroup_layout_find(&l, "memory", CG_MODE_V2), -1);
	/* once the unified tree offers memory, AUTO and V2 use it; V1 still the v1 one */
	snprintf(l.m[l.unified].ctrls, sizeof(l.m[0].ctrls), "cpu memory pids");
	assert_int_equal(cgroup_layout_find(&l, "memory", CG_MODE_AUTO), l.unified);
	assert_int_equal(cgroup_layout_find(&l, "memory", CG_MODE_V2), l.unified);
	assert_int_equal(cgroup_layout_find(&l, "memory", CG_MODE_V1), 1);
	assert_non_null(strstr(cgroup_layout_describe(&l, buf, sizeof(buf)), "hybrid"));
	assert_int_equal(
		cgroup_layout_parse("1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(cgroup_layout_describe(&l, buf, sizeof(buf)),
			    "v2 (cgroup2 at /sys/fs/cgroup)");
	assert_int_equal(cgroup_layout_parse("1 0 0:1 / / rw - ext4 /dev/sda rw\n", &l), 0);
	assert_int_equal(l.n, 0);
	assert_string_equal(cgroup_layout_describe(&l, buf, sizeof(buf)), "none");
}

static void test_cgroup_json(void **state)
{
	struct cgroup cg = {.rel = "weft/x", .parent = "weft", .n = 1}, back;
	json_t *j;

	(void)state;
	cg.dirs[0].version = 1;
	snprintf(cg.dirs[0].path, sizeof(cg.dirs[0].path), "/sys/fs/cgroup/memory/weft/x");
	snprintf(cg.dirs[0].mount, sizeof(cg.dirs[0].mount), "/sys/fs/cgroup/memory");
	snprintf(cg.dirs[0].ctrls, sizeof(cg.dirs[0].ctrls), "memory");
	j = cgroup_to_json(&cg);
	assert_int_equal(cgroup_from_json(j, &back), 0);
	assert_int_equal(back.n, 1);
	assert_string_equal(back.dirs[0].path, cg.dirs[0].path);
	assert_string_equal(back.rel, "weft/x");
	/* a state file never makes us rmdir outside the hierarchy */
	json_object_set_new(json_array_get(json_object_get(j, "dirs"), 0), "path",
			    json_string("/etc"));
	assert_int_equal(cgroup_from_json(j, &back), -EINVAL);
	json_object_set_new(json_array_get(json_object_get(j, "dirs"), 0), "path",
			    json_string("/sys/fs/cgroup/memory/../../etc"));
	assert_int_equal(cgroup_from_json(j, &back), -EINVAL);
	json_decref(j);
}

static void test_parse_size_cpus(void **state)
{
	uint64_t v, q, p;

	(void)state;
	assert_int_equal(cgroup_parse_size("64M", &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(cgroup_parse_size("1g", &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(cgroup_parse_size("512KiB", &v), 0);
	assert_int_equal(v, 512ull << 10);
	assert_int_equal(cgroup_parse_size("1048576", &v), 0);
	assert_int_equal(v, 1048576);
	assert_int_equal(cgroup_parse_size("12x", &v), -EINVAL);
	assert_int_equal(cgroup_parse_size("-1M", &v), -EINVAL);
	assert_int_equal(cgroup_parse_size("0", &v), -EINVAL);
	assert_int_equal(cgroup_parse_size("99999999999T", &v), -ERANGE);
	assert_int_equal(cgroup_parse_cpus("0.5", &q, &p), 0);
	assert_int_equal(q, 50000);
	assert_int_equal(p, 100000);
	assert_int_equal(cgroup_parse_cpus("2", &q, &p), 0);
	assert_int_equal(q, 200000);
	assert_int_equal(cgroup_parse_cpus("1.25", &q, &p), 0);
	assert_int_equal(q, 125000);
	assert_int_equal(cgroup_parse_cpus("0.001", &q, &p), -ERANGE);
	assert_int_equal(cgroup_parse_cpus("1.5x", &q, &p), -EINVAL);
	assert_int_equal(cgroup_parse_cpus(".", &q, &p), -EINVAL);
	assert_int_equal(cgroup_parse_cpus("", &q, &p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),	    cmocka_unit_test(test_cache_roundtrip),
		cmocka_unit_test(test_cnitool_id),  cmocka_unit_test(test_cgroup_layouts),
		cmocka_unit_test(test_cgroup_json), cmocka_unit_test(test_parse_size_cpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

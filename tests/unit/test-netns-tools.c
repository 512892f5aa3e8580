/* SPDX-License-Identifier: Apache-2.0 */
/* netns-tools' cgroups (netns-tools/nsrun/cgroup*.c), which nsrun and netlab use, on v1, v2
 * and hybrid hosts, without root: mountinfo text, and a fake mountinfo whose hierarchies are
 * temp directories (cgroup.controllers and cgroup.subtree_control are plain files there) for
 * cgroup_create / cgroup_destroy; the readers of cgroup files, the cgroup record state files
 * keep, and nsrun's size/CPU parsers. The result cache is tested in test-runtime-cache.c,
 * nsrun's options in test-nsrun.c, netlab in test-netlab.c. */
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

#include "netns-tools/nsrun/cgroup.h"
#include "netns-tools/nsrun/ctr.h"

static char tmp[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/weft-cgroup.XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return ctr_rm_rf(tmp);
}

/* tmp/<rel> */
static const char *at(const char *rel)
{
	static char buf[8][PATH_MAX];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, rel);
	return buf[i];
}

static void put(const char *rel, const char *text)
{
	FILE *f = fopen(at(rel), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *get(const char *rel, char *buf, size_t len)
{
	FILE *f = fopen(at(rel), "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void dir(const char *rel)
{
	assert_int_equal(mkdir(at(rel), 0755), 0);
}

static bool is_dir(const char *rel)
{
	struct stat st;

	return stat(at(rel), &st) == 0 && S_ISDIR(st.st_mode);
}

/* A hybrid host as Debian 11/12 with systemd's "hybrid" setting mounts it, below tmp. */
static void hybrid_layout(struct cg_layout *l)
{
	char mi[2048];
	struct cni_err err = {0};

	dir("memory");
	dir("cpu,cpuacct");
	dir("pids");
	dir("systemd");
	dir("unified");
	put("unified/cgroup.controllers", "\n"); /* v1 holds every controller */
	snprintf(mi, sizeof(mi),
		 "25 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
		 "31 25 0:28 / %s rw - tmpfs tmpfs rw,mode=755\n"
		 "32 31 0:29 / %s rw - cgroup cgroup rw,cpu,cpuacct\n"
		 "35 31 0:32 / %s rw - cgroup cgroup rw,memory\n"
		 "39 31 0:36 / %s rw - cgroup cgroup rw,pids,clone_children\n"
		 "40 31 0:37 / %s rw - cgroup cgroup rw,xattr,release_agent=/x,name=systemd\n"
		 "41 31 0:38 / %s rw - cgroup2 cgroup2 rw,nsdelegate\n",
		 tmp, at("cpu,cpuacct"), at("memory"), at("pids"), at("systemd"), at("unified"));
	put("mountinfo", mi);
	assert_int_equal(cgroup_layout_read(at("mountinfo"), l, &err), 0);
}

/* A pure v2 host: one cgroup2 mount offering the controllers. */
static void v2_layout(struct cg_layout *l, const char *controllers)
{
	char mi[512];

	dir("v2");
	put("v2/cgroup.controllers", controllers);
	put("v2/cgroup.subtree_control", "");
	snprintf(mi, sizeof(mi), "30 25 0:26 / %s rw - cgroup2 cgroup2 rw\n", at("v2"));
	put("mountinfo", mi);
	assert_int_equal(cgroup_layout_read(at("mountinfo"), l, NULL), 0);
}

/* A busy node: megabytes of other mounts before the cgroup ones (mountinfo was once read
 * into a 1 MiB buffer, and these were cut off). */
static void test_layout_read_large(void **state)
{
	struct cg_layout l;
	FILE *f;

	(void)state;
	dir("v2");
	put("v2/cgroup.controllers", "cpu memory pids");
	f = fopen(at("mountinfo"), "w");
	assert_non_null(f);
	for (int i = 0; i < 40000; i++)
		fprintf(f,
			"%d 25 0:4 net:[40265%05d] /run/netns/pod-%05d rw shared:%d - nsfs nsfs "
			"rw\n",
			100 + i, i, i, i);
	fprintf(f, "40200 25 0:26 / %s rw - cgroup2 cgroup2 rw\n", at("v2"));
	assert_true(ftell(f) > (2 << 20));
	fclose(f);
	assert_int_equal(cgroup_layout_read(at("mountinfo"), &l, NULL), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.unified, 0);
	assert_string_equal(l.m[0].path, at("v2"));
	assert_string_equal(l.m[0].ctrls, "cpu memory pids");
}

static void test_layout_read(void **state)
{
	struct cg_layout l;
	struct cni_err err = {0};
	char buf[256];

	(void)state;
	hybrid_layout(&l);
	assert_int_equal(l.n, 5);
	assert_int_equal(l.unified, 4);
	assert_int_equal(l.m[0].version, 1);
	assert_string_equal(l.m[0].ctrls, "cpu,cpuacct");
	assert_string_equal(l.m[2].ctrls, "pids"); /* clone_children is a flag */
	assert_string_equal(l.m[3].ctrls, "name=systemd");
	assert_string_equal(l.m[4].path, at("unified"));
	assert_string_equal(l.m[4].ctrls, ""); /* read from its cgroup.controllers */
	snprintf(buf, sizeof(buf), "hybrid (v1 controllers + cgroup2 at %s)", at("unified"));
	assert_string_equal(cgroup_layout_describe(&l, buf + 128, 128), buf);
	assert_int_equal(cgroup_layout_read(at("nosuch"), &l, &err), -ENOENT);
	assert_int_equal(err.code, CNI_ERR_IO);
	snprintf(buf, sizeof(buf), "read %s", at("nosuch"));
	assert_string_equal(err.msg, buf);
}

static void test_layout_v2_controllers(void **state)
{
	struct cg_layout l;

	(void)state;
	v2_layout(&l, "cpuset cpu io memory hugetlb pids rdma misc\n");
	assert_int_equal(l.n, 1);
	assert_string_equal(l.m[0].ctrls, "cpuset cpu io memory hugetlb pids rdma misc");
	assert_int_equal(cgroup_layout_find(&l, "memory", CG_MODE_AUTO), 0);
	assert_int_equal(cgroup_layout_find(&l, "pids", CG_MODE_V2), 0);
	assert_int_equal(cgroup_layout_find(&l, "memory", CG_MODE_V1), -1);
	assert_int_equal(cgroup_layout_find(&l, "cpuacct", CG_MODE_AUTO), -1);
}

static void test_layout_parse_limits(void **state)
{
	char text[64 * 30] = "";
	struct cg_layout l;

	(void)state;
	/* a second cgroup2 mount (a bind mount into a container) adds nothing */
	assert_int_equal(cgroup_layout_parse("1 0 0:1 / /a rw - cgroup2 cgroup2 rw\n"
					     "2 0 0:1 / /b rw - cgroup2 cgroup2 rw\n"
					     "3 0 0:2 / /c rw - cgroup cgroup rw,cpuset,noprefix\n"
					     "junk line without the separator\n",
					     &l),
			 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.m[0].path, "/a");
	assert_string_equal(l.m[1].ctrls, "cpuset");
	assert_string_equal(cgroup_layout_describe(&l, text, sizeof(text)),
			    "hybrid (v1 controllers + cgroup2 at /a)");
	assert_int_equal(cgroup_layout_parse("3 0 0:2 / /c rw - cgroup cgroup rw,memory\n", &l), 0);
	assert_string_equal(cgroup_layout_describe(&l, text, sizeof(text)), "v1");
	/* more distinct hierarchies than a struct holds */
	text[0] = '\0';
	for (int i = 0; i < CG_MAX_MOUNTS + 1; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "%d 0 0:%d / /c%d rw - cgroup cgroup rw,name=h%d\n", i, i, i, i);
	assert_int_equal(cgroup_layout_parse(text, &l), -E2BIG);
}

static void test_token_in(void **state)
{
	(void)state;
	assert_true(cgroup_token_in("cpu,cpuacct", "cpu"));
	assert_true(cgroup_token_in("cpu,cpuacct", "cpuacct"));
	assert_false(cgroup_token_in("cpu,cpuacct", "cpua"));
	assert_true(cgroup_token_in("cpuset cpu io memory", "memory"));
	assert_false(cgroup_token_in("cpuset cpu io memory", "mem"));
	assert_false(cgroup_token_in("", "cpu"));
	assert_false(cgroup_token_in(NULL, "cpu"));
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

/* Hybrid, AUTO: each controller on its v1 hierarchy, plus membership in the unified tree. */
static void test_create_hybrid(void **state)
{
	struct cg_layout l;
	struct cgroup cg;
	struct cni_err err = {0};

	(void)state;
	hybrid_layout(&l);
	assert_int_equal(cgroup_create(&l, CG_MODE_AUTO, NULL, "c1", NULL, &cg, &err), 0);
	assert_string_equal(cg.rel, "weft/c1");
	assert_string_equal(cg.parent, CG_DEFAULT_PARENT);
	assert_int_equal(cg.n, 4);
	assert_int_equal(cg.dirs[0].version, 1);
	assert_string_equal(cg.dirs[0].path, at("memory/weft/c1"));
	assert_string_equal(cg.dirs[0].mount, at("memory"));
	assert_string_equal(cg.dirs[0].ctrls, "memory");
	assert_string_equal(cg.dirs[1].path, at("cpu,cpuacct/weft/c1"));
	assert_string_equal(cg.dirs[1].ctrls, "cpu");
	assert_string_equal(cg.dirs[2].path, at("pids/weft/c1"));
	assert_string_equal(cg.dirs[3].path, at("unified/weft/c1"));
	assert_int_equal(cg.dirs[3].version, 2);
	assert_string_equal(cg.dirs[3].ctrls, "");
	assert_true(is_dir("memory/weft/c1"));
	assert_true(is_dir("unified/weft/c1"));
	assert_ptr_equal(cgroup_dir_for(&cg, "cpu"), &cg.dirs[1]);
	assert_null(cgroup_dir_for(&cg, "io"));
	/* a second container shares the parent; destroying one keeps it */
	{
		struct cgroup cg2;

		assert_int_equal(cgroup_create(&l, CG_MODE_AUTO, NULL, "c2", NULL, &cg2, NULL), 0);
		assert_int_equal(cgroup_destroy(&cg, &err), 0);
		assert_false(is_dir("memory/weft/c1"));
		assert_true(is_dir("memory/weft"));
		assert_int_equal(cgroup_destroy(&cg2, &err), 0);
	}
	/* the last one out removes the parent too; a second destroy is a no-op */
	assert_false(is_dir("memory/weft"));
	assert_false(is_dir("unified/weft"));
	assert_true(is_dir("memory"));
	assert_int_equal(cgroup_destroy(&cg, &err), 0);
}

static void test_create_forced_versions(void **state)
{
	struct cg_layout l;
	struct cgroup cg;
	struct cg_limits mem = {.memory = 64 << 20};
	struct cni_err err = {0};
	char want[512];

	(void)state;
	hybrid_layout(&l);
	/* V1: no unified membership */
	assert_int_equal(cgroup_create(&l, CG_MODE_V1, "lab/deep", "c1", NULL, &cg, &err), 0);
	assert_int_equal(cg.n, 3);
	assert_string_equal(cg.rel, "lab/deep/c1");
	assert_true(is_dir("pids/lab/deep/c1"));
	assert_false(is_dir("unified/lab"));
	assert_int_equal(cgroup_destroy(&cg, NULL), 0);
	assert_false(is_dir("pids/lab")); /* the whole empty parent path goes */
	/* V2 on a hybrid host: the unified tree offers no controller */
	assert_int_equal(cgroup_create(&l, CG_MODE_V2, NULL, "c1", &mem, &cg, &err), -ENOTSUP);
	snprintf(want, sizeof(want),
		 "the memory controller is not available on cgroup v2 (%s offers: none); it is "
		 "mounted as cgroup v1 at %s",
		 at("unified"), at("memory"));
	assert_string_equal(err.msg, want);
	assert_false(is_dir("unified/weft"));
	/* without limits, V2 there still means membership in the unified tree only */
	assert_int_equal(cgroup_create(&l, CG_MODE_V2, NULL, "c1", NULL, &cg, &err), 0);
	assert_int_equal(cg.n, 1);
	assert_string_equal(cg.dirs[0].path, at("unified/weft/c1"));
	assert_int_equal(cgroup_destroy(&cg, NULL), 0);
}

/* Pure v2: one directory with every controller, each enabled in the parent's
 * cgroup.subtree_control on the way down. */
static void test_create_v2(void **state)
{
	struct cg_layout l;
	struct cgroup cg;
	struct cg_limits lim = {.memory = 64 << 20};
	struct cni_err err = {0};
	char buf[64], want[PATH_MAX + 64];

	(void)state;
	v2_layout(&l, "cpu memory pids");
	dir("v2/weft");
	put("v2/weft/cgroup.subtree_control", "");
	assert_int_equal(cgroup_create(&l, CG_MODE_AUTO, NULL, "c1", NULL, &cg, &err), 0);
	assert_int_equal(cg.n, 1);
	assert_int_equal(cg.dirs[0].version, 2);
	assert_string_equal(cg.dirs[0].ctrls, "memory,cpu,pids");
	assert_string_equal(cg.dirs[0].path, at("v2/weft/c1"));
	assert_true(is_dir("v2/weft/c1"));
	/* written one by one at offset 0 of a plain file: the last one is whole */
	assert_memory_equal(get("v2/cgroup.subtree_control", buf, sizeof(buf)), "+pids", 5);
	assert_memory_equal(get("v2/weft/cgroup.subtree_control", buf, sizeof(buf)), "+pids", 5);
	assert_int_equal(cgroup_destroy(&cg, NULL), 0);
	assert_false(is_dir("v2/weft/c1"));
	/* a limit that cannot be written undoes what was made */
	assert_int_equal(cgroup_create(&l, CG_MODE_AUTO, NULL, "c2", &lim, &cg, &err), -ENOENT);
	snprintf(want, sizeof(want), "set %s/memory.max to 67108864", at("v2/weft/c2"));
	assert_string_equal(err.msg, want);
	assert_false(is_dir("v2/weft/c2"));
	assert_int_equal(cg.n, 0);
}

static void test_create_errors(void **state)
{
	struct cg_layout l, none;
	struct cgroup cg;
	struct cg_limits pids = {.pids = 10};
	struct cni_err err = {0};

	(void)state;
	hybrid_layout(&l);
	assert_int_equal(cgroup_create(&l, CG_MODE_AUTO, NULL, "a/b", NULL, &cg, &err), -EINVAL);
	assert_string_equal(err.msg, "invalid cgroup name 'weft/a/b'");
	assert_int_equal(cgroup_create(&l, CG_MODE_AUTO, "../x", "c", NULL, &cg, &err), -EINVAL);
	assert_int_equal(cgroup_create(&l, CG_MODE_AUTO, "/abs", "c", NULL, &cg, &err), -EINVAL);
	assert_int_equal(cgroup_create(&l, CG_MODE_AUTO, NULL, "", NULL, &cg, &err), -EINVAL);
	/* a name in use is a clash, and the other's directory stays */
	dir("memory/weft");
	dir("memory/weft/taken");
	assert_int_equal(cgroup_create(&l, CG_MODE_AUTO, NULL, "taken", NULL, &cg, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "create cgroup"));
	assert_true(is_dir("memory/weft/taken"));
	assert_false(is_dir("pids/weft/taken"));
	/* a v1-only host cannot do V2 */
	assert_int_equal(cgroup_layout_parse("3 0 0:2 / /nowhere rw - cgroup cgroup rw,pids\n", &l),
			 0);
	assert_int_equal(cgroup_create(&l, CG_MODE_V2, NULL, "c", &pids, &cg, &err), -ENOTSUP);
	assert_string_equal(err.msg, "cgroup v2 requested but no cgroup2 hierarchy is mounted");
	/* a limit on a controller nobody has */
	assert_int_equal(
		cgroup_layout_parse("1 0 0:1 / /nowhere rw - cgroup cgroup rw,memory\n", &l), 0);
	assert_int_equal(cgroup_create(&l, CG_MODE_V1, NULL, "c", &pids, &cg, &err), -ENOTSUP);
	assert_string_equal(err.msg, "the pids controller is not available on cgroup v1");
	/* no hierarchy at all (what `ip netns exec` leaves visible) */
	assert_int_equal(cgroup_layout_parse("", &none), 0);
	assert_int_equal(cgroup_create(&none, CG_MODE_AUTO, NULL, "c", NULL, &cg, &err), -ENOTSUP);
	assert_string_equal(err.msg, "no cgroup hierarchy is mounted in this mount namespace");
	assert_non_null(strstr(err.details, "nsrun --cni-netns NAME"));
}

static void test_read_files(void **state)
{
	struct cgroup cg = {.n = 2};
	char buf[64];
	uint64_t v = 0;

	(void)state;
	dir("m");
	dir("u");
	cg.dirs[0].version = 1;
	snprintf(cg.dirs[0].path, sizeof(cg.dirs[0].path), "%s", at("m"));
	snprintf(cg.dirs[0].ctrls, sizeof(cg.dirs[0].ctrls), "memory");
	cg.dirs[1].version = 2;
	snprintf(cg.dirs[1].path, sizeof(cg.dirs[1].path), "%s", at("u"));
	put("m/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
	put("u/memory.events", "low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\n");
	put("u/pids.max", "max\n");
	put("m/pids.max", "16\n");
	assert_int_equal(cgroup_read_key(&cg, "memory.oom_control", "oom_kill", &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(cgroup_read_key(&cg, "memory.events", "oom", &v), 0);
	assert_int_equal(v, 2); /* "oom", not "oom_kill" */
	assert_int_equal(cgroup_read_key(&cg, "memory.events", "max", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cgroup_read_key(&cg, "memory.events", "missing", &v), -ENOENT);
	assert_int_equal(cgroup_read_key(&cg, "cpu.stat", "nr_throttled", &v), -ENOENT);
	/* by version, or the first directory that has the file, newline stripped */
	assert_int_equal(cgroup_read(&cg, 2, "pids.max", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "max");
	assert_int_equal(cgroup_read(&cg, 0, "pids.max", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "16");
	assert_int_equal(cgroup_read(&cg, 1, "memory.events", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(cg_read_text(at("m/pids.max"), buf, 3), 2);
	assert_string_equal(buf, "16");
	assert_int_equal(cg_read_text(at("m/none"), buf, sizeof(buf)), -ENOENT);
}

static void test_attach(void **state)
{
	struct cgroup cg = {.n = 2};
	struct cni_err err = {0};
	char buf[32];

	(void)state;
	dir("a");
	dir("b");
	put("a/cgroup.procs", "");
	put("b/cgroup.procs", "");
	snprintf(cg.dirs[0].path, sizeof(cg.dirs[0].path), "%s", at("a"));
	snprintf(cg.dirs[1].path, sizeof(cg.dirs[1].path), "%s", at("b"));
	/* a pid no process has: cgroup_destroy would SIGKILL what cgroup.procs lists */
	assert_int_equal(cgroup_attach(&cg, 4194305, &err), 0);
	assert_string_equal(get("a/cgroup.procs", buf, sizeof(buf)), "4194305");
	assert_string_equal(get("b/cgroup.procs", buf, sizeof(buf)), "4194305");
	snprintf(cg.dirs[1].path, sizeof(cg.dirs[1].path), "%s", at("c"));
	assert_int_equal(cgroup_attach(&cg, 1234, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "move 1234 into"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_read_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_v2_controllers, setup, teardown),
		cmocka_unit_test(test_layout_parse_limits),
		cmocka_unit_test(test_token_in),
		cmocka_unit_test(test_cgroup_layouts),
		cmocka_unit_test(test_cgroup_json),
		cmocka_unit_test(test_parse_size_cpus),
		cmocka_unit_test_setup_teardown(test_create_hybrid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_forced_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

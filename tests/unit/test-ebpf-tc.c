/* SPDX-License-Identifier: Apache-2.0 */
/* common/bpf/tc: pin path building (no root), and with root: bpffs mount-if-absent, the
 * directory lock with its bounded wait, tc attach / query on lo. The root part runs
 * in its own netns and mount namespace, so nothing of the machine is touched. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/bpf/tc.h"
#include "common/cni-error.h"

static bool privileged;

static void test_pin_paths(void **state)
{
	struct cni_err err = {0};
	char buf[64], path[80], big[300];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(bpftc_pin_dir("/x/pins", "net1", buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "/x/pins/net1");
	assert_int_equal(bpftc_pin_path(buf, "endpoints_v1", path, sizeof(path), &err), 0);
	assert_string_equal(path, "/x/pins/net1/endpoints_v1");
	assert_int_equal(bpftc_pin_path(buf, big, path, sizeof(path), &err), -ENAMETOOLONG);
	assert_int_equal(bpftc_pin_dir("/x", big, buf, sizeof(buf), &err), -ENAMETOOLONG);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "too long"));
}

static void test_pin_root_default(void **state)
{
	struct cni_err err = {0};
	char buf[128], want[128];
	struct stat st;

	(void)state;
	assert_int_equal(stat("/proc/self/ns/net", &st), 0);
	snprintf(want, sizeof(want), "/sys/fs/bpf/weft/%lu", (unsigned long)st.st_ino);
	assert_int_equal(bpftc_pin_root_default(buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, want);
}

/* In a child sharing its parent's mount namespace (the test process unshared one of its own in
 * group_setup): bpftc_fs_ensure mounts here, and the path is reached as it is. */
static int fs_ensure_mounts_child(const char *tmpl)
{
	char path[256], sub[300], buf[400];
	struct cni_err err = {0};

	snprintf(path, sizeof(path), "%s/pins", tmpl);
	if (bpftc_is_bpffs(tmpl) || bpftc_fs_ensure(path, buf, sizeof(buf), &err) != 0 ||
	    !bpftc_is_bpffs(path) || strcmp(buf, path) != 0)
		return 1;
	/* Below it: only directories, no second instance. */
	snprintf(sub, sizeof(sub), "%s/net1/x", path);
	if (bpftc_fs_ensure(sub, buf, sizeof(buf), &err) != 0 || !bpftc_is_bpffs(sub))
		return 2;
	if (bpftc_fs_ensure("relative/path", buf, sizeof(buf), &err) != -EINVAL)
		return 3;
	return umount(path) == 0 ? 0 : 4;
}

/* A mount namespace of its own (as under ip netns exec): the bpffs is mounted in the parent's,
 * reached through /proc/<parent>/root, and found there again; when the parent's namespace
 * cannot have one, code 103 naming pinRoot and the fix. */
static int fs_ensure_private_child(const char *tmpl)
{
	char path[256], want[300], buf[400];
	struct cni_err err = {0};

	snprintf(path, sizeof(path), "%s/private", tmpl);
	snprintf(want, sizeof(want), "/proc/%d/root%s", (int)getppid(), path);
	if (unshare(CLONE_NEWNS) < 0)
		return 10;
	if (bpftc_fs_ensure(path, buf, sizeof(buf), &err) != 0 || strcmp(buf, want) != 0)
		return 11;
	if (!bpftc_is_bpffs(buf) || bpftc_is_bpffs(path))
		return 12; /* in the parent's namespace, not in this one */
	if (bpftc_fs_find(path, buf, sizeof(buf), &err) != 0 || strcmp(buf, want) != 0)
		return 13;
	snprintf(path, sizeof(path), "%s/none", tmpl); /* no bpffs anywhere: as it is */
	if (bpftc_fs_find(path, buf, sizeof(buf), &err) != 0 || strcmp(buf, path) != 0)
		return 14;
	if (bpftc_fs_ensure("/proc/weft-none/pins", buf, sizeof(buf), &err) >= 0 ||
	    err.code != CNI_ERR_BPF)
		return 15;
	if (!strstr(err.msg, "pinRoot '/proc/weft-none/pins'") ||
	    !strstr(err.details, "mount a bpffs at the pinRoot"))
		return 16;
	return 0;
}

static int in_child(int (*fn)(const char *), const char *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_fs_ensure_mounts(void **state)
{
	char tmpl[] = "/tmp/weft-test-bpftc.XXXXXX", cmd[300];

	(void)state;
	if (!privileged)
		skip();
	assert_non_null(mkdtemp(tmpl));
	assert_int_equal(in_child(fs_ensure_mounts_child, tmpl), 0);
	assert_int_equal(in_child(fs_ensure_private_child, tmpl), 0);
	snprintf(cmd, sizeof(cmd), "%s/private", tmpl);
	assert_true(bpftc_is_bpffs(cmd));
	assert_int_equal(umount(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	assert_int_equal(system(cmd), 0);
}

static void test_dir_lock_bounded(void **state)
{
	char tmpl[] = "/tmp/weft-test-bpftc.XXXXXX";
	struct cni_err err = {0};
	int fd, status;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	fd = bpftc_dir_lock(tmpl, 100, &err);
	assert_true(fd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct cni_err e = {0};
		int r = bpftc_dir_lock(tmpl, 50, &e);

		_exit(r == -EAGAIN && e.code == CNI_ERR_TRY_AGAIN ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	fd = bpftc_dir_lock(tmpl, 50, &err); /* released with the fd */
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(rmdir(tmpl), 0);
}

/* A SCHED_CLS program returning TC_ACT_OK. */
static int trivial_prog(void)
{
	const struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "weft_test", "GPL", insns, 2, NULL);
}

/* The id of a loaded program, as the kernel reports it. */
static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

static void test_attach_query(void **state)
{
	struct cni_err err = {0};
	uint32_t want, have;
	int fd;

	(void)state;
	if (!privileged)
		skip();
	fd = trivial_prog();
	assert_true(fd >= 0);
	want = prog_id(fd);
	assert_int_equal(bpftc_query(1, BPFTC_INGRESS, &have, &err), -ENOENT);
	assert_int_equal(bpftc_hook_ensure(1, &err), 0);
	assert_int_equal(bpftc_hook_ensure(1, &err), 0); /* already there: fine */
	assert_int_equal(bpftc_attach(1, BPFTC_INGRESS, fd, &err), 0);
	assert_int_equal(bpftc_attach(1, BPFTC_EGRESS, fd, &err), 0);
	assert_int_equal(bpftc_attach(1, BPFTC_INGRESS, fd, &err), 0); /* replace: idempotent */
	assert_int_equal(bpftc_query(1, BPFTC_INGRESS, &have, &err), 0);
	assert_int_equal(have, want);
	assert_int_equal(bpftc_query(1, BPFTC_EGRESS, &have, &err), 0);
	assert_int_equal(have, want);
	close(fd); /* the filter keeps the program */
	assert_int_equal(bpftc_query(1, BPFTC_INGRESS, &have, &err), 0);
	assert_int_equal(have, want);
	assert_int_equal(bpftc_attach(9999, BPFTC_INGRESS, 0, &err) < 0, 1);
	assert_int_equal(err.code, CNI_ERR_BPF);
	/* weft never detaches (DEL deletes the device); the test removes the hook by hand */
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = 1,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	assert_int_equal(bpf_tc_hook_destroy(&hook), 0);
	assert_int_equal(bpftc_query(1, BPFTC_INGRESS, &have, &err), -ENOENT);
}

static void test_probe(void **state)
{
	struct cni_err err = {0};
	uint32_t id;
	int fd;

	(void)state;
	if (!privileged)
		skip();
	fd = trivial_prog();
	assert_true(fd >= 0);
	assert_int_equal(bpftc_probe(fd, &err), 0);
	close(fd);
	/* Not a program: the probe's attach fails, the caller's lo is untouched. */
	assert_true(bpftc_probe(0, &err) < 0);
	assert_int_equal(err.code, CNI_ERR_BPF);
	assert_non_null(strstr(err.msg, "tc"));
	assert_int_equal(bpftc_query(1, BPFTC_INGRESS, &id, NULL), -ENOENT);
}

static int group_setup(void **state)
{
	(void)state;
	libbpf_set_print(NULL);
	/* Own netns and mount namespace: lo is ours, bpffs mounts vanish with the process. */
	privileged = geteuid() == 0 && unshare(CLONE_NEWNET | CLONE_NEWNS) == 0 &&
		     mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_paths),	 cmocka_unit_test(test_pin_root_default),
		cmocka_unit_test(test_fs_ensure_mounts), cmocka_unit_test(test_dir_lock_bounded),
		cmocka_unit_test(test_attach_query),	 cmocka_unit_test(test_probe),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}

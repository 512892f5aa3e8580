/* SPDX-License-Identifier: Apache-2.0 */
/* delegate: a small script plugin in a mkdtemp() dir records its environment, stdin and fds
 * and answers according to DELEGATE_MODE (passed through the environment, as any variable). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cni/delegate.h"

static char dir[64], dir2[80];

static const char script[] =
	"#!/bin/sh\n"
	"d=$(dirname \"$0\")\n"
	"env > \"$d/env.out\"\n"
	/* no redirection on the loop itself: dash would park a copy of stdout on fd 10 */
	"exec 3> \"$d/fds.out\"\n"
	"for f in /proc/$$/fd/*; do n=${f##*/}; [ \"$n\" -gt 3 ] && readlink \"$f\" >&3; done\n"
	"exec 3>&-\n"
	"[ \"$DELEGATE_MODE\" = noread ] || cat > \"$d/stdin.out\"\n"
	"case \"$DELEGATE_MODE\" in\n"
	"ok|noread) echo '{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2/24\","
	"\"gateway\":\"10.0.0.1\"}]}' ;;\n"
	"noversion) echo '{\"ips\":[{\"version\":\"4\",\"address\":\"10.0.0.3/24\"}]}' ;;\n"
	"err) echo '{\"code\":11,\"msg\":\"busy\",\"details\":\"try later\"}'; exit 1 ;;\n"
	"exit3) echo 'something odd' >&2; exit 3 ;;\n"
	"text) echo 'not json'; exit 2 ;;\n"
	"garbage) echo 'hello' ;;\n"
	"badresult) echo '{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"x\"}]}' ;;\n"
	"empty) ;;\n"
	"signal) kill -9 $$ ;;\n"
	"bigout) head -c 5000000 /dev/zero | tr '\\0' x ;;\n"
	"esac\n";

static void write_file(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static char *read_file(const char *name)
{
	char p[160];
	_cleanup_fclose_ FILE *f = NULL;
	char *buf = calloc(1, 1 << 20);

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "re");
	assert_non_null(f);
	assert_non_null(buf);
	(void)!fread(buf, 1, (1 << 20) - 1, f);
	return buf;
}

/* Every pipe the child had above fd 2 must be one this test process already had open without
 * CLOEXEC (inherited from whoever runs the tests): delegate's own pipe ends must not leak. */
static void assert_no_new_pipes(char *child_fds)
{
	char *save = NULL;

	for (char *line = strtok_r(child_fds, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char link[64], target[64] = "";
		bool ours = false;

		if (strncmp(line, "pipe:", 5) != 0)
			continue;
		for (int fd = 3; fd < 1024 && !ours; fd++) {
			ssize_t n;

			snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
			n = readlink(link, target, sizeof(target) - 1);
			if (n < 0 || (fcntl(fd, F_GETFD) & FD_CLOEXEC))
				continue;
			target[n] = '\0';
			ours = strcmp(target, line) == 0;
		}
		if (!ours)
			fail_msg("the delegate inherited %s", line);
	}
}

static int setup(void **state)
{
	char p[160];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/weft-deleg-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(dir2, sizeof(dir2), "%s/second", dir);
	if (mkdir(dir2, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/fake-ipam", dir);
	write_file(p, script, 0755);
	setenv("CNI_COMMAND", "ADD", 1);
	setenv("CNI_CONTAINERID", "ctr1", 1);
	setenv("CNI_IFNAME", "eth0", 1);
	return 0;
}

static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(p) : unlink(p);
}

static int teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char stdin_bytes[] =
	"{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"type\":\"bridge\",\n  \"ipam\": "
	"{\"type\":\"fake-ipam\"}}  \n\t";

static struct cni_args args_for(enum cni_cmd cmd, const char *path)
{
	return (struct cni_args){.command = cmd,
				 .path = path,
				 .stdin_data = stdin_bytes,
				 .stdin_len = sizeof(stdin_bytes) - 1,
				 .cni_version = "1.0.0"};
}

static void test_add_result_env_and_stdin(void **state)
{
	_cleanup_result_ struct cni_result *res = cni_result_new();
	struct cni_args a = args_for(CNI_CMD_ADD, dir);
	_cleanup_free_ char *env = NULL, *in = NULL, *fds = NULL;
	struct cni_err err = {0};
	char buf[INET_PREFIX_STRLEN];

	(void)state;
	setenv("DELEGATE_MODE", "ok", 1);
	assert_int_equal(cni_delegate(&a, "fake-ipam", CNI_CMD_DEL, NULL, &err), 0);
	env = read_file("env.out");
	assert_non_null(strstr(env, "CNI_COMMAND=DEL\n"));
	assert_null(strstr(strstr(env, "CNI_COMMAND=") + 1, "CNI_COMMAND="));
	assert_non_null(strstr(env, "CNI_CONTAINERID=ctr1\n"));
	assert_non_null(strstr(env, "CNI_IFNAME=eth0\n"));
	in = read_file("stdin.out");
	assert_string_equal(in, stdin_bytes); /* byte for byte */
	fds = read_file("fds.out");
	assert_no_new_pipes(fds);
	assert_int_equal(cni_delegate(&a, "fake-ipam", CNI_CMD_ADD, res, &err), 0);
	assert_int_equal(res->n_ips, 1);
	assert_string_equal(inet_prefix_fmt(&res->ips[0].address, buf, sizeof(buf)), "10.0.0.2/24");
	assert_int_equal(res->ips[0].interface, -1);
}

/* A result without cniVersion is read as the config's version. */
static void test_add_result_default_version(void **state)
{
	_cleanup_result_ struct cni_result *res = cni_result_new();
	struct cni_args a = args_for(CNI_CMD_ADD, dir);
	struct cni_err err = {0};

	(void)state;
	setenv("DELEGATE_MODE", "noversion", 1);
	a.cni_version = "0.4.0";
	assert_int_equal(cni_delegate(&a, "fake-ipam", CNI_CMD_ADD, res, &err), 0);
	assert_string_equal(res->cni_version, "0.4.0");
	assert_int_equal(res->n_ips, 1);
}

struct fail_case {
	const char *mode;
	enum cni_cmd cmd;
	int code;
	const char *msg, *details;
};

static const struct fail_case fails[] = {
	{"err", CNI_CMD_ADD, 11, "busy", "try later"},
	{"err", CNI_CMD_STATUS, 11, "busy", "try later"},
	{"exit3", CNI_CMD_DEL, CNI_ERR_DELEGATE, "plugin \"fake-ipam\" DEL failed",
	 "exit status 3"},
	{"text", CNI_CMD_ADD, CNI_ERR_DELEGATE, "plugin \"fake-ipam\" ADD failed",
	 "exit status 2; stdout: not json"},
	{"signal", CNI_CMD_CHECK, CNI_ERR_DELEGATE, "plugin \"fake-ipam\" CHECK failed",
	 "killed by signal 9 (Killed)"},
	{"garbage", CNI_CMD_ADD, CNI_ERR_DECODE, "plugin \"fake-ipam\" ADD printed invalid JSON",
	 NULL},
	{"empty", CNI_CMD_ADD, CNI_ERR_DECODE, "plugin \"fake-ipam\" ADD printed no result", NULL},
	{"badresult", CNI_CMD_ADD, CNI_ERR_DECODE,
	 "result of plugin \"fake-ipam\": ips[0].address: \"x\" is not an address/prefix-length",
	 NULL},
	{"bigout", CNI_CMD_ADD, CNI_ERR_IO,
	 "delegate ADD to \"fake-ipam\": plugin output larger than 4194304 bytes", NULL},
};

static void test_failures(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(fails); i++) {
		_cleanup_result_ struct cni_result *res = cni_result_new();
		struct cni_args a = args_for(fails[i].cmd, dir);
		struct cni_err err = {0};

		print_message("mode %s\n", fails[i].mode);
		setenv("DELEGATE_MODE", fails[i].mode, 1);
		assert_true(cni_delegate(&a, "fake-ipam", fails[i].cmd, res, &err) < 0);
		assert_int_equal(err.code, fails[i].code);
		assert_string_equal(err.msg, fails[i].msg);
		if (fails[i].details)
			assert_string_equal(err.details, fails[i].details);
	}
}

/* A delegate that never reads a large stdin: EPIPE, not SIGPIPE, and its status decides. */
static void test_unread_stdin(void **state)
{
	_cleanup_free_ char *big = malloc(1 << 20);
	struct cni_args a = args_for(CNI_CMD_DEL, dir);
	struct cni_err err = {0};

	(void)state;
	assert_non_null(big);
	memset(big, ' ', 1 << 20);
	a.stdin_data = big;
	a.stdin_len = 1 << 20;
	setenv("DELEGATE_MODE", "noread", 1);
	assert_int_equal(cni_delegate(&a, "fake-ipam", CNI_CMD_DEL, NULL, &err), 0);
}

static void test_find(void **state)
{
	char path[256], buf[PATH_MAX], want[PATH_MAX], p[160];
	struct cni_err err = {0};
	struct cni_args a = args_for(CNI_CMD_ADD, dir);

	(void)state;
	assert_true(cni_delegate(&a, "nope", CNI_CMD_ADD, NULL, &err) < 0);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	snprintf(want, sizeof(want), "failed to find plugin \"nope\" in path [%s]", dir);
	assert_string_equal(err.msg, want);
	assert_int_equal(cni_delegate(&a, "../fake-ipam", CNI_CMD_ADD, NULL, &err), -EINVAL);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	assert_string_equal(err.msg, "invalid plugin type \"../fake-ipam\"");
	assert_int_equal(cni_find_plugin(dir, "/bin/sh", buf, sizeof(buf), &err), -EINVAL);
	assert_int_equal(cni_find_plugin(dir, "", buf, sizeof(buf), &err), -EINVAL);
	assert_int_equal(cni_find_plugin("", "fake-ipam", buf, sizeof(buf), &err), -ENOENT);
	assert_int_equal(err.code, CNI_ERR_ENV);
	/* dirs in order; a non-executable file and a directory of that name are skipped */
	snprintf(p, sizeof(p), "%s/second", dir2);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/fake-ipam", dir2);
	write_file(p, "#!/bin/sh\n", 0644);
	snprintf(path, sizeof(path), "::%s/second:%s::%s", dir2, dir2, dir);
	assert_int_equal(cni_find_plugin(path, "second", buf, sizeof(buf), &err), -ENOENT);
	assert_int_equal(cni_find_plugin(path, "fake-ipam", buf, sizeof(buf), &err), 0);
	snprintf(want, sizeof(want), "%s/fake-ipam", dir);
	assert_string_equal(buf, want);
	chmod(p, 0755);
	assert_int_equal(cni_find_plugin(path, "fake-ipam", buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, p);
	unlink(p);
}

static void test_exec_capture(void **state)
{
	char p[160], *envp[] = {"DELEGATE_MODE=ok", "CNI_COMMAND=VERSION", NULL};
	_cleanup_free_ char *out = NULL, *env = NULL;
	struct cni_err err = {0};
	size_t len = 0;
	int status = -1;

	(void)state;
	snprintf(p, sizeof(p), "%s/fake-ipam", dir);
	assert_int_equal(cni_exec_capture(p, envp, NULL, 0, &out, &len, &status, &err), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(len, strlen(out));
	assert_non_null(strstr(out, "10.0.0.2/24"));
	env = read_file("env.out");
	assert_null(strstr(env, "CNI_CONTAINERID")); /* envp replaces the environment */
	assert_non_null(strstr(env, "CNI_COMMAND=VERSION"));
	assert_true(cni_exec_capture("/nonexistent/x", envp, NULL, 0, &out, &len, &status, &err) <
		    0);
	assert_int_equal(err.code, CNI_ERR_DELEGATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_result_env_and_stdin),
		cmocka_unit_test(test_add_result_default_version),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_unread_stdin),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_exec_capture),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

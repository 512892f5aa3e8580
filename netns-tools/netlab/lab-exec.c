/* SPDX-License-Identifier: Apache-2.0 */
/* Processes for netlab: run a tool (argv, no shell), spawn a detached one, enter the
 * namespaces of a process (what nsenter -a does). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netns-tools/nsrun/ctr.h"
#include "netns-tools/netlab/lab.h"

#define OUT_MAX (4u << 20)

static void echo_argv(const struct lab *lab, const char *netns, char *const argv[])
{
	if (!lab || !lab->verbose)
		return;
	fputs("+", stderr);
	if (netns)
		fprintf(stderr, " (netns %s)", netns);
	for (size_t i = 0; argv[i]; i++)
		fprintf(stderr, " %s", argv[i]);
	fputc('\n', stderr);
}

static int read_all(int fd, char **ret)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *tmp;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= OUT_MAX || !(tmp = realloc(buf, cap * 2))) {
				free(buf);
				return -ENOMEM;
			}
			buf = tmp;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	return 0;
}

static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static void child_stdio(int out_w, bool quiet)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0)
		dup2(null, STDIN_FILENO);
	if (out_w >= 0)
		dup2(out_w, STDOUT_FILENO);
	if (quiet && null >= 0)
		dup2(null, STDERR_FILENO);
}

static void pipe_close(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
}

/* The one fork + pipe + read + reap of netlab: forks a child that runs body(ctx, out_fd), which
 * execs or _exits (a body that returns, e.g. after a failed exec, exits 127). With out, the
 * child's out_fd is the write end of a pipe and *out receives what it wrote (malloc'd,
 * NUL-terminated; NULL when it could not be read); without, out_fd is -1. The parent reaps the
 * child and returns its exit status (128+sig when killed), or -errno when the pipe or the fork
 * failed (no fd is left open then). */
static int fork_collect(char **out, void (*body)(const void *ctx, int out_fd), const void *ctx)
{
	int p[2] = {-1, -1};
	pid_t pid;

	if (out && pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		pipe_close(p);
		return r;
	}
	if (pid == 0) {
		body(ctx, p[1]);
		_exit(127);
	}
	if (p[1] >= 0)
		close(p[1]);
	if (p[0] >= 0) {
		if (read_all(p[0], out) < 0)
			*out = NULL;
		close(p[0]);
	}
	return wait_status(pid);
}

/* In a child: join the network namespace /run/netns/<netns>. */
static int join_netns(const char *netns)
{
	char path[PATH_MAX];
	int fd;

	fd = open(lab_netns_path(netns, path, sizeof(path)), O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		return -errno;
	close(fd);
	return 0;
}

struct run_ctx {
	const char *netns;
	char *const *argv;
	bool quiet;
};

static void run_body(const void *ctx, int out_fd)
{
	const struct run_ctx *x = ctx;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* A tool does not outlive netlab (a `run` stopped by a signal mid-way leaves none). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (x->netns && join_netns(x->netns) < 0)
		_exit(125);
	child_stdio(out_fd >= 0 ? out_fd : (x->quiet ? -1 : STDERR_FILENO), x->quiet);
	execvp(x->argv[0], x->argv);
}

int lab_run_in(const struct lab *lab, const char *netns, char *const argv[], char **out, bool quiet)
{
	struct run_ctx x = {.netns = netns, .argv = argv, .quiet = quiet};

	echo_argv(lab, netns, argv);
	return fork_collect(out, run_body, &x);
}

int lab_run(const struct lab *lab, char *const argv[], char **out, bool quiet)
{
	return lab_run_in(lab, NULL, argv, out, quiet);
}

int lab_cmd(const struct lab *lab, const char *arg0, ...)
{
	const char *argv[32];
	size_t n = 0;
	va_list ap;
	int st;

	argv[n++] = arg0;
	va_start(ap, arg0);
	while (n < ARRAY_SIZE(argv) - 1 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	st = lab_run(lab, (char *const *)argv, NULL, false);
	if (st != 0) {
		fprintf(stderr, "netlab: failed (status %d):", st);
		for (size_t i = 0; argv[i]; i++)
			fprintf(stderr, " %s", argv[i]);
		fputc('\n', stderr);
		return -EIO;
	}
	return 0;
}

json_t *lab_ip_json(const struct lab *lab, const char *ns, const char *arg0, ...)
{
	const char *argv[32] = {"ip", "-j"};
	_cleanup_free_ char *out = NULL;
	size_t n = 2;
	va_list ap;

	if (ns && *ns) {
		argv[n++] = "-n";
		argv[n++] = ns;
	}
	argv[n++] = arg0;
	va_start(ap, arg0);
	while (n < ARRAY_SIZE(argv) - 1 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (lab_run(NULL, (char *const *)argv, &out, true) != 0 || !out)
		return NULL;
	return json_loads(out, 0, NULL);
}

const char *lab_find_bin(const char *name, char *buf, size_t len)
{
	const char *dirs[] = {"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin"};

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(buf, len, "%s/%s", dirs[i], name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

bool lab_proc_alive(const json_t *res)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(res, "pid"));
	unsigned long long start =
		(unsigned long long)json_integer_value(json_object_get(res, "start"));

	return ctr_pid_alive(pid, start);
}

static pid_t spawn(struct lab *lab, const char *netns, char *const argv[], const char *log,
		   const char *nsrun_name)
{
	int sync[2];
	pid_t pid;
	char go;

	echo_argv(lab, NULL, argv);
	if (pipe2(sync, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		pipe_close(sync);
		return r;
	}
	if (pid == 0) {
		int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0644);
		sigset_t none;

		close(sync[1]);
		/* Wait until the parent recorded us: a crash in between leaves no orphan. */
		if (read(sync[0], &go, 1) != 1)
			_exit(1);
		if (netns && join_netns(netns) < 0)
			_exit(125);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		child_stdio(fd, false);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(sync[0]);
	if (lab_record(lab, json_pack("{s:s,s:s?,s:i,s:I,s:s,s:s?}", "kind",
				      nsrun_name ? "nsrun" : "proc", "name", nsrun_name, "pid",
				      (int)pid, "start", (json_int_t)ctr_pid_starttime(pid),
				      "argv0", argv[0], "netns", netns)) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(sync[1]);
		return -EIO;
	}
	if (write(sync[1], "g", 1) != 1)
		pid = -EIO;
	close(sync[1]);
	return pid;
}

pid_t lab_spawn(struct lab *lab, char *const argv[], const char *log, const char *nsrun_name)
{
	return spawn(lab, NULL, argv, log, nsrun_name);
}

pid_t lab_spawn_in(struct lab *lab, const char *netns, char *const argv[], const char *log)
{
	return spawn(lab, netns, argv, log, NULL);
}

static const char *const ns_order[] = {"ipc", "uts", "net", "pid", "cgroup", "mnt"};

/* In a child: join every namespace of pid, then fork so the pid namespace applies. */
static int enter(pid_t pid)
{
	int fds[ARRAY_SIZE(ns_order)];
	char path[64];

	for (size_t i = 0; i < ARRAY_SIZE(ns_order); i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_order[i]);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			return -errno;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ns_order); i++)
		if (setns(fds[i], 0) < 0)
			return -errno;
	return 0;
}

struct enter_ctx {
	pid_t pid;
	char *const *argv;
};

static void enter_body(const void *ctx, int out_fd)
{
	const struct enter_ctx *x = ctx;
	pid_t inner;

	if (enter(x->pid) < 0)
		_exit(125);
	inner = fork();
	if (inner == 0) {
		if (chdir("/") < 0)
			_exit(125);
		child_stdio(out_fd, false);
		execv(x->argv[0], x->argv);
		_exit(127);
	}
	_exit(inner < 0 ? 125 : wait_status(inner));
}

int lab_enter_run(pid_t pid, char *const argv[], char **out)
{
	struct enter_ctx x = {.pid = pid, .argv = argv};

	return fork_collect(out, enter_body, &x);
}

struct mntns_ctx {
	pid_t pid;
	int (*fn)(void *arg);
	void *arg;
};

static void mntns_body(const void *ctx, int out_fd)
{
	const struct mntns_ctx *x = ctx;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)x->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNS) < 0)
		_exit(125);
	fflush(stdout);
	_exit(x->fn(x->arg) < 0 ? 1 : 0);
}

int lab_in_mntns(pid_t pid, int (*fn)(void *arg), void *arg)
{
	struct mntns_ctx x = {.pid = pid, .fn = fn, .arg = arg};

	return fork_collect(NULL, mntns_body, &x);
}

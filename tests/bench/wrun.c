/* SPDX-License-Identifier: Apache-2.0 */
/* wrun: run a command (or N copies of it at once) and measure it, for tests/bench (run.sh
 * compiles it into its scratch dir; it is no part of weft).
 *
 *   wrun [-N NETNS] [-i IN] [-O OUT] [-E ERR] [-r] [-P N [-x VAR=FMT]...] -- ARGV...
 *
 *   -N NETNS  setns(2) into that network namespace (a /run/netns path) before forking
 *   -i IN     the command's stdin (default /dev/null);  -O / -E: its stdout / stderr
 *             (default /dev/null / inherited); with -P, "%d" in OUT is the copy's index
 *   -r        peak RSS of the command's own process: it runs under ptrace (exit stops only:
 *             PTRACE_O_TRACEEXIT on it and its threads) and VmHWM is read from /proc at its
 *             exit, when its memory still exists. Neither wrun nor the command's children
 *             count. Use separate runs for time: the stops add a little wall time.
 *   -P N      start N copies at once (copy i gets each -x VAR=printf(FMT, i)); wall is from
 *             the first fork to the last reap
 *
 * Prints one line on stdout: "<wall_us> <cpu_us> <rss_kib> <failed>", where cpu is user+sys of
 * every process of the tree that was waited for (getrusage(RUSAGE_CHILDREN) delta), rss is -1
 * without -r, failed is the number of copies that did not exit 0. Exit status 0 unless wrun
 * itself failed (2). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_X 8

/* -O and -x take printf formats from the command line (the harness's own, never a plugin's). */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

static const char *in_path = "/dev/null", *out_path = "/dev/null", *err_path;
static const char *xs[MAX_X];
static int nx;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what)
{
	fprintf(stderr, "wrun: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void redirect(const char *fmt, int i, int fd, int flags)
{
	char path[4096];
	int f;

	snprintf(path, sizeof(path), fmt, i);
	f = open(path, flags, 0644);
	if (f < 0 || dup2(f, fd) < 0)
		die(path);
	close(f);
}

static void child(char **argv, int i, int trace)
{
	char val[512];

	redirect(in_path, i, 0, O_RDONLY);
	redirect(out_path, i, 1, O_WRONLY | O_CREAT | O_TRUNC);
	if (err_path)
		redirect(err_path, i, 2, O_WRONLY | O_CREAT | O_APPEND);
	for (int k = 0; k < nx; k++) {
		const char *eq = strchr(xs[k], '=');
		char name[128];

		snprintf(name, sizeof(name), "%.*s", (int)(eq - xs[k]), xs[k]);
		snprintf(val, sizeof(val), eq + 1, i);
		setenv(name, val, 1);
	}
	if (trace) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
	}
	execvp(argv[0], argv);
	_exit(127);
}

static long hwm_kib(pid_t tid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Runs the traced command to its end; returns its wait status, *rss = max VmHWM at exit stops. */
static int traced(pid_t pid, long *rss)
{
	pid_t seen[256];
	int nseen = 0, st, final = 0;

	if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st))
		die("trace start");
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
		   (void *)(long)(PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC |
				  PTRACE_O_EXITKILL)) < 0)
		die("PTRACE_SETOPTIONS");
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	for (;;) {
		pid_t t = waitpid(-1, &st, __WALL);
		int ev, sig, inj = 0, known = 0;

		if (t < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: the command and all its traced threads are reaped */
		}
		if (!WIFSTOPPED(st)) {
			if (t == pid)
				final = st;
			continue;
		}
		ev = st >> 16;
		sig = WSTOPSIG(st);
		if (ev == PTRACE_EVENT_EXIT) {
			long h = hwm_kib(t);

			if (h > *rss)
				*rss = h;
		} else if (!ev && sig == SIGSTOP) {
			for (int k = 0; k < nseen; k++)
				known |= seen[k] == t;
			if (!known && nseen < 256)
				seen[nseen++] = t; /* a new thread's first stop */
			else
				inj = sig;
		} else if (!ev && sig != SIGTRAP) {
			inj = sig;
		}
		ptrace(PTRACE_CONT, t, NULL, (void *)(long)inj);
	}
	return final;
}

int main(int argc, char **argv)
{
	struct rusage r0, r1;
	const char *netns = NULL;
	int opt, trace = 0, copies = 1, failed = 0;
	long rss = -1;
	double t0, t1;

	while ((opt = getopt(argc, argv, "+N:i:O:E:rP:x:")) != -1) {
		switch (opt) {
		case 'N':
			netns = optarg;
			break;
		case 'i':
			in_path = optarg;
			break;
		case 'O':
			out_path = optarg;
			break;
		case 'E':
			err_path = optarg;
			break;
		case 'r':
			trace = 1;
			break;
		case 'P':
			copies = atoi(optarg);
			break;
		case 'x':
			if (nx == MAX_X || !strchr(optarg, '='))
				return fprintf(stderr, "wrun: bad -x\n"), 2;
			xs[nx++] = optarg;
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc || copies < 1 || (trace && copies != 1))
		return fprintf(stderr, "usage: see tests/bench/wrun.c\n"), 2;
	if (netns) {
		int fd = open(netns, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			die(netns);
		close(fd);
	}
	getrusage(RUSAGE_CHILDREN, &r0);
	t0 = now_us();
	for (int i = 0; i < copies; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0)
			child(argv + optind, i, trace);
		if (trace) {
			int st = traced(pid, &rss);

			failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
	}
	if (!trace) {
		int st;

		for (int i = 0; i < copies; i++) {
			if (wait(&st) < 0)
				die("wait");
			failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
	}
	t1 = now_us();
	getrusage(RUSAGE_CHILDREN, &r1);
	printf("%.0f %.0f %ld %d\n", t1 - t0,
	       (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) *
			       1e6 +
		       (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec -
			r0.ru_stime.tv_usec),
	       rss, failed);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* cgroups: a memory limit that OOM-kills an allocation above it, a CPU quota holding a busy
 * loop near 50%, a pids limit stopping a fork bomb, on whatever cgroup version the host has
 * (on a v1+v2 hybrid: the v1 controllers, with membership in the unified tree too).
 * The exercise: cgroup CPU, memory (OOM killer) and PID limits in practice (docs/netlab.md). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netns-tools/netlab/lab.h"

#define MEM_LIMIT (32ull << 20)
#define MEM_ALLOC (96ull << 20)
#define PIDS_MAX  16
#define CPU_SECS  2

struct cg_spec {
	const char *what;
	struct cg_limits lim;
};

static const struct cg_spec specs[] = {
	{"memory", {.memory = MEM_LIMIT}},
	{"cpu", {.cpu_quota_us = 50000, .cpu_period_us = 100000}},
	{"pids", {.pids = PIDS_MAX}},
};

static int cgs_up(struct lab *lab)
{
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct cgroup cg;
		struct cni_err err = {0};
		char name[96];
		int r;

		lab_name(lab, specs[i].what, name, sizeof(name));
		r = cgroup_create(NULL, CG_MODE_AUTO, CG_DEFAULT_PARENT, name, &specs[i].lim, &cg,
				  &err);
		if (r < 0) {
			fprintf(stderr, "netlab: cgroup %s: %s: %s\n", name, err.msg, err.details);
			return r;
		}
		r = lab_record(lab, json_pack("{s:s,s:s,s:o}", "kind", "cgroup", "what",
					      specs[i].what, "cgroup", cgroup_to_json(&cg)));
		if (r < 0) {
			cgroup_destroy(&cg, NULL);
			return r;
		}
		lab_step(lab, "cgroup %s: %s", specs[i].what, cg.dirs[0].path);
	}
	return 0;
}

static bool lab_cgroup(const struct lab *lab, const char *what, struct cgroup *ret)
{
	const json_t *r = lab_find(lab, "cgroup", "what", what);

	return r && cgroup_from_json(json_object_get(r, "cgroup"), ret) == 0;
}

static int wait_child(pid_t pid, struct rusage *ru)
{
	int st = 0;

	while (wait4(pid, &st, 0, ru) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

/* The exercise's `bytearray(150MB)` under a 100MB limit, scaled: touch MEM_ALLOC bytes. */
static void memory_test(struct lab *lab, const struct cgroup *cg)
{
	uint64_t oom = 0, fail = 0;
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		char *p;

		if (cgroup_attach(cg, getpid(), NULL) < 0)
			_exit(3);
		p = malloc(MEM_ALLOC);
		for (size_t i = 0; p && i < MEM_ALLOC; i += 4096)
			p[i] = 1;
		_exit(0);
	}
	st = pid > 0 ? wait_child(pid, NULL) : -1;
	lab_check(lab, pid > 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		  "memory: touching %llu MiB under a %llu MiB limit was killed (%s)",
		  MEM_ALLOC >> 20, MEM_LIMIT >> 20,
		  WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "it exited");
	if (cgroup_read_key(cg, "memory.oom_control", "oom_kill", &oom) < 0)
		cgroup_read_key(cg, "memory.events", "oom_kill", &oom);
	lab_check(lab, oom > 0, "memory: the cgroup counted %" PRIu64 " OOM kill(s) (%s)", oom,
		  cgroup_dir_for(cg, "memory") && cgroup_dir_for(cg, "memory")->version == 2
			  ? "memory.events"
			  : "memory.oom_control");
	{
		char v[32] = "0";

		if (cgroup_read(cg, 1, "memory.max_usage_in_bytes", v, sizeof(v)) < 0)
			cgroup_read(cg, 2, "memory.peak", v, sizeof(v));
		fail = strtoull(v, NULL, 10);
	}
	lab_check(lab, fail >= MEM_LIMIT * 9 / 10 && fail <= MEM_LIMIT,
		  "memory: peak usage %" PRIu64 " KiB reached, never passed, the limit",
		  fail >> 10);
}

static double elapsed(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

/* The exercise's `yes > /dev/null` under cpu.cfs_quota_us=50000 / period 100000. */
static void cpu_test(struct lab *lab, const struct cgroup *cg)
{
	struct rusage ru = {0};
	struct timespec t0;
	uint64_t throttled = 0;
	double cpu, wall;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		volatile unsigned long spin = 0;

		if (cgroup_attach(cg, getpid(), NULL) < 0)
			_exit(3);
		while (elapsed(&t0) < CPU_SECS)
			spin++;
		_exit(0);
	}
	if (pid < 0 || wait_child(pid, &ru) != 0) {
		lab_check(lab, false, "cpu: the busy loop ran");
		return;
	}
	wall = elapsed(&t0);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	lab_check(lab, cpu / wall <= 0.62 && cpu / wall >= 0.2,
		  "cpu: a busy loop got %.0f%% of one CPU over %.1f s (quota 50%%)",
		  100 * cpu / wall, wall);
	cgroup_read_key(cg, "cpu.stat", "nr_throttled", &throttled);
	lab_check(lab, throttled > 0, "cpu: the scheduler throttled it %" PRIu64 " times",
		  throttled);
}

/* A fork bomb: fork until the kernel refuses. Reports count and errno on a pipe. */
static void bomb(const struct cgroup *cg, int out)
{
	int n = 0, e = 0;

	if (cgroup_attach(cg, getpid(), NULL) < 0)
		_exit(3);
	for (; n < 10 * PIDS_MAX; n++) {
		pid_t p = fork();

		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			e = errno;
			break;
		}
	}
	dprintf(out, "%d %d\n", n, e);
	_exit(0);
}

static void pids_test(struct lab *lab, const struct cgroup *cg)
{
	char buf[64] = "", v[32] = "?";
	uint64_t hits = 0;
	int p[2], n = -1, e = 0;
	pid_t pid;

	if (pipe(p) < 0)
		return;
	/* Orphaned bomb children come back to us, so they are reaped, not left as zombies. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		bomb(cg, p[1]);
	}
	close(p[1]);
	if (pid > 0 && read(p[0], buf, sizeof(buf) - 1) > 0)
		sscanf(buf, "%d %d", &n, &e);
	close(p[0]);
	cgroup_read(cg, 0, "pids.current", v, sizeof(v));
	cgroup_kill(cg);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	lab_check(lab, n >= 0 && n < PIDS_MAX && e == EAGAIN,
		  "pids: the fork bomb stopped after %d forks: %s (pids.max %d, pids.current %s)",
		  n, e ? strerror(e) : "no error", PIDS_MAX, v);
	cgroup_read_key(cg, "pids.events", "max", &hits);
	lab_check(lab, hits > 0, "pids: pids.events counted %" PRIu64 " refused forks", hits);
}

static void cgs_verify(struct lab *lab)
{
	struct cgroup mem, cpu, pids;
	char desc[160];
	struct cg_layout l;

	if (cgroup_layout_read(NULL, &l, NULL) == 0)
		printf("  (cgroups: %s)\n", cgroup_layout_describe(&l, desc, sizeof(desc)));
	if (lab_check(lab, lab_cgroup(lab, "memory", &mem), "memory cgroup recorded"))
		memory_test(lab, &mem);
	if (lab_check(lab, lab_cgroup(lab, "cpu", &cpu), "cpu cgroup recorded"))
		cpu_test(lab, &cpu);
	if (lab_check(lab, lab_cgroup(lab, "pids", &pids), "pids cgroup recorded"))
		pids_test(lab, &pids);
}

static void show_files(struct topo *t, int g, const struct cg_dir *d, const char *const *files)
{
	char path[PATH_MAX + 64], v[512];

	for (; *files; files++) {
		_cleanup_fclose_ FILE *f = NULL;
		size_t n;

		snprintf(path, sizeof(path), "%s/%s", d->path, *files);
		f = fopen(path, "re");
		if (!f)
			continue;
		n = fread(v, 1, sizeof(v) - 1, f);
		v[n] = '\0';
		for (char *c = v; *c; c++)
			if (*c == '\n')
				*c = c[1] ? ',' : '\0';
		lab_topo_node(t, g, *files, "%s", v);
	}
}

static int cgs_show(struct lab *lab, struct topo *t)
{
	static const char *const files1[] = {"memory.limit_in_bytes",
					     "memory.max_usage_in_bytes",
					     "memory.failcnt",
					     "cpu.cfs_period_us",
					     "cpu.cfs_quota_us",
					     "pids.max",
					     "pids.current",
					     "pids.events",
					     NULL};
	static const char *const files2[] = {"memory.max",  "memory.peak", "memory.events",
					     "cpu.max",	    "pids.max",	   "pids.current",
					     "pids.events", NULL};
	struct cg_layout l;
	char desc[160];

	cgroup_layout_read(NULL, &l, NULL);
	snprintf(t->title, sizeof(t->title), "cgroups on this host: %s",
		 cgroup_layout_describe(&l, desc, sizeof(desc)));
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct cgroup cg;

		if (!lab_cgroup(lab, specs[i].what, &cg))
			continue;
		{
			const struct cg_dir *d = cgroup_dir_for(&cg, specs[i].what);
			int g;

			if (!d)
				continue;
			g = lab_topo_group(t, "cgroup", "%s (cgroup v%d)", d->path, d->version);
			show_files(t, g, d, d->version == 2 ? files2 : files1);
			for (size_t k = 0; k < cg.n; k++)
				if (&cg.dirs[k] != d)
					lab_topo_node(t, g, "(member of)", "%s", cg.dirs[k].path);
		}
	}
	lab_topo_note(t, "v1: one hierarchy per controller (memory/, cpu/, pids/); v2: one tree, "
			 "cgroup.subtree_control enables controllers");
	return 0;
}

const struct scenario lab_cgroups = {
	.name = "cgroups",
	.origin = "resource limits with cgroups: CPU quota, memory limit and the OOM killer, "
		  "a PID limit against a fork bomb",
	.summary = "memory limit OOM-kills an allocation, CPU quota holds a busy loop near 50%, "
		   "pids limit stops a fork bomb",
	.up = cgs_up,
	.verify = cgs_verify,
	.show = cgs_show,
};

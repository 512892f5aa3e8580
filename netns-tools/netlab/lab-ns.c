/* SPDX-License-Identifier: Apache-2.0 */
/* namespaces: the seven namespace types, each shown isolated, through nsrun: PID 1 in a new
 * pid ns, a hostname in uts, a tmpfs invisible outside the mnt ns, a SysV shm segment
 * invisible outside the ipc ns, uid 0 mapped to 100000 in a user ns, the cgroup ns root view,
 * a net ns with only lo. The container is a shell running the exercise's commands (mount,
 * ipcmk, id, hostname, cat /proc/self/...), then `sleep infinity` as PID 1.
 * The exercise: the seven namespace types, one command each (docs/netlab.md). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netns-tools/netlab/lab.h"

#define MAP_ROOT "100000"

static const char holder_script[] =
	"mount -t tmpfs -o size=1m netlab-tmpfs \"$1\" || exit 1\n"
	"echo 'only visible in this mount namespace' > \"$1/marker\"\n"
	"ipcmk -M 4096 >/dev/null || exit 1\n"
	"echo \"pid=$$\"\n"
	"echo \"uid=$(id -u)\"\n"
	"echo \"hostname=$(hostname)\"\n"
	"echo \"uid_map=$(cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')\"\n"
	"sed 's/^/cgroup=/' /proc/self/cgroup\n"
	"for d in /sys/class/net/*; do echo \"netdev=${d##*/}\"; done\n"
	"ipcs -m | awk '$1 ~ /^0x/ {print \"shmkey=\" $1}'\n"
	"echo ready\n"
	"exec sleep infinity\n";

static const char *const ns_types[] = {"pid", "net", "mnt", "uts", "ipc", "user", "cgroup"};

static void paths(const struct lab *lab, char *log, char *pidf, char *mnt, size_t len)
{
	snprintf(log, len, "%s/inside.log", lab->dir);
	snprintf(pidf, len, "%s/ctr.pid", lab->dir);
	snprintf(mnt, len, "%s/mnt", lab->dir);
}

static char *read_small(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char *buf = calloc(1, 65536);

	if (!f || !buf || fread(buf, 1, 65535, f) == 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Waits for the container's "ready" line; returns its host pid. */
static pid_t wait_ready(const char *log, const char *pidf, int timeout_ms)
{
	struct timespec ts = {0, 50 * 1000 * 1000};

	for (int waited = 0; waited < timeout_ms; waited += 50) {
		_cleanup_free_ char *l = read_small(log), *p = NULL;

		if (l && strstr(l, "\nready\n") && (p = read_small(pidf)))
			return (pid_t)atoi(p);
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int ns_up(struct lab *lab)
{
	char log[PATH_MAX], pidf[PATH_MAX], mnt[PATH_MAX], nsrun[PATH_MAX + 8];
	char *const argv[] = {nsrun,
			      "--name",
			      lab->id,
			      "--hostname",
			      lab->id,
			      "--map-root-to",
			      MAP_ROOT,
			      "--pid-file",
			      pidf,
			      "--",
			      "/bin/sh",
			      "-c",
			      (char *)holder_script,
			      "netlab-holder",
			      mnt,
			      NULL};
	pid_t pid;

	paths(lab, log, pidf, mnt, sizeof(log));
	snprintf(nsrun, sizeof(nsrun), "%s/nsrun", lab->bin_dir);
	if (access(nsrun, X_OK) < 0) {
		fprintf(stderr, "netlab: %s not found (it is built next to netlab)\n", nsrun);
		return -ENOENT;
	}
	if (mkdir(mnt, 0755) < 0)
		return -errno;
	pid = lab_spawn(lab, argv, log, lab->id);
	if (pid < 0)
		return (int)pid;
	if (wait_ready(log, pidf, 15000) <= 0) {
		_cleanup_free_ char *l = read_small(log);

		fprintf(stderr, "netlab: the namespaced shell did not come up; its output:\n%s\n",
			l ? l : "(none)");
		return -ETIMEDOUT;
	}
	return 0;
}

/* "key=value" from the container's report (first match) into buf. */
static const char *report(const char *rep, const char *key, char *buf, size_t len)
{
	char pat[64];
	const char *p;

	buf[0] = '\0';
	snprintf(pat, sizeof(pat), "\n%s=", key);
	p = rep ? strstr(rep, pat) : NULL;
	if (!p && rep && strncmp(rep, pat + 1, strlen(pat + 1)) == 0)
		p = rep - 1;
	if (p)
		snprintf(buf, len, "%.*s", (int)strcspn(p + strlen(pat), "\n"), p + strlen(pat));
	return buf;
}

/* Line by line: /proc/<pid>/mountinfo on a busy node is far larger than read_small's buffer. */
static bool file_has(const char *path, const char *needle)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	while (f && getline(&line, &cap, f) >= 0)
		if (strstr(line, needle))
			return true;
	return false;
}

static void ns_link(pid_t pid, const char *type, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, type);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", type);
	n = readlink(path, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
}

static pid_t ctr_pid(const struct lab *lab)
{
	char log[PATH_MAX], pidf[PATH_MAX], mnt[PATH_MAX];
	_cleanup_free_ char *p = NULL;

	paths(lab, log, pidf, mnt, sizeof(log));
	p = read_small(pidf);
	return p ? (pid_t)atoi(p) : -1;
}

static char *load_report(const struct lab *lab)
{
	char log[PATH_MAX], pidf[PATH_MAX], mnt[PATH_MAX];
	_cleanup_free_ char *l = NULL;
	char *rep = NULL;

	paths(lab, log, pidf, mnt, sizeof(log));
	l = read_small(log);
	if (l && asprintf(&rep, "\n%s", l) < 0)
		rep = NULL;
	return rep;
}

static void verify_ids(struct lab *lab, pid_t pid)
{
	char status[64], self[64], other[64];
	_cleanup_free_ char *st = NULL;

	snprintf(status, sizeof(status), "/proc/%d/status", (int)pid);
	st = read_small(status);
	for (size_t i = 0; i < sizeof(ns_types) / sizeof(ns_types[0]); i++) {
		ns_link(pid, ns_types[i], other, sizeof(other));
		ns_link(0, ns_types[i], self, sizeof(self));
		lab_check(lab, other[0] && strcmp(self, other) != 0,
			  "%-6s namespace %s differs "
			  "from the host's %s",
			  ns_types[i], other, self);
	}
	{
		const char *nspid = st ? strstr(st, "NSpid:") : NULL;
		const char *last =
			nspid ? strrchr(strndupa(nspid, strcspn(nspid, "\n")), '\t') : NULL;

		lab_check(lab, last && atoi(last + 1) == 1 && pid != 1,
			  "pid:  host pid %d is PID 1 inside (NSpid)", (int)pid);
	}
}

static void verify_views(struct lab *lab, pid_t pid, const char *rep, const char *mnt)
{
	char v[256], path[PATH_MAX + 32], host[256] = "", line[PATH_MAX + 64];

	gethostname(host, sizeof(host) - 1);
	lab_check(lab, strcmp(report(rep, "pid", v, sizeof(v)), "1") == 0,
		  "pid:  the shell sees itself as PID %s", v);
	lab_check(lab,
		  strcmp(report(rep, "hostname", v, sizeof(v)), lab->id) == 0 &&
			  strcmp(host, lab->id) != 0,
		  "uts:  hostname inside '%s', the host's stays '%s'", v, host);
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	snprintf(line, sizeof(line), " %s ", mnt);
	lab_check(lab, file_has(path, line) && !file_has("/proc/self/mountinfo", line),
		  "mnt:  tmpfs on %s exists only in its mount namespace", mnt);
	snprintf(path, sizeof(path), "%s/marker", mnt);
	lab_check(lab, access(path, F_OK) < 0, "mnt:  its marker file is invisible on the host");
	report(rep, "shmkey", v, sizeof(v));
	lab_check(lab, v[0] && !file_has("/proc/sysvipc/shm", v + 2),
		  "ipc:  shm segment %s (ipcmk) exists inside, not in the host's ipcs", v);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	lab_check(lab, strcmp(report(rep, "uid", v, sizeof(v)), "0") == 0,
		  "user: id -u inside is %s", v);
	lab_check(lab, strstr(report(rep, "uid_map", v, sizeof(v)), "0 " MAP_ROOT " 65536"),
		  "user: uid_map '%s': root inside is uid " MAP_ROOT " outside", v);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	lab_check(lab, file_has(path, "Uid:\t" MAP_ROOT "\t"),
		  "user: the host sees the process as uid " MAP_ROOT);
}

static void verify_cgroup_net(struct lab *lab, pid_t pid, const char *rep)
{
	char v[256], path[64], want[160];
	const char *p;
	int n = 0, root = 0;

	for (p = rep; (p = strstr(p, "\ncgroup=")); p++, n++)
		if (p[strcspn(p + 1, "\n")] == '/')
			root++;
	lab_check(lab, n > 0 && root == n,
		  "cgroup: every /proc/self/cgroup line inside ends in "
		  "'/' (%d of %d)",
		  root, n);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	snprintf(want, sizeof(want), "/weft/%s\n", lab->id);
	lab_check(lab, file_has(path, want), "cgroup: the host sees it in /weft/%s", lab->id);
	for (p = rep, n = 0; (p = strstr(p, "\nnetdev=")); p++)
		n++;
	lab_check(lab, n == 1 && strcmp(report(rep, "netdev", v, sizeof(v)), "lo") == 0,
		  "net:  /sys/class/net inside lists only lo");
}

static void ns_verify(struct lab *lab)
{
	char log[PATH_MAX], pidf[PATH_MAX], mnt[PATH_MAX];
	_cleanup_free_ char *rep = load_report(lab);
	pid_t pid = ctr_pid(lab);

	paths(lab, log, pidf, mnt, sizeof(log));
	if (!lab_check(lab, pid > 0 && rep && kill(pid, 0) == 0,
		       "the namespaced shell (nsrun %s) is running", lab->id))
		return;
	verify_ids(lab, pid);
	verify_views(lab, pid, rep, mnt);
	verify_cgroup_net(lab, pid, rep);
}

static int ns_show(struct lab *lab, struct topo *t)
{
	_cleanup_free_ char *rep = load_report(lab);
	pid_t pid = ctr_pid(lab);
	char self[64], other[64], v[256], host[256] = "";
	int gh, gc;

	gethostname(host, sizeof(host) - 1);
	snprintf(t->title, sizeof(t->title),
		 "namespaces: the same kernel, seven separate views "
		 "(nsrun %s)",
		 lab->id);
	gh = lab_topo_group(t, "host", "host (pid %d)", (int)getpid());
	gc = lab_topo_group(t, "netns", "container (host pid %d, PID 1 inside)", (int)pid);
	for (size_t i = 0; i < sizeof(ns_types) / sizeof(ns_types[0]); i++) {
		ns_link(0, ns_types[i], self, sizeof(self));
		ns_link(pid, ns_types[i], other, sizeof(other));
		lab_topo_edge(t, lab_topo_node(t, gh, ns_types[i], "%s", self),
			      lab_topo_node(t, gc, ns_types[i], "%s", other[0] ? other : "(gone)"),
			      strcmp(self, other) ? "separate" : "shared");
	}
	lab_topo_node(t, gh, "hostname", "%s", host);
	lab_topo_node(t, gc, "hostname", "%s", report(rep, "hostname", v, sizeof(v)));
	lab_topo_node(t, gc, "uid", "%s (uid_map %s)", report(rep, "uid", v, sizeof(v)),
		      report(rep, "uid_map", other, sizeof(other)));
	lab_topo_node(t, gc, "ipc", "shm key %s", report(rep, "shmkey", v, sizeof(v)));
	lab_topo_note(t,
		      "try: nsenter -t %d -a sh   (then: hostname; id; ipcs -m; mount | grep "
		      "netlab; ls /sys/class/net)",
		      (int)pid);
	return 0;
}

const struct scenario lab_namespaces = {
	.name = "namespaces",
	.origin = "the Linux namespace types, each shown isolated (pid, net, mnt, uts, ipc, user, "
		  "cgroup)",
	.summary = "pid, net, mnt, uts, ipc, user and cgroup namespaces, each shown isolated "
		   "(through nsrun)",
	.up = ns_up,
	.verify = ns_verify,
	.show = ns_show,
};

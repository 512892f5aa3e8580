/* SPDX-License-Identifier: Apache-2.0 */
/* container: the classic "container from scratch", through nsrun: a rootfs with a few host
 * binaries and their libraries (ldd), every namespace, cgroup limits (memory 100M, cpu 50%,
 * 64 pids), a hostname, pivot_root; verified from inside (PID 1, hostname, limits as the
 * container reads them from /sys/fs/cgroup, its own / and ps) and from outside.
 * The exercise: a container built by hand from a shell script (docs/netlab.md). */
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
#include "common/fsutil.h"
#include "netns-tools/netlab/lab.h"

#define MEM_LIMIT "104857600"

static const char *const tools[] = {"sh", "ls", "ps", "cat", "hostname", "sleep", "id", NULL};

static const char probe[] =
	"echo \"hostname=$(hostname)\"\n"
	"echo \"pid1=$(cat /proc/1/comm)\"\n"
	"echo \"uid=$(id -u)\"\n"
	"echo \"mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null ||"
	" cat /sys/fs/cgroup/memory.max)\"\n"
	"echo \"cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null ||"
	" cat /sys/fs/cgroup/cpu.max)\"\n"
	"echo \"pids=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null ||"
	" cat /sys/fs/cgroup/pids.max)\"\n"
	"echo \"root=\"$(ls /)\n"
	"echo \"ps=\"$(ps -e -o pid= -o comm=)\n";

static int copy_file(const char *src, const char *dst)
{
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC), out = -1;
	struct stat st;
	char buf[65536];
	ssize_t n;

	if (in < 0 || fstat(in, &st) < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
	if (out < 0)
		return errno == EEXIST ? 0 : -errno;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -EIO;
	return n < 0 ? -errno : 0;
}

/* Copies path into root at the same place (directories made as needed). */
static int install(const char *root, const char *path)
{
	char dst[PATH_MAX * 2], real[PATH_MAX];
	int r;

	if (!realpath(path, real))
		return -errno;
	snprintf(dst, sizeof(dst), "%s%s", root, path);
	*strrchr(dst, '/') = '\0';
	r = fs_mkdir_p(dst, 0755);
	if (r < 0)
		return r;
	snprintf(dst, sizeof(dst), "%s%s", root, path);
	return copy_file(real, dst);
}

/* The exercise's create_rootfs: the tool plus every library ldd names. */
static int install_tool(const struct lab *lab, const char *root, const char *tool)
{
	char bin[PATH_MAX], dst[PATH_MAX * 2];
	char *const ldd[] = {"ldd", bin, NULL};
	_cleanup_free_ char *out = NULL;
	int r;

	snprintf(bin, sizeof(bin), "/usr/bin/%s", tool);
	if (access(bin, X_OK) < 0)
		snprintf(bin, sizeof(bin), "/bin/%s", tool);
	snprintf(dst, sizeof(dst), "%s/bin/%s", root, tool);
	r = copy_file(bin, dst);
	if (r < 0)
		return r;
	if (lab_run(lab, ldd, &out, true) != 0 || !out)
		return 0; /* static */
	for (char *p = out; (p = strchr(p, '/'));) {
		size_t n = strcspn(p, " \t\n(");
		char lib[PATH_MAX];

		snprintf(lib, sizeof(lib), "%.*s", (int)n, p);
		p += n;
		r = install(root, lib);
		if (r < 0)
			return r;
	}
	return 0;
}

static int make_rootfs(const struct lab *lab, const char *root)
{
	static const char *const dirs[] = {"", "/bin", "/etc", "/proc", "/sys", "/dev", "/tmp"};
	char path[PATH_MAX + 16];
	_cleanup_fclose_ FILE *f = NULL;
	int r;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", root, dirs[i]);
		if (mkdir(path, 0755) < 0)
			return -errno;
	}
	for (size_t i = 0; tools[i]; i++) {
		r = install_tool(lab, root, tools[i]);
		if (r < 0) {
			fprintf(stderr, "netlab: rootfs: cannot copy %s: %s\n", tools[i],
				strerror(-r));
			return r;
		}
	}
	snprintf(path, sizeof(path), "%s/etc/passwd", root);
	f = fopen(path, "we");
	if (!f || fputs("root:x:0:0:root:/root:/bin/sh\n", f) < 0)
		return -EIO;
	return 0;
}

static void ctr_paths(const struct lab *lab, char *root, char *pidf, char *log, size_t len)
{
	snprintf(root, len, "%s/rootfs", lab->dir);
	snprintf(pidf, len, "%s/ctr.pid", lab->dir);
	snprintf(log, len, "%s/nsrun.log", lab->dir);
}

static pid_t read_pid(const char *pidf)
{
	_cleanup_fclose_ FILE *f = fopen(pidf, "re");
	int pid = -1;

	if (!f || fscanf(f, "%d", &pid) != 1)
		return -1;
	return (pid_t)pid;
}

static int ctr_up(struct lab *lab)
{
	char root[PATH_MAX], pidf[PATH_MAX], log[PATH_MAX], nsrun[PATH_MAX + 8];
	char *const argv[] = {nsrun,	  "--name",	lab->id,    "--hostname", lab->id,
			      "--rootfs", root,		"--memory", "100M",	  "--cpus",
			      "0.5",	  "--pids",	"64",	    "--pid-file", pidf,
			      "--",	  "/bin/sleep", "infinity", NULL};
	struct timespec ts = {0, 50 * 1000 * 1000};
	int r;

	ctr_paths(lab, root, pidf, log, sizeof(root));
	snprintf(nsrun, sizeof(nsrun), "%s/nsrun", lab->bin_dir);
	if (access(nsrun, X_OK) < 0) {
		fprintf(stderr, "netlab: %s not found (it is built next to netlab)\n", nsrun);
		return -ENOENT;
	}
	r = make_rootfs(lab, root);
	if (r < 0)
		return r;
	if (lab_spawn(lab, argv, log, lab->id) < 0)
		return -EIO;
	for (int i = 0; i < 300; i++) {
		pid_t pid = read_pid(pidf);
		char comm[64], buf[32] = "";
		_cleanup_fclose_ FILE *f = NULL;

		snprintf(comm, sizeof(comm), "/proc/%d/comm", (int)pid);
		if (pid > 0 && (f = fopen(comm, "re")) && fgets(buf, sizeof(buf), f) &&
		    strncmp(buf, "sleep", 5) == 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "netlab: the container did not start (see %s)\n", log);
	return -ETIMEDOUT;
}

static const char *field(const char *rep, const char *key, char *buf, size_t len)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "\n%s=", key);
	p = rep ? strstr(rep, pat) : NULL;
	snprintf(buf, len, "%.*s", p ? (int)strcspn(p + strlen(pat), "\n") : 0,
		 p ? p + strlen(pat) : "");
	return buf;
}

/* Runs the probe inside the container (its namespaces and root, like nsenter -a). */
static char *probe_inside(pid_t pid)
{
	char *const argv[] = {"/bin/sh", "-c", (char *)probe, NULL};
	_cleanup_free_ char *out = NULL;
	char *rep = NULL;

	if (pid <= 0 || lab_enter_run(pid, argv, &out) != 0 || !out)
		return NULL;
	if (asprintf(&rep, "\n%s", out) < 0)
		return NULL;
	return rep;
}

static void root_listing(const char *root, char *buf, size_t len)
{
	char *const argv[] = {"ls", (char *)root, NULL};
	_cleanup_free_ char *out = NULL;

	buf[0] = '\0';
	if (lab_run(NULL, argv, &out, true) != 0 || !out)
		return;
	for (char *c = out; *c; c++)
		if (*c == '\n')
			*c = c[1] ? ' ' : '\0';
	snprintf(buf, len, "%s", out);
}

static void ctr_verify(struct lab *lab)
{
	char root[PATH_MAX], pidf[PATH_MAX], log[PATH_MAX], v[512], w[512], host[256] = "";
	char cg[PATH_MAX];
	pid_t pid;
	_cleanup_free_ char *rep = NULL;

	ctr_paths(lab, root, pidf, log, sizeof(root));
	pid = read_pid(pidf);
	rep = probe_inside(pid);
	if (!lab_check(lab, rep != NULL, "a shell runs inside container %s (host pid %d)", lab->id,
		       (int)pid))
		return;
	lab_check(lab, strcmp(field(rep, "pid1", v, sizeof(v)), "sleep") == 0 && pid != 1,
		  "PID 1 inside is the command '%s' (host pid %d)", v, (int)pid);
	gethostname(host, sizeof(host) - 1);
	lab_check(lab,
		  strcmp(field(rep, "hostname", v, sizeof(v)), lab->id) == 0 &&
			  strcmp(host, lab->id) != 0,
		  "hostname inside is '%s' (host: '%s')", v, host);
	lab_check(lab, strcmp(field(rep, "mem", v, sizeof(v)), MEM_LIMIT) == 0,
		  "memory limit read inside from /sys/fs/cgroup: %s (100M)", v);
	lab_check(lab, strncmp(field(rep, "cpu", v, sizeof(v)), "50000", 5) == 0,
		  "cpu quota read inside: %s (0.5 CPU)", v);
	lab_check(lab, strcmp(field(rep, "pids", v, sizeof(v)), "64") == 0,
		  "pids limit read inside: %s", v);
	lab_check(lab, strcmp(field(rep, "uid", v, sizeof(v)), "0") == 0, "uid inside: %s", v);
	root_listing(root, w, sizeof(w));
	lab_check(lab, strcmp(field(rep, "root", v, sizeof(v)), w) == 0,
		  "/ inside is the rootfs (pivot_root): %s", v);
	field(rep, "ps", w, sizeof(w));
	snprintf(v, sizeof(v), "%s", w + strspn(w, " "));
	lab_check(lab, strncmp(v, "1 sleep", 7) == 0 && !strstr(v, "netlab") && !strstr(v, "nsrun"),
		  "ps inside sees only the container: %s", v);
	snprintf(cg, sizeof(cg), "/sys/fs/cgroup/memory/weft/%s/memory.limit_in_bytes", lab->id);
	if (access(cg, F_OK) < 0)
		snprintf(cg, sizeof(cg), "/sys/fs/cgroup/weft/%s/memory.max", lab->id);
	lab_check(lab, access(cg, F_OK) == 0, "the host sees the cgroup: %s", cg);
	lab_netns_path(lab->id, cg, sizeof(cg));
	lab_check(lab, access(cg, F_OK) == 0, "nsrun pinned the netns at %s", cg);
}

static int ctr_show(struct lab *lab, struct topo *t)
{
	char root[PATH_MAX], pidf[PATH_MAX], log[PATH_MAX], v[512];
	pid_t pid;
	_cleanup_free_ char *rep = NULL;
	int g, r;

	ctr_paths(lab, root, pidf, log, sizeof(root));
	pid = read_pid(pidf);
	rep = probe_inside(pid);
	snprintf(t->title, sizeof(t->title), "container from scratch: nsrun %s", lab->id);
	g = lab_topo_group(t, "netns", "container %s (PID 1 = host pid %d)", lab->id, (int)pid);
	lab_topo_node(t, g, "command", "/bin/sleep infinity (PID 1: %s)",
		      field(rep, "pid1", v, sizeof(v)));
	lab_topo_node(t, g, "hostname", "%s", field(rep, "hostname", v, sizeof(v)));
	lab_topo_node(t, g, "memory", "%s bytes", field(rep, "mem", v, sizeof(v)));
	lab_topo_node(t, g, "cpu", "%s us per 100 ms", field(rep, "cpu", v, sizeof(v)));
	lab_topo_node(t, g, "pids", "max %s", field(rep, "pids", v, sizeof(v)));
	lab_topo_node(t, g, "ps", "%s", field(rep, "ps", v, sizeof(v)));
	r = lab_topo_group(t, "dir", "rootfs %s", root);
	lab_topo_node(t, r, "/", "%s", field(rep, "root", v, sizeof(v)));
	lab_topo_node(t, r, "/bin", "sh ls ps cat hostname sleep id (+ their ldd libraries)");
	lab_topo_node(t, r, "mounts", "/proc, /sys (ro), /sys/fs/cgroup, /dev (tmpfs), /tmp");
	lab_topo_note(t, "try: nsenter -t %d -a /bin/sh", (int)pid);
	return 0;
}

const struct scenario lab_container = {
	.name = "container",
	.origin = "building a container from scratch by hand: rootfs, namespaces, cgroups",
	.summary = "container from scratch via nsrun: rootfs, all namespaces, cgroup limits, "
		   "hostname, checked from inside",
	.up = ctr_up,
	.verify = ctr_verify,
	.show = ctr_show,
};

/* SPDX-License-Identifier: Apache-2.0 */
/* The container side of nsrun: runs as PID 1 of the new pid namespace, waits for the parent,
 * builds its mounts (OverlayFS, rootfs + pivot_root, fresh /proc, /sys, /dev, cgroupfs),
 * then execs the command, or becomes a mini init (--init) that reaps orphans and forwards
 * signals to it. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "netns-tools/nsrun/ctr.h"

__attribute__((noreturn, format(printf, 4, 5))) static void
child_fail(const struct ctr *c, int exit_code, int sys_errno, const char *fmt, ...)
{
	struct ctr_child_report rep = {.exit_code = exit_code, .sys_errno = sys_errno};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rep.msg, sizeof(rep.msg), fmt, ap);
	va_end(ap);
	if (write(c->err_w, &rep, sizeof(rep)) < 0)
		_exit(exit_code);
	_exit(exit_code);
}

static void mnt(const struct ctr *c, const char *src, const char *dst, const char *type,
		unsigned long flags, const char *data)
{
	if (mount(src, dst, type, flags, data) < 0)
		child_fail(c, CTR_EXIT_ERROR, errno, "mount %s on %s", type ? type : src, dst);
}

static void path_in_root(const struct ctr *c, char *buf, size_t len, const char *p)
{
	if (snprintf(buf, len, "%s%s", c->root, p) >= (int)len)
		child_fail(c, CTR_EXIT_ERROR, ENAMETOOLONG, "path %s%s", c->root, p);
}

static void mkdir_in_root(const struct ctr *c, const char *p, mode_t mode)
{
	char path[PATH_MAX];
	int r;

	path_in_root(c, path, sizeof(path), p);
	r = fs_mkdir_p(path, mode);
	if (r < 0)
		child_fail(c, CTR_EXIT_ERROR, -r, "mkdir %s", path);
}

/* A device node of the host, bind-mounted (works in a user namespace, unlike mknod). */
static void bind_dev(const struct ctr *c, const char *name)
{
	char src[64], dst[PATH_MAX];
	int fd;

	snprintf(src, sizeof(src), "/dev/%s", name);
	snprintf(dst, sizeof(dst), "%s/dev/%s", c->root, name);
	fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
	if (fd < 0)
		child_fail(c, CTR_EXIT_ERROR, errno, "create %s", dst);
	close(fd);
	mnt(c, src, dst, NULL, MS_BIND, NULL);
}

static void mount_dev(const struct ctr *c)
{
	static const char *const devs[] = {"null", "zero", "full", "random", "urandom", "tty"};
	static const char *const links[][2] = {{"/proc/self/fd", "fd"},
					       {"/proc/self/fd/0", "stdin"},
					       {"/proc/self/fd/1", "stdout"},
					       {"/proc/self/fd/2", "stderr"},
					       {"pts/ptmx", "ptmx"}};
	char path[PATH_MAX];

	mkdir_in_root(c, "/dev", 0755);
	path_in_root(c, path, sizeof(path), "/dev");
	mnt(c, "tmpfs", path, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++)
		bind_dev(c, devs[i]);
	mkdir_in_root(c, "/dev/pts", 0755);
	path_in_root(c, path, sizeof(path), "/dev/pts");
	mnt(c, "devpts", path, "devpts", MS_NOSUID | MS_NOEXEC,
	    "newinstance,ptmxmode=0666,mode=0620");
	mkdir_in_root(c, "/dev/shm", 01777);
	path_in_root(c, path, sizeof(path), "/dev/shm");
	mnt(c, "shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", c->root, links[i][1]);
		if (symlink(links[i][0], path) < 0 && errno != EEXIST)
			child_fail(c, CTR_EXIT_ERROR, errno, "symlink %s", path);
	}
}

/* cgroupfs inside: with the cgroup namespace its root is the container's own cgroup, so
 * /sys/fs/cgroup/memory/memory.limit_in_bytes (v1) or /sys/fs/cgroup/memory.max (v2) show the
 * container's limits, as in the classic "container from scratch" exercise. */
static void mount_cgroups(const struct ctr *c)
{
	const struct cg_layout *l = &c->layout;
	bool pure_v2 = l->unified >= 0 && c->cg.n == 1 && c->cg.dirs[0].version == 2;
	char base[PATH_MAX], path[PATH_MAX + 300];

	if (!c->have_cg)
		return;
	path_in_root(c, base, sizeof(base), "/sys/fs/cgroup");
	if (pure_v2) {
		if (mount("cgroup2", base, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			fprintf(stderr, "nsrun: warning: mount cgroup2: %s\n", strerror(errno));
		return;
	}
	mnt(c, "tmpfs", base, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=64k");
	for (size_t i = 0; i < c->cg.n; i++) {
		const struct cg_dir *d = &c->cg.dirs[i];
		const char *leaf = strrchr(d->mount, '/');
		const char *opts = NULL;

		/* A user namespace may mount cgroup2 but not v1 hierarchies. */
		if (c->spec->userns && d->version == 1)
			continue;
		for (size_t k = 0; k < l->n; k++)
			if (d->version == 1 && strcmp(l->m[k].path, d->mount) == 0)
				opts = l->m[k].ctrls;
		snprintf(path, sizeof(path), "%s%s", base, leaf ? leaf : "/unified");
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			child_fail(c, CTR_EXIT_ERROR, errno, "mkdir %s", path);
		if (mount("cgroup", path, d->version == 2 ? "cgroup2" : "cgroup",
			  MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
			fprintf(stderr, "nsrun: warning: mount cgroup %s: %s\n", path,
				strerror(errno));
	}
	(void)mount(NULL, base, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		    NULL);
}

static void mount_proc_sys(const struct ctr *c)
{
	char path[PATH_MAX];

	mkdir_in_root(c, "/proc", 0555);
	path_in_root(c, path, sizeof(path), "/proc");
	mnt(c, "proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mkdir_in_root(c, "/sys", 0555);
	path_in_root(c, path, sizeof(path), "/sys");
	/* sysfs shows the mounter's netns: /sys/class/net lists the container's interfaces. */
	mnt(c, "sysfs", path, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
	mount_cgroups(c);
}

static void pivot(const struct ctr *c)
{
	if (chdir(c->root) < 0)
		child_fail(c, CTR_EXIT_ERROR, errno, "chdir %s", c->root);
	/* pivot_root(".", "."): the old root ends up on top of the new one; detach it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		child_fail(c, CTR_EXIT_ERROR, errno, "pivot_root %s", c->root);
	if (umount2(".", MNT_DETACH) < 0)
		child_fail(c, CTR_EXIT_ERROR, errno, "detach the old root");
	if (chdir("/") < 0)
		child_fail(c, CTR_EXIT_ERROR, errno, "chdir /");
}

static void setup_mounts(struct ctr *c)
{
	const struct ctr_spec *s = c->spec;

	/* Nothing we mount may propagate back to the host. */
	mnt(c, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	if (s->n_lowers)
		mnt(c, "overlay", c->root, "overlay", 0, c->overlay_opts);
	if (c->root[0])
		mnt(c, c->root, c->root, NULL, MS_BIND | MS_REC, NULL);
	mount_proc_sys(c);
	if (!c->root[0])
		return;
	mount_dev(c);
	mkdir_in_root(c, "/tmp", 01777);
	pivot(c);
}

static void loopback_up(const struct ctr *c)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		child_fail(c, CTR_EXIT_ERROR, errno, "get flags of lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		child_fail(c, CTR_EXIT_ERROR, errno, "set lo up");
}

static void exec_command(const struct ctr *c)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvp(c->spec->argv[0], c->spec->argv);
	child_fail(c, errno == ENOENT ? CTR_EXIT_NOT_FOUND : CTR_EXIT_CANNOT_EXEC, errno, "exec %s",
		   c->spec->argv[0]);
}

static const int fwd_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

/* --init: PID 1 forwards signals to the command, reaps every child (orphans included), and
 * exits with the command's status (128+N when a signal ended it). */
__attribute__((noreturn)) static void run_init(const struct ctr *c)
{
	sigset_t set;
	pid_t cmd;
	int status = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < ARRAY_SIZE(fwd_signals); i++)
		sigaddset(&set, fwd_signals[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	cmd = fork();
	if (cmd < 0)
		child_fail(c, CTR_EXIT_ERROR, errno, "fork the command");
	if (cmd == 0)
		exec_command(c);
	close(c->err_w);
	prctl(PR_SET_NAME, "nsrun-init");
	for (;;) {
		siginfo_t si;
		pid_t p;
		int st;

		if (sigwaitinfo(&set, &si) < 0)
			continue;
		if (si.si_signo != SIGCHLD) {
			kill(cmd, si.si_signo);
			continue;
		}
		while ((p = waitpid(-1, &st, WNOHANG)) > 0)
			if (p == cmd)
				status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
		if (p < 0 && errno == ECHILD)
			_exit(status);
	}
}

void ctr_child_main(struct ctr *c)
{
	const struct ctr_spec *s = c->spec;
	char go;

	close(c->sync_w);
	close(c->err_r);
	/* If nsrun dies, so does the container (its cleanup can then run from the state). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (read(c->sync_r, &go, 1) != 1)
		_exit(CTR_EXIT_ERROR); /* the parent gave up */
	close(c->sync_r);
	if (s->userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		child_fail(c, CTR_EXIT_ERROR, errno, "become root in the user namespace");
	if (c->have_cg && unshare(CLONE_NEWCGROUP) < 0)
		child_fail(c, CTR_EXIT_ERROR, errno, "unshare the cgroup namespace");
	if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		child_fail(c, CTR_EXIT_ERROR, errno, "sethostname %s", s->hostname);
	loopback_up(c);
	setup_mounts(c);
	if (s->workdir && chdir(s->workdir) < 0)
		child_fail(c, CTR_EXIT_ERROR, errno, "chdir %s", s->workdir);
	if (s->init)
		run_init(c);
	exec_command(c);
	_exit(CTR_EXIT_ERROR);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The parent side of nsrun: clone into new namespaces, cgroup, CNI ADD through the runtime
 * side, release the child, forward signals, wait, then DEL and clean up. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/netns.h"
#include "netns-tools/nsrun/ctr.h"

#define CHILD_STACK (1u << 20)

static const int handled_signals[] = {SIGINT,  SIGTERM, SIGHUP,	 SIGQUIT,
				      SIGUSR1, SIGUSR2, SIGCHLD, SIGWINCH};

static void ctr_teardown(struct ctr *c);

static void block_signals(sigset_t *ret_old)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(handled_signals); i++)
		sigaddset(&set, handled_signals[i]);
	sigprocmask(SIG_BLOCK, &set, ret_old);
}

static int load_nets(struct ctr *c, struct cni_err *err)
{
	const struct ctr_spec *s = c->spec;
	const char *dir = s->confdir ? s->confdir : RT_DEFAULT_CONF_DIR;

	for (size_t i = 0; i < s->n_nets; i++) {
		int r = rt_netconf_load(dir, s->nets[i], &c->netconfs[i], err);

		if (r < 0)
			return cni_err_wrap(err, "network '%s'", s->nets[i]);
		if (s->ifnames[i])
			snprintf(c->ifnames[i], sizeof(c->ifnames[i]), "%s", s->ifnames[i]);
		else if (snprintf(c->ifnames[i], sizeof(c->ifnames[i]), "eth%zu", i) >=
			 (int)sizeof(c->ifnames[i]))
			return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "too many networks");
		for (size_t k = 0; k < i; k++)
			if (strcmp(c->ifnames[k], c->ifnames[i]) == 0)
				return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
						   "interface name '%s' used twice", c->ifnames[i]);
	}
	return 0;
}

static int state_dir_make(struct ctr *c, struct cni_err *err)
{
	int r;

	snprintf(c->state_dir, sizeof(c->state_dir), "%s/%s", CTR_STATE_ROOT, c->spec->name);
	r = fs_mkdir_p(CTR_STATE_ROOT, 0700);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "create %s", CTR_STATE_ROOT);
	if (mkdir(c->state_dir, 0700) < 0) {
		if (errno != EEXIST)
			return cni_err_set(err, CNI_ERR_IO, errno, "create %s", c->state_dir);
		return cni_err_setd(err, CNI_ERR_INTERNAL, EEXIST,
				    "if its nsrun is gone, run: nsrun --cleanup NAME",
				    "a container named '%s' exists (%s)", c->spec->name,
				    c->state_dir);
	}
	c->made_state_dir = true;
	return 0;
}

/* lowerdir=L1:L2[:rootfs],upperdir=<state>/upper,workdir=<state>/work on <state>/merged. */
static int overlay_prepare(struct ctr *c, struct cni_err *err)
{
	const struct ctr_spec *s = c->spec;
	static const char *const sub[] = {"upper", "work", "merged"};
	size_t len = sizeof(c->overlay_opts), n;
	char *o = c->overlay_opts, path[PATH_MAX + 16];

	n = (size_t)snprintf(o, len, "lowerdir=");
	for (size_t i = 0; i <= s->n_lowers; i++) {
		const char *l = i < s->n_lowers ? s->lowers[i] : s->rootfs;

		if (!l)
			continue;
		if (strpbrk(l, ":,"))
			return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
					   "overlay layer '%s': ':' and ',' are not allowed", l);
		n += (size_t)snprintf(o + n, len > n ? len - n : 0, "%s%s", i ? ":" : "", l);
	}
	n += (size_t)snprintf(o + n, len > n ? len - n : 0, ",upperdir=%s/upper,workdir=%s/work",
			      c->state_dir, c->state_dir);
	if (n >= len)
		return cni_err_set(err, CNI_ERR_CONFIG, ENAMETOOLONG, "overlay options too long");
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		snprintf(path, sizeof(path), "%s/%s", c->state_dir, sub[i]);
		if (mkdir(path, 0755) < 0)
			return cni_err_set(err, CNI_ERR_IO, errno, "create %s", path);
	}
	snprintf(c->root, sizeof(c->root), "%s/merged", c->state_dir);
	return 0;
}

static int root_prepare(struct ctr *c, struct cni_err *err)
{
	const struct ctr_spec *s = c->spec;

	if (s->n_lowers)
		return overlay_prepare(c, err);
	if (s->rootfs &&
	    snprintf(c->root, sizeof(c->root), "%s", s->rootfs) >= (int)sizeof(c->root))
		return cni_err_set(err, CNI_ERR_CONFIG, ENAMETOOLONG, "rootfs path too long");
	return 0;
}

static int write_file(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = (ssize_t)strlen(s);

	if (fd < 0)
		return -errno;
	return write(fd, s, (size_t)n) == n ? 0 : -errno;
}

static int write_id_maps(const struct ctr *c, struct cni_err *err)
{
	const struct ctr_spec *s = c->spec;
	char path[64], map[64];
	int r;

	snprintf(map, sizeof(map), "0 %u %u\n", (unsigned)s->map_uid, s->map_count);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)c->pid);
	r = write_file(path, map);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, -r, "write %s (%s)", path, map);
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)c->pid);
		(void)write_file(path, "deny");
	}
	snprintf(map, sizeof(map), "0 %u %u\n", (unsigned)s->map_gid, s->map_count);
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)c->pid);
	r = write_file(path, map);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, -r, "write %s (%s)", path, map);
	return 0;
}

/* iproute2's layout: /run/netns is a shared mount, so a pin shows in every mount ns. */
static int netns_pin(struct ctr *c, struct cni_err *err)
{
	char src[64];
	int fd, r = fs_mkdir_p(CTR_NETNS_DIR, 0755);

	snprintf(c->netns_path, sizeof(c->netns_path), "%s/%s", CTR_NETNS_DIR, c->spec->name);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "create %s", CTR_NETNS_DIR);
	if (mount("", CTR_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
		if (errno != EINVAL ||
		    mount(CTR_NETNS_DIR, CTR_NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0 ||
		    mount("", CTR_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
			return cni_err_set(err, CNI_ERR_INTERNAL, errno, "make %s shared",
					   CTR_NETNS_DIR);
	}
	fd = open(c->netns_path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return cni_err_set(err, CNI_ERR_IO, errno, "create %s", c->netns_path);
	close(fd);
	c->pinned = true;
	snprintf(src, sizeof(src), "/proc/%d/ns/net", (int)c->pid);
	if (mount(src, c->netns_path, "none", MS_BIND, NULL) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "pin %s at %s", src,
				   c->netns_path);
	return 0;
}

static int nets_add_here(struct ctr *c, struct cni_err *err)
{
	const struct ctr_spec *s = c->spec;

	for (size_t i = 0; i < s->n_nets; i++) {
		struct rt_attach a = {
			.container_id = s->name,
			.netns = c->netns_path,
			.ifname = c->ifnames[i],
			.cni_args = s->cni_args,
			.cap_args = s->cap_args,
		};
		int r;

		/* The runtime DELs even an ADD that failed (cni-spec §1.4). */
		c->added[i] = true;
		r = rt_add(&c->rt, c->netconfs[i], &a, &c->results[i], err);
		if (r < 0)
			return cni_err_wrap(err, "network '%s'", s->nets[i]);
		if (s->verbose) {
			_cleanup_free_ char *js = json_dumps(c->results[i], JSON_COMPACT);

			log_info("%s on %s: %s", c->ifnames[i], s->nets[i], js ? js : "");
		}
	}
	return 0;
}

struct nets_ctx {
	struct ctr *c;
	bool entered;
};

static int nets_add_cb(void *arg, struct cni_err *err)
{
	struct nets_ctx *x = arg;

	x->entered = true;
	return nets_add_here(x->c, err);
}

static int nets_add(struct ctr *c, struct cni_err *err)
{
	struct nets_ctx x = {.c = c};
	int r = netns_exec_path(c->spec->cni_netns, nets_add_cb, &x, err);

	if (r < 0 && !x.entered)
		return cni_err_set(err, CNI_ERR_NETNS, -r, "enter CNI netns %s",
				   c->spec->cni_netns);
	return r;
}

static int child_entry(void *arg)
{
	ctr_child_main(arg);
}

static int spawn(struct ctr *c, struct cni_err *err)
{
	int flags =
		CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD;
	int sync[2], errp[2];
	_cleanup_free_ char *stack = malloc(CHILD_STACK);

	if (c->spec->userns)
		flags |= CLONE_NEWUSER;
	if (!stack || pipe2(sync, O_CLOEXEC) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno ? errno : ENOMEM, "pipe");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(sync[0]);
		close(sync[1]);
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "pipe");
	}
	c->sync_r = sync[0];
	c->sync_w = sync[1];
	c->err_r = errp[0];
	c->err_w = errp[1];
	c->pid = clone(child_entry, stack + CHILD_STACK, flags, c);
	close(c->sync_r);
	close(c->err_w);
	if (c->pid < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "clone into new namespaces");
	return 0;
}

/* Releases the child and learns whether the exec happened (EOF) or what failed. */
static int release(struct ctr *c, int *ret_exit, struct cni_err *err)
{
	struct ctr_child_report rep;
	ssize_t n;

	if (write(c->sync_w, "g", 1) != 1)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "release the container");
	close(c->sync_w);
	c->sync_w = -1;
	do
		n = read(c->err_r, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close(c->err_r);
	c->err_r = -1;
	if (n != (ssize_t)sizeof(rep))
		return 0;
	*ret_exit = rep.exit_code;
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	return cni_err_set(err, CNI_ERR_INTERNAL, rep.sys_errno, "%s", rep.msg);
}

static void reap_child(struct ctr *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
		;
	c->pid = -1;
}

static int write_pid_file(const struct ctr *c, struct cni_err *err)
{
	_cleanup_fclose_ FILE *f = NULL;

	if (!c->spec->pid_file)
		return 0;
	f = fopen(c->spec->pid_file, "we");
	if (!f || fprintf(f, "%d\n", (int)c->pid) < 0 || fflush(f) != 0)
		return cni_err_set(err, CNI_ERR_IO, errno ? errno : EIO, "write pid file %s",
				   c->spec->pid_file);
	return 0;
}

static int prepare(struct ctr *c, struct cni_err *err)
{
	const struct ctr_spec *s = c->spec;
	int r;

	c->rt.cni_path = s->cni_path;
	c->rt.cache_dir = s->cache_dir;
	r = load_nets(c, err);
	if (r >= 0)
		r = cgroup_layout_read(NULL, &c->layout, err);
	if (r >= 0)
		r = state_dir_make(c, err);
	if (r >= 0)
		r = root_prepare(c, err);
	if (r >= 0 && !s->no_cgroup) {
		r = cgroup_create(&c->layout, s->cg_mode, s->cg_parent, s->name, &s->limits, &c->cg,
				  err);
		c->have_cg = r >= 0;
	}
	if (r >= 0)
		r = ctr_state_write(c, err);
	return r;
}

int ctr_start(struct ctr *c, const struct ctr_spec *spec, struct cni_err *err)
{
	sigset_t old;
	int r, exit_code = CTR_EXIT_ERROR;

	memset(c, 0, sizeof(*c));
	c->spec = spec;
	c->pid = -1;
	c->sync_w = c->err_r = -1;
	r = prepare(c, err);
	if (r >= 0) {
		block_signals(&old);
		r = spawn(c, err);
	}
	if (r >= 0 && spec->userns)
		r = write_id_maps(c, err);
	if (r >= 0 && c->have_cg)
		r = cgroup_attach(&c->cg, c->pid, err);
	if (r >= 0)
		r = netns_pin(c, err);
	if (r >= 0)
		r = nets_add(c, err);
	if (r >= 0)
		r = ctr_state_write(c, err);
	if (r >= 0)
		r = write_pid_file(c, err);
	if (r >= 0)
		r = release(c, &exit_code, err);
	if (r < 0) {
		reap_child(c);
		ctr_teardown(c);
		c->start_exit = exit_code;
		return r;
	}
	return 0;
}

static int exit_status(int st)
{
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WIFEXITED(st) ? WEXITSTATUS(st) : CTR_EXIT_ERROR;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_stop_signal(int sig)
{
	return sig == SIGINT || sig == SIGTERM;
}

int ctr_wait(struct ctr *c)
{
	struct timespec tick = {0, 200 * 1000 * 1000};
	long long kill_at = 0;
	int st = 0, result;
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(handled_signals); i++)
		sigaddset(&set, handled_signals[i]);
	for (;;) {
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &tick);

		if (waitpid(c->pid, &st, WNOHANG) == c->pid)
			break;
		if (sig > 0 && sig != SIGCHLD) {
			/* PID 1 ignores signals it has no handler for: a second Ctrl-C (or the
			 * timeout) makes it SIGKILL. */
			bool again = kill_at && is_stop_signal(sig);

			kill(c->pid, again ? SIGKILL : sig);
			if (is_stop_signal(sig) && !kill_at)
				kill_at = now_ms() + 1000LL * c->spec->stop_timeout;
		}
		if (kill_at && now_ms() >= kill_at)
			kill(c->pid, SIGKILL);
	}
	result = exit_status(st);
	c->pid = -1;
	ctr_teardown(c);
	return result;
}

static int nets_del_cb(void *arg, struct cni_err *unused)
{
	struct ctr *c = arg;
	const struct ctr_spec *s = c->spec;

	for (size_t i = s->n_nets; i-- > 0;) {
		struct rt_attach a = {
			.container_id = s->name,
			.netns = c->pinned ? c->netns_path : "",
			.ifname = c->ifnames[i],
			.cni_args = s->cni_args,
			.cap_args = s->cap_args,
		};
		struct cni_err err = {0};

		if (!c->added[i])
			continue;
		if (rt_del(&c->rt, c->netconfs[i], &a, &err) < 0)
			log_error("DEL %s from network '%s': %s%s%s", c->ifnames[i], s->nets[i],
				  err.msg, err.details[0] ? ": " : "", err.details);
		else
			c->added[i] = false;
	}
	return 0;
}

static void nets_del(struct ctr *c)
{
	struct cni_err err = {0};

	if (netns_exec_path(c->spec->cni_netns, nets_del_cb, c, &err) < 0)
		log_error("cannot enter CNI netns %s: DEL skipped", c->spec->cni_netns);
}

/* DEL every attached network (reverse order), unpin the netns, remove the cgroup, the
 * overlay dirs and the state file. Idempotent; logs what fails. */
static void ctr_teardown(struct ctr *c)
{
	const struct ctr_spec *s = c->spec;
	struct cni_err err = {0};
	bool left = false;

	nets_del(c);
	for (size_t i = 0; i < s->n_nets; i++) {
		left = left || c->added[i];
		json_decref(c->results[i]);
		c->results[i] = NULL;
	}
	if (c->pinned) {
		if (umount2(c->netns_path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
			log_error("unpin %s: %s", c->netns_path, strerror(errno));
		unlink(c->netns_path);
		c->pinned = false;
	}
	if (c->have_cg && cgroup_destroy(&c->cg, &err) < 0) {
		log_error("%s: %s", err.msg, err.details);
		left = true;
	}
	c->have_cg = c->have_cg && left;
	if (s->pid_file)
		unlink(s->pid_file);
	if (left) {
		/* Keep state.json: `nsrun --cleanup NAME` retries what failed. */
		(void)ctr_state_write(c, NULL);
		log_error("cleanup incomplete; retry with: nsrun --cleanup %s", s->name);
	} else if (c->made_state_dir) {
		ctr_rm_rf(c->state_dir);
		(void)rmdir(CTR_STATE_ROOT); /* only when no other container runs */
		c->made_state_dir = false;
	}
	for (size_t i = 0; i < s->n_nets; i++) {
		rt_netconf_free(c->netconfs[i]);
		c->netconfs[i] = NULL;
	}
}

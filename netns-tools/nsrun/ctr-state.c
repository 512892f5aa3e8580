/* SPDX-License-Identifier: Apache-2.0 */
/* nsrun's state file, CTR_STATE_ROOT/<name>/state.json: what a running container holds on
 * the host (cgroup dirs, pinned netns, CNI attachments, overlay dirs), so that
 * `nsrun --cleanup NAME` can undo it after nsrun itself was SIGKILLed. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/netns.h"
#include "netns-tools/nsrun/ctr.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int ctr_rm_rf(const char *path)
{
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

unsigned long long ctr_pid_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parens: fields restart after the last ')'. */
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	return start;
}

/* A zombie holds nothing any more (namespaces, sockets); whoever reaps it may take its time
 * (an init that reaps every few seconds). */
static bool pid_zombie(pid_t pid)
{
	char path[64], buf[512], *p;
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'Z';
}

bool ctr_pid_alive(pid_t pid, unsigned long long start)
{
	return pid > 0 && start && ctr_pid_starttime(pid) == start && !pid_zombie(pid);
}

static json_t *nets_json(const struct ctr *c)
{
	const struct ctr_spec *s = c->spec;
	json_t *nets = json_array();

	for (size_t i = 0; nets && i < s->n_nets; i++)
		json_array_append_new(nets,
				      json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:b}", "name", s->nets[i],
						"ifname", c->ifnames[i], "confDir",
						s->confdir ? s->confdir : RT_DEFAULT_CONF_DIR,
						"cniPath", s->cni_path, "cacheDir", s->cache_dir,
						"added", c->added[i]));
	return nets;
}

int ctr_state_write(const struct ctr *c, struct cni_err *err)
{
	const struct ctr_spec *s = c->spec;
	_cleanup_json_ json_t *o = NULL;
	_cleanup_free_ char *text = NULL;
	char path[PATH_MAX];
	int r;

	o = json_pack("{s:s,s:i,s:I,s:i,s:I,s:s,s:s?,s:s?,s:O?,s:o,s:o*}", "name", s->name,
		      "nsrunPid", (int)getpid(), "nsrunStart",
		      (json_int_t)ctr_pid_starttime(getpid()), "pid", (int)c->pid, "pidStart",
		      (json_int_t)(c->pid > 0 ? ctr_pid_starttime(c->pid) : 0), "netns",
		      c->pinned ? c->netns_path : "", "cniNetns", s->cni_netns, "cniArgs",
		      s->cni_args, "capArgs", s->cap_args, "nets", nets_json(c), "cgroup",
		      c->have_cg ? cgroup_to_json(&c->cg) : NULL);
	if (!o || !(text = json_dumps(o, JSON_INDENT(2))))
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "state");
	snprintf(path, sizeof(path), "%s/state.json", c->state_dir);
	r = fs_write_atomic(path, text, strlen(text), 0644);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "write %s", path);
	return 0;
}

/* The list as it was when attached (the cache keeps its bytes), else the conf dir's. */
static int stale_netconf(const struct rt *rt, const json_t *n, const char *cid,
			 struct rt_netconf **ret, struct cni_err *err)
{
	const char *name = json_string_value(json_object_get(n, "name"));
	const char *ifname = json_string_value(json_object_get(n, "ifname"));
	const char *dir = json_string_value(json_object_get(n, "confDir"));
	struct rt_cached cached = {0};
	int r = -ENOENT;

	if (rt_cache_read(rt, name, cid, ifname, &cached, NULL) >= 0 && cached.config)
		r = rt_netconf_from_bytes(cached.config, cached.config_len, ret, NULL);
	rt_cached_free(&cached);
	if (r >= 0)
		return r;
	return rt_netconf_load(dir ? dir : RT_DEFAULT_CONF_DIR, name, ret, err);
}

static int stale_nets_here(const json_t *st, struct cni_err *err)
{
	const char *cid = json_string_value(json_object_get(st, "name"));
	const json_t *nets = json_object_get(st, "nets"), *n;
	int first = 0;
	size_t i;

	for (i = json_array_size(nets); i-- > 0;) {
		_cleanup_netconf_ struct rt_netconf *nc = NULL;
		struct rt rt = {
			.cni_path = json_string_value(
				json_object_get(json_array_get(nets, i), "cniPath")),
			.cache_dir = json_string_value(
				json_object_get(json_array_get(nets, i), "cacheDir")),
		};
		struct rt_attach a = {.container_id = cid};
		int r;

		n = json_array_get(nets, i);
		if (!json_is_true(json_object_get(n, "added")))
			continue;
		a.ifname = json_string_value(json_object_get(n, "ifname"));
		a.netns = json_string_value(json_object_get(st, "netns"));
		a.cni_args = json_string_value(json_object_get(st, "cniArgs"));
		a.cap_args = json_object_get(st, "capArgs");
		r = stale_netconf(&rt, n, cid, &nc, err);
		if (r >= 0)
			r = rt_del(&rt, nc, &a, err);
		if (r < 0 && !first)
			first = r;
	}
	return first;
}

struct stale_ctx {
	const json_t *st;
	bool entered;
};

static int stale_nets_cb(void *arg, struct cni_err *err)
{
	struct stale_ctx *x = arg;

	x->entered = true;
	return stale_nets_here(x->st, err);
}

static int stale_nets(const json_t *st, struct cni_err *err)
{
	struct stale_ctx x = {.st = st};
	const char *ns = json_string_value(json_object_get(st, "cniNetns"));
	int r = netns_exec_path(ns, stale_nets_cb, &x, err);

	if (r < 0 && !x.entered)
		return cni_err_set(err, CNI_ERR_NETNS, -r, "enter CNI netns %s", ns);
	return r;
}

static int stale_cgroup(const json_t *j, struct cni_err *err)
{
	struct cgroup cg;

	if (!j)
		return 0;
	if (cgroup_from_json(j, &cg) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "bad cgroup record in state");
	return cgroup_destroy(&cg, err);
}

static bool alive(const json_t *st, const char *pid_key, const char *start_key)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, pid_key));
	unsigned long long start =
		(unsigned long long)json_integer_value(json_object_get(st, start_key));

	return ctr_pid_alive(pid, start);
}

static void stale_kill(const json_t *st)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "pid"));
	struct timespec ts = {0, 20 * 1000 * 1000};

	if (!alive(st, "pid", "pidStart"))
		return;
	kill(pid, SIGKILL);
	for (int i = 0; i < 250 && alive(st, "pid", "pidStart"); i++)
		nanosleep(&ts, NULL);
}

int ctr_cleanup_stale(const char *name, struct cni_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	_cleanup_json_ json_t *st = NULL;
	const char *netns;
	int r, first = 0;

	snprintf(dir, sizeof(dir), "%s/%s", CTR_STATE_ROOT, name);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	st = json_load_file(path, 0, NULL);
	if (!st) {
		if (access(dir, F_OK) < 0)
			return cni_err_set(err, CNI_ERR_NO_CTR, ENOENT, "no container '%s' (%s)",
					   name, dir);
		return ctr_rm_rf(dir);
	}
	if (alive(st, "nsrunPid", "nsrunStart"))
		return cni_err_set(err, CNI_ERR_TRY_AGAIN, EBUSY,
				   "container '%s' is running (nsrun pid %d): stop it instead",
				   name, (int)json_integer_value(json_object_get(st, "nsrunPid")));
	stale_kill(st);
	r = stale_nets(st, err);
	first = r < 0 ? r : first;
	netns = json_string_value(json_object_get(st, "netns"));
	if (netns && *netns) {
		(void)umount2(netns, MNT_DETACH);
		(void)unlink(netns);
	}
	r = stale_cgroup(json_object_get(st, "cgroup"), first ? NULL : err);
	first = r < 0 && !first ? r : first;
	if (!first) {
		ctr_rm_rf(dir);
		(void)rmdir(CTR_STATE_ROOT);
	}
	return first;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* netlab down: undoes what the state file records, newest first, whatever happened in between
 * (a crash, a Ctrl-C, a failed verify). One undo per kind of resource; each is a no-op when
 * the resource is already gone, so down can run again after a partial failure. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/netns.h"
#include "netns-tools/runtime/runtime.h"
#include "netns-tools/nsrun/ctr.h"
#include "netns-tools/netlab/lab.h"

static int undo_netns(const struct lab *lab, const json_t *r)
{
	const char *name = json_string_value(json_object_get(r, "name"));
	char path[PATH_MAX];
	_cleanup_free_ char *pids = NULL;
	char *const list[] = {"ip", "netns", "pids", (char *)name, NULL};
	char *const del[] = {"ip", "netns", "del", (char *)name, NULL};

	lab_netns_path(name, path, sizeof(path));
	if (access(path, F_OK) < 0)
		return 0;
	/* Processes still inside would keep the namespace (and its veths) alive. */
	if (lab_run(lab, list, &pids, true) == 0)
		for (char *p = pids; p && *p;) {
			long pid = strtol(p, &p, 10);

			if (pid > 1)
				kill((pid_t)pid, SIGKILL);
			while (*p == '\n')
				p++;
		}
	return lab_run(lab, del, NULL, true) == 0 ? 0 : -EIO;
}

static int undo_proc(const json_t *r)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(r, "pid"));
	struct timespec ts = {0, 20 * 1000 * 1000};

	if (!lab_proc_alive(r))
		return 0;
	kill(pid, SIGKILL);
	for (int i = 0; i < 250 && lab_proc_alive(r); i++) {
		waitpid(pid, NULL, WNOHANG);
		nanosleep(&ts, NULL);
	}
	waitpid(pid, NULL, WNOHANG); /* a zombie of ours is not alive, but is reaped here */
	return lab_proc_alive(r) ? -EBUSY : 0;
}

/* nsrun cleans up after itself on SIGTERM; if it is gone, `nsrun --cleanup` does. */
static int undo_nsrun(const struct lab *lab, const json_t *r)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(r, "pid"));
	const char *name = json_string_value(json_object_get(r, "name"));
	struct timespec ts = {0, 20 * 1000 * 1000};
	char nsrun[PATH_MAX + 8], state[PATH_MAX];

	if (lab_proc_alive(r)) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 500 && lab_proc_alive(r); i++) {
			waitpid(pid, NULL, WNOHANG);
			nanosleep(&ts, NULL);
		}
		(void)undo_proc(r);
	}
	snprintf(state, sizeof(state), "%s/%s", CTR_STATE_ROOT, name);
	if (access(state, F_OK) < 0)
		return 0;
	snprintf(nsrun, sizeof(nsrun), "%s/nsrun", lab->bin_dir);
	{
		char *const argv[] = {nsrun, "--cleanup", (char *)name, NULL};

		return lab_run(lab, argv, NULL, false) == 0 ? 0 : -EIO;
	}
}

static int undo_cgroup(const json_t *r)
{
	struct cgroup cg;

	if (cgroup_from_json(json_object_get(r, "cgroup"), &cg) < 0)
		return -EINVAL;
	return cgroup_destroy(&cg, NULL);
}

static int del_in_host(void *arg, struct cni_err *err)
{
	const json_t *r = arg;
	_cleanup_netconf_ struct rt_netconf *nc = NULL;
	struct rt rt = {
		.cni_path = json_string_value(json_object_get(r, "cniPath")),
		.cache_dir = json_string_value(json_object_get(r, "cacheDir")),
	};
	struct rt_attach a = {
		.container_id = json_string_value(json_object_get(r, "containerId")),
		.netns = json_string_value(json_object_get(r, "netns")),
		.ifname = json_string_value(json_object_get(r, "ifname")),
	};
	const char *conf = json_string_value(json_object_get(r, "conflist"));
	int rc;

	rc = rt_netconf_from_file(conf ? conf : "", &nc, err);
	if (rc >= 0)
		rc = rt_del(&rt, nc, &a, err);
	if (rc < 0)
		fprintf(stderr, "netlab: DEL %s %s: %s %s\n", a.container_id, a.ifname, err->msg,
			err->details);
	return rc;
}

/* CNI DEL through the runtime side, in the netns the plugins ran in. */
static int undo_cni(const json_t *r)
{
	const char *host = json_string_value(json_object_get(r, "hostNetns"));
	struct cni_err err = {0};
	char path[PATH_MAX];

	lab_netns_path(host ? host : "", path, sizeof(path));
	if (!host || access(path, F_OK) < 0)
		return del_in_host((void *)r, &err); /* the host netns is gone: IPAM/cache only */
	return netns_exec_path(path, del_in_host, (void *)r, &err);
}

static int undo_one(const struct lab *lab, const json_t *r)
{
	const char *kind = json_string_value(json_object_get(r, "kind"));
	const char *path = json_string_value(json_object_get(r, "path"));

	if (!kind)
		return 0;
	if (strcmp(kind, "netns") == 0)
		return undo_netns(lab, r);
	if (strcmp(kind, "proc") == 0)
		return undo_proc(r);
	if (strcmp(kind, "nsrun") == 0)
		return undo_nsrun(lab, r);
	if (strcmp(kind, "cgroup") == 0)
		return undo_cgroup(r);
	if (strcmp(kind, "cni") == 0)
		return undo_cni(r);
	if (strcmp(kind, "mount") == 0 && path)
		return umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT ? -errno
											   : 0;
	if (strcmp(kind, "dir") == 0 && path)
		return ctr_rm_rf(path);
	return 0;
}

int lab_down(struct lab *lab)
{
	json_t *res = json_object_get(lab->state, "resources");
	int left = 0;

	for (size_t i = json_array_size(res); i-- > 0;) {
		const json_t *r = json_array_get(res, i);
		int rc = undo_one(lab, r);

		if (rc < 0) {
			_cleanup_free_ char *s = json_dumps(r, JSON_COMPACT);

			fprintf(stderr, "netlab: could not undo %s: %s\n", s ? s : "?",
				strerror(-rc));
			left++;
		}
	}
	if (left) {
		fprintf(stderr, "netlab: %d resource(s) left; state kept in %s\n", left, lab->dir);
		return left;
	}
	ctr_rm_rf(lab->dir);
	(void)rmdir(lab_state_root(lab)); /* only when no other lab is up */
	return 0;
}

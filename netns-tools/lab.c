/* SPDX-License-Identifier: Apache-2.0 */
/* netlab state: every resource is recorded before it is made, and `down` undoes the record
 * in reverse order, whatever happened in between (crash, Ctrl-C, failed verify). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctr.h"
#include "lab.h"
#include "runtime.h"

const char *lab_name(const struct lab *lab, const char *node, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%s", lab->id, node);
	return buf;
}

static int state_save(const struct lab *lab)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/state.json", lab->dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(lab->state, tmp, JSON_INDENT(2)) < 0)
		return -EIO;
	if (rename(tmp, path) < 0)
		return -errno;
	return 0;
}

static bool valid_prefix(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > 24)
		return false;
	for (const char *c = p; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			return false;
	return p[0] != '-';
}

static void find_self(struct lab *lab)
{
	ssize_t n = readlink("/proc/self/exe", lab->self, sizeof(lab->self) - 1);
	char *slash;

	lab->self[n > 0 ? n : 0] = '\0';
	snprintf(lab->bin_dir, sizeof(lab->bin_dir), "%s", lab->self);
	slash = strrchr(lab->bin_dir, '/');
	if (slash)
		*slash = '\0';
}

/* create: a fresh state (EEXIST when the lab is already up); else load the existing one
 * (-ENOENT when the lab is not up). */
int lab_open(struct lab *lab, const struct scenario *sc, const char *prefix, bool create)
{
	char path[PATH_MAX + 16];

	lab->sc = sc;
	if (!prefix)
		prefix = LAB_DEFAULT_PREFIX;
	if (!valid_prefix(prefix))
		return -EINVAL;
	snprintf(lab->id, sizeof(lab->id), "%s-%s", prefix, sc->name);
	snprintf(lab->dir, sizeof(lab->dir), "%s/%s", LAB_STATE_ROOT, lab->id);
	snprintf(path, sizeof(path), "%s/state.json", lab->dir);
	find_self(lab);
	if (!lab->cni_path)
		lab->cni_path = lab->bin_dir;
	if (!create) {
		lab->state = json_load_file(path, 0, NULL);
		return lab->state ? 0 : -ENOENT;
	}
	if (ctr_mkdir_p(LAB_STATE_ROOT, 0755) < 0)
		return -errno;
	if (mkdir(lab->dir, 0755) < 0)
		return -errno;
	lab->state = json_pack("{s:s,s:s,s:i,s:[]}", "scenario", sc->name, "id", lab->id,
			       "netlabPid", (int)getpid(), "resources");
	if (!lab->state)
		return -ENOMEM;
	return state_save(lab);
}

void lab_close(struct lab *lab)
{
	json_decref(lab->state);
	lab->state = NULL;
}

int lab_record(struct lab *lab, json_t *res)
{
	if (!res)
		return -ENOMEM;
	if (json_array_append_new(json_object_get(lab->state, "resources"), res) < 0)
		return -ENOMEM;
	return state_save(lab);
}

json_t *lab_find(const struct lab *lab, const char *kind, const char *key, const char *value)
{
	json_t *res = json_object_get(lab->state, "resources"), *r;
	size_t i;

	json_array_foreach(res, i, r)
	{
		const char *k = json_string_value(json_object_get(r, "kind"));
		const char *v = json_string_value(json_object_get(r, key));

		if (k && strcmp(k, kind) == 0 && (!value || (v && strcmp(v, value) == 0)))
			return r;
	}
	return NULL;
}

bool lab_check(struct lab *lab, bool ok, const char *fmt, ...)
{
	va_list ap;

	lab->checks++;
	if (!ok)
		lab->failures++;
	printf("  %s  ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return ok;
}

void lab_step(const struct lab *lab, const char *fmt, ...)
{
	va_list ap;

	if (!lab->verbose)
		return;
	fputs("netlab: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- undo, one kind each ------------------------------------------------------------------ */

static int undo_netns(const struct lab *lab, const json_t *r)
{
	const char *name = json_string_value(json_object_get(r, "name"));
	char path[PATH_MAX];
	_cleanup_free_ char *pids = NULL;
	char *const list[] = {"ip", "netns", "pids", (char *)name, NULL};
	char *const del[] = {"ip", "netns", "del", (char *)name, NULL};

	snprintf(path, sizeof(path), "/run/netns/%s", name);
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

static int del_in_host(void *arg)
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
	struct cni_err err = {0};
	const char *conf = json_string_value(json_object_get(r, "conflist"));
	int rc;

	rc = rt_netconf_from_file(conf ? conf : "", &nc, &err);
	if (rc >= 0)
		rc = rt_del(&rt, nc, &a, &err);
	if (rc < 0)
		fprintf(stderr, "netlab: DEL %s %s: %s %s\n", a.container_id, a.ifname, err.msg,
			err.details);
	return rc;
}

/* CNI DEL through the runtime side, in the netns the plugins ran in. */
static int undo_cni(const json_t *r)
{
	const char *host = json_string_value(json_object_get(r, "hostNetns"));
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/run/netns/%s", host ? host : "");
	if (!host || access(path, F_OK) < 0)
		return del_in_host((void *)r); /* the host netns is gone: IPAM/cache only */
	return lab_in_netns(host, del_in_host, (void *)r);
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
	(void)rmdir(LAB_STATE_ROOT); /* only when no other lab is up */
	return 0;
}

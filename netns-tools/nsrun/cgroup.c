/* SPDX-License-Identifier: Apache-2.0 */
/* Creating, filling, joining and removing cgroups on the hierarchies cgroup-layout.c found. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "netns-tools/nsrun/cgroup.h"
#include "common/cleanup.h"

/* The controllers nsrun limits (and accounts, when no limit is asked for). */
static const char *const cg_ctrls[] = {"memory", "cpu", "pids"};

static int write_text(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX * 2];
	_cleanup_close_ int fd = -1;
	size_t n = strlen(val);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, n) != (ssize_t)n)
		return -errno ? -errno : -EIO;
	return 0;
}

static bool file_exists(const char *dir, const char *file)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

static bool limit_wanted(const struct cg_limits *lim, const char *ctrl)
{
	if (!lim)
		return false;
	if (strcmp(ctrl, "memory") == 0)
		return lim->memory != 0;
	if (strcmp(ctrl, "cpu") == 0)
		return lim->cpu_quota_us != 0;
	return lim->pids != 0;
}

static struct cg_dir *dir_for_mount(struct cgroup *cg, const struct cg_mount *m)
{
	struct cg_dir *d;
	char rel[sizeof(cg->rel)];

	memcpy(rel, cg->rel, sizeof(rel));
	for (size_t i = 0; i < cg->n; i++)
		if (strcmp(cg->dirs[i].mount, m->path) == 0)
			return &cg->dirs[i];
	if (cg->n >= CG_MAX_DIRS)
		return NULL;
	d = &cg->dirs[cg->n++];
	memset(d, 0, sizeof(*d));
	d->version = m->version;
	snprintf(d->mount, sizeof(d->mount), "%s", m->path);
	snprintf(d->path, sizeof(d->path), "%s/%s", m->path, rel);
	return d;
}

static int missing_ctrl(const struct cg_layout *l, const char *ctrl, enum cg_mode mode,
			struct cni_err *err)
{
	int v1 = cgroup_layout_find(l, ctrl, CG_MODE_V1);

	if (mode == CG_MODE_V2 && l->unified < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOTSUP,
				   "cgroup v2 requested but no cgroup2 hierarchy is mounted");
	if (mode == CG_MODE_V2)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOTSUP,
				   "the %s controller is not available on cgroup v2 (%s offers: "
				   "%s)%s%s",
				   ctrl, l->m[l->unified].path,
				   l->m[l->unified].ctrls[0] ? l->m[l->unified].ctrls : "none",
				   v1 >= 0 ? "; it is mounted as cgroup v1 at " : "",
				   v1 >= 0 ? l->m[v1].path : "");
	return cni_err_set(err, CNI_ERR_INTERNAL, ENOTSUP,
			   "the %s controller is not available on cgroup %s", ctrl,
			   mode == CG_MODE_V1 ? "v1" : "v1 or v2");
}

static int plan(const struct cg_layout *l, enum cg_mode mode, const struct cg_limits *lim,
		struct cgroup *cg, struct cni_err *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(cg_ctrls); i++) {
		int idx = cgroup_layout_find(l, cg_ctrls[i], mode);
		struct cg_dir *d;

		if (idx < 0 && limit_wanted(lim, cg_ctrls[i]))
			return missing_ctrl(l, cg_ctrls[i], mode, err);
		if (idx < 0)
			continue;
		d = dir_for_mount(cg, &l->m[idx]);
		if (!d)
			return cni_err_set(err, CNI_ERR_INTERNAL, E2BIG, "too many hierarchies");
		if (d->ctrls[0])
			strcat(d->ctrls, ",");
		strcat(d->ctrls, cg_ctrls[i]);
	}
	if (mode != CG_MODE_V1 && l->unified >= 0 && !dir_for_mount(cg, &l->m[l->unified]))
		return cni_err_set(err, CNI_ERR_INTERNAL, E2BIG, "too many hierarchies");
	if (mode == CG_MODE_V2 && l->unified < 0)
		return missing_ctrl(l, "cgroup2", mode, err);
	if (cg->n == 0)
		return cni_err_setd(err, CNI_ERR_INTERNAL, ENOTSUP,
				    "under `ip netns exec` /sys is remounted and hides them: use "
				    "nsrun --cni-netns NAME instead, or --no-cgroup",
				    "no cgroup hierarchy is mounted in this mount namespace");
	return 0;
}

/* mkdir -p of the parent below the mount, then the cgroup itself (EEXIST is a clash). For
 * v2, each level's cgroup.subtree_control gets the controllers the child needs. */
static int make_dir(const struct cgroup *cg, const struct cg_dir *d, struct cni_err *err)
{
	char path[PATH_MAX], *p;
	int r;

	snprintf(path, sizeof(path), "%s/%s", d->mount, cg->rel);
	for (p = path + strlen(d->mount) + 1;; p++) {
		bool last = (p = strchr(p, '/')) == NULL;

		if (!last)
			*p = '\0';
		for (const char *c = d->ctrls; d->version == 2 && *c;) {
			char want[64];
			size_t n = strcspn(c, ",");

			snprintf(want, sizeof(want), "+%.*s", (int)n, c);
			c += n + (c[n] == ',');
			/* The parent of the level being created must delegate the controller. */
			*strrchr(path, '/') = '\0';
			r = write_text(path, "cgroup.subtree_control", want);
			path[strlen(path)] = '/';
			if (r < 0 && r != -EBUSY)
				return cni_err_set(err, CNI_ERR_INTERNAL, -r,
						   "enable %s in %s/cgroup.subtree_control",
						   want + 1, path);
		}
		if (mkdir(path, 0755) < 0 && (errno != EEXIST || last))
			return cni_err_set(err, CNI_ERR_INTERNAL, errno, "create cgroup %s", path);
		if (last)
			return 0;
		*p = '/';
	}
}

static int set_limit(const struct cg_dir *d, const char *file, const char *val, struct cni_err *err)
{
	int r = write_text(d->path, file, val);

	if (r < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, -r, "set %s/%s to %s", d->path, file,
				   val);
	return 0;
}

static int set_limits(const struct cg_dir *d, const struct cg_limits *lim, struct cni_err *err)
{
	char v[64];
	int r = 0;

	if (lim->memory && cgroup_token_in(d->ctrls, "memory")) {
		snprintf(v, sizeof(v), "%" PRIu64, lim->memory);
		r = set_limit(d, d->version == 2 ? "memory.max" : "memory.limit_in_bytes", v, err);
		/* No swap escape: an allocation above the limit must be OOM-killed. */
		if (r >= 0 && d->version == 2 && file_exists(d->path, "memory.swap.max"))
			r = set_limit(d, "memory.swap.max", "0", err);
		if (r >= 0 && d->version == 1 &&
		    file_exists(d->path, "memory.memsw.limit_in_bytes"))
			r = set_limit(d, "memory.memsw.limit_in_bytes", v, err);
	}
	if (r >= 0 && lim->cpu_quota_us && cgroup_token_in(d->ctrls, "cpu")) {
		if (d->version == 2) {
			snprintf(v, sizeof(v), "%" PRIu64 " %" PRIu64, lim->cpu_quota_us,
				 lim->cpu_period_us);
			r = set_limit(d, "cpu.max", v, err);
		} else {
			snprintf(v, sizeof(v), "%" PRIu64, lim->cpu_period_us);
			r = set_limit(d, "cpu.cfs_period_us", v, err);
			snprintf(v, sizeof(v), "%" PRIu64, lim->cpu_quota_us);
			if (r >= 0)
				r = set_limit(d, "cpu.cfs_quota_us", v, err);
		}
	}
	if (r >= 0 && lim->pids && cgroup_token_in(d->ctrls, "pids")) {
		snprintf(v, sizeof(v), "%" PRIu64, lim->pids);
		r = set_limit(d, "pids.max", v, err);
	}
	return r;
}

int cgroup_create(const struct cg_layout *layout, enum cg_mode mode, const char *parent,
		  const char *name, const struct cg_limits *lim, struct cgroup *ret,
		  struct cni_err *err)
{
	struct cg_layout own;
	size_t made = 0;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	if (!parent || !*parent)
		parent = CG_DEFAULT_PARENT;
	if (!name || !*name || strchr(name, '/') || strstr(parent, "..") || parent[0] == '/' ||
	    snprintf(ret->rel, sizeof(ret->rel), "%s/%s", parent, name) >= (int)sizeof(ret->rel))
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "invalid cgroup name '%s/%s'",
				   parent, name ? name : "");
	snprintf(ret->parent, sizeof(ret->parent), "%s", parent);
	if (!layout) {
		r = cgroup_layout_read(NULL, &own, err);
		layout = &own;
	}
	if (r >= 0)
		r = plan(layout, mode, lim, ret, err);
	/* made counts the directories this call created: a failed one is not among them. */
	while (r >= 0 && made < ret->n) {
		r = make_dir(ret, &ret->dirs[made], err);
		if (r >= 0)
			made++;
	}
	for (size_t i = 0; r >= 0 && lim && i < ret->n; i++)
		r = set_limits(&ret->dirs[i], lim, err);
	if (r < 0) {
		/* Undo only the directories this call made (a clash keeps the other's). */
		size_t keep = ret->n;

		ret->n = made;
		cgroup_destroy(ret, NULL);
		ret->n = keep;
		memset(ret, 0, sizeof(*ret));
	}
	return r;
}

int cgroup_attach(const struct cgroup *cg, pid_t pid, struct cni_err *err)
{
	char v[32];

	snprintf(v, sizeof(v), "%d", (int)pid);
	for (size_t i = 0; i < cg->n; i++) {
		int r = write_text(cg->dirs[i].path, "cgroup.procs", v);

		if (r < 0)
			return cni_err_set(err, CNI_ERR_INTERNAL, -r, "move %d into %s", (int)pid,
					   cg->dirs[i].path);
	}
	return 0;
}

/* SIGKILL every process listed in cgroup.procs; returns how many were listed. */
static int kill_procs(const char *dir)
{
	char path[PATH_MAX + 16], line[32];
	_cleanup_fclose_ FILE *f = NULL;
	int n = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		long pid = strtol(line, NULL, 10);

		if (pid > 1 && kill((pid_t)pid, SIGKILL) == 0)
			n++;
	}
	return n;
}

static int remove_dir(const char *path)
{
	struct timespec ts = {0, 10 * 1000 * 1000};

	/* A dying task keeps its cgroup busy for a moment: retry for up to ~3 s. */
	for (int i = 0; i < 300; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		kill_procs(path);
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

int cgroup_destroy(const struct cgroup *cg, struct cni_err *err)
{
	char parent[PATH_MAX];
	int first = 0;

	for (size_t i = cg->n; i-- > 0;) {
		const struct cg_dir *d = &cg->dirs[i];
		int r;

		kill_procs(d->path);
		r = remove_dir(d->path);
		if (r < 0 && !first)
			first = cni_err_set(err, CNI_ERR_INTERNAL, -r, "remove cgroup %s", d->path);
		/* The shared parent goes too once empty (another user keeps it busy: fine). */
		snprintf(parent, sizeof(parent), "%s/%s", d->mount, cg->parent);
		while (strlen(parent) > strlen(d->mount) && rmdir(parent) == 0)
			*strrchr(parent, '/') = '\0';
	}
	return first;
}

int cgroup_read(const struct cgroup *cg, int version, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX * 2];

	for (size_t i = 0; i < cg->n; i++) {
		if (version && cg->dirs[i].version != version)
			continue;
		snprintf(path, sizeof(path), "%s/%s", cg->dirs[i].path, file);
		if (cg_read_text(path, buf, len) >= 0)
			return 0;
	}
	return -ENOENT;
}

int cgroup_read_key(const struct cgroup *cg, const char *file, const char *key, uint64_t *ret)
{
	char buf[4096], *save = NULL;
	size_t n = strlen(key);
	int r = cgroup_read(cg, 0, file, buf, sizeof(buf));

	if (r < 0)
		return r;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, key, n) == 0 && l[n] == ' ') {
			*ret = strtoull(l + n + 1, NULL, 10);
			return 0;
		}
	return -ENOENT;
}

const struct cg_dir *cgroup_dir_for(const struct cgroup *cg, const char *ctrl)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cgroup_token_in(cg->dirs[i].ctrls, ctrl))
			return &cg->dirs[i];
	return NULL;
}

int cgroup_kill(const struct cgroup *cg)
{
	int n = 0;

	for (size_t i = 0; i < cg->n; i++)
		n += kill_procs(cg->dirs[i].path);
	return n;
}

json_t *cgroup_to_json(const struct cgroup *cg)
{
	json_t *dirs = json_array();

	for (size_t i = 0; dirs && i < cg->n; i++)
		json_array_append_new(dirs, json_pack("{s:i,s:s,s:s,s:s}", "version",
						      cg->dirs[i].version, "path", cg->dirs[i].path,
						      "mount", cg->dirs[i].mount, "controllers",
						      cg->dirs[i].ctrls));
	return json_pack("{s:s,s:s,s:o}", "rel", cg->rel, "parent", cg->parent, "dirs", dirs);
}

static void copy_member(char *buf, size_t len, const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	snprintf(buf, len, "%s", v ? v : "");
}

int cgroup_from_json(const json_t *j, struct cgroup *ret)
{
	const json_t *d;
	size_t i;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(j))
		return -EINVAL;
	copy_member(ret->rel, sizeof(ret->rel), j, "rel");
	copy_member(ret->parent, sizeof(ret->parent), j, "parent");
	json_array_foreach(json_object_get(j, "dirs"), i, d)
	{
		struct cg_dir *cd = &ret->dirs[ret->n];

		if (ret->n >= CG_MAX_DIRS)
			return -E2BIG;
		cd->version = (int)json_integer_value(json_object_get(d, "version"));
		copy_member(cd->path, sizeof(cd->path), d, "path");
		copy_member(cd->mount, sizeof(cd->mount), d, "mount");
		copy_member(cd->ctrls, sizeof(cd->ctrls), d, "controllers");
		/* Only directories below their hierarchy's mount point are ever touched. */
		if (!cd->path[0] || !cd->mount[0] ||
		    strncmp(cd->path, cd->mount, strlen(cd->mount)) != 0 ||
		    cd->path[strlen(cd->mount)] != '/' || strstr(cd->path, ".."))
			return -EINVAL;
		ret->n++;
	}
	return 0;
}

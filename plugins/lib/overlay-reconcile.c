/* SPDX-License-Identifier: Apache-2.0 */
/* The reconcile of node-level state (see overlay.h): digest fast path, lock, applied set. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/lock.h"
#include "common/log.h"
#include "plugins/lib/overlay.h"

#define APPLIED_MAX (64u << 20) /* applied.json of any cluster weft serves */

struct applied {
	struct peers peers, pending;
	bool has_pending; /* a reconcile was left half done */
	char params[512];
};

static void applied_free(struct applied *s)
{
	peers_free(&s->peers);
	peers_free(&s->pending);
}

static void read_digest(const char *dir, char buf[17])
{
	char path[PATH_MAX + 8];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/digest", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, 16);
	buf[n == 16 ? 16 : 0] = '\0';
}

static int state_write(const char *dir, const char *name, const char *data, struct cni_err *err)
{
	char path[PATH_MAX + 32];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	r = fs_write_atomic(path, data, strlen(data), 0600);
	return r < 0 ? cni_err_set(err, CNI_ERR_IO, -r, "write \"%s\"", path) : 0;
}

static int applied_write(const char *dir, const struct peers *done, const struct peers *pending,
			 const char *params, struct cni_err *err)
{
	_cleanup_json_ json_t *j =
		json_pack("{s:s,s:o}", "params", params, "peers", peers_to_json(done));
	_cleanup_free_ char *s = NULL;

	if (j && pending)
		json_object_set_new(j, "pending", peers_to_json(pending));
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!s)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "applied peer set");
	return state_write(dir, "applied.json", s, err);
}

/* 1: read; 0: no file; -EINVAL: unreadable (s is then an empty set: nothing known). */
static int applied_read(const char *dir, struct applied *s)
{
	char path[PATH_MAX + 16];
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;
	const char *params;

	snprintf(path, sizeof(path), "%s/applied.json", dir);
	r = fs_read_file(path, APPLIED_MAX, &buf, &len);
	if (r == -ENOENT)
		return 0;
	j = r < 0 ? NULL : json_loadb(buf, len, 0, NULL);
	params = json_string_value(json_object_get(j, "params"));
	if (!params || peers_parse(json_object_get(j, "peers"), path, &s->peers, NULL) < 0) {
		log_warn("%s: unreadable, ignored", path);
		return -EINVAL;
	}
	snprintf(s->params, sizeof(s->params), "%s", params);
	s->has_pending = json_object_get(j, "pending") != NULL;
	if (s->has_pending)
		(void)peers_parse(json_object_get(j, "pending"), path, &s->pending, NULL);
	return 1;
}

static bool has_exact(const struct peers *set, const struct peer *p)
{
	long i = peers_find(set, p->name);

	return i >= 0 && peers_eq(&set->v[i], p);
}

static int remove_stale(const struct peers *old, const struct peers *want, bool all,
			const struct overlay_ops *ops, struct cni_err *err)
{
	int r;

	for (size_t i = 0; i < old->n; i++) {
		if (!all && has_exact(want, &old->v[i]))
			continue;
		r = ops->peer_del(ops->ctx, &old->v[i], err);
		if (r < 0)
			return cni_err_wrap(err, "remove node \"%s\"", old->v[i].name);
	}
	return 0;
}

/* What a reconcile may leave half made: the peers it adds or changes (all of them when the
 * params changed). Written as "pending" before it starts; the next one removes those it does
 * not want. Borrowed entries: free only ret->v. */
static int pending_of(const struct applied *s, const struct overlay_conf *o, bool all,
		      struct peers *ret, struct cni_err *err)
{
	ret->v = calloc(o->peers.n ? o->peers.n : 1, sizeof(*ret->v));
	ret->n = 0;
	if (!ret->v)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "pending peers");
	for (size_t i = 0; i < o->peers.n; i++)
		if (all || !has_exact(&s->peers, &o->peers.v[i]))
			ret->v[ret->n++] = o->peers.v[i];
	return 0;
}

/* known: applied.json was read; without it, what an earlier reconcile made is unknown and
 * ops->sweep (when there is one) removes what it safely can. */
static int apply(const struct overlay_conf *o, const struct applied *s, bool known,
		 const char *params, const struct overlay_ops *ops, struct cni_err *err)
{
	bool all = strcmp(s->params, params) != 0;
	struct peers pending = {0};
	int r;

	r = ops->prepare ? ops->prepare(ops->ctx, &o->peers, err) : 0;
	if (r >= 0)
		r = pending_of(s, o, all, &pending, err);
	if (r >= 0)
		r = applied_write(o->state_dir, &s->peers, &pending, s->params, err);
	free(pending.v);
	if (r >= 0)
		r = remove_stale(&s->peers, &o->peers, all, ops, err);
	if (r >= 0)
		r = remove_stale(&s->pending, &o->peers, all, ops, err);
	if (r >= 0 && !known && ops->sweep)
		r = ops->sweep(ops->ctx, &o->peers, err);
	for (size_t i = 0; r >= 0 && i < o->peers.n; i++) {
		if (!all && has_exact(&s->peers, &o->peers.v[i]))
			continue; /* unchanged: untouched */
		r = ops->peer_add(ops->ctx, &o->peers.v[i], err);
		if (r < 0)
			r = cni_err_wrap(err, "add node \"%s\"", o->peers.v[i].name);
	}
	if (r >= 0)
		r = applied_write(o->state_dir, &o->peers, NULL, params, err);
	return r;
}

int overlay_reconcile(const struct overlay_conf *o, const char *params,
		      const struct overlay_ops *ops, struct cni_err *err)
{
	struct applied s = {0};
	_cleanup_close_ int lock = -1;
	char want[17], have[17], path[PATH_MAX + 8];
	int r;

	peers_digest(&o->peers, params, want);
	read_digest(o->state_dir, have);
	if (strcmp(want, have) == 0)
		return 0;
	r = fs_mkdir_p(o->state_dir, 0700);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "create \"%s\"", o->state_dir);
	snprintf(path, sizeof(path), "%s/lock", o->state_dir);
	lock = lock_acquire(path, -1, err);
	if (lock < 0)
		return cni_err_wrap(err, "node state lock");
	read_digest(o->state_dir, have); /* a concurrent ADD may have done it meanwhile */
	if (strcmp(want, have) == 0)
		return 0;
	r = applied_read(o->state_dir, &s);
	r = apply(o, &s, r > 0, params, ops, err);
	applied_free(&s);
	if (r >= 0)
		r = state_write(o->state_dir, "digest", want, err);
	return r < 0 ? r : 1;
}

static int check_applied(const struct applied *s, const char *params, const struct overlay_ops *ops,
			 struct cni_err *err)
{
	int r;

	if (s->has_pending)
		return cni_err_set(err, CNI_ERR_INTERNAL, 0,
				   "node state: a reconcile of the peers was left half done; the "
				   "next ADD completes it");
	if (params && strcmp(s->params, params) != 0)
		return cni_err_set(
			err, CNI_ERR_INTERNAL, 0,
			"node state: the peers were applied with \"%s\", the node now has "
			"\"%s\"",
			s->params, params);
	for (size_t i = 0; i < s->peers.n; i++) {
		r = ops->peer_check(ops->ctx, &s->peers.v[i], err);
		if (r < 0)
			return cni_err_wrap(err, "node \"%s\"", s->peers.v[i].name);
	}
	return 0;
}

int overlay_reconcile_check(const struct overlay_conf *o, const char *params,
			    const struct overlay_ops *ops, struct cni_err *err)
{
	struct applied s = {0};
	int r = applied_read(o->state_dir, &s);

	if (r == 0)
		log_warn("%s/applied.json is missing (never reconciled, or lost): node state not "
			 "checked",
			 o->state_dir);
	if (r < 0)
		r = cni_err_set(err, CNI_ERR_INTERNAL, EINVAL,
				"node state: \"%s/applied.json\" is unreadable", o->state_dir);
	if (r > 0)
		r = check_applied(&s, params, ops, err);
	applied_free(&s);
	return r < 0 ? r : 0;
}

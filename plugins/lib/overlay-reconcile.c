/* SPDX-License-Identifier: Apache-2.0 */
/* The reconcile of node-level state (see overlay.h): digest fast path, lock, and the applied set,
 * kept as a base file and a journal of records appended to it.
 *
 * applied.json  {"gen": G, "params": P, "peers": [...]}: the set as of its writing.
 * applied.log   one JSON record per line, each {"gen": G, ...}:
 *                 "pending": [...]  a reconcile is about to make entries of these peers;
 *                 "params", "del", "put"  it finished: the set is the one before minus del,
 *                                         plus put (by name), applied with params; nothing
 *                                         pending any more.
 * Only the records with the base's gen count (0 without a base): a new base (gen + 1, after
 * many records or a large change) makes the old ones void before the log is removed, so a kill
 * at any point leaves a base and log that read back to what was true. A torn last line (a power
 * cut; stateDir is under /run by default) is skipped. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/array.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/lock.h"
#include "common/log.h"
#include "plugins/lib/overlay.h"

#define APPLIED_MAX	(64u << 20) /* applied.json or applied.log of any cluster weft serves */
#define LOG_MAX_RECORDS 128	    /* then the next reconcile writes a new base */
#define CACHE_PATCH_MAX 64	    /* changes patched into a cached set; more: a copy */

struct applied {
	struct peers peers;   /* sorted by name */
	struct peers pending; /* any order; a name may be there twice */
	bool open;	      /* a reconcile was left half done */
	char params[512];
	unsigned long long gen; /* the base's; records of another gen are void */
	size_t records, logged; /* records of this gen, and the peers they list */
};

struct overlay_cache {
	struct applied s;
	bool valid;
	struct stat base, log; /* after the last write; log.st_ino 0: no log */
};

static void applied_free(struct applied *s)
{
	peers_free(&s->peers);
	peers_free(&s->pending);
}

struct overlay_cache *overlay_cache_new(void)
{
	return calloc(1, sizeof(struct overlay_cache));
}

void overlay_cache_free(struct overlay_cache *c)
{
	if (c)
		applied_free(&c->s);
	free(c);
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

static int state_write(const char *dir, const char *name, const char *data, size_t len,
		       struct cni_err *err)
{
	char path[PATH_MAX + 32];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	r = fs_write_atomic_nosync(path, data, len,
				   0600); /* /run: gone at a reboot with the entries */
	return r < 0 ? cni_err_set(err, CNI_ERR_IO, -r, "write \"%s\"", path) : 0;
}

/* ---- reading ---- */

/* Appends the peers of add to *set. */
static void peers_append_set(struct peers *set, const struct peers *add)
{
	struct peer *v = realloc(set->v, (set->n + add->n + 1) * sizeof(*v));

	if (!v)
		return;
	memcpy(v + set->n, add->v, add->n * sizeof(*v));
	set->v = v;
	set->n += add->n;
}

/* Appends the peers of list (parsed; an invalid list is skipped whole) to *set. */
static void peers_append(struct peers *set, const json_t *list, const char *path)
{
	struct peers p = {0};

	if (peers_parse(list, path, &p, NULL) < 0)
		log_warn("%s: a list of peers is unreadable, ignored", path);
	else
		peers_append_set(set, &p);
	peers_free(&p);
}

/* The set minus the names of del, with put in (replacing the peers of those names). */
static int peers_patch(struct peers *set, const struct peers *del, const struct peers *put)
{
	for (size_t i = 0; i < del->n; i++)
		if (peers_find(put, del->v[i].name) < 0) /* changed ones are replaced in place */
			peers_remove(set, del->v[i].name);
	for (size_t i = 0; i < put->n; i++)
		if (peers_insert(set, &put->v[i]) < 0)
			return -ENOMEM;
	return 0;
}

static void replay_done(struct applied *s, const json_t *rec, const char *path)
{
	struct peers del = {0}, put = {0};
	const char *params = json_string_value(json_object_get(rec, "params"));

	if (!params || peers_parse(json_object_get(rec, "del"), path, &del, NULL) < 0 ||
	    peers_parse(json_object_get(rec, "put"), path, &put, NULL) < 0) {
		log_warn("%s: a record is unreadable, ignored", path);
	} else {
		if (peers_patch(&s->peers, &del, &put) < 0)
			log_warn("%s: out of memory replaying a record", path);
		snprintf(s->params, sizeof(s->params), "%s", params);
		peers_free(&s->pending);
		s->open = false;
	}
	s->logged += del.n + put.n;
	peers_free(&del);
	peers_free(&put);
}

static void replay(struct applied *s, const char *line, size_t len, const char *path)
{
	_cleanup_json_ json_t *rec = json_loadb(line, len, 0, NULL);
	const json_t *pending = json_object_get(rec, "pending");

	if (!rec) {
		log_warn("%s: a torn record, ignored", path);
		return;
	}
	if ((unsigned long long)json_integer_value(json_object_get(rec, "gen")) != s->gen)
		return; /* before the base: in it already */
	s->records++;
	if (pending) {
		s->open = true;
		s->logged += json_array_size(pending);
		peers_append(&s->pending, pending, path);
	} else {
		replay_done(s, rec, path);
	}
}

static void log_read(const char *dir, struct applied *s)
{
	char path[PATH_MAX + 16];
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/applied.log", dir);
	r = fs_read_file(path, APPLIED_MAX, &buf, &len);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_warn("%s: unreadable (%s), ignored", path, strerror(-r));
		return;
	}
	for (char *p = buf, *nl; p < buf + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(buf + len - p));
		if (!nl)
			nl = buf + len;
		if (nl > p)
			replay(s, p, (size_t)(nl - p), path);
	}
}

/* 1: read; 0: no base; -EINVAL: an unreadable base (s is then an empty set: nothing known).
 * The log's records of the base's gen are replayed on top in every case. */
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
	if (r != -ENOENT) {
		j = r < 0 ? NULL : json_loadb(buf, len, 0, NULL);
		params = json_string_value(json_object_get(j, "params"));
		if (!params ||
		    peers_parse(json_object_get(j, "peers"), path, &s->peers, NULL) < 0) {
			log_warn("%s: unreadable, ignored", path);
			r = -EINVAL;
		} else {
			snprintf(s->params, sizeof(s->params), "%s", params);
			s->gen = (unsigned long long)json_integer_value(json_object_get(j, "gen"));
			s->open = json_object_get(j, "pending") != NULL; /* before the log */
			if (s->open)
				peers_append(&s->pending, json_object_get(j, "pending"), path);
			r = 1;
		}
	}
	log_read(dir, s);
	if (r < 0 && s->peers.n) { /* records on top of no base: what they made may exist */
		peers_append_set(&s->pending, &s->peers);
		peers_free(&s->peers);
	}
	return r == -ENOENT ? 0 : r;
}

/* ---- the cache of a long-lived caller ---- */

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void state_stat(const char *dir, const char *name, struct stat *st)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, st) < 0)
		memset(st, 0, sizeof(*st));
}

/* The cache holds what the files say: no one but its owner wrote them since. */
static bool cache_current(const struct overlay_cache *c, const char *dir)
{
	struct stat b, l;

	if (!c || !c->valid)
		return false;
	state_stat(dir, "applied.json", &b);
	state_stat(dir, "applied.log", &l);
	return b.st_ino && same_file(&b, &c->base) && same_file(&l, &c->log);
}

static void cache_note(struct overlay_cache *c, const char *dir)
{
	state_stat(dir, "applied.json", &c->base);
	state_stat(dir, "applied.log", &c->log);
	c->valid = c->base.st_ino != 0;
}

/* ---- writing ---- */

/* {"gen":G[,"params":P][,"<ka>":[a...]][,"<kb>":[b...]]}\n; NULL when out of memory. */
static char *record_text(unsigned long long gen, const char *params, const char *ka,
			 const struct peers *a, const char *kb, const struct peers *b, size_t *len)
{
	_cleanup_json_ json_t *pj = params ? json_string(params) : NULL;
	_cleanup_free_ char *ps = pj ? json_dumps(pj, JSON_ENCODE_ANY) : NULL;
	size_t n = (a ? a->n : 0) + (b ? b->n : 0);
	char *t = malloc((n + 2) * PEER_JSON_MAX + (ps ? strlen(ps) : 0) + 128), *d;

	if (!t || (params && !ps)) {
		free(t);
		return NULL;
	}
	d = t + sprintf(t, "{\"gen\":%llu", gen);
	if (ps)
		d += sprintf(d, ",\"params\":%s", ps);
	if (a)
		d = peers_json_write(d + sprintf(d, ",\"%s\":", ka), a, NULL);
	if (b)
		d = peers_json_write(d + sprintf(d, ",\"%s\":", kb), b, NULL);
	d += sprintf(d, "}\n");
	*len = (size_t)(d - t);
	return t;
}

static int log_append(const char *dir, const char *text, size_t len, struct cni_err *err)
{
	char path[PATH_MAX + 16];
	_cleanup_close_ int fd = -1;
	int r;

	snprintf(path, sizeof(path), "%s/applied.log", dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	r = fd < 0 ? -errno : fs_write_all(fd, text, len);
	return r < 0 ? cni_err_set(err, CNI_ERR_IO, -r, "write \"%s\"", path) : 0;
}

static int record_pending(const char *dir, struct applied *s, const struct peers *put,
			  struct cni_err *err)
{
	size_t len;
	_cleanup_free_ char *t = record_text(s->gen, NULL, "pending", put, NULL, NULL, &len);

	if (!t)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "pending peers");
	s->records++;
	s->logged += put->n;
	return log_append(dir, t, len, err);
}

/* The set is now want: a record, or a new base (and no log) when the log has grown enough
 * that reading it back would cost more than the base. */
static int record_done(const char *dir, struct applied *s, bool base, const struct peers *want,
		       const struct peers *del, const struct peers *put, const char *params,
		       struct cni_err *err)
{
	char path[PATH_MAX + 16];
	_cleanup_free_ char *t = NULL;
	size_t len;
	int r;

	base = base || s->records >= LOG_MAX_RECORDS ||
	       s->logged + del->n + put->n > want->n / 2 + 64;
	if (!base) {
		t = record_text(s->gen, params, "del", del, "put", put, &len);
		s->records++;
		s->logged += del->n + put->n;
		return t ? log_append(dir, t, len, err)
			 : cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "applied peer set");
	}
	t = record_text(s->gen + 1, params, "peers", want, NULL, NULL, &len);
	if (!t)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "applied peer set");
	r = state_write(dir, "applied.json", t, len - 1, err);
	if (r < 0)
		return r;
	s->gen++;
	s->records = s->logged = 0;
	snprintf(path, sizeof(path), "%s/applied.log", dir);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("remove %s: %m (its records are void)", path);
	return 0;
}

static bool has_exact(const struct peers *set, const struct peer *p)
{
	long i = peers_find(set, p->name);

	return i >= 0 && peers_eq(&set->v[i], p);
}

/* What changes from old to want (both sorted by name): the peers to remove (changed or gone)
 * and those to add (changed or new); every one when all. Borrowed entries: free only ->v. */
static int diff(const struct peers *old, const struct peers *want, bool all, struct peers *del,
		struct peers *put, struct cni_err *err)
{
	size_t i = 0, j = 0, cd = 0, cp = 0;

	while (i < old->n || j < want->n) {
		int c = i == old->n    ? 1
			: j == want->n ? -1
				       : strcmp(old->v[i].name, want->v[j].name);
		bool same = c == 0 && !all && peers_eq(&old->v[i], &want->v[j]);

		if (c <= 0 && !same) {
			if (array_room((void **)&del->v, &cd, del->n + 1, sizeof(*del->v)) < 0)
				return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "peers");
			del->v[del->n++] = old->v[i];
		}
		if (c >= 0 && !same) {
			if (array_room((void **)&put->v, &cp, put->n + 1, sizeof(*put->v)) < 0)
				return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "peers");
			put->v[put->n++] = want->v[j];
		}
		i += c <= 0;
		j += c >= 0;
	}
	return 0;
}

static int del_all(const struct peers *set, const struct overlay_ops *ops, struct cni_err *err)
{
	for (size_t i = 0; i < set->n; i++)
		if (ops->peer_del(ops->ctx, &set->v[i], err) < 0)
			return cni_err_wrap(err, "remove node \"%s\"", set->v[i].name);
	return 0;
}

static int add_all(const struct peers *set, const struct overlay_ops *ops, struct cni_err *err)
{
	for (size_t i = 0; i < set->n; i++)
		if (ops->peer_add(ops->ctx, &set->v[i], err) < 0)
			return cni_err_wrap(err, "add node \"%s\"", set->v[i].name);
	return 0;
}

/* The kernel side, between the pending record and the done one: what changed or went away
 * goes, then what a reconcile left half made and want does not have (all of it when the
 * params changed), then (when nothing is known of earlier reconciles) ops->sweep, then what
 * is new or changed. */
static int change(const struct overlay_conf *o, const struct applied *s, bool all, bool known,
		  const struct peers *del, const struct peers *put, const struct overlay_ops *ops,
		  struct cni_err *err)
{
	int r = del_all(del, ops, err);

	for (size_t i = 0; r >= 0 && i < s->pending.n; i++)
		if (all || !has_exact(&o->peers, &s->pending.v[i]))
			r = ops->peer_del(ops->ctx, &s->pending.v[i], err) < 0
				    ? cni_err_wrap(err, "remove node \"%s\"", s->pending.v[i].name)
				    : 0;
	if (r >= 0 && !known && ops->sweep)
		r = ops->sweep(ops->ctx, &o->peers, err);
	return r < 0 ? r : add_all(put, ops, err);
}

/* known: a base was read; without one, what an earlier reconcile made is unknown. */
static int apply(const struct overlay_conf *o, struct applied *s, bool known, const char *params,
		 const struct overlay_ops *ops, struct peers *del, struct peers *put,
		 struct cni_err *err)
{
	bool all = strcmp(s->params, params) != 0;
	int r;

	r = ops->prepare ? ops->prepare(ops->ctx, &o->peers, err) : 0;
	if (r >= 0)
		r = diff(&s->peers, &o->peers, all, del, put, err);
	if (r >= 0 && (del->n || put->n))
		r = record_pending(o->state_dir, s, put, err);
	if (r >= 0)
		r = change(o, s, all, known, del, put, ops, err);
	if (r >= 0)
		r = record_done(o->state_dir, s, !known || all, &o->peers, del, put, params, err);
	return r;
}

/* After a reconcile, the caller's cache holds the set now applied: patched by the few peers
 * that changed, or a copy of the set. */
static int cache_keep(struct overlay_cache *c, const struct overlay_conf *o, const char *params,
		      const struct peers *del, const struct peers *put)
{
	struct applied *s = &c->s;

	peers_free(&s->pending);
	s->open = false;
	snprintf(s->params, sizeof(s->params), "%s", params);
	if ((del->n + put->n <= CACHE_PATCH_MAX ? peers_patch(&s->peers, del, put)
						: peers_copy(&o->peers, &s->peers)) < 0)
		return -ENOMEM;
	cache_note(c, o->state_dir);
	return 0;
}

static int locked(const struct overlay_conf *o, const char *params, const struct overlay_ops *ops,
		  struct cni_err *err)
{
	struct overlay_cache *c = o->cache;
	struct applied own = {0}, *s = c ? &c->s : &own;
	struct peers del = {0}, put = {0}; /* borrowed entries */
	bool known = true;
	int r;

	if (!cache_current(c, o->state_dir)) {
		applied_free(s);
		*s = (struct applied){0};
		known = applied_read(o->state_dir, s) > 0;
	}
	if (c)
		c->valid = false;
	r = apply(o, s, known, params, ops, &del, &put, err);
	if (r >= 0 && c && cache_keep(c, o, params, &del, &put) < 0)
		c->valid = false;
	applied_free(&own);
	free(del.v);
	free(put.v);
	return r;
}

int overlay_reconcile(const struct overlay_conf *o, const char *params,
		      const struct overlay_ops *ops, struct cni_err *err)
{
	_cleanup_close_ int lock = -1;
	char want[17], have[17], path[PATH_MAX + 8];
	int r;

	peers_digest(&o->peers, NULL, params, want);
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
	r = locked(o, params, ops, err);
	if (r >= 0)
		r = state_write(o->state_dir, "digest", want, 16, err);
	return r < 0 ? r : 1;
}

static int check_applied(const struct applied *s, const char *params, const struct overlay_ops *ops,
			 struct cni_err *err)
{
	int r;

	if (s->open)
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

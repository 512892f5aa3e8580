/* SPDX-License-Identifier: Apache-2.0 */
/* Peer derivation and hijack refusal (see peerset.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/peerset.h"
#include "common/cleanup.h"
#include "common/log.h"

static void reason(json_t *reasons, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reason(json_t *reasons, const char *name, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	if (!reasons || json_object_get(reasons, name))
		return; /* the first reason found stays */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_set_new(reasons, name, json_string(buf));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct peer *)a)->name, ((const struct peer *)b)->name);
}

json_t *peerset_node_compact(const json_t *node)
{
	char ip[INET6_ADDRSTRLEN], cidr[INET_PREFIX_STRLEN];
	struct peer p = {0};
	struct cni_err e = {0};
	int r = peers_parse_node(node, "Node", 0, &p, &e);

	if (r < 0)
		return json_sprintf("E\t%s", e.msg);
	if (r == 0)
		return json_string("W");
	return json_sprintf("P\t%s\t%s\t%s", inet_addr_fmt(&p.node_ip, ip, sizeof(ip)),
			    inet_prefix_fmt(&p.pod_cidr, cidr, sizeof(cidr)), p.name);
}

/* One cached entry: a compact string (peerset_node_compact) or a whole Node object. 1: a
 * peer; 0: not routable yet; < 0: refused (e.msg says why). */
static int parse_entry(const json_t *node, size_t i, struct peer *p, struct cni_err *e)
{
	const char *s = json_string_value(node);
	char ip[INET6_ADDRSTRLEN], cidr[INET_PREFIX_STRLEN];
	int n = 0;

	if (!s)
		return peers_parse_node(node, "Node", i, p, e);
	if (s[0] == 'W')
		return 0;
	if (s[0] == 'E')
		return cni_err_set(e, CNI_ERR_CONFIG, EINVAL, "%s", s + 2);
	if (sscanf(s, "P\t%45[^\t]\t%49[^\t]\t%n", ip, cidr, &n) != 2 || !n ||
	    strlen(s + n) > PEER_NAME_MAX || inet_addr_parse(ip, &p->node_ip) < 0 ||
	    inet_prefix_parse(cidr, &p->pod_cidr) < 0)
		return cni_err_set(e, CNI_ERR_INTERNAL, EINVAL, "bad cache entry \"%s\"", s);
	snprintf(p->name, sizeof(p->name), "%s", s + n);
	return 1;
}

int peerset_parse(const json_t *nodes, struct peers *ret, json_t *reasons, struct cni_err *err)
{
	size_t n = json_object_size(nodes), i = 0;
	struct peer *v = calloc(n ? n : 1, sizeof(*v));
	const char *key;
	json_t *node;

	if (!v)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "peers");
	peers_free(ret);
	json_object_foreach((json_t *)nodes, key, node)
	{
		struct cni_err e = {0};
		int r = parse_entry(node, i, &v[i], &e);

		if (r > 0)
			i++;
		else if (r < 0)
			reason(reasons, key, "%s", e.msg);
	}
	qsort(v, i, sizeof(*v), name_cmp);
	ret->v = v;
	ret->n = i;
	return 0;
}

int peerset_patch(struct peers *all, json_t *why, const json_t *nodes, const char *key,
		  struct cni_err *err)
{
	const json_t *entry = json_object_get(nodes, key);
	struct peer p = {0};
	struct cni_err e = {0};
	int r;

	json_object_del(why, key);
	r = entry ? parse_entry(entry, 0, &p, &e) : 0;
	if (r <= 0)
		peers_remove(all, key);
	if (r < 0)
		reason(why, key, "%s", e.msg);
	if (r > 0 && peers_insert(all, &p) < 0) /* a Node's key is its name: in its place */
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "peers");
	return 0;
}

/* The first reason a node is not to be routed to, judged alone against this node. */
static bool alone(const struct peer *p, const struct inet_prefix *host, size_t n_host,
		  json_t *reasons)
{
	char c[INET_PREFIX_STRLEN], a[INET_PREFIX_STRLEN];

	if (p->pod_cidr.len == 0) {
		reason(reasons, p->name, "spec.podCIDR %s is /0 (every address)",
		       inet_prefix_fmt(&p->pod_cidr, c, sizeof(c)));
		return true;
	}
	if (p->pod_cidr.addr.family != p->node_ip.family) {
		reason(reasons, p->name,
		       "status.addresses InternalIP %s is not of spec.podCIDR %s's family",
		       inet_addr_fmt(&p->node_ip, a, sizeof(a)),
		       inet_prefix_fmt(&p->pod_cidr, c, sizeof(c)));
		return true;
	}
	for (size_t i = 0; i < n_host; i++) {
		if (inet_addr_eq(&p->node_ip, &host[i].addr)) {
			reason(reasons, p->name,
			       "status.addresses InternalIP %s is an address of this node",
			       inet_addr_fmt(&p->node_ip, a, sizeof(a)));
			return true;
		}
		if (inet_prefix_overlaps(&p->pod_cidr, &host[i])) {
			reason(reasons, p->name,
			       "spec.podCIDR %s overlaps this node's address %s (or its subnet)",
			       inet_prefix_fmt(&p->pod_cidr, c, sizeof(c)),
			       inet_prefix_fmt(&host[i], a, sizeof(a)));
			return true;
		}
	}
	return false;
}

enum clash_kind { CLASH_IP, CLASH_CIDR };

/* me's reason for a clash with other: its own value named, and the other node. */
static void clash_reason(json_t *reasons, const struct peer *me, const struct peer *other,
			 const char *self, enum clash_kind kind)
{
	char v[INET_PREFIX_STRLEN];

	reason(reasons, me->name, "%s %s clashes with node \"%s\"%s",
	       kind == CLASH_IP ? "status.addresses InternalIP" : "spec.podCIDR",
	       kind == CLASH_IP ? inet_addr_fmt(&me->node_ip, v, sizeof(v))
				: inet_prefix_fmt(&me->pod_cidr, v, sizeof(v)),
	       other->name, self && strcmp(other->name, self) == 0 ? " (this node)" : "");
}

static bool is_self(const struct peer *p, const char *self)
{
	return self && strcmp(p->name, self) == 0;
}

/* x and y clash: the one that is not self is marked (both when neither is). */
static void clash(const struct peer *x, const struct peer *y, const char *self, bool *bad,
		  const struct peer *base, json_t *reasons, enum clash_kind kind)
{
	const struct peer *pair[2] = {x, y};

	for (int k = 0; k < 2; k++) {
		if (is_self(pair[k], self))
			continue;
		bad[pair[k] - base] = true;
		clash_reason(reasons, pair[k], pair[1 - k], self, kind);
	}
}

/* The clash checks without sorting: a table of the candidates' node IPs and one of their pod
 * CIDRs (network, length), open addressing over candidate indexes; a pod CIDR overlaps another
 * exactly when the two are the same or one is the other's network at a shorter length, so each
 * is looked up at the lengths present below its own. */
struct slot {
	uint64_t h; /* the key's hash: the candidate is read only when it matches */
	int32_t at; /* candidate index, -1: empty */
};

struct judge {
	const struct peer **s; /* the candidates */
	size_t n;
	const char *self;
	bool *bad;
	const struct peer *base;
	json_t *reasons;
	struct slot *t; /* the table */
	size_t mask;
};

/* The network of a at length len: a table key. */
static struct inet_prefix key_of(const struct inet_addr *a, unsigned len)
{
	struct inet_prefix k = {.addr = *a, .len = (uint8_t)len};

	inet_prefix_network(&k, &k);
	return k;
}

static struct inet_prefix ip_key(const struct peer *p)
{
	return key_of(&p->node_ip, (unsigned)inet_addr_bits(&p->node_ip));
}

static struct inet_prefix cidr_key(const struct peer *p)
{
	return key_of(&p->pod_cidr.addr, p->pod_cidr.len);
}

static void table_clear(struct judge *j)
{
	memset(j->t, 0xff, (j->mask + 1) * sizeof(*j->t));
}

/* The slot of k (hash h): where a candidate with that key is, or the empty one it would go to. */
static size_t table_slot(const struct judge *j, const struct inet_prefix *k, uint64_t h,
			 struct inet_prefix (*key)(const struct peer *))
{
	size_t i = (size_t)h & j->mask;

	for (; j->t[i].at >= 0; i = (i + 1) & j->mask) {
		struct inet_prefix o;

		if (j->t[i].h != h)
			continue;
		o = key(j->s[j->t[i].at]);
		if (o.len == k->len && inet_addr_eq(&o.addr, &k->addr))
			break;
	}
	return i;
}

/* The first candidate with candidate i's key (i itself when it is the first). */
static int32_t table_put(struct judge *j, size_t i, struct inet_prefix (*key)(const struct peer *))
{
	struct inet_prefix k = key(j->s[i]);
	uint64_t h = inet_prefix_hash(&k.addr, k.len);
	size_t at = table_slot(j, &k, h, key);

	if (j->t[at].at < 0)
		j->t[at] = (struct slot){h, (int32_t)i};
	return j->t[at].at;
}

static void clash_ip(struct judge *j, const struct peer *x, const struct peer *y)
{
	clash(x, y, j->self, j->bad, j->base, j->reasons, CLASH_IP);
}

static void clash_cidr(struct judge *j, const struct peer *x, const struct peer *y)
{
	clash(y, x, j->self, j->bad, j->base, j->reasons, CLASH_CIDR);
}

static void same_ip(struct judge *j)
{
	table_clear(j);
	for (size_t i = 0; i < j->n; i++) {
		int32_t at = table_put(j, i, ip_key);

		if (at != (int32_t)i)
			clash_ip(j, j->s[at], j->s[i]);
	}
}

static void overlapping(struct judge *j)
{
	bool lens[2][129] = {{0}};

	table_clear(j);
	for (size_t i = 0; i < j->n; i++) { /* the same pod CIDR twice */
		const struct inet_prefix *c = &j->s[i]->pod_cidr;
		int32_t at = table_put(j, i, cidr_key);

		lens[c->addr.family == AF_INET6][c->len] = true;
		if (at != (int32_t)i)
			clash_cidr(j, j->s[at], j->s[i]);
	}
	for (size_t i = 0; i < j->n; i++) { /* one inside another */
		const struct inet_prefix *c = &j->s[i]->pod_cidr;

		for (unsigned l = 0; l < c->len; l++) {
			struct inet_prefix k;
			size_t at;

			if (!lens[c->addr.family == AF_INET6][l])
				continue;
			k = key_of(&c->addr, l);
			at = table_slot(j, &k, inet_prefix_hash(&k.addr, l), cidr_key);
			if (j->t[at].at >= 0)
				clash_cidr(j, j->s[j->t[at].at], j->s[i]);
		}
	}
}

int peerset_filter(struct peers *p, const char *self, const struct inet_prefix *host, size_t n_host,
		   struct peers *ret_bad, json_t *reasons, struct cni_err *err)
{
	_cleanup_free_ const struct peer **s = calloc(p->n + 1, sizeof(*s));
	_cleanup_free_ bool *bad = calloc(p->n + 1, sizeof(*bad));
	_cleanup_free_ struct slot *t = NULL;
	long me = self ? peers_find(p, self) : -1;
	struct judge j = {.s = s, .self = self, .bad = bad, .base = p->v, .reasons = reasons};
	size_t size = 16, k = 0;

	while (size < 2 * p->n)
		size *= 2;
	t = malloc(size * sizeof(*t));
	if (!s || !bad || !t)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "peers");
	j.t = t;
	j.mask = size - 1;
	for (size_t i = 0; i < p->n; i++) {
		if ((long)i != me && alone(&p->v[i], host, n_host, reasons))
			bad[i] = true;
		else
			s[j.n++] = &p->v[i];
	}
	same_ip(&j);
	overlapping(&j);
	if (ret_bad)
		peers_free(ret_bad);
	for (size_t i = 0; i < p->n; i++) {
		if (!bad[i])
			p->v[k++] = p->v[i];
		else if (ret_bad && peers_insert(ret_bad, &p->v[i]) < 0)
			return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "peers");
	}
	p->n = k;
	return 0;
}

/* ---- the same, brought up to date after a few changes ---- */

static bool clashes(const struct peer *a, const struct peer *b, enum clash_kind *kind)
{
	if (inet_addr_eq(&a->node_ip, &b->node_ip)) {
		*kind = CLASH_IP;
		return true;
	}
	*kind = CLASH_CIDR;
	return inet_prefix_overlaps(&a->pod_cidr, &b->pod_cidr);
}

struct update {
	const char *self;
	json_t *reasons;
	struct peers *good;
	struct peers eval, gone; /* to judge; good ones that clash with one of them */
	bool *alone, *bad;	 /* per eval */
};

/* e (eval[i]) against every candidate: the good ones and the other judged ones not bad alone. */
static int judge_one(struct update *u, size_t i)
{
	const struct peer *e = &u->eval.v[i];
	enum clash_kind kind;

	for (size_t k = 0; k < u->good->n; k++) {
		const struct peer *y = &u->good->v[k];

		if (!clashes(e, y, &kind))
			continue;
		u->bad[i] = u->bad[i] || !is_self(e, u->self);
		if (!is_self(e, u->self))
			clash_reason(u->reasons, e, y, u->self, kind);
		if (is_self(y, u->self))
			continue;
		clash_reason(u->reasons, y, e, u->self, kind);
		if (peers_insert(&u->gone, y) < 0)
			return -ENOMEM;
	}
	for (size_t k = 0; k < u->eval.n; k++) {
		if (k == i || u->alone[k] || !clashes(e, &u->eval.v[k], &kind) ||
		    is_self(e, u->self))
			continue;
		u->bad[i] = true;
		clash_reason(u->reasons, e, &u->eval.v[k], u->self, kind);
	}
	return 0;
}

/* The verdicts of eval: the good ones into good, the others into bad; the good ones that clash
 * with one of them out of good into bad. */
static int judge_all(struct update *u, const struct inet_prefix *host, size_t n_host,
		     struct peers *bad)
{
	int r = 0;

	for (size_t i = 0; i < u->eval.n; i++) {
		u->alone[i] = !is_self(&u->eval.v[i], u->self) &&
			      alone(&u->eval.v[i], host, n_host, u->reasons);
		u->bad[i] = u->alone[i];
	}
	for (size_t i = 0; r >= 0 && i < u->eval.n; i++)
		if (!u->alone[i])
			r = judge_one(u, i);
	for (size_t i = 0; r >= 0 && i < u->gone.n; i++) {
		peers_remove(u->good, u->gone.v[i].name);
		r = peers_insert(bad, &u->gone.v[i]);
	}
	for (size_t i = 0; r >= 0 && i < u->eval.n; i++)
		r = peers_insert(u->bad[i] ? bad : u->good, &u->eval.v[i]);
	return r;
}

/* The peers to judge again: the changed ones as they are now, and every bad one; each taken
 * out of good and bad, its old entry kept in *old (for the log). */
static int to_judge(struct update *u, struct peers *bad, const struct peers *now,
		    const char *const *changed, size_t n_changed, struct peers *old)
{
	long i;

	for (size_t k = 0; k < n_changed; k++) {
		if ((i = peers_find(u->good, changed[k])) >= 0 &&
		    peers_insert(old, &u->good->v[i]) < 0)
			return -ENOMEM;
		peers_remove(u->good, changed[k]);
		peers_remove(bad, changed[k]);
		if ((i = peers_find(now, changed[k])) >= 0 &&
		    peers_insert(&u->eval, &now->v[i]) < 0)
			return -ENOMEM;
	}
	for (size_t k = 0; k < bad->n; k++)
		if (peers_insert(&u->eval, &bad->v[k]) < 0)
			return -ENOMEM;
	peers_free(bad);
	return 0;
}

/* What went out of good (old, and those judged bad now) against what came in, logged. */
static void update_log(const struct update *u, struct peers *old)
{
	struct peers now = {0};

	for (size_t i = 0; i < u->gone.n; i++)
		(void)peers_insert(old, &u->gone.v[i]);
	for (size_t i = 0; i < u->eval.n; i++)
		if (!u->bad[i])
			(void)peers_insert(&now, &u->eval.v[i]);
	peerset_log_diff(old, &now);
	peers_free(&now);
}

int peerset_filter_update(struct peers *good, struct peers *bad, const struct peers *now,
			  const char *const *changed, size_t n_changed, const char *self,
			  const struct inet_prefix *host, size_t n_host, json_t *reasons,
			  struct cni_err *err)
{
	struct update u = {.self = self, .reasons = reasons, .good = good};
	struct peers old = {0};
	int r;

	if (n_changed + bad->n > PEERSET_UPDATE_MAX)
		return 0;
	r = to_judge(&u, bad, now, changed, n_changed, &old);
	u.alone = calloc(u.eval.n + 1, sizeof(*u.alone));
	u.bad = calloc(u.eval.n + 1, sizeof(*u.bad));
	if (r >= 0 && u.alone && u.bad)
		r = judge_all(&u, host, n_host, bad);
	if (r >= 0 && u.alone && u.bad)
		update_log(&u, &old);
	free(u.alone);
	free(u.bad);
	peers_free(&u.eval);
	peers_free(&u.gone);
	peers_free(&old);
	if (r < 0 || !u.alone || !u.bad)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "peers");
	return 1;
}

static bool in_scope(const struct peer *p, const struct inet_prefix *cluster,
		     const struct inet_prefix *local, size_t n_local, json_t *reasons)
{
	char c[INET_PREFIX_STRLEN], o[INET_PREFIX_STRLEN];
	struct inet_prefix net;

	if (cluster && !inet_prefix_covers(cluster, &p->pod_cidr)) {
		reason(reasons, p->name, "spec.podCIDR %s is outside clusterCIDR %s",
		       inet_prefix_fmt(&p->pod_cidr, c, sizeof(c)),
		       inet_prefix_fmt(cluster, o, sizeof(o)));
		return false;
	}
	for (size_t i = 0; i < n_local; i++) {
		if (inet_prefix_overlaps(&p->pod_cidr, &local[i])) {
			inet_prefix_network(&local[i], &net);
			reason(reasons, p->name,
			       "spec.podCIDR %s overlaps this node's IPAM range %s",
			       inet_prefix_fmt(&p->pod_cidr, c, sizeof(c)),
			       inet_prefix_fmt(&net, o, sizeof(o)));
			return false;
		}
	}
	return true;
}

int peerset_scope(const struct peers *in, const char *self, const struct inet_prefix *cluster,
		  const struct inet_prefix *local, size_t n_local, struct peers *ret,
		  json_t *reasons, struct cni_err *err)
{
	struct peer *v = realloc(ret->v, (in->n + 1) * sizeof(*v)); /* its pages reused */
	long me = self ? peers_find(in, self) : -1;
	size_t k = 0;

	if (!v)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "peers");
	for (size_t i = 0; i < in->n; i++) {
		if ((long)i == me)
			continue;
		if (in_scope(&in->v[i], cluster, local, n_local, reasons))
			v[k++] = in->v[i];
	}
	ret->v = v;
	ret->n = k;
	return 0;
}

static void log_peer(const char *what, const struct peer *p)
{
	char c[INET_PREFIX_STRLEN], a[INET6_ADDRSTRLEN];

	log_info("node %s %s: podCIDR %s via %s", p->name, what,
		 inet_prefix_fmt(&p->pod_cidr, c, sizeof(c)),
		 inet_addr_fmt(&p->node_ip, a, sizeof(a)));
}

void peerset_log_diff(const struct peers *old, const struct peers *new)
{
	size_t i = 0, j = 0;

	while (i < old->n || j < new->n) {
		int c = i == old->n ? 1 : j == new->n ? -1 : strcmp(old->v[i].name, new->v[j].name);

		if (c < 0)
			log_peer("removed", &old->v[i++]);
		else if (c > 0)
			log_peer("added", &new->v[j++]);
		else {
			if (!peers_eq(&old->v[i], &new->v[j]))
				log_peer("changed", &new->v[j]);
			i++;
			j++;
		}
	}
}

int peerset_pod_cidr(const json_t *entry, struct inet_prefix *ret)
{
	struct peer p = {0};
	struct cni_err e = {0};

	if (!entry || parse_entry(entry, 0, &p, &e) <= 0)
		return -ENOENT;
	*ret = p.pod_cidr;
	return 0;
}

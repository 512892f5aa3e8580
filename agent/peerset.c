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

/* The first reason a node is not to be routed to, judged alone against this node. */
static bool alone(const struct peer *p, const struct inet_prefix *host, size_t n_host,
		  json_t *reasons)
{
	char c[INET_PREFIX_STRLEN], a[INET_PREFIX_STRLEN];
	struct inet_prefix net;

	inet_prefix_fmt(&p->pod_cidr, c, sizeof(c));
	if (p->pod_cidr.len == 0) {
		reason(reasons, p->name, "spec.podCIDR %s is /0 (every address)", c);
		return true;
	}
	if (p->pod_cidr.addr.family != p->node_ip.family) {
		reason(reasons, p->name,
		       "status.addresses InternalIP %s is not of spec.podCIDR %s's family",
		       inet_addr_fmt(&p->node_ip, a, sizeof(a)), c);
		return true;
	}
	for (size_t i = 0; i < n_host; i++) {
		inet_prefix_network(&host[i], &net);
		if (inet_addr_eq(&p->node_ip, &host[i].addr)) {
			reason(reasons, p->name,
			       "status.addresses InternalIP %s is an address of this node",
			       inet_addr_fmt(&p->node_ip, a, sizeof(a)));
			return true;
		}
		if (inet_prefix_overlaps(&p->pod_cidr, &net)) {
			reason(reasons, p->name,
			       "spec.podCIDR %s overlaps this node's address %s (or its subnet)", c,
			       inet_prefix_fmt(&host[i], a, sizeof(a)));
			return true;
		}
	}
	return false;
}

static int ip_cmp(const void *a, const void *b)
{
	const struct peer *x = *(const struct peer *const *)a, *y = *(const struct peer *const *)b;

	return inet_addr_cmp(&x->node_ip, &y->node_ip);
}

static int cidr_cmp(const void *a, const void *b)
{
	const struct peer *x = *(const struct peer *const *)a, *y = *(const struct peer *const *)b;
	int c = inet_addr_cmp(&x->pod_cidr.addr, &y->pod_cidr.addr);

	return c ? c : (int)x->pod_cidr.len - (int)y->pod_cidr.len;
}

/* x and y clash: the one that is not self is marked (both when neither is). */
static void clash(const struct peer *x, const struct peer *y, const char *self, bool *bad,
		  const struct peer *base, json_t *reasons, const char *what, const char *val)
{
	const struct peer *pair[2] = {x, y};

	for (int k = 0; k < 2; k++) {
		const struct peer *me = pair[k], *other = pair[1 - k];

		if (self && strcmp(me->name, self) == 0)
			continue;
		bad[me - base] = true;
		reason(reasons, me->name, "%s %s clashes with node \"%s\"%s", what, val,
		       other->name, self && strcmp(other->name, self) == 0 ? " (this node)" : "");
	}
}

static void same_ip(const struct peer **s, size_t n, const char *self, bool *bad,
		    const struct peer *base, json_t *reasons)
{
	char a[INET6_ADDRSTRLEN];

	qsort(s, n, sizeof(*s), ip_cmp);
	for (size_t i = 1; i < n; i++)
		if (inet_addr_eq(&s[i - 1]->node_ip, &s[i]->node_ip))
			clash(s[i - 1], s[i], self, bad, base, reasons,
			      "status.addresses InternalIP",
			      inet_addr_fmt(&s[i]->node_ip, a, sizeof(a)));
}

/* Sorted by network address, a prefix overlaps an earlier one exactly when it starts before
 * the largest end seen so far (of its family). */
static void overlapping(const struct peer **s, size_t n, const char *self, bool *bad,
			const struct peer *base, json_t *reasons)
{
	char c[INET_PREFIX_STRLEN];
	struct inet_addr end = {0}, last;
	const struct peer *cover = NULL;

	qsort(s, n, sizeof(*s), cidr_cmp);
	for (size_t i = 0; i < n; i++) {
		inet_prefix_last(&s[i]->pod_cidr, &last);
		if (cover && inet_addr_cmp(&s[i]->pod_cidr.addr, &end) <= 0)
			clash(s[i], cover, self, bad, base, reasons, "spec.podCIDR",
			      inet_prefix_fmt(&s[i]->pod_cidr, c, sizeof(c)));
		if (!cover || inet_addr_cmp(&last, &end) > 0) {
			cover = s[i];
			end = last;
		}
	}
}

int peerset_filter(struct peers *p, const char *self, const struct inet_prefix *host, size_t n_host,
		   json_t *reasons, struct cni_err *err)
{
	_cleanup_free_ const struct peer **s = calloc(p->n + 1, sizeof(*s));
	_cleanup_free_ bool *bad = calloc(p->n + 1, sizeof(*bad));
	size_t n = 0, k = 0;

	if (!s || !bad)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "peers");
	for (size_t i = 0; i < p->n; i++) {
		bool me = self && strcmp(p->v[i].name, self) == 0;

		if (!me && alone(&p->v[i], host, n_host, reasons))
			bad[i] = true;
		else
			s[n++] = &p->v[i];
	}
	same_ip(s, n, self, bad, p->v, reasons);
	overlapping(s, n, self, bad, p->v, reasons);
	for (size_t i = 0; i < p->n; i++)
		if (!bad[i])
			p->v[k++] = p->v[i];
	p->n = k;
	return 0;
}

static bool in_scope(const struct peer *p, const struct inet_prefix *cluster,
		     const struct inet_prefix *local, size_t n_local, json_t *reasons)
{
	char c[INET_PREFIX_STRLEN], o[INET_PREFIX_STRLEN];
	struct inet_prefix net;

	inet_prefix_fmt(&p->pod_cidr, c, sizeof(c));
	if (cluster &&
	    (cluster->addr.family != p->pod_cidr.addr.family || cluster->len > p->pod_cidr.len ||
	     !inet_prefix_contains(cluster, &p->pod_cidr.addr))) {
		reason(reasons, p->name, "spec.podCIDR %s is outside clusterCIDR %s", c,
		       inet_prefix_fmt(cluster, o, sizeof(o)));
		return false;
	}
	for (size_t i = 0; i < n_local; i++) {
		inet_prefix_network(&local[i], &net);
		if (inet_prefix_overlaps(&p->pod_cidr, &net)) {
			reason(reasons, p->name,
			       "spec.podCIDR %s overlaps this node's IPAM range %s", c,
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
	struct peer *v = calloc(in->n ? in->n : 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "peers");
	for (size_t i = 0; i < in->n; i++) {
		if (self && strcmp(in->v[i].name, self) == 0)
			continue;
		if (in_scope(&in->v[i], cluster, local, n_local, reasons))
			v[k++] = in->v[i];
	}
	peers_free(ret);
	ret->v = v;
	ret->n = k;
	return 0;
}

int peerset_copy(const struct peers *in, struct peers *ret, struct cni_err *err)
{
	struct peer *v = calloc(in->n ? in->n : 1, sizeof(*v));

	if (!v)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "peers");
	if (in->n)
		memcpy(v, in->v, in->n * sizeof(*v));
	peers_free(ret);
	ret->v = v;
	ret->n = in->n;
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

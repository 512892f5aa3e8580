/* SPDX-License-Identifier: Apache-2.0 */
/* Node routes of a routed multi-node network (see overlay-routes.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/nl/link.h"
#include "common/nl/route.h"
#include "plugins/lib/overlay-routes.h"

int overlay_routes_open(struct overlay_routes *n, const char *underlay, const char *plugin,
			struct cni_err *err)
{
	struct nl_link l;
	int r;

	memset(n, 0, sizeof(*n));
	n->underlay_name = underlay;
	n->plugin = plugin;
	r = nl_open(&n->nl, NL_NETNS_SELF, err);
	if (r < 0 || !underlay[0])
		return r;
	r = nl_link_get(n->nl, underlay, &l, err);
	if (r < 0) {
		cni_err_clear(err);
		overlay_routes_close(n);
		return cni_err_set(err, CNI_ERR_CONFIG, -r,
				   "underlayInterface \"%s\" does not exist", underlay);
	}
	n->underlay = l.ifindex;
	return 0;
}

void overlay_routes_close(struct overlay_routes *n)
{
	nl_close(n->nl);
	n->nl = NULL;
	overlay_routes_table_free(&n->rtab);
}

void overlay_routes_params(const struct overlay_routes *n, char *buf, size_t len)
{
	snprintf(buf, len, "%s underlay=%s/%d", n->plugin, n->underlay_name, n->underlay);
}

int overlay_routes_oif(struct overlay_routes *n, const struct peer *p, struct cni_err *err)
{
	char ip[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];
	struct nl_route rt;

	inet_addr_fmt(&p->node_ip, ip, sizeof(ip));
	if (p->node_ip.family != p->pod_cidr.addr.family)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "node \"%s\": nodeIP %s and podCIDR are of different families",
				   p->name, ip);
	if (nl_route_get(n->nl, &p->node_ip, &rt, err) < 0) {
		cni_err_clear(err);
		return cni_err_set(err, CNI_ERR_CONFIG, ENETUNREACH,
				   "node \"%s\": nodeIP %s is unreachable", p->name, ip);
	}
	if (inet_addr_is_set(&rt.gw))
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "node \"%s\": nodeIP %s is not on-link (the route to it goes "
				   "via %s); %s needs the nodes on one L2 segment",
				   p->name, ip, inet_addr_fmt(&rt.gw, gw, sizeof(gw)), n->plugin);
	if (n->underlay && rt.oif != n->underlay)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "node \"%s\": nodeIP %s is not on-link on underlayInterface "
				   "\"%s\"",
				   p->name, ip, n->underlay_name);
	return rt.oif;
}

int overlay_routes_prepare(void *ctx, const struct peers *p, struct cni_err *err)
{
	for (size_t i = 0; i < p->n; i++) {
		int r = overlay_routes_oif(ctx, &p->v[i], err);

		if (r < 0)
			return r;
	}
	return 0;
}

static void peer_route(const struct peer *p, struct nl_route *rt)
{
	nl_route_init(rt, p->pod_cidr.addr.family);
	rt->dst = p->pod_cidr;
	rt->gw = p->node_ip;
	rt->protocol = OVERLAY_RTPROT;
}

int overlay_routes_add(void *ctx, const struct peer *p, struct cni_err *err)
{
	struct overlay_routes *n = ctx;
	struct nl_route rt;
	int oif = overlay_routes_oif(n, p, err);

	if (oif < 0)
		return oif;
	peer_route(p, &rt);
	rt.oif = oif;
	return nl_route_replace(n->nl, &rt, err);
}

int overlay_routes_del(void *ctx, const struct peer *p, struct cni_err *err)
{
	struct overlay_routes *n = ctx;
	struct nl_route rt;
	int r;

	peer_route(p, &rt);
	r = nl_route_del(n->nl, &rt, err);
	if (r == -ESRCH || r == -ENODEV || r == -ENETUNREACH) {
		cni_err_clear(err);
		return 0;
	}
	return r;
}

int overlay_routes_table_load(struct nl *nl, struct overlay_routes_table *t, struct cni_err *err)
{
	int r = t->loaded ? 0 : nl_route_dump(nl, AF_UNSPEC, 0, &t->v, &t->n, err);

	t->loaded = r >= 0;
	return r;
}

int overlay_routes_table_has(struct nl *nl, struct overlay_routes_table *t,
			     const struct nl_route *want, struct cni_err *err)
{
	int r = overlay_routes_table_load(nl, t, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < t->n; i++) {
		const struct nl_route *h = &t->v[i];

		if (h->dst.addr.family == want->dst.addr.family && h->dst.len == want->dst.len &&
		    inet_addr_eq(&h->dst.addr, &want->dst.addr) &&
		    inet_addr_eq(&h->gw, &want->gw) && h->protocol == want->protocol &&
		    (!want->oif || h->oif == want->oif))
			return 1;
	}
	return 0;
}

void overlay_routes_table_free(struct overlay_routes_table *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

int overlay_routes_check(void *ctx, const struct peer *p, struct cni_err *err)
{
	struct overlay_routes *n = ctx;
	char dst[INET_PREFIX_STRLEN], gw[INET6_ADDRSTRLEN];
	struct nl_route rt;
	int r;

	peer_route(p, &rt);
	r = overlay_routes_table_has(n->nl, &n->rtab, &rt, err);
	if (r != 0)
		return r < 0 ? r : 0;
	return cni_err_set(err, CNI_ERR_INTERNAL, 0, "route %s via %s proto 0x%x is missing",
			   inet_prefix_fmt(&p->pod_cidr, dst, sizeof(dst)),
			   inet_addr_fmt(&p->node_ip, gw, sizeof(gw)), OVERLAY_RTPROT);
}

static bool route_of_peer(const struct nl_route *h, const struct peers *want)
{
	for (size_t i = 0; i < want->n; i++) {
		const struct peer *p = &want->v[i];

		if (h->dst.addr.family == p->pod_cidr.addr.family &&
		    h->dst.len == p->pod_cidr.len &&
		    inet_addr_eq(&h->dst.addr, &p->pod_cidr.addr) &&
		    inet_addr_eq(&h->gw, &p->node_ip))
			return true;
	}
	return false;
}

int overlay_routes_sweep(void *ctx, const struct peers *want, struct cni_err *err)
{
	struct overlay_routes *n = ctx;
	char dst[INET_PREFIX_STRLEN], gw[INET6_ADDRSTRLEN];
	int r;

	if (!n->scope)
		return 0;
	r = overlay_routes_table_load(n->nl, &n->rtab, err);
	for (size_t i = 0; r >= 0 && i < n->rtab.n; i++) {
		const struct nl_route *h = &n->rtab.v[i];

		if (h->protocol != OVERLAY_RTPROT || !inet_prefix_covers(n->scope, &h->dst) ||
		    route_of_peer(h, want))
			continue;
		r = nl_route_del(n->nl, h, err);
		if (r == -ESRCH) {
			cni_err_clear(err);
			r = 0;
			continue;
		}
		if (r >= 0)
			log_warn("%s: removed route %s via %s proto 0x%x: no node has it now (the "
				 "applied state was lost)",
				 n->plugin, inet_prefix_fmt(&h->dst, dst, sizeof(dst)),
				 inet_addr_fmt(&h->gw, gw, sizeof(gw)), OVERLAY_RTPROT);
	}
	overlay_routes_table_free(&n->rtab); /* changed: a later CHECK dumps again */
	return r < 0 ? cni_err_wrap(err, "sweep") : 0;
}

void overlay_routes_ops(struct overlay_routes *n, const struct overlay_conf *o,
			struct overlay_ops *ret)
{
	n->scope = o->has_cluster ? &o->cluster_cidr : NULL;
	*ret = (struct overlay_ops){.ctx = n,
				    .prepare = overlay_routes_prepare,
				    .peer_add = overlay_routes_add,
				    .peer_del = overlay_routes_del,
				    .sweep = overlay_routes_sweep};
}

/* SPDX-License-Identifier: Apache-2.0 */
/* host-gw's node-level state: per other node one route "<podCIDR> via <nodeIP> dev
 * <underlay>", refused when the node IP is not on-link (flannel's rule: host-gw needs the
 * nodes on one L2 segment; a gateway in between would drop the pod addresses). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "hostgw.h"
#include "nl-link.h"
#include "nl-route.h"

struct hostgw_node {
	struct nl *nl;
	int underlay; /* ifindex of underlayInterface, 0 = from the route to each node */
	const char *underlay_name;
};

/* The interface the node is on-link through, or a code 7 error naming the node. */
static int peer_oif(struct hostgw_node *n, const struct peer *p, struct cni_err *err)
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
				   "via %s); host-gw needs the nodes on one L2 segment",
				   p->name, ip, inet_addr_fmt(&rt.gw, gw, sizeof(gw)));
	if (n->underlay && rt.oif != n->underlay)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "node \"%s\": nodeIP %s is not on-link on underlayInterface "
				   "\"%s\"",
				   p->name, ip, n->underlay_name);
	return rt.oif;
}

static int prepare(void *ctx, const struct peers *p, struct cni_err *err)
{
	for (size_t i = 0; i < p->n; i++) {
		int r = peer_oif(ctx, &p->v[i], err);

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
	rt->protocol = HOSTGW_RTPROT;
}

static int peer_add(void *ctx, const struct peer *p, struct cni_err *err)
{
	struct hostgw_node *n = ctx;
	struct nl_route rt;
	int oif = peer_oif(n, p, err);

	if (oif < 0)
		return oif;
	peer_route(p, &rt);
	rt.oif = oif;
	return nl_route_replace(n->nl, &rt, err);
}

static int peer_del(void *ctx, const struct peer *p, struct cni_err *err)
{
	struct hostgw_node *n = ctx;
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

int hostgw_node_ensure(const struct cni_args *a, struct hostgw_conf *c, struct cni_err *err)
{
	_cleanup_nl_ struct nl *nl = NULL;
	struct hostgw_node n = {.underlay_name = c->ov.underlay};
	struct overlay_ops ops = {
		.ctx = &n, .prepare = prepare, .peer_add = peer_add, .peer_del = peer_del};
	char params[64];
	struct nl_link l;
	int r;

	(void)a;
	r = nl_open(&nl, NL_NETNS_SELF, err);
	if (r < 0)
		return r;
	n.nl = nl;
	if (c->ov.underlay[0]) {
		r = nl_link_get(nl, c->ov.underlay, &l, err);
		if (r < 0)
			return cni_err_set(err, CNI_ERR_CONFIG, -r,
					   "underlayInterface \"%s\" does not exist",
					   c->ov.underlay);
		n.underlay = l.ifindex;
	}
	snprintf(params, sizeof(params), "host-gw underlay=%s/%d", c->ov.underlay, n.underlay);
	r = overlay_reconcile(&c->ov, params, &ops, err);
	if (r < 0)
		return cni_err_wrap(err, "host-gw routes");
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Per other node, on the vxlan device, in this order (the route last: before the static
 * neighbour exists the kernel would ARP for the gateway over the overlay):
 *   neigh <peer's pod-network address> lladdr <peer VTEP MAC> permanent
 *   fdb   <peer VTEP MAC> dst <peer nodeIP> self permanent
 *   route <peer podCIDR> via <peer's pod-network address> onlink
 * and removed in the reverse order. The peer's VTEP MAC is derived from the peer list alone
 * (peers_vtep_mac), so nothing has to be exchanged between nodes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nl-neigh.h"
#include "nl-route.h"
#include "vxlan.h"

struct vxlan_node {
	struct nl *nl;
	const char *network;
	const struct vxlan_dev *dev;
};

static int prepare(void *ctx, const struct peers *p, struct cni_err *err)
{
	const struct vxlan_node *n = ctx;
	char ip[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].node_ip.family != n->dev->local.family)
			return cni_err_set(err, CNI_ERR_CONFIG, 0,
					   "node \"%s\": nodeIP %s is not of this node's underlay "
					   "family",
					   p->v[i].name,
					   inet_addr_fmt(&p->v[i].node_ip, ip, sizeof(ip)));
	return 0;
}

static void entries(const struct vxlan_node *n, const struct peer *p, struct nl_neigh *ne,
		    struct nl_fdb *fdb, struct nl_route *rt)
{
	*ne = (struct nl_neigh){.ifindex = n->dev->ifindex, .ip = p->pod_cidr.addr};
	peers_vtep_mac(n->network, p->name, &p->node_ip, ne->mac);
	*fdb = (struct nl_fdb){.ifindex = n->dev->ifindex, .dst = p->node_ip};
	memcpy(fdb->mac, ne->mac, 6);
	nl_route_init(rt, p->pod_cidr.addr.family);
	rt->dst = p->pod_cidr;
	rt->gw = p->pod_cidr.addr;
	rt->oif = n->dev->ifindex;
	rt->onlink = true;
	rt->protocol = VXLAN_RTPROT;
}

static int peer_add(void *ctx, const struct peer *p, struct cni_err *err)
{
	const struct vxlan_node *n = ctx;
	struct nl_neigh ne;
	struct nl_fdb fdb;
	struct nl_route rt;
	int r;

	entries(n, p, &ne, &fdb, &rt);
	r = nl_neigh_replace(n->nl, &ne, err);
	if (r >= 0)
		r = nl_fdb_add(n->nl, &fdb, false, err);
	if (r >= 0)
		r = nl_route_replace(n->nl, &rt, err);
	return r;
}

static int gone(int r, struct cni_err *err)
{
	if (r == -ENOENT || r == -ESRCH || r == -ENODEV || r == -EADDRNOTAVAIL) {
		cni_err_clear(err);
		return 0;
	}
	return r;
}

static int peer_del(void *ctx, const struct peer *p, struct cni_err *err)
{
	const struct vxlan_node *n = ctx;
	struct nl_neigh ne;
	struct nl_fdb fdb;
	struct nl_route rt;
	int r;

	entries(n, p, &ne, &fdb, &rt);
	r = gone(nl_route_del(n->nl, &rt, err), err);
	if (r >= 0)
		r = gone(nl_fdb_del(n->nl, &fdb, err), err);
	if (r >= 0)
		r = gone(nl_neigh_del(n->nl, &ne, err), err);
	return r;
}

int vxlan_node_ensure(struct nl *nl, const char *network, const struct vxlan_conf *c,
		      const struct vxlan_dev *dev, struct cni_err *err)
{
	struct vxlan_node n = {.nl = nl, .network = network, .dev = dev};
	struct overlay_ops ops = {
		.ctx = &n, .prepare = prepare, .peer_add = peer_add, .peer_del = peer_del};
	char params[160], ip[INET6_ADDRSTRLEN];
	int r;

	/* The device's ifindex is in: a recreated device gets every entry again. */
	snprintf(params, sizeof(params), "vxlan dev=%s/%d vni=%u port=%u local=%s", c->dev,
		 dev->ifindex, c->vni, c->port, inet_addr_fmt(&dev->local, ip, sizeof(ip)));
	r = overlay_reconcile(&c->ov, params, &ops, err);
	if (r < 0)
		return cni_err_wrap(err, "vxlan peers");
	return 0;
}

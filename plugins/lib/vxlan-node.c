/* SPDX-License-Identifier: Apache-2.0 */
/* Per other node, on the vxlan device, in this order (the route last: before the static
 * neighbour exists the kernel would ARP for the gateway over the overlay):
 *   neigh <peer's pod-network address> lladdr <peer VTEP MAC> permanent
 *   fdb   <peer VTEP MAC> dst <peer nodeIP> self permanent
 *   route <peer podCIDR> via <peer's pod-network address> onlink
 * and removed in the reverse order. The peer's VTEP MAC is derived from the peer list alone
 * (peers_vtep_mac), so nothing has to be exchanged between nodes.
 *
 * The device is this network's alone (its MAC is derived from the network name), so every
 * permanent neighbour, FDB entry and proto 0x57 route on it is weft's: when applied.json is
 * lost, a reconcile sweeps those of no current peer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/neighbour.h>

#include "common/cleanup.h"
#include "common/nl/link.h"
#include "common/nl/neigh.h"
#include "common/nl/route.h"
#include "plugins/lib/overlay-routes.h"
#include "plugins/lib/vxlan.h"

struct vxlan_node {
	struct nl *nl;
	const char *network;
	const char *name; /* the device's */
	const struct vxlan_dev *dev;
	/* CHECK and sweep: the device's entries, dumped once. */
	bool dumped;
	struct nl_neigh *ne;
	struct nl_fdb *fdb;
	size_t n_ne, n_fdb;
	struct overlay_routes_table rt;
};

static void node_free(struct vxlan_node *n)
{
	free(n->ne);
	free(n->fdb);
	overlay_routes_table_free(&n->rt);
}

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

static int entries_del(const struct vxlan_node *n, const struct nl_neigh *ne,
		       const struct nl_fdb *fdb, const struct nl_route *rt, struct cni_err *err)
{
	int r = rt ? gone(nl_route_del(n->nl, rt, err), err) : 0;

	if (r >= 0 && fdb)
		r = gone(nl_fdb_del(n->nl, fdb, err), err);
	if (r >= 0 && ne)
		r = gone(nl_neigh_del(n->nl, ne, err), err);
	return r;
}

static int peer_del(void *ctx, const struct peer *p, struct cni_err *err)
{
	const struct vxlan_node *n = ctx;
	struct nl_neigh ne;
	struct nl_fdb fdb;
	struct nl_route rt;

	entries(n, p, &ne, &fdb, &rt);
	return entries_del(n, &ne, &fdb, &rt, err);
}

/* The device's neighbours, FDB entries and routes, once. */
static int dump(struct vxlan_node *n, struct cni_err *err)
{
	int r;

	if (n->dumped)
		return 0;
	r = nl_neigh_list(n->nl, n->dev->ifindex, &n->ne, &n->n_ne, err);
	if (r >= 0)
		r = nl_fdb_list(n->nl, n->dev->ifindex, &n->fdb, &n->n_fdb, err);
	if (r >= 0)
		r = overlay_routes_table_load(n->nl, &n->rt, err);
	n->dumped = r >= 0;
	return r < 0 ? r : 0;
}

static bool neigh_eq(const struct nl_neigh *h, const struct nl_neigh *w)
{
	return (h->state & NUD_PERMANENT) && inet_addr_eq(&h->ip, &w->ip) &&
	       memcmp(h->mac, w->mac, 6) == 0;
}

static bool fdb_eq(const struct nl_fdb *h, const struct nl_fdb *w)
{
	return !h->master && (h->state & NUD_PERMANENT) && inet_addr_eq(&h->dst, &w->dst) &&
	       memcmp(h->mac, w->mac, 6) == 0;
}

static bool has_neigh(const struct vxlan_node *n, const struct nl_neigh *w)
{
	for (size_t i = 0; i < n->n_ne; i++)
		if (neigh_eq(&n->ne[i], w))
			return true;
	return false;
}

static bool has_fdb(const struct vxlan_node *n, const struct nl_fdb *w)
{
	for (size_t i = 0; i < n->n_fdb; i++)
		if (fdb_eq(&n->fdb[i], w))
			return true;
	return false;
}

#define MISSING(err, ...) cni_err_set(err, CNI_ERR_INTERNAL, 0, __VA_ARGS__)

static int peer_check(void *ctx, const struct peer *p, struct cni_err *err)
{
	struct vxlan_node *n = ctx;
	char ip[INET_PREFIX_STRLEN], mac[18];
	struct nl_neigh ne;
	struct nl_fdb fdb;
	struct nl_route rt;
	int r = dump(n, err);

	if (r < 0)
		return r;
	entries(n, p, &ne, &fdb, &rt);
	nl_mac_fmt(ne.mac, mac, sizeof(mac));
	if (!has_neigh(n, &ne))
		return MISSING(err, "neighbour %s lladdr %s permanent on %s is missing",
			       inet_addr_fmt(&ne.ip, ip, sizeof(ip)), mac, n->name);
	if (!has_fdb(n, &fdb))
		return MISSING(err, "fdb entry %s dst %s on %s is missing", mac,
			       inet_addr_fmt(&fdb.dst, ip, sizeof(ip)), n->name);
	r = overlay_routes_table_has(n->nl, &n->rt, &rt, err);
	if (r == 0)
		return MISSING(err, "route %s dev %s proto 0x%x is missing",
			       inet_prefix_fmt(&rt.dst, ip, sizeof(ip)), n->name, VXLAN_RTPROT);
	return r < 0 ? r : 0;
}

/* The wanted entries of every peer, computed once for the sweep's comparisons. */
struct wanted {
	struct nl_neigh ne;
	struct nl_fdb fdb;
	struct nl_route rt;
};

static bool route_wanted(const struct nl_route *h, const struct wanted *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (h->dst.len == w[i].rt.dst.len &&
		    inet_addr_eq(&h->dst.addr, &w[i].rt.dst.addr) &&
		    inet_addr_eq(&h->gw, &w[i].rt.gw))
			return true;
	return false;
}

static int sweep_entries(const struct vxlan_node *n, const struct wanted *w, size_t nw,
			 struct cni_err *err)
{
	bool keep;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < n->rt.n; i++) {
		const struct nl_route *h = &n->rt.v[i];

		if (h->oif == n->dev->ifindex && h->protocol == VXLAN_RTPROT &&
		    !route_wanted(h, w, nw))
			r = entries_del(n, NULL, NULL, h, err);
	}
	for (size_t i = 0; r >= 0 && i < n->n_fdb; i++) {
		keep = n->fdb[i].master || !(n->fdb[i].state & NUD_PERMANENT);
		for (size_t k = 0; !keep && k < nw; k++)
			keep = fdb_eq(&n->fdb[i], &w[k].fdb);
		if (!keep)
			r = entries_del(n, NULL, &n->fdb[i], NULL, err);
	}
	for (size_t i = 0; r >= 0 && i < n->n_ne; i++) {
		keep = !(n->ne[i].state & NUD_PERMANENT);
		for (size_t k = 0; !keep && k < nw; k++)
			keep = neigh_eq(&n->ne[i], &w[k].ne);
		if (!keep)
			r = entries_del(n, &n->ne[i], NULL, NULL, err);
	}
	return r < 0 ? cni_err_wrap(err, "sweep") : 0;
}

static int sweep(void *ctx, const struct peers *want, struct cni_err *err)
{
	struct vxlan_node *n = ctx;
	_cleanup_free_ struct wanted *w = calloc(want->n ? want->n : 1, sizeof(*w));
	int r;

	if (!w)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "sweep");
	r = dump(n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < want->n; i++)
		entries(n, &want->v[i], &w[i].ne, &w[i].fdb, &w[i].rt);
	return sweep_entries(n, w, want->n, err);
}

/* The device's ifindex is in: a recreated device gets every entry again. */
static void params_fmt(const struct vxlan_conf *c, const struct vxlan_dev *dev, char *buf,
		       size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	snprintf(buf, len, "vxlan dev=%s/%d vni=%u port=%u local=%s", c->dev, dev->ifindex, c->vni,
		 c->port, inet_addr_fmt(&dev->local, ip, sizeof(ip)));
}

int vxlan_node_ensure(struct nl *nl, const char *network, const struct vxlan_conf *c,
		      const struct vxlan_dev *dev, struct cni_err *err)
{
	struct vxlan_node n = {.nl = nl, .network = network, .name = c->dev, .dev = dev};
	struct overlay_ops ops = {.ctx = &n,
				  .prepare = prepare,
				  .peer_add = peer_add,
				  .peer_del = peer_del,
				  .sweep = sweep};
	char params[160];
	int r;

	params_fmt(c, dev, params, sizeof(params));
	r = overlay_reconcile(&c->ov, params, &ops, err);
	node_free(&n);
	if (r < 0)
		return cni_err_wrap(err, "vxlan peers");
	return 0;
}

int vxlan_node_check(struct nl *nl, const char *network, const struct vxlan_conf *c,
		     const struct vxlan_dev *dev, struct cni_err *err)
{
	struct vxlan_node n = {.nl = nl, .network = network, .name = c->dev, .dev = dev};
	struct overlay_ops ops = {.ctx = &n, .peer_check = peer_check};
	char params[160];
	int r;

	params_fmt(c, dev, params, sizeof(params));
	r = overlay_reconcile_check(&c->ov, params, &ops, err);
	node_free(&n);
	if (r < 0)
		return cni_err_wrap(err, "vxlan peers");
	return 0;
}

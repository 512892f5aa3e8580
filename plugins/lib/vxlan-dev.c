/* SPDX-License-Identifier: Apache-2.0 */
/* The vxlan device of a network: found or created with every parameter explicit, and an
 * existing one with other parameters refused (code 7 naming the parameter), never silently
 * reused or recreated under running pods. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/nl/addr.h"
#include "common/nl/link.h"
#include "common/nl/route.h"
#include "plugins/lib/vxlan.h"

#define NO_UNDERLAY(err, c)                                                                        \
	cni_err_set(err, CNI_ERR_CONFIG, 0,                                                        \
		    "vxlan: cannot tell this node's underlay address: list this node (nodeName "   \
		    "\"%s\") in the peers, or set underlayInterface",                              \
		    (c)->ov.node_name)

/* The interface holding addr, or 0. */
static int addr_owner(struct nl *nl, const struct inet_addr *addr, struct cni_err *err)
{
	struct nl_addr a[64];
	size_t n;

	if (nl_addr_list(nl, 0, addr->family, a, ARRAY_SIZE(a), &n, err) < 0)
		return -EIO;
	for (size_t i = 0; i < n && i < ARRAY_SIZE(a); i++)
		if (inet_addr_eq(&a[i].prefix.addr, addr))
			return a[i].ifindex;
	return 0;
}

/* The first global address of ifindex, of the peers' family (the other nodes' VTEPs must be
 * reachable from it), else IPv4 first. */
static int first_addr(struct nl *nl, int ifindex, const struct peers *peers, struct inet_addr *ret,
		      struct cni_err *err)
{
	bool v6 = peers->n && peers->v[0].node_ip.family == AF_INET6;
	const int fams[2] = {v6 ? AF_INET6 : AF_INET, v6 ? AF_INET : AF_INET6};
	struct nl_addr a[16];
	size_t n;

	for (int f = 0; f < 2; f++) {
		if (nl_addr_list(nl, ifindex, fams[f], a, ARRAY_SIZE(a), &n, err) < 0)
			return -EIO;
		for (size_t i = 0; i < n && i < ARRAY_SIZE(a); i++)
			if (a[i].scope == 0) { /* RT_SCOPE_UNIVERSE */
				*ret = a[i].prefix.addr;
				return 0;
			}
	}
	return -ENOENT;
}

/* This node's underlay address and interface: its own peer entry, else underlayInterface,
 * else the route to the first peer. */
static int underlay(struct nl *nl, const struct vxlan_conf *c, struct vxlan_dev *d, int *ret_link,
		    struct cni_err *err)
{
	char ip[INET6_ADDRSTRLEN];
	struct nl_route rt;
	struct nl_link l;
	int r;

	*ret_link = 0;
	if (c->ov.underlay[0]) {
		if (nl_link_get(nl, c->ov.underlay, &l, err) < 0)
			return cni_err_set(err, CNI_ERR_CONFIG, ENODEV,
					   "underlayInterface \"%s\" does not exist",
					   c->ov.underlay);
		*ret_link = l.ifindex;
	}
	if (c->ov.has_self) {
		d->local = c->ov.self.node_ip;
		r = addr_owner(nl, &d->local, err);
		if (r == 0)
			return cni_err_set(err, CNI_ERR_CONFIG, EADDRNOTAVAIL,
					   "nodeIP %s of this node (\"%s\") is not an address here",
					   inet_addr_fmt(&d->local, ip, sizeof(ip)),
					   c->ov.node_name);
	} else if (*ret_link) {
		r = first_addr(nl, *ret_link, &c->ov.peers, &d->local, err);
		if (r == -ENOENT)
			return NO_UNDERLAY(err, c);
		r = *ret_link;
	} else if (c->ov.peers.n) {
		r = nl_route_get(nl, &c->ov.peers.v[0].node_ip, &rt, err);
		if (r >= 0 && !inet_addr_is_set(&rt.src))
			return NO_UNDERLAY(err, c);
		d->local = rt.src;
		r = r < 0 ? r : rt.oif;
	} else {
		return NO_UNDERLAY(err, c);
	}
	if (r >= 0 && !*ret_link)
		*ret_link = r;
	return r < 0 ? r : 0;
}

/* code: 7 on ADD (the config does not fit the node), 100 on CHECK (the node changed). */
static int differs(const struct vxlan_conf *c, enum cni_code code, const char *what,
		   const char *have, const char *want, struct cni_err *err)
{
	return cni_err_set(err, code, EEXIST,
			   "vxlan device \"%s\" exists with %s %s, the config wants %s: delete it "
			   "(`ip link del %s`) or change the config",
			   c->dev, what, have, want, c->dev);
}

#define CMP_NUM(what, h, w)                                                                        \
	do {                                                                                       \
		if ((h) != (w)) {                                                                  \
			snprintf(hs, sizeof(hs), "%lu", (unsigned long)(h));                       \
			snprintf(ws, sizeof(ws), "%lu", (unsigned long)(w));                       \
			return differs(c, code, what, hs, ws, err);                                \
		}                                                                                  \
	} while (0)

static int verify(const struct vxlan_conf *c, const struct nl_vxlan *want, const struct nl_link *l,
		  enum cni_code code, struct cni_err *err)
{
	const struct nl_vxlan_info *h = &l->vxlan, *w = &want->info;
	char hs[INET6_ADDRSTRLEN], ws[INET6_ADDRSTRLEN];

	if (strcmp(l->kind, "vxlan") != 0)
		return cni_err_set(err, code, EEXIST,
				   "\"%s\" exists but is not a vxlan device (kind \"%s\")", c->dev,
				   l->kind);
	CMP_NUM("vni", h->vni, w->vni);
	CMP_NUM("port", h->port, w->port);
	if (!inet_addr_eq(&h->local, &w->local))
		return differs(c, code, "local address", inet_addr_fmt(&h->local, hs, sizeof(hs)),
			       inet_addr_fmt(&w->local, ws, sizeof(ws)), err);
	CMP_NUM("underlay device (ifindex)", h->link, w->link);
	CMP_NUM("learning", h->learning, w->learning);
	CMP_NUM("udpChecksum", h->udp_csum, w->udp_csum);
	CMP_NUM("mtu", l->mtu, want->mtu);
	if (memcmp(l->mac, want->mac, 6) != 0)
		return differs(c, code, "VTEP MAC", nl_mac_fmt(l->mac, hs, sizeof(hs)),
			       nl_mac_fmt(want->mac, ws, sizeof(ws)), err);
	return 0;
}

static int create_or_get(struct nl *nl, const struct nl_vxlan *vx, struct nl_link *l,
			 struct cni_err *err)
{
	int r = nl_link_get(nl, vx->name, l, err);

	if (r != -ENODEV)
		return r;
	cni_err_clear(err);
	r = nl_link_add_vxlan(nl, vx, err);
	if (r == -EEXIST) /* a concurrent ADD made it: verify that one */
		cni_err_clear(err);
	else if (r < 0)
		return r;
	return nl_link_get(nl, vx->name, l, err);
}

/* c->move_local (weft-node): the device, found with another local address of the family, is
 * moved to this node's (its InternalIP changed); a plugin never moves a VTEP under running pods
 * on its own. The entries on it stay; the changed parameters re-apply them. */
static int move_local(struct nl *nl, const struct vxlan_conf *c, const struct nl_vxlan *vx,
		      struct nl_link *l, struct cni_err *err)
{
	char was[INET6_ADDRSTRLEN], now[INET6_ADDRSTRLEN];
	int r;

	if (!c->move_local || l->vxlan.local.family != vx->info.local.family ||
	    inet_addr_eq(&l->vxlan.local, &vx->info.local))
		return 0;
	r = nl_link_vxlan_move(nl, l->ifindex, &vx->info.local, vx->mac, err);
	if (r < 0)
		return r;
	log_info("vxlan device \"%s\": local address %s -> %s (this node's InternalIP changed)",
		 vx->name, inet_addr_fmt(&l->vxlan.local, was, sizeof(was)),
		 inet_addr_fmt(&vx->info.local, now, sizeof(now)));
	return nl_link_get(nl, vx->name, l, err);
}

/* The node's own pod-network address as a /32 (/128): the source of host -> remote pod
 * traffic, without the broadcast routes a wider prefix would bring (flannel does the same). */
static int own_addr(struct nl *nl, const struct vxlan_conf *c, int ifindex, struct cni_err *err)
{
	struct inet_prefix p;
	int r;

	if (!c->ov.has_self)
		return 0;
	p.addr = c->ov.self.pod_cidr.addr;
	p.len = (uint8_t)inet_addr_bits(&p.addr);
	r = nl_addr_add(nl, ifindex, &p, p.addr.family == AF_INET6 ? IFA_F_NODAD : 0, err);
	if (r == -EEXIST) {
		cni_err_clear(err);
		r = 0;
	}
	return r;
}

/* "mtu", else the underlay's minus the encapsulation. */
static uint32_t want_mtu(const struct vxlan_conf *c, const struct nl_link *ul,
			 const struct inet_addr *local)
{
	if (c->pod.mtu)
		return c->pod.mtu;
	return ul->mtu - (local->family == AF_INET6 ? VXLAN_OVERHEAD_V6 : VXLAN_OVERHEAD_V4);
}

int vxlan_dev_ensure(struct nl *nl, const char *network, const struct vxlan_conf *c,
		     struct vxlan_dev *ret, struct cni_err *err)
{
	struct nl_vxlan vx = {.name = c->dev, .mac = ret->mac, .up = true};
	struct nl_link ul, l;
	int r, link;

	r = underlay(nl, c, ret, &link, err);
	if (r >= 0)
		r = nl_link_get_by_index(nl, link, &ul, err);
	if (r < 0)
		return cni_err_wrap(err, "vxlan underlay");
	peers_vtep_mac(network, c->ov.node_name, &ret->local, ret->mac);
	vx.info = (struct nl_vxlan_info){.vni = c->vni,
					 .link = link,
					 .local = ret->local,
					 .port = c->port,
					 .udp_csum = c->udp_csum};
	vx.mtu = want_mtu(c, &ul, &ret->local);
	r = create_or_get(nl, &vx, &l, err);
	if (r >= 0)
		r = move_local(nl, c, &vx, &l, err);
	if (r >= 0)
		r = verify(c, &vx, &l, CNI_ERR_CONFIG, err);
	if (r >= 0 && !(l.flags & IFF_UP))
		r = nl_link_set_up(nl, l.ifindex, err);
	if (r >= 0)
		r = own_addr(nl, c, l.ifindex, err);
	if (r < 0)
		return cni_err_wrap(err, "vxlan device \"%s\"", c->dev);
	ret->ifindex = l.ifindex;
	ret->mtu = vx.mtu;
	return 0;
}

int vxlan_dev_check(struct nl *nl, const char *network, const struct vxlan_conf *c,
		    struct vxlan_dev *ret, struct cni_err *err)
{
	struct nl_vxlan vx = {.name = c->dev, .mac = ret->mac};
	struct nl_link l, ul;
	int r = nl_link_get(nl, c->dev, &l, err);

	if (r == -ENODEV) {
		cni_err_clear(err);
		return cni_err_set(err, CNI_ERR_INTERNAL, ENODEV, "vxlan device \"%s\" is missing",
				   c->dev);
	}
	if (r < 0)
		return r;
	/* What ADD would want of it, given the local address and underlay it has. */
	ret->local = l.vxlan.local;
	peers_vtep_mac(network, c->ov.node_name, &ret->local, ret->mac);
	vx.info = (struct nl_vxlan_info){.vni = c->vni,
					 .link = l.vxlan.link,
					 .local = ret->local,
					 .port = c->port,
					 .udp_csum = c->udp_csum};
	vx.mtu = c->pod.mtu ? c->pod.mtu : l.mtu; /* no underlay left: nothing to compare with */
	if (l.vxlan.link && nl_link_get_by_index(nl, l.vxlan.link, &ul, NULL) >= 0)
		vx.mtu = want_mtu(c, &ul, &ret->local);
	r = verify(c, &vx, &l, CNI_ERR_INTERNAL, err);
	if (r >= 0 && !(l.flags & IFF_UP))
		r = cni_err_set(err, CNI_ERR_INTERNAL, ENETDOWN, "vxlan device \"%s\" is down",
				c->dev);
	if (r < 0)
		return r;
	ret->ifindex = l.ifindex;
	ret->mtu = l.mtu;
	return 0;
}

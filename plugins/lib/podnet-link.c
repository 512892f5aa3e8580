/* SPDX-License-Identifier: Apache-2.0 */
/* The kernel objects of one attachment: the shared bridge (ensured, never removed), the veth
 * pair (created from inside the pod netns, host end born in the host netns under its
 * deterministic name and labelled with the attachment's alias), the bridge port options and
 * the gateway addresses. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plugins/lib/podnet-internal.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/naming.h"
#include "common/netns.h"
#include "common/nl/addr.h"
#include "common/nl/link.h"

void podnet_alias_prefix(const char *network, char buf[256])
{
	const char *parts[] = {network};

	if (strlen(network) <= PODNET_ALIAS_NAME_MAX)
		snprintf(buf, 256, PODNET_ALIAS_PREFIX "%s ", network);
	else
		snprintf(buf, 256, PODNET_ALIAS_PREFIX "#%016llx ",
			 (unsigned long long)naming_hash(parts, 1));
}

void podnet_alias(const char *network, uint64_t tag, char buf[256])
{
	size_t n;

	/* The prefix is at most 5 + PODNET_ALIAS_NAME_MAX + 1 bytes: the tag always fits. */
	podnet_alias_prefix(network, buf);
	n = strlen(buf);
	snprintf(buf + n, 256 - n, "%016llx", (unsigned long long)tag);
}

int podnet_ctx_open(struct podnet_ctx *x, const struct cni_args *a, const struct podnet_conf *c,
		    bool need_netns, struct cni_err *err)
{
	int r;

	memset(x, 0, sizeof(*x));
	x->a = a;
	x->conf = c;
	x->nsfd = x->host_nsfd = -1;
	naming_host_veth_name(a->name, a->container_id, a->ifname, x->host_veth);
	podnet_alias(a->name, naming_attachment_hash(a->name, a->container_id, a->ifname),
		     x->alias);
	r = nl_open(&x->host, NL_NETNS_SELF, err);
	if (r < 0 || !need_netns)
		return r;
	r = netns_open(a->netns, &x->nsfd, err);
	if (r >= 0)
		r = nl_open(&x->ctr, x->nsfd, err);
	return r;
}

void podnet_ctx_close(struct podnet_ctx *x)
{
	nl_close(x->ctr);
	nl_close(x->host);
	x->ctr = x->host = NULL;
	if (x->nsfd >= 0)
		close(x->nsfd);
	if (x->host_nsfd >= 0)
		close(x->host_nsfd);
	x->nsfd = x->host_nsfd = -1;
}

/* Existing bridge: bring it to what this config needs (never lowering anything). */
static int bridge_adjust(struct podnet_ctx *x, const struct nl_link *l, struct cni_err *err)
{
	const struct podnet_conf *c = x->conf;
	int r = 0;

	if (podnet_vlan_filtering(c) && !l->vlan_filtering) {
		r = nl_link_set_vlan_filtering(x->host, l->ifindex, true, err);
		if (r == -EOPNOTSUPP)
			cni_err_add_details(err, "vlan/vlanTrunk need a kernel with "
						 "CONFIG_BRIDGE_VLAN_FILTERING");
	}
	/* A bigger mtu than the bridge's: raise it, or host -> pod traffic would be cut at the
	 * old size. Never lowered: other pods on the bridge rely on it. */
	if (r >= 0 && c->mtu > l->mtu)
		r = nl_link_set_mtu(x->host, l->ifindex, c->mtu, err);
	if (r >= 0 && c->promisc && !(l->flags & IFF_PROMISC))
		r = nl_link_set_promisc(x->host, l->ifindex, err);
	if (r >= 0 && !(l->flags & IFF_UP))
		r = nl_link_set_up(x->host, l->ifindex, err);
	return r;
}

static int bridge_create(struct podnet_ctx *x, struct cni_err *err)
{
	const struct podnet_conf *c = x->conf;
	uint8_t mac[6];
	/* An explicit MAC pins the bridge's address: without it the bridge takes the lowest
	 * port MAC and changes it as pods come and go. */
	struct nl_bridge br = {.name = c->bridge,
			       .mtu = c->mtu,
			       .mac = mac,
			       .vlan_filtering = podnet_vlan_filtering(c),
			       .up = true};
	int r;

	if (inet_mac_random(mac) < 0)
		br.mac = NULL;
	r = nl_link_add_bridge(x->host, &br, err);
	if (r == -EOPNOTSUPP && br.vlan_filtering)
		cni_err_add_details(err, "vlan/vlanTrunk need a kernel with "
					 "CONFIG_BRIDGE_VLAN_FILTERING");
	if (r == -EEXIST) {
		cni_err_clear(err); /* a concurrent ADD won the race: use its bridge */
		return 0;
	}
	return r < 0 ? r : 1;
}

/* A network whose IPAM hands out IPv4 only needs no IPv6 on the bridge: without a link-local
 * address the bridge sends no MLD report, flooded to every port, each time a port is added.
 * Set right after creation, before the first port gives the bridge a carrier (the address is
 * made then). An IPv6 gateway added later needs no link-local address. Best effort: a kernel
 * without IPv6 refuses it and has no address to make anyway. */
static void bridge_no_link_local(struct podnet_ctx *x, int ifindex)
{
	static const struct nl_link_change c = {.af = {.addr_gen_none = true}};
	struct inet_prefix nets[16];
	int n = ipam_subnets(x->conf->ipam, nets, ARRAY_SIZE(nets));

	if (n <= 0 || x->conf->ipv6_link_local)
		return; /* no IPAM, or one that does not tell: keep the kernel's default */
	for (int i = 0; i < n; i++)
		if (nets[i].addr.family != AF_INET)
			return;
	(void)nl_link_change(x->host, ifindex, &c, NULL);
}

int podnet_bridge_ensure(struct podnet_ctx *x, struct cni_err *err)
{
	const char *name = x->conf->bridge;
	struct nl_link l;
	char key[64];
	int r, created = 0;

	r = nl_link_get(x->host, name, &l, err);
	if (r == -ENODEV) {
		cni_err_clear(err);
		created = bridge_create(x, err);
		r = created < 0 ? created : nl_link_get(x->host, name, &l, err); /* re-read */
	}
	if (r < 0)
		return cni_err_wrap(err, "failed to create bridge \"%s\"", name);
	if (strcmp(l.kind, "bridge") != 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "\"%s\" already exists but is not a bridge", name);
	r = bridge_adjust(x, &l, err);
	if (r < 0)
		return cni_err_wrap(err, "bridge \"%s\"", name);
	if (created) {
		/* We want to own the routes of this interface (the reference does the same). */
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_ra", name);
		(void)netns_sysctl_set(-1, key, "0", NULL); /* absent without IPv6 */
		bridge_no_link_local(x, l.ifindex);
	}
	x->br_index = l.ifindex;
	memcpy(x->br_mac, l.mac, 6);
	return 0;
}

/* The veth ADD could not create: say which name was taken. Never take over a foreign link. */
static int veth_clash(struct podnet_ctx *x, struct cni_err *err)
{
	struct nl_link l;

	if (nl_link_get(x->ctr, x->a->ifname, &l, NULL) >= 0)
		return cni_err_set(err, CNI_ERR_NETLINK, EEXIST,
				   "container veth name \"%s\" already exists", x->a->ifname);
	if (nl_link_get(x->host, x->host_veth, &l, NULL) >= 0)
		return cni_err_set(err, CNI_ERR_NETLINK, EEXIST,
				   "host veth name \"%s\" already exists (a leftover of the same "
				   "attachment, or a foreign link): not taking it over",
				   x->host_veth);
	return cni_err_set(err, CNI_ERR_NETLINK, EEXIST, "veth \"%s\": name taken", x->a->ifname);
}

static int veth_lookup(struct podnet_ctx *x, struct cni_err *err)
{
	struct nl_link h, c;
	int r;

	r = nl_link_get(x->host, x->host_veth, &h, err);
	if (r >= 0)
		r = nl_link_get(x->ctr, x->a->ifname, &c, err);
	if (r < 0)
		return cni_err_wrap(err, "look up the new veth pair");
	x->host_index = h.ifindex;
	x->ctr_index = c.ifindex;
	memcpy(x->host_mac, h.mac, 6);
	memcpy(x->ctr_mac, c.mac, 6);
	return 0;
}

int podnet_veth_create(struct podnet_ctx *x, struct cni_err *err)
{
	const struct podnet_conf *c = x->conf;
	struct nl_veth v = {.name = x->a->ifname,
			    .mac = x->ctr_mac,
			    .mtu = c->mtu,
			    .peer = x->host_veth,
			    .peer_mac = x->host_mac};
	struct nl_link echo;
	int r;

	x->host_nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (x->host_nsfd < 0)
		return cni_err_set(err, CNI_ERR_NETNS, errno, "open the host netns");
	v.peer_netns_fd = x->host_nsfd;
	/* Explicit MACs on both ends: nothing (udev's MACAddressPolicy) rewrites them later. */
	if (c->has_mac)
		memcpy(x->ctr_mac, c->mac, 6);
	else if (inet_mac_random(x->ctr_mac) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "random MAC");
	if (inet_mac_random(x->host_mac) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "random MAC");
	/* Created from inside the pod netns, the host end born in the host netns: nothing
	 * ever moves between namespaces and the container end cannot leak into the host. */
	r = nl_link_add_veth(x->ctr, &v, &echo, err);
	if (r == -EEXIST)
		return veth_clash(x, err);
	if (r < 0)
		return cni_err_wrap(err, "failed to set up veth");
	/* The kernel's echo names both ends (the peer as the pod end's link): no lookups. */
	if (echo.ifindex <= 0 || echo.link <= 0 || echo.link_netnsid < 0)
		return veth_lookup(x, err);
	x->ctr_index = echo.ifindex;
	x->host_index = echo.link;
	return 0;
}

/* Ranges, up to 32 per message so every request fits in NL_REQ_SIZE. */
static int trunk_apply(struct podnet_ctx *x, struct cni_err *err)
{
	struct nl_vlan v[32];
	size_t n = 0;
	int r;

	for (int vid = 1; vid <= PODNET_VLAN_MAX; vid++) {
		if (!podnet_trunk_has(x->conf, vid))
			continue;
		if (n && v[n - 1].vid_end == vid - 1) {
			v[n - 1].vid_end = (uint16_t)vid;
			continue;
		}
		if (n == ARRAY_SIZE(v)) {
			r = nl_link_vlan_add(x->host, x->host_index, v, n, err);
			if (r < 0)
				return r;
			n = 0;
		}
		v[n++] = (struct nl_vlan){.vid = (uint16_t)vid, .vid_end = (uint16_t)vid};
	}
	return n ? nl_link_vlan_add(x->host, x->host_index, v, n, err) : 0;
}

static int port_vlans(struct podnet_ctx *x, int ifindex, struct cni_err *err)
{
	const struct podnet_conf *c = x->conf;
	struct nl_vlan def = {.vid = 1},
		       acc = {.vid = (uint16_t)c->vlan, .pvid = true, .untagged = true};
	int r = 0;

	if (!c->preserve_default_vlan) {
		r = nl_link_vlan_del(x->host, ifindex, &def, 1, err);
		if (r == -ENOENT || r == -EINVAL) {
			cni_err_clear(err); /* the bridge's default_pvid is not 1 */
			r = 0;
		}
	}
	if (r >= 0 && c->vlan)
		r = nl_link_vlan_add(x->host, ifindex, &acc, 1, err);
	if (r >= 0 && ifindex == x->host_index && c->has_trunk) {
		r = trunk_apply(x, err);
		/* Trunk without an access VLAN: native VLAN 1, as the reference. */
		acc.vid = 1;
		if (r >= 0 && !c->vlan)
			r = nl_link_vlan_add(x->host, ifindex, &acc, 1, err);
	}
	return r;
}

/* Bridge port, up, alias, and no IPv6 link-local address, in one message. The host end is a
 * bridge port: it needs no address of its own, and one would cost an IPv6 route, DAD, MLD and
 * router solicitations per pod. Set before the port has a carrier (the pod end is still down),
 * so no address is ever made. The pod end keeps the kernel's defaults. */
static int port_enslave(struct podnet_ctx *x, struct cni_err *err)
{
	struct nl_link_change c = {.flags = IFF_UP,
				   .change = IFF_UP,
				   .master = x->br_index,
				   .alias = x->alias,
				   .af = {.addr_gen_none = true}};
	int r;

	r = nl_link_change(x->host, x->host_index, &c, err);
	if (r != -EAFNOSUPPORT && r != -EOPNOTSUPP && r != -EINVAL)
		return r;
	/* No IPv6 on the link (IPv6 off, MTU < 1280) or a kernel without addr_gen_mode: the
	 * kernel refused the whole message, nothing changed. */
	cni_err_clear(err);
	c.af.addr_gen_none = false;
	return nl_link_change(x->host, x->host_index, &c, err);
}

int podnet_port_setup(struct podnet_ctx *x, struct cni_err *err)
{
	const struct podnet_conf *c = x->conf;
	struct nl_brport p = {.hairpin = c->hairpin ? 1 : -1,
			      .isolated = c->port_isolation ? 1 : -1};
	int r;

	/* The alias rides on the enslave message: no extra round trip. A veth without it (the
	 * moment between creation and this) is never taken for ours by GC. */
	r = port_enslave(x, err);
	if (r >= 0 && (c->hairpin || c->port_isolation))
		r = nl_link_set_brport(x->host, x->host_index, &p, err);
	if (r >= 0 && podnet_vlan_filtering(c))
		r = port_vlans(x, x->host_index, err);
	if (r < 0)
		return cni_err_wrap(err, "failed to connect \"%s\" to bridge \"%s\"", x->host_veth,
				    c->bridge);
	return 0;
}

bool podnet_veth_is_ours(const struct podnet_ctx *x, const struct nl_link *l)
{
	return strcmp(l->kind, "veth") == 0 && (!l->alias[0] || strcmp(l->alias, x->alias) == 0);
}

int podnet_veth_del(struct podnet_ctx *x, struct cni_err *err)
{
	struct nl_link l;
	int r;

	r = nl_link_get(x->host, x->host_veth, &l, err);
	if (r == -ENODEV) {
		cni_err_clear(err);
		return 0;
	}
	if (r < 0)
		return r;
	if (!podnet_veth_is_ours(x, &l)) {
		log_warn("\"%s\" (%s, alias \"%s\") is not our veth: left alone", x->host_veth,
			 l.kind, l.alias);
		return 0;
	}
	r = nl_link_del(x->host, l.ifindex, err);
	if (r == -ENODEV) { /* gone meanwhile (the pod netns went away) */
		cni_err_clear(err);
		return 0;
	}
	return r;
}

/* With isGateway and vlan the gateway lives on "<bridge>.<vlan>", a host-side veth whose peer
 * is a bridge port in that VLAN (the reference's ensureVlanInterface). Shared, never removed;
 * concurrent ADDs race safely (EEXIST is success, the port setup is idempotent). */
static int vlan_iface_ensure(struct podnet_ctx *x, struct nl_link *ret, struct cni_err *err)
{
	const struct podnet_conf *c = x->conf;
	char name[32], peer[IFNAMSIZ], vid[8];
	struct nl_veth v = {
		.name = name, .mtu = c->mtu, .up = true, .peer = peer, .peer_netns_fd = -1};
	struct nl_link p;
	int r;

	if (snprintf(name, sizeof(name), "%s.%d", c->bridge, c->vlan) >= IFNAMSIZ)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "vlan gateway name \"%s\" too long",
				   name);
	snprintf(vid, sizeof(vid), "%d", c->vlan);
	naming_host_veth_name("weft-vlan-gateway", c->bridge, vid, peer);
	r = nl_link_get(x->host, name, ret, err);
	if (r >= 0)
		return 0;
	if (r != -ENODEV)
		return r;
	cni_err_clear(err);
	r = nl_link_add_veth(x->host, &v, NULL, err);
	if (r == -EEXIST)
		cni_err_clear(err);
	else if (r < 0)
		return r;
	r = nl_link_get(x->host, peer, &p, err);
	if (r >= 0)
		r = nl_link_change(x->host, p.ifindex,
				   &(struct nl_link_change){.flags = IFF_UP,
							    .change = IFF_UP,
							    .master = x->br_index},
				   err);
	if (r >= 0)
		r = port_vlans(x, p.ifindex, err);
	if (r >= 0)
		r = nl_link_get(x->host, name, ret, err);
	return r;
}

/* The reference's ensureAddr: the same address is fine; another IPv4 address (or an
 * overlapping IPv6 one) is replaced with forceAddress, an error otherwise. */
static int gw_conflicts(struct podnet_ctx *x, const struct nl_link *l, const struct inet_prefix *gw,
			struct cni_err *err)
{
	struct nl_addr addrs[32];
	struct inet_prefix a;
	char s[INET_PREFIX_STRLEN];
	size_t n;
	int r;

	r = nl_addr_list(x->host, l->ifindex, gw->addr.family, addrs, ARRAY_SIZE(addrs), &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && i < ARRAY_SIZE(addrs); i++) {
		a = addrs[i].prefix;
		if (a.len == gw->len && inet_addr_eq(&a.addr, &gw->addr))
			return 1; /* already there */
		if (gw->addr.family == AF_INET6 && !inet_prefix_contains(&a, &gw->addr) &&
		    !inet_prefix_contains(gw, &a.addr))
			continue;
		if (!x->conf->force_address)
			return cni_err_set(err, CNI_ERR_CONFIG, 0,
					   "\"%s\" already has an IP address different from %s",
					   l->name, inet_prefix_fmt(gw, s, sizeof(s)));
		r = nl_addr_del(x->host, l->ifindex, &a, err);
		if (r < 0 && r != -EADDRNOTAVAIL)
			return r;
		cni_err_clear(err);
	}
	return 0;
}

static int bridge_as_read(const struct podnet_ctx *x, struct nl_link *l)
{
	*l = (struct nl_link){.ifindex = x->br_index};
	memcpy(l->mac, x->br_mac, 6);
	l->has_mac = true;
	snprintf(l->name, sizeof(l->name), "%s", x->conf->bridge);
	return 0;
}

int podnet_gw_ensure(struct podnet_ctx *x, const struct inet_prefix *gw, struct cni_err *err)
{
	const struct podnet_conf *c = x->conf;
	struct nl_link l;
	int r;

	if (c->vlan)
		r = vlan_iface_ensure(x, &l, err);
	else if (x->br_mac_pinned) /* as read before our port joined: nothing can have moved */
		r = bridge_as_read(x, &l);
	else
		r = nl_link_get_by_index(x->host, x->br_index, &l, err);
	if (r < 0)
		return cni_err_wrap(err, "failed to set up the gateway interface");
	r = gw_conflicts(x, &l, gw, err);
	if (r == 0) {
		/* No DAD on the gateway: pods would wait for it to leave "tentative". */
		r = nl_addr_add(x->host, l.ifindex, gw, IFA_F_NODAD, err);
		if (r == -EEXIST) { /* a concurrent ADD added it first (plugins#366) */
			cni_err_clear(err);
			r = 0;
		}
	}
	if (r < 0)
		return cni_err_wrap(err, "failed to set bridge addr");
	x->gw_index = l.ifindex;
	memcpy(x->gw_mac, l.mac, 6);
	snprintf(x->gw_name, sizeof(x->gw_name), "%s", l.name);
	return 0;
}

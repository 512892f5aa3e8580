/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "common/nl/internal.h"
#include "common/nl/link.h"

/* IPv4 BIG TCP (Linux 6.3): absent from older uapi headers. Older kernels ignore them. */
#ifndef IFLA_GSO_IPV4_MAX_SIZE
#define IFLA_GSO_IPV4_MAX_SIZE 63
#define IFLA_GRO_IPV4_MAX_SIZE 64
#endif
#define LINK_ATTR_MAX (IFLA_MAX > IFLA_GRO_IPV4_MAX_SIZE ? IFLA_MAX : IFLA_GRO_IPV4_MAX_SIZE)

/* IPv4 BIG TCP on one end: the IPv4 GSO and GRO size limits. */
static bool put_gso_ipv4_max(struct nlmsghdr *nlh, size_t len, uint32_t size)
{
	return !size || (mnl_attr_put_u32_check(nlh, len, IFLA_GSO_IPV4_MAX_SIZE, size) &&
			 mnl_attr_put_u32_check(nlh, len, IFLA_GRO_IPV4_MAX_SIZE, size));
}

/* ---- builders ------------------------------------------------------------------------------ */

static struct nlmsghdr *link_start(void *buf, size_t len, uint16_t type, uint16_t flags, int family,
				   int ifindex, struct ifinfomsg **ret_ifi)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = nl_msg_start(buf, len, type, flags, sizeof(*ifi), (void **)&ifi);

	ifi->ifi_family = (unsigned char)family;
	ifi->ifi_index = ifindex;
	if (ret_ifi)
		*ret_ifi = ifi;
	return nlh;
}

static struct nlmsghdr *nl_build_link_get(void *buf, size_t len, int ifindex, const char *name)
{
	struct nlmsghdr *nlh = link_start(buf, len, RTM_GETLINK, 0, AF_UNSPEC, ifindex, NULL);

	/* Only the attributes we read: skip VF and stats blobs. */
	if (!mnl_attr_put_u32_check(nlh, len, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS))
		return NULL;
	if (name && !mnl_attr_put_strz_check(nlh, len, IFLA_IFNAME, name))
		return NULL;
	return nlh;
}

struct nlmsghdr *nl_build_link_add_bridge(void *buf, size_t len, const struct nl_bridge *br)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh =
		link_start(buf, len, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0, &ifi);
	struct nlattr *info, *data;

	if (br->up) {
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
	}
	if (!mnl_attr_put_strz_check(nlh, len, IFLA_IFNAME, br->name))
		return NULL;
	if (br->mtu && !mnl_attr_put_u32_check(nlh, len, IFLA_MTU, br->mtu))
		return NULL;
	if (br->mac && !mnl_attr_put_check(nlh, len, IFLA_ADDRESS, 6, br->mac))
		return NULL;
	info = mnl_attr_nest_start_check(nlh, len, IFLA_LINKINFO);
	if (!info || !mnl_attr_put_strz_check(nlh, len, IFLA_INFO_KIND, "bridge"))
		return NULL;
	if (br->vlan_filtering) {
		data = mnl_attr_nest_start_check(nlh, len, IFLA_INFO_DATA);
		if (!data || !mnl_attr_put_u8_check(nlh, len, IFLA_BR_VLAN_FILTERING, 1))
			return NULL;
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, info);
	return nlh;
}

/* The peer's half: an ifinfomsg (flags) followed by its attributes, inside VETH_INFO_PEER. */
static bool veth_put_peer(struct nlmsghdr *nlh, size_t len, const struct nl_veth *v)
{
	struct nlattr *peer = mnl_attr_nest_start_check(nlh, len, VETH_INFO_PEER);
	struct ifinfomsg *ifi;

	if (!peer || mnl_nlmsg_size(nlh->nlmsg_len + MNL_ALIGN(sizeof(*ifi))) > len)
		return false;
	ifi = mnl_nlmsg_get_payload_tail(nlh);
	memset(ifi, 0, sizeof(*ifi));
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*ifi));
	if (!mnl_attr_put_strz_check(nlh, len, IFLA_IFNAME, v->peer))
		return false;
	if (v->peer_mac && !mnl_attr_put_check(nlh, len, IFLA_ADDRESS, 6, v->peer_mac))
		return false;
	if (v->mtu && !mnl_attr_put_u32_check(nlh, len, IFLA_MTU, v->mtu))
		return false;
	if (!put_gso_ipv4_max(nlh, len, v->gso_ipv4_max))
		return false;
	if (v->peer_netns_fd >= 0 &&
	    !mnl_attr_put_u32_check(nlh, len, IFLA_NET_NS_FD, (uint32_t)v->peer_netns_fd))
		return false;
	mnl_attr_nest_end(nlh, peer);
	return true;
}

struct nlmsghdr *nl_build_link_add_veth(void *buf, size_t len, const struct nl_veth *v)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh =
		link_start(buf, len, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0, &ifi);
	struct nlattr *info, *data;

	if (v->up) {
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
	}
	if (!mnl_attr_put_strz_check(nlh, len, IFLA_IFNAME, v->name))
		return NULL;
	if (v->mac && !mnl_attr_put_check(nlh, len, IFLA_ADDRESS, 6, v->mac))
		return NULL;
	if (v->mtu && !mnl_attr_put_u32_check(nlh, len, IFLA_MTU, v->mtu))
		return NULL;
	if (!put_gso_ipv4_max(nlh, len, v->gso_ipv4_max))
		return NULL;
	info = mnl_attr_nest_start_check(nlh, len, IFLA_LINKINFO);
	if (!info || !mnl_attr_put_strz_check(nlh, len, IFLA_INFO_KIND, "veth"))
		return NULL;
	data = mnl_attr_nest_start_check(nlh, len, IFLA_INFO_DATA);
	if (!data || !veth_put_peer(nlh, len, v))
		return NULL;
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nlh;
}

static bool put_bridge_opts(struct nlmsghdr *nlh, size_t len, int vlan_filtering)
{
	struct nlattr *info, *data;

	info = mnl_attr_nest_start_check(nlh, len, IFLA_LINKINFO);
	if (!info || !mnl_attr_put_strz_check(nlh, len, IFLA_INFO_KIND, "bridge"))
		return false;
	data = mnl_attr_nest_start_check(nlh, len, IFLA_INFO_DATA);
	if (!data || !mnl_attr_put_u8_check(nlh, len, IFLA_BR_VLAN_FILTERING, !!vlan_filtering))
		return false;
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return true;
}

/* IFLA_AF_SPEC: AF_INET holds IFLA_INET_CONF, one u32 attribute per IPV4_DEVCONF_* id (the
 * id itself, not the id - 1 of the array the kernel reports); AF_INET6 the generation mode. */
static bool put_af_spec(struct nlmsghdr *nlh, size_t len, const struct nl_link_af *af)
{
	struct nlattr *spec, *fam, *conf;

	if (!af->arp_notify && !af->addr_gen_none)
		return true;
	spec = mnl_attr_nest_start_check(nlh, len, IFLA_AF_SPEC);
	if (!spec)
		return false;
	if (af->arp_notify) {
		fam = mnl_attr_nest_start_check(nlh, len, AF_INET);
		conf = fam ? mnl_attr_nest_start_check(nlh, len, IFLA_INET_CONF) : NULL;
		if (!conf || !mnl_attr_put_u32_check(nlh, len, IPV4_DEVCONF_ARP_NOTIFY, 1))
			return false;
		mnl_attr_nest_end(nlh, conf);
		mnl_attr_nest_end(nlh, fam);
	}
	if (af->addr_gen_none) {
		fam = mnl_attr_nest_start_check(nlh, len, AF_INET6);
		if (!fam || !mnl_attr_put_u8_check(nlh, len, IFLA_INET6_ADDR_GEN_MODE,
						   IN6_ADDR_GEN_MODE_NONE))
			return false;
		mnl_attr_nest_end(nlh, fam);
	}
	mnl_attr_nest_end(nlh, spec);
	return true;
}

struct nlmsghdr *nl_build_link_change(void *buf, size_t len, int ifindex,
				      const struct nl_link_change *c)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_start(buf, len, RTM_NEWLINK, 0, AF_UNSPEC, ifindex, &ifi);

	ifi->ifi_flags = c->flags;
	ifi->ifi_change = c->change;
	if (c->mtu && !mnl_attr_put_u32_check(nlh, len, IFLA_MTU, c->mtu))
		return NULL;
	if (c->mac && !mnl_attr_put_check(nlh, len, IFLA_ADDRESS, 6, c->mac))
		return NULL;
	if (c->master &&
	    !mnl_attr_put_u32_check(nlh, len, IFLA_MASTER, c->master > 0 ? (uint32_t)c->master : 0))
		return NULL;
	if (c->vlan_filtering && !put_bridge_opts(nlh, len, c->vlan_filtering > 0))
		return NULL;
	if (c->alias && !mnl_attr_put_strz_check(nlh, len, IFLA_IFALIAS, c->alias))
		return NULL;
	if (!put_af_spec(nlh, len, &c->af))
		return NULL;
	return nlh;
}

struct nlmsghdr *nl_build_link_brport(void *buf, size_t len, int ifindex, const struct nl_brport *p)
{
	struct nlmsghdr *nlh = link_start(buf, len, RTM_SETLINK, 0, AF_BRIDGE, ifindex, NULL);
	struct nlattr *pi = mnl_attr_nest_start_check(nlh, len, IFLA_PROTINFO | NLA_F_NESTED);

	if (!pi)
		return NULL;
	if (p->hairpin >= 0 &&
	    !mnl_attr_put_u8_check(nlh, len, IFLA_BRPORT_MODE, (uint8_t)p->hairpin))
		return NULL;
	if (p->isolated >= 0 &&
	    !mnl_attr_put_u8_check(nlh, len, IFLA_BRPORT_ISOLATED, (uint8_t)p->isolated))
		return NULL;
	mnl_attr_nest_end(nlh, pi);
	return nlh;
}

static bool put_vlan_info(struct nlmsghdr *nlh, size_t len, uint16_t flags, uint16_t vid)
{
	struct bridge_vlan_info vi = {.flags = flags, .vid = vid};

	return mnl_attr_put_check(nlh, len, IFLA_BRIDGE_VLAN_INFO, sizeof(vi), &vi);
}

struct nlmsghdr *nl_build_link_vlan(void *buf, size_t len, uint16_t type, int ifindex,
				    const struct nl_vlan *v, size_t n)
{
	struct nlmsghdr *nlh = link_start(buf, len, type, 0, AF_BRIDGE, ifindex, NULL);
	struct nlattr *spec = mnl_attr_nest_start_check(nlh, len, IFLA_AF_SPEC);

	if (!spec)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint16_t f = (v[i].pvid ? BRIDGE_VLAN_INFO_PVID : 0) |
			     (v[i].untagged ? BRIDGE_VLAN_INFO_UNTAGGED : 0);

		if (v[i].vid_end > v[i].vid) {
			if (!put_vlan_info(nlh, len, f | BRIDGE_VLAN_INFO_RANGE_BEGIN, v[i].vid) ||
			    !put_vlan_info(nlh, len, f | BRIDGE_VLAN_INFO_RANGE_END, v[i].vid_end))
				return NULL;
		} else if (!put_vlan_info(nlh, len, f, v[i].vid)) {
			return NULL;
		}
	}
	mnl_attr_nest_end(nlh, spec);
	return nlh;
}

static struct nlmsghdr *nl_build_link_dump(void *buf, size_t len)
{
	struct nlmsghdr *nlh = link_start(buf, len, RTM_GETLINK, 0, AF_UNSPEC, 0, NULL);

	if (!mnl_attr_put_u32_check(nlh, len, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS))
		return NULL;
	return nlh;
}

static struct nlmsghdr *nl_build_link_del(void *buf, size_t len, int ifindex, const char *name)
{
	struct nlmsghdr *nlh = link_start(buf, len, RTM_DELLINK, 0, AF_UNSPEC, ifindex, NULL);

	if (name && !mnl_attr_put_strz_check(nlh, len, IFLA_IFNAME, name))
		return NULL;
	return nlh;
}

/* ---- reply parsing ------------------------------------------------------------------------- */

static const uint16_t link_sizes[LINK_ATTR_MAX + 1] = {
	[IFLA_IFNAME] = NL_ATTR_STR,
	[IFLA_GSO_MAX_SIZE] = 4,
	[IFLA_GRO_MAX_SIZE] = 4,
	[IFLA_GSO_IPV4_MAX_SIZE] = 4,
	[IFLA_GRO_IPV4_MAX_SIZE] = 4,
	[IFLA_MTU] = 4,
	[IFLA_MASTER] = 4,
	[IFLA_LINK] = 4,
	[IFLA_OPERSTATE] = 1,
	[IFLA_LINK_NETNSID] = 4,
	[IFLA_IFALIAS] = NL_ATTR_STR,
};

static void link_parse_slave(const struct nlattr *data, struct nl_link *l)
{
	const struct nlattr *tb[IFLA_BRPORT_MAX + 1];

	if (strcmp(l->slave_kind, "bridge") != 0 ||
	    nl_parse_nested(data, tb, IFLA_BRPORT_MAX, NULL) < 0)
		return;
	if (tb[IFLA_BRPORT_MODE] && mnl_attr_get_payload_len(tb[IFLA_BRPORT_MODE]) >= 1)
		l->hairpin = mnl_attr_get_u8(tb[IFLA_BRPORT_MODE]);
	if (tb[IFLA_BRPORT_ISOLATED] && mnl_attr_get_payload_len(tb[IFLA_BRPORT_ISOLATED]) >= 1)
		l->isolated = mnl_attr_get_u8(tb[IFLA_BRPORT_ISOLATED]);
	if (tb[IFLA_BRPORT_STATE] && mnl_attr_get_payload_len(tb[IFLA_BRPORT_STATE]) >= 1)
		l->brport_state = mnl_attr_get_u8(tb[IFLA_BRPORT_STATE]);
}

static void link_parse_info(const struct nlattr *info, struct nl_link *l)
{
	const struct nlattr *tb[IFLA_INFO_MAX + 1];
	const struct nlattr *br[IFLA_BR_MAX + 1];
	static const uint16_t sizes[IFLA_INFO_MAX + 1] = {
		[IFLA_INFO_KIND] = NL_ATTR_STR,
		[IFLA_INFO_SLAVE_KIND] = NL_ATTR_STR,
	};

	if (nl_parse_nested(info, tb, IFLA_INFO_MAX, sizes) < 0)
		return;
	if (tb[IFLA_INFO_KIND])
		snprintf(l->kind, sizeof(l->kind), "%s", mnl_attr_get_str(tb[IFLA_INFO_KIND]));
	if (tb[IFLA_INFO_SLAVE_KIND])
		snprintf(l->slave_kind, sizeof(l->slave_kind), "%s",
			 mnl_attr_get_str(tb[IFLA_INFO_SLAVE_KIND]));
	if (tb[IFLA_INFO_SLAVE_DATA])
		link_parse_slave(tb[IFLA_INFO_SLAVE_DATA], l);
	if (strcmp(l->kind, "bridge") == 0 && tb[IFLA_INFO_DATA] &&
	    nl_parse_nested(tb[IFLA_INFO_DATA], br, IFLA_BR_MAX, NULL) >= 0 &&
	    br[IFLA_BR_VLAN_FILTERING] && mnl_attr_get_payload_len(br[IFLA_BR_VLAN_FILTERING]) >= 1)
		l->vlan_filtering = mnl_attr_get_u8(br[IFLA_BR_VLAN_FILTERING]);
	if (strcmp(l->kind, "vxlan") == 0 && tb[IFLA_INFO_DATA])
		nl_vxlan_parse_info(tb[IFLA_INFO_DATA], l);
}

static int link_parse(const struct nlmsghdr *nlh, struct nl_link *l)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[LINK_ATTR_MAX + 1];

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nl_parse(nlh, sizeof(*ifi), tb, LINK_ATTR_MAX, link_sizes) < 0)
		return MNL_CB_ERROR;
	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	l->link_netnsid = -1;
	l->brport_state = -1;
	if (tb[IFLA_IFNAME])
		snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6) {
		memcpy(l->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
		l->has_mac = true;
	}
	if (tb[IFLA_MTU])
		l->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_MASTER])
		l->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_LINK])
		l->link = (int)mnl_attr_get_u32(tb[IFLA_LINK]);
	if (tb[IFLA_LINK_NETNSID])
		l->link_netnsid = (int)mnl_attr_get_u32(tb[IFLA_LINK_NETNSID]);
	if (tb[IFLA_OPERSTATE])
		l->operstate = mnl_attr_get_u8(tb[IFLA_OPERSTATE]);
	if (tb[IFLA_IFALIAS])
		snprintf(l->alias, sizeof(l->alias), "%s", mnl_attr_get_str(tb[IFLA_IFALIAS]));
	if (tb[IFLA_GSO_MAX_SIZE])
		l->gso_max[NL_GSO] = mnl_attr_get_u32(tb[IFLA_GSO_MAX_SIZE]);
	if (tb[IFLA_GRO_MAX_SIZE])
		l->gso_max[NL_GRO] = mnl_attr_get_u32(tb[IFLA_GRO_MAX_SIZE]);
	if (tb[IFLA_GSO_IPV4_MAX_SIZE])
		l->gso_max[NL_GSO_IPV4] = mnl_attr_get_u32(tb[IFLA_GSO_IPV4_MAX_SIZE]);
	if (tb[IFLA_GRO_IPV4_MAX_SIZE])
		l->gso_max[NL_GRO_IPV4] = mnl_attr_get_u32(tb[IFLA_GRO_IPV4_MAX_SIZE]);
	if (tb[IFLA_LINKINFO])
		link_parse_info(tb[IFLA_LINKINFO], l);
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	return link_parse(nlh, data);
}

struct link_list {
	struct nl_link *v;
	size_t n, cap;
};

static int link_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_list *l = data;
	struct nl_link *v;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 32;
		v = realloc(l->v, l->cap * sizeof(*v));
		if (!v)
			return MNL_CB_ERROR;
		l->v = v;
	}
	if (link_parse(nlh, &l->v[l->n]) != MNL_CB_OK)
		return MNL_CB_ERROR;
	l->n++;
	return MNL_CB_OK;
}

static void link_list_reset(void *data)
{
	((struct link_list *)data)->n = 0;
}

int nl_link_list(struct nl *nl, struct nl_link **ret, size_t *ret_n, struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_build_link_dump(buf, sizeof(buf));
	struct link_list l = {0};

	if (!nlh)
		return cni_err_set(err, CNI_ERR_INTERNAL, EMSGSIZE, "build link dump");
	if (nl_dump(nl, nlh, link_list_cb, link_list_reset, &l, err) < 0) {
		free(l.v);
		return cni_err_wrap(err, "list links");
	}
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}

/* ---- verbs --------------------------------------------------------------------------------- */

#define NO_ROOM(err, what) cni_err_set(err, CNI_ERR_INTERNAL, EMSGSIZE, "build %s", what)

static int link_get(struct nl *nl, int ifindex, const char *name, struct nl_link *ret,
		    struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_build_link_get(buf, sizeof(buf), ifindex, name);
	struct nl_link l = {0};
	int r;

	if (!nlh)
		return NO_ROOM(err, "link get");
	r = nl_talk(nl, nlh, link_cb, &l, err);
	if (r < 0) {
		if (name)
			return cni_err_wrap(err, "get link \"%s\"", name);
		return cni_err_wrap(err, "get link #%d", ifindex);
	}
	if (l.ifindex <= 0)
		return cni_err_set(err, CNI_ERR_NETLINK, ENODEV, "get link: no answer");
	*ret = l;
	return 0;
}

int nl_link_get(struct nl *nl, const char *name, struct nl_link *ret, struct cni_err *err)
{
	return link_get(nl, 0, name, ret, err);
}

int nl_link_get_by_index(struct nl *nl, int ifindex, struct nl_link *ret, struct cni_err *err)
{
	return link_get(nl, ifindex, NULL, ret, err);
}

int nl_link_add_bridge(struct nl *nl, const struct nl_bridge *br, struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_build_link_add_bridge(buf, sizeof(buf), br);

	if (!nlh)
		return NO_ROOM(err, "bridge");
	if (nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return cni_err_wrap(err, "add bridge \"%s\"", br->name);
	return 0;
}

int nl_link_add_veth(struct nl *nl, const struct nl_veth *v, struct nl_link *ret,
		     struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_build_link_add_veth(buf, sizeof(buf), v);

	if (!nlh)
		return NO_ROOM(err, "veth");
	if (ret) {
		*ret = (struct nl_link){.ifindex = 0};
		nlh->nlmsg_flags |= NLM_F_ECHO;
	}
	if (nl_talk(nl, nlh, ret ? link_cb : NULL, ret, err) < 0)
		return cni_err_wrap(err, "add veth \"%s\" (peer \"%s\")", v->name, v->peer);
	return 0;
}

int nl_link_change(struct nl *nl, int ifindex, const struct nl_link_change *c, struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_build_link_change(buf, sizeof(buf), ifindex, c);
	const char *what = c->master	       ? "set master"
			   : c->flags & IFF_UP ? "set up"
			   : c->mtu	       ? "set mtu"
			   : c->mac	       ? "set mac"
					       : "change";

	if (!nlh)
		return NO_ROOM(err, what);
	if (nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return cni_err_wrap(err, "%s of link #%d", what, ifindex);
	return 0;
}

int nl_link_set_up(struct nl *nl, int ifindex, struct cni_err *err)
{
	return nl_link_change(nl, ifindex,
			      &(struct nl_link_change){.flags = IFF_UP, .change = IFF_UP}, err);
}

int nl_link_set_promisc(struct nl *nl, int ifindex, struct cni_err *err)
{
	return nl_link_change(nl, ifindex,
			      &(struct nl_link_change){.flags = IFF_PROMISC, .change = IFF_PROMISC},
			      err);
}

int nl_link_set_mtu(struct nl *nl, int ifindex, uint32_t mtu, struct cni_err *err)
{
	return nl_link_change(nl, ifindex, &(struct nl_link_change){.mtu = mtu}, err);
}

int nl_link_set_mac(struct nl *nl, int ifindex, const uint8_t mac[6], struct cni_err *err)
{
	return nl_link_change(nl, ifindex, &(struct nl_link_change){.mac = mac}, err);
}

int nl_link_set_vlan_filtering(struct nl *nl, int ifindex, bool on, struct cni_err *err)
{
	return nl_link_change(
		nl, ifindex, &(struct nl_link_change){.vlan_filtering = on ? 1 : NL_LINK_OFF}, err);
}

int nl_link_set_brport(struct nl *nl, int ifindex, const struct nl_brport *p, struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_build_link_brport(buf, sizeof(buf), ifindex, p);

	if (!nlh)
		return NO_ROOM(err, "bridge port");
	if (nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return cni_err_wrap(err, "set bridge port options of link #%d", ifindex);
	return 0;
}

static int link_vlan(struct nl *nl, uint16_t type, int ifindex, const struct nl_vlan *v, size_t n,
		     struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_build_link_vlan(buf, sizeof(buf), type, ifindex, v, n);

	if (!nlh)
		return NO_ROOM(err, "bridge vlans");
	if (nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return cni_err_wrap(err, "%s bridge vlans of link #%d",
				    type == RTM_DELLINK ? "delete" : "add", ifindex);
	return 0;
}

int nl_link_vlan_add(struct nl *nl, int ifindex, const struct nl_vlan *v, size_t n,
		     struct cni_err *err)
{
	return link_vlan(nl, RTM_SETLINK, ifindex, v, n, err);
}

int nl_link_vlan_del(struct nl *nl, int ifindex, const struct nl_vlan *v, size_t n,
		     struct cni_err *err)
{
	return link_vlan(nl, RTM_DELLINK, ifindex, v, n, err);
}

int nl_link_del(struct nl *nl, int ifindex, struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_build_link_del(buf, sizeof(buf), ifindex, NULL);

	if (!nlh)
		return NO_ROOM(err, "link del");
	if (nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return cni_err_wrap(err, "delete link #%d", ifindex);
	return 0;
}

int nl_link_del_by_name(struct nl *nl, const char *name, struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_build_link_del(buf, sizeof(buf), 0, name);

	if (!nlh)
		return NO_ROOM(err, "link del");
	if (nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return cni_err_wrap(err, "delete link \"%s\"", name);
	return 0;
}

const char *nl_mac_fmt(const uint8_t mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
	return buf;
}

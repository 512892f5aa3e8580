/* SPDX-License-Identifier: Apache-2.0 */
/* Netlink message builders, parsed back with libmnl. No socket, no root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/neighbour.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "common/nl/internal.h"

static char buf[NL_REQ_SIZE];

static const struct nlattr *find_attr(const struct nlmsghdr *nlh, size_t hdr, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, hdr)
	{
		if (mnl_attr_get_type(a) == type)
			return a;
	}
	return NULL;
}

static const struct nlattr *find_nested(const struct nlattr *nest, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest)
	{
		if (mnl_attr_get_type(a) == type)
			return a;
	}
	return NULL;
}

static void test_bridge(void **state)
{
	static const uint8_t mac[6] = {0x02, 1, 2, 3, 4, 5};
	struct nl_bridge br = {.name = "cni0", .mtu = 1400, .mac = mac, .vlan_filtering = true};
	struct nlmsghdr *nlh = nl_build_link_add_bridge(buf, sizeof(buf), &br);
	const struct nlattr *info, *data;

	(void)state;
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
	assert_string_equal(mnl_attr_get_str(find_attr(nlh, sizeof(struct ifinfomsg), IFLA_IFNAME)),
			    "cni0");
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, sizeof(struct ifinfomsg), IFLA_MTU)),
			 1400);
	assert_memory_equal(
		mnl_attr_get_payload(find_attr(nlh, sizeof(struct ifinfomsg), IFLA_ADDRESS)), mac,
		6);
	info = find_attr(nlh, sizeof(struct ifinfomsg), IFLA_LINKINFO);
	assert_non_null(info);
	assert_string_equal(mnl_attr_get_str(find_nested(info, IFLA_INFO_KIND)), "bridge");
	data = find_nested(info, IFLA_INFO_DATA);
	assert_non_null(data);
	assert_int_equal(mnl_attr_get_u8(find_nested(data, IFLA_BR_VLAN_FILTERING)), 1);

	br.vlan_filtering = false;
	br.mtu = 0;
	br.mac = NULL;
	nlh = nl_build_link_add_bridge(buf, sizeof(buf), &br);
	assert_null(find_attr(nlh, sizeof(struct ifinfomsg), IFLA_MTU));
	assert_null(find_attr(nlh, sizeof(struct ifinfomsg), IFLA_ADDRESS));
	assert_null(find_nested(find_attr(nlh, sizeof(struct ifinfomsg), IFLA_LINKINFO),
				IFLA_INFO_DATA));
}

static void test_veth(void **state)
{
	static const uint8_t m1[6] = {0x02, 0, 0, 0, 0, 1}, m2[6] = {0x02, 0, 0, 0, 0, 2};
	struct nl_veth v = {.name = "eth0",
			    .mac = m1,
			    .mtu = 9000,
			    .peer = "veth0123456789a",
			    .peer_mac = m2,
			    .peer_netns_fd = 7};
	struct nlmsghdr *nlh = nl_build_link_add_veth(buf, sizeof(buf), &v);
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh), *pifi;
	const struct nlattr *info, *data, *peer;
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	struct nl_attr_tb t = {.tb = tb, .max = IFLA_MAX};

	(void)state;
	assert_non_null(nlh);
	assert_int_equal(ifi->ifi_flags & IFF_UP, 0); /* the container end stays down */
	assert_string_equal(mnl_attr_get_str(find_attr(nlh, sizeof(*ifi), IFLA_IFNAME)), "eth0");
	assert_memory_equal(mnl_attr_get_payload(find_attr(nlh, sizeof(*ifi), IFLA_ADDRESS)), m1,
			    6);
	info = find_attr(nlh, sizeof(*ifi), IFLA_LINKINFO);
	assert_string_equal(mnl_attr_get_str(find_nested(info, IFLA_INFO_KIND)), "veth");
	data = find_nested(info, IFLA_INFO_DATA);
	peer = find_nested(data, VETH_INFO_PEER);
	assert_non_null(peer);
	/* The peer nest starts with its own ifinfomsg, then attributes. */
	pifi = mnl_attr_get_payload(peer);
	assert_int_equal(pifi->ifi_flags, 0);
	assert_true(
		mnl_attr_parse_payload((char *)pifi + MNL_ALIGN(sizeof(*pifi)),
				       mnl_attr_get_payload_len(peer) - MNL_ALIGN(sizeof(*pifi)),
				       nl_attr_tb_cb, &t) >= 0);
	assert_string_equal(mnl_attr_get_str(tb[IFLA_IFNAME]), "veth0123456789a");
	assert_memory_equal(mnl_attr_get_payload(tb[IFLA_ADDRESS]), m2, 6);
	assert_int_equal(mnl_attr_get_u32(tb[IFLA_NET_NS_FD]), 7);
	assert_int_equal(mnl_attr_get_u32(tb[IFLA_MTU]), 9000);

	/* Too small a buffer: NULL, never a truncated message. */
	assert_null(nl_build_link_add_veth(buf, 64, &v));
	/* No BIG TCP asked: no size attributes (63, 64: IFLA_GSO/GRO_IPV4_MAX_SIZE). */
	nlh = nl_build_link_add_veth(buf, sizeof(buf), &v);
	assert_null(find_attr(nlh, sizeof(*ifi), 63));
	assert_null(find_attr(nlh, sizeof(*ifi), 64));
}

/* IPv4 BIG TCP: IPv4 GSO and GRO max sizes on both ends, nothing for IPv6. */
static void test_veth_big_tcp(void **state)
{
	struct nl_veth v = {
		.name = "eth0", .peer = "veth0", .gso_ipv4_max = 196608, .peer_netns_fd = -1};
	struct nlmsghdr *nlh = nl_build_link_add_veth(buf, sizeof(buf), &v);
	const struct nlattr *peer, *a;
	const struct ifinfomsg *pifi;
	size_t plen, n = 0;

	(void)state;
	assert_non_null(nlh);
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, sizeof(struct ifinfomsg), 63)), 196608);
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, sizeof(struct ifinfomsg), 64)), 196608);
	assert_null(find_attr(nlh, sizeof(struct ifinfomsg), IFLA_GSO_MAX_SIZE));
	peer = find_nested(find_nested(find_attr(nlh, sizeof(struct ifinfomsg), IFLA_LINKINFO),
				       IFLA_INFO_DATA),
			   VETH_INFO_PEER);
	pifi = mnl_attr_get_payload(peer);
	plen = mnl_attr_get_payload_len(peer) - MNL_ALIGN(sizeof(*pifi));
	a = (const struct nlattr *)((const char *)pifi + MNL_ALIGN(sizeof(*pifi)));
	for (; mnl_attr_ok(a, (int)plen); plen -= MNL_ALIGN(a->nla_len), a = mnl_attr_next(a)) {
		if (mnl_attr_get_type(a) != 63 && mnl_attr_get_type(a) != 64)
			continue;
		assert_int_equal(mnl_attr_get_u32(a), 196608);
		n++;
	}
	assert_int_equal(n, 2);
}

static void test_link_change(void **state)
{
	struct nl_link_change c = {.flags = IFF_UP, .change = IFF_UP, .master = 12};
	struct nlmsghdr *nlh = nl_build_link_change(buf, sizeof(buf), 34, &c);
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	(void)state;
	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST);
	assert_int_equal(ifi->ifi_index, 34);
	assert_int_equal(ifi->ifi_flags, IFF_UP);
	assert_int_equal(ifi->ifi_change, IFF_UP);
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, sizeof(*ifi), IFLA_MASTER)), 12);
	assert_null(find_attr(nlh, sizeof(*ifi), IFLA_LINKINFO));

	c = (struct nl_link_change){.vlan_filtering = 1};
	nlh = nl_build_link_change(buf, sizeof(buf), 5, &c);
	assert_null(find_attr(nlh, sizeof(*ifi), IFLA_MASTER));
	assert_int_equal(
		mnl_attr_get_u8(find_nested(
			find_nested(find_attr(nlh, sizeof(*ifi), IFLA_LINKINFO), IFLA_INFO_DATA),
			IFLA_BR_VLAN_FILTERING)),
		1);
	/* zeroed fields leave their property alone; the "off" and "release" values are sent */
	c = (struct nl_link_change){.master = NL_LINK_RELEASE, .vlan_filtering = NL_LINK_OFF};
	nlh = nl_build_link_change(buf, sizeof(buf), 5, &c);
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, sizeof(*ifi), IFLA_MASTER)), 0);
	assert_int_equal(
		mnl_attr_get_u8(find_nested(
			find_nested(find_attr(nlh, sizeof(*ifi), IFLA_LINKINFO), IFLA_INFO_DATA),
			IFLA_BR_VLAN_FILTERING)),
		0);
	c = (struct nl_link_change){0};
	nlh = nl_build_link_change(buf, sizeof(buf), 5, &c);
	assert_int_equal(nlh->nlmsg_len, NLMSG_LENGTH(sizeof(*ifi)));
}

static void test_alias(void **state)
{
	struct nl_link_change c = {.flags = IFF_UP,
				   .change = IFF_UP,
				   .master = 3,
				   .alias = "weft net 0123456789abcdef"};
	struct nlmsghdr *nlh = nl_build_link_change(buf, sizeof(buf), 7, &c);

	(void)state;
	/* enslave, up and the alias in one message */
	assert_string_equal(
		mnl_attr_get_str(find_attr(nlh, sizeof(struct ifinfomsg), IFLA_IFALIAS)),
		"weft net 0123456789abcdef");
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, sizeof(struct ifinfomsg), IFLA_MASTER)),
			 3);
	c.alias = NULL;
	nlh = nl_build_link_change(buf, sizeof(buf), 7, &c);
	assert_null(find_attr(nlh, sizeof(struct ifinfomsg), IFLA_IFALIAS));
}

/* IFLA_AF_SPEC on a link change: AF_INET / IFLA_INET_CONF / IPV4_DEVCONF_ARP_NOTIFY (the id,
 * not id - 1) and AF_INET6 / IFLA_INET6_ADDR_GEN_MODE, after the flags of the same message. */
static void test_link_change_af(void **state)
{
	struct nl_link_change c = {.flags = IFF_UP, .change = IFF_UP, .af = {.arp_notify = true}};
	struct nlmsghdr *nlh = nl_build_link_change(buf, sizeof(buf), 4, &c);
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *spec, *inet, *conf, *a;
	int n = 0;

	(void)state;
	assert_non_null(nlh);
	assert_int_equal(ifi->ifi_flags, IFF_UP);
	spec = find_attr(nlh, sizeof(*ifi), IFLA_AF_SPEC);
	assert_non_null(spec);
	inet = find_nested(spec, AF_INET);
	assert_non_null(inet);
	assert_null(find_nested(spec, AF_INET6));
	conf = find_nested(inet, IFLA_INET_CONF);
	assert_non_null(conf);
	mnl_attr_for_each_nested(a, conf)
	{
		assert_int_equal(mnl_attr_get_type(a), IPV4_DEVCONF_ARP_NOTIFY);
		assert_int_equal(mnl_attr_get_payload_len(a), 4);
		assert_int_equal(mnl_attr_get_u32(a), 1);
		n++;
	}
	assert_int_equal(n, 1);

	/* The host end: enslave, up, alias and no IPv6 link-local address in one message. */
	c = (struct nl_link_change){.flags = IFF_UP,
				    .change = IFF_UP,
				    .master = 3,
				    .alias = "weft n 0123456789abcdef",
				    .af = {.addr_gen_none = true}};
	nlh = nl_build_link_change(buf, sizeof(buf), 8, &c);
	assert_non_null(nlh);
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, sizeof(*ifi), IFLA_MASTER)), 3);
	spec = find_attr(nlh, sizeof(*ifi), IFLA_AF_SPEC);
	assert_null(find_nested(spec, AF_INET));
	a = find_nested(find_nested(spec, AF_INET6), IFLA_INET6_ADDR_GEN_MODE);
	assert_non_null(a);
	assert_int_equal(mnl_attr_get_payload_len(a), 1);
	assert_int_equal(mnl_attr_get_u8(a), IN6_ADDR_GEN_MODE_NONE);
	/* Nothing asked: no IFLA_AF_SPEC at all (the kernel would refuse an empty one). */
	c.af = (struct nl_link_af){0};
	nlh = nl_build_link_change(buf, sizeof(buf), 8, &c);
	assert_null(find_attr(nlh, sizeof(*ifi), IFLA_AF_SPEC));
	/* Too small a buffer for the nest: NULL, never a truncated message. */
	c.af.arp_notify = c.af.addr_gen_none = true;
	nlh = nl_build_link_change(buf, sizeof(buf), 8, &c);
	assert_null(nl_build_link_change(buf, nlh->nlmsg_len - 4, 8, &c));
}

/* RTM_GETNETCONF of conf/all; the reply's NETCONFA_FORWARDING read back. */
static void test_netconf(void **state)
{
	struct nlmsghdr *nlh =
		nl_build_netconf_get(buf, sizeof(buf), AF_INET, NETCONFA_IFINDEX_ALL);
	const struct netconfmsg *ncm = mnl_nlmsg_get_payload(nlh);
	struct netconfmsg *rep;
	int v = -1;

	(void)state;
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_GETNETCONF);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST); /* a get, not a dump */
	assert_int_equal(ncm->ncm_family, AF_INET);
	/* the family header is padded to 4 bytes, then the only attribute a strict kernel takes */
	assert_int_equal((int32_t)mnl_attr_get_u32(find_attr(nlh, sizeof(*ncm), NETCONFA_IFINDEX)),
			 NETCONFA_IFINDEX_ALL);
	assert_int_equal(nlh->nlmsg_len, MNL_ALIGN(sizeof(struct nlmsghdr)) + 4 + 8);
	nlh = nl_build_netconf_get(buf, sizeof(buf), AF_INET6, 7);
	ncm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ncm->ncm_family, AF_INET6);
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, sizeof(*ncm), NETCONFA_IFINDEX)), 7);

	/* a reply as the kernel builds it (inet_netconf_fill_devconf) */
	nlh = nl_msg_start(buf, sizeof(buf), RTM_NEWNETCONF, 0, sizeof(*rep), (void **)&rep);
	rep->ncm_family = AF_INET;
	mnl_attr_put_u32(nlh, NETCONFA_IFINDEX, (uint32_t)NETCONFA_IFINDEX_ALL);
	mnl_attr_put_u32(nlh, NETCONFA_FORWARDING, 1);
	mnl_attr_put_u32(nlh, NETCONFA_RP_FILTER, 2);
	assert_int_equal(nl_netconf_parse_forwarding(nlh, &v), 0);
	assert_int_equal(v, 1);
	/* without the attribute: no answer; a short one or another message type: malformed */
	nlh = nl_msg_start(buf, sizeof(buf), RTM_NEWNETCONF, 0, sizeof(*rep), NULL);
	mnl_attr_put_u32(nlh, NETCONFA_RP_FILTER, 0);
	assert_int_equal(nl_netconf_parse_forwarding(nlh, &v), -ENODATA);
	nlh = nl_msg_start(buf, sizeof(buf), RTM_NEWNETCONF, 0, sizeof(*rep), NULL);
	mnl_attr_put_u16(nlh, NETCONFA_FORWARDING, 1);
	assert_int_equal(nl_netconf_parse_forwarding(nlh, &v), -EINVAL);
	nlh = nl_msg_start(buf, sizeof(buf), RTM_NEWLINK, 0, sizeof(*rep), NULL);
	mnl_attr_put_u32(nlh, NETCONFA_FORWARDING, 1);
	assert_int_equal(nl_netconf_parse_forwarding(nlh, &v), -EINVAL);
}

static void test_vxlan(void **state)
{
	static const uint8_t mac[6] = {0x0e, 1, 2, 3, 4, 5};
	struct nl_vxlan vx = {.name = "weft.42", .mtu = 1450, .mac = mac, .up = true};
	struct nlmsghdr *nlh;
	const struct nlattr *data;
	struct nl_link l = {0};

	(void)state;
	vx.info = (struct nl_vxlan_info){.vni = 42, .link = 5, .port = 4789, .udp_csum = false};
	inet_addr_parse("192.0.2.1", &vx.info.local);
	nlh = nl_build_link_add_vxlan(buf, sizeof(buf), &vx);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
	data = find_nested(find_attr(nlh, sizeof(struct ifinfomsg), IFLA_LINKINFO), IFLA_INFO_DATA);
	assert_non_null(data);
	assert_int_equal(mnl_attr_get_u32(find_nested(data, IFLA_VXLAN_ID)), 42);
	/* the port always goes out, in network byte order */
	assert_int_equal(mnl_attr_get_u16(find_nested(data, IFLA_VXLAN_PORT)), htons(4789));
	assert_int_equal(mnl_attr_get_u8(find_nested(data, IFLA_VXLAN_LEARNING)), 0);
	assert_non_null(find_nested(data, IFLA_VXLAN_UDP_CSUM)); /* explicit, also when off */
	assert_int_equal(mnl_attr_get_u8(find_nested(data, IFLA_VXLAN_UDP_CSUM)), 0);
	assert_int_equal(mnl_attr_get_u32(find_nested(data, IFLA_VXLAN_LINK)), 5);
	assert_memory_equal(mnl_attr_get_payload(find_nested(data, IFLA_VXLAN_LOCAL)),
			    vx.info.local.bytes, 4);
	/* and read back the way nl_link_get does */
	nl_vxlan_parse_info(data, &l);
	assert_int_equal(l.vxlan.vni, 42);
	assert_int_equal(l.vxlan.port, 4789);
	assert_int_equal(l.vxlan.link, 5);
	assert_false(l.vxlan.learning);
	assert_true(inet_addr_eq(&l.vxlan.local, &vx.info.local));
	/* IPv6 underlay: LOCAL6 and the zero-checksum pair */
	vx.info.udp_csum = true;
	inet_addr_parse("2001:db8::1", &vx.info.local);
	nlh = nl_build_link_add_vxlan(buf, sizeof(buf), &vx);
	data = find_nested(find_attr(nlh, sizeof(struct ifinfomsg), IFLA_LINKINFO), IFLA_INFO_DATA);
	assert_non_null(find_nested(data, IFLA_VXLAN_LOCAL6));
	assert_int_equal(mnl_attr_get_u8(find_nested(data, IFLA_VXLAN_UDP_ZERO_CSUM6_TX)), 0);
	memset(&l, 0, sizeof(l));
	nl_vxlan_parse_info(data, &l);
	assert_true(l.vxlan.udp_csum);
	assert_int_equal(l.vxlan.local.family, AF_INET6);
}

static void test_route_get(void **state)
{
	struct inet_addr dst;
	struct nlmsghdr *nlh;
	const struct rtmsg *rtm;

	(void)state;
	inet_addr_parse("192.0.2.7", &dst);
	nlh = nl_build_route_get(buf, sizeof(buf), &dst);
	rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_GETROUTE);
	assert_int_equal(rtm->rtm_dst_len, 32);
	assert_memory_equal(mnl_attr_get_payload(find_attr(nlh, sizeof(*rtm), RTA_DST)), dst.bytes,
			    4);
}

static void test_brport(void **state)
{
	struct nl_brport p = {.hairpin = 1, .isolated = -1};
	struct nlmsghdr *nlh = nl_build_link_brport(buf, sizeof(buf), 9, &p);
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *pi = find_attr(nlh, sizeof(*ifi), IFLA_PROTINFO);

	(void)state;
	assert_int_equal(nlh->nlmsg_type, RTM_SETLINK);
	assert_int_equal(ifi->ifi_family, AF_BRIDGE);
	assert_non_null(pi);
	/* The bridge only reads per-option attributes from a *nested* IFLA_PROTINFO. */
	assert_true(pi->nla_type & NLA_F_NESTED);
	assert_int_equal(mnl_attr_get_u8(find_nested(pi, IFLA_BRPORT_MODE)), 1);
	assert_null(find_nested(pi, IFLA_BRPORT_ISOLATED));
}

static void test_vlans(void **state)
{
	struct nl_vlan v[] = {{.vid = 100, .pvid = true, .untagged = true},
			      {.vid = 200, .vid_end = 299}};
	struct nlmsghdr *nlh = nl_build_link_vlan(buf, sizeof(buf), RTM_SETLINK, 4, v, 2);
	const struct nlattr *spec = find_attr(nlh, sizeof(struct ifinfomsg), IFLA_AF_SPEC), *a;
	const struct bridge_vlan_info *vi;
	uint16_t want_vid[] = {100, 200, 299};
	uint16_t want_flags[] = {BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED,
				 BRIDGE_VLAN_INFO_RANGE_BEGIN, BRIDGE_VLAN_INFO_RANGE_END};
	int i = 0;

	(void)state;
	assert_non_null(spec);
	mnl_attr_for_each_nested(a, spec)
	{
		assert_int_equal(mnl_attr_get_type(a), IFLA_BRIDGE_VLAN_INFO);
		vi = mnl_attr_get_payload(a);
		assert_true(i < 3);
		assert_int_equal(vi->vid, want_vid[i]);
		assert_int_equal(vi->flags, want_flags[i]);
		i++;
	}
	assert_int_equal(i, 3);
	nlh = nl_build_link_vlan(buf, sizeof(buf), RTM_DELLINK, 4, v, 1);
	assert_int_equal(nlh->nlmsg_type, RTM_DELLINK);
}

static void test_addr(void **state)
{
	struct inet_prefix p;
	struct nlmsghdr *nlh;
	const struct ifaddrmsg *ifa;
	const uint8_t brd[4] = {10, 1, 2, 255};

	(void)state;
	assert_int_equal(inet_prefix_parse("10.1.2.5/24", &p), 0);
	nlh = nl_build_addr(buf, sizeof(buf), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, 3, &p,
			    IFA_F_NODAD);
	ifa = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifa->ifa_family, AF_INET);
	assert_int_equal(ifa->ifa_prefixlen, 24);
	assert_int_equal(ifa->ifa_index, 3);
	assert_int_equal(ifa->ifa_flags, IFA_F_NODAD);
	assert_memory_equal(mnl_attr_get_payload(find_attr(nlh, sizeof(*ifa), IFA_LOCAL)),
			    p.addr.bytes, 4);
	assert_memory_equal(mnl_attr_get_payload(find_attr(nlh, sizeof(*ifa), IFA_BROADCAST)), brd,
			    4);
	assert_null(find_attr(nlh, sizeof(*ifa), IFA_FLAGS));

	assert_int_equal(inet_prefix_parse("fd00::5/64", &p), 0);
	nlh = nl_build_addr(buf, sizeof(buf), RTM_NEWADDR, 0, 3, &p,
			    IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
	ifa = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifa->ifa_family, AF_INET6);
	assert_int_equal(mnl_attr_get_payload_len(find_attr(nlh, sizeof(*ifa), IFA_LOCAL)), 16);
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, sizeof(*ifa), IFA_FLAGS)),
			 IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
	assert_null(find_attr(nlh, sizeof(*ifa), IFA_BROADCAST));
}

static void test_route(void **state)
{
	struct nl_route r;
	struct nlmsghdr *nlh;
	const struct rtmsg *rtm;
	const struct nlattr *m;

	(void)state;
	nl_route_init(&r, AF_INET);
	assert_int_equal(inet_addr_parse("10.1.2.1", &r.gw), 0);
	r.oif = 5;
	r.mtu = 1400;
	nlh = nl_build_route(buf, sizeof(buf), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &r);
	rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(rtm->rtm_dst_len, 0);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_UNIVERSE);
	assert_int_equal(rtm->rtm_table, RT_TABLE_MAIN);
	assert_int_equal(rtm->rtm_protocol, RTPROT_BOOT);
	assert_null(find_attr(nlh, sizeof(*rtm), RTA_DST));
	assert_memory_equal(mnl_attr_get_payload(find_attr(nlh, sizeof(*rtm), RTA_GATEWAY)),
			    r.gw.bytes, 4);
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, sizeof(*rtm), RTA_OIF)), 5);
	m = find_attr(nlh, sizeof(*rtm), RTA_METRICS);
	assert_int_equal(mnl_attr_get_u32(find_nested(m, RTAX_MTU)), 1400);

	/* No gateway: a link-scope route; a big table id goes in RTA_TABLE. */
	nl_route_init(&r, AF_INET6);
	assert_int_equal(inet_prefix_parse("fd00:1::/64", &r.dst), 0);
	r.oif = 2;
	r.table = 1000;
	r.onlink = true;
	nlh = nl_build_route(buf, sizeof(buf), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &r);
	rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(rtm->rtm_family, AF_INET6);
	assert_int_equal(rtm->rtm_dst_len, 64);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_LINK);
	assert_true(rtm->rtm_flags & RTNH_F_ONLINK);
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, sizeof(*rtm), RTA_TABLE)), 1000);
	assert_null(find_attr(nlh, sizeof(*rtm), RTA_GATEWAY));

	nlh = nl_build_route(buf, sizeof(buf), RTM_DELROUTE, 0, &r);
	rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_NOWHERE);
	assert_int_equal(rtm->rtm_protocol, 0); /* any */
	r.protocol = 0x57;
	nlh = nl_build_route(buf, sizeof(buf), RTM_DELROUTE, 0, &r);
	rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(rtm->rtm_protocol, 0x57); /* only weft's */
}

static void test_neigh_fdb(void **state)
{
	struct nl_neigh n = {.ifindex = 7, .mac = {0x02, 9, 9, 9, 9, 9}};
	struct nl_fdb f = {.ifindex = 8};
	struct nlmsghdr *nlh;
	const struct ndmsg *nd;

	(void)state;
	assert_int_equal(inet_addr_parse("192.168.9.1", &n.ip), 0);
	nlh = nl_build_neigh(buf, sizeof(buf), RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &n);
	nd = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nd->ndm_state, NUD_PERMANENT);
	assert_int_equal(nd->ndm_ifindex, 7);
	assert_memory_equal(mnl_attr_get_payload(find_attr(nlh, sizeof(*nd), NDA_LLADDR)), n.mac,
			    6);

	assert_int_equal(inet_addr_parse("192.168.0.2", &f.dst), 0);
	nlh = nl_build_fdb(buf, sizeof(buf), RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND, &f);
	nd = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nd->ndm_family, AF_BRIDGE);
	assert_int_equal(nd->ndm_flags, NTF_SELF);
	assert_int_equal(mnl_attr_get_payload_len(find_attr(nlh, sizeof(*nd), NDA_DST)), 4);
	assert_null(find_attr(nlh, sizeof(*nd), NDA_VLAN));
}

/* What the builders make, the dump parsers read back (a dump entry has the same layout). */
static void test_neigh_fdb_parse(void **state)
{
	struct nl_neigh n = {.ifindex = 7, .mac = {0x02, 1, 2, 3, 4, 5}}, rn;
	struct nl_fdb f = {.ifindex = 8, .mac = {0x02, 9, 9, 9, 9, 9}}, rf;
	struct nlmsghdr *nlh;

	(void)state;
	assert_int_equal(inet_addr_parse("fd00:244:2::", &n.ip), 0);
	nlh = nl_build_neigh(buf, sizeof(buf), RTM_NEWNEIGH, 0, &n);
	assert_int_equal(nl_neigh_parse(nlh, &rn), 0);
	assert_int_equal(rn.ifindex, 7);
	assert_int_equal(rn.state, NUD_PERMANENT);
	assert_true(inet_addr_eq(&rn.ip, &n.ip));
	assert_memory_equal(rn.mac, n.mac, 6);
	assert_int_equal(nl_fdb_parse(nlh, &rf), -EINVAL); /* not AF_BRIDGE */

	assert_int_equal(inet_addr_parse("fd77::2", &f.dst), 0);
	nlh = nl_build_fdb(buf, sizeof(buf), RTM_NEWNEIGH, 0, &f);
	assert_int_equal(nl_fdb_parse(nlh, &rf), 0);
	assert_int_equal(rf.ifindex, 8);
	assert_true(rf.state & NUD_PERMANENT);
	assert_false(rf.master);
	assert_true(inet_addr_eq(&rf.dst, &f.dst));
	assert_memory_equal(rf.mac, f.mac, 6);
	assert_int_equal(nl_neigh_parse(nlh, &rn), -EINVAL);

	nlh = nl_build_neigh(buf, sizeof(buf), RTM_DELNEIGH, 0, &n); /* not RTM_NEWNEIGH */
	assert_int_equal(nl_neigh_parse(nlh, &rn), -EINVAL);
}

/* nl_parse keeps only attributes of the right size, and rejects a too-short one. */
static void test_parse_validates(void **state)
{
	struct nlmsghdr *nlh;
	const struct nlattr *tb[IFLA_MAX + 1];
	static const uint16_t sizes[IFLA_MAX + 1] = {[IFLA_MTU] = 4, [IFLA_IFNAME] = NL_ATTR_STR};

	(void)state;
	nlh = nl_msg_start(buf, sizeof(buf), RTM_NEWLINK, 0, sizeof(struct ifinfomsg), NULL);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "x");
	mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
	mnl_attr_put_u32(nlh, IFLA_MAX + 5, 1); /* newer than our headers: skipped */
	assert_int_equal(nl_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX, sizes), 0);
	assert_int_equal(mnl_attr_get_u32(tb[IFLA_MTU]), 1500);
	assert_string_equal(mnl_attr_get_str(tb[IFLA_IFNAME]), "x");

	nlh = nl_msg_start(buf, sizeof(buf), RTM_NEWLINK, 0, sizeof(struct ifinfomsg), NULL);
	mnl_attr_put_u16(nlh, IFLA_MTU, 1500);
	assert_int_equal(nl_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX, sizes), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bridge),
		cmocka_unit_test(test_veth),
		cmocka_unit_test(test_veth_big_tcp),
		cmocka_unit_test(test_link_change),
		cmocka_unit_test(test_brport),
		cmocka_unit_test(test_vlans),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_neigh_fdb),
		cmocka_unit_test(test_neigh_fdb_parse),
		cmocka_unit_test(test_parse_validates),
		cmocka_unit_test(test_alias),
		cmocka_unit_test(test_vxlan),
		cmocka_unit_test(test_route_get),
		cmocka_unit_test(test_link_change_af),
		cmocka_unit_test(test_netconf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

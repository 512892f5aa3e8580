/* SPDX-License-Identifier: Apache-2.0 */
/* Links over rtnetlink: get, add bridge / veth, set state and bridge-port attributes, bridge
 * VLANs, delete. Each call is one request on the socket of the netns it acts in. */
#ifndef WEFT_NL_LINK_H
#define WEFT_NL_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include "common/cni-error.h"
#include "common/inet.h"
#include "common/nl/nl.h"

/* The vxlan attributes weft sets and compares (IFLA_VXLAN_*). */
struct nl_vxlan_info {
	uint32_t vni;
	int link;		/* underlay ifindex, 0 = none */
	struct inet_addr local; /* source address, family 0 = none */
	uint16_t port;		/* host byte order */
	bool learning;
	bool udp_csum; /* IPv4: IFLA_VXLAN_UDP_CSUM; IPv6: !IFLA_VXLAN_UDP_ZERO_CSUM6_TX */
};

/* Indexes of struct nl_link's gso_max: IFLA_GSO_MAX_SIZE, IFLA_GRO_MAX_SIZE (IPv6 and
 * non-IP), IFLA_GSO_IPV4_MAX_SIZE, IFLA_GRO_IPV4_MAX_SIZE (Linux >= 6.3). */
enum { NL_GSO, NL_GRO, NL_GSO_IPV4, NL_GRO_IPV4, NL_GSO_N };

struct nl_link {
	int ifindex;
	char name[IFNAMSIZ];
	char kind[16];	     /* IFLA_INFO_KIND: "bridge", "veth", ... or "" */
	char slave_kind[16]; /* IFLA_INFO_SLAVE_KIND: "bridge" for a bridge port */
	uint8_t mac[6];
	bool has_mac;
	uint32_t mtu;
	uint32_t flags;	     /* IFF_* */
	uint8_t operstate;   /* IF_OPER_* */
	int master;	     /* ifindex of the master, 0 = none */
	int link;	     /* IFLA_LINK: a veth's peer ifindex (in link_netnsid), 0 = none */
	int link_netnsid;    /* IFLA_LINK_NETNSID, -1 = none (peer in the same netns) */
	bool vlan_filtering; /* bridge: IFLA_BR_VLAN_FILTERING */
	bool hairpin;	     /* bridge port: IFLA_BRPORT_MODE */
	bool isolated;	     /* bridge port: IFLA_BRPORT_ISOLATED */
	int brport_state;    /* bridge port: BR_STATE_*, -1 = not a bridge port */
	char alias[256];     /* IFLA_IFALIAS, "" = none */
	uint32_t gso_max[NL_GSO_N]; /* 0 = not reported by this kernel */
	struct nl_vxlan_info vxlan; /* kind "vxlan" only */
};

/* Missing link: -ENODEV, with err set (code 101) naming it. */
int nl_link_get(struct nl *nl, const char *name, struct nl_link *ret, struct cni_err *err);
int nl_link_get_by_index(struct nl *nl, int ifindex, struct nl_link *ret, struct cni_err *err);

struct nl_bridge {
	const char *name;
	uint32_t mtu;	    /* 0 = kernel default */
	const uint8_t *mac; /* NULL = kernel's choice; set, the MAC never follows the ports */
	bool vlan_filtering;
	bool up; /* born up */
};
/* NLM_F_CREATE|NLM_F_EXCL: -EEXIST when a link of that name exists (the caller decides). */
int nl_link_add_bridge(struct nl *nl, const struct nl_bridge *br, struct cni_err *err);

struct nl_veth {
	const char *name;      /* created in the socket's netns */
	const uint8_t *mac;    /* NULL = kernel's choice */
	uint32_t mtu;	       /* 0 = default */
	uint32_t gso_ipv4_max; /* 0 = default; else IPv4 GSO and GRO max sizes of both ends
				* (IPv4 BIG TCP, Linux >= 6.3; older kernels ignore it) */
	bool up;
	const char *peer;	 /* the other end ... */
	const uint8_t *peer_mac; /* NULL = kernel's choice */
	int peer_netns_fd;	 /* ... born in this netns (< 0: the socket's netns) */
	/* No "peer up": the kernel configures the peer before the pair is linked, and
	 * veth_open() of a peerless veth is -ENOTCONN. Bring it up afterwards. */
};
/* One RTM_NEWLINK, NLM_F_CREATE|NLM_F_EXCL; -EEXIST when either name is taken. With ret, the
 * request carries NLM_F_ECHO and ret gets the new link as the kernel echoes it (its ifindex,
 * and in ->link / ->link_netnsid the peer's); ret->ifindex stays 0 on a kernel that does not
 * echo (before 6.2): look the pair up then. */
int nl_link_add_veth(struct nl *nl, const struct nl_veth *v, struct nl_link *ret,
		     struct cni_err *err);

/* Per-device IP settings carried in IFLA_AF_SPEC of a link change (false = leave). The kernel
 * applies them after the flags and the master of the same message; it refuses them on a link
 * being created (EAFNOSUPPORT), and refuses the whole message, changing nothing, when the link
 * has no IPv4 / IPv6 state (-EAFNOSUPPORT: IPv6 off in the kernel, an MTU below 1280) or the
 * kernel does not know the setting (-EINVAL). IPv6 conf values (accept_dad, ndisc_notify, ...)
 * cannot be set this way (IFLA_INET6_CONF is read-only): /proc/sys only. */
struct nl_link_af {
	bool arp_notify;    /* IPv4 conf arp_notify = 1 (IFLA_INET_CONF) */
	bool addr_gen_none; /* IPv6 addr_gen_mode none: no link-local address is made */
};

/* Changes to an existing link that fit in one RTM_NEWLINK: a zeroed field leaves its property
 * alone, so a caller names only what it changes, and a port is enslaved, brought up, tagged
 * and configured in one message. */
#define NL_LINK_RELEASE (-1) /* master: leave the current master */
#define NL_LINK_OFF	(-1) /* vlan_filtering: turn off */
struct nl_link_change {
	uint32_t flags, change; /* ifi_flags / ifi_change (IFF_UP, IFF_PROMISC, ...) */
	uint32_t mtu;		/* 0 = leave */
	const uint8_t *mac;	/* NULL = leave */
	int master;		/* 0 = leave, NL_LINK_RELEASE, > 0 = enslave to this ifindex */
	int vlan_filtering;	/* 0 = leave, 1 = on, NL_LINK_OFF (bridge only) */
	const char *alias;	/* IFLA_IFALIAS, NULL = leave */
	struct nl_link_af af;	/* IFLA_AF_SPEC; all false = none */
};
int nl_link_change(struct nl *nl, int ifindex, const struct nl_link_change *c, struct cni_err *err);
/* One-property shorthands of nl_link_change. */
int nl_link_set_up(struct nl *nl, int ifindex, struct cni_err *err);
int nl_link_set_promisc(struct nl *nl, int ifindex, struct cni_err *err);
int nl_link_set_mtu(struct nl *nl, int ifindex, uint32_t mtu, struct cni_err *err);
int nl_link_set_mac(struct nl *nl, int ifindex, const uint8_t mac[6], struct cni_err *err);
int nl_link_set_vlan_filtering(struct nl *nl, int ifindex, bool on, struct cni_err *err);

struct nl_brport {
	int8_t hairpin;	 /* -1 = leave, 0/1 */
	int8_t isolated; /* -1 = leave, 0/1 */
};
/* RTM_SETLINK AF_BRIDGE with IFLA_PROTINFO on a bridge port. */
int nl_link_set_brport(struct nl *nl, int ifindex, const struct nl_brport *p, struct cni_err *err);

/* One VLAN or a range [vid, vid_end] (vid_end 0 = single) on a bridge port. */
struct nl_vlan {
	uint16_t vid, vid_end;
	bool pvid, untagged;
};
/* Adds all of them in one message (AF_BRIDGE IFLA_AF_SPEC / IFLA_BRIDGE_VLAN_INFO). */
int nl_link_vlan_add(struct nl *nl, int ifindex, const struct nl_vlan *v, size_t n,
		     struct cni_err *err);
int nl_link_vlan_del(struct nl *nl, int ifindex, const struct nl_vlan *v, size_t n,
		     struct cni_err *err);

/* Every link of the socket's netns (a dump); *ret is malloc'd (free it), *ret_n entries. */
int nl_link_list(struct nl *nl, struct nl_link **ret, size_t *ret_n, struct cni_err *err);

/* A vxlan device (common/nl/vxlan.c). Every attribute is sent explicitly, the UDP port too
 * (the kernel's default is not IANA's 4789), and the UDP checksum flag, which the kernel
 * refuses to change on an existing device. */
struct nl_vxlan {
	const char *name;
	struct nl_vxlan_info info;
	uint32_t mtu;	    /* 0 = kernel default */
	const uint8_t *mac; /* NULL = random */
	bool up;	    /* born up */
};
/* NLM_F_CREATE|NLM_F_EXCL: -EEXIST when a link of that name exists. */
int nl_link_add_vxlan(struct nl *nl, const struct nl_vxlan *vx, struct cni_err *err);

/* A new local address (same family; the kernel refuses another) and MAC for an existing vxlan
 * device, up or not: its FDB and neighbour entries stay. */
int nl_link_vxlan_move(struct nl *nl, int ifindex, const struct inet_addr *local,
		       const uint8_t mac[6], struct cni_err *err);

/* -ENODEV when already gone (err set). */
int nl_link_del(struct nl *nl, int ifindex, struct cni_err *err);
int nl_link_del_by_name(struct nl *nl, const char *name, struct cni_err *err);

/* "aa:bb:cc:dd:ee:ff" into buf (>= 18 bytes). */
const char *nl_mac_fmt(const uint8_t mac[6], char *buf, size_t len);

#endif

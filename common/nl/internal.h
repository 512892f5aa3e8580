/* SPDX-License-Identifier: Apache-2.0 */
/* Message builders behind link.c, addr.c, route.c and neigh.c. Each one only fills buf (every
 * put is a _check variant) and returns the message, or NULL when it does not fit. They are
 * exported for tests/unit/test-nl-build.c, which parses the bytes back; nothing else should
 * call them. */
#ifndef WEFT_NL_INTERNAL_H
#define WEFT_NL_INTERNAL_H

#include <stdint.h>
#include <libmnl/libmnl.h>

#include "common/inet.h"
#include "common/nl/addr.h"
#include "common/nl/link.h"
#include "common/nl/neigh.h"
#include "common/nl/route.h"

struct nlmsghdr *nl_build_link_add_bridge(void *buf, size_t len, const struct nl_bridge *br);
struct nlmsghdr *nl_build_link_add_veth(void *buf, size_t len, const struct nl_veth *v);
struct nlmsghdr *nl_build_link_change(void *buf, size_t len, int ifindex,
				      const struct nl_link_change *c);
struct nlmsghdr *nl_build_link_brport(void *buf, size_t len, int ifindex,
				      const struct nl_brport *p);
/* type RTM_SETLINK (add) or RTM_DELLINK (del), family AF_BRIDGE. */
struct nlmsghdr *nl_build_link_vlan(void *buf, size_t len, uint16_t type, int ifindex,
				    const struct nl_vlan *v, size_t n);
struct nlmsghdr *nl_build_link_add_vxlan(void *buf, size_t len, const struct nl_vxlan *vx);
/* Fills l->vxlan from an IFLA_INFO_DATA nest of kind vxlan (vxlan.c). */
void nl_vxlan_parse_info(const struct nlattr *data, struct nl_link *l);

/* RTM_GETNETCONF of one ifindex (or NETCONFA_IFINDEX_ALL / _DEFAULT) in family. */
struct nlmsghdr *nl_build_netconf_get(void *buf, size_t len, int family, int ifindex);
/* NETCONFA_FORWARDING of an RTM_NEWNETCONF into *ret: 0, -ENODATA without it, -EINVAL when
 * the message is not a valid RTM_NEWNETCONF. */
int nl_netconf_parse_forwarding(const struct nlmsghdr *nlh, int *ret);

/* type RTM_NEWADDR / RTM_DELADDR. */
struct nlmsghdr *nl_build_addr(void *buf, size_t len, uint16_t type, uint16_t flags, int ifindex,
			       const struct inet_prefix *p, uint32_t ifa_flags);

/* type RTM_NEWROUTE / RTM_DELROUTE. */
struct nlmsghdr *nl_build_route(void *buf, size_t len, uint16_t type, uint16_t flags,
				const struct nl_route *r);
struct nlmsghdr *nl_build_route_get(void *buf, size_t len, const struct inet_addr *dst);

/* type RTM_NEWNEIGH / RTM_DELNEIGH. */
struct nlmsghdr *nl_build_neigh(void *buf, size_t len, uint16_t type, uint16_t flags,
				const struct nl_neigh *n);
struct nlmsghdr *nl_build_fdb(void *buf, size_t len, uint16_t type, uint16_t flags,
			      const struct nl_fdb *f);
/* An RTM_NEWNEIGH of a dump back into a struct: ARP / NDP (nl_neigh_parse) or AF_BRIDGE FDB
 * (nl_fdb_parse). -EINVAL when malformed or of another family. */
int nl_neigh_parse(const struct nlmsghdr *nlh, struct nl_neigh *ret);
int nl_fdb_parse(const struct nlmsghdr *nlh, struct nl_fdb *ret);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Per-netns IP settings read over rtnetlink (RTM_GETNETCONF), without opening /proc/sys: every
 * lookup under /proc/sys/net compares the dentries of every network namespace that ever used it
 * (docs/benchmarks.md, "pod 1000 vs pod 10"), a netlink request on an open socket does not. */
#ifndef WEFT_NL_NETCONF_H
#define WEFT_NL_NETCONF_H

#include "common/cni-error.h"
#include "common/nl/nl.h"

/* ifindex of the netns-wide settings, conf/all (NETCONFA_IFINDEX_ALL). */
#define NL_NETCONF_ALL (-1)

/* The forwarding value of family (AF_INET, AF_INET6) on ifindex (a link or NL_NETCONF_ALL) in
 * the socket's netns: for NL_NETCONF_ALL what net.ipv4.ip_forward / net.ipv6.conf.all.forwarding
 * hold. Returns it (>= 0), or -errno with err set: -ENODATA when the reply has no forwarding
 * attribute, -EOPNOTSUPP / -EAFNOSUPPORT when the kernel has no such family. */
int nl_netconf_get_forwarding(struct nl *nl, int family, int ifindex, struct cni_err *err);

#endif

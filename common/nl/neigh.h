/* SPDX-License-Identifier: Apache-2.0 */
/* Neighbours (ARP / NDP entries) and bridge FDB entries over rtnetlink; vxlan peers use both. */
#ifndef WEFT_NL_NEIGH_H
#define WEFT_NL_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cni-error.h"
#include "common/inet.h"
#include "common/nl/nl.h"

struct nl_neigh {
	int ifindex;
	struct inet_addr ip;
	uint8_t mac[6];
	uint16_t state; /* NUD_*, 0 = NUD_PERMANENT */
};
/* Neighbours (ARP and NDP) on ifindex (0 = every link): *ret is malloc'd (free it). */
int nl_neigh_list(struct nl *nl, int ifindex, struct nl_neigh **ret, size_t *ret_n,
		  struct cni_err *err);
/* The entry for ip on ifindex (RTM_GETNEIGH of one entry, Linux >= 5.0): 0 with *ret filled,
 * its mac zero when the entry has none yet (incomplete, failed); -ENOENT when there is none. */
int nl_neigh_get(struct nl *nl, int ifindex, const struct inet_addr *ip, struct nl_neigh *ret,
		 struct cni_err *err);
/* NLM_F_CREATE|NLM_F_REPLACE: idempotent. */
int nl_neigh_replace(struct nl *nl, const struct nl_neigh *n, struct cni_err *err);
/* -ENOENT when absent. */
int nl_neigh_del(struct nl *nl, const struct nl_neigh *n, struct cni_err *err);

struct nl_fdb {
	int ifindex;	      /* the port (a vxlan device, a bridge port) */
	uint8_t mac[6];	      /* 00:00:00:00:00:00 = the default (flood) entry of a vxlan */
	struct inet_addr dst; /* vxlan remote (NDA_DST), family 0 = none */
	uint16_t vlan;	      /* NDA_VLAN, 0 = none */
	bool master;	      /* NTF_MASTER (the bridge's table) instead of NTF_SELF */
	uint16_t state;	      /* listed entries: NUD_* (added ones are always permanent) */
};
/* FDB entries (AF_BRIDGE) on ifindex (0 = every link), the device's own (NTF_SELF) and its
 * bridge's; one per remote of a vxlan MAC. *ret is malloc'd (free it). */
int nl_fdb_list(struct nl *nl, int ifindex, struct nl_fdb **ret, size_t *ret_n,
		struct cni_err *err);
/* Permanent entry; NLM_F_CREATE|NLM_F_REPLACE, or NLM_F_APPEND when append is set (several
 * remotes for the same MAC, as `bridge fdb append`). */
int nl_fdb_add(struct nl *nl, const struct nl_fdb *f, bool append, struct cni_err *err);
/* -ENOENT when absent. */
int nl_fdb_del(struct nl *nl, const struct nl_fdb *f, struct cni_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The reference host-local's allocation (docs/cni-contract.md §3.4), per range set:
 * a requested IP (not the gateway, must be free), else refuse a duplicate (containerID,
 * ifname), else round robin from after last_reserved_ip.<N>, skipping gateways, one full cycle.
 * Runs under the store's lock with the owner prepared (ipam_store_prepare). */
#ifndef WEFT_IPAM_ALLOC_H
#define WEFT_IPAM_ALLOC_H

#include "common/cni-error.h"
#include "ipam/config.h"
#include "ipam/store.h"

/* ret_ips[i] = the address from set i with the subnet's prefix length, ret_gws[i] = its
 * range's gateway. On failure nothing this call reserved is left behind. */
int ipam_alloc_all(const struct ipam_config *c, struct ipam_store *s,
		   struct inet_prefix ret_ips[IPAM_MAX_SETS],
		   struct inet_addr ret_gws[IPAM_MAX_SETS], struct cni_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Interface addresses over rtnetlink. */
#ifndef WEFT_NL_ADDR_H
#define WEFT_NL_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <linux/if_addr.h>

#include "common/cni-error.h"
#include "common/inet.h"
#include "common/nl/nl.h"

struct nl_addr {
	int ifindex;
	struct inet_prefix prefix; /* the local address and its prefix length */
	uint32_t flags;		   /* IFA_F_* (IFA_FLAGS when present) */
	uint8_t scope;		   /* RT_SCOPE_* */
};

/* NLM_F_CREATE|NLM_F_EXCL: -EEXIST when present. flags: IFA_F_NODAD, IFA_F_NOPREFIXROUTE, ...
 * IPv4 below /31 also gets the broadcast address, like `ip addr add ... brd +`. */
int nl_addr_add(struct nl *nl, int ifindex, const struct inet_prefix *p, uint32_t flags,
		struct cni_err *err);
/* -EADDRNOTAVAIL when absent. */
int nl_addr_del(struct nl *nl, int ifindex, const struct inet_prefix *p, struct cni_err *err);
/* Addresses of ifindex (0 = all links) in family (AF_UNSPEC = both). At most max entries;
 * *ret_n is the number found (may exceed max: the rest were dropped). */
int nl_addr_list(struct nl *nl, int ifindex, int family, struct nl_addr *ret, size_t max,
		 size_t *ret_n, struct cni_err *err);

#endif

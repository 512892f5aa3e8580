/* SPDX-License-Identifier: Apache-2.0 */
/* Routes over rtnetlink (IPv4 / IPv6). */
#ifndef WEFT_NL_ROUTE_H
#define WEFT_NL_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cni-error.h"
#include "common/inet.h"
#include "common/nl/nl.h"

struct nl_route {
	struct inet_prefix dst; /* family required; len 0 = default route */
	struct inet_addr gw;	/* family 0 = none */
	struct inet_addr src;	/* preferred source, family 0 = none */
	int oif;		/* 0 = none */
	uint32_t table;		/* 0 = main */
	uint32_t metric;	/* RTA_PRIORITY, 0 = none */
	uint32_t mtu;		/* RTAX_MTU, 0 = none */
	uint32_t advmss;	/* RTAX_ADVMSS, 0 = none */
	int scope;		/* RT_SCOPE_*, -1 = auto: link without gw, else universe */
	uint8_t protocol;	/* RTPROT_*, 0 = RTPROT_BOOT */
	bool onlink;		/* RTNH_F_ONLINK: gw reachable on oif without a covering route */
};

/* Initialises r: family, scope auto, main table. */
void nl_route_init(struct nl_route *r, int family);

/* NLM_F_CREATE|NLM_F_EXCL: -EEXIST when present. */
int nl_route_add(struct nl *nl, const struct nl_route *r, struct cni_err *err);
/* NLM_F_CREATE|NLM_F_REPLACE. */
int nl_route_replace(struct nl *nl, const struct nl_route *r, struct cni_err *err);
/* -ESRCH when absent. With protocol set, only a route of that protocol matches. */
int nl_route_del(struct nl *nl, const struct nl_route *r, struct cni_err *err);
/* The kernel's route lookup for dst (`ip route get`): the result has oif, gw (unset when dst
 * is on-link), src (the preferred source) and dst = dst/32 or /128. */
int nl_route_get(struct nl *nl, const struct inet_addr *dst, struct nl_route *ret,
		 struct cni_err *err);
/* Unicast routes of family in the main table (table 0) or the given one. At most max entries;
 * *ret_n is the number found. */
int nl_route_list(struct nl *nl, int family, uint32_t table, struct nl_route *ret, size_t max,
		  size_t *ret_n, struct cni_err *err);
/* The same, all of them: *ret is malloc'd (free it), *ret_n entries. */
int nl_route_dump(struct nl *nl, int family, uint32_t table, struct nl_route **ret, size_t *ret_n,
		  struct cni_err *err);

#endif

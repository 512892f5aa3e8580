/* SPDX-License-Identifier: Apache-2.0 */
/* host-local ranges and range sets (docs/cni-contract.md §3.1, §3.4): parsing,
 * canonicalisation with the reference's messages, containment, overlap and the round-robin
 * iterator. Pure code: no I/O. */
#ifndef WEFT_IPAM_RANGE_H
#define WEFT_IPAM_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/cni-error.h"
#include "common/inet.h"

/* "a.b.c.d-a.b.c.d" per range, joined by ',' */
#define IPAM_RANGE_STRLEN (2 * INET6_ADDRSTRLEN + 2)

struct ipam_range {
	struct inet_prefix subnet; /* as configured (host bits must be zero after canonicalize) */
	struct inet_addr start;	   /* inclusive; default network + 1 */
	struct inet_addr end;	   /* inclusive; default broadcast - 1 (v4), last address (v6) */
	struct inet_addr gateway;  /* default network + 1; never handed out */
};

struct ipam_range_set {
	size_t n;
	struct ipam_range *r; /* owned */
};

/* Parses a JSON array of range objects. */
int ipam_range_set_parse(const json_t *arr, struct ipam_range_set *ret, struct cni_err *err);
void ipam_range_set_free(struct ipam_range_set *s); /* frees the ranges, not s */
/* Canonicalizes every range; one family; no overlap inside the set. Code 7. */
int ipam_range_set_canonicalize(struct ipam_range_set *s, struct cni_err *err);
int ipam_range_set_family(const struct ipam_range_set *s);
/* The range holding a, or NULL. */
const struct ipam_range *ipam_range_set_find(const struct ipam_range_set *s,
					     const struct inet_addr *a);
bool ipam_range_set_overlaps(const struct ipam_range_set *a, const struct ipam_range_set *b);
/* "s-e,s-e" (truncated to len) */
const char *ipam_range_set_fmt(const struct ipam_range_set *s, char *buf, size_t len);
/* Addresses the allocator may hand out (gateways excluded), saturated at INT64_MAX. */
int64_t ipam_range_set_capacity(const struct ipam_range_set *s);

/* Round-robin iterator, the reference's RangeIter: starts after `last` when the set holds
 * it, else at the first range's start; walks every range, skips gateways, stops after one
 * full cycle. */
struct ipam_iter {
	const struct ipam_range_set *set;
	size_t idx;
	struct inet_addr cur, first;
	bool have_cur, have_first;
};

void ipam_range_iter_init(struct ipam_iter *it, const struct ipam_range_set *s,
			  const struct inet_addr *last);
/* Next candidate, or false when exhausted. ret_range (may be NULL) gets its range. */
bool ipam_range_iter_next(struct ipam_iter *it, struct inet_addr *ret,
			  const struct ipam_range **ret_range);

#endif

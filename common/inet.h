/* SPDX-License-Identifier: Apache-2.0 */
/* IPv4 / IPv6 addresses and prefixes: parse, format, compare, arithmetic. Pure code. */
#ifndef WEFT_INET_H
#define WEFT_INET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* INET6_ADDRSTRLEN + "/128" */
#define INET_PREFIX_STRLEN 52

struct inet_addr {
	int family; /* AF_INET, AF_INET6, or 0 = unset */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16]; /* network byte order; only the first 4 for AF_INET */
	};
};

/* An address with a prefix length. Host bits are kept ("10.1.2.5/24" stays .5). */
struct inet_prefix {
	struct inet_addr addr;
	uint8_t len;
};

static inline int inet_addr_bits(const struct inet_addr *a)
{
	return a->family == AF_INET6 ? 128 : 32;
}
/* Bytes of a's address: 16 for AF_INET6, else 4. */
static inline size_t inet_addr_len(const struct inet_addr *a)
{
	return a->family == AF_INET6 ? 16 : 4;
}
static inline bool inet_addr_is_set(const struct inet_addr *a)
{
	return a->family == AF_INET || a->family == AF_INET6;
}

/* Parse "10.1.2.3" / "2001:db8::1". Returns 0 or -EINVAL. IPv4-mapped IPv6 stays IPv6. */
int inet_addr_parse(const char *s, struct inet_addr *ret);
/* The same for s[0..n) (not NUL-terminated), IPv4 without a detour through inet_pton. */
int inet_addr_parsen(const char *s, size_t n, struct inet_addr *ret);
/* Parse "10.1.2.3/24"; -EINVAL on a missing or out-of-range prefix. */
int inet_prefix_parse(const char *s, struct inet_prefix *ret);
/* Parse "10.1.2.3" or "10.1.2.3/24"; without a prefix, len = full length. */
int inet_prefix_parse_opt(const char *s, struct inet_prefix *ret);

/* Format into buf (>= INET6_ADDRSTRLEN / INET_PREFIX_STRLEN). Return buf. */
const char *inet_addr_fmt(const struct inet_addr *a, char *buf, size_t len);
const char *inet_prefix_fmt(const struct inet_prefix *p, char *buf, size_t len);

int inet_addr_cmp(const struct inet_addr *a, const struct inet_addr *b); /* family, then bytes */
bool inet_addr_eq(const struct inet_addr *a, const struct inet_addr *b);
/* A hash of (family, address bytes, len) for hash tables (not stable across versions). */
uint64_t inet_prefix_hash(const struct inet_addr *a, unsigned len);
int inet_addr_qcmp(const void *a, const void *b); /* inet_addr_cmp for qsort */
/* Where a goes in v[0..n) (sorted by inet_addr_cmp): the index of the first element not below
 * it (n when none). */
size_t inet_addr_lower_bound(const struct inet_addr *v, size_t n, const struct inet_addr *a);

/* Zero the host bits. */
void inet_prefix_network(const struct inet_prefix *p, struct inet_prefix *ret);
/* Last address of the prefix (broadcast for IPv4). */
void inet_prefix_last(const struct inet_prefix *p, struct inet_addr *ret);
bool inet_prefix_has_host_bits(const struct inet_prefix *p);
bool inet_prefix_contains(const struct inet_prefix *p, const struct inet_addr *a);
/* Is every address of inner in outer (same family, inner no shorter)? */
bool inet_prefix_covers(const struct inet_prefix *outer, const struct inet_prefix *inner);
/* Two prefixes overlap when one contains the other's network address. */
bool inet_prefix_overlaps(const struct inet_prefix *a, const struct inet_prefix *b);
/* a + delta (delta may be negative). Returns -ERANGE on wrap past 0 or all-ones. */
int inet_addr_add(const struct inet_addr *a, int64_t delta, struct inet_addr *ret);
static inline int inet_addr_next(const struct inet_addr *a, struct inet_addr *ret)
{
	return inet_addr_add(a, 1, ret);
}
static inline int inet_addr_prev(const struct inet_addr *a, struct inet_addr *ret)
{
	return inet_addr_add(a, -1, ret);
}
/* A random MAC: unicast, locally administered. -errno when the kernel has no randomness. */
int inet_mac_random(uint8_t mac[6]);
/* b - a, saturated to INT64_MAX. */
int64_t inet_addr_distance(const struct inet_addr *a, const struct inet_addr *b);

#endif

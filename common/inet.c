/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/inet.h"
#include "common/naming.h"

int inet_addr_parse(const char *s, struct inet_addr *ret)
{
	struct inet_addr a = {0};

	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, &a.v4) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, &a.v6) == 1)
		a.family = AF_INET6;
	else
		return -EINVAL;
	*ret = a;
	return 0;
}

/* Dotted quad s[0..n) (no leading zeros, as inet_pton has it). */
static bool parse_v4(const char *s, size_t n, uint8_t out[4])
{
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		unsigned v = 0, digits = 0;

		if (k && (i >= n || s[i++] != '.'))
			return false;
		for (; i < n && s[i] >= '0' && s[i] <= '9' && digits < 4; i++, digits++)
			v = v * 10 + (unsigned)(s[i] - '0');
		if (!digits || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0'))
			return false;
		out[k] = (uint8_t)v;
	}
	return i == n;
}

int inet_addr_parsen(const char *s, size_t n, struct inet_addr *ret)
{
	char buf[INET6_ADDRSTRLEN];
	struct inet_addr a = {0};

	if (parse_v4(s, n, a.bytes)) {
		a.family = AF_INET;
		*ret = a;
		return 0;
	}
	if (n >= sizeof(buf) || memchr(s, ':', n) == NULL)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_addr_parse(buf, ret);
}

/* Splits "addr/len": copies addr into buf and returns the length part (or NULL). */
static const char *split_prefix(const char *s, char *buf, size_t len)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (n >= len)
		return (const char *)-1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return slash ? slash + 1 : NULL;
}

static int parse_len(const char *s, int max, uint8_t *ret)
{
	char *end;
	long v;

	if (!*s || *s == '+' || *s == '-' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > max)
		return -EINVAL;
	*ret = (uint8_t)v;
	return 0;
}

static int prefix_parse(const char *s, bool len_required, struct inet_prefix *ret)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct inet_prefix p = {0};
	const char *lenstr;

	if (!s)
		return -EINVAL;
	lenstr = split_prefix(s, buf, sizeof(buf));
	if (lenstr == (const char *)-1 || inet_addr_parse(buf, &p.addr) < 0)
		return -EINVAL;
	if (!lenstr) {
		if (len_required)
			return -EINVAL;
		p.len = (uint8_t)inet_addr_bits(&p.addr);
	} else if (parse_len(lenstr, inet_addr_bits(&p.addr), &p.len) < 0) {
		return -EINVAL;
	}
	*ret = p;
	return 0;
}

int inet_prefix_parse(const char *s, struct inet_prefix *ret)
{
	return prefix_parse(s, true, ret);
}

int inet_prefix_parse_opt(const char *s, struct inet_prefix *ret)
{
	return prefix_parse(s, false, ret);
}

/* Dotted quad without printf (the agent formats thousands of addresses per policy round). */
static bool fmt_v4(const uint8_t b[4], char *buf, size_t len)
{
	char *p = buf;

	if (len < INET_ADDRSTRLEN)
		return false;
	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
	return true;
}

const char *inet_addr_fmt(const struct inet_addr *a, char *buf, size_t len)
{
	if (a->family == AF_INET && fmt_v4(a->bytes, buf, len))
		return buf;
	if (!inet_addr_is_set(a) || !inet_ntop(a->family, a->bytes, buf, (socklen_t)len))
		snprintf(buf, len, "<none>");
	return buf;
}

const char *inet_prefix_fmt(const struct inet_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], *d;
	size_t n = strlen(inet_addr_fmt(&p->addr, a, sizeof(a)));
	unsigned l = p->len;

	if (len < n + 5) {
		snprintf(buf, len, "%s/%u", a, l);
		return buf;
	}
	memcpy(buf, a, n);
	d = buf + n;
	*d++ = '/';
	if (l >= 100)
		*d++ = (char)('0' + l / 100);
	if (l >= 10)
		*d++ = (char)('0' + l / 10 % 10);
	*d++ = (char)('0' + l % 10);
	*d = '\0';
	return buf;
}

int inet_addr_cmp(const struct inet_addr *a, const struct inet_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (!inet_addr_is_set(a))
		return 0;
	return memcmp(a->bytes, b->bytes, inet_addr_len(a));
}

bool inet_addr_eq(const struct inet_addr *a, const struct inet_addr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->v4.s_addr == b->v4.s_addr;
	return !inet_addr_is_set(a) || memcmp(a->bytes, b->bytes, 16) == 0;
}

uint64_t inet_prefix_hash(const struct inet_addr *a, unsigned len)
{
	uint8_t b[16] = {0};
	uint64_t x, y;

	memcpy(b, a->bytes, inet_addr_len(a));
	memcpy(&x, b, 8);
	memcpy(&y, b + 8, 8);
	return naming_mix64(x ^ y * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)a->family << 8 | len));
}

int inet_addr_qcmp(const void *a, const void *b)
{
	return inet_addr_cmp(a, b);
}

size_t inet_addr_lower_bound(const struct inet_addr *v, size_t n, const struct inet_addr *a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (inet_addr_cmp(&v[mid], a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Sets (fill=true) or clears the host bits of a for a prefix of length len. */
static void apply_host_bits(struct inet_addr *a, unsigned len, bool fill)
{
	unsigned n = (unsigned)inet_addr_len(a), full = len / 8;
	uint8_t mask = (uint8_t)(0xff >> (len % 8)); /* the host bits of byte full */

	if (full >= n)
		return;
	if (fill)
		a->bytes[full] |= mask;
	else
		a->bytes[full] &= (uint8_t)~mask;
	memset(a->bytes + full + 1, fill ? 0xff : 0, n - full - 1);
}

void inet_prefix_network(const struct inet_prefix *p, struct inet_prefix *ret)
{
	struct inet_prefix r = *p;

	apply_host_bits(&r.addr, r.len, false);
	*ret = r;
}

void inet_prefix_last(const struct inet_prefix *p, struct inet_addr *ret)
{
	struct inet_addr a = p->addr;

	apply_host_bits(&a, p->len, true);
	*ret = a;
}

bool inet_prefix_has_host_bits(const struct inet_prefix *p)
{
	struct inet_prefix n;

	inet_prefix_network(p, &n);
	return !inet_addr_eq(&n.addr, &p->addr);
}

/* a and b agree on their first len bits. */
static bool same_bits(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	return !rest || ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static unsigned prefix_bits(const struct inet_prefix *p)
{
	unsigned max = (unsigned)inet_addr_bits(&p->addr);

	return p->len < max ? p->len : max;
}

bool inet_prefix_contains(const struct inet_prefix *p, const struct inet_addr *a)
{
	return a->family == p->addr.family && same_bits(p->addr.bytes, a->bytes, prefix_bits(p));
}

bool inet_prefix_covers(const struct inet_prefix *outer, const struct inet_prefix *inner)
{
	return inner->len >= outer->len && inet_prefix_contains(outer, &inner->addr);
}

/* Two prefixes overlap exactly when they agree on the bits of the shorter one. */
bool inet_prefix_overlaps(const struct inet_prefix *a, const struct inet_prefix *b)
{
	unsigned la = prefix_bits(a), lb = prefix_bits(b);

	return a->addr.family == b->addr.family &&
	       same_bits(a->addr.bytes, b->addr.bytes, la < lb ? la : lb);
}

int inet_addr_add(const struct inet_addr *a, int64_t delta, struct inet_addr *ret)
{
	struct inet_addr r = *a;
	int n = (int)inet_addr_len(a);
	/* Magnitude of delta, added or subtracted byte by byte from the low end. */
	uint64_t mag = delta < 0 ? (uint64_t)(-(delta + 1)) + 1 : (uint64_t)delta;
	unsigned carry = 0;

	if (!inet_addr_is_set(a))
		return -EINVAL;
	for (int i = n - 1; i >= 0; i--) {
		unsigned d = (unsigned)(mag & 0xff) + carry;
		int v;

		mag >>= 8;
		if (delta >= 0) {
			v = r.bytes[i] + (int)d;
			carry = v > 0xff;
			r.bytes[i] = (uint8_t)v;
		} else {
			v = r.bytes[i] - (int)d;
			carry = v < 0;
			r.bytes[i] = (uint8_t)(v + (carry ? 256 : 0));
		}
	}
	if (carry || mag)
		return -ERANGE;
	*ret = r;
	return 0;
}

int64_t inet_addr_distance(const struct inet_addr *a, const struct inet_addr *b)
{
	int n = (int)inet_addr_len(a);
	bool neg = inet_addr_cmp(b, a) < 0;
	const struct inet_addr *hi = neg ? a : b, *lo = neg ? b : a;
	uint8_t diff[16];
	uint64_t v = 0;
	int borrow = 0;

	if (a->family != b->family)
		return INT64_MAX;
	for (int i = n - 1; i >= 0; i--) { /* full-width hi - lo */
		int d = hi->bytes[i] - lo->bytes[i] - borrow;

		borrow = d < 0;
		diff[i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
	for (int i = 0; i < n; i++) {
		if (i < n - 8 && diff[i])
			return neg ? INT64_MIN : INT64_MAX;
		if (i >= n - 8)
			v = (v << 8) | diff[i];
	}
	if (v > (uint64_t)INT64_MAX)
		return neg ? INT64_MIN : INT64_MAX;
	return neg ? -(int64_t)v : (int64_t)v;
}

int inet_mac_random(uint8_t mac[6])
{
	if (getrandom(mac, 6, 0) != 6)
		return -errno;
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
	return 0;
}

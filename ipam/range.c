/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cni/conf.h"
#include "ipam/range.h"

/* Bounds and gateway keep the reference's wording for bad addresses; "" is unset, as Go's
 * net.IP decodes it. */
static int parse_addr_key(const json_t *obj, const char *key, struct inet_addr *ret,
			  struct cni_err *err)
{
	const char *s = NULL;
	int r = conf_str(obj, key, CONF_OPTIONAL, &s, err);

	if (r < 0 || !s || *s == '\0')
		return r;
	if (inet_addr_parse(s, ret) < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "%s: invalid IP address: %s", key, s);
	return 0;
}

/* Parses one range object {subnet, rangeStart?, rangeEnd?, gateway?}. Syntax errors are
 * code 7. The result still needs ipam_range_canonicalize(). */
static int ipam_range_parse(const json_t *obj, struct ipam_range *ret, struct cni_err *err)
{
	struct ipam_range r = {0};
	const json_t *v;
	const char *s;
	int rc;

	if (!json_is_object(obj))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "a range must be a JSON object");
	v = json_object_get(obj, "subnet");
	if (!v || json_is_null(v))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "range is missing \"subnet\"");
	rc = conf_str(obj, "subnet", CONF_REQUIRED, &s, err);
	if (rc < 0)
		return rc;
	if (inet_prefix_parse(s, &r.subnet) < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "invalid CIDR address: %s", s);
	rc = parse_addr_key(obj, "rangeStart", &r.start, err);
	if (rc >= 0)
		rc = parse_addr_key(obj, "rangeEnd", &r.end, err);
	if (rc >= 0)
		rc = parse_addr_key(obj, "gateway", &r.gateway, err);
	if (rc < 0)
		return rc;
	*ret = r;
	return 0;
}

/* The reference's Range.Contains while canonicalizing: unset bounds are ignored. */
static bool range_contains_partial(const struct ipam_range *r, const struct inet_addr *a)
{
	if (!inet_prefix_contains(&r->subnet, a))
		return false;
	if (inet_addr_is_set(&r->start) && inet_addr_cmp(a, &r->start) < 0)
		return false;
	if (inet_addr_is_set(&r->end) && inet_addr_cmp(a, &r->end) > 0)
		return false;
	return true;
}

static int range_check_subnet(const struct ipam_range *r, struct cni_err *err)
{
	char sub[INET_PREFIX_STRLEN], net[INET6_ADDRSTRLEN];
	struct inet_prefix n;

	inet_prefix_fmt(&r->subnet, sub, sizeof(sub));
	if (r->subnet.len > inet_addr_bits(&r->subnet.addr) - 2)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "Network %s too small to allocate from",
				   sub);
	if (inet_prefix_has_host_bits(&r->subnet)) {
		inet_prefix_network(&r->subnet, &n);
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "Network has host bits set. For a subnet mask of length %u the "
				   "network address is %s",
				   r->subnet.len, inet_addr_fmt(&n.addr, net, sizeof(net)));
	}
	return 0;
}

static int range_check_bound(struct ipam_range *r, const char *what, struct inet_addr *a,
			     struct cni_err *err)
{
	char as[INET6_ADDRSTRLEN], sub[INET_PREFIX_STRLEN];

	if (range_contains_partial(r, a))
		return 0;
	inet_addr_fmt(a, as, sizeof(as));
	inet_prefix_fmt(&r->subnet, sub, sizeof(sub));
	if (a == &r->end && inet_prefix_contains(&r->subnet, a)) {
		char st[INET6_ADDRSTRLEN];

		return cni_err_set(err, CNI_ERR_CONFIG, 0, "RangeEnd %s is before RangeStart %s",
				   as, inet_addr_fmt(&r->start, st, sizeof(st)));
	}
	return cni_err_set(err, CNI_ERR_CONFIG, 0, "%s %s not in network %s", what, as, sub);
}

/* Fills defaults and validates, with the reference host-local's messages. Code 7. */
static int ipam_range_canonicalize(struct ipam_range *r, struct cni_err *err)
{
	struct inet_addr start_set = r->start, end_set = r->end;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], sub[INET_PREFIX_STRLEN];
	int rc;

	rc = range_check_subnet(r, err);
	if (rc < 0)
		return rc;
	if (!inet_addr_is_set(&r->gateway))
		(void)inet_addr_next(&r->subnet.addr, &r->gateway);
	else if (r->gateway.family != r->subnet.addr.family)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "gateway %s is not of the address family of network %s",
				   inet_addr_fmt(&r->gateway, a, sizeof(a)),
				   inet_prefix_fmt(&r->subnet, sub, sizeof(sub)));
	r->start = (struct inet_addr){0};
	r->end = (struct inet_addr){0};
	if (inet_addr_is_set(&start_set)) {
		r->start = start_set;
		rc = range_check_bound(r, "RangeStart", &r->start, err);
		if (rc < 0)
			return rc;
	} else {
		(void)inet_addr_next(&r->subnet.addr, &r->start);
	}
	if (inet_addr_is_set(&end_set)) {
		r->end = end_set;
		return range_check_bound(r, "RangeEnd", &r->end, err);
	}
	inet_prefix_last(&r->subnet, &r->end);
	if (r->end.family == AF_INET)
		(void)inet_addr_prev(&r->end, &r->end);
	if (inet_addr_cmp(&r->start, &r->end) > 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "RangeStart %s is after RangeEnd %s",
				   inet_addr_fmt(&r->start, a, sizeof(a)),
				   inet_addr_fmt(&r->end, b, sizeof(b)));
	return 0;
}

/* a in [start, end] (and in the subnet, same family). */
static bool ipam_range_contains(const struct ipam_range *r, const struct inet_addr *a)
{
	return inet_prefix_contains(&r->subnet, a) && inet_addr_cmp(a, &r->start) >= 0 &&
	       inet_addr_cmp(a, &r->end) <= 0;
}

static bool ipam_range_overlaps(const struct ipam_range *a, const struct ipam_range *b)
{
	if (a->start.family != b->start.family)
		return false;
	return ipam_range_contains(a, &b->start) || ipam_range_contains(a, &b->end) ||
	       ipam_range_contains(b, &a->start) || ipam_range_contains(b, &a->end);
}

/* "start-end" */
static const char *ipam_range_fmt(const struct ipam_range *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s-%s", inet_addr_fmt(&r->start, a, sizeof(a)),
		 inet_addr_fmt(&r->end, b, sizeof(b)));
	return buf;
}

int ipam_range_set_parse(const json_t *arr, struct ipam_range_set *ret, struct cni_err *err)
{
	struct ipam_range_set s = {0};
	size_t i;
	int r;

	if (!json_is_array(arr))
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "a range set must be a JSON array of ranges");
	s.n = json_array_size(arr);
	if (s.n == 0) {
		*ret = s;
		return 0;
	}
	s.r = calloc(s.n, sizeof(*s.r));
	if (!s.r)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	for (i = 0; i < s.n; i++) {
		r = ipam_range_parse(json_array_get(arr, i), &s.r[i], err);
		if (r < 0) {
			ipam_range_set_free(&s);
			return r;
		}
	}
	*ret = s;
	return 0;
}

void ipam_range_set_free(struct ipam_range_set *s)
{
	if (!s)
		return;
	free(s->r);
	s->r = NULL;
	s->n = 0;
}

int ipam_range_set_canonicalize(struct ipam_range_set *s, struct cni_err *err)
{
	char a[IPAM_RANGE_STRLEN], b[IPAM_RANGE_STRLEN];
	int r;

	if (s->n == 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "empty range set");
	for (size_t i = 0; i < s->n; i++) {
		r = ipam_range_canonicalize(&s->r[i], err);
		if (r < 0)
			return r;
		if (i > 0 && s->r[i].start.family != s->r[0].start.family)
			return cni_err_set(err, CNI_ERR_CONFIG, 0, "mixed address families");
	}
	for (size_t i = 0; i + 1 < s->n; i++)
		for (size_t j = i + 1; j < s->n; j++)
			if (ipam_range_overlaps(&s->r[i], &s->r[j]))
				return cni_err_set(err, CNI_ERR_CONFIG, 0,
						   "subnets %s and %s overlap",
						   ipam_range_fmt(&s->r[i], a, sizeof(a)),
						   ipam_range_fmt(&s->r[j], b, sizeof(b)));
	return 0;
}

int ipam_range_set_family(const struct ipam_range_set *s)
{
	return s->n ? s->r[0].start.family : 0;
}

const struct ipam_range *ipam_range_set_find(const struct ipam_range_set *s,
					     const struct inet_addr *a)
{
	for (size_t i = 0; i < s->n; i++)
		if (ipam_range_contains(&s->r[i], a))
			return &s->r[i];
	return NULL;
}

bool ipam_range_set_overlaps(const struct ipam_range_set *a, const struct ipam_range_set *b)
{
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (ipam_range_overlaps(&a->r[i], &b->r[j]))
				return true;
	return false;
}

const char *ipam_range_set_fmt(const struct ipam_range_set *s, char *buf, size_t len)
{
	char one[IPAM_RANGE_STRLEN];
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < s->n && used + 1 < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? "," : "",
				 ipam_range_fmt(&s->r[i], one, sizeof(one)));
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

int64_t ipam_range_set_capacity(const struct ipam_range_set *s)
{
	int64_t total = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct ipam_range *r = &s->r[i];
		int64_t n = inet_addr_distance(&r->start, &r->end);

		if (n == INT64_MAX || total > INT64_MAX - n - 1)
			return INT64_MAX;
		n += 1;
		if (ipam_range_contains(r, &r->gateway))
			n -= 1;
		total += n;
	}
	return total;
}

void ipam_range_iter_init(struct ipam_iter *it, const struct ipam_range_set *s,
			  const struct inet_addr *last)
{
	*it = (struct ipam_iter){.set = s};
	for (size_t i = 0; last && i < s->n; i++) {
		if (ipam_range_contains(&s->r[i], last)) {
			/* the first next() returns last + 1 */
			it->idx = i;
			it->cur = *last;
			it->have_cur = true;
			return;
		}
	}
	it->first = s->r[0].start;
	it->have_first = true;
}

/* One step of the reference's RangeIter.Next, without the gateway skip. */
static bool iter_step(struct ipam_iter *it)
{
	const struct ipam_range *r = &it->set->r[it->idx];

	if (!it->have_cur) {
		it->cur = r->start;
		it->have_cur = true;
		it->first = it->cur;
		it->have_first = true;
		return true;
	}
	if (inet_addr_eq(&it->cur, &r->end)) {
		it->idx = (it->idx + 1) % it->set->n;
		it->cur = it->set->r[it->idx].start;
	} else if (inet_addr_next(&it->cur, &it->cur) < 0) {
		return false; /* cannot happen: cur < end */
	}
	if (!it->have_first) {
		it->first = it->cur;
		it->have_first = true;
		return true;
	}
	return !inet_addr_eq(&it->cur, &it->first);
}

bool ipam_range_iter_next(struct ipam_iter *it, struct inet_addr *ret,
			  const struct ipam_range **ret_range)
{
	if (!it->set || it->set->n == 0)
		return false;
	do {
		if (!iter_step(it)) {
			it->set = NULL; /* stays exhausted */
			return false;
		}
	} while (inet_addr_eq(&it->cur, &it->set->r[it->idx].gateway)); /* never hand it out */
	*ret = it->cur;
	if (ret_range)
		*ret_range = &it->set->r[it->idx];
	return true;
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ipam/alloc.h"
#include "common/cleanup.h"
#include "ipam/store-internal.h"

struct alloc {
	const struct ipam_config *c;
	struct ipam_store *s;
	bool used[IPAM_MAX_REQUESTED_IPS]; /* requested IPs consumed by a set */
	struct inet_addr held[IPAM_STORE_MAX_IPS];
	size_t n_held; /* what (id, ifname) already holds: the duplicate check */
};

static void result_of(const struct ipam_range *r, const struct inet_addr *ip,
		      struct inet_prefix *ret_ip, struct inet_addr *ret_gw)
{
	ret_ip->addr = *ip;
	ret_ip->len = r->subnet.len;
	*ret_gw = r->gateway;
}

static int alloc_requested(struct alloc *al, size_t idx, const struct ipam_range *r,
			   const struct inet_addr *ip, struct inet_prefix *ret_ip,
			   struct inet_addr *ret_gw, struct cni_err *err)
{
	char a[INET6_ADDRSTRLEN], set[4 * IPAM_RANGE_STRLEN];
	int rc;

	inet_addr_fmt(ip, a, sizeof(a));
	if (inet_addr_eq(ip, &r->gateway))
		return cni_err_set(err, CNI_ERR_IPAM, 0, "requested ip %s is subnet's gateway", a);
	rc = ipam_store_reserve(al->s, ip, err);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return cni_err_set(err, CNI_ERR_IPAM, 0,
				   "requested IP address %s is not available in range set %s", a,
				   ipam_range_set_fmt(&al->c->sets[idx], set, sizeof(set)));
	ipam_store_last_set(al->s, idx, ip);
	result_of(r, ip, ret_ip, ret_gw);
	return 0;
}

static int alloc_next(struct alloc *al, size_t idx, struct inet_prefix *ret_ip,
		      struct inet_addr *ret_gw, struct cni_err *err)
{
	const struct ipam_range_set *set = &al->c->sets[idx];
	char a[INET6_ADDRSTRLEN], buf[4 * IPAM_RANGE_STRLEN];
	const struct ipam_range *r;
	struct inet_addr last, cand;
	struct ipam_iter it;
	int rc;

	for (size_t k = 0; k < al->n_held; k++)
		if (ipam_range_set_find(set, &al->held[k]))
			return cni_err_set(err, CNI_ERR_IPAM, 0,
					   "%s has been allocated to %s, duplicate allocation is "
					   "not allowed",
					   inet_addr_fmt(&al->held[k], a, sizeof(a)), al->s->id);
	rc = ipam_store_last_get(al->s, idx, &last);
	ipam_range_iter_init(&it, set, rc == 0 ? &last : NULL);
	while (ipam_range_iter_next(&it, &cand, &r)) {
		rc = ipam_store_reserve(al->s, &cand, err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		ipam_store_last_set(al->s, idx, &cand);
		result_of(r, &cand, ret_ip, ret_gw);
		return 0;
	}
	return cni_err_set(err, CNI_ERR_IPAM_FULL, 0, "no IP addresses available in range set: %s",
			   ipam_range_set_fmt(set, buf, sizeof(buf)));
}

static int alloc_set(struct alloc *al, size_t idx, struct inet_prefix *ret_ip,
		     struct inet_addr *ret_gw, struct cni_err *err)
{
	const struct ipam_range_set *set = &al->c->sets[idx];

	for (size_t j = 0; j < al->c->n_req; j++) {
		const struct ipam_range *r;

		if (al->used[j] || !(r = ipam_range_set_find(set, &al->c->req[j])))
			continue;
		al->used[j] = true;
		return alloc_requested(al, idx, r, &al->c->req[j], ret_ip, ret_gw, err);
	}
	return alloc_next(al, idx, ret_ip, ret_gw, err);
}

static void release_all(struct alloc *al, const struct inet_prefix *ips, size_t n)
{
	for (size_t i = 0; i < n; i++)
		(void)ipam_store_release_ip(al->s, &ips[i].addr);
}

static int unfulfilled(struct alloc *al, struct cni_err *err)
{
	char msg[256] = "failed to allocate all requested IPs:", a[INET6_ADDRSTRLEN];
	bool any = false;

	for (size_t j = 0; j < al->c->n_req; j++) {
		if (al->used[j])
			continue;
		any = true;
		strncat(msg, " ", sizeof(msg) - strlen(msg) - 1);
		strncat(msg, inet_addr_fmt(&al->c->req[j], a, sizeof(a)),
			sizeof(msg) - strlen(msg) - 1);
	}
	if (!any)
		return 0;
	return cni_err_set(err, CNI_ERR_IPAM, 0, "%s", msg);
}

int ipam_alloc_all(const struct ipam_config *c, struct ipam_store *s,
		   struct inet_prefix ret_ips[IPAM_MAX_SETS],
		   struct inet_addr ret_gws[IPAM_MAX_SETS], struct cni_err *err)
{
	struct alloc al = {.c = c, .s = s};
	int r;

	/* The duplicate check trusts a complete index: a new attachment (the usual case) is a
	 * miss, and scanning on it would make every ADD read every file. */
	r = ipam_store_find(s, s->id, s->ifname, false, al.held, ARRAY_SIZE(al.held), err);
	if (r < 0)
		return r;
	al.n_held = (size_t)r;
	for (size_t i = 0; i < c->n_sets; i++) {
		r = alloc_set(&al, i, &ret_ips[i], &ret_gws[i], err);
		if (r < 0) {
			release_all(&al, ret_ips, i);
			return cni_err_wrap(err, "failed to allocate for range %zu", i);
		}
	}
	r = unfulfilled(&al, err);
	if (r < 0)
		release_all(&al, ret_ips, c->n_sets);
	return r;
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "ipam/alloc.h"
#include "common/cleanup.h"
#include "ipam/dns.h"
#include "ipam/hostlocal.h"
#include "ipam/store.h"

static int require_valid(const struct ipam_config *c, struct cni_err *err)
{
	if (c->valid)
		return 0;
	if (err)
		*err = c->invalid;
	return c->invalid.sys_errno ? -c->invalid.sys_errno : -EINVAL;
}

/* Opens an existing store; *ret stays NULL (and 0 is returned) when there is none. */
static int open_existing(const struct ipam_config *c, struct ipam_store **ret, struct cni_err *err)
{
	int r = ipam_store_open(c->data_dir, c->name, false, ret, err);

	if (r == -ENOENT) {
		cni_err_clear(err);
		*ret = NULL;
		return 0;
	}
	return r;
}

static int fill_result(const struct ipam_config *c, const struct inet_prefix *ips,
		       const struct inet_addr *gws, json_t **dns, struct cni_result *res,
		       struct cni_err *err)
{
	int r;

	for (size_t i = 0; i < c->n_sets; i++) {
		r = cni_result_add_ip(res, &ips[i], &gws[i], -1, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct cni_route *src = &c->routes[i];
		int k = cni_result_add_route(res, &src->dst,
					     inet_addr_is_set(&src->gw) ? &src->gw : NULL, err);

		if (k < 0)
			return k;
		res->routes[k] = *src;
	}
	if (*dns && !res->dns)
		res->dns = TAKE_PTR(*dns);
	return 0;
}

int ipam_hostlocal_add(const struct ipam_config *c, const struct cni_args *a,
		       struct cni_result *res, struct cni_err *err)
{
	_cleanup_ipam_store_ struct ipam_store *s = NULL;
	_cleanup_json_ json_t *dns = NULL;
	struct inet_prefix ips[IPAM_MAX_SETS];
	struct inet_addr gws[IPAM_MAX_SETS];
	int r;

	r = require_valid(c, err);
	if (r >= 0 && c->resolv_conf[0])
		r = ipam_dns_parse_file(c->resolv_conf, &dns, err);
	if (r >= 0)
		r = ipam_store_open(c->data_dir, c->name, true, &s, err);
	if (r >= 0)
		r = ipam_store_prepare(s, a->container_id, a->ifname, c->n_sets, err);
	if (r >= 0)
		r = ipam_store_lock_adopt(s, err);
	if (r < 0)
		return r;
	r = ipam_alloc_all(c, s, ips, gws, err);
	if (r >= 0) {
		struct inet_addr got[IPAM_MAX_SETS];

		for (size_t i = 0; i < c->n_sets; i++)
			got[i] = ips[i].addr;
		r = ipam_store_index_add(s, got, c->n_sets, err);
	}
	ipam_store_unlock(s);
	if (r >= 0)
		r = fill_result(c, ips, gws, &dns, res, err);
	return r;
}

/* The hook, with the store (if any) still locked, when the network holds nothing now. A
 * network without a directory never reserved anything (or its store was wiped): empty too. */
static int when_empty(struct ipam_store *s, const struct ipam_empty_hook *h, struct cni_err *err)
{
	int r = s ? ipam_store_empty(s) : 1;

	if (r < 0)
		return cni_err_set(err, CNI_ERR_IPAM, -r, "read the reservations of the network");
	return r == 1 && h && h->fn ? h->fn(h->ctx, err) : 0;
}

int ipam_hostlocal_del(const struct ipam_config *c, const struct cni_args *a,
		       const struct ipam_empty_hook *on_empty, struct cni_err *err)
{
	_cleanup_ipam_store_ struct ipam_store *s = NULL;
	int r;

	r = open_existing(c, &s, err);
	if (r < 0 || !s)
		return r < 0 ? r : when_empty(NULL, on_empty, err);
	/* adopt: after foreign changes the first DEL rebuilds the index, later ones stay O(1) */
	r = ipam_store_lock_adopt(s, err);
	if (r < 0)
		return r;
	r = ipam_store_release(s, a->container_id, a->ifname, err);
	if (r >= 0)
		r = when_empty(s, on_empty, err);
	ipam_store_unlock(s);
	return r < 0 ? r : 0;
}

static int check_prev_result(const struct ipam_config *c, const struct cni_args *a,
			     const struct inet_addr *held, size_t n, struct cni_err *err)
{
	const struct cni_result *prev = a->prev_result;
	char s[INET6_ADDRSTRLEN];

	for (size_t i = 0; prev && i < prev->n_ips; i++) {
		const struct inet_addr *ip = &prev->ips[i].address.addr;
		bool ours = false, held_it = false;

		for (size_t k = 0; k < c->n_sets && !ours; k++)
			ours = ipam_range_set_find(&c->sets[k], ip) != NULL;
		for (size_t k = 0; k < n && !held_it; k++)
			held_it = inet_addr_eq(&held[k], ip);
		if (ours && !held_it)
			return cni_err_set(err, CNI_ERR_IPAM, 0,
					   "host-local: address %s of prevResult is not reserved "
					   "for container %s",
					   inet_addr_fmt(ip, s, sizeof(s)), a->container_id);
	}
	return 0;
}

int ipam_hostlocal_check(const struct ipam_config *c, const struct cni_args *a, struct cni_err *err)
{
	_cleanup_ipam_store_ struct ipam_store *s = NULL;
	struct inet_addr held[IPAM_STORE_MAX_IPS];
	int r, n = 0;

	r = require_valid(c, err);
	if (r >= 0)
		r = open_existing(c, &s, err);
	if (r >= 0 && s)
		r = ipam_store_lock(s, err);
	if (r >= 0 && s)
		r = n = ipam_store_find(s, a->container_id, a->ifname, true, held,
					IPAM_STORE_MAX_IPS, err);
	if (r < 0)
		return r;
	if (n == 0)
		return cni_err_set(err, CNI_ERR_IPAM, 0,
				   "host-local: Failed to find address added by container %s",
				   a->container_id);
	return check_prev_result(c, a, held, (size_t)n, err);
}

/* Cheap first: a free address among the next few candidates. Else count the directory. */
static bool set_exhausted(struct ipam_store *s, const struct ipam_range_set *set, size_t idx)
{
	struct inet_addr last, cand;
	struct ipam_iter it;
	int64_t n;

	ipam_range_iter_init(&it, set, ipam_store_last_get(s, idx, &last) == 0 ? &last : NULL);
	for (int probes = 0; probes < 64; probes++) {
		if (!ipam_range_iter_next(&it, &cand, NULL))
			return true; /* the whole set was probed: all taken */
		if (!ipam_store_is_reserved(s, &cand))
			return false;
	}
	n = ipam_store_count(s, set);
	return n >= 0 && n >= ipam_range_set_capacity(set);
}

int ipam_hostlocal_status(const struct ipam_config *c, const struct cni_args *a,
			  struct cni_err *err)
{
	_cleanup_ipam_store_ struct ipam_store *s = NULL;
	char buf[4 * IPAM_RANGE_STRLEN];
	int r;

	r = require_valid(c, err);
	if (r >= 0)
		r = open_existing(c, &s, err);
	if (r < 0 || !s)
		return r;
	/* Read-only and informational: no lock, so STATUS never waits behind ADDs. */
	for (size_t i = 0; i < c->n_sets; i++)
		if (set_exhausted(s, &c->sets[i], i))
			return cni_err_setd(err, CNI_ERR_UNAVAILABLE, 0,
					    "ADD cannot succeed until an address is released",
					    "no IP addresses available in range set: %s",
					    ipam_range_set_fmt(&c->sets[i], buf, sizeof(buf)));
	return 0;
}

int ipam_hostlocal_gc(const struct ipam_config *c, const struct cni_args *a,
		      const struct ipam_empty_hook *on_empty, struct cni_err *err)
{
	_cleanup_ipam_store_ struct ipam_store *s = NULL;
	int r;

	r = open_existing(c, &s, err);
	if (r < 0 || !s)
		return r < 0 ? r : when_empty(NULL, on_empty, err);
	r = ipam_store_lock(s, err);
	if (r < 0)
		return r;
	r = ipam_store_gc(s, a, err);
	if (r >= 0)
		r = when_empty(s, on_empty, err);
	ipam_store_unlock(s);
	return r < 0 ? r : 0;
}

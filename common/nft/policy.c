/* SPDX-License-Identifier: Apache-2.0 */
/* The table `inet weft-policy` (see policy.h): wanted content -> one batch of differences. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "common/array.h"
#include "common/cleanup.h"
#include "common/nft/internal.h"
#include "common/nft/policy.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>

#define TYPE_IPV4   7 /* nft's datatype numbers, so `nft list` prints addresses */
#define TYPE_IPV6   8
#define TYPE_MARK   19
#define TYPE_BITS   6	  /* a concatenation's type: (first << TYPE_BITS) | second */
#define PLAIN_MAX   65536 /* addresses of a plain set */
#define ELEMS_CHUNK 64
#define TH_DPORT    2

struct nft_pol {
	json_t *applied;
};

static const char *const maps[] = {"in4", "in6", "out4", "out6"};

void nft_pol_spec(const char *name, struct nft_chain_spec *c)
{
	*c = (struct nft_chain_spec){.family = NFPROTO_INET, .table = NFT_POL_TABLE};
	snprintf(c->name, sizeof(c->name), "%s", name);
}

static void base_spec(struct nft_chain_spec *c)
{
	nft_pol_spec("forward", c);
	c->type = "filter";
	c->hooknum = NF_INET_FORWARD;
	c->hook_name = "forward";
	c->prio = 0;
}

static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= NFT_CHAIN_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* ---- rules ---------------------------------------------------------------------------------- */

/* lookup @set (vmap: its verdict; inv: "not in @set") */
static int add_lookup_f(struct nftnl_rule *r, const char *set, bool vmap, bool inv)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
		if (vmap)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
		if (inv)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	}
	return nft_add_expr(r, e);
}

static int add_lookup(struct nftnl_rule *r, const char *set, bool vmap)
{
	return add_lookup_f(r, set, vmap, false);
}

/* meta nfproto == v6 ? ipv6 : ipv4; payload (s|d)addr; lookup @set [vmap] */
static int add_addr_lookup(struct nftnl_rule *r, bool v6, bool src, const char *set, bool vmap)
{
	uint8_t nfproto = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	uint32_t off = v6 ? (src ? IPV6_SADDR_OFF : IPV6_DADDR_OFF)
			  : (src ? IPV4_SADDR_OFF : IPV4_DADDR_OFF);
	int rr = nft_add_meta(r, NFT_META_NFPROTO);

	if (rr == 0)
		rr = nft_add_cmp(r, NFT_CMP_EQ, &nfproto, 1);
	if (rr == 0)
		rr = nft_add_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, v6 ? 16 : 4);
	return rr < 0 ? rr : add_lookup(r, set, vmap);
}

static int add_ct_established(struct nftnl_rule *r)
{
	uint32_t mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED), z = 0;
	struct nftnl_expr *e = nftnl_expr_alloc("ct");
	int rr;

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	}
	rr = nft_add_expr(r, e);
	if (rr == 0)
		rr = nft_add_bitwise(r, (const uint8_t *)&mask, sizeof(mask));
	if (rr == 0)
		rr = nft_add_cmp(r, NFT_CMP_NEQ, &z, sizeof(z));
	return rr < 0 ? rr : nft_add_verdict(r, NF_ACCEPT);
}

static int add_ports(struct nftnl_rule *r, const json_t *rule)
{
	json_t *p = json_object_get(rule, "proto"), *lo = json_object_get(rule, "lo");
	uint8_t proto = (uint8_t)json_integer_value(p);
	uint16_t a, b;
	int rr;

	if (!p)
		return 0;
	rr = nft_add_meta(r, NFT_META_L4PROTO);
	if (rr == 0)
		rr = nft_add_cmp(r, NFT_CMP_EQ, &proto, 1);
	if (rr < 0 || !lo)
		return rr;
	a = htons((uint16_t)json_integer_value(lo));
	b = htons((uint16_t)json_integer_value(json_object_get(rule, "hi")));
	rr = nft_add_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, TH_DPORT, 2);
	if (rr == 0 && a == b)
		return nft_add_cmp(r, NFT_CMP_EQ, &a, 2);
	if (rr == 0)
		rr = nft_add_cmp(r, NFT_CMP_GTE, &a, 2);
	return rr < 0 ? rr : nft_add_cmp(r, NFT_CMP_LTE, &b, 2);
}

/* One allow rule of a chain; in chains accept, out chains return. */
static int rule_fill(struct nftnl_rule *r, const json_t *sets, const json_t *rule, bool in)
{
	const char *set = json_string_value(json_object_get(rule, "set"));
	int rr = 0;

	if (set)
		rr = add_addr_lookup(r,
				     json_integer_value(json_object_get(json_object_get(sets, set),
									"family")) == 6,
				     in, set, false);
	if (rr == 0)
		rr = add_ports(r, rule);
	return rr < 0 ? rr : nft_add_verdict(r, in ? NF_ACCEPT : NFT_RETURN);
}

typedef int (*rule_filler)(struct nftnl_rule *r, const void *arg);

static int push_rule(struct nft_batch *b, const struct nft_chain_spec *c, rule_filler fill,
		     const void *arg, const char *what)
{
	_cleanup_nft_rule_ struct nftnl_rule *r = nft_rule_new(c, NULL);
	int rr = r ? fill(r, arg) : -ENOMEM;

	return rr < 0 ? rr : nft_batch_add_rule(b, c, r, what);
}

static int fill_ct(struct nftnl_rule *r, const void *arg)
{
	(void)arg;
	return add_ct_established(r);
}

static int fill_drop(struct nftnl_rule *r, const void *arg)
{
	(void)arg;
	int rr = nft_add_plain(r, "counter");

	return rr < 0 ? rr : nft_add_verdict(r, NF_DROP);
}

struct rule_arg {
	const json_t *sets, *rule;
	bool in;
};

static int fill_allow(struct nftnl_rule *r, const void *arg)
{
	const struct rule_arg *a = arg;

	return rule_fill(r, a->sets, a->rule, a->in);
}

static int chain_rules(struct nft_batch *b, const json_t *sets, const char *name,
		       const json_t *chain)
{
	bool in = strcmp(json_string_value(json_object_get(chain, "dir")), "in") == 0;
	struct nft_chain_spec c;
	const json_t *rule;
	size_t i;
	int rr;

	nft_pol_spec(name, &c);
	rr = push_rule(b, &c, fill_ct, NULL, "ct state established,related accept");
	json_array_foreach(json_object_get(chain, "rules"), i, rule)
	{
		struct rule_arg a = {sets, rule, in};

		if (rr == 0)
			rr = push_rule(b, &c, fill_allow, &a, "allow rule");
	}
	return rr < 0 ? rr : push_rule(b, &c, fill_drop, NULL, "counter drop");
}

/* ---- sets ----------------------------------------------------------------------------------- */

/* A hash set of single addresses (no intervals): one the want marks "plain", and the guard's
 * known4/known6, so that the plugins' ADD can add and delete one address without meeting a
 * merged range (policy.h). */
static bool plain_set(const char *name, const json_t *set)
{
	return json_is_true(json_object_get(set, "plain")) || strcmp(name, "known4") == 0 ||
	       strcmp(name, "known6") == 0;
}

struct range {
	struct inet_addr lo, hi;
};

static int range_cmp(const void *a, const void *b)
{
	return inet_addr_cmp(&((const struct range *)a)->lo, &((const struct range *)b)->lo);
}

/* One item of a ranges string, s[0..n): "A" or "A-B" (IPv6 addresses hold no '-'). */
static int range_parse(const char *s, size_t n, int fam, struct range *ret)
{
	const char *dash = memchr(s, '-', n);
	size_t a = dash ? (size_t)(dash - s) : n;

	if (inet_addr_parsen(s, a, &ret->lo) < 0 ||
	    (dash ? inet_addr_parsen(dash + 1, n - a - 1, &ret->hi) : 0) < 0)
		return -EINVAL;
	if (!dash)
		ret->hi = ret->lo;
	return ret->lo.family != fam || ret->hi.family != fam ||
			       inet_addr_cmp(&ret->lo, &ret->hi) > 0
		       ? -EINVAL
		       : 0;
}

/* Single addresses v[0..n) sorted, each once; the new count. */
static size_t ranges_unique(struct range *v, size_t n)
{
	size_t k = 0;

	array_sort(v, n, sizeof(*v), range_cmp); /* the agent gives them sorted */
	for (size_t i = 0; i < n; i++)
		if (!k || memcmp(v[k - 1].lo.bytes, v[i].lo.bytes, sizeof(v[i].lo.bytes)) != 0)
			v[k++] = v[i];
	return k;
}

/* v[0..n) sorted, overlapping or adjacent ranges joined; the new count. */
static size_t ranges_merge(struct range *v, size_t n)
{
	size_t i, k = 0;

	array_sort(v, n, sizeof(*v), range_cmp); /* the agent gives them sorted */
	for (i = 0; i < n; i++) {
		struct inet_addr next;
		struct range *last = k ? &v[k - 1] : NULL;

		if (last &&
		    (inet_addr_cmp(&v[i].lo, &last->hi) <= 0 ||
		     (inet_addr_next(&last->hi, &next) == 0 && inet_addr_eq(&next, &v[i].lo)))) {
			if (inet_addr_cmp(&v[i].hi, &last->hi) > 0)
				last->hi = v[i].hi;
		} else {
			v[k++] = v[i];
		}
	}
	return k;
}

/* The set's ranges parsed, sorted and merged (overlapping or adjacent joined); *singles: all of
 * them single addresses (then sorted and each once, not merged). */
static int ranges_of(const json_t *set, struct range **ret, size_t *n_ret, bool *singles,
		     struct cni_err *err)
{
	const json_t *rj = json_object_get(set, "ranges");
	const char *rs = json_string_value(rj), *p, *end;
	int fam = json_integer_value(json_object_get(set, "family")) == 6 ? AF_INET6 : AF_INET;
	size_t n = 0, max = 1, len = json_string_length(rj);
	struct range *v;

	if (!json_is_string(rj))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "policy set: no ranges string");
	for (p = rs; (p = memchr(p, ',', len - (size_t)(p - rs))); p++)
		max++;
	if (!(v = calloc(max, sizeof(*v))))
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy set ranges");
	for (p = rs; len && p <= rs + len; p = end + 1) {
		end = memchr(p, ',', len - (size_t)(p - rs)) ?: rs + len;
		if (end == p)
			continue; /* empty item */
		if (range_parse(p, (size_t)(end - p), fam, &v[n]) < 0) {
			free(v);
			return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
					   "policy set: bad range %zu (\"%.*s\")", n,
					   (int)(end - p), p);
		}
		*singles = *singles && inet_addr_eq(&v[n].lo, &v[n].hi);
		n++;
	}
	*n_ret = *singles ? ranges_unique(v, n) : ranges_merge(v, n);
	*ret = v;
	return 0;
}

/* A plain set's ranges as one range per address. */
static int ranges_split(struct range **v, size_t *n, struct cni_err *err)
{
	struct range *w = NULL;
	size_t k = 0, cap = 0;

	for (size_t i = 0; i < *n; i++)
		for (struct inet_addr a = (*v)[i].lo;;) {
			if (k == PLAIN_MAX ||
			    array_room((void **)&w, &cap, k + 1, sizeof(*w)) < 0) {
				free(w);
				return k == PLAIN_MAX ? cni_err_set(err, CNI_ERR_CONFIG, E2BIG,
								    "policy set: over %d addresses",
								    PLAIN_MAX)
						      : cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM,
								    "policy set");
			}
			w[k].lo = w[k].hi = a;
			k++;
			if (inet_addr_eq(&a, &(*v)[i].hi) || inet_addr_next(&a, &a) < 0)
				break;
		}
	if (w) {
		free(*v);
		*v = w;
	}
	*n = k;
	return 0;
}

static int elems_of(const char *name, const json_t *set, struct range **ret, size_t *n_ret,
		    struct cni_err *err)
{
	bool plain = plain_set(name, set), singles = plain; /* else merged, then split again */

	if (ranges_of(set, ret, n_ret, &singles, err) < 0)
		return -EINVAL;
	return plain && !singles ? ranges_split(ret, n_ret, err) : 0;
}

struct nftnl_set *nft_pol_set_obj(const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (s && (nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_POL_TABLE) < 0 ||
		  nftnl_set_set_str(s, NFTNL_SET_NAME, name) < 0)) {
		nftnl_set_free(s);
		s = NULL;
	}
	if (s)
		nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	return s;
}

/* The kernel wants an ID on every new set (rules of the same batch may refer to it by ID). */
static void set_id(struct nftnl_set *s)
{
	static uint32_t id;

	nftnl_set_set_u32(s, NFTNL_SET_ID, ++id);
}

static int elem_add(struct nftnl_set *s, const struct inet_addr *a, bool end)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (!e)
		return -ENOMEM;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, a->bytes, a->family == AF_INET6 ? 16 : 4);
	if (end)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	nftnl_set_elem_add(s, e);
	return 0;
}

/* Elements of ranges [i, j) into one message: added, or deleted (!add). */
static int range_elems(struct nft_batch *b, const char *name, bool plain, const struct range *v,
		       size_t i, size_t j, bool add)
{
	_cleanup_set_ struct nftnl_set *s = nft_pol_set_obj(name);
	struct nft_chain_spec c;
	int rr = s ? 0 : -ENOMEM;

	for (; rr == 0 && i < j; i++) {
		struct inet_addr end;

		rr = elem_add(s, &v[i].lo, false);
		if (rr == 0 && !plain && inet_addr_next(&v[i].hi, &end) == 0)
			rr = elem_add(s, &end, true);
	}
	nft_pol_spec(name, &c);
	return rr < 0 ? rr : nft_batch_set_elems(b, &c, s, add);
}

/* Ranges v[0..n) in chunks, added or deleted. */
static int ranges_send(struct nft_batch *b, const char *name, bool plain, const struct range *v,
		       size_t n, bool add)
{
	int rr = 0;

	for (size_t i = 0; rr == 0 && i < n; i += ELEMS_CHUNK)
		rr = range_elems(b, name, plain, v, i, i + ELEMS_CHUNK < n ? i + ELEMS_CHUNK : n,
				 add);
	return rr;
}

static bool range_eq(const struct range *a, const struct range *b)
{
	return inet_addr_eq(&a->lo, &b->lo) && inet_addr_eq(&a->hi, &b->hi);
}

/* The ranges of a (sorted, merged) not in b, into out. */
static size_t ranges_minus(const struct range *a, size_t na, const struct range *b, size_t nb,
			   struct range *out)
{
	size_t i = 0, j = 0, n = 0;

	for (; i < na; i++) {
		while (j < nb && inet_addr_cmp(&b[j].lo, &a[i].lo) < 0)
			j++;
		if (j >= nb || !range_eq(&a[i], &b[j]))
			out[n++] = a[i];
	}
	return n;
}

/* A set whose content changed: the elements that went, then those that came. */
static int set_update(struct nft_batch *b, const char *name, const json_t *old, const json_t *now,
		      struct cni_err *err)
{
	_cleanup_free_ struct range *o = NULL, *w = NULL, *gone = NULL, *came = NULL;
	bool plain = plain_set(name, now);
	size_t no = 0, nw = 0, ng, nc;
	int rr;

	if (json_integer_value(json_object_get(old, "family")) !=
		    json_integer_value(json_object_get(now, "family")) ||
	    plain_set(name, old) != plain)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
				   "policy: set %s changed family or kind under the same name",
				   name);
	if (elems_of(name, old, &o, &no, err) < 0 || elems_of(name, now, &w, &nw, err) < 0)
		return -EINVAL;
	gone = calloc(no + 1, sizeof(*gone));
	came = calloc(nw + 1, sizeof(*came));
	if (!gone || !came)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy set %s", name);
	ng = ranges_minus(o, no, w, nw, gone);
	nc = ranges_minus(w, nw, o, no, came);
	rr = ranges_send(b, name, plain, gone, ng, false);
	if (rr == 0)
		rr = ranges_send(b, name, plain, came, nc, true);
	return rr < 0 ? cni_err_set(err, CNI_ERR_INTERNAL, -rr, "policy set %s", name) : 0;
}

static int set_add(struct nft_batch *b, const char *name, const json_t *set, struct cni_err *err)
{
	_cleanup_set_ struct nftnl_set *s = nft_pol_set_obj(name);
	_cleanup_free_ struct range *v = NULL;
	bool v6 = json_integer_value(json_object_get(set, "family")) == 6;
	struct nft_chain_spec c;
	size_t n = 0;
	int rr;

	if (!s)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy set %s", name);
	if (elems_of(name, set, &v, &n, err) < 0)
		return -EINVAL;
	set_id(s);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, plain_set(name, set) ? 0 : NFT_SET_INTERVAL);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, v6 ? TYPE_IPV6 : TYPE_IPV4);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, v6 ? 16 : 4);
	nft_pol_spec(name, &c);
	rr = nft_batch_add_set(b, &c, s);
	if (rr == 0)
		rr = ranges_send(b, name, plain_set(name, set), v, n, true);
	return rr < 0 ? cni_err_set(err, CNI_ERR_INTERNAL, -rr, "policy set %s", name) : 0;
}

static int map_add(struct nft_batch *b, const char *name)
{
	_cleanup_set_ struct nftnl_set *s = nft_pol_set_obj(name);
	bool v6 = name[strlen(name) - 1] == '6';
	struct nft_chain_spec c;

	if (!s)
		return -ENOMEM;
	set_id(s);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, v6 ? TYPE_IPV6 : TYPE_IPV4);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, v6 ? 16 : 4);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	nft_pol_spec(name, &c);
	return nft_batch_add_set(b, &c, s);
}

/* map pods { type mark . mark : mark }: the pods the agent compiled (policy.h). */
static int pods_map_add(struct nft_batch *b)
{
	_cleanup_set_ struct nftnl_set *s = nft_pol_set_obj(NFT_POL_PODS);
	struct nft_chain_spec c;

	if (!s)
		return -ENOMEM;
	set_id(s);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, TYPE_MARK << TYPE_BITS | TYPE_MARK);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 8);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, TYPE_MARK);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 4);
	nft_pol_spec(NFT_POL_PODS, &c);
	return nft_batch_add_set(b, &c, s);
}

/* ---- the table's frame ---------------------------------------------------------------------- */

struct base_arg {
	bool v6, src;
	const char *map;
};

static int fill_dispatch(struct nftnl_rule *r, const void *arg)
{
	const struct base_arg *a = arg;

	return add_addr_lookup(r, a->v6, a->src, a->map, true);
}

static int base_chain(struct nft_batch *b)
{
	static const struct base_arg all[] = {{false, true, "out4"},
					      {true, true, "out6"},
					      {false, false, "in4"},
					      {true, false, "in6"}};
	struct nft_chain_spec c;
	int rr;

	base_spec(&c);
	rr = nft_batch_add_chain(b, &c);
	for (size_t i = 0; rr == 0 && i < 4; i++)
		rr = push_rule(b, &c, fill_dispatch, &all[i], all[i].map);
	return rr;
}

/* --policy-default deny: an address of the node's pod networks that is no known pod's (a pod
 * added while the agent was away) is dropped, both ways:
 *   ip daddr @podnets4 ip daddr != @known4 counter drop   (and saddr, and ip6) */
static const char *const guard_sets[] = {"podnets4", "known4", "podnets6", "known6"};

struct guard_arg {
	bool v6, src;
};

static int fill_guard(struct nftnl_rule *r, const void *arg)
{
	const struct guard_arg *a = arg;
	int rr = add_addr_lookup(r, a->v6, a->src, guard_sets[a->v6 ? 2 : 0], false);

	if (rr == 0)
		rr = add_lookup_f(r, guard_sets[a->v6 ? 3 : 1], false, true);
	if (rr == 0)
		rr = nft_add_plain(r, "counter");
	return rr < 0 ? rr : nft_add_verdict(r, NF_DROP);
}

/* The guard rules at the head of the forward chain (after the sets exist). */
static int guard(struct nft_batch *b)
{
	static const struct guard_arg all[] = {
		{false, true}, {false, false}, {true, true}, {true, false}};
	struct nft_chain_spec c;
	int rr = 0;

	base_spec(&c);
	for (size_t i = 4; rr == 0 && i > 0; i--) {
		_cleanup_nft_rule_ struct nftnl_rule *r = nft_rule_new(&c, NULL);

		rr = r ? fill_guard(r, &all[i - 1]) : -ENOMEM;
		if (rr == 0)
			rr = nft_batch_insert_rule(b, &c, r, "default-deny guard");
	}
	return rr;
}

static bool guarded(const json_t *doc)
{
	return json_is_true(json_object_get(doc, "guard"));
}

/* add table; delete table; add table: replaces any table of the name, in one transaction. */
static int frame(struct nft_batch *b)
{
	struct nft_chain_spec c;
	int rr;

	base_spec(&c);
	rr = nft_batch_add_table(b, &c);
	if (rr == 0)
		rr = nft_batch_del_table(b, &c);
	if (rr == 0)
		rr = nft_batch_add_table(b, &c);
	for (size_t i = 0; rr == 0 && i < 4; i++)
		rr = map_add(b, maps[i]);
	if (rr == 0)
		rr = pods_map_add(b);
	return rr < 0 ? rr : base_chain(b);
}

/* ---- the diff ------------------------------------------------------------------------------- */

static const json_t *section(const json_t *doc, const char *key)
{
	const json_t *s = json_object_get(doc, key);

	return json_is_object(s) ? s : NULL;
}

/* A chain given: its name and direction (checked when it is new or changed: what was applied
 * was checked then). */
static int chain_ok(const char *k, const json_t *v, struct cni_err *err)
{
	const char *dir = json_string_value(json_object_get(v, "dir"));

	if (!name_ok(k) || !dir || (strcmp(dir, "in") && strcmp(dir, "out")))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "policy: bad chain %s", k);
	return 0;
}

static int sets_add(struct nft_batch *b, const json_t *old, const json_t *want,
		    struct nft_pol_counts *n, struct cni_err *err)
{
	const json_t *os = section(old, "sets");
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)section(want, "sets"), k, v)
	{
		const json_t *o = json_object_get(os, k);

		if (o && json_equal(o, v))
			continue;
		if (!name_ok(k))
			return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "policy: bad set name");
		if (o ? set_update(b, k, o, v, err) < 0 : set_add(b, k, v, err) < 0)
			return -EINVAL;
		*(o ? &n->sets_changed : &n->sets_added) += 1;
	}
	return 0;
}

static int chains_update(struct nft_batch *b, const json_t *old, const json_t *want,
			 const json_t *ws, struct nft_pol_counts *n, struct cni_err *err)
{
	const json_t *oc = section(old, "chains");
	const char *k;
	json_t *v;
	int rr = 0;

	json_object_foreach((json_t *)section(want, "chains"), k, v)
	{
		const json_t *o = json_object_get(oc, k);
		struct nft_chain_spec c;

		if (o && json_equal(o, v))
			continue;
		if (chain_ok(k, v, err) < 0)
			return -EINVAL;
		nft_pol_spec(k, &c);
		rr = o ? nft_batch_flush_chain(b, &c) : nft_batch_add_chain(b, &c);
		if (rr == 0)
			rr = chain_rules(b, ws, k, v);
		if (rr < 0)
			return cni_err_set(err, rr == -EINVAL ? CNI_ERR_CONFIG : CNI_ERR_INTERNAL,
					   -rr, "policy chain %s", k);
		*(o ? &n->chains_changed : &n->chains_added) += 1;
	}
	return 0;
}

int nft_pol_elem(struct nft_batch *b, const char *set, const void *key, uint32_t klen,
		 const char *chain, const uint32_t *value, bool add)
{
	_cleanup_set_ struct nftnl_set *s = nft_pol_set_obj(set);
	struct nftnl_set_elem *e = s ? nftnl_set_elem_alloc() : NULL;
	struct nft_chain_spec c;

	if (!e)
		return -ENOMEM;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, klen);
	if (add && chain) {
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, NFT_JUMP);
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
	} else if (add && value) {
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, value, sizeof(*value));
	}
	nftnl_set_elem_add(s, e);
	nft_pol_spec(set, &c);
	return nft_batch_set_elems(b, &c, s, add);
}

static int map_elem(struct nft_batch *b, const char *map, const char *addr, const char *chain,
		    bool add)
{
	struct inet_addr a;

	if (inet_addr_parse(addr, &a) < 0)
		return -EINVAL;
	return nft_pol_elem(b, map, a.bytes, a.family == AF_INET6 ? 16 : 4, chain, NULL, add);
}

static const char *map_of(const char *dir, const char *addr)
{
	bool v6 = strchr(addr, ':') != NULL;

	return strcmp(dir, "in") == 0 ? (v6 ? "in6" : "in4") : (v6 ? "out6" : "out4");
}

/* One element of a section of want into the batch: added, or deleted (by key). */
typedef int (*elem_fn)(struct nft_batch *b, const char *key, const json_t *v, const void *arg,
		       bool add);

/* The elements of section o (the table's) that went or changed deleted, those of w that came
 * or changed added. */
static int section_diff(struct nft_batch *b, const json_t *o, const json_t *w, elem_fn fn,
			const void *arg, struct nft_pol_counts *n)
{
	const char *k;
	json_t *v;
	int rr = 0;

	json_object_foreach((json_t *)o, k, v)
	{
		json_t *nv = json_object_get(w, k);

		if (rr == 0 && (!nv || !json_equal(nv, v))) {
			rr = fn(b, k, v, arg, false);
			n->map_changes++;
		}
	}
	json_object_foreach((json_t *)w, k, v)
	{
		json_t *ov = json_object_get(o, k);

		if (rr == 0 && (!ov || !json_equal(ov, v))) {
			rr = fn(b, k, v, arg, true);
			n->map_changes++;
		}
	}
	return rr;
}

/* "in"/"out": ADDRESS -> chain (arg: the direction). */
static int dispatch_elem(struct nft_batch *b, const char *addr, const json_t *chain,
			 const void *arg, bool add)
{
	return map_elem(b, map_of(arg, addr), addr, add ? json_string_value(chain) : NULL, add);
}

/* Map elements: removed or changed ones deleted, new or changed ones added. */
static int maps_update(struct nft_batch *b, const json_t *old, const json_t *want,
		       struct nft_pol_counts *n)
{
	static const char *const dirs[] = {"in", "out"};
	int rr = 0;

	for (size_t d = 0; rr == 0 && d < 2; d++)
		rr = section_diff(b, section(old, dirs[d]), section(want, dirs[d]), dispatch_elem,
				  dirs[d], n);
	return rr;
}

/* "pods": TAG -> flags (arg: whether the table has the guard, the bit the layer adds). */
static int pod_elem(struct nft_batch *b, const char *tag, const json_t *flags, const void *arg,
		    bool add)
{
	bool guard = *(const bool *)arg;
	uint32_t v = htonl((uint32_t)json_integer_value(flags) | (guard ? NFT_POL_POD_GUARD : 0));
	uint64_t h;

	if (nft_pol_pod_key(tag, &h) < 0)
		return -EINVAL;
	return nft_pol_elem(b, NFT_POL_PODS, &h, sizeof(h), NULL, &v, add);
}

static int pods_update(struct nft_batch *b, const json_t *old, const json_t *want,
		       struct nft_pol_counts *n)
{
	bool guard = guarded(want); /* a deletion goes by key: the old bit does not matter */

	return section_diff(b, section(old, NFT_POL_PODS), section(want, NFT_POL_PODS), pod_elem,
			    &guard, n);
}

static int removals(struct nft_batch *b, const json_t *old, const json_t *want,
		    struct nft_pol_counts *n)
{
	const char *k;
	json_t *v;
	int rr = 0;

	json_object_foreach((json_t *)section(old, "chains"), k, v)
	{
		struct nft_chain_spec c;

		if (rr < 0 || json_object_get(section(want, "chains"), k))
			continue;
		nft_pol_spec(k, &c);
		rr = nft_batch_flush_chain(b, &c);
		if (rr == 0)
			rr = nft_batch_del_chain(b, &c);
		n->chains_removed++;
	}
	json_object_foreach((json_t *)section(old, "sets"), k, v)
	{
		struct nft_chain_spec c;

		if (rr < 0 || json_object_get(section(want, "sets"), k))
			continue;
		nft_pol_spec(k, &c);
		rr = nft_batch_del_set(b, &c, k);
		n->sets_removed++;
	}
	return rr;
}

static int check_guard(const json_t *want, struct cni_err *err)
{
	for (size_t i = 0; guarded(want) && i < 4; i++)
		if (!json_object_get(section(want, "sets"), guard_sets[i]))
			return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
					   "policy: \"guard\" needs the set %s", guard_sets[i]);
	return 0;
}

/* The batch making the kernel's table go from old to want. old and want may be the touched
 * part of two tables only (nft_pol_apply_touched): full is then the whole wanted table (the
 * rules' sets are looked up there). */
static int diff(struct nft_batch *b, const json_t *old, const json_t *want, const json_t *full,
		struct nft_pol_counts *n, struct cni_err *err)
{
	int rr;

	if (check_guard(full, err) < 0)
		return -EINVAL;
	if (old && guarded(old) != guarded(want))
		old = NULL; /* the frame changes: build it all again, in the same transaction */
	rr = old ? 0 : frame(b);
	if (rr < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, -rr, "policy batch");
	if (sets_add(b, old, want, n, err) < 0)
		return -EINVAL;
	rr = !old && guarded(want) ? guard(b) : 0;
	if (rr == 0 && chains_update(b, old, want, section(full, "sets"), n, err) < 0)
		return -EINVAL;
	if (rr == 0)
		rr = maps_update(b, old, want, n);
	if (rr == 0)
		rr = pods_update(b, old, want, n);
	if (rr == 0)
		rr = removals(b, old, want, n);
	return rr < 0 ? cni_err_set(err, rr == -EINVAL ? CNI_ERR_CONFIG : CNI_ERR_INTERNAL, -rr,
				    "policy batch")
		      : 0;
}

static int apply_once(const json_t *old, json_t *want, const json_t *full, struct nft_pol_counts *n,
		      struct cni_err *err)
{
	_cleanup_nft_sock_ struct nft_sock *s = NULL;
	_cleanup_nft_batch_ struct nft_batch *b = NULL;
	int rr = nft_sock_open(&s, err);

	if (rr < 0)
		return rr;
	if (nft_batch_new(s, 0, &b) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy batch");
	*n = (struct nft_pol_counts){0};
	rr = diff(b, old, want, full, n, err);
	return rr < 0 ? rr : nft_batch_send(s, b, err);
}

/* old -> want (the parts, or whole: full is the whole wanted table); when the kernel's table
 * is not what was applied last, replaced whole. */
static int apply(struct nft_pol **st, const json_t *old, json_t *want, json_t *full,
		 struct nft_pol_counts *ret, struct cni_err *err)
{
	struct nft_pol_counts n;
	int rr = apply_once(old, want, full, &n, err);

	if (rr < 0 && rr != -EINVAL && old) {
		/* The kernel's table is not what we applied last (a plugin's ADD changed the
		 * elements of an address, someone edited it): replace it whole. */
		char why[sizeof(n.why)];

		snprintf(why, sizeof(why), "%.90s%s%.60s", err->msg, err->details[0] ? ": " : "",
			 err->details);
		cni_err_clear(err);
		rr = apply_once(NULL, full, full, &n, err);
		n.replaced = true;
		snprintf(n.why, sizeof(n.why), "%s", why);
	}
	if (rr < 0) {
		nft_pol_free(*st);
		*st = NULL;
		return rr == -ERESTART ? -EAGAIN : rr;
	}
	if (!*st && !(*st = calloc(1, sizeof(**st))))
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy state");
	json_incref(full);
	json_decref((*st)->applied);
	(*st)->applied = full;
	if (ret)
		*ret = n;
	return 0;
}

int nft_pol_apply(struct nft_pol **st, json_t *want, struct nft_pol_counts *ret,
		  struct cni_err *err)
{
	return apply(st, *st ? (*st)->applied : NULL, want, want, ret, err);
}

/* The touched parts: per section, the keys of before with their value then (old) and now
 * (now: those want still has). */
static int touched_parts(const json_t *want, const json_t *before, json_t *old, json_t *now)
{
	static const char *const secs[] = {"sets", "chains", "in", "out", NFT_POL_PODS};
	int rr = 0;

	for (size_t i = 0; rr == 0 && i < sizeof(secs) / sizeof(secs[0]); i++) {
		const json_t *b = section(before, secs[i]), *w = section(want, secs[i]);
		json_t *o = json_object(), *n = json_object(), *v;
		const char *k;

		json_object_foreach((json_t *)b, k, v)
		{
			json_t *cur = json_object_get(w, k);

			if ((!json_is_null(v) && json_object_set(o, k, v) < 0) ||
			    (cur && json_object_set(n, k, cur) < 0))
				rr = -ENOMEM;
		}
		if (rr == 0 && (json_object_set_new(old, secs[i], o) < 0 ||
				json_object_set_new(now, secs[i], n) < 0))
			rr = -ENOMEM;
	}
	if (rr == 0 && guarded(want))
		rr = json_object_set(old, "guard", json_true()) < 0 ||
				     json_object_set(now, "guard", json_true()) < 0
			     ? -ENOMEM
			     : 0;
	return rr;
}

int nft_pol_apply_touched(struct nft_pol **st, json_t *want, const json_t *before,
			  struct nft_pol_counts *ret, struct cni_err *err)
{
	_cleanup_json_ json_t *old = NULL, *now = NULL;

	if (!*st || json_object_get(before, "guard"))
		return apply(st, NULL, want, want, ret, err); /* the frame changes: all again */
	if ((*st)->applied != want)
		return nft_pol_apply(st, want, ret, err); /* another table was applied: a diff */
	old = json_object();
	now = json_object();
	if (!old || !now || touched_parts(want, before, old, now) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy batch");
	return apply(st, old, now, want, ret, err);
}

void nft_pol_free(struct nft_pol *st)
{
	if (!st)
		return;
	json_decref(st->applied);
	free(st);
}

int nft_pol_remove(struct cni_err *err)
{
	_cleanup_nft_sock_ struct nft_sock *s = NULL;
	_cleanup_nft_batch_ struct nft_batch *b = NULL;
	struct nft_chain_spec c;
	int rr = nft_sock_open(&s, err);

	if (rr < 0)
		return rr;
	nft_pol_spec("x", &c);
	if (nft_batch_new(s, 0, &b) < 0 || nft_batch_add_table(b, &c) < 0 ||
	    nft_batch_del_table(b, &c) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy batch");
	return nft_batch_send(s, b, err);
}

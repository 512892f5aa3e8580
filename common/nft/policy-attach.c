/* SPDX-License-Identifier: Apache-2.0 */
/* The plugins' side of the table `inet weft-policy` (policy.h nft_pol_attach): a pod's ADD
 * points its addresses at the chains weft-node compiled for it, or clears what an earlier
 * holder of the addresses left. Reads single elements (GETSETELEM), commits only a difference. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <endian.h>
#include <arpa/inet.h>

#include "common/naming.h"
#include "common/nft/internal.h"
#include "common/nft/policy.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#define ATTACH_TRIES 2 /* a batch that lost a race with weft-node is read and sent again */

void nft_pol_pod_tag(const char *ns, const char *name, char tag[NFT_POL_TAG_LEN + 1])
{
	snprintf(tag, NFT_POL_TAG_LEN + 1, "%016" PRIx64, naming_pod_hash(ns, name));
}

int nft_pol_pod_key(const char *tag, uint64_t *ret)
{
	char *end;
	uint64_t h;

	errno = 0;
	h = strtoull(tag, &end, 16);
	if (errno || *end || end - tag != NFT_POL_TAG_LEN)
		return -EINVAL;
	*ret = htobe64(h);
	return 0;
}

/* What an element lookup found. */
struct elem_found {
	bool found;
	char chain[NFT_CHAIN_NAME_MAX]; /* a verdict map's jump target */
	uint32_t value;			/* a value map's data */
};

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct elem_found *f = data;
	_cleanup_set_ struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;

	if (!s)
		return -ENOMEM;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
		return -EBADMSG;
	it = nftnl_set_elems_iter_create(s);
	if (!it)
		return -ENOMEM;
	if ((e = nftnl_set_elems_iter_next(it))) {
		uint32_t len = 0;
		const char *c = nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN);
		const void *v = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);

		f->found = true;
		if (c)
			snprintf(f->chain, sizeof(f->chain), "%s", c);
		if (v && len == sizeof(f->value)) {
			memcpy(&f->value, v, sizeof(f->value));
			f->value = ntohl(f->value);
		}
	}
	nftnl_set_elems_iter_destroy(it);
	return 0;
}

/* The element of set for key into *f (f->found false when there is none, or no such set). */
static int elem_get(struct nft_sock *s, const char *set, const void *key, uint32_t klen,
		    struct elem_found *f, struct cni_err *err)
{
	char req[512] = {0};
	struct nlmsghdr *nlh =
		nftnl_nlmsg_build_hdr(req, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_ACK, s->seq++);
	_cleanup_set_ struct nftnl_set *o = nft_pol_set_obj(set);
	struct nftnl_set_elem *e = o ? nftnl_set_elem_alloc() : NULL;
	int r;

	*f = (struct elem_found){0};
	if (!e)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy lookup");
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, klen);
	nftnl_set_elem_add(o, e);
	nftnl_set_elems_nlmsg_build_payload(nlh, o);
	r = nft_get(s, nlh, elem_cb, f, "look up an element of weft-policy", err);
	return r == -ENOENT ? 0 : r;
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	*(bool *)data = true;
	return 0;
}

static int table_exists(struct nft_sock *s, bool *ret, struct cni_err *err)
{
	char req[256] = {0};
	struct nlmsghdr *nlh =
		nftnl_nlmsg_build_hdr(req, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, s->seq++);
	struct nftnl_table *t = nftnl_table_alloc();
	int r;

	*ret = false;
	if (!t)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy lookup");
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_POL_TABLE);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	r = nft_get(s, nlh, table_cb, ret, "look up table inet " NFT_POL_TABLE, err);
	return r == -ENOENT ? 0 : r;
}

struct attach {
	const char *tag;   /* NULL: the runtime did not name the pod */
	long flags;	   /* NFT_POL_POD_*, or -1: the agent has not compiled the pod */
	unsigned commands; /* put into the batch */
};

/* One verdict map entry of address a right: in (pi-) or out (po-). */
static int fix_dispatch(struct nft_sock *s, struct nft_batch *b, struct attach *at,
			const struct inet_addr *a, bool in, struct cni_err *err)
{
	bool v6 = a->family == AF_INET6;
	const char *map = in ? (v6 ? "in6" : "in4") : (v6 ? "out6" : "out4");
	uint32_t klen = v6 ? 16 : 4;
	char want[NFT_CHAIN_NAME_MAX] = "";
	struct elem_found f;
	int r = elem_get(s, map, a->bytes, klen, &f, err);

	if (r < 0)
		return r;
	if (at->flags >= 0 && (at->flags & (in ? NFT_POL_POD_IN : NFT_POL_POD_OUT)))
		snprintf(want, sizeof(want), "p%c-%s", in ? 'i' : 'o', at->tag);
	if (f.found && strcmp(f.chain, want) == 0)
		return 0;
	if (f.found && (r = nft_pol_elem(b, map, a->bytes, klen, NULL, NULL, false)) == 0)
		at->commands++;
	if (r == 0 && want[0] && (r = nft_pol_elem(b, map, a->bytes, klen, want, NULL, true)) == 0)
		at->commands++;
	return r < 0 ? cni_err_set(err, CNI_ERR_INTERNAL, -r, "policy batch") : 0;
}

/* The guard's known set: a compiled pod's address in it, any other's out of it. */
static int fix_known(struct nft_sock *s, struct nft_batch *b, struct attach *at,
		     const struct inet_addr *a, struct cni_err *err)
{
	bool v6 = a->family == AF_INET6;
	const char *set = v6 ? "known6" : "known4";
	uint32_t klen = v6 ? 16 : 4;
	bool want = at->flags >= 0 && (at->flags & NFT_POL_POD_GUARD);
	struct elem_found f;
	int r = elem_get(s, set, a->bytes, klen, &f, err);

	if (r < 0 || f.found == want)
		return r;
	r = nft_pol_elem(b, set, a->bytes, klen, NULL, NULL, want);
	at->commands++;
	return r < 0 ? cni_err_set(err, CNI_ERR_INTERNAL, -r, "policy batch") : 0;
}

static int attach_once(struct nft_sock *s, struct attach *at, const struct inet_addr *addrs,
		       size_t n, struct cni_err *err)
{
	_cleanup_nft_batch_ struct nft_batch *b = NULL;
	struct elem_found f = {0};
	uint64_t h;
	int r = 0;

	if (at->tag && nft_pol_pod_key(at->tag, &h) == 0)
		r = elem_get(s, NFT_POL_PODS, &h, sizeof(h), &f, err);
	at->flags = f.found ? (long)f.value : -1;
	at->commands = 0;
	if (r == 0 && nft_batch_new(s, 0, &b) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy batch");
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = fix_dispatch(s, b, at, &addrs[i], true, err);
		if (r == 0)
			r = fix_dispatch(s, b, at, &addrs[i], false, err);
		if (r == 0)
			r = fix_known(s, b, at, &addrs[i], err);
	}
	if (r < 0 || at->commands == 0)
		return r;
	return nft_batch_send(s, b, err);
}

int nft_pol_attach(const char *ns, const char *name, const struct inet_addr *addrs, size_t n,
		   struct cni_err *err)
{
	_cleanup_nft_sock_ struct nft_sock *s = NULL;
	char tag[NFT_POL_TAG_LEN + 1];
	struct attach at = {ns && name && *ns && *name ? tag : NULL, -1, 0};
	bool there;
	int r;

	if (n == 0)
		return 0;
	if (at.tag)
		nft_pol_pod_tag(ns, name, tag);
	r = nft_sock_open(&s, err);
	if (r == 0)
		r = table_exists(s, &there, err);
	if (r == -EPROTONOSUPPORT || r == -EAFNOSUPPORT || r == -EOPNOTSUPP) {
		cni_err_clear(err); /* no nf_tables in this kernel: no policy table either */
		return 0;
	}
	if (r < 0 || !there)
		return r;
	for (int i = 0; i < ATTACH_TRIES; i++) {
		if (i)
			cni_err_clear(err);
		r = attach_once(s, &at, addrs, n, err);
		if (r == 0)
			return 0;
	}
	return cni_err_wrap(err, "NetworkPolicy: could not attach the pod's addresses to table "
				 "inet " NFT_POL_TABLE);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Reading nftables state for nft.c: the ruleset generation and the rules of one chain.
 * A dump that the kernel flags as interrupted (NLM_F_DUMP_INTR: the ruleset changed while it
 * ran) is thrown away and redone, so callers only ever see a consistent list. */
#include <errno.h>
#include <stdlib.h>

#include "common/nft/internal.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>

#define NFT_DUMP_RETRIES 10

/* ---- generation ----------------------------------------------------------------------------- */

static int gen_reply(const struct nlmsghdr *nlh, uint32_t *ret_gen)
{
	struct nftnl_gen *g = nftnl_gen_alloc();
	int r = -ENOMEM;

	if (g && nftnl_gen_nlmsg_parse(nlh, g) == 0 && nftnl_gen_is_set(g, NFTNL_GEN_ID)) {
		*ret_gen = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
		r = 0;
	} else if (g) {
		r = -EBADMSG;
	}
	if (g)
		nftnl_gen_free(g);
	return r;
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	return gen_reply(nlh, data);
}

int nft_gen_get(struct nft_sock *s, uint32_t *ret_gen, struct cni_err *err)
{
	char req[256] = {0};
	struct nlmsghdr *nlh =
		nftnl_nlmsg_build_hdr(req, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, s->seq++);
	int r = nft_get(s, nlh, gen_cb, ret_gen, "get ruleset generation", err);

	return r == -ENOENT ? cni_err_set(err, CNI_ERR_NFT, ENODATA, "nftables: no generation") : r;
}

/* ---- one object ----------------------------------------------------------------------------- */

int nft_get(struct nft_sock *s, const struct nlmsghdr *req, nft_msg_cb cb, void *data,
	    const char *what, struct cni_err *err)
{
	uint32_t seq = req->nlmsg_seq;
	struct nlmsghdr *nlh;
	const char *ext;
	bool got = false;
	ssize_t n;
	int len, e, r;

	if ((e = -nft_sock_send(s, req, req->nlmsg_len)) > 0)
		return cni_err_set(err, CNI_ERR_NFT, e, "nftables: %s", what);
	for (;;) {
		if ((n = nft_sock_recv(s, NFT_TIMEOUT_MS)) < 0)
			return cni_err_set(err, CNI_ERR_NFT, (int)-n, "nftables: %s", what);
		len = (int)n;
		for_each_msg(nlh, s->rbuf, len)
		{
			if (!nft_is_reply(s, nlh, seq))
				continue;
			if (nlh->nlmsg_type != NLMSG_ERROR) {
				if ((r = cb(nlh, data)) < 0)
					return cni_err_set(err, CNI_ERR_NFT, -r,
							   "nftables: %s: bad reply", what);
				got = true;
				continue;
			}
			if ((e = nft_ack_parse(nlh, &ext)) == ENOENT)
				return -ENOENT;
			if (e != 0)
				return nft_kernel_err(err, e, ext, "%s", what);
			return got ? 0 : -ENOENT;
		}
	}
}

/* ---- dumps ---------------------------------------------------------------------------------- */

static int dump_request(struct nft_sock *s, const struct nft_chain_spec *c, uint32_t seq)
{
	char req[1024] = {0}; /* attribute padding goes to the kernel too */
	struct nlmsghdr *nlh =
		nftnl_nlmsg_build_hdr(req, NFT_MSG_GETRULE, c->family, NLM_F_DUMP, seq);
	struct nftnl_rule *r = nftnl_rule_alloc();
	int rr = -ENOMEM;

	/* table + chain filter the dump in the kernel */
	if (r && nftnl_rule_set_str(r, NFTNL_RULE_TABLE, c->table) == 0 &&
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, c->name) == 0) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		rr = nft_sock_send(s, req, nlh->nlmsg_len);
	}
	if (r)
		nftnl_rule_free(r);
	return rr;
}

/* A rule message of the dump, appended to list. */
static int dump_rule(const struct nlmsghdr *nlh, struct nftnl_rule_list *list)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return -ENOMEM;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return -EBADMSG;
	}
	nftnl_rule_list_add_tail(r, list);
	return 0;
}

/* 1 = done, 0 = more, -errno. ENOENT (no such table/chain) is an empty dump. */
static int dump_msg(const struct nlmsghdr *nlh, struct nftnl_rule_list *list, bool *intr,
		    const char **ext)
{
	int e;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		*intr = true;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		e = nft_ack_parse(nlh, ext);
		return e == 0 || e == ENOENT ? 1 : -e;
	}
	if (nlh->nlmsg_type == NLMSG_DONE) {
		if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
			e = -*(const int *)mnl_nlmsg_get_payload(nlh);
		else
			e = 0;
		return e == 0 || e == ENOENT ? 1 : -e;
	}
	if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWRULE || *intr)
		return 0;
	return dump_rule(nlh, list);
}

/* One dump into list: 0, -EINTR when interrupted, or -errno with err set. */
static int dump_once(struct nft_sock *s, const struct nft_chain_spec *c,
		     struct nftnl_rule_list *list, struct cni_err *err)
{
	uint32_t seq = s->seq++;
	const char *ext = "";
	bool intr = false;
	struct nlmsghdr *nlh;
	ssize_t n;
	int len;
	int r;

	if ((r = dump_request(s, c, seq)) < 0)
		return cni_err_set(err, CNI_ERR_NFT, -r, "nftables: dump chain '%s'", c->name);
	for (;;) {
		if ((n = nft_sock_recv(s, NFT_TIMEOUT_MS)) < 0)
			return cni_err_set(err, CNI_ERR_NFT, (int)-n, "nftables: dump chain '%s'",
					   c->name);
		len = (int)n;
		for_each_msg(nlh, s->rbuf, len)
		{
			if (!nft_is_reply(s, nlh, seq))
				continue;
			r = dump_msg(nlh, list, &intr, &ext);
			if (r < 0)
				return nft_kernel_err(err, -r, ext, "dump chain '%s'", c->name);
			if (r == 1)
				return intr ? -EINTR : 0;
		}
	}
}

static int dump_deliver(struct nftnl_rule_list *list, nft_rule_cb cb, void *data)
{
	struct nftnl_rule_list_iter *it = nftnl_rule_list_iter_create(list);
	struct nftnl_rule *r;
	int rr = 0;

	if (!it)
		return -ENOMEM;
	for (r = nftnl_rule_list_iter_next(it); r && rr >= 0; r = nftnl_rule_list_iter_next(it))
		rr = cb(r, data);
	nftnl_rule_list_iter_destroy(it);
	return rr < 0 ? rr : 0;
}

int nft_rules_dump(struct nft_sock *s, const struct nft_chain_spec *c, nft_rule_cb cb, void *data,
		   struct cni_err *err)
{
	struct nftnl_rule_list *list = NULL;
	int r = -EINTR;

	for (int i = 0; i < NFT_DUMP_RETRIES && r == -EINTR; i++) {
		if (list)
			nftnl_rule_list_free(list);
		list = nftnl_rule_list_alloc();
		if (!list)
			return cni_err_set(err, CNI_ERR_NFT, ENOMEM, "nftables: dump");
		r = dump_once(s, c, list, err);
	}
	if (r == 0 && (r = dump_deliver(list, cb, data)) == -ENOMEM)
		cni_err_set(err, CNI_ERR_NFT, ENOMEM, "nftables: dump chain '%s'", c->name);
	else if (r == -EINTR)
		cni_err_set(err, CNI_ERR_TRY_AGAIN, EINTR,
			    "nftables: dump of chain '%s' interrupted %d times", c->name,
			    NFT_DUMP_RETRIES);
	nftnl_rule_list_free(list);
	return r;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of common/nft/, shared by nft.c (public API), batch.c (socket, batches, acks),
 * dump.c (generation, rule dumps) and expr.c (names, comments, rule builders).
 * Visible to unit tests; not for plugins. */
#ifndef WEFT_NFT_INTERNAL_H
#define WEFT_NFT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>

#include "common/cni-error.h"
#include "common/inet.h"
#include "common/nft/nft.h"

#define NFT_TABLE "weft"
/* Chain names stay <= 31 chars: readable in `nft list` and valid on every kernel (the limit was
 * 32 bytes before 4.15; it is 256 now). */
#define NFT_CHAIN_NAME_MAX 32
/* Comment length the nft tool accepts (and the reference plugins cut at), without the NUL. */
#define NFT_COMMENT_MAX 128
/* Bound on extra exclusions per rule: a rule has at most 128 expressions in the kernel
 * (NFT_RULE_MAXEXPRS); a masquerade rule uses 12 plus 3 per exclusion. */
#define NFT_EXCLUDE_MAX NFT_MASQ_EXCLUDE_MAX
/* Length of naming_attachment_tag() without the NUL. */
#define NFT_TAG_LEN 16

/* Where the rules of one network live. */
struct nft_chain_spec {
	uint16_t family;   /* NFPROTO_INET or NFPROTO_BRIDGE */
	const char *table; /* NFT_TABLE */
	char name[NFT_CHAIN_NAME_MAX];
	const char *type;      /* "nat" or "filter" */
	uint32_t hooknum;      /* NF_INET_POST_ROUTING, NF_BR_PRE_ROUTING */
	const char *hook_name; /* for messages */
	int32_t prio;
};

/* ---- expr.c --------------------------------------------------------------------------------- */

/* Chain name of a network, deterministic:
 *   "<prefix>-<network>"            when network is 1.. chars of [A-Za-z0-9_.-] and the whole
 *                                   name fits in NFT_CHAIN_NAME_MAX - 1 chars;
 *   "<prefix>h-<16 hex digits>"     otherwise, the hex being naming_hash({network}).
 * The two forms cannot collide: the first always has '-' right after the prefix. */
void nft_chain_name(const char *prefix, const char *network, char buf[NFT_CHAIN_NAME_MAX]);
/* masquerade chain (table inet weft) and macspoofchk chain (table bridge weft) of a network. */
void nft_masq_chain_spec(const char *network, struct nft_chain_spec *ret);
void nft_macspoof_chain_spec(const char *network, struct nft_chain_spec *ret);

/* "<tag>, net: <n>, if: <i>, id: <c>", cut to NFT_COMMENT_MAX chars; buf >= NFT_COMMENT_MAX+1. */
void nft_comment_fmt(const char *network, const char *container_id, const char *ifname,
		     char buf[NFT_COMMENT_MAX + 1]);
/* Copies the tag of a weft comment (16 lowercase hex digits, then ',' or the end) into tag.
 * False when the comment is not weft's. */
bool nft_comment_tag(const char *comment, char tag[NFT_TAG_LEN + 1]);
/* The rule's comment (NFTNL_UDATA_RULE_COMMENT) into buf, "" when it has none. */
void nft_rule_comment(const struct nftnl_rule *r, char *buf, size_t len);

/* A rule for chain c carrying comment. NULL on ENOMEM. */
struct nftnl_rule *nft_rule_new(const struct nft_chain_spec *c, const char *comment);
/* Appends to r: [meta nfproto guard] ip(6) saddr in subnet, ip(6) daddr != subnet,
 * daddr != each exclude prefix of the same family, daddr != multicast, counter, masquerade.
 * Returns 0, -EINVAL (no family / bad prefix length), -E2BIG (too many exclusions), -ENOMEM. */
int nft_masq_rule_fill(struct nftnl_rule *r, const struct inet_prefix *subnet,
		       const struct inet_prefix *exclude, size_t n_exclude);
/* Appends to r: iifname == ifname, ether saddr != mac, counter, drop. */
int nft_macspoof_rule_fill(struct nftnl_rule *r, const char *ifname, const uint8_t mac[6]);

static inline void nftnl_rule_freep(struct nftnl_rule **r)
{
	if (*r)
		nftnl_rule_free(*r);
}
#define _cleanup_nft_rule_ __attribute__((cleanup(nftnl_rule_freep)))

/* Expression builders: each appends one expression to r, 0 or -ENOMEM. Loads go to NFT_REG_1,
 * compares read it. */
#define IPV4_SADDR_OFF 12
#define IPV4_DADDR_OFF 16
#define IPV6_SADDR_OFF 8
#define IPV6_DADDR_OFF 24
int nft_add_expr(struct nftnl_rule *r, struct nftnl_expr *e); /* takes e; NULL: -ENOMEM */
int nft_add_meta(struct nftnl_rule *r, uint32_t key);
int nft_add_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len);
int nft_add_bitwise(struct nftnl_rule *r, const uint8_t *mask, uint32_t len);
int nft_add_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len);
int nft_add_plain(struct nftnl_rule *r, const char *name); /* counter, masq */
int nft_add_verdict(struct nftnl_rule *r, uint32_t verdict);

/* ---- batch.c: socket, acks, batches ------------------------------------------------------ */

/* Dump datagrams are at most 32 KiB; error acks echo the failing command (< 16 KiB). */
#define NFT_RBUF_SIZE  (64 * 1024)
#define NFT_TIMEOUT_MS 10000 /* bound on every wait for the kernel */

/* A NETLINK_NETFILTER socket (CLOEXEC, extended acks on) in the netns it was opened in. */
struct nft_sock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq; /* per-socket sequence counter */
	char *rbuf;   /* NFT_RBUF_SIZE */
};
struct nft_batch; /* one transaction: BATCH_BEGIN (with genid), commands, BATCH_END */

int nft_sock_open(struct nft_sock **ret, struct cni_err *err);
void nft_sock_close(struct nft_sock *s); /* NULL-safe */
static inline void nft_sock_closep(struct nft_sock **s)
{
	nft_sock_close(*s);
}
#define _cleanup_nft_sock_ __attribute__((cleanup(nft_sock_closep)))

int nft_sock_send(struct nft_sock *s, const void *buf, size_t len);
/* One datagram from the kernel into s->rbuf, waiting at most timeout_ms: length or -errno
 * (-ETIMEDOUT, -ENOSPC when truncated). */
ssize_t nft_sock_recv(struct nft_sock *s, int timeout_ms);
static inline bool nft_is_reply(const struct nft_sock *s, const struct nlmsghdr *nlh, uint32_t seq)
{
	return nlh->nlmsg_pid == s->portid && nlh->nlmsg_seq == seq;
}
#define for_each_msg(nlh, buf, len)                                                                \
	for ((nlh) = (struct nlmsghdr *)(buf); mnl_nlmsg_ok((nlh), (len));                         \
	     (nlh) = mnl_nlmsg_next((nlh), &(len)))
/* Positive errno of an NLMSG_ERROR (0 = ack); *ret_ext = the kernel's extack text or "". */
int nft_ack_parse(const struct nlmsghdr *nlh, const char **ret_ext);
/* err = CNI_ERR_NFT, msg "nftables: <fmt>", details "<strerror(e)>: <ext>". Returns -e. */
int nft_kernel_err(struct cni_err *err, int e, const char *ext, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- dump.c: reading state ---------------------------------------------------------------- */

/* Current ruleset generation (NFT_MSG_GETGEN). */
int nft_gen_get(struct nft_sock *s, uint32_t *ret_gen, struct cni_err *err);

/* Sends req (a GET of one object, NLM_F_ACK, its sequence number from s->seq) and calls cb on
 * each reply message (cb's negative return is an error). 0; -ENOENT when the kernel has no such
 * object (err untouched); another -errno with err set, what naming the request. */
typedef int (*nft_msg_cb)(const struct nlmsghdr *nlh, void *data);
int nft_get(struct nft_sock *s, const struct nlmsghdr *req, nft_msg_cb cb, void *data,
	    const char *what, struct cni_err *err);

/* Dumps the rules of chain c, calling cb for each (a negative return stops and is returned).
 * An absent table or chain is an empty dump. Retries while the dump is interrupted
 * (NLM_F_DUMP_INTR). */
typedef int (*nft_rule_cb)(const struct nftnl_rule *r, void *data);
int nft_rules_dump(struct nft_sock *s, const struct nft_chain_spec *c, nft_rule_cb cb, void *data,
		   struct cni_err *err);

/* ---- batch.c: batches -------------------------------------------------------------------- */

/* A batch whose commands take their sequence numbers from s. genid != 0 makes the kernel refuse
 * the whole batch with ERESTART when the ruleset changed since that generation. */
int nft_batch_new(struct nft_sock *s, uint32_t genid, struct nft_batch **ret);
/* A batch with its own sequence counter (tests build one without a socket). */
int nft_batch_new_seq(uint32_t *seq, uint32_t genid, struct nft_batch **ret);
void nft_batch_free(struct nft_batch *b); /* NULL-safe */
static inline void nft_batch_freep(struct nft_batch **b)
{
	nft_batch_free(*b);
}
#define _cleanup_nft_batch_ __attribute__((cleanup(nft_batch_freep)))

/* Commands. Each returns 0 or -ENOMEM. Table and chain are "add" (NLM_F_CREATE without EXCL):
 * a no-op when they exist, so concurrent plugins race safely. */
int nft_batch_add_table(struct nft_batch *b, const struct nft_chain_spec *c);
int nft_batch_add_chain(struct nft_batch *b, const struct nft_chain_spec *c);
/* A chain without type (c->type NULL) is a regular chain (a jump target). */
/* Deletes the chain (its rules must be deleted earlier in the same batch). */
int nft_batch_del_chain(struct nft_batch *b, const struct nft_chain_spec *c);
int nft_batch_del_rule(struct nft_batch *b, const struct nft_chain_spec *c, uint64_t handle);
/* Deletes every rule of chain c. */
int nft_batch_flush_chain(struct nft_batch *b, const struct nft_chain_spec *c);
/* Deletes the table and everything in it (it must exist: add it first in the same batch to
 * make the delete unconditional). */
int nft_batch_del_table(struct nft_batch *b, const struct nft_chain_spec *c);
/* Adds set s (its table, name, flags, key and data types set by the caller) to c's table. */
int nft_batch_add_set(struct nft_batch *b, const struct nft_chain_spec *c, struct nftnl_set *s);
int nft_batch_del_set(struct nft_batch *b, const struct nft_chain_spec *c, const char *name);
/* Adds (add) or deletes the elements held by s (table and name set) in one message; keep a
 * message under NFT_MSG_RESERVE (about 100 elements). */
int nft_batch_set_elems(struct nft_batch *b, const struct nft_chain_spec *c, struct nftnl_set *s,
			bool add);
/* r must belong to chain c; what names it in errors ("rule for 10.88.0.5"). */
int nft_batch_add_rule(struct nft_batch *b, const struct nft_chain_spec *c, struct nftnl_rule *r,
		       const char *what);
/* Like nft_batch_add_rule, at the head of the chain. */
int nft_batch_insert_rule(struct nft_batch *b, const struct nft_chain_spec *c, struct nftnl_rule *r,
			  const char *what);
/* Appends BATCH_END (once) and returns the bytes to send. */
const void *nft_batch_finish(struct nft_batch *b, size_t *ret_len);
/* Finishes, sends and reads every ack. On failure err names the first failing command with the
 * kernel's errno and extack text (CNI_ERR_NFT). Returns -ERESTART when the batch lost a race
 * (generation changed, or a rule to delete was already gone): the caller dumps and retries. */
int nft_batch_send(struct nft_sock *s, struct nft_batch *b, struct cni_err *err);

/* ---- policy.c: the table inet weft-policy (policy.h), shared with policy-attach.c ---------- */

#define NFT_POL_PODS "pods" /* map: pod hash (8 bytes, as `mark . mark`) -> NFT_POL_POD_* */

/* The "pods" key of a tag: its 64 bits big-endian, so `nft list` shows the tag's digits (the
 * value is big-endian too). -EINVAL when tag is not 16 hex digits. */
int nft_pol_pod_key(const char *tag, uint64_t *ret);

/* Chain spec of a regular chain of the table (name: chain, or a set's name for set commands). */
void nft_pol_spec(const char *name, struct nft_chain_spec *c);
/* A set object of the table, for element commands. NULL on ENOMEM. */
struct nftnl_set *nft_pol_set_obj(const char *name);
static inline void nftnl_set_freep(struct nftnl_set **s)
{
	if (*s)
		nftnl_set_free(*s);
}
#define _cleanup_set_ __attribute__((cleanup(nftnl_set_freep)))
/* Adds or deletes one element of set (key of klen bytes): with chain, the verdict "jump chain";
 * with value, that 32-bit value; with neither, a plain element. 0 or -ENOMEM. */
int nft_pol_elem(struct nft_batch *b, const char *set, const void *key, uint32_t klen,
		 const char *chain, const uint32_t *value, bool add);

#endif

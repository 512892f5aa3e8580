/* SPDX-License-Identifier: Apache-2.0 */
/* NETLINK_NETFILTER plumbing for nft.c: socket, acks and batches (dumps: dump.c).
 *
 * As nftables' src/mnl.c does it: extended acks on, a per-socket sequence counter, every
 * command of a batch asks for an ack and ALL acks are read (one datagram may hold several, a
 * failing batch still acks the commands that passed), the first failing command is reported
 * with the kernel's errno and extack text. The batch carries the ruleset generation the caller
 * looked at (NFNL_BATCH_GENID): if anything changed since, the kernel refuses the whole batch
 * with ERESTART and the caller dumps again, so "dump, then delete what we found" stays exact
 * with concurrent plugins. Every wait is bounded. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/array.h"
#include "common/cleanup.h"
#include "common/nft/internal.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

/* Room reserved for one command; rules are bounded far below (NFT_EXCLUDE_MAX). */
#define NFT_MSG_RESERVE (16 * 1024)

struct nft_cmd {
	uint32_t seq;
	uint32_t what;	   /* its description (for an error): at whats + what */
	bool retry_enoent; /* ENOENT means "lost a race", not a failure */
};

struct nft_batch {
	uint32_t *seq;
	char *buf;
	size_t len, cap;
	size_t zeroed; /* buf[0, zeroed) has been written or zeroed */
	struct nft_cmd *cmds;
	size_t n_cmds, cap_cmds;
	char *whats; /* the commands' descriptions, back to back (a first sync has ~7000) */
	size_t n_whats, cap_whats;
	uint32_t begin_seq;
	bool finished;
};

/* ---- socket --------------------------------------------------------------------------------- */

void nft_sock_close(struct nft_sock *s)
{
	if (!s)
		return;
	if (s->nl)
		mnl_socket_close(s->nl);
	free(s->rbuf);
	free(s);
}

int nft_sock_open(struct nft_sock **ret, struct cni_err *err)
{
	_cleanup_nft_sock_ struct nft_sock *s = calloc(1, sizeof(*s));
	int one = 1;

	if (!s || !(s->rbuf = malloc(NFT_RBUF_SIZE)))
		return cni_err_set(err, CNI_ERR_NFT, ENOMEM, "nftables socket");
	s->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!s->nl)
		return cni_err_set(err, CNI_ERR_NFT, errno, "open NETLINK_NETFILTER socket");
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return cni_err_set(err, CNI_ERR_NFT, errno, "bind NETLINK_NETFILTER socket");
	/* Old kernels lack extended acks: errors then come without the kernel's sentence. */
	(void)mnl_socket_setsockopt(s->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	s->portid = mnl_socket_get_portid(s->nl);
	s->seq = 1;
	*ret = TAKE_PTR(s);
	return 0;
}

ssize_t nft_sock_recv(struct nft_sock *s, int timeout_ms)
{
	struct pollfd pfd = {.fd = mnl_socket_get_fd(s->nl), .events = POLLIN};
	struct sockaddr_nl addr;
	struct iovec iov = {.iov_base = s->rbuf, .iov_len = NFT_RBUF_SIZE};
	struct msghdr mh = {
		.msg_name = &addr, .msg_namelen = sizeof(addr), .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;
	int r;

	for (;;) {
		mh.msg_namelen = sizeof(addr);
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ETIMEDOUT;
		n = recvmsg(pfd.fd, &mh, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (mh.msg_flags & MSG_TRUNC)
			return -ENOSPC;
		if (addr.nl_pid == 0) /* only the kernel talks to us */
			return n;
	}
}

int nft_sock_send(struct nft_sock *s, const void *buf, size_t len)
{
	ssize_t n = mnl_socket_sendto(s->nl, buf, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

int nft_ack_parse(const struct nlmsghdr *nlh, const char **ret_ext)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t plen = mnl_nlmsg_get_payload_len(nlh), off = sizeof(*e);
	struct nlattr *a;

	*ret_ext = "";
	if (plen < sizeof(*e))
		return EBADMSG;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return -e->error;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) /* the whole request is echoed before the TLVs */
		off = sizeof(e->error) + e->msg.nlmsg_len;
	if (MNL_ALIGN(off) >= plen)
		return -e->error;
	mnl_attr_for_each(a, nlh, off)
	{
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			*ret_ext = mnl_attr_get_str(a);
	}
	return -e->error;
}

int nft_kernel_err(struct cni_err *err, int e, const char *ext, const char *fmt, ...)
{
	char details[sizeof(err->details)], msg[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(details, sizeof(details), "%s%s%s", strerror(e), *ext ? ": " : "", ext);
	return cni_err_setd(err, CNI_ERR_NFT, e, details, "nftables: %s", msg);
}

/* ---- batches -------------------------------------------------------------------------------- */

void nft_batch_free(struct nft_batch *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b->cmds);
	free(b->whats);
	free(b);
}

/* Room for one more message and one more command record. */
static int batch_reserve(struct nft_batch *b)
{
	if (b->cap - b->len < NFT_MSG_RESERVE) {
		size_t cap = b->cap * 2 + NFT_MSG_RESERVE;
		char *p = realloc(b->buf, cap);

		if (!p)
			return -ENOMEM;
		b->buf = p;
		b->cap = cap;
	}
	/* The next message's room zeroed, not the whole capacity (a large batch's spare capacity
	 * costs no memory until it is used): libmnl before 1.0.5 leaves attribute padding as it
	 * finds it, and the kernel must not be sent stale heap bytes. */
	if (b->zeroed < b->len + NFT_MSG_RESERVE) {
		memset(b->buf + b->zeroed, 0, b->len + NFT_MSG_RESERVE - b->zeroed);
		b->zeroed = b->len + NFT_MSG_RESERVE;
	}
	if (b->n_cmds == b->cap_cmds) {
		size_t cap = b->cap_cmds * 2 + 8;
		struct nft_cmd *p = realloc(b->cmds, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		b->cmds = p;
		b->cap_cmds = cap;
	}
	return 0;
}

static void batch_put_begin(struct nft_batch *b, uint32_t genid)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(b->buf + b->len);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = NFNL_MSG_BATCH_BEGIN;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = b->begin_seq = (*b->seq)++;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
	if (genid)
		mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

int nft_batch_new_seq(uint32_t *seq, uint32_t genid, struct nft_batch **ret)
{
	struct nft_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->seq = seq;
	if (batch_reserve(b) < 0) {
		nft_batch_free(b);
		return -ENOMEM;
	}
	batch_put_begin(b, genid);
	*ret = b;
	return 0;
}

int nft_batch_new(struct nft_sock *s, uint32_t genid, struct nft_batch **ret)
{
	return nft_batch_new_seq(&s->seq, genid, ret);
}

/* Header of the next command (always with NLM_F_ACK), recorded for ack matching. */
static struct nlmsghdr *batch_cmd(struct nft_batch *b, uint16_t type, uint16_t family,
				  uint16_t flags, bool retry_enoent, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static struct nlmsghdr *batch_cmd(struct nft_batch *b, uint16_t type, uint16_t family,
				  uint16_t flags, bool retry_enoent, const char *fmt, ...)
{
	struct nft_cmd *cmd;
	char what[160];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	n = strlen(what) + 1;
	if (b->finished || batch_reserve(b) < 0 ||
	    array_room((void **)&b->whats, &b->cap_whats, b->n_whats + n, 1) < 0)
		return NULL;
	cmd = &b->cmds[b->n_cmds++];
	cmd->seq = (*b->seq)++;
	cmd->retry_enoent = retry_enoent;
	cmd->what = (uint32_t)b->n_whats;
	memcpy(b->whats + b->n_whats, what, n);
	b->n_whats += n;
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, family, flags | NLM_F_ACK, cmd->seq);
}

static void batch_cmd_done(struct nft_batch *b, const struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static const char *family_name(uint16_t family)
{
	return family == NFPROTO_BRIDGE ? "bridge" : family == NFPROTO_INET ? "inet" : "?";
}

int nft_batch_add_table(struct nft_batch *b, const struct nft_chain_spec *c)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh = NULL;

	if (t && nftnl_table_set_str(t, NFTNL_TABLE_NAME, c->table) == 0)
		nlh = batch_cmd(b, NFT_MSG_NEWTABLE, c->family, NLM_F_CREATE, false,
				"add table %s %s", family_name(c->family), c->table);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		batch_cmd_done(b, nlh);
	}
	if (t)
		nftnl_table_free(t);
	return nlh ? 0 : -ENOMEM;
}

static int chain_fill(struct nftnl_chain *ch, const struct nft_chain_spec *c)
{
	if (nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, c->table) < 0 ||
	    nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, c->name) < 0)
		return -ENOMEM;
	if (!c->type)
		return 0;
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, c->hooknum);
	nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, c->prio);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	return nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, c->type) < 0 ? -ENOMEM : 0;
}

int nft_batch_add_chain(struct nft_batch *b, const struct nft_chain_spec *c)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh = NULL;

	if (ch && chain_fill(ch, c) == 0)
		nlh = c->type ? batch_cmd(b, NFT_MSG_NEWCHAIN, c->family, NLM_F_CREATE, false,
					  "add chain %s %s %s { type %s hook %s priority %d }",
					  family_name(c->family), c->table, c->name, c->type,
					  c->hook_name, c->prio)
			      : batch_cmd(b, NFT_MSG_NEWCHAIN, c->family, NLM_F_CREATE, false,
					  "add chain %s %s %s", family_name(c->family), c->table,
					  c->name);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		batch_cmd_done(b, nlh);
	}
	if (ch)
		nftnl_chain_free(ch);
	return nlh ? 0 : -ENOMEM;
}

int nft_batch_del_chain(struct nft_batch *b, const struct nft_chain_spec *c)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh = NULL;

	if (ch && nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, c->table) == 0 &&
	    nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, c->name) == 0)
		nlh = batch_cmd(b, NFT_MSG_DELCHAIN, c->family, 0, true, "delete chain %s %s %s",
				family_name(c->family), c->table, c->name);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		batch_cmd_done(b, nlh);
	}
	if (ch)
		nftnl_chain_free(ch);
	return nlh ? 0 : -ENOMEM;
}

int nft_batch_del_rule(struct nft_batch *b, const struct nft_chain_spec *c, uint64_t handle)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh = NULL;

	if (r && nftnl_rule_set_str(r, NFTNL_RULE_TABLE, c->table) == 0 &&
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, c->name) == 0) {
		nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
		nlh = batch_cmd(b, NFT_MSG_DELRULE, c->family, 0, true,
				"delete rule %s %s %s handle %llu", family_name(c->family),
				c->table, c->name, (unsigned long long)handle);
	}
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		batch_cmd_done(b, nlh);
	}
	if (r)
		nftnl_rule_free(r);
	return nlh ? 0 : -ENOMEM;
}

int nft_batch_flush_chain(struct nft_batch *b, const struct nft_chain_spec *c)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh = NULL;

	if (r && nftnl_rule_set_str(r, NFTNL_RULE_TABLE, c->table) == 0 &&
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, c->name) == 0)
		nlh = batch_cmd(b, NFT_MSG_DELRULE, c->family, 0, true, "flush chain %s %s %s",
				family_name(c->family), c->table, c->name);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		batch_cmd_done(b, nlh);
	}
	if (r)
		nftnl_rule_free(r);
	return nlh ? 0 : -ENOMEM;
}

int nft_batch_del_table(struct nft_batch *b, const struct nft_chain_spec *c)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh = NULL;

	if (t && nftnl_table_set_str(t, NFTNL_TABLE_NAME, c->table) == 0)
		nlh = batch_cmd(b, NFT_MSG_DELTABLE, c->family, 0, true, "delete table %s %s",
				family_name(c->family), c->table);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		batch_cmd_done(b, nlh);
	}
	if (t)
		nftnl_table_free(t);
	return nlh ? 0 : -ENOMEM;
}

int nft_batch_add_set(struct nft_batch *b, const struct nft_chain_spec *c, struct nftnl_set *s)
{
	struct nlmsghdr *nlh =
		batch_cmd(b, NFT_MSG_NEWSET, c->family, NLM_F_CREATE, false, "add set %s %s %s",
			  family_name(c->family), c->table, nftnl_set_get_str(s, NFTNL_SET_NAME));

	if (!nlh)
		return -ENOMEM;
	nftnl_set_nlmsg_build_payload(nlh, s);
	batch_cmd_done(b, nlh);
	return 0;
}

int nft_batch_del_set(struct nft_batch *b, const struct nft_chain_spec *c, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh = NULL;

	if (s && nftnl_set_set_str(s, NFTNL_SET_TABLE, c->table) == 0 &&
	    nftnl_set_set_str(s, NFTNL_SET_NAME, name) == 0)
		nlh = batch_cmd(b, NFT_MSG_DELSET, c->family, 0, true, "delete set %s %s %s",
				family_name(c->family), c->table, name);
	if (nlh) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		batch_cmd_done(b, nlh);
	}
	if (s)
		nftnl_set_free(s);
	return nlh ? 0 : -ENOMEM;
}

int nft_batch_set_elems(struct nft_batch *b, const struct nft_chain_spec *c, struct nftnl_set *s,
			bool add)
{
	struct nlmsghdr *nlh = batch_cmd(
		b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, c->family, add ? NLM_F_CREATE : 0,
		!add, "%s elements of set %s %s %s", add ? "add" : "delete", family_name(c->family),
		c->table, nftnl_set_get_str(s, NFTNL_SET_NAME));

	if (!nlh)
		return -ENOMEM;
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	batch_cmd_done(b, nlh);
	return 0;
}

int nft_batch_add_rule(struct nft_batch *b, const struct nft_chain_spec *c, struct nftnl_rule *r,
		       const char *what)
{
	struct nlmsghdr *nlh = batch_cmd(b, NFT_MSG_NEWRULE, c->family, NLM_F_CREATE | NLM_F_APPEND,
					 false, "add %s to chain %s %s %s", what,
					 family_name(c->family), c->table, c->name);

	if (!nlh)
		return -ENOMEM;
	nftnl_rule_nlmsg_build_payload(nlh, r);
	batch_cmd_done(b, nlh);
	return 0;
}

int nft_batch_insert_rule(struct nft_batch *b, const struct nft_chain_spec *c, struct nftnl_rule *r,
			  const char *what)
{
	struct nlmsghdr *nlh = batch_cmd(b, NFT_MSG_NEWRULE, c->family, NLM_F_CREATE, false,
					 "insert %s into chain %s %s %s", what,
					 family_name(c->family), c->table, c->name);

	if (!nlh)
		return -ENOMEM;
	nftnl_rule_nlmsg_build_payload(nlh, r);
	batch_cmd_done(b, nlh);
	return 0;
}

const void *nft_batch_finish(struct nft_batch *b, size_t *ret_len)
{
	if (!b->finished) {
		nftnl_batch_end(b->buf + b->len, (*b->seq)++);
		b->len += NLMSG_ALIGN(((struct nlmsghdr *)(b->buf + b->len))->nlmsg_len);
		b->finished = true;
	}
	*ret_len = b->len;
	return b->buf;
}

/* ---- acks ----------------------------------------------------------------------------------- */

struct ack_state {
	size_t pending;
	bool failed; /* first failure recorded in err; later ones only drained */
	bool fatal;  /* the batch as a whole was refused: no more acks come */
	int ret;
};

/* Commands have consecutive sequence numbers. */
static struct nft_cmd *batch_find(struct nft_batch *b, uint32_t seq)
{
	uint32_t i;

	if (b->n_cmds == 0)
		return NULL;
	i = seq - b->cmds[0].seq;
	return i < b->n_cmds && b->cmds[i].seq == seq ? &b->cmds[i] : NULL;
}

static void ack_one(struct nft_batch *b, const struct nlmsghdr *nlh, struct ack_state *st,
		    struct cni_err *err)
{
	const char *ext, *what = "batch";
	int e = nft_ack_parse(nlh, &ext);
	struct nft_cmd *cmd = NULL;

	if (nlh->nlmsg_seq == b->begin_seq) {
		st->fatal = true;
	} else {
		if (!(cmd = batch_find(b, nlh->nlmsg_seq)))
			return;
		st->pending--;
		what = b->whats + cmd->what;
	}
	if (e == 0 || st->failed)
		return;
	st->failed = true;
	st->ret = nft_kernel_err(err, e, ext, "%s", what);
	if (e == ERESTART || (e == ENOENT && cmd && cmd->retry_enoent))
		st->ret = -ERESTART; /* lost a race: dump again and retry */
}

static int batch_acks(struct nft_sock *s, struct nft_batch *b, struct cni_err *err)
{
	struct ack_state st = {.pending = b->n_cmds};
	struct nlmsghdr *nlh;
	ssize_t n;
	int len;

	/* The kernel handles the batch inside sendmsg(): every ack is queued by now. */
	while (st.pending > 0 && !st.fatal) {
		n = nft_sock_recv(s, st.failed ? 0 : NFT_TIMEOUT_MS);
		if (n == -ETIMEDOUT && st.failed)
			break;
		if (n < 0 && !st.failed)
			return cni_err_set(err, CNI_ERR_NFT, (int)-n,
					   "nftables: read batch acknowledgements");
		if (n < 0)
			break;
		len = (int)n;
		for_each_msg(nlh, s->rbuf, len)
		{
			if (nlh->nlmsg_pid == s->portid && nlh->nlmsg_type == NLMSG_ERROR)
				ack_one(b, nlh, &st, err);
		}
	}
	return st.ret;
}

/* A socket buffer of at least want bytes (FORCE needs CAP_NET_ADMIN, which writing nftables
 * needs anyway; without it the sysctl limits apply). */
static void sock_buf_grow(struct nft_sock *s, int opt, int force_opt, size_t want)
{
	int fd = mnl_socket_get_fd(s->nl), cur = 0, v = (int)(want < INT32_MAX ? want : INT32_MAX);
	socklen_t len = sizeof(cur);

	if (getsockopt(fd, SOL_SOCKET, opt, &cur, &len) == 0 && (size_t)cur >= want)
		return;
	if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

int nft_batch_send(struct nft_sock *s, struct nft_batch *b, struct cni_err *err)
{
	size_t len;
	const void *buf = nft_batch_finish(b, &len);
	int r;

	if (b->n_cmds == 0)
		return 0;
	/* the whole batch goes in one sendmsg(), and every ack (~1 KiB of buffer each, as
	 * nftables reckons) is queued before we read the first one */
	sock_buf_grow(s, SO_SNDBUF, SO_SNDBUFFORCE, len + 4096);
	sock_buf_grow(s, SO_RCVBUF, SO_RCVBUFFORCE, b->n_cmds * 1024 + NFT_RBUF_SIZE);
	r = nft_sock_send(s, buf, len);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_NFT, -r, "nftables: send batch (%zu commands)",
				   b->n_cmds);
	return batch_acks(s, b, err);
}

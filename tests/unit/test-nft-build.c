/* SPDX-License-Identifier: Apache-2.0 */
/* nft builders without a socket: chain names, comments, rule expressions and whole batches are
 * built, then parsed back with libnftnl/libmnl and compared with what nft itself emits for the
 * same rules. No root needed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "common/naming.h"
#include "common/nft/internal.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>

#define MAX_EXPRS 64

struct parsed {
	struct nftnl_rule *rule;
	size_t n;
	const char *names[MAX_EXPRS];
	struct nftnl_expr *e[MAX_EXPRS];
};

static struct inet_prefix pfx(int family, const char *addr, uint8_t len)
{
	struct inet_prefix p = {.addr.family = family, .len = len};

	assert_int_equal(inet_pton(family, addr, p.addr.bytes), 1);
	return p;
}

/* Serialises r as a NEWRULE message and parses it back into out. */
static void roundtrip(struct nftnl_rule *r, struct parsed *out)
{
	static char buf[32768];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET,
						     NLM_F_CREATE | NLM_F_APPEND, 1);
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;

	nftnl_rule_nlmsg_build_payload(nlh, r);
	memset(out, 0, sizeof(*out));
	out->rule = nftnl_rule_alloc();
	assert_non_null(out->rule);
	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, out->rule), 0);
	it = nftnl_expr_iter_create(out->rule);
	assert_non_null(it);
	while ((e = nftnl_expr_iter_next(it)) && out->n < MAX_EXPRS) {
		out->e[out->n] = e;
		out->names[out->n++] = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	}
	nftnl_expr_iter_destroy(it);
}

static void expect_names(const struct parsed *p, const char *const *names, size_t n)
{
	assert_int_equal(p->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(p->names[i], names[i]);
}

static void expect_data(const struct nftnl_expr *e, uint16_t attr, const void *want, uint32_t len)
{
	uint32_t got_len = 0;
	const void *got = nftnl_expr_get(e, attr, &got_len);

	assert_non_null(got);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
}

static void expect_payload(const struct nftnl_expr *e, uint32_t base, uint32_t off, uint32_t len)
{
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE), base);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET), off);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN), len);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG), NFT_REG_1);
}

static void expect_cmp(const struct nftnl_expr *e, uint32_t op, const void *data, uint32_t len)
{
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_SREG), NFT_REG_1);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP), op);
	expect_data(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static struct nftnl_rule *masq_rule(const struct nft_chain_spec *c, const char *comment,
				    const struct inet_prefix *ip, const struct inet_prefix *ex,
				    size_t n_ex)
{
	struct nftnl_rule *r = nft_rule_new(c, comment);

	assert_non_null(r);
	assert_int_equal(nft_masq_rule_fill(r, ip, ex, n_ex), 0);
	return r;
}

/* ---- names and comments --------------------------------------------------------------------- */

static void test_chain_name(void **state)
{
	char a[NFT_CHAIN_NAME_MAX], b[NFT_CHAIN_NAME_MAX];
	const char *long_net = "a-network-name-that-is-too-long";

	nft_chain_name("masq", "cni-podman0", a);
	assert_string_equal(a, "masq-cni-podman0");
	nft_chain_name("masq", "abcdefghijklmnopqrstuvwxy1", a); /* 5 + 26 = 31 chars: fits */
	assert_string_equal(a, "masq-abcdefghijklmnopqrstuvwxy1");
	nft_chain_name("masq", long_net, a);
	assert_int_equal(strlen(a), 22);
	assert_memory_equal(a, "masqh-", 6);
	nft_chain_name("masq", long_net, b);
	assert_string_equal(a, b); /* deterministic */
	nft_chain_name("masq", "odd name", a);
	assert_memory_equal(a, "masqh-", 6);
	nft_chain_name("masq", "odd\"name", b);
	assert_string_not_equal(a, b);
	nft_chain_name("masq", "", a);
	assert_memory_equal(a, "masqh-", 6);
	nft_chain_name("spoof", "net1", a);
	assert_string_equal(a, "spoof-net1");
}

static void test_chain_specs(void **state)
{
	struct nft_chain_spec c;

	nft_masq_chain_spec("net1", &c);
	assert_int_equal(c.family, NFPROTO_INET);
	assert_string_equal(c.table, "weft");
	assert_string_equal(c.type, "nat");
	assert_int_equal(c.hooknum, NF_INET_POST_ROUTING);
	assert_int_equal(c.prio, 100);
	nft_macspoof_chain_spec("net1", &c);
	assert_int_equal(c.family, NFPROTO_BRIDGE);
	assert_string_equal(c.type, "filter");
	assert_int_equal(c.hooknum, 0 /* NF_BR_PRE_ROUTING */);
	assert_int_equal(c.prio, -300);
}

static void test_comment(void **state)
{
	char comment[NFT_COMMENT_MAX + 1], tag[NFT_TAG_LEN + 1], want[NFT_TAG_LEN + 1];
	char long_id[200];

	naming_attachment_tag("net1", "ctr1", "eth0", want);
	nft_comment_fmt("net1", "ctr1", "eth0", comment);
	assert_true(strncmp(comment, want, NFT_TAG_LEN) == 0);
	assert_string_equal(comment + NFT_TAG_LEN, ", net: net1, if: eth0, id: ctr1");
	assert_true(nft_comment_tag(comment, tag));
	assert_string_equal(tag, want);

	memset(long_id, 'f', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	nft_comment_fmt("net1", long_id, "eth0", comment);
	assert_int_equal(strlen(comment), NFT_COMMENT_MAX);
	assert_true(nft_comment_tag(comment, tag));

	assert_true(nft_comment_tag("0123456789abcdef", tag)); /* bare tag */
	assert_false(nft_comment_tag("0123456789abcdeX, x", tag));
	assert_false(nft_comment_tag("0123456789ABCDEF, x", tag));
	assert_false(nft_comment_tag("0123456789abcdef0", tag));
	assert_false(nft_comment_tag("user rule", tag));
	assert_false(nft_comment_tag("", tag));
}

/* ---- rules ---------------------------------------------------------------------------------- */

static void test_masq_v4(void **state)
{
	static const char *const names[] = {"meta",    "cmp",	  "payload", "bitwise",
					    "cmp",     "payload", "bitwise", "cmp",
					    "payload", "bitwise", "cmp",     "payload",
					    "bitwise", "cmp",	  "counter", "masq"};
	struct inet_prefix subnet = pfx(AF_INET, "10.88.0.0", 16);
	struct inet_prefix ex[] = {pfx(AF_INET, "10.96.0.0", 12), pfx(AF_INET6, "fd00::", 8)};
	const uint8_t v4 = NFPROTO_IPV4, net[] = {10, 88, 0, 0};
	const uint8_t mask16[] = {255, 255, 0, 0}, exnet[] = {10, 96, 0, 0};
	const uint8_t mask12[] = {255, 240, 0, 0}, mcast[] = {224, 0, 0, 0};
	const uint8_t mask4[] = {240, 0, 0, 0}, zero[4] = {0};
	const char *comment = "0123456789abcdef, subnet: 10.88.0.0/16, net: net1";
	char got[NFT_COMMENT_MAX + 1];
	struct nft_chain_spec c;
	struct nftnl_rule *r;
	struct parsed p;

	nft_masq_chain_spec("net1", &c);
	r = masq_rule(&c, comment, &subnet, ex, 2); /* the v6 exclusion is skipped */
	roundtrip(r, &p);
	expect_names(&p, names, 16);
	assert_int_equal(nftnl_expr_get_u32(p.e[0], NFTNL_EXPR_META_KEY), NFT_META_NFPROTO);
	expect_cmp(p.e[1], NFT_CMP_EQ, &v4, 1);
	/* ip saddr 10.88.0.0/16 */
	expect_payload(p.e[2], NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
	expect_data(p.e[3], NFTNL_EXPR_BITWISE_MASK, mask16, 4);
	expect_cmp(p.e[4], NFT_CMP_EQ, net, 4);
	/* ip daddr != 10.88.0.0/16, != 10.96.0.0/12, != 224.0.0.0/4 */
	expect_payload(p.e[5], NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
	expect_data(p.e[6], NFTNL_EXPR_BITWISE_MASK, mask16, 4);
	expect_data(p.e[6], NFTNL_EXPR_BITWISE_XOR, zero, 4);
	expect_cmp(p.e[7], NFT_CMP_NEQ, net, 4);
	expect_data(p.e[9], NFTNL_EXPR_BITWISE_MASK, mask12, 4);
	expect_cmp(p.e[10], NFT_CMP_NEQ, exnet, 4);
	expect_data(p.e[12], NFTNL_EXPR_BITWISE_MASK, mask4, 4);
	expect_cmp(p.e[13], NFT_CMP_NEQ, mcast, 4);
	assert_string_equal(nftnl_rule_get_str(p.rule, NFTNL_RULE_TABLE), "weft");
	assert_string_equal(nftnl_rule_get_str(p.rule, NFTNL_RULE_CHAIN), "masq-net1");
	nft_rule_comment(p.rule, got, sizeof(got));
	assert_string_equal(got, comment);
	nftnl_rule_free(p.rule);
	nftnl_rule_free(r);
}

static void test_masq_v6(void **state)
{
	static const char *const names[] = {"meta",    "cmp",	  "payload", "bitwise", "cmp",
					    "payload", "bitwise", "cmp",     "payload", "bitwise",
					    "cmp",     "counter", "masq"};
	struct inet_prefix subnet = pfx(AF_INET6, "fd00:88::", 64);
	struct inet_prefix ex = pfx(AF_INET, "10.96.0.0", 12);
	const uint8_t v6 = NFPROTO_IPV6, mcast[16] = {0xff};
	uint8_t mask64[16] = {0}, mask8[16] = {0xff};
	struct nft_chain_spec c;
	struct nftnl_rule *r;
	struct parsed p;

	memset(mask64, 0xff, 8);
	nft_masq_chain_spec("net1", &c);
	r = masq_rule(&c, "0123456789abcdef", &subnet, &ex, 1); /* v4 exclusion skipped */
	roundtrip(r, &p);
	expect_names(&p, names, 13);
	expect_cmp(p.e[1], NFT_CMP_EQ, &v6, 1);
	expect_payload(p.e[2], NFT_PAYLOAD_NETWORK_HEADER, 8, 16);
	expect_data(p.e[3], NFTNL_EXPR_BITWISE_MASK, mask64, 16);
	expect_cmp(p.e[4], NFT_CMP_EQ, subnet.addr.bytes, 16);
	expect_payload(p.e[5], NFT_PAYLOAD_NETWORK_HEADER, 24, 16);
	expect_data(p.e[6], NFTNL_EXPR_BITWISE_MASK, mask64, 16);
	expect_cmp(p.e[7], NFT_CMP_NEQ, subnet.addr.bytes, 16);
	expect_data(p.e[9], NFTNL_EXPR_BITWISE_MASK, mask8, 16);
	expect_cmp(p.e[10], NFT_CMP_NEQ, mcast, 16);
	nftnl_rule_free(p.rule);
	nftnl_rule_free(r);
}

static void test_masq_host_prefix_and_limits(void **state)
{
	static const char *const names[] = {"meta",    "cmp",	  "payload", "cmp",
					    "payload", "cmp",	  "payload", "bitwise",
					    "cmp",     "counter", "masq"};
	struct inet_prefix ip = pfx(AF_INET, "10.1.2.3", 32), bad = ip;
	struct inet_prefix many[NFT_EXCLUDE_MAX + 1];
	struct nft_chain_spec c;
	struct nftnl_rule *r;
	struct parsed p;

	nft_masq_chain_spec("net1", &c);
	r = masq_rule(&c, NULL, &ip, NULL, 0); /* a /32 subnet: plain compares, no bitwise */
	roundtrip(r, &p);
	expect_names(&p, names, 11);
	expect_cmp(p.e[5], NFT_CMP_NEQ, ip.addr.bytes, 4);
	nftnl_rule_free(p.rule);
	nftnl_rule_free(r);

	r = nft_rule_new(&c, NULL);
	bad.len = 33;
	assert_int_equal(nft_masq_rule_fill(r, &bad, NULL, 0), -EINVAL);
	bad.addr.family = 0;
	bad.len = 8;
	assert_int_equal(nft_masq_rule_fill(r, &bad, NULL, 0), -EINVAL);
	for (size_t i = 0; i < NFT_EXCLUDE_MAX + 1; i++)
		many[i] = pfx(AF_INET, "10.0.0.0", 8);
	assert_int_equal(nft_masq_rule_fill(r, &ip, many, NFT_EXCLUDE_MAX + 1), -E2BIG);
	nftnl_rule_free(r);
	r = nft_rule_new(&c, NULL); /* the maximum fits the kernel's 128 expressions */
	assert_int_equal(nft_masq_rule_fill(r, &ip, many, NFT_EXCLUDE_MAX), 0);
	roundtrip(r, &p);
	assert_true(p.n <= 128);
	nftnl_rule_free(p.rule);
	nftnl_rule_free(r);
}

static void test_macspoof(void **state)
{
	static const char *const names[] = {"meta", "cmp",     "payload",
					    "cmp",  "counter", "immediate"};
	const uint8_t mac[6] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
	char ifname[16] = "veth0123456789a";
	struct nft_chain_spec c;
	struct nftnl_rule *r;
	struct parsed p;

	nft_macspoof_chain_spec("net1", &c);
	r = nft_rule_new(&c, "0123456789abcdef, net: net1");
	assert_int_equal(nft_macspoof_rule_fill(r, ifname, mac), 0);
	roundtrip(r, &p);
	expect_names(&p, names, 6);
	assert_int_equal(nftnl_expr_get_u32(p.e[0], NFTNL_EXPR_META_KEY), NFT_META_IIFNAME);
	expect_cmp(p.e[1], NFT_CMP_EQ, ifname, 16);
	expect_payload(p.e[2], NFT_PAYLOAD_LL_HEADER, 6, 6);
	expect_cmp(p.e[3], NFT_CMP_NEQ, mac, 6);
	assert_int_equal(nftnl_expr_get_u32(p.e[5], NFTNL_EXPR_IMM_DREG), NFT_REG_VERDICT);
	assert_int_equal(nftnl_expr_get_u32(p.e[5], NFTNL_EXPR_IMM_VERDICT), NF_DROP);
	nftnl_rule_free(p.rule);
	nftnl_rule_free(r);

	r = nft_rule_new(&c, NULL);
	assert_int_equal(nft_macspoof_rule_fill(r, "veth0123456789ab", mac), -EINVAL);
	assert_int_equal(nft_macspoof_rule_fill(r, "", mac), -EINVAL);
	nftnl_rule_free(r);
}

/* ---- batches -------------------------------------------------------------------------------- */

static const struct nlmsghdr *next_msg(const char *buf, size_t len, size_t *off)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)(buf + *off);

	assert_true(*off + sizeof(*nlh) <= len);
	assert_true(*off + nlh->nlmsg_len <= len);
	*off += NLMSG_ALIGN(nlh->nlmsg_len);
	return nlh;
}

static void expect_nft_msg(const struct nlmsghdr *nlh, uint16_t type, uint16_t flags, uint32_t seq)
{
	assert_int_equal(nlh->nlmsg_type, (NFNL_SUBSYS_NFTABLES << 8) | type);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | flags);
	assert_int_equal(nlh->nlmsg_seq, seq);
}

static int genid_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == NFNL_BATCH_GENID)
		*(uint32_t *)data = ntohl(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

static void check_chain_msg(const struct nlmsghdr *nlh)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();

	assert_int_equal(nftnl_chain_nlmsg_parse(nlh, ch), 0);
	assert_string_equal(nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME), "masq-net1");
	assert_string_equal(nftnl_chain_get_str(ch, NFTNL_CHAIN_TYPE), "nat");
	assert_int_equal(nftnl_chain_get_u32(ch, NFTNL_CHAIN_HOOKNUM), NF_INET_POST_ROUTING);
	assert_int_equal(nftnl_chain_get_s32(ch, NFTNL_CHAIN_PRIO), 100);
	assert_int_equal(nftnl_chain_get_u32(ch, NFTNL_CHAIN_POLICY), NF_ACCEPT);
	nftnl_chain_free(ch);
}

static void check_rule_msg(const struct nlmsghdr *nlh, bool with_handle)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	char comment[NFT_COMMENT_MAX + 1];

	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, r), 0);
	assert_string_equal(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), "masq-net1");
	assert_int_equal(nftnl_rule_is_set(r, NFTNL_RULE_HANDLE), with_handle);
	if (with_handle)
		assert_int_equal(nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE), 7);
	else {
		nft_rule_comment(r, comment, sizeof(comment));
		assert_string_equal(comment, "0123456789abcdef, x");
	}
	nftnl_rule_free(r);
}

static void test_batch_layout(void **state)
{
	struct inet_prefix ip = pfx(AF_INET, "10.88.0.5", 16);
	_cleanup_nft_batch_ struct nft_batch *b = NULL;
	const struct nlmsghdr *nlh;
	struct nft_chain_spec c;
	struct nftnl_rule *r;
	uint32_t seq = 100, genid = 0;
	size_t len, off = 0;
	const char *buf;

	nft_masq_chain_spec("net1", &c);
	assert_int_equal(nft_batch_new_seq(&seq, 42, &b), 0);
	assert_int_equal(nft_batch_add_table(b, &c), 0);
	assert_int_equal(nft_batch_add_chain(b, &c), 0);
	assert_int_equal(nft_batch_del_rule(b, &c, 7), 0);
	r = masq_rule(&c, "0123456789abcdef, x", &ip, NULL, 0);
	assert_int_equal(nft_batch_add_rule(b, &c, r, "rule"), 0);
	nftnl_rule_free(r);
	buf = nft_batch_finish(b, &len);

	nlh = next_msg(buf, len, &off);
	assert_int_equal(nlh->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
	assert_int_equal(nlh->nlmsg_seq, 100);
	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), genid_attr_cb, &genid);
	assert_int_equal(genid, 42);
	/* table/chain: CREATE without EXCL = idempotent add */
	expect_nft_msg(next_msg(buf, len, &off), NFT_MSG_NEWTABLE, NLM_F_CREATE, 101);
	nlh = next_msg(buf, len, &off);
	expect_nft_msg(nlh, NFT_MSG_NEWCHAIN, NLM_F_CREATE, 102);
	check_chain_msg(nlh);
	nlh = next_msg(buf, len, &off);
	expect_nft_msg(nlh, NFT_MSG_DELRULE, 0, 103);
	check_rule_msg(nlh, true);
	nlh = next_msg(buf, len, &off);
	expect_nft_msg(nlh, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, 104);
	check_rule_msg(nlh, false);
	nlh = next_msg(buf, len, &off);
	assert_int_equal(nlh->nlmsg_type, NFNL_MSG_BATCH_END);
	assert_int_equal(off, len);
	assert_int_equal(seq, 106);
	assert_int_equal(nft_batch_add_table(b, &c), -ENOMEM); /* finished: no more commands */
}

/* An NLMSG_ERROR as the kernel sends it with extended acks, optionally capped. */
static size_t build_ack(char *buf, int error, bool capped, const char *text)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf), req = {.nlmsg_len = 64, .nlmsg_seq = 9};
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = NLM_F_ACK_TLVS | (capped ? NLM_F_CAPPED : 0);
	e->error = -error;
	e->msg = req;
	if (!capped) /* the echoed request: 64 bytes, header included */
		mnl_nlmsg_put_extra_header(nlh, 64 - sizeof(req));
	mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
	return nlh->nlmsg_len;
}

static void test_ack_parse(void **state)
{
	char buf[512];
	const char *ext;

	build_ack(buf, ENOENT, true, "chain not found");
	assert_int_equal(nft_ack_parse((struct nlmsghdr *)buf, &ext), ENOENT);
	assert_string_equal(ext, "chain not found");
	build_ack(buf, EEXIST, false, "exists");
	assert_int_equal(nft_ack_parse((struct nlmsghdr *)buf, &ext), EEXIST);
	assert_string_equal(ext, "exists");
	build_ack(buf, 0, true, "");
	assert_int_equal(nft_ack_parse((struct nlmsghdr *)buf, &ext), 0);
}

static void test_kernel_err(void **state)
{
	struct cni_err err = {0};

	assert_int_equal(nft_kernel_err(&err, EOPNOTSUPP, "bad hook", "add chain %s", "x"),
			 -EOPNOTSUPP);
	assert_int_equal(err.code, CNI_ERR_NFT);
	assert_int_equal(err.sys_errno, EOPNOTSUPP);
	assert_string_equal(err.msg, "nftables: add chain x");
	assert_non_null(strstr(err.details, "bad hook"));
	assert_non_null(strstr(err.details, strerror(EOPNOTSUPP)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_name),
		cmocka_unit_test(test_chain_specs),
		cmocka_unit_test(test_comment),
		cmocka_unit_test(test_masq_v4),
		cmocka_unit_test(test_masq_v6),
		cmocka_unit_test(test_masq_host_prefix_and_limits),
		cmocka_unit_test(test_macspoof),
		cmocka_unit_test(test_batch_layout),
		cmocka_unit_test(test_ack_parse),
		cmocka_unit_test(test_kernel_err),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

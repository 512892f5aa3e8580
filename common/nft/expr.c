/* SPDX-License-Identifier: Apache-2.0 */
/* Names, comments and rule builders for nft.c. Builders only append expressions to a libnftnl
 * rule (no socket), in the shape of libnftnl's examples/nft-rule-add.c, so unit tests can parse
 * the resulting messages back. The expression sequences are the ones `nft --debug=netlink`
 * prints for the equivalent rules (docs/datapath.md §5.3), in the generic
 * payload + bitwise + cmp form for prefixes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* netinet/in.h (via inet.h) must come before the linux/ UAPI headers */
#include "common/naming.h"
#include "common/nft/internal.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_bridge.h>
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>

#define ETH_SADDR_OFF 6
#define NFT_IFNAMSIZ  16

static bool chain_name_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '-';
}

void nft_chain_name(const char *prefix, const char *network, char buf[NFT_CHAIN_NAME_MAX])
{
	const char *parts[] = {network};
	size_t n = network ? strlen(network) : 0;
	bool literal = n > 0 && strlen(prefix) + 1 + n < NFT_CHAIN_NAME_MAX;

	for (size_t i = 0; literal && i < n; i++)
		literal = chain_name_char_ok(network[i]);
	if (literal) { /* fits: checked above */
		memcpy(buf, prefix, strlen(prefix));
		buf[strlen(prefix)] = '-';
		memcpy(buf + strlen(prefix) + 1, network, n + 1);
	} else {
		snprintf(buf, NFT_CHAIN_NAME_MAX, "%.*sh-%016llx", NFT_CHAIN_NAME_MAX - 19, prefix,
			 (unsigned long long)naming_hash(parts, 1));
	}
}

void nft_masq_chain_spec(const char *network, struct nft_chain_spec *ret)
{
	*ret = (struct nft_chain_spec){
		.family = NFPROTO_INET,
		.table = NFT_TABLE,
		.type = "nat",
		.hooknum = NF_INET_POST_ROUTING,
		.hook_name = "postrouting",
		.prio = 100, /* srcnat */
	};
	nft_chain_name("masq", network, ret->name);
}

void nft_macspoof_chain_spec(const char *network, struct nft_chain_spec *ret)
{
	/* Before anything else on the bridge sees the frame (nft's bridge "dstnat" = -300). */
	*ret = (struct nft_chain_spec){
		.family = NFPROTO_BRIDGE,
		.table = NFT_TABLE,
		.type = "filter",
		.hooknum = NF_BR_PRE_ROUTING,
		.hook_name = "prerouting",
		.prio = -300,
	};
	nft_chain_name("spoof", network, ret->name);
}

void nft_comment_fmt(const char *network, const char *container_id, const char *ifname,
		     char buf[NFT_COMMENT_MAX + 1])
{
	char tag[NFT_TAG_LEN + 1];

	naming_attachment_tag(network, container_id, ifname, tag);
	snprintf(buf, NFT_COMMENT_MAX + 1, "%s, net: %s, if: %s, id: %s", tag, network, ifname,
		 container_id);
}

bool nft_comment_tag(const char *comment, char tag[NFT_TAG_LEN + 1])
{
	size_t i;

	for (i = 0; i < NFT_TAG_LEN; i++) {
		char ch = comment[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false;
	}
	if (comment[i] != '\0' && comment[i] != ',')
		return false;
	memcpy(tag, comment, NFT_TAG_LEN);
	tag[NFT_TAG_LEN] = '\0';
	return true;
}

static int udata_comment_cb(const struct nftnl_udata *attr, void *data)
{
	const struct nftnl_udata **ret = data;

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT)
		*ret = attr;
	return 0;
}

void nft_rule_comment(const struct nftnl_rule *r, char *buf, size_t len)
{
	const struct nftnl_udata *attr = NULL;
	const char *ud;
	uint32_t ud_len = 0, n;

	buf[0] = '\0';
	if (!nftnl_rule_is_set(r, NFTNL_RULE_USERDATA))
		return;
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &ud_len);
	if (!ud || nftnl_udata_parse(ud, ud_len, udata_comment_cb, &attr) < 0 || !attr)
		return;
	n = nftnl_udata_len(attr);
	ud = nftnl_udata_get(attr);
	if (n == 0 || ud[n - 1] != '\0') /* not a NUL-terminated string: not ours */
		return;
	snprintf(buf, len, "%s", ud);
}

struct nftnl_rule *nft_rule_new(const struct nft_chain_spec *c, const char *comment)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	struct nftnl_rule *r = nftnl_rule_alloc();
	bool ok = ud && r;

	if (ok) {
		nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, c->family);
		ok = nftnl_rule_set_str(r, NFTNL_RULE_TABLE, c->table) == 0 &&
		     nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, c->name) == 0;
	}
	if (ok && comment)
		ok = nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, comment) &&
		     nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
					 nftnl_udata_buf_len(ud)) == 0;
	if (ud)
		nftnl_udata_buf_free(ud);
	if (!ok && r) {
		nftnl_rule_free(r);
		r = NULL;
	}
	return r;
}

/* ---- expression builders: each appends one expression, 0 or -ENOMEM ------------------------ */

int nft_add_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

int nft_add_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return nft_add_expr(r, e);
}

int nft_add_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	}
	return nft_add_expr(r, e);
}

int nft_add_bitwise(struct nftnl_rule *r, const uint8_t *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	}
	return nft_add_expr(r, e);
}

int nft_add_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return nft_add_expr(r, e);
}

int nft_add_plain(struct nftnl_rule *r, const char *name)
{
	return nft_add_expr(r, nftnl_expr_alloc(name)); /* counter, masq */
}

int nft_add_verdict(struct nftnl_rule *r, uint32_t verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
	}
	return nft_add_expr(r, e);
}

/* ---- rules ---------------------------------------------------------------------------------- */

/* payload <off> (+ bitwise mask when shorter than the address) + cmp op <network of p>. */
static int add_prefix_match(struct nftnl_rule *r, uint32_t off, uint32_t op,
			    const struct inet_prefix *p)
{
	uint32_t alen = p->addr.family == AF_INET6 ? 16 : 4;
	uint8_t mask[16] = {0}, net[16] = {0};
	int rr;

	for (uint32_t i = 0; i < alen; i++) {
		uint32_t bits = p->len > i * 8 ? p->len - i * 8 : 0;

		mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		net[i] = p->addr.bytes[i] & mask[i];
	}
	rr = nft_add_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, alen);
	if (rr == 0 && p->len < alen * 8)
		rr = nft_add_bitwise(r, mask, alen);
	return rr < 0 ? rr : nft_add_cmp(r, op, net, alen);
}

static bool prefix_ok(const struct inet_prefix *p)
{
	return (p->addr.family == AF_INET && p->len <= 32) ||
	       (p->addr.family == AF_INET6 && p->len <= 128);
}

static int masq_daddr_matches(struct nftnl_rule *r, const struct inet_prefix *ip,
			      const struct inet_prefix *exclude, size_t n_exclude)
{
	bool v6 = ip->addr.family == AF_INET6;
	uint32_t doff = v6 ? IPV6_DADDR_OFF : IPV4_DADDR_OFF;
	struct inet_prefix mcast = {.addr.family = ip->addr.family, .len = v6 ? 8 : 4};
	int rr;

	mcast.addr.bytes[0] = v6 ? 0xff : 0xe0; /* ff00::/8, 224.0.0.0/4 */
	rr = add_prefix_match(r, doff, NFT_CMP_NEQ, ip);
	for (size_t i = 0; rr == 0 && i < n_exclude; i++)
		if (exclude[i].addr.family == ip->addr.family)
			rr = add_prefix_match(r, doff, NFT_CMP_NEQ, &exclude[i]);
	return rr < 0 ? rr : add_prefix_match(r, doff, NFT_CMP_NEQ, &mcast);
}

int nft_masq_rule_fill(struct nftnl_rule *r, const struct inet_prefix *subnet,
		       const struct inet_prefix *exclude, size_t n_exclude)
{
	bool v6 = subnet->addr.family == AF_INET6;
	uint8_t nfproto = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	int rr;

	if (!prefix_ok(subnet) || n_exclude > NFT_EXCLUDE_MAX)
		return !prefix_ok(subnet) ? -EINVAL : -E2BIG;
	for (size_t i = 0; i < n_exclude; i++)
		if (!prefix_ok(&exclude[i]))
			return -EINVAL;
	/* inet table: the family guard nft adds before any ip/ip6 payload match */
	rr = nft_add_meta(r, NFT_META_NFPROTO);
	if (rr == 0)
		rr = nft_add_cmp(r, NFT_CMP_EQ, &nfproto, sizeof(nfproto));
	if (rr == 0)
		rr = add_prefix_match(r, v6 ? IPV6_SADDR_OFF : IPV4_SADDR_OFF, NFT_CMP_EQ, subnet);
	if (rr == 0)
		rr = masq_daddr_matches(r, subnet, exclude, n_exclude);
	if (rr == 0)
		rr = nft_add_plain(r, "counter");
	return rr < 0 ? rr : nft_add_plain(r, "masq");
}

int nft_macspoof_rule_fill(struct nftnl_rule *r, const char *ifname, const uint8_t mac[6])
{
	char name[NFT_IFNAMSIZ] = {0};
	int rr;

	if (!ifname || !*ifname || strlen(ifname) >= NFT_IFNAMSIZ)
		return -EINVAL;
	memcpy(name, ifname, strlen(ifname));
	rr = nft_add_meta(r, NFT_META_IIFNAME);
	if (rr == 0)
		rr = nft_add_cmp(r, NFT_CMP_EQ, name, sizeof(name));
	if (rr == 0)
		rr = nft_add_payload(r, NFT_PAYLOAD_LL_HEADER, ETH_SADDR_OFF, 6);
	if (rr == 0)
		rr = nft_add_cmp(r, NFT_CMP_NEQ, mac, 6);
	if (rr == 0)
		rr = nft_add_plain(r, "counter");
	return rr < 0 ? rr : nft_add_verdict(r, NF_DROP);
}

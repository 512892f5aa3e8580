/* SPDX-License-Identifier: Apache-2.0 */
/* nftables through libnftnl + libmnl (NETLINK_NETFILTER), one atomic batch per operation,
 * acting on the netns the calling process is in. No nft/iptables process is ever run.
 *
 * Layout (docs/design.md §3): table `inet weft`; per network one base chain
 * (type nat, hook postrouting, priority srcnat) named "masq-<network>", or "masqh-<16 hex of a
 * hash of the network>" when the name is longer than 26 chars or has chars outside
 * [A-Za-z0-9_.-] (common/nft-internal.h, nft_chain_name). Per pod address one rule:
 *   ip saddr <ip> ip daddr != <ip's subnet> [ip daddr != <exclude>...] ip daddr != 224.0.0.0/4
 *   counter masquerade comment "<tag>, net: <n>, if: <i>, id: <c>"
 * (ip6 / ff00::/8 for IPv6), <tag> = naming_attachment_tag(network, cid, ifname), the comment cut
 * to 128 chars. DEL, CHECK and GC find rules by that tag alone: no IPs, no netns, no
 * prevResult needed. Tables, chains and rules that are not weft's are never touched; rules in
 * weft's chains without a weft tag are left alone too.
 *
 * Concurrency: table and chain are created with "add" semantics (no-op when present), and each
 * batch carries the ruleset generation its dump saw, so concurrent plugins never duplicate or
 * lose rules; a lost race is retried internally (bounded; then CNI_ERR_TRY_AGAIN).
 *
 * Errors: -errno with err set. CNI_ERR_NFT (102) for kernel/netlink failures, msg naming the
 * failing command ("...: nftables: add chain inet weft masq-net1 { type nat ... }"), details =
 * strerror + the kernel's extack text; CNI_ERR_TRY_AGAIN (11) when the ruleset kept changing;
 * CNI_ERR_CONFIG (7) for too many / malformed exclusions; CNI_ERR_INTERNAL (100) for bad
 * arguments and for nft_masq_check's "rules missing" (-ENOENT). err may be NULL (best effort). */
#ifndef WEFT_NFT_H
#define WEFT_NFT_H

#include <stddef.h>
#include <stdint.h>

#include "common/cni-error.h"
#include "common/inet.h"
#include "common/cni/skel.h"

/* Most exclusions per rule (a rule has at most 128 expressions). Check it at config parse. */
#define NFT_MASQ_EXCLUDE_MAX 32

struct nft_masq_spec {
	const char *network, *container_id, *ifname;
	/* Pod addresses with their subnet's prefix length (10.88.0.5/16): one rule each, v4 and
	 * v6 mixed freely (dual stack = both in one call). The host bits select the source, the
	 * prefix the "own subnet" destination that is not masqueraded. A /32 or /128 excludes
	 * only the pod itself: pass the pod CIDR in exclude then. */
	const struct inet_prefix *ips;
	size_t n_ips;
	/* More destinations not to masquerade (cluster CIDR, service CIDR); each applies to the
	 * rules of its own family. At most NFT_MASQ_EXCLUDE_MAX. */
	const struct inet_prefix *exclude;
	size_t n_exclude;
};

/* Ensures table + chain, replaces this attachment's rules (idempotent: a second ADD with other
 * addresses leaves exactly the new rules). n_ips == 0 just removes the old rules. */
int nft_masq_add(const struct nft_masq_spec *s, struct cni_err *err);
/* Removes this attachment's rules; absent table/chain/rules are success. */
int nft_masq_del(const char *network, const char *container_id, const char *ifname,
		 struct cni_err *err);
/* 0 when the attachment has its rules, -ENOENT (code 100, naming the attachment) otherwise. */
int nft_masq_check(const char *network, const char *container_id, const char *ifname,
		   struct cni_err *err);
/* Removes the rules of the network's attachments that are not in valid[]. */
int nft_masq_gc(const char *network, const struct cni_attachment *valid, size_t n_valid,
		struct cni_err *err);

/* macspoofchk: in table `bridge weft`, chain "spoof-<network>" (type filter, hook prerouting,
 * priority -300), one rule per attachment, replaced on re-ADD:
 *   iifname <host_veth> ether saddr != <mac> counter drop comment "<tag>, ..."
 * Tagged like the masquerade rules; host_veth < 16 chars. del/gc as for masquerade. */
int nft_macspoof_add(const char *network, const char *container_id, const char *ifname,
		     const char *host_veth, const uint8_t mac[6], struct cni_err *err);
int nft_macspoof_del(const char *network, const char *container_id, const char *ifname,
		     struct cni_err *err);
int nft_macspoof_gc(const char *network, const struct cni_attachment *valid, size_t n_valid,
		    struct cni_err *err);

#endif

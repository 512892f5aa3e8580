/* SPDX-License-Identifier: Apache-2.0 */
/* nftables through libnftnl + libmnl (NETLINK_NETFILTER), one atomic batch per operation,
 * acting on the netns the calling process is in. No nft/iptables process is ever run.
 *
 * Layout (docs/design.md §3): table `inet weft`; per network one base chain
 * (type nat, hook postrouting, priority srcnat) named "masq-<network>", or "masqh-<16 hex of a
 * hash of the network>" when the name is longer than 26 chars or has chars outside
 * [A-Za-z0-9_.-] (common/nft/internal.h, nft_chain_name), holding the network's masquerade
 * rules (below). Rules are found by the 16-hex tag that starts their comment: no IPs, no netns,
 * no prevResult needed. Tables, chains and rules that are not weft's are never touched; rules
 * in weft's chains without a weft tag are left alone too.
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
/* Most pod subnets of one network. */
#define NFT_MASQ_SUBNETS_MAX 8

/* Masquerade is per network, as flannel and Calico's natOutgoing do it: one rule per pod subnet
 *   ip saddr <subnet> ip daddr != <subnet> [ip daddr != <exclude>...] ip daddr != 224.0.0.0/4
 *   counter masquerade comment "<tag>, subnet: <cidr>, net: <network>"
 * (ip6 / ff00::/8 for IPv6) in the network's chain; <tag> = 16 hex of a hash of (network,
 * subnet, exclusions). A pod's ADD finds its subnets' rules with one read-only dump and commits
 * nothing (a commit costs the close of the socket an RCU grace period, ~10 ms); the first pod
 * of a subnet adds them. They go with the network's last attachment (nft_masq_flush, which the
 * plugins call under the IPAM store lock, so no ADD can reserve an address meanwhile) or at GC.
 * Per-attachment rules of older weft versions (comment "<tag>, net: <n>, if: <i>, id: <c>")
 * are still removed by DEL and GC. */
struct nft_masq_net {
	const char *network;
	const struct inet_prefix *subnets; /* network addresses; v4 and v6 mixed */
	size_t n_subnets;		   /* at most NFT_MASQ_SUBNETS_MAX */
	/* More destinations not to masquerade (cluster CIDR, service CIDR); each applies to the
	 * rules of its own family. At most NFT_MASQ_EXCLUDE_MAX. */
	const struct inet_prefix *exclude;
	size_t n_exclude;
};

/* Every subnet has its rule afterwards: read-only when they are there; otherwise table, chain
 * and the missing rules in one batch (a rule of the same subnet made with other exclusions is
 * replaced; other subnets' rules are left alone). */
int nft_masq_ensure(const struct nft_masq_net *m, struct cni_err *err);
/* 0 when every address is in the subnet of a rule made with these exclusions; -ENOENT (code
 * 100, naming the address) otherwise. At most NFT_MASQ_SUBNETS_MAX addresses. */
int nft_masq_check(const char *network, const struct inet_addr *addrs, size_t n,
		   const struct inet_prefix *exclude, size_t n_exclude, struct cni_err *err);
/* Removes every weft rule of the network's chain, and the chain when nothing else is in it. */
int nft_masq_flush(const char *network, struct cni_err *err);
/* Removes the attachment's per-attachment rules (older weft); commits only when there is one. */
int nft_masq_del(const char *network, const char *container_id, const char *ifname,
		 struct cni_err *err);
/* Removes the per-attachment rules of attachments that are not in valid[]. */
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
/* CHECK: the attachment's rule is there (read-only dump; -ENOENT with a message if not). */
int nft_macspoof_check(const char *network, const char *container_id, const char *ifname,
		       struct cni_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* nftables through libnftnl + libmnl (NETLINK_NETFILTER), one atomic batch per operation,
 * acting on the netns the calling process is in. No nft/iptables process is ever run.
 *
 * Layout (shared/DESIGN.md §3): table `inet weft`; per network one base chain
 * (type nat, hook postrouting, priority srcnat); per attachment rules tagged with a comment that
 * starts with weft_attachment_tag(network, cid, ifname), so DEL and GC find them without IPs.
 * Traffic to the pod's own subnet, to the extra excluded prefixes and to multicast is not
 * masqueraded. Tables, chains and rules that are not weft's are never touched. */
#ifndef WEFT_NFT_H
#define WEFT_NFT_H

#include <stddef.h>
#include <stdint.h>

#include "cni-error.h"
#include "inet.h"
#include "skel.h"

struct nft_masq_spec {
	const char *network, *container_id, *ifname;
	const struct inet_prefix *ips; /* pod addresses with their subnet's prefix length */
	size_t n_ips;
	const struct inet_prefix *exclude; /* more destinations not to masquerade (cluster CIDR) */
	size_t n_exclude;
};

/* Ensures table + chain, replaces this attachment's rules (idempotent). */
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

/* macspoofchk: in table `bridge weft`, drop frames entering from host_veth whose source MAC is
 * not mac. Tagged like the masquerade rules. */
int nft_macspoof_add(const char *network, const char *container_id, const char *ifname,
		     const char *host_veth, const uint8_t mac[6], struct cni_err *err);
int nft_macspoof_del(const char *network, const char *container_id, const char *ifname,
		     struct cni_err *err);
int nft_macspoof_gc(const char *network, const struct cni_attachment *valid, size_t n_valid,
		    struct cni_err *err);

#endif

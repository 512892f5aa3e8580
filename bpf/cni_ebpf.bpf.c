/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* weft's eBPF datapath (docs/design.md §5), attached to every host-side veth of a network:
 *
 *   from_pod (tc ingress = packets the pod sends):
 *     ARP request for anything but the sender's own address -> answered here with the host
 *       veth's MAC (the pod's router) and bounced back out of the same veth;
 *     IPv6 neighbour solicitation for anything but the pod's own addresses -> a neighbour
 *       advertisement (router, solicited, override) with the host veth's MAC, likewise;
 *     IPv4/IPv6 to an address in `endpoints` on another veth -> TTL/hop limit - 1, MACs
 *       rewritten, bpf_redirect_peer() straight into the destination pod's netns;
 *     IPv4/IPv6 to another node's pod CIDR (`remote`, multi-node) -> TTL/hop limit - 1,
 *       bpf_redirect_neigh() out of the underlay to that node (the kernel fills the MACs);
 *     anything else -> TC_ACT_OK: the host stack routes, masquerades, tunnels as usual.
 *   to_pod (tc egress = what the host stack sends to the pod): counts, never changes it.
 *
 * One program object per network and host netns; all per-pod data comes from the maps. */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bpf/include/cni-bpf.h"

/* The kernel's name for the SPDX line above (GPL-compatible: GPL-only helpers allowed). */
char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_EP_MAX);
	__type(key, struct weft_ep_key);
	__type(value, struct weft_ep);
} weft_eps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_EP_MAX);
	__type(key, __u32);
	__type(value, struct weft_link);
} weft_links SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WEFT_REMOTE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_remote_key);
	__type(value, struct weft_remote);
} weft_remote SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, WEFT_EP_MAX);
	__type(key, __u32);
	__type(value, struct weft_ep_stats);
} weft_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_EP_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_ep_key);
	__type(value, struct weft_ep_meta);
} weft_meta SEC(".maps");

/* Address families as in struct weft_remote (<sys/socket.h> is not for -target bpf). */
#define AF_INET4_ 2
#define AF_INET6_ 10

/* ARP for IPv4 over Ethernet, as on the wire. <linux/if_arp.h> would drag glibc headers into a
 * -target bpf build (gnu/stubs-32.h), so the few constants of RFC 826 are spelled out here. */
#define ARP_HRD_ETHER  1
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY   2

struct arp_hdr {
	__be16 ar_hrd, ar_pro;
	__u8 ar_hln, ar_pln;
	__be16 ar_op;
};

struct arp_eth {
	struct arp_hdr h;
	__u8 sha[ETH_ALEN];
	__be32 sip;
	__u8 tha[ETH_ALEN];
	__be32 tip;
} __attribute__((packed));

static __always_inline void mac_copy(__u8 *dst, const __u8 *src)
{
	__builtin_memcpy(dst, src, ETH_ALEN);
}

static __always_inline __u64 skb_segs(const struct __sk_buff *skb)
{
	return skb->gso_segs ? skb->gso_segs : 1;
}

static __always_inline struct weft_ep *ep_lookup(__be32 ip4)
{
	struct weft_ep_key key = {.addr = {0, 0, bpf_htonl(WEFT_V4_MAPPED), ip4}};

	return bpf_map_lookup_elem(&weft_eps, &key);
}

static __always_inline struct weft_ep *ep_lookup6(const struct in6_addr *ip6)
{
	struct weft_ep_key key;

	__builtin_memcpy(&key, ip6, sizeof(key));
	return bpf_map_lookup_elem(&weft_eps, &key);
}

static __always_inline struct weft_remote *remote_lookup(const __be32 addr[4])
{
	struct weft_remote_key key = {.prefixlen = 128};

	__builtin_memcpy(key.addr, addr, sizeof(key.addr));
	return bpf_map_lookup_elem(&weft_remote, &key);
}

static __always_inline struct weft_ep_stats *stats_of(__u32 ifindex)
{
	return bpf_map_lookup_elem(&weft_stats, &ifindex);
}

/* Answers an ARP request from the pod behind this veth. The sender must be the endpoint on
 * this very veth (its entry gives the router MAC); its own address is left to the stack. */
static __always_inline int handle_arp(struct __sk_buff *skb, struct ethhdr *eth, void *data_end)
{
	struct arp_eth *arp = (void *)(eth + 1);
	struct weft_ep *self, *target;
	struct weft_ep_stats *st;
	__be32 sip, tip;

	if ((void *)(arp + 1) > data_end)
		return TC_ACT_OK;
	if (arp->h.ar_hrd != bpf_htons(ARP_HRD_ETHER) || arp->h.ar_pro != bpf_htons(ETH_P_IP) ||
	    arp->h.ar_hln != ETH_ALEN || arp->h.ar_pln != 4 ||
	    arp->h.ar_op != bpf_htons(ARP_OP_REQUEST))
		return TC_ACT_OK;
	sip = arp->sip;
	tip = arp->tip;
	if (tip == sip)
		return TC_ACT_OK; /* gratuitous ARP / announcement */
	self = ep_lookup(sip);
	if (!self || self->ifindex != skb->ifindex)
		return TC_ACT_OK;
	target = ep_lookup(tip);
	if (target && target->ifindex == skb->ifindex)
		return TC_ACT_OK; /* the pod's own address */

	mac_copy(eth->h_dest, arp->sha);
	mac_copy(eth->h_source, self->host_mac);
	arp->h.ar_op = bpf_htons(ARP_OP_REPLY);
	mac_copy(arp->tha, arp->sha);
	mac_copy(arp->sha, self->host_mac);
	arp->tip = sip;
	arp->sip = tip;

	st = stats_of(skb->ifindex);
	if (st)
		st->arp_replies++;
	return bpf_redirect(skb->ifindex, 0);
}

/* ip_decrease_ttl() of the kernel: incremental checksum update (RFC 1624) for TTL - 1. */
static __always_inline void ttl_dec(struct iphdr *iph)
{
	__u32 check = iph->check;

	check += bpf_htons(0x0100);
	iph->check = (__sum16)(check + (check >= 0xFFFF));
	iph->ttl--;
}

/* Into the destination pod: straight into its netns, or through its host veth's egress when
 * a qdisc there shapes what it receives. */
static __always_inline long deliver(const struct weft_ep *dst)
{
	if (dst->flags & WEFT_EP_F_SHAPED)
		return bpf_redirect(dst->ifindex, 0);
	return bpf_redirect_peer(dst->ifindex, 0);
}

static __always_inline void count_tx(struct weft_ep_stats *st, struct __sk_buff *skb)
{
	if (st) {
		st->tx_packets += skb_segs(skb);
		st->tx_bytes += skb->len;
	}
}

/* The fast path's bookkeeping: forwarded by src, received by dst (a shaped dst's weft_to_pod
 * counts it on the way out of the host veth). */
static __always_inline void count_fwd(struct weft_ep_stats *st, const struct weft_ep *dst,
				      struct __sk_buff *skb)
{
	__u64 segs = skb_segs(skb);

	if (st) {
		st->fwd_packets += segs;
		st->fwd_bytes += skb->len;
	}
	if (dst->flags & WEFT_EP_F_SHAPED)
		return;
	st = stats_of(dst->ifindex);
	if (st) {
		st->rx_packets += segs;
		st->rx_bytes += skb->len;
	}
}

/* To another node, through the underlay: the kernel resolves the node's MAC (as for a route
 * via it) and transmits on the underlay, skipping the host's IP forwarding. */
static __always_inline int to_remote(struct __sk_buff *skb, const struct weft_remote *rem,
				     struct weft_ep_stats *st)
{
	struct bpf_redir_neigh nh = {.nh_family = rem->family};

	__builtin_memcpy(nh.ipv6_nh, rem->nh, sizeof(nh.ipv6_nh));
	if (st) {
		st->remote_packets += skb_segs(skb);
		st->remote_bytes += skb->len;
	}
	return bpf_redirect_neigh(rem->ifindex, &nh, sizeof(nh), 0);
}

static __always_inline int handle_ipv4(struct __sk_buff *skb, struct ethhdr *eth, void *data_end)
{
	struct iphdr *iph = (void *)(eth + 1);
	struct weft_ep_stats *st;
	struct weft_ep *dst;

	if ((void *)(iph + 1) > data_end || iph->ihl < 5 || iph->version != 4)
		return TC_ACT_OK;
	st = stats_of(skb->ifindex);
	count_tx(st, skb);
	if (iph->ttl <= 1)
		return TC_ACT_OK; /* the stack sends time-exceeded */
	dst = ep_lookup(iph->daddr);
	if (!dst) {
		__be32 addr[4] = {0, 0, bpf_htonl(WEFT_V4_MAPPED), iph->daddr};
		struct weft_remote *rem = remote_lookup(addr);

		if (!rem || rem->family != AF_INET4_)
			return TC_ACT_OK; /* not ours: routing, masquerade, ... */
		ttl_dec(iph);
		return to_remote(skb, rem, st);
	}
	if (dst->ifindex == skb->ifindex)
		return TC_ACT_OK; /* hairpin */

	ttl_dec(iph);
	mac_copy(eth->h_dest, dst->mac);
	mac_copy(eth->h_source, dst->host_mac);
	count_fwd(st, dst, skb);
	return deliver(dst);
}

/* ---- IPv6: neighbour discovery (RFC 4861) and the fast path ---- */
#define ICMPV6_NS	  135
#define ICMPV6_NA	  136
#define ND_OPT_SRC_LLADDR 1
#define ND_OPT_TGT_LLADDR 2
#define ND_NA_FLAGS	  0xe0000000 /* router, solicited, override */
#define ND_NS_MIN_LEN	  24	     /* type, code, checksum, reserved, target */

struct nd_msg {
	__u8 type, code;
	__sum16 csum;
	__be32 flags;
	struct in6_addr target;
	__u8 opt_type, opt_len;
	__u8 opt_mac[ETH_ALEN];
};

/* The advertisement written over the solicitation: IPv6 + NA with a target link-layer
 * address option, after a new Ethernet header. */
struct na_l3 {
	struct ipv6hdr ip6;
	struct nd_msg na;
};

#define NA_FRAME_LEN (sizeof(struct ethhdr) + sizeof(struct na_l3))

static __always_inline __u32 csum_words(const void *p, int len, __u32 sum)
{
	const __u16 *w = p;

#pragma unroll
	for (int i = 0; i < len / 2; i++)
		sum += w[i];
	return sum;
}

/* ICMPv6 checksum of f->na over the pseudo header (RFC 8200 §8.1). */
static __always_inline __sum16 na_csum(const struct na_l3 *f)
{
	__u32 sum = 0;

	sum = csum_words(&f->ip6.saddr, 32, sum); /* saddr, daddr */
	sum += bpf_htons(sizeof(f->na));	  /* upper-layer length (< 65536) */
	sum += bpf_htons(IPPROTO_ICMPV6);
	sum = csum_words(&f->na, sizeof(f->na), sum);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__sum16)~sum;
}

static __always_inline int in6_any(const struct in6_addr *a)
{
	return !(a->in6_u.u6_addr32[0] | a->in6_u.u6_addr32[1] | a->in6_u.u6_addr32[2] |
		 a->in6_u.u6_addr32[3]);
}

/* Answers a neighbour solicitation from the pod behind this veth for any target but the
 * pod's own addresses. DAD (source ::) and malformed messages go to the stack. */
static __always_inline int handle_ns(struct __sk_buff *skb, struct ethhdr *eth, void *data_end)
{
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct nd_msg *ns = (void *)(ip6 + 1);
	struct weft_ep_stats *st;
	struct weft_link *link;
	struct weft_ep *target;
	__u32 ifindex = skb->ifindex;
	struct ethhdr e = {};
	struct na_l3 f = {};

	if ((void *)ns + ND_NS_MIN_LEN > data_end || ns->code != 0 || ip6->hop_limit != 255 ||
	    bpf_ntohs(ip6->payload_len) < ND_NS_MIN_LEN)
		return TC_ACT_OK;
	if (in6_any(&ip6->saddr) || ns->target.in6_u.u6_addr8[0] == 0xff)
		return TC_ACT_OK; /* DAD, or a multicast target */
	link = bpf_map_lookup_elem(&weft_links, &ifindex);
	if (!link)
		return TC_ACT_OK;
	target = ep_lookup6(&ns->target);
	if (target && target->ifindex == ifindex)
		return TC_ACT_OK; /* the pod's own address */

	mac_copy(e.h_dest, eth->h_source);
	mac_copy(e.h_source, link->host_mac);
	e.h_proto = bpf_htons(ETH_P_IPV6);
	f.ip6.version = 6;
	f.ip6.payload_len = bpf_htons(sizeof(f.na));
	f.ip6.nexthdr = IPPROTO_ICMPV6;
	f.ip6.hop_limit = 255;
	f.ip6.saddr = ns->target;
	f.ip6.daddr = ip6->saddr;
	f.na.type = ICMPV6_NA;
	f.na.flags = bpf_htonl(ND_NA_FLAGS);
	f.na.target = ns->target;
	f.na.opt_type = ND_OPT_TGT_LLADDR;
	f.na.opt_len = 1; /* units of 8 octets */
	mac_copy(f.na.opt_mac, link->host_mac);
	f.na.csum = na_csum(&f);

	/* The solicitation may carry other options or none: the frame gets the NA's size. */
	if (skb->len != NA_FRAME_LEN && bpf_skb_change_tail(skb, NA_FRAME_LEN, 0) < 0)
		return TC_ACT_OK;
	if (bpf_skb_store_bytes(skb, 0, &e, sizeof(e), 0) < 0 ||
	    bpf_skb_store_bytes(skb, sizeof(e), &f, sizeof(f), 0) < 0)
		return TC_ACT_SHOT;
	st = stats_of(ifindex);
	if (st)
		st->nd_replies++;
	return bpf_redirect(ifindex, 0);
}

static __always_inline int handle_ipv6(struct __sk_buff *skb, struct ethhdr *eth, void *data_end)
{
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct weft_ep_stats *st;
	struct weft_ep *dst;

	if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
		return TC_ACT_OK;
	if (ip6->nexthdr == IPPROTO_ICMPV6) {
		struct nd_msg *m = (void *)(ip6 + 1);

		if ((void *)m + 1 <= data_end && m->type == ICMPV6_NS)
			return handle_ns(skb, eth, data_end);
	}
	st = stats_of(skb->ifindex);
	count_tx(st, skb);
	if (ip6->hop_limit <= 1)
		return TC_ACT_OK; /* the stack sends time-exceeded */
	dst = ep_lookup6(&ip6->daddr);
	if (!dst) {
		struct weft_remote *rem = remote_lookup(ip6->daddr.in6_u.u6_addr32);

		if (!rem || rem->family != AF_INET6_)
			return TC_ACT_OK;
		ip6->hop_limit--;
		return to_remote(skb, rem, st);
	}
	if (dst->ifindex == skb->ifindex)
		return TC_ACT_OK; /* hairpin */

	ip6->hop_limit--; /* no header checksum in IPv6 */
	mac_copy(eth->h_dest, dst->mac);
	mac_copy(eth->h_source, dst->host_mac);
	count_fwd(st, dst, skb);
	return deliver(dst);
}

/* Headers of locally built packets are linear; pull them if a driver split them. */
static __always_inline struct ethhdr *pull(struct __sk_buff *skb, __u32 len, void **data_end)
{
	struct ethhdr *eth = (void *)(long)skb->data;

	*data_end = (void *)(long)skb->data_end;
	if ((void *)eth + len <= *data_end)
		return eth;
	if (skb->len < len || bpf_skb_pull_data(skb, len) < 0)
		return NULL;
	eth = (void *)(long)skb->data;
	*data_end = (void *)(long)skb->data_end;
	return (void *)(eth + 1) <= *data_end ? eth : NULL;
}

SEC("tc")
int weft_from_pod(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = (void *)(long)skb->data;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		eth = pull(skb, sizeof(*eth) + sizeof(struct iphdr), &data_end);
		return eth ? handle_ipv4(skb, eth, data_end) : TC_ACT_OK;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		eth = pull(skb, sizeof(*eth) + sizeof(struct ipv6hdr), &data_end);
		return eth ? handle_ipv6(skb, eth, data_end) : TC_ACT_OK;
	}
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return handle_arp(skb, eth, data_end);
	return TC_ACT_OK;
}

SEC("tc")
int weft_to_pod(struct __sk_buff *skb)
{
	struct weft_ep_stats *st;

	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	st = stats_of(skb->ifindex);
	if (st) {
		st->rx_packets += skb_segs(skb);
		st->rx_bytes += skb->len;
	}
	return TC_ACT_OK;
}

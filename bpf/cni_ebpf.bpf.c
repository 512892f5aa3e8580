/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* weft's eBPF datapath (shared/DESIGN.md §5), attached to every host-side veth of a network:
 *
 *   from_pod (tc ingress = packets the pod sends):
 *     ARP request for anything but the sender's own address -> answered here with the host
 *       veth's MAC (the pod's router) and bounced back out of the same veth;
 *     IPv4 to an address in `endpoints` on another veth -> TTL-1, MACs rewritten,
 *       bpf_redirect_peer() straight into the destination pod's netns (ingress -> ingress);
 *     anything else -> TC_ACT_OK: the host stack routes, masquerades, tunnels as usual.
 *   to_pod (tc egress = what the host stack sends to the pod): counts, never changes it.
 *
 * One program object per network and host netns; all per-pod data comes from the maps. */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "cni-bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_EP_MAX);
	__type(key, struct weft_ep_key);
	__type(value, struct weft_ep);
} weft_eps SEC(".maps");

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
	struct weft_ep_key key = {.ip4 = ip4};

	return bpf_map_lookup_elem(&weft_eps, &key);
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

static __always_inline int handle_ipv4(struct __sk_buff *skb, struct ethhdr *eth, void *data_end)
{
	struct iphdr *iph = (void *)(eth + 1);
	struct weft_ep_stats *st;
	struct weft_ep *dst;
	__u64 segs = skb_segs(skb);

	if ((void *)(iph + 1) > data_end || iph->ihl < 5 || iph->version != 4)
		return TC_ACT_OK;
	st = stats_of(skb->ifindex);
	if (st) {
		st->tx_packets += segs;
		st->tx_bytes += skb->len;
	}
	dst = ep_lookup(iph->daddr);
	if (!dst || dst->ifindex == skb->ifindex || iph->ttl <= 1)
		return TC_ACT_OK; /* not local, hairpin, or the stack must send time-exceeded */

	ttl_dec(iph);
	mac_copy(eth->h_dest, dst->mac);
	mac_copy(eth->h_source, dst->host_mac);
	if (st) {
		st->fwd_packets += segs;
		st->fwd_bytes += skb->len;
	}
	st = stats_of(dst->ifindex);
	if (st) {
		st->rx_packets += segs;
		st->rx_bytes += skb->len;
	}
	return bpf_redirect_peer(dst->ifindex, 0);
}

SEC("tc")
int weft_from_pod(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = (void *)(long)skb->data;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		/* Headers of locally built packets are linear; pull them if a driver split them. */
		if ((void *)eth + sizeof(*eth) + sizeof(struct iphdr) > data_end) {
			if (bpf_skb_pull_data(skb, sizeof(*eth) + sizeof(struct iphdr)) < 0)
				return TC_ACT_OK;
			data_end = (void *)(long)skb->data_end;
			eth = (void *)(long)skb->data;
			if ((void *)(eth + 1) > data_end)
				return TC_ACT_OK;
		}
		return handle_ipv4(skb, eth, data_end);
	}
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return handle_arp(skb, eth, data_end);
	return TC_ACT_OK;
}

SEC("tc")
int weft_to_pod(struct __sk_buff *skb)
{
	struct weft_ep_stats *st;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	st = stats_of(skb->ifindex);
	if (st) {
		st->rx_packets += skb_segs(skb);
		st->rx_bytes += skb->len;
	}
	return TC_ACT_OK;
}

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
 * NetworkPolicy (docs/design.md §7): a pod isolated in a direction (a flag in its endpoint and
 * links entries) has its new flows checked against its rules, egress in from_pod, ingress on
 * both delivery paths (the fast path here, the stack's in to_pod); allowed flows are tracked in
 * `conntrack` so their replies and later packets pass. Pods without the flags pay nothing but
 * one links lookup per packet they send.
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

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WEFT_POL_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_pol_key);
	__type(value, __u64);
} weft_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WEFT_POL_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_pol_port_key);
	__type(value, __u64);
} weft_polports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEFT_CT_MAX);
	__type(key, struct weft_ct_key);
	__type(value, struct weft_ct);
} weft_ct SEC(".maps");

/* User space only (weft-node writes it, the plugin's ADD reads it); here so that it is created
 * and pinned with the others. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_POLPODS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct weft_polpod);
} weft_polpods SEC(".maps");

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

/* ---- NetworkPolicy: flows, rules, connection tracking ---- */
#define IPPROTO_ICMP_	   1
#define ICMP_ECHO_REPLY	   0
#define ICMP_ECHO	   8
#define ICMP6_ECHO	   128
#define ICMP6_ECHO_REPLY   129
#define ICMP_DEST_UNREACH  3
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMP6_ERR_FIRST	   1 /* destination unreachable .. parameter problem */
#define ICMP6_ERR_LAST	   4
#define ICMP6_ND_FIRST	   133 /* router solicitation .. redirect: neighbour discovery */
#define ICMP6_ND_LAST	   137
#define IP_FRAG_OFFSET	   0x1fff
#define TCP_SYN		   0x02
#define TCP_ACK		   0x10
#define SCTP_INIT	   1 /* chunk type */
#define WEFT_ISO	   (WEFT_EP_F_ISO_IN | WEFT_EP_F_ISO_OUT)
#define NSEC		   1000000000ull

enum flow_kind {
	FLOW_NEW,   /* UDP, ICMP echo request: a reply, or checked and then tracked */
	FLOW_REPLY, /* ICMP echo reply: passes as the reply of a tracked request only */
	FLOW_PLAIN, /* TCP SYN, SCTP INIT (a connection's first packet), other protocols, other
		     * ICMP (not echo, not errors), later fragments (no ports): checked, never
		     * tracked */
	FLOW_FREE,  /* the rest of TCP and SCTP (a connection whose first packet passed, or one
		     * older than the policy), ICMP errors, IPv6 neighbour discovery: never
		     * policed */
};

struct flow {
	struct weft_ct_key k;
	enum flow_kind kind;
};

/* ICMP errors (destination unreachable, packet too big, time exceeded, parameter problem) pass,
 * as netfilter lets them through as RELATED: path MTU discovery and refused connections keep
 * working, and the receiving kernel ignores errors about flows it has no socket for. IPv6
 * neighbour discovery passes too. */
static __always_inline int icmp_free(__u8 icmp, __u8 type)
{
	if (icmp == IPPROTO_ICMP_)
		return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
		       type == ICMP_PARAMETERPROB;
	return (type >= ICMP6_ERR_FIRST && type <= ICMP6_ERR_LAST) ||
	       (type >= ICMP6_ND_FIRST && type <= ICMP6_ND_LAST);
}

/* TCP and SCTP: a connection's first packet (SYN without ACK, a first chunk INIT) is checked,
 * the rest passes: they carry their own state, and a connection older than the policy keeps
 * going (as with netfilter's loose TCP pickup). */
static __always_inline void flow_conn(struct __sk_buff *skb, __u32 off, struct flow *f)
{
	__u8 b[14];

	if (bpf_skb_load_bytes(skb, off, b, f->k.proto == IPPROTO_TCP ? 14 : 13) < 0)
		return;
	__builtin_memcpy(&f->k.sport, &b[0], 2);
	__builtin_memcpy(&f->k.dport, &b[2], 2);
	if (f->k.proto == IPPROTO_TCP)
		f->kind = (b[13] & (TCP_SYN | TCP_ACK)) == TCP_SYN ? FLOW_PLAIN : FLOW_FREE;
	else
		f->kind = b[12] == SCTP_INIT ? FLOW_PLAIN : FLOW_FREE;
}

/* Transport part of the flow at offset off: ports, or the echo identifier. icmp: the
 * family's ICMP protocol. */
static __always_inline void flow_l4(struct __sk_buff *skb, __u32 off, struct flow *f, __u8 icmp)
{
	__be16 w[3];
	__u8 type;

	f->kind = FLOW_PLAIN;
	if (f->k.proto == IPPROTO_TCP || f->k.proto == IPPROTO_SCTP)
		return flow_conn(skb, off, f);
	if (f->k.proto == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(skb, off, w, 4) == 0) {
			f->k.sport = w[0];
			f->k.dport = w[1];
			f->kind = FLOW_NEW;
		}
		return;
	}
	if (f->k.proto != icmp || bpf_skb_load_bytes(skb, off, w, 6) < 0)
		return;
	type = ((__u8 *)w)[0];
	if (type == (icmp == IPPROTO_ICMP_ ? ICMP_ECHO : ICMP6_ECHO)) {
		f->k.sport = w[2];
		f->kind = FLOW_NEW;
	} else if (type == (icmp == IPPROTO_ICMP_ ? ICMP_ECHO_REPLY : ICMP6_ECHO_REPLY)) {
		f->k.dport = w[2]; /* reversed, it is the request's key */
		f->kind = FLOW_REPLY;
	} else if (icmp_free(icmp, type)) {
		f->kind = FLOW_FREE;
	}
}

/* The flow of an IPv4 or IPv6 packet (Ethernet at offset 0); -1 when it is neither. */
static __always_inline int flow_parse(struct __sk_buff *skb, struct flow *f)
{
	__builtin_memset(f, 0, sizeof(*f));
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, sizeof(struct ethhdr), &ip, sizeof(ip)) < 0)
			return -1;
		f->k.src[2] = f->k.dst[2] = bpf_htonl(WEFT_V4_MAPPED);
		f->k.src[3] = ip.saddr;
		f->k.dst[3] = ip.daddr;
		f->k.proto = ip.protocol;
		f->kind = FLOW_PLAIN;
		if (!(ip.frag_off & bpf_htons(IP_FRAG_OFFSET)))
			flow_l4(skb, sizeof(struct ethhdr) + ip.ihl * 4, f, IPPROTO_ICMP_);
		return 0;
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, sizeof(struct ethhdr), &ip6, sizeof(ip6)) < 0)
			return -1;
		__builtin_memcpy(f->k.src, &ip6.saddr, 16);
		__builtin_memcpy(f->k.dst, &ip6.daddr, 16);
		f->k.proto = ip6.nexthdr; /* extension headers: no ports (FLOW_PLAIN) */
		flow_l4(skb, sizeof(struct ethhdr) + sizeof(ip6), f, IPPROTO_ICMPV6);
		return 0;
	}
	return -1;
}

/* Does a rule of policy id pol in slot allow peer on proto/port? Two longest-prefix lookups: the
 * rules whose peers contain peer, the rules whose ports contain port; any rule in both. */
static __always_inline int pol_allows(__u32 pol, __u32 slot, const __be32 peer[4], __u8 proto,
				      __be16 port)
{
	struct weft_pol_key key = {.prefixlen = WEFT_POL_KEY_BITS + 128,
				   .id = {.pol = pol, .slot = slot}};
	struct weft_pol_port_key pkey = {.prefixlen = WEFT_POL_PORT_KEY_BITS,
					 .id = {.pol = pol, .slot = slot},
					 .proto = proto};
	__u64 *peers, *ports;

	__builtin_memcpy(key.addr, peer, sizeof(key.addr));
	peers = bpf_map_lookup_elem(&weft_policy, &key);
	if (!peers || !*peers)
		return 0;
	__builtin_memcpy(pkey.port, &port, sizeof(pkey.port));
	ports = bpf_map_lookup_elem(&weft_polports, &pkey);
	return ports && (*peers & *ports);
}

/* The live entry of a flow, its idle time refreshed (at most once a second); NULL when there is
 * none or it idled out (then the next insert overwrites it). */
static __always_inline struct weft_ct *ct_get(const struct weft_ct_key *k)
{
	struct weft_ct *ct = bpf_map_lookup_elem(&weft_ct, k);
	__u64 now, idle;

	if (!ct)
		return NULL;
	now = bpf_ktime_get_ns();
	idle = WEFT_CT_IDLE_S * NSEC;
	if (now - ct->seen_ns > idle)
		return NULL;
	if (now - ct->seen_ns > NSEC)
		ct->seen_ns = now;
	return ct;
}

static __always_inline void ct_reverse(const struct weft_ct_key *k, struct weft_ct_key *r)
{
	__builtin_memset(r, 0, sizeof(*r));
	__builtin_memcpy(r->src, k->dst, sizeof(r->src));
	__builtin_memcpy(r->dst, k->src, sizeof(r->dst));
	r->sport = k->dport;
	r->dport = k->sport;
	r->proto = k->proto;
}

/* Records what this packet proved about its flow (WEFT_CT_F_* in grant). */
static __always_inline void ct_put(const struct flow *f, struct weft_ct *ct, __u32 grant)
{
	struct weft_ct nct = {.flags = grant};

	if (f->kind == FLOW_PLAIN || (ct && (ct->flags & grant) == grant))
		return;
	if (ct) {
		__sync_fetch_and_or(&ct->flags, (__u64)grant);
		return;
	}
	nct.seen_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&weft_ct, &f->k, &nct, BPF_ANY);
}

/* The verdict on one packet between the sending pod sif (its policy id; 0: not a pod on this
 * node) and the receiving pod dst >> 32 (likewise), with their WEFT_EP_F_* flags (dst's in its
 * low bits).
 * grant: checks the caller waives (WEFT_CT_F_IN for the node's own traffic). Replies of
 * tracked flows pass; a flow passes a check once and is tracked with it, so policy changes
 * never cut it. 1: pass. A global function: verified once, whoever calls it. */
__attribute__((noinline)) int weft_pol_pass(struct __sk_buff *skb, __u32 sif, __u32 sflags,
					    __u64 dst, __u32 grant)
{
	__u32 dif = dst >> 32, dflags = (__u32)dst;
	struct weft_ct *ct = NULL;
	struct flow fl, *f = &fl;
	struct weft_ct_key rev;
	__u64 have = 0;

	if (!skb || flow_parse(skb, f) < 0)
		return 1;
	if (f->kind == FLOW_FREE)
		return 1;
	if (f->kind != FLOW_PLAIN) {
		ct_reverse(&f->k, &rev);
		if (ct_get(&rev))
			return 1;
		if (f->kind == FLOW_REPLY)
			return 0;
		ct = ct_get(&f->k);
		have = ct ? ct->flags : 0;
	}
	if (sif && !(have & WEFT_CT_F_OUT)) {
		if ((sflags & WEFT_EP_F_ISO_OUT) &&
		    !pol_allows(sif, weft_pol_slot(WEFT_POL_OUT, sflags & WEFT_EP_F_GEN_OUT),
				f->k.dst, f->k.proto, f->k.dport))
			return 0;
		grant |= WEFT_CT_F_OUT;
	}
	if (dif && !((have | grant) & WEFT_CT_F_IN)) {
		if ((dflags & WEFT_EP_F_ISO_IN) &&
		    !pol_allows(dif, weft_pol_slot(WEFT_POL_IN, dflags & WEFT_EP_F_GEN_IN),
				f->k.src, f->k.proto, f->k.dport))
			return 0;
		grant |= WEFT_CT_F_IN;
	}
	ct_put(f, ct, grant);
	return 1;
}

/* Is the destination an address of this host? (fib: family and addresses filled in.) */
static __always_inline int to_node(struct __sk_buff *skb, struct bpf_fib_lookup *fib)
{
	fib->ifindex = skb->ifindex;
	return bpf_fib_lookup(skb, fib, sizeof(*fib), 0) == BPF_FIB_LKUP_RET_NOT_FWDED;
}

/* from_pod's check, before any delivery: the sender's egress and, for a pod on this node, the
 * receiver's ingress. A pod and the node it runs on always reach each other: traffic to one of
 * the host's own addresses is not policed (its answers come from a host socket, which to_pod
 * lets in). 0: drop. */
/* A pod's id for weft_pol_pass: never 0 (that is "not a pod"). */
static __always_inline __u32 pol_id(__u32 pol)
{
	return pol ? pol : WEFT_POL_NONE;
}

static __always_inline int pol_from_pod(struct __sk_buff *skb, const struct weft_ep *dst,
					struct bpf_fib_lookup *fib)
{
	__u32 ifindex = skb->ifindex, sflags = 0, dif = 0, dflags = 0;
	struct weft_link *link = bpf_map_lookup_elem(&weft_links, &ifindex);

	if (link)
		sflags = link->flags;
	if (dst && dst->ifindex != ifindex) {
		dif = pol_id(dst->pol);
		dflags = dst->flags;
	}
	if (!((sflags | dflags) & WEFT_ISO))
		return 1;
	if (!dst && (sflags & WEFT_EP_F_ISO_OUT) && to_node(skb, fib))
		return 1;
	return weft_pol_pass(skb, link ? pol_id(link->pol) : 0, sflags, (__u64)dif << 32 | dflags,
			     0);
}

static __always_inline int pol_denied(struct __sk_buff *skb)
{
	struct weft_ep_stats *st = stats_of(skb->ifindex);

	if (st)
		st->denied_packets += skb_segs(skb);
	return TC_ACT_SHOT;
}

static __always_inline int handle_ipv4(struct __sk_buff *skb, struct ethhdr *eth, void *data_end)
{
	struct iphdr *iph = (void *)(eth + 1);
	struct weft_ep_stats *st;
	struct weft_ep *dst;

	if ((void *)(iph + 1) > data_end || iph->ihl < 5 || iph->version != 4)
		return TC_ACT_OK;
	struct bpf_fib_lookup fib = {
		.family = AF_INET4_, .ipv4_src = iph->saddr, .ipv4_dst = iph->daddr};

	dst = ep_lookup(iph->daddr);
	if (!pol_from_pod(skb, dst, &fib))
		return pol_denied(skb);
	st = stats_of(skb->ifindex);
	count_tx(st, skb);
	if (iph->ttl <= 1)
		return TC_ACT_OK; /* the stack sends time-exceeded */
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
	struct bpf_fib_lookup fib = {.family = AF_INET6_};

	__builtin_memcpy(fib.ipv6_src, &ip6->saddr, sizeof(fib.ipv6_src));
	__builtin_memcpy(fib.ipv6_dst, &ip6->daddr, sizeof(fib.ipv6_dst));
	dst = ep_lookup6(&ip6->daddr);
	if (!pol_from_pod(skb, dst, &fib))
		return pol_denied(skb);
	st = stats_of(skb->ifindex);
	count_tx(st, skb);
	if (ip6->hop_limit <= 1)
		return TC_ACT_OK; /* the stack sends time-exceeded */
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

/* to_pod's check: the receiver's ingress. The node's own packets (a socket of the host netns
 * sent them: kubelet probes, the node's replies) pass without a check, tracked all the same
 * so that an egress-isolated pod can answer. Forwarded packets carry no socket. 0: drop. */
static __always_inline int pol_to_pod(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;
	struct weft_link *link = bpf_map_lookup_elem(&weft_links, &ifindex);

	if (!link || !(link->flags & WEFT_ISO))
		return 1;
	return weft_pol_pass(skb, 0, 0, (__u64)pol_id(link->pol) << 32 | link->flags,
			     skb->sk ? WEFT_CT_F_IN : 0);
}

SEC("tc")
int weft_to_pod(struct __sk_buff *skb)
{
	struct weft_ep_stats *st;

	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	if (!pol_to_pod(skb))
		return pol_denied(skb);
	st = stats_of(skb->ifindex);
	if (st) {
		st->rx_packets += skb_segs(skb);
		st->rx_bytes += skb->len;
	}
	return TC_ACT_OK;
}

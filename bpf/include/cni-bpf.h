/* SPDX-License-Identifier: Apache-2.0 */
/* Types shared by the kernel side (bpf/cni_ebpf.bpf.c) and the user side (plugins/ebpf,
 * tests). Fixed-width kernel types only; no padding holes the two sides could disagree on.
 *
 * Per network, under <pinRoot>/<network>/ (docs/design.md §3):
 *   endpoints  HASH        struct weft_ep_key (pod IPv4 or IPv6) -> struct weft_ep
 *   links      HASH        __u32 host veth ifindex               -> struct weft_link
 *   stats      PERCPU_HASH __u32 host veth ifindex               -> struct weft_ep_stats
 *   meta       HASH        struct weft_ep_key                    -> struct weft_ep_meta (user only)
 *   remote     LPM_TRIE    struct weft_remote_key (other nodes' pod CIDRs) -> struct weft_remote
 *   from_pod   tc ingress program of every host veth (ARP and NDP responder, same-node fast path)
 *   to_pod     tc egress program of every host veth (counts what the stack delivers)
 * A dual-stack pod has two endpoint (and meta) entries and one links and one stats entry. */
#ifndef WEFT_CNI_BPF_H
#define WEFT_CNI_BPF_H

#include <linux/types.h>

/* Bump when a map's key or value layout changes: the pin names carry it, so a new plugin never
 * reuses (or misreads) maps pinned by an older one. */
#define WEFT_BPF_ABI 2 /* 2: IPv6 keys, the links map, nd_replies */

#define WEFT_EP_MAX	4096 /* local endpoint addresses per network and host netns */
#define WEFT_REMOTE_MAX 4096 /* other nodes' pod CIDRs (peers) */

/* An IPv6 address, or an IPv4 one mapped into ::ffff:0:0/96, in network byte order. */
struct weft_ep_key {
	__be32 addr[4];
};

#define WEFT_V4_MAPPED 0x0000ffff /* addr[2] of an IPv4 key, host byte order */

/* The pod has an ingress limit (a tbf on its host veth): deliver through the host veth's egress,
 * not bpf_redirect_peer() into its netns, which would skip the qdisc. */
#define WEFT_EP_F_SHAPED 0x1u

struct weft_ep {
	__u32 ifindex;	  /* host-side veth, in the host netns */
	__u32 flags;	  /* WEFT_EP_F_* */
	__u8 mac[6];	  /* pod interface MAC */
	__u8 host_mac[6]; /* host veth MAC = the pod's router MAC */
	__u8 pad[4];
	__u64 tag; /* naming_attachment_hash(network, containerID, ifname) */
};

/* Another node's pod CIDR, as an LPM trie key: the prefix length counts the key's 128 bits
 * (an IPv4 /24 is 96 + 24 in ::ffff:0:0/96). */
struct weft_remote_key {
	__u32 prefixlen;
	__be32 addr[4];
};

/* Where a pod CIDR's node is: the next hop for bpf_redirect_neigh(). */
struct weft_remote {
	__u32 ifindex; /* underlay interface in the host netns */
	__u32 family;  /* AF_INET or AF_INET6 of nh */
	__be32 nh[4];  /* node IP: nh[0] for IPv4 */
};

/* One pod's veth, by host ifindex: what the responders answer with. */
struct weft_link {
	__u8 mac[6];	  /* pod interface MAC */
	__u8 host_mac[6]; /* host veth MAC = the pod's router MAC */
	__u32 flags;	  /* WEFT_EP_F_* */
	__u64 tag;	  /* as in struct weft_ep */
};

/* One slot per CPU; the reader sums them. "tx" = sent by the pod, "rx" = received by it. */
struct weft_ep_stats {
	__u64 tx_packets, tx_bytes;	    /* IPv4/IPv6 leaving the pod (both paths), NDP aside */
	__u64 fwd_packets, fwd_bytes;	    /* of those: delivered by the program (redirect_peer) */
	__u64 rx_packets, rx_bytes;	    /* IPv4/IPv6 entering the pod (program + stack) */
	__u64 arp_replies;		    /* ARP requests the program answered */
	__u64 nd_replies;		    /* IPv6 neighbour solicitations the program answered */
	__u64 remote_packets, remote_bytes; /* of tx: sent to another node (bpf_redirect_neigh) */
};

#define WEFT_META_CID_LEN 128

/* Who an endpoint belongs to: for `ebpf stats`, GC and DEL. The program never reads it. */
struct weft_ep_meta {
	__u64 tag;
	char container_id[WEFT_META_CID_LEN]; /* truncated when longer; tag is authoritative */
	char ifname[16];
	char host_veth[16];
};

#endif

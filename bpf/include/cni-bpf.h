/* SPDX-License-Identifier: Apache-2.0 */
/* Types shared by the kernel side (bpf/cni_ebpf.bpf.c) and the user side (plugins/ebpf,
 * tests). Fixed-width kernel types only; no padding holes the two sides could disagree on.
 *
 * Per network, under <pinRoot>/<network>/ (shared/DESIGN.md §3):
 *   endpoints  HASH        struct weft_ep_key (pod IPv4)      -> struct weft_ep
 *   stats      PERCPU_HASH __u32 host veth ifindex             -> struct weft_ep_stats
 *   meta       HASH        struct weft_ep_key                  -> struct weft_ep_meta (user only)
 *   from_pod   tc ingress program of every host veth (ARP responder, same-node fast path)
 *   to_pod     tc egress program of every host veth (counts what the stack delivers) */
#ifndef WEFT_CNI_BPF_H
#define WEFT_CNI_BPF_H

#include <linux/types.h>

/* Bump when a map's key or value layout changes: the pin names carry it, so a new plugin never
 * reuses (or misreads) maps pinned by an older one. */
#define WEFT_BPF_ABI 1

#define WEFT_EP_MAX 4096 /* local endpoints per network and host netns */

struct weft_ep_key {
	__be32 ip4; /* pod address, network byte order */
};

struct weft_ep {
	__u32 ifindex;	  /* host-side veth, in the host netns */
	__u32 flags;	  /* reserved, 0 */
	__u8 mac[6];	  /* pod interface MAC */
	__u8 host_mac[6]; /* host veth MAC = the pod's router MAC */
	__u8 pad[4];
	__u64 tag; /* weft_attachment_hash(network, containerID, ifname) */
};

/* One slot per CPU; the reader sums them. "tx" = sent by the pod, "rx" = received by it. */
struct weft_ep_stats {
	__u64 tx_packets, tx_bytes;   /* IPv4 leaving the pod (both paths) */
	__u64 fwd_packets, fwd_bytes; /* of those: delivered by the program (redirect_peer) */
	__u64 rx_packets, rx_bytes;   /* IPv4 entering the pod (program + stack) */
	__u64 arp_replies;	      /* ARP requests the program answered */
	__u64 pad;
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

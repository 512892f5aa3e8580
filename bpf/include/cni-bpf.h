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
 *   policy     LPM_TRIE    struct weft_pol_key (pod, direction, peer prefix) -> __u64 rule mask
 *   polports   LPM_TRIE    struct weft_pol_port_key (pod, direction, proto, port) -> __u64 rules
 *   polpods    HASH        __u64 pod key (namespace/name) -> struct weft_polpod (user only)
 *   conntrack  LRU_HASH    struct weft_ct_key (a flow, as its first packet) -> struct weft_ct
 *   from_pod   tc ingress program of every host veth (ARP and NDP responder, same-node fast path)
 *   to_pod     tc egress program of every host veth (counts what the stack delivers)
 * A dual-stack pod has two endpoint (and meta) entries and one links and one stats entry. */
#ifndef WEFT_CNI_BPF_H
#define WEFT_CNI_BPF_H

#include <linux/types.h>

/* Bump when a map's key or value layout changes: the pin names carry it, so a new plugin never
 * reuses (or misreads) maps pinned by an older one. */
/* 2: IPv6 keys, the links map, nd_replies; 3: NetworkPolicy maps; 4: policy by pod (polpods) */
#define WEFT_BPF_ABI 4

/* Pin file name of a map of this layout: WEFT_PIN("endpoints") is "endpoints_v4" (bpffs
 * refuses '.' in names). The plugin and weft-node both open the pins by these names. */
#define WEFT_STR_(x)   #x
#define WEFT_STR(x)    WEFT_STR_(x)
#define WEFT_PIN(name) name "_v" WEFT_STR(WEFT_BPF_ABI)

#define WEFT_EP_MAX	 4096  /* local endpoint addresses per network and host netns */
#define WEFT_REMOTE_MAX	 4096  /* other nodes' pod CIDRs (peers) */
#define WEFT_POL_MAX	 65536 /* policy prefixes of every pod, direction and generation */
#define WEFT_CT_MAX	 65536 /* tracked flows of isolated pods (LRU: the oldest go first) */
#define WEFT_POLPODS_MAX 4096  /* pods weft-node compiled, per network */

/* An IPv6 address, or an IPv4 one mapped into ::ffff:0:0/96, in network byte order. */
struct weft_ep_key {
	__be32 addr[4];
};

#define WEFT_V4_MAPPED 0x0000ffff /* addr[2] of an IPv4 key, host byte order */

/* The pod has an ingress limit (a tbf on its host veth): deliver through the host veth's egress,
 * not bpf_redirect_peer() into its netns, which would skip the qdisc. */
#define WEFT_EP_F_SHAPED 0x1u
/* NetworkPolicy (weft-node writes these bits, and the pod's policy id, into the endpoint and
 * links entries of a pod; the plugin's ADD copies them from the pod's polpods entry). ISO_*: the
 * pod is isolated in that direction, only the rules of its policy entries allow new flows. GEN_*:
 * which of the two generations of entries is the live one (an update writes the other generation,
 * then flips the bit: no window). */
#define WEFT_EP_F_ISO_IN  0x2u
#define WEFT_EP_F_ISO_OUT 0x4u
#define WEFT_EP_F_GEN_IN  0x8u
#define WEFT_EP_F_GEN_OUT 0x10u
#define WEFT_EP_F_POLICY                                                                           \
	(WEFT_EP_F_ISO_IN | WEFT_EP_F_ISO_OUT | WEFT_EP_F_GEN_IN | WEFT_EP_F_GEN_OUT)

struct weft_ep {
	__u32 ifindex;	  /* host-side veth, in the host netns */
	__u32 flags;	  /* WEFT_EP_F_* */
	__u8 mac[6];	  /* pod interface MAC */
	__u8 host_mac[6]; /* host veth MAC = the pod's router MAC */
	__u32 pol;	  /* the pod's policy id (struct weft_polpod); 0: none */
	__u64 tag;	  /* naming_attachment_hash(network, containerID, ifname) */
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
	__u32 pol;	  /* as in struct weft_ep */
	__u32 pad;
};

/* One slot per CPU; the reader sums them. "tx" = sent by the pod, "rx" = received by it. */
struct weft_ep_stats {
	__u64 tx_packets, tx_bytes;	    /* IPv4/IPv6 leaving the pod (both paths), NDP aside */
	__u64 fwd_packets, fwd_bytes;	    /* of those: delivered by the program (redirect_peer) */
	__u64 rx_packets, rx_bytes;	    /* IPv4/IPv6 entering the pod (program + stack) */
	__u64 arp_replies;		    /* ARP requests the program answered */
	__u64 nd_replies;		    /* IPv6 neighbour solicitations the program answered */
	__u64 remote_packets, remote_bytes; /* of tx: sent to another node (bpf_redirect_neigh) */
	__u64 denied_packets;		    /* dropped here by NetworkPolicy (either direction) */
	__u64 pad;
};

/* ---- NetworkPolicy (docs/design.md §7, eBPF enforcement) ----
 * A pod's entries are under its policy id, which weft-node gives the pod (the Kubernetes one:
 * namespace/name), not its veth: a new sandbox of the pod starts with them. slot = direction *
 * 2 + generation. */
#define WEFT_POL_IN	   0
#define WEFT_POL_OUT	   1
#define WEFT_POL_RULES_MAX 64  /* rules per pod and direction: bits of the mask */
#define WEFT_POL_PORTS_MAX 128 /* (rule, port range) pairs per pod and direction */

static inline __u32 weft_pol_slot(__u32 dir, __u32 gen)
{
	return dir * 2 + (gen ? 1 : 0);
}

struct weft_pol_id {
	__u32 pol; /* struct weft_polpod's */
	__u32 slot;
};

#define WEFT_POL_NONE 0xffffffffu /* the id of no entries: what a pod with pol 0 is checked as */

/* A pod weft-node compiled (polpods, by naming_pod_hash(namespace, name)): its policy id and the
 * WEFT_EP_F_ISO_* / _GEN_* bits its endpoint and links entries carry. The plugin's ADD copies
 * them into the new entries. Key 0 holds no pod: its flags are the network's defaults. */
struct weft_polpod {
	__u32 pol;
	__u32 flags;
};

#define WEFT_POLPOD_DEFAULTS 0ULL /* the key of the defaults entry */
#define WEFT_POLPOD_F_DENY   0x1u /* --policy-default deny: a pod with no entry starts isolated */

/* LPM key: prefixlen counts the bits after it, so 64 (pol + slot) + the peer prefix in
 * ::ffff:0:0/96 terms (an IPv4 /24 is 64 + 96 + 24); 64 alone is "any peer". The value: the
 * rules (bit i = rule i) whose peers contain every address that has this prefix as its
 * longest match (computed in user space, excepts included). */
struct weft_pol_key {
	__u32 prefixlen;
	struct weft_pol_id id;
	__be32 addr[4];
};

#define WEFT_POL_KEY_BITS 64 /* prefixlen of the (pol, slot) part */

/* The ports LPM key: 64 + 8 (the protocol) + the port's leading bits; 64 alone is every
 * protocol and port. The value: the rules that allow every port whose longest match it is (a
 * port range is split into aligned blocks in user space). */
struct weft_pol_port_key {
	__u32 prefixlen;
	struct weft_pol_id id;
	__u8 proto;   /* IPPROTO_TCP, _UDP, _SCTP */
	__u8 port[2]; /* network byte order; 0: unknown (a later fragment) */
	__u8 pad;
};

#define WEFT_POL_PORT_KEY_BITS (WEFT_POL_KEY_BITS + 8 + 16)

/* A tracked flow (UDP, ICMP echo; TCP and SCTP need none) as its first packet went: initiator
 * -> responder. ICMP echo: sport = identifier, dport = 0. */
struct weft_ct_key {
	__be32 src[4], dst[4];
	__be16 sport, dport;
	__u8 proto;
	__u8 pad[3];
};

#define WEFT_CT_F_OUT 0x1u /* the source pod's egress allowed it (or the source is no pod here) */
#define WEFT_CT_F_IN  0x2u /* the destination pod's ingress allowed it */

struct weft_ct {
	__u64 seen_ns; /* bpf_ktime_get_ns() of the last packet (refreshed at most once a second) */
	__u64 flags;   /* WEFT_CT_F_* (64 bits: the program ORs them in atomically) */
};

#define WEFT_CT_IDLE_S 120 /* a tracked flow idle this long is forgotten */

#define WEFT_META_CID_LEN 128

/* Who an endpoint belongs to: for `ebpf stats`, GC and DEL. The program never reads it. */
struct weft_ep_meta {
	__u64 tag;
	char container_id[WEFT_META_CID_LEN]; /* truncated when longer; tag is authoritative */
	char ifname[16];
	char host_veth[16];
};

#endif

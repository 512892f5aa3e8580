/* SPDX-License-Identifier: Apache-2.0 */
/* The ebpf plugin's internal interfaces: ebpf.c (CNI verbs), ebpf-dp.c (pinned programs and
 * maps), ebpf-link.c (veth, addresses, routes), ebpf-stats.c (the `ebpf stats` command),
 * ebpf-conf.c (the config). */
#ifndef WEFT_PLUGIN_EBPF_H
#define WEFT_PLUGIN_EBPF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "bpf/include/cni-bpf.h"
#include "common/cni-error.h"
#include "common/cni/types.h"
#include "common/inet.h"
#include "common/nl/nl.h"
#include "plugins/lib/bandwidth.h"
#include "plugins/lib/overlay.h"

#define EBPF_ROUTER_DEFAULT  "169.254.1.1"
#define EBPF_ROUTER6_DEFAULT "fe80::1"
#define EBPF_BIG_TCP_SIZE    196608 /* IPv4 gso/gro max sizes with bigTCP (Cilium's default) */

struct ipam;

struct ebpf_conf {
	char pin_root[PATH_MAX];  /* "" = default: /sys/fs/bpf/weft/<host netns inode> */
	struct inet_addr router;  /* IPv4 pods' default gateway (link-local, answered by ARP) */
	struct inet_addr router6; /* IPv6 pods' default gateway (link-local, answered by NDP) */
	bool ip_masq;
	bool big_tcp;	     /* IPv4 gso/gro max sizes EBPF_BIG_TCP_SIZE on both veth ends */
	uint32_t mtu;	     /* 0 = kernel default */
	struct bandwidth bw; /* runtimeConfig.bandwidth (the capability) */
	struct ipam *ipam;
	/* Multi-node (a "peers" or "peersFile" key): the other nodes' pod CIDRs are routed via
	 * their node IPs and sent there by the program with bpf_redirect_neigh. */
	bool multinode;
	struct overlay_conf ov;
};

struct cni_args;

/* ---- ebpf-conf.c: the plugin's parse and conf_free (struct cni_plugin, skel.h) ---- */
/* Fills the struct ebpf_conf c from the config and opens its IPAM (required). No side effects. */
int ebpf_conf_parse(const struct cni_args *a, void *c, struct cni_err *err);
void ebpf_conf_free(void *c);

/* One attachment: what ADD creates and DEL, CHECK, GC look up. */
struct ebpf_pod {
	char host_veth[IFNAMSIZ]; /* naming_host_veth_name(network, containerID, ifname) */
	int host_ifindex;	  /* in the host netns */
	int pod_ifindex;	  /* in the pod netns */
	uint8_t host_mac[6], pod_mac[6];
	struct inet_prefix ips[2]; /* at most one IPv4 and one IPv6, as /32 and /128 */
	size_t n_ips;
	uint64_t tag;	   /* naming_attachment_hash(network, containerID, ifname) */
	uint32_t ep_flags; /* WEFT_EP_F_* of its endpoint entries */
	uint64_t
		pod_key; /* naming_pod_hash of K8S_POD_NAMESPACE/NAME; 0: the runtime did not say */
};

/* The pod's router for an address of family. */
const struct inet_addr *ebpf_link_router(const struct ebpf_conf *conf, int family);

/* ---- ebpf-dp.c: programs and maps pinned under <pinRoot>/<network>/ ---- */
enum ebpf_pin {
	EBPF_PIN_EPS,
	EBPF_PIN_LINKS,
	EBPF_PIN_STATS,
	EBPF_PIN_META,
	EBPF_PIN_REMOTE, /* node level (multi-node): other nodes' pod CIDRs */
	EBPF_PIN_POLICY, /* NetworkPolicy (weft-node writes them): peers, ports, flows */
	EBPF_PIN_POLPORTS,
	EBPF_PIN_CT,
	EBPF_PIN_POLPODS,  /* the pods weft-node compiled: their policy ids and bits */
	EBPF_PIN_FROM_POD, /* programs from here on */
	EBPF_PIN_TO_POD,
	EBPF_PIN_N,
};

struct ebpf_dp {
	char dir[PATH_MAX];
	int fd[EBPF_PIN_N];
};
#define EBPF_DP_INIT                                                                               \
	{                                                                                          \
		.fd = { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 }                               \
	}

/* create: mounts bpffs if needed, and loads + pins the programs and maps under the directory's
 * lock unless they are pinned already. !create: only opens existing pins; -ENOENT (err set,
 * code 100) when the network has none here. */
int ebpf_dp_open(const char *pin_root, const char *network, bool create, struct ebpf_dp *dp,
		 struct cni_err *err);
void ebpf_dp_close(struct ebpf_dp *dp);
static inline void ebpf_dp_closep(struct ebpf_dp *dp)
{
	ebpf_dp_close(dp);
}

/* Metas, endpoints, the link and zeroed counters, in that order (so a kill leaves nothing
 * DEL misses: every later entry is found from an earlier one). The endpoint and links entries
 * start with the NetworkPolicy weft-node compiled for the pod (its polpods entry, by
 * pod->pod_key), or isolated both ways when there is none and the network's defaults say deny
 * (--policy-default deny); else with none. */
int ebpf_dp_ep_add(const struct ebpf_dp *dp, const struct ebpf_pod *pod, const char *container_id,
		   const char *ifname, struct cni_err *err);

/* Everything known about one address, from the endpoint and the meta map. */
struct ebpf_dp_entry {
	struct weft_ep_key key;
	bool has_ep, has_meta;
	struct weft_ep ep;
	struct weft_ep_meta meta;
};
/* All entries (malloc'd array, *ret_n of them). */
int ebpf_dp_list(const struct ebpf_dp *dp, struct ebpf_dp_entry **ret, size_t *ret_n,
		 struct cni_err *err);
/* Tag of an entry (from the endpoint, else from the meta). */
uint64_t ebpf_dp_entry_tag(const struct ebpf_dp_entry *e);
/* Removes the endpoint, its link and counters, and its meta; absent parts are fine. */
int ebpf_dp_entry_del(const struct ebpf_dp *dp, const struct ebpf_dp_entry *e, struct cni_err *err);
/* Removes the tracked flows of the addresses ips. (The pod's policy entries are weft-node's:
 * they belong to the pod, not to this sandbox, and go when the pod does.) */
int ebpf_dp_flows_del(const struct ebpf_dp *dp, const struct weft_ep_key *ips, size_t n_ips,
		      struct cni_err *err);
/* Removes every entry of the attachment tag (and its flows); returns how many. */
int ebpf_dp_del_by_tag(const struct ebpf_dp *dp, uint64_t tag, struct cni_err *err);
/* Counters of a host ifindex summed over CPUs; -ENOENT when there are none. */
int ebpf_dp_stats(const struct ebpf_dp *dp, uint32_t ifindex, struct weft_ep_stats *ret,
		  struct cni_err *err);

/* tc ingress (from_pod) and egress (to_pod) on the host veth. */
int ebpf_dp_attach(const struct ebpf_dp *dp, int ifindex, struct cni_err *err);
/* 0 when both filters run weft's programs bound to this network's maps. */
int ebpf_dp_check_attached(const struct ebpf_dp *dp, int ifindex, struct cni_err *err);

/* ---- ebpf-link.c: kernel objects of one attachment ---- */
/* veth ifname (pod netns) <-> pod->host_veth (born in the host netns), random MACs. Fills
 * the MACs and ifindexes of pod. -EEXIST when either name is taken (never a takeover). */
struct ebpf_veth_opts {
	uint32_t mtu;	       /* 0 = kernel default */
	uint32_t gso_ipv4_max; /* 0 = kernel default; else IPv4 GSO/GRO max sizes (BIG TCP) */
	const char *alias;     /* the host veth's IFLA_IFALIAS (podnet_alias): whose it is */
};
int ebpf_link_veth_add(struct nl *host, struct nl *ctr, const char *ifname,
		       const struct ebpf_veth_opts *o, struct ebpf_pod *pod, struct cni_err *err);
/* Host side: rp_filter 0 on the veth, forwarding on (per family), podIP/32 (/128) routes and
 * permanent neighbours on the veth. */
int ebpf_link_host_setup(struct nl *host, const struct ebpf_pod *pod, struct cni_err *err);
/* Pod side: IPv6 enabled when needed, podIP/32 and /128 (no DAD), link up, default routes via
 * the family's router (onlink), IPAM routes via the router of their family. */
int ebpf_link_pod_setup(struct nl *ctr, int nsfd, const struct ebpf_pod *pod,
			const struct ebpf_conf *conf, const struct cni_result *res,
			struct cni_err *err);
/* Deletes the host veth (and with it the pod end); an absent one is success. */
/* Deletes the host veth (its pod end goes along) when it is this attachment's: a veth whose alias
 * is `alias` (or that has none: made before aliases). Anything else of that name is a foreign
 * link: left alone, with a warning. Gone already: success. */
int ebpf_link_veth_del(struct nl *host, const char *host_veth, const char *alias,
		       struct cni_err *err);
/* CHECK of the kernel objects above. */
int ebpf_link_host_check(struct nl *host, const struct ebpf_pod *pod, struct cni_err *err);
int ebpf_link_pod_check(struct nl *ctr, const char *ifname, const struct ebpf_pod *pod,
			const struct ebpf_conf *conf, struct cni_err *err);

/* ---- ebpf-node.c: node level of a multi-node network ---- */
/* Reconciles, against the peer set (plugins/lib/overlay.h), one route "<podCIDR> via <nodeIP>"
 * per other node and its entry in the remote map (plugins/lib/overlay-remote.h). */
int ebpf_node_ensure(const struct ebpf_conf *conf, const struct ebpf_dp *dp, struct cni_err *err);

/* ---- ebpf-stats.c ---- */
/* `ebpf stats <network> [--pin-root DIR] [--json]`: counters per pod on stdout. */
int ebpf_stats_main(int argc, char **argv);

#endif

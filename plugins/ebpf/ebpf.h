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

#include "cni-bpf.h"
#include "cni-error.h"
#include "cni-types.h"
#include "inet.h"
#include "nl.h"

#define EBPF_ROUTER_DEFAULT "169.254.1.1"

struct ipam;

struct ebpf_conf {
	char pin_root[PATH_MAX]; /* "" = default: /sys/fs/bpf/weft/<host netns inode> */
	struct inet_addr router; /* the pods' default gateway (link-local, answered by ARP) */
	bool ip_masq;
	uint32_t mtu; /* 0 = kernel default */
	struct ipam *ipam;
};

struct cni_args;

/* ---- ebpf-conf.c: the plugin's parse and conf_free (struct cni_plugin, skel.h) ---- */
/* Fills the struct ebpf_conf c from the config and opens its IPAM (required). No side effects. */
int ebpf_parse(const struct cni_args *a, void *c, struct cni_err *err);
void ebpf_conf_free(void *c);

/* One attachment: what ADD creates and DEL, CHECK, GC look up. */
struct ebpf_pod {
	char host_veth[IFNAMSIZ]; /* weft_host_veth_name(network, containerID, ifname) */
	int host_ifindex;	  /* in the host netns */
	int pod_ifindex;	  /* in the pod netns */
	uint8_t host_mac[6], pod_mac[6];
	struct inet_prefix ip; /* the pod's IPv4 with its IPAM subnet's prefix length */
	uint64_t tag;	       /* weft_attachment_hash(network, containerID, ifname) */
};

/* ---- ebpf-dp.c: programs and maps pinned under <pinRoot>/<network>/ ---- */
enum ebpf_pin {
	EBPF_PIN_EPS,
	EBPF_PIN_STATS,
	EBPF_PIN_META,
	EBPF_PIN_FROM_POD,
	EBPF_PIN_TO_POD,
	EBPF_PIN_N,
};

struct ebpf_dp {
	char dir[PATH_MAX];
	int fd[EBPF_PIN_N];
};
#define EBPF_DP_INIT                                                                               \
	{                                                                                          \
		.fd = { -1, -1, -1, -1, -1 }                                                       \
	}

/* Pin file name of one object ("endpoints_v1", ..., "from_pod_v1_<8 hex of the object>"). */
const char *ebpf_pin_name(enum ebpf_pin pin);
/* "<pin_root or the default>/<network>". */
int ebpf_dp_dir(const char *pin_root, const char *network, char *buf, size_t len,
		struct cni_err *err);
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

/* Meta, endpoint and zeroed counters, in that order (so a kill leaves nothing DEL misses). */
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
/* Removes the endpoint, its counters and its meta; absent parts are fine. */
int ebpf_dp_entry_del(const struct ebpf_dp *dp, const struct ebpf_dp_entry *e, struct cni_err *err);
/* Removes every entry of the attachment tag; returns how many. */
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
int ebpf_veth_add(struct nl *host, struct nl *ctr, const char *ifname, uint32_t mtu,
		  struct ebpf_pod *pod, struct cni_err *err);
/* Host side: rp_filter 0 on the veth, forwarding on, podIP/32 route and a permanent
 * neighbour on the veth. */
int ebpf_host_setup(struct nl *host, const struct ebpf_pod *pod, struct cni_err *err);
/* Pod side: podIP/32, link up, router/32 scope link, default via router, IPAM routes via
 * router. */
int ebpf_pod_setup(struct nl *ctr, const struct ebpf_pod *pod, const struct inet_addr *router,
		   const struct cni_result *res, struct cni_err *err);
/* Deletes the host veth (and with it the pod end); an absent one is success. */
int ebpf_veth_del(struct nl *host, const char *host_veth, struct cni_err *err);
/* CHECK of the kernel objects above. */
int ebpf_host_check(struct nl *host, const struct ebpf_pod *pod, struct cni_err *err);
int ebpf_pod_check(struct nl *ctr, const char *ifname, const struct ebpf_pod *pod,
		   const struct inet_addr *router, struct cni_err *err);

/* ---- ebpf-stats.c ---- */
/* `ebpf stats <network> [--pin-root DIR] [--json]`: counters per pod on stdout. */
int ebpf_stats_main(int argc, char **argv);

#endif

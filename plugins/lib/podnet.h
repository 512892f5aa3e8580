/* SPDX-License-Identifier: Apache-2.0 */
/* A pod's local attachment, shared by the bridge, host-gw and vxlan plugins: the config keys of
 * the reference bridge (docs/cni-contract.md §2.1), the shared bridge (ensured, never
 * removed), the veth pair under its deterministic name and IFLA_IFALIAS "weft <network> <tag>",
 * in-process (or delegated) IPAM, addresses and routes in the pod, gateways on the bridge,
 * announcements, masquerade, rollback on failure, and DEL / CHECK / STATUS / GC.
 *
 *   podnet-conf.c   JSON -> struct podnet_conf (no side effects)
 *   podnet-link.c   the kernel objects: bridge, veth pair, bridge port, gateway addresses
 *   podnet-add.c    ADD
 *   podnet-del.c    DEL, STATUS, GC
 *   podnet-check.c  CHECK
 *
 * The verbs take the config as void * so a plugin whose whole config is a podnet_conf (bridge)
 * can put them in its vtable as they are; a plugin that embeds one passes its address. */
#ifndef WEFT_PODNET_H
#define WEFT_PODNET_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include <jansson.h>

#include "common/cni-error.h"
#include "common/cni/types.h"
#include "common/inet.h"
#include "ipam/ipam.h"
#include "common/nft/nft.h"
#include "common/cni/skel.h"

#define PODNET_DEFAULT_BRIDGE "cni0"
#define PODNET_VLAN_MAX	      4094
/* IFLA_IFALIAS of every host veth: "weft <network> <16 hex attachment tag>" (podnet_alias). */
#define PODNET_ALIAS_PREFIX "weft "

struct podnet_conf {
	char bridge[IFNAMSIZ];
	bool is_gw, is_default_gw, force_address;
	bool ip_masq;
	bool hairpin, promisc, port_isolation;
	bool enable_dad, macspoofchk, disable_ctr_iface;
	bool ipv6_link_local; /* keep the IPv6 link-local address of an IPv4-only pod's eth0 */
	bool preserve_default_vlan;
	uint32_t mtu;				  /* 0 = kernel default */
	int vlan;				  /* 0 = none */
	uint8_t trunk[(PODNET_VLAN_MAX + 8) / 8]; /* bitmap of vlanTrunk ids */
	bool has_trunk;
	bool has_mac;
	uint8_t mac[6];	   /* the container veth's MAC, when configured */
	json_t *dns;	   /* conf "dns" when set (owned reference), else NULL */
	struct ipam *ipam; /* disabled (L2 only) without ipam.type */
	/* Not config keys: set by a plugin embedding the attachment (host-gw, vxlan puts its
	 * clusterCIDR here) -- destinations the masquerade rules leave alone. */
	struct inet_prefix masq_exclude[NFT_MASQ_EXCLUDE_MAX];
	size_t n_masq_exclude;
};

/* Parses every bridge key (codes 2/6/7) and opens IPAM; ADD and CHECK also validate what the
 * reference's cmdAdd refuses. No side effects. */
int podnet_parse(const struct cni_args *a, struct podnet_conf *c, struct cni_err *err);
void podnet_conf_free(struct podnet_conf *c);

/* conf is a struct podnet_conf *. */
int podnet_add(const struct cni_args *a, void *conf, struct cni_result *res, struct cni_err *err);
int podnet_del(const struct cni_args *a, void *conf, struct cni_err *err);
int podnet_check(const struct cni_args *a, void *conf, struct cni_err *err);
int podnet_status(const struct cni_args *a, void *conf, struct cni_err *err);
/* Masquerade / spoof-check rules, IP reservations and host veths (those whose alias names this
 * network) of attachments not in valid-attachments. */
int podnet_gc(const struct cni_args *a, void *conf, struct cni_err *err);

/* The alias of the network's host veths up to the tag: "weft <network> ", or, for a name longer
 * than PODNET_ALIAS_NAME_MAX, "weft #<16 hex of its hash> " (an alias has at most 255 bytes). */
#define PODNET_ALIAS_NAME_MAX 200
void podnet_alias_prefix(const char *network, char buf[256]);
/* The full alias of an attachment: "<prefix><16 hex of its tag>" (naming_attachment_hash). */
void podnet_alias(const char *network, uint64_t tag, char buf[256]);

/* The network's masquerade (podnet-masq.c), for every plugin with ipMasq. ips: the pod's
 * addresses with their subnet's prefix length (ensure makes one rule per subnet; check needs
 * only the addresses, a /32 will do). */
int podnet_masq_ensure(const char *network, const struct inet_prefix *ips, size_t n_ips,
		       const struct inet_prefix *exclude, size_t n_exclude, struct cni_err *err);
int podnet_masq_check(const char *network, const struct inet_prefix *ips, size_t n_ips,
		      const struct inet_prefix *exclude, size_t n_exclude, struct cni_err *err);
/* For ipam_del / ipam_gc: removes the network's masquerade when it holds no pod any more. */
struct ipam_empty_hook podnet_masq_flush_hook(const char *network);
/* GC of masquerade state: per-attachment rules of older weft versions whose attachment is not
 * valid; with an IPAM plugin other than host-local, the network's rules when nothing is valid. */
int podnet_masq_gc(const struct cni_args *a, const struct ipam *ipam, struct cni_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge plugin: a drop-in for the reference bridge (shared/reference/cni-spec.md §2).
 *   conf.c   JSON -> struct bridge_conf (no side effects)
 *   link.c   the kernel objects: bridge, veth pair, bridge port, gateway addresses
 *   add.c    ADD
 *   del.c    DEL, CHECK, STATUS, GC
 *   main.c   the vtable */
#ifndef WEFT_BRIDGE_H
#define WEFT_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include <jansson.h>

#include "cni-error.h"
#include "cni-types.h"
#include "ipam.h"
#include "nl.h"
#include "skel.h"

#define BRIDGE_DEFAULT_NAME "cni0"
#define BRIDGE_VLAN_MAX	    4094

struct bridge_conf {
	char bridge[IFNAMSIZ];
	bool is_gw, is_default_gw, force_address;
	bool ip_masq;
	bool hairpin, promisc, port_isolation;
	bool enable_dad, macspoofchk, disable_ctr_iface;
	bool preserve_default_vlan;
	uint32_t mtu;				  /* 0 = kernel default */
	int vlan;				  /* 0 = none */
	uint8_t trunk[(BRIDGE_VLAN_MAX + 8) / 8]; /* bitmap of vlanTrunk ids */
	bool has_trunk;
	bool has_mac;
	uint8_t mac[6];	   /* the container veth's MAC, when configured */
	json_t *dns;	   /* conf "dns" when set (owned reference), else NULL */
	struct ipam *ipam; /* disabled (L2 only) without ipam.type */
};

/* conf.c */
int bridge_parse(const struct cni_args *a, void *conf, struct cni_err *err);
void bridge_conf_free(void *conf);
static inline bool bridge_vlan_filtering(const struct bridge_conf *c)
{
	return c->vlan || c->has_trunk;
}
static inline bool bridge_trunk_has(const struct bridge_conf *c, int vid)
{
	return c->trunk[vid / 8] & (1u << (vid % 8));
}

/* One attachment's kernel context, shared by ADD, DEL and CHECK. */
struct bridge_ctx {
	const struct cni_args *a;
	const struct bridge_conf *conf;
	struct nl *host, *ctr;	  /* sockets in the host and the pod netns (ctr may be NULL) */
	int nsfd;		  /* pod netns, -1 when absent */
	int host_nsfd;		  /* the host netns (for the veth peer), -1 until needed */
	char host_veth[IFNAMSIZ]; /* weft_host_veth_name() */
	int br_index, host_index, ctr_index;
	uint8_t br_mac[6], host_mac[6], ctr_mac[6];
	int gw_index; /* where the gateway addresses went: the bridge or "<bridge>.<vlan>" */
	char gw_name[IFNAMSIZ];
	uint8_t gw_mac[6];
};
void bridge_ctx_close(struct bridge_ctx *x);
static inline void bridge_ctx_closep(struct bridge_ctx *x)
{
	bridge_ctx_close(x);
}
#define _cleanup_bridge_ctx_ __attribute__((cleanup(bridge_ctx_closep)))

/* link.c */
int bridge_ensure(struct bridge_ctx *x, struct cni_err *err);
int bridge_veth_create(struct bridge_ctx *x, struct cni_err *err);
int bridge_port_setup(struct bridge_ctx *x, struct cni_err *err);
/* Deletes the host veth (and so the pair) by its deterministic name; absent is success. */
int bridge_veth_del(struct bridge_ctx *x, struct cni_err *err);
/* Ensures gw on the bridge (or, with vlan, on its "<bridge>.<vlan>" veth) per the reference's
 * forceAddress rules; x->gw_* receive the interface used (for the result). */
int bridge_gw_ensure(struct bridge_ctx *x, const struct inet_prefix *gw, struct cni_err *err);
int bridge_random_mac(uint8_t mac[6]);

/* add.c / del.c */
int bridge_add(const struct cni_args *a, void *conf, struct cni_result *res, struct cni_err *err);
int bridge_del(const struct cni_args *a, void *conf, struct cni_err *err);
int bridge_check(const struct cni_args *a, void *conf, struct cni_err *err);
int bridge_status(const struct cni_args *a, void *conf, struct cni_err *err);
int bridge_gc(const struct cni_args *a, void *conf, struct cni_err *err);

/* Opens the host socket and, when the netns opens, the pod one. */
int bridge_ctx_open(struct bridge_ctx *x, const struct cni_args *a, const struct bridge_conf *c,
		    bool need_netns, struct cni_err *err);

#endif

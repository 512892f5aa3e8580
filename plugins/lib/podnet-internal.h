/* SPDX-License-Identifier: Apache-2.0 */
/* Between the podnet-*.c files only (plugins/lib/podnet.h is the API). */
#ifndef WEFT_PODNET_INTERNAL_H
#define WEFT_PODNET_INTERNAL_H

#include "common/nl/link.h"
#include "common/nl/nl.h"
#include "plugins/lib/podnet.h"

static inline bool podnet_vlan_filtering(const struct podnet_conf *c)
{
	return c->vlan || c->has_trunk;
}
static inline bool podnet_trunk_has(const struct podnet_conf *c, int vid)
{
	return c->trunk[vid / 8] & (1u << (vid % 8));
}

/* One attachment's kernel context, shared by ADD, DEL and CHECK. */
struct podnet_ctx {
	const struct cni_args *a;
	const struct podnet_conf *conf;
	struct nl *host, *ctr;	  /* sockets in the host and the pod netns (ctr may be NULL) */
	int nsfd;		  /* pod netns, -1 when absent */
	int host_nsfd;		  /* the host netns (for the veth peer), -1 until needed */
	char host_veth[IFNAMSIZ]; /* naming_host_veth_name() */
	char alias[256];	  /* podnet_alias() */
	int br_index, host_index, ctr_index;
	uint8_t br_mac[6], host_mac[6], ctr_mac[6];
	bool br_mac_pinned; /* NET_ADDR_SET: the bridge's MAC follows no port (known after
			     * isGateway's check; false = not known) */
	int gw_index;	    /* where the gateway addresses went: the bridge or "<bridge>.<vlan>" */
	char gw_name[IFNAMSIZ];
	uint8_t gw_mac[6];
};
void podnet_ctx_close(struct podnet_ctx *x);
static inline void podnet_ctx_closep(struct podnet_ctx *x)
{
	podnet_ctx_close(x);
}
#define _cleanup_podnet_ctx_ __attribute__((cleanup(podnet_ctx_closep)))

/* Opens the host socket and, when need_netns, the pod netns and its socket. */
int podnet_ctx_open(struct podnet_ctx *x, const struct cni_args *a, const struct podnet_conf *c,
		    bool need_netns, struct cni_err *err);

/* podnet-link.c */
int podnet_bridge_ensure(struct podnet_ctx *x, struct cni_err *err);
int podnet_veth_create(struct podnet_ctx *x, struct cni_err *err);
/* Bridge port + up + the host veth's alias in one message, then hairpin/isolation/VLANs. */
int podnet_port_setup(struct podnet_ctx *x, struct cni_err *err);
/* Deletes the host veth (and so the pair) by its deterministic name; absent is success, and
 * so is a link of that name that is not ours (not a veth, or another attachment's alias). */
int podnet_veth_del(struct podnet_ctx *x, struct cni_err *err);
/* Is l our host veth: a veth whose alias is ours (or has none: made before aliases)? */
bool podnet_veth_is_ours(const struct podnet_ctx *x, const struct nl_link *l);
/* Ensures gw on the bridge (or, with vlan, on its "<bridge>.<vlan>" veth) per the reference's
 * forceAddress rules; x->gw_* receive the interface used (for the result). */
int podnet_gw_ensure(struct podnet_ctx *x, const struct inet_prefix *gw, struct cni_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Node routes of a routed multi-node network (host-gw, ebpf): per other node one route
 * "<podCIDR> via <nodeIP> dev <underlay> proto 0x57", refused when the node IP is not on-link
 * (flannel's host-gw rule: the nodes share one L2 segment; a gateway in between would drop
 * the pod addresses). The callbacks fit struct overlay_ops (plugins/lib/overlay.h). */
#ifndef WEFT_OVERLAY_ROUTES_H
#define WEFT_OVERLAY_ROUTES_H

#include "common/cni-error.h"
#include "common/nl/route.h"
#include "common/nl/nl.h"
#include "plugins/lib/overlay.h"
#include "plugins/lib/peers.h"

/* rtm_protocol of weft's node routes: `ip route show proto 0x57` lists them. */
#define OVERLAY_RTPROT 0x57

/* The unicast routes of the main table, dumped on first use (CHECK): looking each peer's
 * route up in one dump, not one dump per peer. */
struct overlay_routes_table {
	struct nl_route *v;
	size_t n;
	bool loaded;
};
/* Dumps the table unless it is loaded. */
int overlay_routes_table_load(struct nl *nl, struct overlay_routes_table *t, struct cni_err *err);
/* 1 when the table (loaded first) has a route to want->dst via want->gw with want->protocol (and
 * want->oif when set), 0 when not. */
int overlay_routes_table_has(struct nl *nl, struct overlay_routes_table *t,
			     const struct nl_route *want, struct cni_err *err);
void overlay_routes_table_free(struct overlay_routes_table *t);

struct overlay_routes {
	struct nl *nl;
	int underlay; /* ifindex of underlayInterface, 0 = from the route to each node */
	const char *underlay_name;
	const char *plugin; /* named in "<plugin> needs the nodes on one L2 segment" */
	/* clusterCIDR: every pod CIDR of the network is inside it, so a proto 0x57 route inside
	 * it is this network's (NULL: unknown, no sweep; overlay_routes_sweep). */
	const struct inet_prefix *scope;
	struct overlay_routes_table rtab;
};

/* Opens the host netns' rtnetlink socket and resolves underlay ("" = none; a missing one is
 * code 7). Close with overlay_routes_close. */
int overlay_routes_open(struct overlay_routes *n, const char *underlay, const char *plugin,
			struct cni_err *err);
void overlay_routes_close(struct overlay_routes *n);
/* host-gw's node-level parameters for overlay_reconcile: "<plugin> underlay=<name>/<ifindex>"
 * (the plugin and weft-node must digest the same string). */
void overlay_routes_params(const struct overlay_routes *n, char *buf, size_t len);

/* The interface the node is on-link through (> 0), or a code 7 error naming the node. */
int overlay_routes_oif(struct overlay_routes *n, const struct peer *p, struct cni_err *err);

/* struct overlay_ops callbacks; ctx is the struct overlay_routes. */
int overlay_routes_prepare(void *ctx, const struct peers *p, struct cni_err *err);
int overlay_routes_add(void *ctx, const struct peer *p, struct cni_err *err);
int overlay_routes_del(void *ctx, const struct peer *p, struct cni_err *err);
/* CHECK: the peer's route is there, else code 100 naming it. */
int overlay_routes_check(void *ctx, const struct peer *p, struct cni_err *err);
/* struct overlay_ops sweep (applied.json lost): removes the proto 0x57 routes of the main table
 * inside n->scope that no peer of want has (dst and gateway), each logged. Nothing without a
 * scope: the routes sit on the shared underlay, and only clusterCIDR says which are ours. */
int overlay_routes_sweep(void *ctx, const struct peers *want, struct cni_err *err);

/* host-gw's reconcile over n (the plugin's and weft-node's): prepare (the plugin's on-link
 * refusal; weft-node filters instead and clears it), add, del, and the sweep bounded by
 * o->cluster_cidr when the network has one. */
void overlay_routes_ops(struct overlay_routes *n, const struct overlay_conf *o,
			struct overlay_ops *ret);

#endif

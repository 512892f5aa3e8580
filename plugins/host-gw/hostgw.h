/* SPDX-License-Identifier: Apache-2.0 */
/* The host-gw plugin: pods attached locally as the bridge plugin does (plugins/lib/podnet.h), and
 * one route per other node, "<podCIDR> via <nodeIP>" on the underlay (plugins/lib/overlay.h).
 *   main.c   config and verbs
 *   node.c   the node-level routes (plugins/lib/overlay-routes.c, shared with ebpf): ADD, CHECK */
#ifndef WEFT_HOSTGW_H
#define WEFT_HOSTGW_H

#include "plugins/lib/overlay.h"
#include "plugins/lib/podnet.h"

struct hostgw_conf {
	struct podnet_conf pod; /* first: the podnet verbs take the whole conf */
	struct overlay_conf ov;
};

/* node.c: reconciles the routes to the other nodes (ADD). */
int hostgw_node_ensure(const struct cni_args *a, struct hostgw_conf *c, struct cni_err *err);
/* node.c: CHECK: the routes recorded in applied.json are there (code 100 naming one that is
 * not). */
int hostgw_node_check(const struct hostgw_conf *c, struct cni_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Node level of a multi-node ebpf network, shared by the ebpf plugin and weft-node: per other
 * node the route "<podCIDR> via <nodeIP>" (overlay-routes: the host stack's path for replies,
 * NAT, anything the program passes on) and the remote map entry podCIDR -> (underlay ifindex,
 * nodeIP) the program sends pod traffic with. The callbacks fit struct overlay_ops. */
#ifndef WEFT_OVERLAY_REMOTE_H
#define WEFT_OVERLAY_REMOTE_H

#include <stdint.h>

#include "plugins/lib/overlay-routes.h"
#include "plugins/lib/overlay.h"

struct overlay_remote {
	struct overlay_routes rt; /* first: overlay_routes_prepare takes the same ctx */
	int map;		  /* the remote map (the caller's); -1: routes only */
	uint32_t map_id;
};

/* Opens the routes' socket and underlay (overlay_routes_open) and reads the map's id (it goes
 * into the digest: maps pinned anew after a cleanup are filled again). */
int overlay_remote_open(struct overlay_remote *n, int map, const char *underlay,
			struct cni_err *err);
void overlay_remote_close(struct overlay_remote *n);
/* The parameters for overlay_reconcile: "ebpf underlay=<name>/<ifindex> remote-map=<id>". */
void overlay_remote_params(const struct overlay_remote *n, char *buf, size_t len);
/* The callbacks on n (prepare refuses a set with a node not on-link). The sweep (applied.json
 * lost) removes every remote map entry no peer of want has (the map is the network's alone)
 * and, bounded by o's clusterCIDR, the routes as host-gw's (overlay_routes_sweep). */
void overlay_remote_ops(struct overlay_remote *n, const struct overlay_conf *o,
			struct overlay_ops *ret);

/* Opens the pinned remote map of network under pin_root ("" = the default root) into *ret;
 * -ENOENT (err set) when the network has no datapath pinned on this node. */
int overlay_remote_map_open(const char *pin_root, const char *network, int *ret,
			    struct cni_err *err);

#endif

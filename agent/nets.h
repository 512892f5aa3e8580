/* SPDX-License-Identifier: Apache-2.0 */
/* The multi-node networks of this node: the conflists (and .conf/.json files) of the CNI conf
 * dir whose plugin is host-gw, vxlan or ebpf with a "peersFile", parsed with the plugins' own
 * parsers (podnet_parse, overlay_parse, vxlan_conf_parse_keys). For each, weft-node keeps the
 * peersFile current (written atomically when its digest changes: a list with this node's own
 * entry) and applies node-level state at once with the plugins' reconcile code and lock
 * (overlay_reconcile: only the peers that changed are touched):
 *   host-gw  one route per peer (overlay-routes), peers not on-link skipped
 *   vxlan    the device, then per peer neighbour + FDB + route (plugins/lib/vxlan.h)
 *   ebpf     per peer a route and a remote map entry (plugins/lib/overlay-remote.h), peers
 *            not on-link skipped; before the first pod's ADD pins the datapath on this node,
 *            the peersFile only (that ADD applies it) */
#ifndef WEFT_AGENT_NETS_H
#define WEFT_AGENT_NETS_H

#include <limits.h>
#include <stdbool.h>

#include <jansson.h>

#include "common/cni/skel.h"
#include "plugins/lib/overlay.h"
#include "plugins/lib/vxlan.h"

enum net_kind { NET_HOSTGW, NET_VXLAN, NET_EBPF };

/* One on-link verdict: a node IP checked and why it is not on-link (NULL: it is). */
struct onlink {
	struct inet_addr ip;
	char *why;
};

struct agent_net {
	char *name, *source, *peers_file;
	enum net_kind kind;
	json_t *conf; /* the plugin's stdin object */
	struct cni_args args;
	struct vxlan_conf c; /* pod and ov for every kind; the vxlan keys for vxlan */
	struct inet_prefix local[OVERLAY_MAX_LOCAL];
	size_t n_local;
	char file_digest[17];  /* of the peersFile's set as last written or read */
	struct peers want;     /* the last round's peers (its array is the next round's) */
	struct onlink *onlink; /* host-gw, ebpf: the last round's on-link verdicts, in its order */
	size_t n_onlink;
	bool unpinned; /* ebpf: no datapath pinned here at the last round (logged once) */
};

struct agent_nets {
	struct agent_net *v;
	size_t n;
};

/* Every multi-node network in dir (files that fail to parse are logged and left out; a
 * missing dir is no network). self: weft-node's node name, compared with each network's. */
int nets_load(const char *dir, const char *self, struct agent_nets *ret, struct cni_err *err);
void nets_free(struct agent_nets *n);

/* all: the cluster's peers after peerset_filter (self included when valid). Writes the
 * peersFile and reconciles; reasons gets the nodes this network leaves out. 1 when something
 * changed, 0 when nothing had to. */
int net_apply(struct agent_net *net, const struct peers *all, json_t *reasons, struct cni_err *err);
/* Every network of dir with the ebpf plugin, single-node ones included (NetworkPolicy):
 * [{"network": NAME, "pinRoot": ROOT or ""}] (a new reference; files that fail to parse are
 * left out). */
json_t *nets_ebpf(const char *dir);
/* Forgets on-link verdicts (the routes may have changed). */
void net_forget(struct agent_net *net);
/* --cleanup: removes the node-level entries of the peers (reconciled to none), the state files
 * and the peersFile. */
int net_cleanup(struct agent_net *net, struct cni_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* What host-gw and vxlan share on top of the pod attachment (plugins/lib/podnet.h): the multi-node
 * config keys and the reconcile of node-level state against the peer set.
 *
 * Keys: "peers" (inline list) or "peersFile" (a list or a NodeList, plugins/lib/peers.h);
 * "nodeName" (default: the host name) names this node, whose entry is taken out of the set;
 * "clusterCIDR" (the masquerade scope: required with ipMasq); "stateDir" (default /run/weft);
 * "underlayInterface" (default: found from routes). isGateway defaults to true here.
 *
 * Reconcile (ADD only): the digest of (peer set, node-level parameters) is compared with the
 * one in <stateDir>/<network>/digest; equal: nothing to do (one small file read). Otherwise,
 * under <stateDir>/<network>/lock: entries of peers that vanished or changed are removed,
 * those of new or changed peers added, the others untouched; the applied set is kept in
 * <stateDir>/<network>/applied.json and the records appended to applied.log (the peers being
 * applied are recorded as "pending" before any entry is made, so a failed reconcile never
 * loses track of an entry it may have made; overlay-reconcile.c has the format), then the
 * digest. */
#ifndef WEFT_OVERLAY_H
#define WEFT_OVERLAY_H

#include <limits.h>
#include <stdbool.h>
#include <net/if.h>

#include "common/cni-error.h"
#include "plugins/lib/peers.h"
#include "plugins/lib/podnet.h"
#include "common/cni/skel.h"

#define OVERLAY_DEFAULT_STATE_DIR "/run/weft"
#define OVERLAY_MAX_LOCAL	  16 /* local IPAM ranges checked against the peers */

/* What weft-node keeps of one network between its reconciles (NULL in a plugin): the applied
 * set, trusted while applied.json and applied.log are as it left them, read again when
 * anyone else (a plugin's ADD) wrote them. */
struct overlay_cache;
struct overlay_cache *overlay_cache_new(void); /* NULL when out of memory */
void overlay_cache_free(struct overlay_cache *c);

struct overlay_conf {
	char node_name[PEER_NAME_MAX + 1];
	char state_dir[PATH_MAX]; /* <stateDir>/<network> */
	char underlay[IFNAMSIZ];  /* underlayInterface, "" = from routes */
	bool has_cluster;
	struct inet_prefix cluster_cidr;
	/* ADD only (empty otherwise): the other nodes, and this one when listed. */
	struct peers peers;
	bool has_self;
	struct peer self;
	struct overlay_cache *cache; /* owned; freed by overlay_conf_free */
};

/* Parses the keys above; on ADD also loads and validates the peers against the subnets the
 * local IPAM hands out (pod->ipam, opened by podnet_parse). Adjusts pod: isGateway defaults to
 * true, clusterCIDR is excluded from masquerade. No side effects. */
int overlay_parse(const struct cni_args *a, struct overlay_conf *o, struct podnet_conf *pod,
		  struct cni_err *err);
void overlay_conf_free(struct overlay_conf *o);

/* The node-level entries of one peer. del treats "already absent" as success. */
struct overlay_ops {
	void *ctx;
	/* Optional: refuse the whole set before anything changes (code 7 naming a peer). */
	int (*prepare)(void *ctx, const struct peers *p, struct cni_err *err);
	int (*peer_add)(void *ctx, const struct peer *p, struct cni_err *err);
	int (*peer_del)(void *ctx, const struct peer *p, struct cni_err *err);
	/* CHECK: the entries of p are there; else code 100 naming the missing object. */
	int (*peer_check)(void *ctx, const struct peer *p, struct cni_err *err);
	/* Optional: applied.json was missing (lost) at a reconcile, so whatever an earlier one
	 * made is unknown: remove the entries not of a peer in want, where that is safe. */
	int (*sweep)(void *ctx, const struct peers *want, struct cni_err *err);
};

/* params: the node-level parameters (device, ifindex, ...); when they change, every entry is
 * removed and made again. Returns 1 when it reconciled, 0 when the digest matched. */
int overlay_reconcile(const struct overlay_conf *o, const char *params,
		      const struct overlay_ops *ops, struct cni_err *err);

/* CHECK of node-level state: ops->peer_check on every peer of applied.json (neither the peers
 * nor the peers file are needed). Code 100 when a reconcile was left half done, or when the
 * node-level parameters differ from params (NULL: not compared). No applied.json (never
 * reconciled, or lost): nothing checked, a warning logged, 0. */
int overlay_reconcile_check(const struct overlay_conf *o, const char *params,
			    const struct overlay_ops *ops, struct cni_err *err);

#endif

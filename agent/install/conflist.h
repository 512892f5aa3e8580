/* SPDX-License-Identifier: Apache-2.0 */
/* The conflist a node gets: built from the cluster's network settings (the weft ConfigMap's
 * net-conf.json) and this node's pod CIDRs. Pure: no file, no network; unit-tested. */
#ifndef WEFT_INSTALL_CONFLIST_H
#define WEFT_INSTALL_CONFLIST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/cni-error.h"

/* Top-level key that marks a conflist weft-install wrote; one it did not write is never
 * overwritten or removed without --force. CNI runtimes ignore unknown top-level keys. */
#define INSTALL_MARK "weftInstall"
/* Plugins are installed as "weft-<name>" so the reference plugins of the same names stay. */
#define INSTALL_PREFIX "weft-"

struct node_info {
	const char *name;	 /* this node (nodeName of multi-node plugins) */
	const char *pod_cidr[2]; /* its pod CIDRs (spec.podCIDRs), NULL when absent */
	const char *version;	 /* weft's version, recorded in the mark */
	const char *peers_dir;	 /* where the peersFile of a multi-node network lives */
};

/* Builds the conflist from net-conf (see deploy/README.md for its keys). Unknown keys and bad
 * values are CNI_ERR_CONFIG naming the key. *out is a new reference. */
int conflist_build(const json_t *netconf, const struct node_info *node, json_t **out,
		   struct cni_err *err);
/* The peersFile path the multi-node backends read and weft-node writes:
 * <peers_dir>/<network>-nodes.json. */
int conflist_peers_file(const char *dir, const char *network, char *buf, size_t len);
/* True for the backends that take peers (host-gw, vxlan, ebpf). */
bool conflist_multinode(const char *backend);

#endif

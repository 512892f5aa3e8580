/* SPDX-License-Identifier: Apache-2.0 */
/* The peer set weft-node derives from the Node objects: every node by the rules of a NodeList
 * peersFile (peers_parse_node: spec.podCIDR(s), the InternalIP of its family), minus the nodes
 * that would hijack traffic, each skipped with a reason naming the field:
 *   - a pod CIDR of /0, or nodeIP and pod CIDR of different families;
 *   - a pod CIDR holding or overlapping an address (or the subnet of an address) of this node,
 *     a nodeIP that is one of this node's addresses;
 *   - two nodes with one InternalIP (both skipped; a node claiming this node's IP is skipped);
 *   - two nodes with overlapping pod CIDRs (both skipped; one overlapping this node's is);
 * and, per network, pod CIDRs outside its clusterCIDR or overlapping its local IPAM ranges.
 * Pure code (no kernel); reasons go to a JSON object name -> text. */
#ifndef WEFT_AGENT_PEERSET_H
#define WEFT_AGENT_PEERSET_H

#include <stdbool.h>

#include <jansson.h>

#include "common/inet.h"
#include "plugins/lib/peers.h"

/* What the agent keeps of a Node object (the informer's transform): one string, "P\t<nodeIP>\t
 * <podCIDR>\t<name>" for a peer, "W" for a node not routable yet (no pod CIDR or InternalIP),
 * "E\t<why>" for one refused; about 1/50 of the memory of the trimmed object. */
json_t *peerset_node_compact(const json_t *node);

/* nodes: key -> Node object or its peerset_node_compact string (the informer's cache). *ret: every
 * node that parses (self too), sorted by name; reasons: name -> why a node with a name was left out
 * (not routable yet is not a reason: such nodes are simply absent). */
int peerset_parse(const json_t *nodes, struct peers *ret, json_t *reasons, struct cni_err *err);

/* One cached entry changed: the peer named key in *all (sorted by name) replaced by what nodes
 * holds for key now (removed when it has no entry, or no peer yet), and its reason in why
 * likewise. */
int peerset_patch(struct peers *all, json_t *why, const json_t *nodes, const char *key,
		  struct cni_err *err);

/* Removes the hijackers from p (self, when listed, is kept and judged against the others).
 * host: this node's addresses with their prefix lengths. ret_bad (when not NULL) gets the
 * peers removed. */
int peerset_filter(struct peers *p, const char *self, const struct inet_prefix *host, size_t n_host,
		   struct peers *ret_bad, json_t *reasons, struct cni_err *err);

/* The same after a few Nodes changed, at the cost of those and the bad ones only: good and bad,
 * what peerset_filter made of the set before (with the same host addresses), are brought up to
 * date in place given the names that changed; now holds those of them that are peers now (it
 * may hold more: the whole set, say), the others are gone. The reasons of
 * every bad node are given again, one log line per peer in or out of good. 1: done; 0: more
 * than PEERSET_UPDATE_MAX nodes to judge (good and bad untouched: run peerset_filter). */
#define PEERSET_UPDATE_MAX 64
int peerset_filter_update(struct peers *good, struct peers *bad, const struct peers *now,
			  const char *const *changed, size_t n_changed, const char *self,
			  const struct inet_prefix *host, size_t n_host, json_t *reasons,
			  struct cni_err *err);

/* The peers of one network: in minus self, minus pod CIDRs outside cluster (NULL: no
 * clusterCIDR) or overlapping a local range. *ret's array is reused (grown as needed). */
int peerset_scope(const struct peers *in, const char *self, const struct inet_prefix *cluster,
		  const struct inet_prefix *local, size_t n_local, struct peers *ret,
		  json_t *reasons, struct cni_err *err);

/* Logs one line per node added, removed or changed from old to new (both sorted by name). */
void peerset_log_diff(const struct peers *old, const struct peers *new);

/* The pod CIDR of one cached Node entry (compact or whole); -ENOENT when it has none (yet). */
int peerset_pod_cidr(const json_t *entry, struct inet_prefix *ret);

#endif

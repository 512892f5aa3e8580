/* SPDX-License-Identifier: Apache-2.0 */
/* The other nodes of a multi-node network (host-gw, vxlan): parsed from the config's "peers"
 * list or a "peersFile" holding that list or a Kubernetes NodeList, validated, digested, and
 * the VTEP MAC every node derives for every other from the list alone. Pure code: no kernel,
 * no logging; errors are code 7 naming the offending entry.
 *
 * Accepted JSON:
 *   [{"name": "n1", "nodeIP": "192.0.2.1", "podCIDR": "10.244.1.0/24"}, ...]
 *   {"kind": "NodeList", "items": [{"metadata": {"name": "n1"},
 *     "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": [...]},
 *     "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.1"}]}}, ...]}
 * A NodeList item without a pod CIDR (not assigned yet) or without an InternalIP is skipped:
 * it cannot be routed to, and kubelet has not finished with it. The pod CIDR is spec.podCIDR,
 * else the first of spec.podCIDRs; the node IP the first InternalIP of the same family as the
 * pod CIDR, else the first InternalIP. */
#ifndef WEFT_PEERS_H
#define WEFT_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/cni-error.h"
#include "common/inet.h"

#define PEERS_MAX      16384	   /* nodes in one list */
#define PEER_NAME_MAX  253	   /* a Kubernetes node name (DNS subdomain) */
#define PEERS_FILE_MAX (16u << 20) /* bytes read from a peersFile */

struct peer {
	char name[PEER_NAME_MAX + 1];
	struct inet_addr node_ip;
	struct inet_prefix pod_cidr; /* host bits zeroed */
};

struct peers {
	struct peer *v; /* sorted by name, names unique */
	size_t n;
};

void peers_free(struct peers *p); /* NULL-safe; leaves an empty set */

/* j: a list or a NodeList (above). source names it in messages ("peers", the file path). */
int peers_parse(const json_t *j, const char *source, struct peers *ret, struct cni_err *err);
/* One NodeList item (index i, for messages) by the rules above: 1 parsed into *ret, 0 skipped
 * (no pod CIDR or no InternalIP yet), < 0 invalid (code 7 naming the node). weft-node derives
 * its peers from Node objects with it, so the agent and a NodeList peersFile agree. */
int peers_parse_node(const json_t *item, const char *source, size_t i, struct peer *ret,
		     struct cni_err *err);
/* Reads and parses a file; unreadable, too big or not JSON: code 7 naming the path. */
int peers_load_file(const char *path, struct peers *ret, struct cni_err *err);

/* Finds the node named self, copies it to *ret_self and removes it from p. Returns 1 when
 * found, 0 when not (p unchanged). */
int peers_take_self(struct peers *p, const char *self, struct peer *ret_self);

/* Checks the set: no two pod CIDRs overlap (self included when given), no peer's pod CIDR
 * overlaps a local range, and self's pod CIDR (when given) contains every local range
 * (the IPAM subnets of this node). Code 7 naming the entries. */
int peers_validate(const struct peers *p, const struct peer *self, const struct inet_prefix *local,
		   size_t n_local, struct cni_err *err);

/* The part of peers_validate about self alone: its pod CIDR contains every local range. */
int peers_validate_self(const struct peer *self, const struct inet_prefix *local, size_t n_local,
			struct cni_err *err);

/* 16 hex digits (buf >= 17) over the set (extra too when not NULL: weft-node's own node, kept
 * apart) and params (the node-level parameters that, when they change, also require a
 * reconcile). The order of the peers does not count. */
void peers_digest(const struct peers *p, const struct peer *extra, const char *params,
		  char buf[17]);

/* The VTEP MAC of a node: locally administered unicast, 46 bits of a hash of ("weft-vtep",
 * network, node name, node IP). Every node computes every other node's from the peer list. */
void peers_vtep_mac(const char *network, const char *node, const struct inet_addr *node_ip,
		    uint8_t mac[6]);

/* The longest text of one peer in a list peers_json_write makes. */
#define PEER_JSON_MAX (6 * PEER_NAME_MAX + 160)
/* Writes the set as a list [{"name", "nodeIP", "podCIDR"}] (what peers_parse reads back),
 * extra (when not NULL) in its place by name, at d, which has room for PEER_JSON_MAX per peer
 * and 3 more bytes; NUL-terminated. Returns the end (the NUL). */
char *peers_json_write(char *d, const struct peers *p, const struct peer *extra);

/* The same peer (name, node IP and pod CIDR)? */
bool peers_eq(const struct peer *a, const struct peer *b);
/* Copies in into *ret, ret's array reused (grown as needed). 0 or -ENOMEM. */
int peers_copy(const struct peers *in, struct peers *ret);
/* Removes the peer named name from p (sorted), when there. */
void peers_remove(struct peers *p, const char *name);
/* Puts x in p (sorted) in its place by name, replacing the peer of that name. 0 or -ENOMEM. */
int peers_insert(struct peers *p, const struct peer *x);
/* Sorts p by name. */
void peers_sort(struct peers *p);
/* Index of name in p (sorted), or -1. */
long peers_find(const struct peers *p, const char *name);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* weft-node's NetworkPolicy enforcement for bridge, host-gw and vxlan pods (docs/design.md §7):
 * from the informers' caches of Namespaces, Pods and NetworkPolicies, every pod of this node
 * is compiled (agent/policy.h) and the result rendered into the wanted content of the nftables
 * table `inet weft-policy` (common/nft/policy.h), kept from round to round (agent/poltable.h):
 * a round compiles again only the pods something they depend on changed for, takes out what
 * they brought and puts in what they bring now, and the nft layer compares only the keys
 * touched (nft_pol_apply_touched):
 *   - a pod isolated for ingress gets the chain "pi-<16 hex>", one for egress "po-<16 hex>"
 *     (the hex: naming_hash of the pod's namespace and name), and its addresses in the
 *     dispatch maps; every pod bound to the node has its flags in the "pods" map;
 *   - the rules with the same ports share, per family, one hash set of their peer pods'
 *     addresses ("ps4-<16 hex>" named after the selectors, so that it keeps its name while
 *     pods come and go; "pa4-..." after its content for a union) and one interval set of
 *     their ipBlocks ("s4-...", "a4-..."): rules with the same peers share them, across pods;
 *   - each rule's ports become one nft rule per port entry and set (protocol + range).
 * Pods of ebpf networks have their compiled policy written into their network's maps instead
 * (agent/polsync-bpf.h). Bridged pod-to-pod traffic reaches the forward hook only through
 * br_netfilter: when there is something to enforce, net.bridge.bridge-nf-call-ip(6)tables are set
 * to 1 in the node's netns (what Kubernetes asks of nodes anyway); without br_netfilter the round
 * fails loudly. */
#ifndef WEFT_AGENT_POLSYNC_H
#define WEFT_AGENT_POLSYNC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/cni-error.h"
#include "common/inet.h"

struct polsync_stats {
	size_t pods_local, pods_isolated, pods_ebpf, chains, sets;
	unsigned bpf_errors, bpf_applied; /* ebpf pods whose maps failed / were written */
	unsigned changes; /* chains and sets added, changed or removed by the last apply */
	bool replaced;	  /* the apply replaced the table whole, after why */
	char why[160];
};

struct polsync;

enum polsync_kind { POLSYNC_NAMESPACE, POLSYNC_POD, POLSYNC_POLICY };

/* The caches are the informers' (borrowed, kept current by them). */
int polsync_new(const char *node_name, const json_t *namespaces, const json_t *pods,
		const json_t *policies, struct polsync **ret);
void polsync_free(struct polsync *ps); /* NULL-safe; leaves the table in place */
/* The ebpf networks of the conf dir (agent/nets.h nets_ebpf; takes the reference): their pods
 * are enforced in their maps (agent/polsync-bpf.h), not in the table. */
void polsync_set_ebpf(struct polsync *ps, json_t *nets);
/* --policy-default: deny cuts off the addresses of nets (this node's pod CIDRs) that belong
 * to no pod the agent knows (common/nft/policy.h "guard"); allow (deny false) adds nothing. */
void polsync_set_default(struct polsync *ps, bool deny, const struct inet_prefix *nets, size_t n);
/* to takes over what from applied last (a new index, the same table). */
void polsync_take_state(struct polsync *to, struct polsync *from);
/* An object of a cache was added (old NULL), changed or deleted (now NULL); old still alive.
 * Keeps the compile index current (agent/policy.h). -ENOMEM on failure. */
int polsync_changed(struct polsync *ps, enum polsync_kind kind, const char *key, const json_t *old,
		    json_t *now);

/* The wanted table for this node (a new reference), pure: unit tests use it. */
json_t *polsync_want(const char *node_name, const json_t *namespaces, const json_t *pods,
		     const json_t *policies, struct polsync_stats *st, struct cni_err *err);
/* Compiles every local pod (the index's memo spares what did not change) and applies. */
int polsync_apply(struct polsync *ps, struct polsync_stats *st, struct cni_err *err);

/* What the informers keep of each kind (new references): the fields the compiler reads. A
 * pod's labels and container ports are held once per distinct value in in (agent/intern.h;
 * NULL: not shared). */
struct intern;
json_t *polsync_pod_compact(const json_t *pod, struct intern *in);
json_t *polsync_ns_compact(const json_t *ns);
json_t *polsync_policy_compact(const json_t *pol);

#endif

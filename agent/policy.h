/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes NetworkPolicy (networking.k8s.io/v1) compiled for one pod: the first piece of
 * weft-node's policy enforcement, pure code (no kernel), so the semantics can be checked
 * against an independent model before a datapath uses them.
 *
 * Input: the informers' caches of Namespaces, Pods and NetworkPolicies (Kubernetes JSON).
 * Output, per pod and direction: isolated or not, and the allow rules (the union of every rule
 * of every policy selecting the pod for that direction), each rule a set of peers (pod
 * addresses, ipBlocks with their excepts, or anyone) times a set of ports (any, or
 * protocol + port range; named ports resolved to numbers on the pod that owns them: the
 * selected pod for ingress, each destination pod for egress, so an egress rule with a named
 * port splits into one rule per port number).
 *
 * Semantics (the API's documentation): a selector {} selects everything; matchLabels and
 * matchExpressions (In, NotIn, Exists, DoesNotExist) are ANDed. policyTypes, when omitted, is
 * Ingress plus Egress when the policy has egress rules. A peer with podSelector only
 * means pods of the policy's namespace; with namespaceSelector only, every pod of the selected
 * namespaces; with both, the pods selected in the selected namespaces; ipBlock alone, the
 * addresses in cidr minus except (pod addresses included). A rule without from/to allows every
 * peer, without ports every port. hostNetwork pods are never selected, as targets or peers. */
#ifndef WEFT_AGENT_POLICY_H
#define WEFT_AGENT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/cni-error.h"
#include "common/inet.h"

#define POL_PROTO_TCP  6
#define POL_PROTO_UDP  17
#define POL_PROTO_SCTP 132

struct pol_port {
	uint8_t proto;	 /* POL_PROTO_* */
	uint16_t lo, hi; /* lo == 0: every port of proto */
};

struct pol_block {
	struct inet_prefix cidr;
	struct inet_prefix *except;
	size_t n_except;
};

struct pol_rule {
	/* The version of the peers: same id, same addresses, whatever the pod compiled (entries
	 * of the same selectors share it after a change); 0 when they were made for this pod
	 * alone. Lets a renderer cache. */
	uint64_t peers_id;
	/* Which peers: a hash of the from/to list's text and, when it selects pods of the
	 * policy's own namespace, of that namespace (0 with peers_id 0). Same key, same
	 * selectors, same pods: a renderer may name a set after it. */
	uint64_t peers_key;
	uint32_t peers_slot; /* the memo entry's slot + 1 (0: none); see pol_index_slot_id */
	bool any_peer;
	struct inet_addr *ips; /* the selected pods' addresses */
	size_t n_ips;
	struct pol_block *blocks;
	size_t n_blocks;
	bool any_port;
	struct pol_port *ports;
	size_t n_ports;
};

struct pol_dir {
	bool isolated; /* selected by a policy of this type: only the rules allow */
	struct pol_rule *rules;
	size_t n;
};

struct pol_pod {
	struct inet_addr ips[2];
	size_t n_ips;
	struct pol_dir in, out;
};

/* Compiles pod ns/name against the caches (key -> object, as the informers keep them). A pod
 * that is not there is -ENOENT; a hostNetwork pod is never isolated. */
int pol_compile(const json_t *namespaces, const json_t *pods, const json_t *policies,
		const char *ns, const char *name, struct pol_pod *ret, struct cni_err *err);
void pol_pod_free(struct pol_pod *p);

/* Compiles share an index of the caches (pods and policies by namespace, namespace labels)
 * and a memo of every rule's peers (its from/to list evaluated once, until a change may have
 * altered it). The caches are borrowed: they must outlive the index, and every change to
 * them must be told to it, with the old object still alive:
 *   pol_index_pod      a pod added (old NULL), changed, or deleted (now NULL): the memo
 *                      entries whose selectors pick it (before or after) are dropped;
 *   pol_index_ns       a namespace added, changed or deleted (its labels are read again from
 *                      the namespaces cache): entries with a namespaceSelector are dropped;
 *   pol_index_policy   a policy added, changed or deleted: its entries are dropped.
 * pol_compile is one compile with an index of its own. -ENOMEM on failure. */
struct pol_index;
int pol_index_new(const json_t *namespaces, const json_t *pods, const json_t *policies,
		  struct pol_index **ret);
void pol_index_free(struct pol_index *ix); /* NULL-safe */
int pol_index_pod(struct pol_index *ix, const json_t *old, json_t *now);
int pol_index_ns(struct pol_index *ix, const char *name);
int pol_index_policy(struct pol_index *ix, const json_t *old, json_t *now);
/* What a compile depended on, to tell later whether it would come out the same: the current
 * version of memo slot (a rule's peers_slot; 0 when the slot was freed), and a counter of the
 * changes to namespace ns's policies. A pod whose resourceVersion, namespace counter and
 * every rule's slot version are unchanged compiles the same (rules with peers_slot 0 aside). */
uint64_t pol_index_slot_id(const struct pol_index *ix, uint32_t slot);
uint64_t pol_index_ns_gen(const struct pol_index *ix, const char *ns);
int pol_compile_ix(struct pol_index *ix, const char *ns, const char *name, struct pol_pod *ret,
		   struct cni_err *err);

/* Does dir allow a connection with peer (the other end's address) on proto/port? */
bool pol_dir_allows(const struct pol_dir *d, const struct inet_addr *peer, uint8_t proto,
		    uint16_t port);

/* The label selector sel (NULL: matches nothing; {}: everything) against labels. */
bool pol_selector_matches(const json_t *sel, const json_t *labels);

#endif

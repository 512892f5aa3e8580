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

/* Many compiles of one round share an index of the caches (by namespace) and the peers of
 * every rule evaluated once: build it after the caches changed, compile each pod with it. The
 * caches must outlive it, unchanged. pol_compile is one compile with its own index. */
struct pol_index;
int pol_index_new(const json_t *namespaces, const json_t *pods, const json_t *policies,
		  struct pol_index **ret);
void pol_index_free(struct pol_index *ix); /* NULL-safe */
int pol_compile_ix(struct pol_index *ix, const char *ns, const char *name, struct pol_pod *ret,
		   struct cni_err *err);

/* Does dir allow a connection with peer (the other end's address) on proto/port? */
bool pol_dir_allows(const struct pol_dir *d, const struct inet_addr *peer, uint8_t proto,
		    uint16_t port);

/* The label selector sel (NULL: matches nothing; {}: everything) against labels. */
bool pol_selector_matches(const json_t *sel, const json_t *labels);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Per-endpoint filtering in nftables: the table `inet weft-policy`, which weft-node fills with
 * the NetworkPolicy of the pods on its node (docs/design.md §7). This layer knows nothing of
 * Kubernetes: it is given the table's wanted content and makes the kernel's match it, as a
 * diff against what it applied last, in one atomic batch.
 *
 * Layout:
 *   chain forward  { type filter hook forward priority filter; policy accept;
 *                    ip saddr vmap @out4; ip6 saddr vmap @out6;
 *                    ip daddr vmap @in4;  ip6 daddr vmap @in6 }
 *   map in4/in6/out4/out6   endpoint address -> jump <its chain>
 *   chain <in chain>   ct state established,related accept; <rules> accept; counter drop
 *   chain <out chain>  ct state established,related accept; <rules> return; counter drop
 *   set <name>         a set of addresses (the peers of rules; shared by name): an interval
 *                      set, or a hash set of single addresses when "plain"
 *   map pods           pod hash (8 bytes, `mark . mark`) -> NFT_POL_POD_* bits: every pod
 *                      the agent compiled, with or without addresses (one bound to the node
 *                      and not started yet, one whose sandbox is being replaced)
 * An address in no map costs one failed lookup per direction and nothing else. An out chain
 * returns on an allowed packet, so the destination's in chain still sees it. Traffic between
 * the node and an endpoint never meets these chains (no input or output hook): a pod and the
 * node it runs on always reach each other, as the API has it.
 * Bridged traffic reaches the forward hook through br_netfilter (bridge-nf-call-iptables),
 * which the caller makes sure of.
 *
 * The wanted content, JSON:
 *   {"sets":   {NAME: {"family": 4|6, "ranges": "FIRST-LAST,ADDRESS,...", "plain": true?}},
 *    "chains": {NAME: {"dir": "in"|"out",
 *                      "rules": [{"set": NAME, "proto": P, "lo": N, "hi": N}, ...]}},
 *    "in":     {"ADDRESS": CHAIN, ...},
 *    "out":    {"ADDRESS": CHAIN, ...},
 *    "pods":   {TAG: NFT_POL_POD_IN | NFT_POL_POD_OUT, ...}   (TAG: nft_pol_pod_tag)
 *    "guard":  true}   (optional: --policy-default deny; then the sets "podnets4", "known4",
 *                     "podnets6", "known6" must be given: the forward chain starts with
 *                     ip daddr @podnets4 ip daddr != @known4 counter drop, the same for saddr
 *                     and for ip6, so an address of the node's pod networks that belongs to no
 *                     known pod is cut off until it is known; known4/known6 are hash sets of
 *                     single addresses, the others interval sets)
 * A rule without "set" matches every peer (of both families), without "proto" every protocol,
 * with "proto" but no "lo" every port of it (lo..hi: destination ports, inclusive). Ranges may
 * overlap (they are merged; a plain set's are split into single addresses, and cheapest given
 * as sorted single addresses, as the agent does). Names are 1..31 chars of [A-Za-z0-9_-]. A set
 * whose ranges change under the same name gets the difference (elements deleted and added, in
 * the same batch); its family and kind never change under a name. */
#ifndef WEFT_NFT_POLICY_H
#define WEFT_NFT_POLICY_H

#include <jansson.h>

#include "common/cni-error.h"
#include "common/inet.h"

#define NFT_POL_TABLE "weft-policy"

/* The bits of a "pods" element. GUARD: the table has the guard (the layer sets it). */
enum { NFT_POL_POD_IN = 1, NFT_POL_POD_OUT = 2, NFT_POL_POD_GUARD = 4 };

#define NFT_POL_TAG_LEN 16
/* A pod's tag: 16 hex digits of naming_pod_hash(namespace, name). Its chains are
 * "pi-<tag>" (ingress) and "po-<tag>" (egress). */
void nft_pol_pod_tag(const char *ns, const char *name, char tag[NFT_POL_TAG_LEN + 1]);

/* What one apply did. */
struct nft_pol_counts {
	unsigned sets_added, sets_changed, sets_removed, chains_added, chains_changed,
		chains_removed;
	unsigned map_changes;
	/* the difference failed (the kernel's table was not as applied last: a plugin changed an
	 * address's entries, someone edited it) and the table was replaced whole; why: the error */
	bool replaced;
	char why[160];
};

struct nft_pol; /* the content applied last */

/* Makes the table hold want. The first apply of a state (*st NULL) replaces whatever table of
 * that name is there, in the same transaction (no moment without filtering); later ones send
 * only the difference. On failure the kernel is unchanged by this call and *st is reset, so the
 * next apply starts over. Errors: CNI_ERR_NFT (kernel), CNI_ERR_INVALID_CONFIG... (7) for an
 * invalid want. */
int nft_pol_apply(struct nft_pol **st, json_t *want, struct nft_pol_counts *ret,
		  struct cni_err *err);
/* The same for a want changed in place since it was applied last (the caller keeps one table
 * and edits it): before names what changed, {SECTION: {KEY: the value before, or null when
 * there was none}} for every key of the sections above that was added, changed or removed,
 * and "guard": anything when the guard came or went (then the table is built again). Only
 * those keys are compared. When *st applied another object (or none), a whole apply. */
int nft_pol_apply_touched(struct nft_pol **st, json_t *want, const json_t *before,
			  struct nft_pol_counts *ret, struct cni_err *err);
void nft_pol_free(struct nft_pol *st); /* NULL-safe */
/* The plugins' side, at the end of a pod's ADD (docs/design.md §7): when the table exists,
 * makes the dispatch maps and the guard's known set right for the pod's addresses, whether
 * weft-node runs or not. A pod the agent compiled (ns/name in "pods": it was bound to this node,
 * or it is the same pod again) gets its addresses pointed at its chains, and into known4/6
 * under the guard: it starts with the last policy compiled for it. Any other pod gets whatever
 * an earlier holder of its addresses left removed. Nothing is committed when all is right
 * already, and nothing is read beyond one lookup when there is no table. ns or name NULL: the
 * runtime did not say (K8S_POD_NAMESPACE / K8S_POD_NAME). Errors: CNI_ERR_NFT. */
int nft_pol_attach(const char *ns, const char *name, const struct inet_addr *addrs, size_t n,
		   struct cni_err *err);

/* Deletes the table, when there is one. */
int nft_pol_remove(struct cni_err *err);

#endif

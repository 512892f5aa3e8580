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
 *   set <name>         an interval set of addresses (the peers of rules; shared by name)
 * An address in no map costs one failed lookup per direction and nothing else. An out chain
 * returns on an allowed packet, so the destination's in chain still sees it. Traffic between
 * the node and an endpoint never meets these chains (no input or output hook): a pod and the
 * node it runs on always reach each other, as the API has it.
 * Bridged traffic reaches the forward hook through br_netfilter (bridge-nf-call-iptables),
 * which the caller makes sure of.
 *
 * The wanted content, JSON:
 *   {"sets":   {NAME: {"family": 4|6, "ranges": "FIRST-LAST,ADDRESS,..."}},
 *    "chains": {NAME: {"dir": "in"|"out",
 *                      "rules": [{"set": NAME, "proto": P, "lo": N, "hi": N}, ...]}},
 *    "in":     {"ADDRESS": CHAIN, ...},
 *    "out":    {"ADDRESS": CHAIN, ...},
 *    "guard":  true}   (optional: --policy-default deny; then the sets "podnets4", "known4",
 *                     "podnets6", "known6" must be given: the forward chain starts with
 *                     ip daddr @podnets4 ip daddr != @known4 counter drop, the same for saddr
 *                     and for ip6, so an address of the node's pod networks that belongs to no
 *                     known pod is cut off until it is known)
 * A rule without "set" matches every peer (of both families), without "proto" every protocol,
 * with "proto" but no "lo" every port of it (lo..hi: destination ports, inclusive). Ranges may
 * overlap (they are merged). Names are 1..31 chars of [A-Za-z0-9_-]. A set whose ranges change
 * under the same name gets the difference (elements deleted and added, in the same batch). */
#ifndef WEFT_NFT_POLICY_H
#define WEFT_NFT_POLICY_H

#include <jansson.h>

#include "common/cni-error.h"

#define NFT_POL_TABLE "weft-policy"

/* What one apply did. */
struct nft_pol_counts {
	unsigned sets_added, sets_changed, sets_removed, chains_added, chains_changed,
		chains_removed;
	unsigned map_changes;
};

struct nft_pol; /* the content applied last */

/* Makes the table hold want. The first apply of a state (*st NULL) replaces whatever table of
 * that name is there, in the same transaction (no moment without filtering); later ones send
 * only the difference. On failure the kernel is unchanged by this call and *st is reset, so the
 * next apply starts over. Errors: CNI_ERR_NFT (kernel), CNI_ERR_INVALID_CONFIG... (7) for an
 * invalid want. */
int nft_pol_apply(struct nft_pol **st, json_t *want, struct nft_pol_counts *ret,
		  struct cni_err *err);
void nft_pol_free(struct nft_pol *st); /* NULL-safe */
/* Deletes the table, when there is one. */
int nft_pol_remove(struct cni_err *err);

#endif

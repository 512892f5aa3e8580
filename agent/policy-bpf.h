/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy for ebpf pods: a compiled struct pol_pod (agent/policy.h) written into the maps
 * the ebpf plugin's tc programs read (bpf/include/cni-bpf.h; design: docs/design.md §7, "eBPF
 * enforcement"). The programs deliver pod to pod with bpf_redirect_peer, past the host's
 * netfilter, so they enforce the policy themselves.
 *
 * Per pod (its policy id, which weft-node gives it and keeps in the network's polpods map under
 * naming_pod_hash(namespace, name)) and direction: peer prefixes -> mask of the rules whose peers
 * contain them, and (protocol, port block) -> mask of the rules whose ports contain them, both
 * LPM tries; a rule in both masks allows. Each direction has two generations of entries; an
 * update writes the idle one, then the pod's polpods entry (id, isolated, generation), then
 * flips the same bits in every endpoint and links entry of the pod, then removes the old
 * generation: a packet always sees one whole policy, the old or the new. The entries belong to
 * the pod, not to a sandbox: the plugin's ADD of a new sandbox copies the polpods bits into its
 * entries (the pod starts with the policy last compiled for it, agent running or not), its DEL
 * leaves them; weft-node removes them when the pod is gone. */
#ifndef WEFT_AGENT_POLICY_BPF_H
#define WEFT_AGENT_POLICY_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/policy.h"
#include "bpf/include/cni-bpf.h"
#include "common/cni-error.h"
#include "common/inet.h"

/* The pin directory of an ebpf network ("<pinRoot>/<network>"; pin_root NULL or "" is the
 * plugin's default, /sys/fs/bpf/weft/<this netns's inode>): the "pinRoot" and "name" of its
 * conflist. -ENOENT (code 103) when nothing is pinned there. */
int polbpf_net_dir(const char *pin_root, const char *network, char *buf, size_t len,
		   struct cni_err *err);
/* 1 when one of the addresses is in the network's endpoint map (an ebpf pod of it), else 0. */
int polbpf_has(const char *pin_dir, const struct inet_addr *ips, size_t n, struct cni_err *err);

/* Makes the network's datapath enforce p for the pod of key (naming_pod_hash): its entries, its
 * polpods entry (written even when p isolates nothing: the pod is known), and the bits of its
 * endpoint and links entries (those carrying its id and those of p's addresses; a pod with no
 * sandbox yet has none). -E2BIG when a direction has more than WEFT_POL_RULES_MAX rules (the old
 * policy stays). */
int polbpf_apply(const char *pin_dir, uint64_t key, const struct pol_pod *p, struct cni_err *err);
/* The pod is gone, or not of this network: its bits cleared, its entries and polpods entry
 * removed. Nothing there is success. Tracked flows stay until they idle out. */
int polbpf_forget(const char *pin_dir, uint64_t key, struct cni_err *err);
/* --policy-default deny: a sandbox of a pod with no polpods entry starts isolated both ways
 * (the polpods entry WEFT_POLPOD_DEFAULTS). */
int polbpf_defaults(const char *pin_dir, bool deny, struct cni_err *err);
/* Forgets the pods whose keys are not in keep (gone while weft-node was away) and removes the
 * entries of ids no polpods entry has; returns how many pods and entries went. */
int polbpf_gc(const char *pin_dir, const uint64_t *keep, size_t n_keep, struct cni_err *err);

/* ---- pure parts (tests/unit/test-policy-bpf.c) ---- */
/* One LPM entry of a direction: prefix (host bits zero; family 0 and len 0: any peer) and the
 * rules that allow every address whose longest matching entry it is. */
struct polbpf_entry {
	struct inet_prefix pfx;
	uint64_t mask;
};
/* The entries of d (malloc'd array of *ret_n): every pod address, ipBlock and except of its
 * rules, the any-peer entry when a rule allows any peer, 0.0.0.0/0 when an IPv6 prefix would
 * otherwise be the longest match of IPv4 addresses (they live in ::ffff:0:0/96). -E2BIG when
 * d has more than WEFT_POL_RULES_MAX rules. */
int polbpf_masks(const struct pol_dir *d, struct polbpf_entry **ret, size_t *ret_n,
		 struct cni_err *err);
/* The LPM key of an entry of policy id pol in slot. */
void polbpf_key(uint32_t pol, uint32_t slot, const struct inet_prefix *pfx,
		struct weft_pol_key *ret);

/* One entry of the ports trie: every protocol and port (any), or the ports port ..
 * port + 2^(16 - len) - 1 of proto (len 0: all of them), and the rules allowing all of those. */
struct polbpf_port {
	bool any;
	uint8_t proto;
	uint16_t port;
	uint8_t len;
	uint64_t mask;
};
/* The port entries of d (malloc'd array of *ret_n): each port range of its rules split into
 * aligned blocks, and the any entry when a rule allows every port. -E2BIG as polbpf_masks. */
int polbpf_ports(const struct pol_dir *d, struct polbpf_port **ret, size_t *ret_n,
		 struct cni_err *err);
void polbpf_port_key(uint32_t pol, uint32_t slot, const struct polbpf_port *e,
		     struct weft_pol_port_key *ret);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy for ebpf pods: a compiled struct pol_pod (agent/policy.h) written into the maps
 * the ebpf plugin's tc programs read (bpf/include/cni-bpf.h; design: docs/design.md §7, "eBPF
 * enforcement"). The programs deliver pod to pod with bpf_redirect_peer, past the host's
 * netfilter, so they enforce the policy themselves.
 *
 * Per pod (its host veth ifindex, found from its addresses in the endpoint map) and direction:
 * peer prefixes -> mask of the rules whose peers contain them, and (protocol, port block) ->
 * mask of the rules whose ports contain them, both LPM tries; a rule in both masks allows. Each
 * direction has two generations of entries; an update writes the idle one, then flips the pod's
 * flags (isolated, generation) in its endpoint and links entries, then removes the old one: a
 * packet always sees one whole policy, the old or the new. */
#ifndef WEFT_AGENT_POLICY_BPF_H
#define WEFT_AGENT_POLICY_BPF_H

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

/* Makes the datapath enforce p for the pod with addresses pod_ips (the addresses of its ebpf
 * attachment; any one found suffices). A direction p does not isolate loses its flag and its
 * entries. -ENOENT (code 100) when no address is in the network's endpoint map (not an ebpf
 * pod of this network, or its ADD has not run yet); -E2BIG when a direction has more than
 * WEFT_POL_RULES_MAX rules (the old policy stays). */
int polbpf_apply(const char *pin_dir, const struct inet_addr *pod_ips, size_t n_ips,
		 const struct pol_pod *p, struct cni_err *err);
/* The pod is selected by no policy any more: flags cleared, entries removed (polbpf_apply with
 * an unisolated pod). A pod that is gone from the endpoint map is success: the plugin's DEL
 * removed its entries. Tracked flows stay until they idle out. */
int polbpf_forget(const char *pin_dir, const struct inet_addr *pod_ips, size_t n_ips,
		  struct cni_err *err);
/* Removes the policy entries of pods whose host veth is no longer in the links map (an
 * agent that missed a DEL); returns how many went. */
int polbpf_gc(const char *pin_dir, struct cni_err *err);

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
/* The LPM key of an entry of pod ifindex in slot. */
void polbpf_key(uint32_t ifindex, uint32_t slot, const struct inet_prefix *pfx,
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
void polbpf_port_key(uint32_t ifindex, uint32_t slot, const struct polbpf_port *e,
		     struct weft_pol_port_key *ret);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* polsync's side for ebpf pods (agent/polsync.h): a pod of the node whose address is in an
 * ebpf network's endpoint map has its compiled policy written into that network's maps
 * (agent/policy-bpf.h) instead of the nftables table, and only when it changed (a digest of the
 * compiled pod, addresses included). A pod with no address yet (bound to the node, not
 * started) is written into every ebpf network, so that its sandbox starts with it wherever it
 * lands. What each pod is, is remembered: {"dirs": [pin dirs it is written in], "digest",
 * "ebpf": whether it is an ebpf pod}; a pod of no ebpf network is asked again when it changes. */
#ifndef WEFT_AGENT_POLSYNC_BPF_H
#define WEFT_AGENT_POLSYNC_BPF_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "agent/policy.h"

struct polsync_bpf {
	json_t *nets;		  /* [{"network", "pinRoot"}] (agent/nets.h nets_ebpf) */
	json_t *pods;		  /* pod key -> what it is (above) */
	json_t *seen;		  /* the keys of this round */
	bool gc_done;		  /* after the first round: pods gone while the agent was away */
	bool deny, deny_done;	  /* --policy-default, and whether every network has it */
	unsigned errors, applied; /* of this round */
};

void polsync_bpf_init(struct polsync_bpf *b);
void polsync_bpf_fini(struct polsync_bpf *b);
/* New networks (takes the reference); every pod is asked again. */
void polsync_bpf_nets(struct polsync_bpf *b, json_t *nets);
/* --policy-default deny: written into every network's maps (polbpf_defaults) next round. */
void polsync_bpf_default(struct polsync_bpf *b, bool deny);
/* The pod changed: a pod written in no ebpf network is asked again. */
void polsync_bpf_pod_changed(struct polsync_bpf *b, const char *key);
void polsync_bpf_begin(struct polsync_bpf *b);
/* 1: an ebpf pod (enforced by its network's maps), 0: not one (or no address yet), -1: an ebpf
 * pod whose maps could not be written (logged; asked again next round). key: "namespace/name". */
int polsync_bpf_route(struct polsync_bpf *b, const char *key, const struct pol_pod *p);
/* The pod is still there, its policy unchanged (not routed again this round). */
void polsync_bpf_seen(struct polsync_bpf *b, const char *key);
/* The pods the round did not see (gone from the node) are removed from the maps; after the
 * first round, so are those of pods that went while the agent was away. */
void polsync_bpf_end(struct polsync_bpf *b);
/* weft-node --cleanup: every pod's policy and the defaults out of the maps of the ebpf networks
 * nets (takes the reference). Returns how many networks failed (logged). */
int polsync_bpf_remove(json_t *nets);
/* naming_pod_hash of a "namespace/name" key. */
uint64_t polsync_bpf_key(const char *key);

#endif

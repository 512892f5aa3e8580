/* SPDX-License-Identifier: Apache-2.0 */
/* polsync's side for ebpf pods (agent/polsync.h): a pod of the node whose address is in an
 * ebpf network's endpoint map has its compiled policy written into that network's maps
 * (agent/policy-bpf.h) instead of the nftables table, and only when it changed (a digest of the
 * compiled pod). What each pod is, is remembered: {"dir": the network's pin dir, "digest": ...}
 * for an ebpf pod, {"dir": ""} for a pod of no ebpf network (asked again when the pod changes). */
#ifndef WEFT_AGENT_POLSYNC_BPF_H
#define WEFT_AGENT_POLSYNC_BPF_H

#include <stdbool.h>

#include <jansson.h>

#include "agent/policy.h"

struct polsync_bpf {
	json_t *nets; /* [{"network", "pinRoot"}] (agent/nets.h nets_ebpf) */
	json_t *pods; /* pod key -> what it is (above) */
	json_t *seen; /* the keys of this round */
	bool gc_done;
	unsigned errors, applied; /* of this round */
};

void polsync_bpf_init(struct polsync_bpf *b);
void polsync_bpf_fini(struct polsync_bpf *b);
/* New networks (takes the reference); every pod is asked again. */
void polsync_bpf_nets(struct polsync_bpf *b, json_t *nets);
/* The pod changed: a pod of no ebpf network is asked again. */
void polsync_bpf_pod_changed(struct polsync_bpf *b, const char *key);
void polsync_bpf_begin(struct polsync_bpf *b);
/* 1: an ebpf pod (enforced by its network's maps), 0: not one, -1: an ebpf pod whose maps could
 * not be written (logged; asked again next round). */
int polsync_bpf_route(struct polsync_bpf *b, const char *key, const struct pol_pod *p);
/* The pod is still there, its policy unchanged (not routed again this round). */
void polsync_bpf_seen(struct polsync_bpf *b, const char *key);
/* Forgets the pods the round did not see (gone from the node: their DEL cleaned the maps). */
void polsync_bpf_end(struct polsync_bpf *b);

#endif

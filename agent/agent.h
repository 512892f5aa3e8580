/* SPDX-License-Identifier: Apache-2.0 */
/* weft-node's main loop: one curl multi, the Node informer, a signalfd and an inotify watch of
 * the CNI conf dir in one poll. Changes are coalesced (COALESCE_MS after the first of a burst),
 * then the peer set is derived (agent/peerset.h) and every network reconciled
 * (agent/nets.h). Idle, the process sleeps in poll: the watch's socket is its only wake-up. */
#ifndef WEFT_AGENT_AGENT_H
#define WEFT_AGENT_AGENT_H

#include <stdbool.h>

#define AGENT_COALESCE_MS      100
#define AGENT_DEFAULT_CONF_DIR "/etc/cni/net.d"
#define AGENT_DEFAULT_METRICS  "127.0.0.1:9870"
#define AGENT_NODES_PATH       "/api/v1/nodes"
#define AGENT_NAMESPACES_PATH  "/api/v1/namespaces"
#define AGENT_PODS_PATH	       "/api/v1/pods"
#define AGENT_POLICIES_PATH    "/apis/networking.k8s.io/v1/networkpolicies"
/* NetworkPolicy changes are coalesced for less: enforcement latency is a target (200 ms). */
#define AGENT_POLICY_COALESCE_MS 20
/* Freed memory goes back to the kernel at once after a round of this many table changes or
 * more (and the first), else this long after (at most once per as long). */
#define AGENT_TRIM_CHANGES 256
#define AGENT_TRIM_DELAY_S 0.5
/* A Node round parses the Nodes that changed, up to this many; more, and it parses them all. */
#define AGENT_PATCH_MAX 64

struct agent_opts {
	const char *kubeconfig; /* NULL: in-cluster */
	const char *node_name;
	const char *conf_dir;
	const char *metrics_addr;
	bool network_policy; /* enforce NetworkPolicy (--network-policy on, the default) */
	bool policy_deny;    /* --policy-default deny */
};

/* Runs until SIGTERM/SIGINT (which leave every node-level entry in place). Exit status. */
int agent_run(const struct agent_opts *o);
/* --cleanup: removes the node-level state of every managed network. Exit status. */
int agent_cleanup(const struct agent_opts *o);

#endif

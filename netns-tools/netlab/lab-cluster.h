/* SPDX-License-Identifier: Apache-2.0 */
/* netlab's cluster scenario (lab-cluster*.c): N node namespaces on the multi-node scenarios'
 * underlay (lab-multinode.h), the Kubernetes API test double (tests/kubeapi/kubeapi.py) in the
 * switch's netns, one weft-node per node watching it, M pods per node added through the
 * runtime side. verify changes the cluster through the API only (add, delete, a new
 * InternalIP, an API restart, an expired watch, add/delete rounds), checks every pod still
 * reaches every other one with no pod ADD on the nodes that were there, and measures how long
 * each change takes to reach every other node's routes / FDB (netlink notifications).
 *
 * Sizes and options come from the environment, as the multi-node scenarios' do: NETLAB_NODES
 * (1..32, default 8), NETLAB_PODS (1..4, default 1), NETLAB_PLUGIN (host-gw, vxlan),
 * NETLAB_ROUNDS (1..50, default 5), NETLAB_KUBEAPI (lab-kube.h). The live cluster is kept in
 * <lab dir>/cluster.json for verify, show and run. */
#ifndef WEFT_LAB_CLUSTER_H
#define WEFT_LAB_CLUSTER_H

#include <stdint.h>

#include "netns-tools/netlab/lab-kube.h"
#include "netns-tools/netlab/lab-multinode.h"

#define CL_MAX_NODES	  32
#define CL_SLOTS	  48 /* nodes ever made: the N of up and those verify adds */
#define CL_MAX_PODS	  4
#define CL_DEFAULT_NODES  8
#define CL_DEFAULT_PODS	  1
#define CL_DEFAULT_ROUNDS 5
#define CL_MAX_ROUNDS	  50
#define CL_SAMPLES	  (CL_SLOTS * (CL_MAX_ROUNDS + 4))
#define CL_WAIT_MS	  10000

extern const struct scenario lab_cluster;

struct cl_node {
	int i;	     /* node-<i>, netns <id>-n<i>, underlay MN_UNDERLAY_NET.<i>, 10.244.<i>.0/24 */
	bool live;   /* its Node object is in the API */
	char ip[24]; /* its InternalIP in the API */
	char ns[96];
	char pod[CL_MAX_PODS][96];
	char pod_ip[CL_MAX_PODS][48];
};

struct cl_samples {
	double v[CL_SAMPLES]; /* ms */
	size_t n;
};

struct cl {
	const char *plugin;
	int pods, n; /* n: slots in node[] */
	char sw[96], cache[PATH_MAX];
	struct cl_node node[CL_SLOTS];
	struct cl_samples add, del; /* convergence of verify's adds and deletes */
};

/* ---- lab-cluster.c: the lab -------------------------------------------------------------- */
int cl_save(const struct lab *lab, const struct cl *c);
/* Makes node i in the next slot: netns, underlay port, files, its agent (not its pods). */
int cl_node_add(struct lab *lab, struct cl *c, int i);
/* The recorded process of node n's agent (the last started), or NULL. */
const json_t *cl_agent_res(const struct lab *lab, const struct cl_node *n);
/* SIGTERM to it; true once it is gone (5 s at most). */
bool cl_agent_stop(const struct lab *lab, const struct cl_node *n);
/* Adds node n's pods through the runtime side (after its agent wrote its peersFile). */
int cl_node_pods(struct lab *lab, struct cl *c, struct cl_node *n);
/* Waits until node n's agent wrote a peersFile naming want peers (-1: any). */
bool cl_peers_wait(const struct lab *lab, const struct cl_node *n, int want, int timeout_ms);
int cl_live(const struct cl *c);

/* ---- lab-cluster-watch.c: convergence through netlink ---------------------------------- */
struct cl_expect {
	int type;     /* RTM_NEWROUTE, RTM_DELROUTE or RTM_NEWNEIGH (an FDB entry) */
	uint32_t dst; /* route: the /24 (network order); FDB: the remote VTEP's IP */
	uint32_t gw;  /* RTM_NEWROUTE: this gateway too (0: any) */
};
struct cl_watch {
	int n;
	int fd[CL_SLOTS];
	const struct cl_node *node[CL_SLOTS];
	double ms[CL_SLOTS]; /* from the change to the event; < 0: not seen */
};
/* One netlink socket (routes, neighbours) in every live node's netns but except's. */
int cl_watch_open(const struct cl *c, const struct cl_node *except, struct cl_watch *w);
/* Waits until every node saw e (or timeout_ms from t0, a cl_now_ms()). Returns how many did. */
int cl_watch_wait(struct cl_watch *w, const struct cl_expect *e, double t0, int timeout_ms);
void cl_watch_close(struct cl_watch *w);
double cl_now_ms(void);
/* Appends the watch's delays to s; returns the largest (-1 when one is missing). */
double cl_samples_add(struct cl_samples *s, const struct cl_watch *w);
/* The nearest-rank percentile p (0..100) of s, -1 when empty. */
double cl_percentile(const struct cl_samples *s, double p);

/* ---- lab-cluster-steps.c: verify ------------------------------------------------------- */
void cl_verify_steps(struct lab *lab, struct cl *c, int rounds);

#endif

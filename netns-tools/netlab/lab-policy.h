/* SPDX-License-Identifier: Apache-2.0 */
/* netlab's policy scenario (lab-policy*.c): the NetworkPolicy truth table. The standard cluster
 * of tests/policy (namespaces x, y, z, pods a, b, c in each) as pod namespaces added with a weft
 * plugin (bridge, ebpf: one node; vxlan: two, pods placed as cluster.json says), a server in
 * every pod and node (TCP, UDP echo, SCTP), the Kubernetes API test double (lab-kube.h) with
 * the Namespaces, Nodes and Pods, and weft-node --network-policy on per node. verify runs each
 * case of tests/policy/cases: applies its policies and steps through the API, waits until every
 * agent's weft_node_policy_resource_version reached the change, probes every endpoint pair on
 * every port at once and compares the matrix with tests/policy/model.py's (`model.py diff`).
 *
 * Options come from the environment: NETLAB_PLUGIN (bridge, vxlan, ebpf; default bridge),
 * NETLAB_CASES (case names, comma-separated; default all), NETLAB_CASES_DIR (default the model's
 * cases/), NETLAB_POLICY_MODEL (default <netlab's dir>/../../tests/policy/model.py),
 * NETLAB_PROBE_MS (a probe's timeout, default 1000). up keeps what verify needs in <lab
 * dir>/policy.json and the model's cluster (real addresses) in <lab dir>/cluster.json. */
#ifndef WEFT_LAB_POLICY_H
#define WEFT_LAB_POLICY_H

#include "netns-tools/netlab/lab-kube.h"

#define PL_MAX_NODES   2
#define PL_PODS	       9
#define PL_MAX_CASES   256
#define PL_PROBE_MS    1000
#define PL_WAIT_MS     10000
#define PL_SERVE_PORTS "53/TCP,80/TCP,81/TCP,53/UDP,80/UDP,81/UDP"
#define PL_PORT_BASE   10000
#define PL_PORT_SPAN   50000

extern const struct scenario lab_policy;

struct pl_node {
	char name[16]; /* "n1": the model's node */
	char api[16];  /* "node-1": the Node object, --node-name, the plugin's nodeName */
	char ns[96], dir[PATH_MAX], ip[48];
};

/* An endpoint of the matrix: "x/a", "node:n1", or a hostNetwork pod of a case. */
struct pl_end {
	char key[64];
	const char *netns;
	char ip[48];
	unsigned *seq; /* the next source port of its netns (see pl_probe) */
};

struct pl {
	const char *plugin;
	int nodes;
	bool sctp;	/* the kernel has SCTP: 80/SCTP is probed and served */
	bool enforcing; /* weft-node takes --network-policy (else no wait for its metric) */
	int probe_ms;
	char sw[96], cache[PATH_MAX], model[PATH_MAX], cases_dir[PATH_MAX];
	struct pl_node node[PL_MAX_NODES];
	char pod_ns[PL_PODS][96];
	unsigned seq[PL_PODS + PL_MAX_NODES]; /* source ports used, per pod and node netns */
	json_t *cluster; /* the model's cluster.json with the lab's addresses */
	json_t *cases;	 /* the names verify runs */
};

/* ---- lab-policy.c: the lab --------------------------------------------------------------- */
/* Reads <lab dir>/policy.json and cluster.json into p (names, addresses, cases). */
int pl_load(const struct lab *lab, struct pl *p);
void pl_free(struct pl *p);
/* The pod's netns key ("x/a") -> index into pod_ns and the cluster's pods, -1 when none. */
int pl_pod_index(const struct pl *p, const char *key);
const struct pl_node *pl_node_by_name(const struct pl *p, const char *name);

/* ---- lab-policy-serve.c: the servers ----------------------------------------------------- */
/* `netlab __policy serve READY PORT/PROTO...`: listens on each (TCP and SCTP accept and close,
 * UDP echoes), touches READY once all listen, serves until killed. */
int pl_helper(int argc, char **argv);
/* Can this kernel make an SCTP socket? */
bool pl_sctp_supported(void);

/* ---- lab-policy-probe.c: one matrix ------------------------------------------------------- */
/* Probes every entry of want ("weft-policy-matrix/1") at once, from ends[] to ends[], and
 * returns the observed matrix (new reference; "allowed" true when connected, echoed or refused
 * within timeout_ms), NULL on a setup failure (err says why). Each probe's source port is the
 * next of its source's *seq (PL_PORT_BASE + seq % PL_PORT_SPAN): a 5-tuple comes back only after
 * thousands of steps, never while the node's conntrack still holds an earlier flow of it (an
 * allowed UDP flow would let a later, denied probe through as "established"). */
json_t *pl_probe(const json_t *want, const struct pl_end *ends, size_t n_ends, int timeout_ms,
		 struct cni_err *err);
/* Prints the matrix as a table (rows sources, columns destinations, one character per port:
 * '.' allowed, 'X' denied, '?' unknown), as model.py renders it. */
void pl_table(const json_t *matrix, FILE *out);

/* ---- lab-policy-case.c: verify ----------------------------------------------------------- */
/* The API objects of the cluster (Namespaces, Nodes, Pods); their resourceVersion in *rv. */
int pl_post_cluster(const struct lab *lab, const struct pl *p, long *rv);
/* Waits until every node's agent reflects rv (weft_node_policy_resource_version >= rv). */
bool pl_wait_agents(const struct pl *p, long rv, int timeout_ms);
void pl_verify_cases(struct lab *lab, struct pl *p);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* netlab's multi-node scenarios, host-gw and vxlan (lab-multinode.c, lab-mn-verify.c):
 * N "nodes" (netns) on a shared "switch" netns (a bridge), M pods per node wired by the weft
 * plugin through the runtime side, the peers given as a Kubernetes NodeList file.
 * N and M come from NETLAB_NODES (default 3, 1..16) and NETLAB_PODS (default 2, 1..16), and
 * are kept in the lab's state dir for verify/show/down. */
#ifndef WEFT_LAB_MULTINODE_H
#define WEFT_LAB_MULTINODE_H

#include "netns-tools/netlab/lab.h"

#define MN_MAX_NODES	 16
#define MN_MAX_PODS	 16
#define MN_DEFAULT_NODES 3
#define MN_DEFAULT_PODS	 2
#define MN_UNDERLAY_NET	 "192.168.100"
#define MN_CLUSTER_CIDR	 "10.244.0.0/16"
#define MESH_MAX	 256 /* pods in one mesh */

extern const struct scenario lab_hostgw, lab_vxlan;

struct mn_lab {
	const char *plugin; /* "host-gw" or "vxlan" */
	int nodes, pods;
	char sw[96];
	char node[MN_MAX_NODES][96];
	char pod[MN_MAX_NODES][MN_MAX_PODS][96];
	char pod_ip[MN_MAX_NODES][MN_MAX_PODS][48]; /* from the result cache; "" = none */
	char conflist[MN_MAX_NODES][PATH_MAX];
	char cache[PATH_MAX];
};

/* Building blocks, shared with the cluster scenario (lab-cluster.c). Node i (1-based) has
 * underlay MN_UNDERLAY_NET.i/24 on "ul0" (its peer "n<i>" a port of the switch's bridge "sw0")
 * and pod CIDR 10.244.i.0/24. */
int lab_mn_switch(struct lab *lab, const char *sw);
int lab_mn_node(struct lab *lab, const char *sw, const char *node, int i);
struct mn_conf {
	const char *path, *plugin;
	int node; /* node-<node>, subnet 10.244.<node>.0/24 */
	const char *peers, *state_dir, *ipam_dir;
	const char *pin_root; /* ebpf: its pinRoot (on a bpffs the lab mounted) */
};
int lab_mn_conflist(const struct lab *lab, const struct mn_conf *c);
/* Makes netns pod (recorded), records the CNI attachment, then ADDs it through the runtime side
 * inside netns node with conflist (CNI_ARGS cni_args, may be NULL). */
int lab_mn_pod_add(struct lab *lab, const char *node, const char *pod, const char *conflist,
		   const char *cache, const char *cni_args);
/* The pod's first address (without the prefix length) from the result cache; "" when none. */
const char *lab_mn_pod_ip(const struct lab *lab, const char *cache, const char *pod, char *buf,
			  size_t len);

/* A set of pods for the mesh: pods per node, nodes * pods entries, k = node * pods + pod. */
struct mn_mesh {
	int nodes, pods;
	const char *node[MESH_MAX]; /* a label per node ("node-3") */
	const char *host[MESH_MAX]; /* its netns */
	const char *pod[MESH_MAX];  /* netns names */
	const char *ip[MESH_MAX];   /* "" = none */
};

/* verify (lab-mn-verify.c): every pod pings every other pod (one check per node); one iperf3
 * stream across nodes. Returns the number of unanswered pings. */
int lab_mesh_verify(struct lab *lab, const struct mn_mesh *mesh);
void lab_mn_verify_mesh(struct lab *lab, const struct mn_lab *m);
void lab_mn_verify_iperf(struct lab *lab, const struct mn_lab *m);

#endif

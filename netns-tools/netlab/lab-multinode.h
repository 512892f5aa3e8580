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

/* verify (lab-mn-verify.c): every pod pings every other pod; one iperf3 stream across nodes. */
void lab_mn_verify_mesh(struct lab *lab, const struct mn_lab *m);
void lab_mn_verify_iperf(struct lab *lab, const struct mn_lab *m);

#endif

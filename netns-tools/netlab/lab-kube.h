/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes pieces of netlab's scenarios with weft-node (cluster, policy): the API test double
 * (tests/kubeapi/kubeapi.py) run by netlab in the switch's netns, its admin calls, and a
 * weft-node per node namespace (lab-kube.c).
 *
 * The test double: NETLAB_KUBEAPI, else <netlab's dir>/../../tests/kubeapi/kubeapi.py (build/bin
 * of a checkout); TLS on KUBE_API_ADDR:KUBE_API_PORT (the switch's bridge), its plain-HTTP admin
 * interface on the loopback of the switch's netns. A node's agent lives in a directory of its
 * own, DIR: DIR/kubeconfig, DIR/net.d (its --cni-conf-dir), DIR/agent.log, DIR/peers.json (the
 * peersFile the conflists name), and serves /metrics on 127.0.0.1:KUBE_METRICS_PORT of its
 * node's netns. */
#ifndef WEFT_LAB_KUBE_H
#define WEFT_LAB_KUBE_H

#include "netns-tools/netlab/lab-multinode.h"

#define KUBE_API_ADDR	  MN_UNDERLAY_NET ".254"
#define KUBE_API_PORT	  6443
#define KUBE_ADMIN_PORT	  8081 /* loopback of the switch's netns */
#define KUBE_METRICS_PORT 9870 /* loopback of each node's netns */

/* Starts the test double in netns sw (bridge "sw0": KUBE_API_ADDR is added to it). */
int kube_api_start(struct lab *lab, const char *sw);
int kube_kubeconfig(const struct lab *lab, const char *path);
/* One HTTP/1.1 call (Connection: close) to 127.0.0.1:port inside netns: the HTTP status,
 * -errno when it could not be made. out (may be NULL) receives the body (malloc'd). */
int kube_http(const char *netns, int port, const char *method, const char *path, const char *body,
	      char **out);
/* kube_http to the test double's admin interface. */
int kube_admin(const struct lab *lab, const char *method, const char *path, const char *body,
	       char **out);
/* The same in two halves: send (returns the connected fd), then read the answer. */
int kube_admin_send(const struct lab *lab, const char *method, const char *path, const char *body);
int kube_admin_recv(int fd, char **out);
/* A Node object: name, podCIDR 10.244.<cidr>.0/24, InternalIP ip (new reference). */
json_t *kube_node_json(const char *name, int cidr, const char *ip);
int kube_node_post(const struct lab *lab, const char *name, int cidr, const char *ip);
int kube_node_delete(const struct lab *lab, const char *name);
/* A counter of the test double's /stats ("lists", "watches"), -1 when unreadable. */
long kube_api_stat(const struct lab *lab, const char *key);

/* weft-node --kubeconfig DIR/kubeconfig --node-name name --cni-conf-dir DIR/net.d inside netns
 * (a recorded process, log DIR/agent.log), with --network-policy on when policy. */
int kube_agent_spawn(struct lab *lab, const char *netns, const char *dir, const char *name,
		     bool policy);
/* The end of DIR/agent.log and the age of DIR/peers.json, to stderr. */
void kube_agent_log_tail(const char *dir);
/* Waits until the agent of DIR wrote a peersFile naming want peers (-1: any) and self. */
bool kube_peers_wait(const char *dir, const char *self, int want, int timeout_ms);

#endif

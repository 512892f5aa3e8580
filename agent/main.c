/* SPDX-License-Identifier: Apache-2.0 */
/* weft-node: keeps weft's multi-node networks on this node current from the Kubernetes API. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "common/log.h"
#include "plugins/lib/peers.h"
#include "common/version.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: weft-node [options]\n"
		"Keeps weft's multi-node networks (host-gw, vxlan, ebpf with a peersFile) on this\n"
		"node current from the Kubernetes API: watches Nodes, writes each network's\n"
		"peersFile and applies routes, neighbours and FDB entries at once.\n\n"
		"  --kubeconfig FILE      the API server and credentials (default: in-cluster)\n"
		"  --node-name NAME       this node (default: $NODE_NAME, else the host name)\n"
		"  --cni-conf-dir DIR     the CNI conf dir (default %s)\n"
		"  --metrics-addr A:P     /healthz and /metrics (default %s)\n"
		"  --network-policy on|off  enforce Kubernetes NetworkPolicy on this node's pods\n"
		"                         (default on; needs list/watch of pods, namespaces and\n"
		"                         networkpolicies)\n"
		"  --policy-default allow|deny  pods of this node's pod CIDR the agent has not "
		"seen\n"
		"                         yet (added while it was away): reachable (allow, the\n"
		"                         default) or cut off until it has (deny)\n"
		"  --cleanup              remove the node-level state weft-node made, and exit\n"
		"  --version              print the version\n"
		"  --help                 this text\n"
		"Logs go to stderr (WEFT_LOG_LEVEL=error|warn|info|debug, default info).\n",
		AGENT_DEFAULT_CONF_DIR, AGENT_DEFAULT_METRICS);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"kubeconfig", required_argument, NULL, 'k'},
					     {"node-name", required_argument, NULL, 'n'},
					     {"cni-conf-dir", required_argument, NULL, 'c'},
					     {"metrics-addr", required_argument, NULL, 'm'},
					     {"network-policy", required_argument, NULL, 'P'},
					     {"policy-default", required_argument, NULL, 'D'},
					     {"cleanup", no_argument, NULL, 'C'},
					     {"version", no_argument, NULL, 'V'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct agent_opts o = {.conf_dir = AGENT_DEFAULT_CONF_DIR,
			       .metrics_addr = AGENT_DEFAULT_METRICS,
			       .node_name = getenv("NODE_NAME"),
			       .network_policy = true};
	static char host[PEER_NAME_MAX + 1];
	bool cleanup = false;
	int c;

	setenv("WEFT_LOG_LEVEL", "info", 0);
	log_init("weft-node");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o.kubeconfig = optarg;
			break;
		case 'n':
			o.node_name = optarg;
			break;
		case 'c':
			o.conf_dir = optarg;
			break;
		case 'm':
			o.metrics_addr = optarg;
			break;
		case 'P':
			if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
				fprintf(stderr, "weft-node: --network-policy: \"%s\": on or off\n",
					optarg);
				return 2;
			}
			o.network_policy = strcmp(optarg, "on") == 0;
			break;
		case 'D':
			if (strcmp(optarg, "allow") && strcmp(optarg, "deny")) {
				fprintf(stderr,
					"weft-node: --policy-default: \"%s\": allow or deny\n",
					optarg);
				return 2;
			}
			o.policy_deny = strcmp(optarg, "deny") == 0;
			break;
		case 'C':
			cleanup = true;
			break;
		case 'V':
			printf("weft-node %s\n", weft_version);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "weft-node: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!o.node_name || !*o.node_name) {
		if (gethostname(host, sizeof(host) - 1) < 0 || !host[0]) {
			fprintf(stderr, "weft-node: no --node-name, no NODE_NAME, no host name\n");
			return 2;
		}
		o.node_name = host;
	}
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	return cleanup ? agent_cleanup(&o) : agent_run(&o);
}

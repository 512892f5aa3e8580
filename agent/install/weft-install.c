/* SPDX-License-Identifier: Apache-2.0 */
/* weft-install: puts weft on a node (the DaemonSet's init container runs it). Copies the
 * plugins into the CNI bin dir and writes the node's conflist into the CNI conf dir, both
 * atomically and only when they changed; --uninstall takes them away. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/install/conflist.h"
#include "agent/install/install.h"
#include "agent/install/node.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/version.h"

struct opts {
	struct install_opts in;
	const char *net_conf;
	struct node_info node;
	bool uninstall;
	const char *kubeconfig;
	char self_dir[PATH_MAX];
	char cidrs[2][NODE_CIDR_LEN];
};

static const char usage[] =
	"usage: weft-install --net-conf FILE [--node-name NAME] [--pod-cidr CIDR [--pod-cidr "
	"CIDR6]]\n"
	"                    [--kubeconfig FILE] [--bin-dir DIR] [--conf-dir DIR] [--peers-dir "
	"DIR]\n"
	"                    [--src-dir DIR] [--force]\n"
	"       weft-install --uninstall [--bin-dir DIR] [--conf-dir DIR] [--force]\n"
	"       weft-install --version\n"
	"Copies weft's plugins into the CNI bin dir as weft-<plugin> and writes <conf-dir>/"
	"10-weft.conflist\nfor this node, atomically and only when they changed. Without "
	"--pod-cidr the node's pod\n"
	"CIDRs are read from its Node object (--kubeconfig, else the in-cluster service account).\n"
	"Defaults: --bin-dir /opt/cni/bin --conf-dir /etc/cni/net.d --peers-dir "
	"/var/lib/cni/weft\n           --src-dir the directory of weft-install, --node-name "
	"$NODE_NAME\n";

enum { OPT_NETCONF = 256, OPT_NODE, OPT_CIDR, OPT_BIN, OPT_CONF, OPT_PEERS, OPT_SRC, OPT_KUBE };

static const struct option longopts[] = {
	{"net-conf", required_argument, NULL, OPT_NETCONF},
	{"node-name", required_argument, NULL, OPT_NODE},
	{"pod-cidr", required_argument, NULL, OPT_CIDR},
	{"bin-dir", required_argument, NULL, OPT_BIN},
	{"conf-dir", required_argument, NULL, OPT_CONF},
	{"peers-dir", required_argument, NULL, OPT_PEERS},
	{"src-dir", required_argument, NULL, OPT_SRC},
	{"kubeconfig", required_argument, NULL, OPT_KUBE},
	{"force", no_argument, NULL, 'f'},
	{"uninstall", no_argument, NULL, 'u'},
	{"version", no_argument, NULL, 'V'},
	{"help", no_argument, NULL, 'h'},
	{0},
};

static int set_opt(struct opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_NETCONF:
		o->net_conf = arg;
		break;
	case OPT_NODE:
		o->node.name = arg;
		break;
	case OPT_CIDR:
		if (o->node.pod_cidr[1])
			return fprintf(stderr, "weft-install: at most two --pod-cidr\n"), -1;
		o->node.pod_cidr[o->node.pod_cidr[0] ? 1 : 0] = arg;
		break;
	case OPT_BIN:
		o->in.bin_dir = arg;
		break;
	case OPT_CONF:
		o->in.conf_dir = arg;
		break;
	case OPT_PEERS:
		o->node.peers_dir = o->in.peers_dir = arg;
		break;
	case OPT_SRC:
		o->in.src_dir = arg;
		break;
	case OPT_KUBE:
		o->kubeconfig = arg;
		break;
	case 'f':
		o->in.force = true;
		break;
	case 'u':
		o->uninstall = true;
		break;
	case 'V':
		printf("weft-install %s\n", weft_version);
		exit(0);
	case 'h':
		fputs(usage, stdout);
		exit(0);
	default:
		fputs(usage, stderr);
		return -1;
	}
	return 0;
}

static void defaults(struct opts *o)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	o->in.bin_dir = "/opt/cni/bin";
	o->in.conf_dir = "/etc/cni/net.d";
	o->in.peers_dir = o->node.peers_dir = "/var/lib/cni/weft";
	o->in.version = o->node.version = weft_version;
	o->node.name = getenv("NODE_NAME");
	if (n > 0) {
		self[n] = '\0';
		snprintf(o->self_dir, sizeof(o->self_dir), "%s", dirname(self));
		o->in.src_dir = o->self_dir;
	}
}

static int parse(int argc, char **argv, struct opts *o)
{
	int c;

	defaults(o);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if (set_opt(o, c, optarg) < 0)
			return -1;
	if (optind < argc)
		return fprintf(stderr, "weft-install: unexpected argument %s\n%s", argv[optind],
			       usage),
		       -1;
	if (o->uninstall)
		return 0;
	if (!o->net_conf || !o->node.name || !*o->node.name || !o->in.src_dir)
		return fprintf(stderr,
			       "weft-install: --net-conf, --node-name (or NODE_NAME) and --src-dir "
			       "are needed\n%s",
			       usage),
		       -1;
	return 0;
}

/* --pod-cidr, else the Node object's. */
static int node_cidrs(struct opts *o, struct cni_err *err)
{
	int r;

	if (o->node.pod_cidr[0])
		return 0;
	r = node_pod_cidrs(o->kubeconfig, o->node.name, o->cidrs, err);
	if (r < 0)
		return r;
	o->node.pod_cidr[0] = o->cidrs[0];
	o->node.pod_cidr[1] = o->cidrs[1][0] ? o->cidrs[1] : NULL;
	log_info("node %s: pod CIDRs %s%s%s (from the API)", o->node.name, o->cidrs[0],
		 o->cidrs[1][0] ? " " : "", o->cidrs[1]);
	return 0;
}

static int install(struct opts *o, struct cni_err *err)
{
	json_error_t je;
	_cleanup_json_ json_t *nc = json_load_file(o->net_conf, JSON_REJECT_DUPLICATES, &je);
	_cleanup_json_ json_t *list = NULL;
	char peers[PATH_MAX];
	const char *backend, *name;
	int r;

	if (!nc)
		return cni_err_setd(err, CNI_ERR_DECODE, EINVAL, je.text, "%s: line %d",
				    o->net_conf, je.line);
	r = node_cidrs(o, err);
	if (r >= 0)
		r = conflist_build(nc, &o->node, &list, err);
	if (r < 0)
		return r;
	r = install_binaries(&o->in, err);
	if (r < 0)
		return r;
	backend = json_string_value(json_object_get(nc, "backend"));
	name = json_string_value(json_object_get(list, "name"));
	if (conflist_multinode(backend)) {
		if (conflist_peers_file(o->node.peers_dir, name, peers, sizeof(peers)) < 0)
			return cni_err_set(err, CNI_ERR_CONFIG, ENAMETOOLONG, "--peers-dir");
		r = install_peers_file(peers, err);
		if (r < 0)
			return r;
	}
	return install_conflist(&o->in, list, err);
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct cni_err err = {0};
	int r;

	log_init("weft-install");
	if (parse(argc, argv, &o) < 0)
		return 2;
	r = o.uninstall ? install_remove(&o.in, &err) : install(&o, &err);
	if (r < 0) {
		fprintf(stderr, "weft-install: %s%s%s\n", err.msg, err.details[0] ? ": " : "",
			err.details);
		return 1;
	}
	return 0;
}

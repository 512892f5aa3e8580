/* SPDX-License-Identifier: Apache-2.0 */
/* policy: the NetworkPolicy truth table on a weft datapath (see lab-policy.h). Node i (n1, n2)
 * is the multi-node scenarios' node i (lab_mn_node), its files in <lab dir>/n<i>/ (net.d/ with
 * the conflist weft-node reads, kubeconfig, ipam/, run/, agent.log); pod x/a is netns
 * <id>-x-a, added with the plugin's CNI ADD on its node. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/netns.h"
#include "netns-tools/netlab/lab-policy.h"

#define CONFLIST "10-policy.conflist"

/* ---- options and files --------------------------------------------------------------------- */

static int pl_plugin(struct pl *p)
{
	const char *s = getenv("NETLAB_PLUGIN");

	p->plugin = s && *s ? s : "bridge";
	if (strcmp(p->plugin, "bridge") && strcmp(p->plugin, "vxlan") &&
	    strcmp(p->plugin, "ebpf")) {
		fprintf(stderr, "netlab: policy: --plugin is bridge, vxlan or ebpf, not '%s'\n",
			p->plugin);
		return -EINVAL;
	}
	p->nodes = strcmp(p->plugin, "vxlan") == 0 ? 2 : 1;
	return 0;
}

/* NETLAB_POLICY_MODEL, else <netlab's dir>/../../tests/policy/model.py; the cases beside it. */
static int pl_paths(const struct lab *lab, struct pl *p)
{
	const char *env = getenv("NETLAB_POLICY_MODEL"), *dir = getenv("NETLAB_CASES_DIR");
	char m[PATH_MAX + 64], d[PATH_MAX];

	if (env && *env)
		snprintf(m, sizeof(m), "%s", env);
	else
		snprintf(m, sizeof(m), "%s/../../tests/policy/model.py", lab->bin_dir);
	if (!realpath(m, p->model) || access(p->model, R_OK) < 0) {
		fprintf(stderr,
			"netlab: policy: no NetworkPolicy model at %s (NETLAB_POLICY_MODEL: "
			"tests/policy/model.py of a weft checkout)\n",
			m);
		return -ENOENT;
	}
	snprintf(d, sizeof(d), "%s", p->model);
	snprintf(m, sizeof(m), "%s/cases", dirname(d));
	if (!realpath(dir && *dir ? dir : m, p->cases_dir)) {
		fprintf(stderr, "netlab: policy: no cases directory %s\n", dir && *dir ? dir : m);
		return -ENOENT;
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every DIR/NAME.json, sorted, as case names. */
static int all_cases(struct pl *p)
{
	_cleanup_closedir_ DIR *d = opendir(p->cases_dir);
	char *names[PL_MAX_CASES];
	struct dirent *e;
	size_t n = 0;

	while (d && (e = readdir(d)) && n < PL_MAX_CASES) {
		size_t len = strlen(e->d_name);

		if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
			names[n++] = strndup(e->d_name, len - 5);
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(p->cases, json_string(names[i]));
		free(names[i]);
	}
	if (n == 0)
		fprintf(stderr, "netlab: policy: no case (*.json) in %s\n", p->cases_dir);
	return n ? 0 : -ENOENT;
}

/* NETLAB_CASES (comma-separated names), each DIR/NAME.json, else every case of DIR. */
static int pl_cases(struct pl *p)
{
	const char *env = getenv("NETLAB_CASES");
	_cleanup_free_ char *list = env && *env ? strdup(env) : NULL;
	char *save = NULL, path[PATH_MAX + 300];

	p->cases = json_array();
	if (!list)
		return all_cases(p);
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		snprintf(path, sizeof(path), "%s/%s.json", p->cases_dir, t);
		if (access(path, R_OK) < 0) {
			fprintf(stderr, "netlab: policy: unknown case '%s' (no %s)\n", t, path);
			return -ENOENT;
		}
		json_array_append_new(p->cases, json_string(t));
	}
	return 0;
}

static int pl_bins(const struct lab *lab, const struct pl *p)
{
	char b[PATH_MAX + 16];

	snprintf(b, sizeof(b), "%s/weft-node", lab->bin_dir);
	if (access(b, X_OK) < 0) {
		fprintf(stderr, "netlab: no weft-node beside netlab (%s): build weft\n", b);
		return -ENOENT;
	}
	snprintf(b, sizeof(b), "%s/%s", lab->cni_path, p->plugin);
	if (!strchr(lab->cni_path, ':') && access(b, X_OK) < 0) {
		fprintf(stderr, "netlab: no %s plugin in %s (build weft, or --cni-path DIR)\n",
			p->plugin, lab->cni_path);
		return -ENOENT;
	}
	if (!lab_find_bin("python3", b, sizeof(b))) {
		fprintf(stderr, "netlab: policy needs python3 for %s\n", p->model);
		return -ENOENT;
	}
	return 0;
}

static void pl_names(const struct lab *lab, struct pl *p)
{
	char s[32];

	lab_name(lab, "sw", p->sw, sizeof(p->sw));
	snprintf(p->cache, sizeof(p->cache), "%s/cache", lab->dir);
	for (int i = 0; i < p->nodes; i++) {
		struct pl_node *n = &p->node[i];

		snprintf(n->name, sizeof(n->name), "n%d", i + 1);
		snprintf(n->api, sizeof(n->api), "node-%d", i + 1);
		lab_name(lab, n->name, n->ns, sizeof(n->ns));
		snprintf(n->dir, sizeof(n->dir), "%s/%s", lab->dir, n->name);
	}
	for (int k = 0; k < PL_PODS; k++) {
		snprintf(s, sizeof(s), "%c-%c", 'x' + k / 3, 'a' + k % 3);
		lab_name(lab, s, p->pod_ns[k], sizeof(p->pod_ns[k]));
	}
}

static int pl_save(const struct lab *lab, const struct pl *p)
{
	_cleanup_json_ json_t *j = NULL;
	char path[PATH_MAX];

	j = json_pack("{s:s,s:i,s:b,s:b,s:s,s:s,s:O}", "plugin", p->plugin, "nodes", p->nodes,
		      "sctp", p->sctp, "enforcing", p->enforcing, "model", p->model, "casesDir",
		      p->cases_dir, "cases", p->cases);
	snprintf(path, sizeof(path), "%s/policy.json", lab->dir);
	if (!j || json_dump_file(j, path, JSON_INDENT(2)) < 0)
		return -EIO;
	snprintf(path, sizeof(path), "%s/cluster.json", lab->dir);
	return !p->cluster || json_dump_file(p->cluster, path, JSON_INDENT(1)) == 0 ? 0 : -EIO;
}

/* The plugin's name as a static string. */
static const char *plugin_name(const char *s)
{
	if (s && strcmp(s, "vxlan") == 0)
		return "vxlan";
	return s && strcmp(s, "ebpf") == 0 ? "ebpf" : "bridge";
}

/* Each node's address from the lab's cluster.json. */
static void node_ips(struct pl *p)
{
	const json_t *nodes = json_object_get(p->cluster, "nodes");

	for (int i = 0; i < p->nodes; i++) {
		const json_t *ips = json_object_get(json_array_get(nodes, (size_t)i), "ips");

		snprintf(p->node[i].ip, sizeof(p->node[i].ip), "%s",
			 json_string_value(json_array_get(ips, 0)) ?: "");
	}
}

int pl_load(const struct lab *lab, struct pl *p)
{
	_cleanup_json_ json_t *j = NULL;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/policy.json", lab->dir);
	j = json_load_file(path, 0, NULL);
	if (!j)
		return -ENOENT;
	p->plugin = plugin_name(json_string_value(json_object_get(j, "plugin")));
	p->nodes = (int)json_integer_value(json_object_get(j, "nodes"));
	p->sctp = json_is_true(json_object_get(j, "sctp"));
	p->enforcing = json_is_true(json_object_get(j, "enforcing"));
	p->probe_ms = atoi(getenv("NETLAB_PROBE_MS") ?: "");
	if (p->probe_ms < 100 || p->probe_ms > 30000)
		p->probe_ms = PL_PROBE_MS;
	snprintf(p->model, sizeof(p->model), "%s",
		 json_string_value(json_object_get(j, "model")) ?: "");
	snprintf(p->cases_dir, sizeof(p->cases_dir), "%s",
		 json_string_value(json_object_get(j, "casesDir")) ?: "");
	p->cases = json_incref(json_object_get(j, "cases"));
	if (p->nodes < 1 || p->nodes > PL_MAX_NODES)
		return -EINVAL;
	pl_names(lab, p);
	snprintf(path, sizeof(path), "%s/cluster.json", lab->dir);
	p->cluster = json_load_file(path, 0, NULL);
	node_ips(p);
	return p->cluster ? 0 : -ENOENT;
}

void pl_free(struct pl *p)
{
	json_decref(p->cluster);
	json_decref(p->cases);
	p->cluster = p->cases = NULL;
}

int pl_pod_index(const struct pl *p, const char *key)
{
	const json_t *pods = json_object_get(p->cluster, "pods"), *pod;
	size_t i;
	char k[64];

	json_array_foreach(pods, i, pod)
	{
		snprintf(k, sizeof(k), "%s/%s",
			 json_string_value(json_object_get(pod, "namespace")) ?: "",
			 json_string_value(json_object_get(pod, "name")) ?: "");
		if (i < PL_PODS && strcmp(k, key) == 0)
			return (int)i;
	}
	return -1;
}

const struct pl_node *pl_node_by_name(const struct pl *p, const char *name)
{
	for (int i = 0; name && i < p->nodes; i++)
		if (strcmp(p->node[i].name, name) == 0)
			return &p->node[i];
	return NULL;
}

/* ---- nodes ---------------------------------------------------------------------------------- */

static json_t *plugin_conf(const struct pl *p, const struct pl_node *n, int i)
{
	char subnet[32], ipam[PATH_MAX + 8], pin[PATH_MAX + 8];

	snprintf(subnet, sizeof(subnet), "10.244.%d.0/24", i + 1);
	snprintf(ipam, sizeof(ipam), "%s/ipam", n->dir);
	snprintf(pin, sizeof(pin), "%s/bpf", n->dir);
	if (strcmp(p->plugin, "ebpf") == 0)
		return json_pack("{s:s,s:b,s:s,s:{s:s,s:[[{s:s}]],s:s}}", "type", "ebpf", "ipMasq",
				 0, "pinRoot", pin, "ipam", "type", "host-local", "ranges",
				 "subnet", subnet, "dataDir", ipam);
	return json_pack("{s:s,s:s,s:b,s:b,s:{s:s,s:[[{s:s}]],s:s}}", "type", "bridge", "bridge",
			 "cni0", "isGateway", 1, "ipMasq", 0, "ipam", "type", "host-local",
			 "ranges", "subnet", subnet, "dataDir", ipam);
}

static int write_conflist(const struct lab *lab, const struct pl *p, const struct pl_node *n, int i)
{
	char conf[PATH_MAX + 32], peers[PATH_MAX + 16], state[PATH_MAX + 8], ipam[PATH_MAX + 8];
	struct mn_conf mc = {.path = conf,
			     .plugin = "vxlan",
			     .node = i + 1,
			     .peers = peers,
			     .state_dir = state,
			     .ipam_dir = ipam};
	_cleanup_json_ json_t *j = NULL;

	snprintf(conf, sizeof(conf), "%s/net.d/" CONFLIST, n->dir);
	snprintf(peers, sizeof(peers), "%s/peers.json", n->dir);
	snprintf(state, sizeof(state), "%s/run", n->dir);
	snprintf(ipam, sizeof(ipam), "%s/ipam", n->dir);
	if (strcmp(p->plugin, "vxlan") == 0)
		return lab_mn_conflist(lab, &mc);
	j = json_pack("{s:s,s:s,s:[o]}", "cniVersion", "1.1.0", "name", lab->id, "plugins",
		      plugin_conf(p, n, i));
	return j && json_dump_file(j, conf, JSON_INDENT(2)) == 0 ? 0 : -EIO;
}

static int node_files(struct lab *lab, const struct pl *p, const struct pl_node *n, int i)
{
	char path[PATH_MAX + 16];
	int r;

	if (mkdir(n->dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/net.d", n->dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	r = write_conflist(lab, p, n, i);
	snprintf(path, sizeof(path), "%s/kubeconfig", n->dir);
	if (r >= 0)
		r = kube_kubeconfig(lab, path);
	snprintf(path, sizeof(path), "%s/bpf", n->dir);
	if (r >= 0 && strcmp(p->plugin, "ebpf") == 0)
		r = lab_bpffs_mount(lab, path);
	return r;
}

/* Does this weft-node take --network-policy? (Without it nothing is enforced.) */
static bool agent_enforces(const struct lab *lab)
{
	char bin[PATH_MAX + 16];
	char *const argv[] = {bin, "--help", NULL};
	_cleanup_free_ char *out = NULL;

	snprintf(bin, sizeof(bin), "%s/weft-node", lab->bin_dir);
	lab_run(lab, argv, &out, true);
	return out && strstr(out, "--network-policy");
}

static int pl_nodes_up(struct lab *lab, struct pl *p)
{
	bool policy = p->enforcing = agent_enforces(lab);
	int r = 0;

	if (!policy)
		fprintf(stderr,
			"netlab: policy: this weft-node has no --network-policy: nothing is "
			"enforced, only cases that deny nothing can pass\n");
	for (int i = 0; r >= 0 && i < p->nodes; i++)
		r = kube_node_post(lab, p->node[i].api, i + 1, p->node[i].ip);
	for (int i = 0; r >= 0 && i < p->nodes; i++) {
		r = lab_mn_node(lab, p->sw, p->node[i].ns, i + 1);
		if (r >= 0)
			r = node_files(lab, p, &p->node[i], i);
		if (r >= 0)
			r = kube_agent_spawn(lab, p->node[i].ns, p->node[i].dir, p->node[i].api,
					     policy);
	}
	for (int i = 0; r >= 0 && strcmp(p->plugin, "vxlan") == 0 && i < p->nodes; i++)
		if (!kube_peers_wait(p->node[i].dir, p->node[i].api, p->nodes, 30000))
			r = -ETIMEDOUT;
	return r;
}

/* ---- pods ----------------------------------------------------------------------------------- */

/* The node a pod of the standard cluster goes on: its own with two nodes, else the only one. */
static int pod_node(const struct pl *p, const json_t *pod)
{
	const char *n = json_string_value(json_object_get(pod, "node"));

	return p->nodes > 1 && n && strcmp(n, "n2") == 0 ? 1 : 0;
}

static int pod_add(struct lab *lab, struct pl *p, json_t *pod, int k)
{
	const struct pl_node *n = &p->node[pod_node(p, pod)];
	char conf[PATH_MAX + 32], args[160], ip[48];
	int r;

	snprintf(conf, sizeof(conf), "%s/net.d/" CONFLIST, n->dir);
	snprintf(args, sizeof(args), "K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s",
		 json_string_value(json_object_get(pod, "namespace")),
		 json_string_value(json_object_get(pod, "name")));
	r = lab_mn_pod_add(lab, n->ns, p->pod_ns[k], conf, p->cache, args);
	lab_mn_pod_ip(lab, p->cache, p->pod_ns[k], ip, sizeof(ip));
	if (r >= 0 && !*ip)
		r = -EIO;
	if (r >= 0) {
		json_object_set_new(pod, "node", json_string(n->name));
		json_object_set_new(pod, "ips", json_pack("[s]", ip));
	}
	return r;
}

struct src_ctx {
	const char *to;
	char *buf;
	size_t len;
};

/* Inside a node: the source address its packets to ctx->to carry (a UDP connect picks it). */
static int source_addr(void *arg, struct cni_err *err)
{
	struct src_ctx *x = arg;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(80)}, me;
	socklen_t len = sizeof(me);
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || inet_pton(AF_INET, x->to, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &len) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno ?: EINVAL, "route to %s", x->to);
	return inet_ntop(AF_INET, &me.sin_addr, x->buf, (socklen_t)x->len) ? 0 : -EINVAL;
}

/* A node's address in the model is what its packets to pods carry: to the other node's pods
 * with two nodes (what an ipBlock sees), to its own pods with one. */
static int node_addrs(struct pl *p)
{
	json_t *nodes = json_array(), *pods = json_object_get(p->cluster, "pods"), *pod;
	int r = 0;
	size_t k;

	for (int i = 0; r >= 0 && i < p->nodes; i++) {
		struct src_ctx x = {.buf = p->node[i].ip, .len = sizeof(p->node[i].ip)};
		struct cni_err err = {0};
		char ns[PATH_MAX];

		json_array_foreach(pods, k, pod)
		{
			if (!x.to || (p->nodes > 1 && pod_node(p, pod) != i))
				x.to = json_string_value(
					json_array_get(json_object_get(pod, "ips"), 0));
		}
		r = netns_exec_path(lab_netns_path(p->node[i].ns, ns, sizeof(ns)), source_addr, &x,
				    &err);
		json_array_append_new(nodes, json_pack("{s:s,s:[s]}", "name", p->node[i].name,
						       "ips", p->node[i].ip));
	}
	json_object_set_new(p->cluster, "nodes", nodes);
	return r;
}

/* The standard cluster (the model's cluster.json) with the lab's nodes and addresses. */
static int pl_pods_up(struct lab *lab, struct pl *p)
{
	char path[PATH_MAX + 16];
	json_t *pods, *pod;
	size_t k;
	int r = 0;

	snprintf(path, sizeof(path), "%s", p->model);
	snprintf(path + strlen(dirname(path)), 16, "/cluster.json");
	p->cluster = json_load_file(path, 0, NULL);
	pods = json_object_get(p->cluster, "pods");
	if (json_array_size(pods) != PL_PODS) {
		fprintf(stderr, "netlab: policy: %s is not the standard 3x3 cluster\n", path);
		return -EINVAL;
	}
	json_array_foreach(pods, k, pod)
	{
		if (r >= 0)
			r = pod_add(lab, p, pod, (int)k);
	}
	return r < 0 ? r : node_addrs(p);
}

/* ---- servers -------------------------------------------------------------------------------- */

static int serve_in(struct lab *lab, const struct pl *p, const char *netns, const char *ready)
{
	_cleanup_free_ char *ports = strdup(PL_SERVE_PORTS);
	char *argv[16] = {lab->self, "__policy", "serve", (char *)ready}, *save = NULL;
	size_t n = 4;
	pid_t pid;

	if (!ports)
		return -ENOMEM;
	for (char *t = strtok_r(ports, ",", &save); t && n < 14; t = strtok_r(NULL, ",", &save))
		argv[n++] = t;
	if (p->sctp)
		argv[n++] = "80/SCTP";
	pid = lab_spawn_in(lab, netns, argv, NULL);
	return pid < 0 ? (int)pid : 0;
}

static bool ready_wait(char paths[][PATH_MAX + 16], int n, int timeout_ms)
{
	struct timespec ts = {0, 10 * 1000 * 1000};

	for (int t = 0; t < timeout_ms; t += 10) {
		int k = 0;

		while (k < n && access(paths[k], F_OK) == 0)
			k++;
		if (k == n)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static int pl_servers_up(struct lab *lab, const struct pl *p)
{
	char ready[PL_PODS + PL_MAX_NODES][PATH_MAX + 16];
	int r = 0, n = 0;

	for (int k = 0; r >= 0 && k < PL_PODS; k++, n++) {
		snprintf(ready[n], sizeof(ready[n]), "%s/ready-%s", lab->dir, p->pod_ns[k]);
		r = serve_in(lab, p, p->pod_ns[k], ready[n]);
	}
	for (int i = 0; r >= 0 && i < p->nodes; i++, n++) {
		snprintf(ready[n], sizeof(ready[n]), "%s/ready-%s", lab->dir, p->node[i].ns);
		r = serve_in(lab, p, p->node[i].ns, ready[n]);
	}
	if (r >= 0 && !ready_wait(ready, n, 10000)) {
		fprintf(stderr, "netlab: policy: the servers did not start\n");
		r = -ETIMEDOUT;
	}
	return r;
}

/* ---- the scenario --------------------------------------------------------------------------- */

static int pl_prepare(const struct lab *lab, struct pl *p)
{
	int r = pl_plugin(p);

	if (r >= 0)
		r = pl_paths(lab, p);
	if (r >= 0)
		r = pl_cases(p);
	if (r >= 0)
		r = pl_bins(lab, p);
	p->sctp = pl_sctp_supported();
	pl_names(lab, p);
	return r;
}

static int pl_up_all(struct lab *lab, struct pl *p)
{
	long rv = 0;
	int r = pl_save(lab, p);

	for (int i = 0; i < p->nodes; i++)
		snprintf(p->node[i].ip, sizeof(p->node[i].ip), MN_UNDERLAY_NET ".%d", i + 1);
	if (r >= 0)
		r = lab_mn_switch(lab, p->sw);
	if (r >= 0)
		r = kube_api_start(lab, p->sw);
	if (r >= 0)
		r = pl_nodes_up(lab, p);
	if (r >= 0)
		r = pl_save(lab, p);
	if (r >= 0)
		r = pl_pods_up(lab, p);
	if (r >= 0)
		r = pl_save(lab, p);
	if (r >= 0)
		r = pl_servers_up(lab, p);
	if (r >= 0)
		r = pl_post_cluster(lab, p, &rv);
	if (r >= 0 && !pl_wait_agents(p, rv, 3 * PL_WAIT_MS))
		r = -ETIMEDOUT;
	return r;
}

static int pl_up(struct lab *lab)
{
	struct pl p = {0};
	int r = pl_prepare(lab, &p);

	if (r >= 0) {
		lab_step(lab, "%s, %d node(s), %zu case(s), SCTP %s", p.plugin, p.nodes,
			 json_array_size(p.cases), p.sctp ? "probed" : "not in this kernel");
		r = pl_up_all(lab, &p);
	}
	pl_free(&p);
	return r;
}

static void pl_verify(struct lab *lab)
{
	struct pl p = {0};

	if (lab_check(lab, pl_load(lab, &p) >= 0, "the lab in %s/policy.json", lab->dir))
		pl_verify_cases(lab, &p);
	pl_free(&p);
}

/* "x/a 10.244.1.2 | ..." for the pods of node i. */
static void node_pods(const struct pl *p, int i, char *buf, size_t size)
{
	const json_t *pod;
	size_t k, len = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(p->cluster, "pods"), k, pod)
	{
		if (pod_node(p, pod) != i || len >= size - 40)
			continue;
		len += (size_t)snprintf(
			buf + len, size - len, "%s%s/%s %s", len ? " | " : "",
			json_string_value(json_object_get(pod, "namespace")),
			json_string_value(json_object_get(pod, "name")),
			json_string_value(json_array_get(json_object_get(pod, "ips"), 0)));
	}
}

static int pl_show(struct lab *lab, struct topo *t)
{
	struct pl p = {0};
	char pods[200];

	if (pl_load(lab, &p) < 0) {
		pl_free(&p);
		return -EINVAL;
	}
	snprintf(t->title, sizeof(t->title),
		 "policy: the 3x3 cluster of tests/policy on weft %s, %d node(s), weft-node "
		 "--network-policy on (network %s)",
		 p.plugin, p.nodes, lab->id);
	for (int i = 0; i < p.nodes; i++) {
		int g = lab_topo_group(t, "netns", "%s (%s), %s", p.node[i].name, p.node[i].ns,
				       p.node[i].ip);

		node_pods(&p, i, pods, sizeof(pods));
		lab_topo_edge(t, lab_topo_node(t, g, "weft-node", "--network-policy on"),
			      lab_topo_node(t, g, "pods", "%s", pods), "policy");
	}
	lab_topo_note(t, "API test double in %s (https://%s:%d); model %s", p.sw, KUBE_API_ADDR,
		      KUBE_API_PORT, p.model);
	pl_free(&p);
	return 0;
}

static char *pl_report(struct lab *lab)
{
	char path[PATH_MAX], *text = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/summary.txt", lab->dir);
	f = fopen(path, "re");
	if (!f || getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		return NULL;
	}
	return text;
}

const struct scenario lab_policy = {
	.name = "policy",
	.origin = "Kubernetes NetworkPolicy conformance: the pod-to-pod truth table of the "
		  "network-policy e2e tests",
	.summary = "x, y, z x pods a, b, c on a weft plugin, weft-node --network-policy on; "
		   "each case of tests/policy probed on every port and compared with the model",
	.up = pl_up,
	.verify = pl_verify,
	.show = pl_show,
	.helper = pl_helper,
	.report = pl_report,
};

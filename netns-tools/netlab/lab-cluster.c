/* SPDX-License-Identifier: Apache-2.0 */
/* cluster: weft-node on every node keeps the cluster's routes current from the Kubernetes API
 * (see lab-cluster.h). Node i is the multi-node scenarios' node i (lab_mn_node): underlay
 * 192.168.100.i/24, pod CIDR 10.244.i.0/24; its files live in <lab dir>/n<i>/ (net.d/ with
 * the network's conflist, kubeconfig, peers.json the agent writes, run/ the plugins' stateDir,
 * ipam/, agent.log). The API server listens on the switch's bridge, 192.168.100.254. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netns-tools/netlab/lab-cluster.h"

#define CONFLIST "net.d/10-cluster.conflist"

static int env_int(const char *name, int def, int max)
{
	const char *s = getenv(name);
	int v = s && *s ? atoi(s) : def;

	return v >= 1 && v <= max ? v : -1;
}

static void node_path(const struct lab *lab, const struct cl_node *n, const char *file, char *buf,
		      size_t len)
{
	snprintf(buf, len, "%s/n%d%s%s", lab->dir, n->i, *file ? "/" : "", file);
}

static void node_names(const struct lab *lab, const struct cl *c, struct cl_node *n)
{
	char s[32];

	snprintf(s, sizeof(s), "n%d", n->i);
	lab_name(lab, s, n->ns, sizeof(n->ns));
	for (int j = 0; j < c->pods; j++) {
		snprintf(s, sizeof(s), "n%dp%d", n->i, j + 1);
		lab_name(lab, s, n->pod[j], sizeof(n->pod[j]));
	}
}

int cl_live(const struct cl *c)
{
	int live = 0;

	for (int k = 0; k < c->n; k++)
		live += c->node[k].live;
	return live;
}

int cl_save(const struct lab *lab, const struct cl *c)
{
	_cleanup_json_ json_t *nodes = json_array(), *j = NULL;
	char path[PATH_MAX];

	for (int k = 0; nodes && k < c->n; k++)
		json_array_append_new(nodes, json_pack("{s:i,s:s,s:b}", "i", c->node[k].i, "ip",
						       c->node[k].ip, "live", c->node[k].live));
	j = json_pack("{s:s,s:i,s:O}", "plugin", c->plugin, "pods", c->pods, "nodes", nodes);
	snprintf(path, sizeof(path), "%s/cluster.json", lab->dir);
	return j && json_dump_file(j, path, JSON_INDENT(2)) == 0 ? 0 : -EIO;
}

static void cl_base(const struct lab *lab, struct cl *c)
{
	lab_name(lab, "sw", c->sw, sizeof(c->sw));
	snprintf(c->cache, sizeof(c->cache), "%s/cache", lab->dir);
}

/* The scenario's plugin name (static) for name; NULL when it is not one the cluster runs. */
static const char *cl_plugin(const char *name)
{
	static const char *const known[] = {"host-gw", "vxlan", "ebpf"};

	if (!name || !*name)
		return known[0];
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (strcmp(name, known[i]) == 0)
			return known[i];
	return NULL;
}

static int cl_load(const struct lab *lab, struct cl *c)
{
	_cleanup_json_ json_t *j = NULL;
	char path[PATH_MAX];
	const char *plugin;
	json_t *n;
	size_t k;

	snprintf(path, sizeof(path), "%s/cluster.json", lab->dir);
	j = json_load_file(path, 0, NULL);
	plugin = json_string_value(json_object_get(j, "plugin"));
	c->plugin = cl_plugin(plugin);
	c->pods = (int)json_integer_value(json_object_get(j, "pods"));
	if (!j || !c->plugin || c->pods < 1 || c->pods > CL_MAX_PODS)
		return -EINVAL;
	cl_base(lab, c);
	json_array_foreach(json_object_get(j, "nodes"), k, n)
	{
		struct cl_node *x = &c->node[c->n];

		if (c->n >= CL_SLOTS)
			return -EINVAL;
		c->n++;
		x->i = (int)json_integer_value(json_object_get(n, "i"));
		x->live = json_is_true(json_object_get(n, "live"));
		snprintf(x->ip, sizeof(x->ip), "%s", json_string_value(json_object_get(n, "ip")));
		node_names(lab, c, x);
		for (int p = 0; p < c->pods; p++)
			lab_mn_pod_ip(lab, c->cache, x->pod[p], x->pod_ip[p], sizeof(x->pod_ip[p]));
	}
	return c->n ? 0 : -EINVAL;
}

static int node_files(const struct lab *lab, const struct cl *c, const struct cl_node *n)
{
	char dir[PATH_MAX], conf[PATH_MAX], peers[PATH_MAX], state[PATH_MAX], ipam[PATH_MAX],
		pin[PATH_MAX];
	struct mn_conf mc = {.path = conf,
			     .plugin = c->plugin,
			     .node = n->i,
			     .peers = peers,
			     .state_dir = state,
			     .ipam_dir = ipam,
			     .pin_root = pin};
	int r;

	snprintf(pin, sizeof(pin), "%s/bpf/n%d", lab->dir, n->i); /* ebpf: the lab's bpffs */

	node_path(lab, n, "", dir, sizeof(dir));
	node_path(lab, n, "peers.json", peers, sizeof(peers));
	node_path(lab, n, "run", state, sizeof(state));
	node_path(lab, n, "ipam", ipam, sizeof(ipam));
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	node_path(lab, n, "net.d", dir, sizeof(dir));
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	node_path(lab, n, CONFLIST, conf, sizeof(conf));
	r = lab_mn_conflist(lab, &mc);
	node_path(lab, n, "kubeconfig", dir, sizeof(dir));
	return r < 0 ? r : kube_kubeconfig(lab, dir);
}

static int node_agent(struct lab *lab, const struct cl_node *n)
{
	char dir[PATH_MAX], name[32];

	node_path(lab, n, "", dir, sizeof(dir));
	snprintf(name, sizeof(name), "node-%d", n->i);
	return kube_agent_spawn(lab, n->ns, dir, name, false);
}

int cl_node_add(struct lab *lab, struct cl *c, int i)
{
	struct cl_node *n;
	int r;

	if (c->n >= CL_SLOTS) {
		fprintf(stderr, "netlab: no room for another node (%d made)\n", c->n);
		return -ENOSPC;
	}
	n = &c->node[c->n++];
	memset(n, 0, sizeof(*n));
	n->i = i;
	n->live = true;
	snprintf(n->ip, sizeof(n->ip), MN_UNDERLAY_NET ".%d", i);
	node_names(lab, c, n);
	r = lab_mn_node(lab, c->sw, n->ns, i);
	if (r >= 0)
		r = node_files(lab, c, n);
	if (r >= 0)
		r = node_agent(lab, n);
	return r;
}

const json_t *cl_agent_res(const struct lab *lab, const struct cl_node *n)
{
	const json_t *res = json_object_get(lab->state, "resources"), *r, *last = NULL;
	size_t i;

	json_array_foreach(res, i, r)
	{
		const char *k = json_string_value(json_object_get(r, "kind"));
		const char *ns = json_string_value(json_object_get(r, "netns"));

		if (k && ns && strcmp(k, "proc") == 0 && strcmp(ns, n->ns) == 0)
			last = r;
	}
	return last;
}

bool cl_agent_stop(const struct lab *lab, const struct cl_node *n)
{
	const json_t *res = cl_agent_res(lab, n);
	struct timespec ts = {0, 20 * 1000 * 1000};

	pid_t pid = (pid_t)json_integer_value(json_object_get(res, "pid"));

	if (lab_proc_alive(res))
		kill(pid, SIGTERM);
	for (int t = 0; t < 5000 && lab_proc_alive(res); t += 20) {
		waitpid(pid, NULL, WNOHANG); /* ours when up and verify run in one process */
		nanosleep(&ts, NULL);
	}
	waitpid(pid, NULL, WNOHANG);
	return !lab_proc_alive(res);
}

int cl_node_pods(struct lab *lab, struct cl *c, struct cl_node *n)
{
	char conf[PATH_MAX];
	int r = 0;

	node_path(lab, n, CONFLIST, conf, sizeof(conf));
	for (int j = 0; r >= 0 && j < c->pods; j++) {
		r = lab_mn_pod_add(lab, n->ns, n->pod[j], conf, c->cache, NULL);
		lab_mn_pod_ip(lab, c->cache, n->pod[j], n->pod_ip[j], sizeof(n->pod_ip[j]));
	}
	return r;
}

bool cl_peers_wait(const struct lab *lab, const struct cl_node *n, int want, int timeout_ms)
{
	char dir[PATH_MAX], self[32];

	node_path(lab, n, "", dir, sizeof(dir));
	snprintf(self, sizeof(self), "node-%d", n->i);
	return kube_peers_wait(dir, self, want, timeout_ms);
}

static int cl_opts(struct cl *c, int *nodes)
{
	const char *plugin = getenv("NETLAB_PLUGIN");

	*nodes = env_int("NETLAB_NODES", CL_DEFAULT_NODES, CL_MAX_NODES);
	c->pods = env_int("NETLAB_PODS", CL_DEFAULT_PODS, CL_MAX_PODS);
	if (*nodes < 0 || c->pods < 0) {
		fprintf(stderr, "netlab: cluster: --nodes must be 1..%d, --pods 1..%d\n",
			CL_MAX_NODES, CL_MAX_PODS);
		return -EINVAL;
	}
	c->plugin = cl_plugin(plugin);
	if (!c->plugin) {
		fprintf(stderr, "netlab: cluster: --plugin is host-gw, vxlan or ebpf, not '%s'\n",
			plugin);
		return -EINVAL;
	}
	return 0;
}

static int cl_bins(const struct lab *lab, const struct cl *c)
{
	char p[PATH_MAX + 16];

	snprintf(p, sizeof(p), "%s/weft-node", lab->bin_dir);
	if (access(p, X_OK) < 0) {
		fprintf(stderr, "netlab: no weft-node beside netlab (%s): build weft\n", p);
		return -ENOENT;
	}
	snprintf(p, sizeof(p), "%s/%s", lab->cni_path, c->plugin);
	if (!strchr(lab->cni_path, ':') && access(p, X_OK) < 0) {
		fprintf(stderr, "netlab: no %s plugin in %s (build weft, or --cni-path DIR)\n",
			c->plugin, lab->cni_path);
		return -ENOENT;
	}
	return 0;
}

/* Every Node object in one admin call (the test double's {"items": [...]} bulk load). */
static int post_nodes(const struct lab *lab, int nodes)
{
	_cleanup_json_ json_t *items = json_array(), *list = NULL;
	_cleanup_free_ char *body = NULL;
	char name[32], ip[32];

	for (int i = 1; items && i <= nodes; i++) {
		snprintf(name, sizeof(name), "node-%d", i);
		snprintf(ip, sizeof(ip), MN_UNDERLAY_NET ".%d", i);
		json_array_append_new(items, kube_node_json(name, i, ip));
	}
	list = json_pack("{s:O}", "items", items);
	body = list ? json_dumps(list, JSON_COMPACT) : NULL;
	if (!body)
		return -ENOMEM;
	return kube_admin(lab, "POST", "/objects/api/v1/nodes", body, NULL) == 200 ? 0 : -EIO;
}

static int cl_nodes_up(struct lab *lab, struct cl *c, int nodes)
{
	int r = post_nodes(lab, nodes);

	for (int i = 1; r >= 0 && i <= nodes; i++)
		r = cl_node_add(lab, c, i);
	if (r >= 0)
		r = cl_save(lab, c);
	for (int k = 0; r >= 0 && k < c->n; k++)
		if (!cl_peers_wait(lab, &c->node[k], nodes, 3 * CL_WAIT_MS))
			r = -ETIMEDOUT;
	if (r >= 0)
		lab_step(lab, "%d agents synced (each wrote its peersFile of %d nodes)", nodes,
			 nodes);
	for (int k = 0; r >= 0 && k < c->n; k++)
		r = cl_node_pods(lab, c, &c->node[k]);
	return r;
}

/* ebpf: one bpffs in the lab dir, a pin root per node under it (never the machine's). */
static int cl_bpffs(struct lab *lab)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bpf", lab->dir);
	return lab_bpffs_mount(lab, path);
}

static int cl_up(struct lab *lab)
{
	_cleanup_free_ struct cl *c = calloc(1, sizeof(*c));
	int nodes, r;

	if (!c)
		return -ENOMEM;
	r = cl_opts(c, &nodes);
	if (r >= 0)
		r = cl_bins(lab, c);
	if (r < 0)
		return r;
	cl_base(lab, c);
	lab_step(lab, "%d nodes x %d pods, %s, a weft-node per node, the API server in %s", nodes,
		 c->pods, c->plugin, c->sw);
	r = cl_save(lab, c);
	if (r >= 0 && strcmp(c->plugin, "ebpf") == 0)
		r = cl_bpffs(lab);
	if (r >= 0)
		r = lab_mn_switch(lab, c->sw);
	if (r >= 0)
		r = kube_api_start(lab, c->sw);
	if (r >= 0)
		r = cl_nodes_up(lab, c, nodes);
	return r < 0 ? r : cl_save(lab, c);
}

static void cl_verify(struct lab *lab)
{
	_cleanup_free_ struct cl *c = calloc(1, sizeof(*c));
	int rounds = env_int("NETLAB_ROUNDS", CL_DEFAULT_ROUNDS, CL_MAX_ROUNDS);

	if (!c || !lab_check(lab, cl_load(lab, c) >= 0, "the cluster in %s/cluster.json", lab->dir))
		return;
	if (!lab_check(lab, rounds > 0, "--rounds is 1..%d", CL_MAX_ROUNDS))
		return;
	cl_verify_steps(lab, c, rounds);
	cl_save(lab, c);
}

static size_t count_routes(const struct lab *lab, const char *ns)
{
	_cleanup_json_ json_t *rt = lab_ip_json(lab, ns, "route", "show", "proto", "0x57", NULL);

	return json_array_size(rt);
}

static void show_node(const struct lab *lab, const struct cl *c, const struct cl_node *n,
		      struct topo *t, int sw)
{
	char addrs[128], pods[200] = "";
	const json_t *agent = cl_agent_res(lab, n);
	int g, ul, ag;
	size_t len = 0;

	g = lab_topo_group(t, "netns", "node-%d (%s)", n->i, n->ns);
	ul = lab_topo_node(t, g, "ul0", "%s", lab_addrs(lab, n->ns, "ul0", addrs, sizeof(addrs)));
	ag = lab_topo_node(t, g, "weft-node", "pid %d%s | %zu node routes (proto 0x57)",
			   (int)json_integer_value(json_object_get(agent, "pid")),
			   lab_proc_alive(agent) ? "" : " (gone)", count_routes(lab, n->ns));
	for (int j = 0; j < c->pods && len < sizeof(pods) - 64; j++)
		len += (size_t)snprintf(pods + len, sizeof(pods) - len, "%sp%d %s", j ? " | " : "",
					j + 1, n->pod_ip[j][0] ? n->pod_ip[j] : "-");
	lab_topo_edge(t, ag, lab_topo_node(t, g, "pods", "%s", pods), "routes, veths");
	lab_topo_edge(t, sw, ul, "underlay");
}

static int cl_show(struct lab *lab, struct topo *t)
{
	_cleanup_free_ struct cl *c = calloc(1, sizeof(*c));
	int g, sw, shown = 0;

	if (!c || cl_load(lab, c) < 0)
		return -EINVAL;
	snprintf(t->title, sizeof(t->title),
		 "cluster: %d live nodes x %d pods, weft %s, a weft-node per node watching the "
		 "API server (network %s)",
		 cl_live(c), c->pods, c->plugin, lab->id);
	g = lab_topo_group(t, "host", "switch and API server (%s)", c->sw);
	sw = lab_topo_node(t, g, "sw0", "bridge, underlay %s.0/24", MN_UNDERLAY_NET);
	lab_topo_edge(t, sw,
		      lab_topo_node(t, g, "kubeapi.py", "https://%s:%d | admin 127.0.0.1:%d",
				    KUBE_API_ADDR, KUBE_API_PORT, KUBE_ADMIN_PORT),
		      "API");
	for (int k = 0; k < c->n; k++) {
		if (!c->node[k].live)
			continue;
		if (shown++ < TOPO_MAX_GROUPS - 2)
			show_node(lab, c, &c->node[k], t, sw);
	}
	if (shown > TOPO_MAX_GROUPS - 2)
		lab_topo_note(t, "%d more nodes not drawn", shown - (TOPO_MAX_GROUPS - 2));
	lab_topo_note(t,
		      "each node: weft-node --kubeconfig %s/n<i>/kubeconfig --cni-conf-dir "
		      "%s/n<i>/net.d (peersFile n<i>/peers.json)",
		      lab->dir, lab->dir);
	lab_topo_note(t, "try: ip -n %s route show proto 0x57", c->node[0].ns);
	return 0;
}

static char *cl_report(struct lab *lab)
{
	char path[PATH_MAX], *text = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/convergence.txt", lab->dir);
	f = fopen(path, "re");
	if (!f || getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		return NULL;
	}
	return text;
}

const struct scenario lab_cluster = {
	.name = "cluster",
	.origin = "Kubernetes node state kept current from the API server's watch, as flanneld "
		  "does",
	.summary = "N nodes each running weft-node against an API server (test double); node "
		   "add, delete, new IP, API restart, 410: all pods reach each other with no pod "
		   "ADD; convergence measured",
	.up = cl_up,
	.verify = cl_verify,
	.show = cl_show,
	.report = cl_report,
};

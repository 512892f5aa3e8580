/* SPDX-License-Identifier: Apache-2.0 */
/* host-gw and vxlan: pods on several nodes reaching each other, wired by the weft plugins
 * (see lab-multinode.h). Node i has underlay 192.168.100.i/24 on "ul0", whose peer is a port
 * of the switch's bridge, and pod CIDR 10.244.i.0/24 out of the cluster's 10.244.0.0/16.
 * Background: docs/design.md §4, docs/datapath.md §1 (flannel-style host-gw and vxlan). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/netns.h"
#include "netns-tools/runtime/runtime.h"
#include "netns-tools/netlab/lab-multinode.h"

static int env_int(const char *name, int def, int max)
{
	const char *s = getenv(name);
	int v = s && *s ? atoi(s) : def;

	return v >= 1 && v <= max ? v : -1;
}

static void mn_names(const struct lab *lab, struct mn_lab *m)
{
	char n[32];

	m->plugin = strcmp(lab->sc->name, "vxlan") == 0 ? "vxlan" : "host-gw";
	lab_name(lab, "sw", m->sw, sizeof(m->sw));
	for (int i = 0; i < m->nodes; i++) {
		snprintf(n, sizeof(n), "n%d", i + 1);
		lab_name(lab, n, m->node[i], sizeof(m->node[i]));
		snprintf(m->conflist[i], sizeof(m->conflist[i]), "%s/net.d/n%d.conflist", lab->dir,
			 i + 1);
		for (int j = 0; j < m->pods; j++) {
			snprintf(n, sizeof(n), "n%dp%d", i + 1, j + 1);
			lab_name(lab, n, m->pod[i][j], sizeof(m->pod[i][j]));
		}
	}
	snprintf(m->cache, sizeof(m->cache), "%s/cache", lab->dir);
}

const char *lab_mn_pod_ip(const struct lab *lab, const char *cache, const char *pod, char *buf,
			  size_t len)
{
	struct rt rt = {.cache_dir = cache};
	struct rt_cached c = {0};
	const char *a;

	buf[0] = '\0';
	if (rt_cache_read(&rt, lab->id, pod, "eth0", &c, NULL) < 0)
		return buf;
	a = json_string_value(
		json_object_get(json_array_get(json_object_get(c.result, "ips"), 0), "address"));
	if (a) {
		snprintf(buf, len, "%s", a);
		*strchrnul(buf, '/') = '\0';
	}
	rt_cached_free(&c);
	return buf;
}

/* Names and sizes of an existing lab (reads the sizes file and the result cache). */
static int mn_load(const struct lab *lab, struct mn_lab *m)
{
	char path[PATH_MAX];
	_cleanup_json_ json_t *j = NULL;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "%s/multinode.json", lab->dir);
	j = json_load_file(path, 0, NULL);
	m->nodes = (int)json_integer_value(json_object_get(j, "nodes"));
	m->pods = (int)json_integer_value(json_object_get(j, "pods"));
	if (m->nodes < 1 || m->nodes > MN_MAX_NODES || m->pods < 1 || m->pods > MN_MAX_PODS)
		return -EINVAL;
	mn_names(lab, m);
	for (int i = 0; i < m->nodes; i++)
		for (int k = 0; k < m->pods; k++)
			lab_mn_pod_ip(lab, m->cache, m->pod[i][k], m->pod_ip[i][k],
				      sizeof(m->pod_ip[i][k]));
	return 0;
}

/* The peers as a Kubernetes NodeList, as a DaemonSet would keep it current. */
static int write_nodes(const struct lab *lab, const struct mn_lab *m)
{
	_cleanup_json_ json_t *items = json_array(), *list = NULL;
	char path[PATH_MAX], name[32], ip[32], cidr[32];

	for (int i = 0; items && i < m->nodes; i++) {
		snprintf(name, sizeof(name), "node-%d", i + 1);
		snprintf(ip, sizeof(ip), MN_UNDERLAY_NET ".%d", i + 1);
		snprintf(cidr, sizeof(cidr), "10.244.%d.0/24", i + 1);
		json_array_append_new(
			items,
			json_pack("{s:{s:s},s:{s:s,s:[s]},s:{s:[{s:s,s:s},{s:s,s:s}]}}", "metadata",
				  "name", name, "spec", "podCIDR", cidr, "podCIDRs", cidr, "status",
				  "addresses", "type", "Hostname", "address", name, "type",
				  "InternalIP", "address", ip));
	}
	list = json_pack("{s:s,s:s,s:O}", "apiVersion", "v1", "kind", "NodeList", "items", items);
	snprintf(path, sizeof(path), "%s/nodes.json", lab->dir);
	return list && json_dump_file(list, path, JSON_INDENT(2)) == 0 ? 0 : -EIO;
}

int lab_mn_conflist(const struct lab *lab, const struct mn_conf *c)
{
	_cleanup_json_ json_t *conf = NULL, *p = NULL;
	char node[32], subnet[32];

	snprintf(node, sizeof(node), "node-%d", c->node);
	snprintf(subnet, sizeof(subnet), "10.244.%d.0/24", c->node);
	p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:{s:s,s:s,s:s}}", "type", c->plugin, "nodeName",
		      node, "peersFile", c->peers, "stateDir", c->state_dir, "clusterCIDR",
		      MN_CLUSTER_CIDR, "ipMasq", 1, "ipam", "type", "host-local", "subnet", subnet,
		      "dataDir", c->ipam_dir);
	if (p && strcmp(c->plugin, "ebpf") == 0)
		json_object_set_new(p, "pinRoot", json_string(c->pin_root));
	else if (p) /* the bridge keys of host-gw and vxlan */
		json_object_update_new(
			p, json_pack("{s:b,s:s}", "isDefaultGateway", 1, "bridge", "cni0"));
	conf = p ? json_pack("{s:s,s:s,s:[O]}", "cniVersion", "1.0.0", "name", lab->id, "plugins",
			     p)
		 : NULL;
	return conf && json_dump_file(conf, c->path, JSON_INDENT(2)) == 0 ? 0 : -EIO;
}

static int write_conflist(const struct lab *lab, const struct mn_lab *m, int i)
{
	char ipam[PATH_MAX], state[PATH_MAX], nodes[PATH_MAX];
	struct mn_conf c = {.path = m->conflist[i],
			    .plugin = m->plugin,
			    .node = i + 1,
			    .peers = nodes,
			    .state_dir = state,
			    .ipam_dir = ipam};

	snprintf(ipam, sizeof(ipam), "%s/ipam-n%d", lab->dir, i + 1);
	snprintf(state, sizeof(state), "%s/run-n%d", lab->dir, i + 1);
	snprintf(nodes, sizeof(nodes), "%s/nodes.json", lab->dir);
	return lab_mn_conflist(lab, &c);
}

static int files(struct lab *lab, struct mn_lab *m)
{
	char dir[PATH_MAX];
	_cleanup_json_ json_t *sizes = json_pack("{s:i,s:i}", "nodes", m->nodes, "pods", m->pods);
	int r;

	snprintf(dir, sizeof(dir), "%s/multinode.json", lab->dir);
	if (!sizes || json_dump_file(sizes, dir, 0) < 0)
		return -EIO;
	snprintf(dir, sizeof(dir), "%s/net.d", lab->dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	r = write_nodes(lab, m);
	for (int i = 0; r >= 0 && i < m->nodes; i++)
		r = write_conflist(lab, m, i);
	return r;
}

int lab_mn_switch(struct lab *lab, const char *sw)
{
	int r = lab_netns_add(lab, sw);

	/* A MAC of its own: else the bridge takes its lowest port's, which changes as nodes
	 * join, and whoever cached the old one (the cluster lab's API server is on sw0) is cut
	 * off until its ARP entry expires. */
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", sw, "link", "add", "sw0", "type", "bridge", NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", sw, "link", "set", "sw0", "address",
			    "02:57:ef:00:00:01", "up", NULL);
	return r;
}

int lab_mn_node(struct lab *lab, const char *sw, const char *node, int i)
{
	char port[16], addr[32];
	int r = lab_netns_add(lab, node);

	snprintf(port, sizeof(port), "n%d", i);
	snprintf(addr, sizeof(addr), MN_UNDERLAY_NET ".%d/24", i);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", node, "link", "add", "ul0", "type", "veth", "peer",
			    "name", port, "netns", sw, NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", sw, "link", "set", port, "master", "sw0", "up", NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", node, "addr", "add", addr, "dev", "ul0", NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", node, "link", "set", "ul0", "up", NULL);
	return r;
}

/* The switch (a bridge in its own netns) and each node's underlay port on it. */
static int underlay(struct lab *lab, const struct mn_lab *m)
{
	int r = lab_mn_switch(lab, m->sw);

	for (int i = 0; r >= 0 && i < m->nodes; i++)
		r = lab_mn_node(lab, m->sw, m->node[i], i + 1);
	return r;
}

struct add_ctx {
	const struct lab *lab;
	const char *pod, *conflist, *cache, *cni_args;
};

static int add_in_node(void *arg, struct cni_err *err)
{
	const struct add_ctx *x = arg;
	_cleanup_netconf_ struct rt_netconf *nc = NULL;
	_cleanup_json_ json_t *res = NULL;
	struct rt rt = {.cni_path = x->lab->cni_path, .cache_dir = x->cache};
	char netns[PATH_MAX];
	struct rt_attach a = {
		.container_id = x->pod, .netns = netns, .ifname = "eth0", .cni_args = x->cni_args};
	int r;

	lab_netns_path(x->pod, netns, sizeof(netns));
	r = rt_netconf_from_file(x->conflist, &nc, err);
	if (r >= 0)
		r = rt_add(&rt, nc, &a, &res, err);
	if (r < 0)
		fprintf(stderr, "netlab: CNI ADD %s: %s%s%s\n", a.container_id, err->msg,
			err->details[0] ? ": " : "", err->details);
	return r;
}

int lab_mn_pod_add(struct lab *lab, const char *node, const char *pod, const char *conflist,
		   const char *cache, const char *cni_args)
{
	struct add_ctx x = {lab, pod, conflist, cache, cni_args};
	struct cni_err err = {0};
	char netns[PATH_MAX], node_path[PATH_MAX];
	int r = lab_netns_add(lab, pod);

	lab_netns_path(pod, netns, sizeof(netns));
	if (r >= 0)
		r = lab_record(lab, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "cni",
					      "hostNetns", node, "conflist", conflist, "cniPath",
					      lab->cni_path, "cacheDir", cache, "containerId", pod,
					      "ifname", "eth0", "netns", netns));
	if (r >= 0)
		r = netns_exec_path(lab_netns_path(node, node_path, sizeof(node_path)), add_in_node,
				    &x, &err);
	return r;
}

static int mn_up(struct lab *lab)
{
	_cleanup_free_ struct mn_lab *m = calloc(1, sizeof(*m));
	char plugin[PATH_MAX + 16];
	int r;

	if (!m)
		return -ENOMEM;
	m->nodes = env_int("NETLAB_NODES", MN_DEFAULT_NODES, MN_MAX_NODES);
	m->pods = env_int("NETLAB_PODS", MN_DEFAULT_PODS, MN_MAX_PODS);
	if (m->nodes < 0 || m->pods < 0) {
		fprintf(stderr, "netlab: NETLAB_NODES must be 1..%d, NETLAB_PODS 1..%d\n",
			MN_MAX_NODES, MN_MAX_PODS);
		return -EINVAL;
	}
	mn_names(lab, m);
	snprintf(plugin, sizeof(plugin), "%s/%s", lab->cni_path, m->plugin);
	if (!strchr(lab->cni_path, ':') && access(plugin, X_OK) < 0) {
		fprintf(stderr, "netlab: no %s plugin in %s (build weft, or --cni-path DIR)\n",
			m->plugin, lab->cni_path);
		return -ENOENT;
	}
	lab_step(lab, "%d nodes x %d pods, %s, peers in %s/nodes.json", m->nodes, m->pods,
		 m->plugin, lab->dir);
	r = files(lab, m);
	if (r >= 0)
		r = underlay(lab, m);
	for (int i = 0; r >= 0 && i < m->nodes; i++)
		for (int j = 0; r >= 0 && j < m->pods; j++)
			r = lab_mn_pod_add(lab, m->node[i], m->pod[i][j], m->conflist[i], m->cache,
					   NULL);
	return r;
}

static void mn_verify(struct lab *lab)
{
	_cleanup_free_ struct mn_lab *m = calloc(1, sizeof(*m));

	if (!m || !lab_check(lab, mn_load(lab, m) >= 0, "lab sizes in %s/multinode.json", lab->dir))
		return;
	for (int i = 0; i < m->nodes; i++) {
		_cleanup_json_ json_t *rt =
			lab_ip_json(lab, m->node[i], "route", "show", "proto", "0x57", NULL);
		int pods = 0;

		for (int j = 0; j < m->pods; j++)
			pods += m->pod_ip[i][j][0] != 0;
		lab_check(lab, json_array_size(rt) == (size_t)m->nodes - 1,
			  "%s: %d node routes (proto 0x57) for the %d other nodes, found %zu",
			  m->node[i], m->nodes - 1, m->nodes - 1, json_array_size(rt));
		lab_check(lab, pods == m->pods, "%s: %d pods have an address", m->node[i], m->pods);
	}
	lab_mn_verify_mesh(lab, m);
	lab_mn_verify_iperf(lab, m);
}

static void show_node(struct lab *lab, const struct mn_lab *m, struct topo *t, int sw, int i)
{
	char title[128], pods[200] = "", addrs[128];
	int g, ul, br;
	size_t n = 0;

	snprintf(title, sizeof(title), "node-%d (%s)", i + 1, m->node[i]);
	g = lab_topo_group(t, "netns", "%s", title);
	ul = lab_topo_node(t, g, "ul0", "%s",
			   lab_addrs(lab, m->node[i], "ul0", addrs, sizeof(addrs)));
	br = lab_topo_node(t, g, "cni0", "%s",
			   lab_addrs(lab, m->node[i], "cni0", addrs, sizeof(addrs)));
	if (strcmp(m->plugin, "vxlan") == 0)
		lab_topo_edge(
			t, br,
			lab_topo_node(t, g, "weft.1", "vxlan vni 1 | %s",
				      lab_addrs(lab, m->node[i], "weft.1", addrs, sizeof(addrs))),
			"routed");
	else
		lab_topo_edge(t, br, ul, "routed");
	for (int j = 0; j < m->pods && n < sizeof(pods) - 20; j++)
		n += (size_t)snprintf(pods + n, sizeof(pods) - n, "%sp%d %s", j ? " | " : "", j + 1,
				      m->pod_ip[i][j][0] ? m->pod_ip[i][j] : "-");
	lab_topo_edge(t, br, lab_topo_node(t, g, "pods", "%s", pods), "veths");
	lab_topo_edge(t, sw, ul, "underlay");
}

static int mn_show(struct lab *lab, struct topo *t)
{
	_cleanup_free_ struct mn_lab *m = calloc(1, sizeof(*m));
	int g, sw, shown;

	if (!m || mn_load(lab, m) < 0)
		return -EINVAL;
	snprintf(t->title, sizeof(t->title), "%s: %d nodes x %d pods, weft %s plugin (network %s)",
		 lab->sc->name, m->nodes, m->pods, m->plugin, lab->id);
	g = lab_topo_group(t, "host", "switch (%s)", m->sw);
	sw = lab_topo_node(t, g, "sw0", "bridge, underlay %s.0/24", MN_UNDERLAY_NET);
	shown = m->nodes < TOPO_MAX_GROUPS - 1 ? m->nodes : TOPO_MAX_GROUPS - 1;
	for (int i = 0; i < shown; i++)
		show_node(lab, m, t, sw, i);
	if (shown < m->nodes)
		lab_topo_note(t, "%d more nodes not drawn", m->nodes - shown);
	if (strcmp(m->plugin, "vxlan") == 0)
		lab_topo_note(
			t,
			"overlay: full mesh over UDP 4789, per peer 1 permanent neighbour + 1 "
			"FDB entry + 1 onlink route on weft.1 (VTEP MACs derived from the list)");
	else
		lab_topo_note(t,
			      "host-gw: per peer one route <podCIDR> via <nodeIP> dev ul0 (proto "
			      "0x57)");
	lab_topo_note(t, "peers: %s/nodes.json (NodeList); node state in %s/run-n<i>", lab->dir,
		      lab->dir);
	lab_topo_note(t, "try: ip -n %s route; ip -n %s neigh show nud permanent", m->node[0],
		      m->node[0]);
	return 0;
}

const struct scenario lab_hostgw = {
	.name = "host-gw",
	.origin = "Kubernetes pod networking across nodes: flannel-style host-gw routing",
	.summary = "N nodes on one L2 switch, M pods each, routes to peers' pod CIDRs (weft "
		   "host-gw); NETLAB_NODES/NETLAB_PODS",
	.up = mn_up,
	.verify = mn_verify,
	.show = mn_show,
};

const struct scenario lab_vxlan = {
	.name = "vxlan",
	.origin = "Kubernetes pod networking across nodes: a flannel-style vxlan overlay",
	.summary = "N nodes, M pods each, a vxlan overlay with static neigh/FDB/routes (weft "
		   "vxlan); NETLAB_NODES/NETLAB_PODS",
	.up = mn_up,
	.verify = mn_verify,
	.show = mn_show,
};

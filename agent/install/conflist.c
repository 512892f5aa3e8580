/* SPDX-License-Identifier: Apache-2.0 */
/* net-conf.json + node -> conflist. One weft plugin (the backend) chained with the reference
 * portmap (hostPort) and bandwidth (traffic shaping) plugins, as a kubelet's runtime expects. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/install/conflist.h"
#include "common/cleanup.h"
#include "common/cni/conf.h"
#include "common/inet.h"
#include "common/log.h"

static const char *const known_keys[] = {
	"name",	     "backend",	   "clusterCIDR",	"ipMasq", "mtu", "vni", "bridge", "portmap",
	"bandwidth", "cniVersion", "underlayInterface", NULL,
};

static int check_keys(const json_t *netconf, struct cni_err *err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)netconf, key, v)
	{
		size_t i = 0;

		while (known_keys[i] && strcmp(known_keys[i], key) != 0)
			i++;
		if (!known_keys[i])
			return cni_err_set(err, CNI_ERR_CONFIG, 0,
					   "net-conf.json: unknown key \"%.64s\"", key);
	}
	return 0;
}

bool conflist_multinode(const char *b)
{
	return strcmp(b, "host-gw") == 0 || strcmp(b, "vxlan") == 0 || strcmp(b, "ebpf") == 0;
}

static int check_backend(const char *b, struct cni_err *err)
{
	if (strcmp(b, "bridge") == 0 || conflist_multinode(b))
		return 0;
	return cni_err_set(err, CNI_ERR_CONFIG, 0,
			   "net-conf.json: \"backend\" is \"%.32s\"; use bridge, host-gw, vxlan or "
			   "ebpf",
			   b);
}

int conflist_peers_file(const char *dir, const char *network, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s-nodes.json", dir, network);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* ipam: host-local over the node's pod CIDRs, a default route per family. */
/* Multi-node backends route one pod CIDR per node: the one inside clusterCIDR is served, another
 * family's is left out with a warning (their peers carry one podCIDR). */
static bool served(const struct inet_prefix *p, const struct inet_prefix *cluster,
		   const struct node_info *node)
{
	if (!cluster || inet_prefix_contains(cluster, &p->addr))
		return true;
	if (p->addr.family != cluster->addr.family) {
		log_warn(
			"node %s: pod CIDR of the other family not served (host-gw, vxlan and ebpf "
			"across nodes are single-stack: the family of clusterCIDR)",
			node->name);
		return false;
	}
	return true; /* same family, outside: refused by the caller */
}

static int ipam_obj(const struct node_info *node, const struct inet_prefix *cluster, json_t *plugin,
		    struct cni_err *err)
{
	json_t *ranges = json_array(), *routes = json_array();

	for (int i = 0; i < 2 && node->pod_cidr[i]; i++) {
		struct inet_prefix p;

		if (inet_prefix_parse(node->pod_cidr[i], &p) < 0 || inet_prefix_has_host_bits(&p)) {
			json_decref(ranges);
			json_decref(routes);
			return cni_err_set(err, CNI_ERR_CONFIG, 0,
					   "node %s: pod CIDR \"%.64s\" is not a network prefix",
					   node->name, node->pod_cidr[i]);
		}
		if (!served(&p, cluster, node))
			continue;
		if (cluster && !inet_prefix_contains(cluster, &p.addr)) {
			json_decref(ranges);
			json_decref(routes);
			return cni_err_set(err, CNI_ERR_CONFIG, 0,
					   "node %s: pod CIDR %s is outside clusterCIDR",
					   node->name, node->pod_cidr[i]);
		}
		json_array_append_new(ranges, json_pack("[{ss}]", "subnet", node->pod_cidr[i]));
		json_array_append_new(routes, json_pack("{ss}", "dst",
							p.addr.family == 4 ? "0.0.0.0/0" : "::/0"));
	}
	if (!json_array_size(ranges)) {
		json_decref(ranges);
		json_decref(routes);
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "node %s has no pod CIDR (spec.podCIDR): the controller manager "
				   "allocates them with --allocate-node-cidrs and --cluster-cidr",
				   node->name);
	}
	json_object_set_new(
		plugin, "ipam",
		json_pack("{ss so so}", "type", "host-local", "ranges", ranges, "routes", routes));
	return 0;
}

/* Copies the optional key from net-conf when present (already type-checked). */
static void copy_opt(const json_t *netconf, json_t *plugin, const char *key)
{
	json_t *v = json_object_get(netconf, key);

	if (v && !json_is_null(v))
		json_object_set(plugin, key, v);
}

static int check_types(const json_t *nc, struct cni_err *err)
{
	const char *s;
	bool b;
	int64_t n;
	struct inet_prefix p;

	if (conf_str(nc, "name", CONF_OPTIONAL, &s, err) < 0 ||
	    conf_str(nc, "cniVersion", CONF_OPTIONAL, &s, err) < 0 ||
	    conf_str(nc, "bridge", CONF_OPTIONAL, &s, err) < 0 ||
	    conf_str(nc, "underlayInterface", CONF_OPTIONAL, &s, err) < 0 ||
	    conf_bool(nc, "ipMasq", CONF_OPTIONAL, &b, err) < 0 ||
	    conf_bool(nc, "portmap", CONF_OPTIONAL, &b, err) < 0 ||
	    conf_bool(nc, "bandwidth", CONF_OPTIONAL, &b, err) < 0 ||
	    conf_int(nc, "mtu", CONF_OPTIONAL, 576, 65535, &n, err) < 0 ||
	    conf_int(nc, "vni", CONF_OPTIONAL, 1, 16777215, &n, err) < 0 ||
	    conf_prefix(nc, "clusterCIDR", CONF_OPTIONAL, &p, err) < 0)
		return cni_err_wrap(err, "net-conf.json");
	return 0;
}

static int backend_plugin(const json_t *nc, const char *backend, const struct node_info *node,
			  const char *network, json_t *plugin, struct cni_err *err)
{
	char type[64], peers[256];
	bool masq = true;

	snprintf(type, sizeof(type), INSTALL_PREFIX "%s", backend);
	json_object_set_new(plugin, "type", json_string(type));
	(void)conf_bool(nc, "ipMasq", CONF_OPTIONAL, &masq, NULL);
	json_object_set_new(plugin, "ipMasq", json_boolean(masq));
	json_object_set_new(plugin, "isDefaultGateway", json_true());
	copy_opt(nc, plugin, "mtu");
	copy_opt(nc, plugin, "bridge");
	if (conflist_multinode(backend)) {
		if (!json_object_get(nc, "clusterCIDR"))
			return cni_err_set(err, CNI_ERR_CONFIG, 0,
					   "net-conf.json: backend %s needs \"clusterCIDR\" (the "
					   "controller manager's --cluster-cidr)",
					   backend);
		if (conflist_peers_file(node->peers_dir, network, peers, sizeof(peers)) < 0)
			return cni_err_set(err, CNI_ERR_CONFIG, 0, "network name is too long");
		json_object_set_new(plugin, "nodeName", json_string(node->name));
		json_object_set_new(plugin, "peersFile", json_string(peers));
		copy_opt(nc, plugin, "clusterCIDR");
		copy_opt(nc, plugin, "underlayInterface");
	}
	if (strcmp(backend, "vxlan") == 0 && !json_object_get(nc, "vni"))
		json_object_set_new(plugin, "vni", json_integer(1));
	else if (strcmp(backend, "vxlan") == 0)
		copy_opt(nc, plugin, "vni");
	if (conflist_multinode(backend)) {
		struct inet_prefix cluster;

		(void)conf_prefix(nc, "clusterCIDR", CONF_OPTIONAL, &cluster, NULL);
		return ipam_obj(node, &cluster, plugin, err);
	}
	return ipam_obj(node, NULL, plugin, err);
}

/* The reference portmap and bandwidth after weft's plugin. The ebpf backend shapes by itself
 * (the bandwidth capability on its own entry): the reference bandwidth plugin's egress
 * shaping needs an "ingress" qdisc on the host veth, where ebpf's clsact is. */
static void chain_refs(const json_t *nc, const char *backend, json_t *plugins)
{
	bool portmap = true, bandwidth = true;

	(void)conf_bool(nc, "portmap", CONF_OPTIONAL, &portmap, NULL);
	(void)conf_bool(nc, "bandwidth", CONF_OPTIONAL, &bandwidth, NULL);
	if (portmap)
		json_array_append_new(plugins,
				      json_pack("{ss s{sb} sb}", "type", "portmap", "capabilities",
						"portMappings", 1, "snat", 1));
	if (bandwidth && strcmp(backend, "ebpf") == 0)
		json_object_set_new(json_array_get(plugins, 0), "capabilities",
				    json_pack("{sb}", "bandwidth", 1));
	else if (bandwidth)
		json_array_append_new(plugins, json_pack("{ss s{sb}}", "type", "bandwidth",
							 "capabilities", "bandwidth", 1));
}

int conflist_build(const json_t *nc, const struct node_info *node, json_t **out,
		   struct cni_err *err)
{
	const char *backend = NULL, *name = "weft", *ver = "1.0.0";
	_cleanup_json_ json_t *plugin = json_object(), *list = NULL;
	int r;

	if (!json_is_object(nc))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "net-conf.json must be a JSON object");
	if (check_keys(nc, err) < 0 || check_types(nc, err) < 0)
		return -EINVAL;
	if (conf_str(nc, "backend", CONF_REQUIRED, &backend, err) < 0)
		return cni_err_wrap(err, "net-conf.json");
	if (check_backend(backend, err) < 0)
		return -EINVAL;
	(void)conf_str(nc, "name", CONF_OPTIONAL, &name, NULL);
	(void)conf_str(nc, "cniVersion", CONF_OPTIONAL, &ver, NULL);
	r = backend_plugin(nc, backend, node, name, plugin, err);
	if (r < 0)
		return r;
	list = json_pack("{ss ss s{ss ss} s[O]}", "cniVersion", ver, "name", name, INSTALL_MARK,
			 "version", node->version, "source", "the weft ConfigMap (net-conf.json)",
			 "plugins", plugin);
	if (!list)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	chain_refs(nc, backend, json_object_get(list, "plugins"));
	*out = json_incref(list);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The multi-node config keys (see overlay.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cni/conf.h"
#include "common/log.h"
#include "plugins/lib/overlay.h"

static int parse_node_name(const json_t *j, struct overlay_conf *o, struct cni_err *err)
{
	int r = conf_str_buf(j, "nodeName", CONF_OPTIONAL, o->node_name, sizeof(o->node_name), err);

	if (r < 0 || o->node_name[0])
		return r;
	if (gethostname(o->node_name, sizeof(o->node_name)) < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, errno,
				   "no \"nodeName\" and the host name is unknown");
	o->node_name[sizeof(o->node_name) - 1] = '\0';
	return 0;
}

static int parse_state_dir(const struct cni_args *a, struct overlay_conf *o, struct cni_err *err)
{
	char dir[PATH_MAX] = OVERLAY_DEFAULT_STATE_DIR;
	int r = conf_str_buf(a->conf, "stateDir", CONF_OPTIONAL, dir, sizeof(dir), err);

	if (r < 0)
		return r;
	if (dir[0] != '/')
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "invalid \"stateDir\": \"%s\" is not an absolute path", dir);
	if (snprintf(o->state_dir, sizeof(o->state_dir), "%s/%s", dir, a->name) >=
	    (int)sizeof(o->state_dir))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "\"stateDir\" too long");
	return 0;
}

/* The subnets this node's IPAM hands out, as it will (runtimeConfig.ipRanges included). An
 * IPAM plugin weft does not run in-process keeps its ranges to itself: nothing to check. */
static int local_ranges(const struct podnet_conf *pod, struct inet_prefix *ret, size_t max,
			struct cni_err *err)
{
	int n = ipam_subnets(pod->ipam, ret, max);

	if (n == -ENOTSUP) {
		log_warn("ipam type \"%s\" runs as its own plugin: peers are not checked against "
			 "its ranges",
			 ipam_type(pod->ipam));
		return 0;
	}
	return n < 0 ? cni_err_set(err, CNI_ERR_INTERNAL, -n, "local IPAM ranges") : n;
}

static int load_peers(const struct cni_args *a, struct overlay_conf *o,
		      const struct podnet_conf *pod, struct cni_err *err)
{
	struct inet_prefix local[OVERLAY_MAX_LOCAL];
	const json_t *inl = json_object_get(a->conf, "peers");
	const char *file = NULL;
	int r;

	r = conf_str(a->conf, "peersFile", CONF_OPTIONAL, &file, err);
	if (r < 0)
		return r;
	if (inl && file)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "give \"peers\" or \"peersFile\", not both");
	if (file)
		r = peers_load_file(file, &o->peers, err);
	else if (inl)
		r = peers_parse(inl, "peers", &o->peers, err);
	if (r < 0)
		return r;
	o->has_self = peers_take_self(&o->peers, o->node_name, &o->self) == 1;
	r = local_ranges(pod, local, OVERLAY_MAX_LOCAL, err);
	if (r < 0)
		return r;
	return peers_validate(&o->peers, o->has_self ? &o->self : NULL, local, (size_t)r, err);
}

static int parse_cluster(const struct cni_args *a, struct overlay_conf *o, struct podnet_conf *pod,
			 struct cni_err *err)
{
	int r;

	if (json_object_get(a->conf, "clusterCIDR")) {
		r = conf_prefix(a->conf, "clusterCIDR", CONF_OPTIONAL, &o->cluster_cidr, err);
		if (r < 0)
			return r;
		o->has_cluster = true;
		inet_prefix_network(&o->cluster_cidr, &pod->masq_exclude[0]);
		pod->n_masq_exclude = 1;
	}
	/* Without it every pod-to-pod packet across nodes would leave masqueraded. */
	if (pod->ip_masq && !o->has_cluster && a->command == CNI_CMD_ADD)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "\"ipMasq\" needs \"clusterCIDR\" (the pod addresses of all "
				   "nodes, not masqueraded)");
	return 0;
}

int overlay_parse(const struct cni_args *a, struct overlay_conf *o, struct podnet_conf *pod,
		  struct cni_err *err)
{
	int r;

	/* The nodes route through the bridge: it is the pods' gateway unless said otherwise. */
	if (!json_object_get(a->conf, "isGateway"))
		pod->is_gw = true;
	r = parse_node_name(a->conf, o, err);
	if (r >= 0)
		r = parse_state_dir(a, o, err);
	if (r >= 0)
		r = conf_str_buf(a->conf, "underlayInterface", CONF_OPTIONAL, o->underlay,
				 sizeof(o->underlay), err);
	if (r >= 0 && o->underlay[0] && !cni_valid_ifname(o->underlay))
		r = cni_err_set(err, CNI_ERR_CONFIG, 0, "invalid \"underlayInterface\": \"%s\"",
				o->underlay);
	if (r >= 0)
		r = parse_cluster(a, o, pod, err);
	if (r >= 0 && a->command == CNI_CMD_ADD)
		r = load_peers(a, o, pod, err);
	return r < 0 ? r : 0;
}

void overlay_conf_free(struct overlay_conf *o)
{
	peers_free(&o->peers);
	overlay_cache_free(o->cache);
	o->cache = NULL;
}

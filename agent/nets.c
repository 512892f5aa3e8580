/* SPDX-License-Identifier: Apache-2.0 */
/* The multi-node networks: found in the conf dir, kept current (see nets.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/nets.h"
#include "agent/peerset.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/nl/link.h"
#include "netns-tools/runtime/runtime.h"
#include "plugins/lib/overlay-remote.h"

static const char *const kind_names[] = {
	[NET_HOSTGW] = "host-gw", [NET_VXLAN] = "vxlan", [NET_EBPF] = "ebpf"};

static void net_free(struct agent_net *net)
{
	overlay_conf_free(&net->c.ov);
	peers_free(&net->want);
	podnet_conf_free(&net->c.pod);
	json_decref(net->conf);
	net_forget(net);
	free((char *)net->args.cni_version);
	free(net->name);
	free(net->source);
	free(net->peers_file);
	memset(net, 0, sizeof(*net));
}

void nets_free(struct agent_nets *n)
{
	for (size_t i = 0; i < n->n; i++)
		net_free(&n->v[i]);
	free(n->v);
	n->v = NULL;
	n->n = 0;
}

/* A plugin's type, "weft-" taken off (weft-install puts the plugins on a node as weft-<type>). */
static const char *plugin_type(const json_t *p)
{
	const char *type = json_string_value(json_object_get(p, "type"));

	return type && strncmp(type, "weft-", 5) == 0 ? type + 5 : type;
}

/* The index of the plugin weft-node manages in nc, or -1. */
static long managed_plugin(const struct rt_netconf *nc, enum net_kind *ret)
{
	const json_t *p;
	size_t i;

	json_array_foreach(nc->plugins, i, p)
	{
		const char *type = plugin_type(p);

		for (int k = 0; type && k < (int)ARRAY_SIZE(kind_names); k++) {
			if (strcmp(type, kind_names[k]) != 0)
				continue;
			if (json_is_string(json_object_get(p, "peersFile"))) {
				*ret = (enum net_kind)k;
				return (long)i;
			}
			if (json_object_get(p, "peers"))
				log_info("network %s (%s): inline \"peers\": nothing for weft-node "
					 "to keep current",
					 nc->name, nc->source);
		}
	}
	return -1;
}

static int parse(struct agent_net *net, struct cni_err *err)
{
	int r = podnet_parse(&net->args, &net->c.pod, err), n;

	if (r >= 0)
		r = overlay_parse(&net->args, &net->c.ov, &net->c.pod, err);
	if (r >= 0 && net->kind == NET_VXLAN)
		r = vxlan_conf_parse_keys(net->conf, &net->c, err);
	net->c.move_local = net->kind == NET_VXLAN; /* the API's word on this node's IP */
	if (r < 0)
		return r;
	n = ipam_subnets(net->c.pod.ipam, net->local, OVERLAY_MAX_LOCAL);
	net->n_local = n > 0 ? (size_t)n : 0;
	return 0;
}

static void read_file_digest(struct agent_net *net)
{
	struct peers p = {0};

	if (peers_load_file(net->peers_file, &p, NULL) >= 0)
		peers_digest(&p, NULL, "", net->file_digest);
	peers_free(&p);
}

static int net_open(struct agent_net *net, const struct rt_netconf *nc, size_t i,
		    enum net_kind kind, const char *self, struct cni_err *err)
{
	int r = rt_netconf_plugin_stdin(nc, i, NULL, NULL, &net->conf, err);

	net->kind = kind;
	if (r < 0)
		return r;
	net->name = strdup(nc->name);
	net->source = strdup(nc->source ? nc->source : "");
	net->peers_file = strdup(json_string_value(json_object_get(net->conf, "peersFile")));
	net->args.cni_version = strdup(nc->cni_version);
	if (!net->name || !net->source || !net->peers_file || !net->args.cni_version)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "network");
	net->args = (struct cni_args){.command = CNI_CMD_STATUS,
				      .container_id = "",
				      .netns = "",
				      .ifname = "",
				      .cni_args = "",
				      .path = "",
				      .conf = net->conf,
				      .cni_version = net->args.cni_version,
				      .name = net->name};
	r = parse(net, err);
	if (r < 0)
		return r;
	net->c.ov.cache = overlay_cache_new();
	if (!net->c.ov.cache)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "network");
	if (strcmp(net->c.ov.node_name, self) != 0)
		log_warn("network %s: the plugin's node name is \"%s\", weft-node's \"%s\": set "
			 "\"nodeName\" in %s or run weft-node with --node-name %s",
			 net->name, net->c.ov.node_name, self, net->source, net->c.ov.node_name);
	read_file_digest(net);
	log_info("network %s (%s, %s): peersFile %s, state %s", net->name, kind_names[kind],
		 net->source, net->peers_file, net->c.ov.state_dir);
	return 0;
}

static bool have_name(const struct agent_nets *nets, const char *name)
{
	for (size_t i = 0; i < nets->n; i++)
		if (strcmp(nets->v[i].name, name) == 0)
			return true;
	return false;
}

static int load_file(const char *path, const char *self, struct agent_nets *nets,
		     struct cni_err *err)
{
	_cleanup_netconf_ struct rt_netconf *nc = NULL;
	struct cni_err e = {0};
	struct agent_net *v;
	const char *ext = strrchr(path, '.');
	enum net_kind kind;
	long i;
	int r;

	r = ext && strcmp(ext, ".conflist") == 0 ? rt_netconf_from_file(path, &nc, &e)
						 : rt_netconf_from_plugin_file(path, &nc, &e);
	if (r < 0) {
		log_warn("%s (ignored)", e.msg);
		return 0;
	}
	if (have_name(nets, nc->name) || (i = managed_plugin(nc, &kind)) < 0)
		return 0;
	v = realloc(nets->v, (nets->n + 1) * sizeof(*v));
	if (!v)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "networks");
	nets->v = v;
	memset(&v[nets->n], 0, sizeof(*v));
	r = net_open(&v[nets->n], nc, (size_t)i, kind, self, &e);
	if (r < 0) {
		log_warn("network %s (%s): %s (ignored)", nc->name, path, e.msg);
		net_free(&v[nets->n]);
		return 0;
	}
	nets->n++;
	return 0;
}

int nets_load(const char *dir, const char *self, struct agent_nets *ret, struct cni_err *err)
{
	char **files = NULL;
	size_t n = 0;
	int r = rt_netconf_files(dir, &files, &n, err);

	for (size_t i = 0; r >= 0 && i < n; i++)
		r = load_file(files[i], self, ret, err);
	rt_netconf_files_free(files, n);
	return r;
}

void net_forget(struct agent_net *net)
{
	for (size_t i = 0; i < net->n_onlink; i++)
		free(net->onlink[i].why);
	free(net->onlink);
	net->onlink = NULL;
	net->n_onlink = 0;
}

static void refuse(json_t *reasons, const char *name, const char *why)
{
	if (!json_object_get(reasons, name))
		json_object_set_new(reasons, name, json_string(why));
}

/* The last round's verdict for ip, moved out: the next one in order (the peers come sorted by
 * name as they did, and no two have one IP), else searched for further on, the verdicts
 * passed over dropped (their nodes went). *j: where to look next. */
static bool onlink_old(struct agent_net *net, size_t *j, const struct inet_addr *ip,
		       struct onlink *ret)
{
	for (size_t k = *j; k < net->n_onlink; k++) {
		if (!inet_addr_eq(&net->onlink[k].ip, ip))
			continue;
		*ret = net->onlink[k];
		net->onlink[k].why = NULL;
		for (; *j < k; (*j)++) {
			free(net->onlink[*j].why);
			net->onlink[*j].why = NULL;
		}
		*j = k + 1;
		return true;
	}
	return false;
}

/* A new verdict for p in *o, its text without the node's name (the reason is filed under it).
 * Out of memory for the text: o->ip cleared, so it is not kept (err->msg says why). */
static void onlink_check(struct overlay_routes *n, const struct peer *p, struct onlink *o,
			 struct cni_err *err)
{
	const char *cut;

	if (overlay_routes_oif(n, p, err) >= 0)
		return;
	cut = strncmp(err->msg, "node \"", 6) == 0 ? strstr(err->msg, "\": ") : NULL;
	o->why = strdup(cut ? cut + 3 : err->msg);
	if (!o->why)
		o->ip.family = 0;
}

/* host-gw, ebpf: peers whose node IP is not on-link are left out (checked once per node IP: the
 * verdicts are kept from round to round, walked along with the peers). */
static void onlink_filter(struct agent_net *net, struct overlay_routes *n, struct peers *want,
			  json_t *reasons)
{
	size_t k = 0, j = 0, total = want->n;
	struct onlink *v = calloc(total + 1, sizeof(*v));

	for (size_t i = 0; i < total; i++) {
		const struct peer *p = &want->v[i];
		struct onlink o = {.ip = p->node_ip};
		struct cni_err e = {0};

		if (!onlink_old(net, &j, &p->node_ip, &o))
			onlink_check(n, p, &o, &e);
		if (o.why || !o.ip.family)
			refuse(reasons, p->name, o.why ? o.why : e.msg);
		else
			want->v[k++] = *p;
		if (v && o.ip.family)
			v[i] = o;
		else
			free(o.why);
	}
	net_forget(net);
	net->onlink = v;
	net->n_onlink = v ? total : 0;
	want->n = k;
}

/* vxlan: peers of another family than this node's underlay address are left out. */
static void family_filter(const struct vxlan_dev *dev, struct peers *want, json_t *reasons)
{
	char ip[INET6_ADDRSTRLEN], why[128];
	size_t k = 0;

	for (size_t i = 0; i < want->n; i++) {
		if (want->v[i].node_ip.family == dev->local.family) {
			want->v[k++] = want->v[i];
			continue;
		}
		snprintf(why, sizeof(why),
			 "status.addresses InternalIP %s is not of this node's underlay family",
			 inet_addr_fmt(&want->v[i].node_ip, ip, sizeof(ip)));
		refuse(reasons, want->v[i].name, why);
	}
	want->n = k;
}

static int write_text(struct agent_net *net, const struct peers *want, const struct peer *self,
		      struct cni_err *err)
{
	_cleanup_free_ char *t = malloc((want->n + 2) * PEER_JSON_MAX);
	_cleanup_free_ char *dir = strdup(net->peers_file);
	char *end;
	int r;

	if (!t || !dir)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "peers");
	end = peers_json_write(t, want, self);
	if (strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';
	r = fs_mkdir_p(dir[0] ? dir : "/", 0755);
	if (r >= 0)
		r = fs_write_atomic_nosync(net->peers_file, t, (size_t)(end - t), 0644);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "write peersFile \"%s\"", net->peers_file);
	log_info("network %s: wrote %s (%zu nodes)", net->name, net->peers_file, want->n + !!self);
	return 0;
}

/* The peersFile: this node's peers and itself, written when its digest changed. 1: written. */
static int write_file(struct agent_net *net, const struct peers *want, struct cni_err *err)
{
	const struct peer *self = net->c.ov.has_self ? &net->c.ov.self : NULL;
	char d[17];
	int r;

	peers_digest(want, self, "", d);
	if (strcmp(d, net->file_digest) == 0)
		return 0;
	r = write_text(net, want, self, err);
	if (r < 0)
		return r;
	memcpy(net->file_digest, d, sizeof(d));
	return 1;
}

/* The set passes the plugins' own validation, then goes to the file. Of peers_validate, the
 * pairs (no two pod CIDRs overlap, no two nodes share an IP) and the local ranges (no peer's pod
 * CIDR overlaps them) hold by construction: peerset_filter left no clashing pair of the
 * cluster, this node included, and peerset_scope no peer overlapping a local range
 * (test-peerset checks both against peers_validate). */
static int validate_write(struct agent_net *net, const struct peers *want, struct cni_err *err)
{
	const struct overlay_conf *ov = &net->c.ov;
	int r = peers_validate_self(ov->has_self ? &ov->self : NULL, net->local, net->n_local, err);

	return r < 0 ? cni_err_wrap(err, "peer set refused") : write_file(net, want, err);
}

static int reconciled(int file, int node)
{
	return node < 0 ? node : file > 0 || node > 0;
}

/* host-gw and ebpf: peers not on-link left out, then the peersFile written. */
static int onlink_write(struct agent_net *net, struct overlay_routes *rt, struct peers *want,
			json_t *reasons, struct cni_err *err)
{
	onlink_filter(net, rt, want, reasons);
	return validate_write(net, want, err);
}

/* ... then the reconcile (no prepare: every peer left is on-link). */
static int apply_routed(struct agent_net *net, struct overlay_routes *rt, const char *params,
			struct overlay_ops *ops, struct peers *want, json_t *reasons,
			struct cni_err *err)
{
	struct overlay_conf *ov = &net->c.ov;
	int r, f;

	ops->prepare = NULL;
	r = f = onlink_write(net, rt, want, reasons, err);
	if (r >= 0) {
		ov->peers = *want; /* borrowed */
		r = overlay_reconcile(ov, params, ops, err);
		ov->peers = (struct peers){0};
	}
	return reconciled(f, r);
}

/* host-gw's node routes and reconcile ops, the plugin's (plugins/host-gw/node.c). */
static int hostgw_open(struct agent_net *net, struct overlay_routes *n, struct overlay_ops *ops,
		       char *params, size_t len, struct cni_err *err)
{
	int r = overlay_routes_open(n, net->c.ov.underlay, "host-gw", err);

	if (r < 0)
		return r;
	overlay_routes_ops(n, &net->c.ov, ops);
	overlay_routes_params(n, params, len);
	return 0;
}

static int apply_hostgw(struct agent_net *net, struct peers *want, json_t *reasons,
			struct cni_err *err)
{
	struct overlay_ops ops;
	struct overlay_routes n;
	char params[128];
	int r = hostgw_open(net, &n, &ops, params, sizeof(params), err);

	if (r < 0)
		return r;
	r = apply_routed(net, &n, params, &ops, want, reasons, err);
	overlay_routes_close(&n);
	return r;
}

static const char *pin_root(const struct agent_net *net)
{
	return json_string_value(json_object_get(net->conf, "pinRoot")) ?: "";
}

/* The network's remote map into *map; 0 with *map -1 when no pod of it has pinned the datapath
 * on this node yet (said once: net->unpinned). */
static int remote_map(struct agent_net *net, int *map, struct cni_err *err)
{
	struct cni_err e = {0};
	int r = overlay_remote_map_open(pin_root(net), net->name, map, &e);

	if (r == -ENOENT) {
		if (!net->unpinned)
			log_info("network %s: %s: no pod here yet, the peersFile only (the first "
				 "pod's ADD applies it)",
				 net->name, e.msg);
		net->unpinned = true;
		return 0;
	}
	if (r < 0)
		*err = e;
	else
		net->unpinned = false;
	return r;
}

/* The routes and, when pinned, the remote map of an ebpf network, with their parameters and
 * ops (the map, -1 when not pinned, is the caller's to close; n to overlay_remote_close). */
static int ebpf_open(struct agent_net *net, int *map, struct overlay_remote *n, char *params,
		     size_t len, struct overlay_ops *ops, struct cni_err *err)
{
	int r = remote_map(net, map, err);

	if (r >= 0)
		r = overlay_remote_open(n, *map, net->c.ov.underlay, err);
	if (r < 0)
		return r;
	overlay_remote_params(n, params, len);
	overlay_remote_ops(n, &net->c.ov, ops);
	return 0;
}

/* Pinned: as host-gw, with the map entries. Not pinned (no pod here yet): the on-link peers
 * into the peersFile only, which the first pod's ADD applies. */
static int apply_ebpf(struct agent_net *net, struct peers *want, json_t *reasons,
		      struct cni_err *err)
{
	_cleanup_close_ int map = -1;
	struct overlay_remote n;
	struct overlay_ops ops;
	char params[160];
	int r = ebpf_open(net, &map, &n, params, sizeof(params), &ops, err);

	if (r < 0)
		return r;
	if (map >= 0)
		r = apply_routed(net, &n.rt, params, &ops, want, reasons, err);
	else
		r = onlink_write(net, &n.rt, want, reasons, err);
	overlay_remote_close(&n);
	return r;
}

static int apply_vxlan(struct agent_net *net, struct peers *want, json_t *reasons,
		       struct cni_err *err)
{
	_cleanup_nl_ struct nl *nl = NULL;
	struct overlay_conf *ov = &net->c.ov;
	struct vxlan_dev dev = {0};
	int r = nl_open(&nl, NL_NETNS_SELF, err), f = 0;

	ov->peers = *want; /* borrowed: the underlay may be found from the first peer */
	if (r >= 0)
		r = vxlan_dev_ensure(nl, net->name, &net->c, &dev, err);
	ov->peers = (struct peers){0};
	if (r >= 0) {
		family_filter(&dev, want, reasons);
		r = f = validate_write(net, want, err);
	}
	if (r >= 0) {
		ov->peers = *want;
		r = vxlan_node_ensure(nl, net->name, &net->c, &dev, err);
		ov->peers = (struct peers){0};
	}
	return reconciled(f, r);
}

int net_apply(struct agent_net *net, const struct peers *all, json_t *reasons, struct cni_err *err)
{
	struct overlay_conf *ov = &net->c.ov;
	struct peers want = net->want; /* its array reused from round to round */
	long si = peers_find(all, ov->node_name);
	int r;

	ov->has_self = si >= 0;
	if (ov->has_self)
		ov->self = all->v[si];
	r = peerset_scope(all, ov->node_name, ov->has_cluster ? &ov->cluster_cidr : NULL,
			  net->local, net->n_local, &want, reasons, err);
	if (r >= 0 && net->kind == NET_HOSTGW)
		r = apply_hostgw(net, &want, reasons, err);
	else if (r >= 0 && net->kind == NET_VXLAN)
		r = apply_vxlan(net, &want, reasons, err);
	else if (r >= 0)
		r = apply_ebpf(net, &want, reasons, err);
	net->want = want;
	return r < 0 ? cni_err_wrap(err, "network %s", net->name) : r;
}

static int cleanup_hostgw(struct agent_net *net, struct cni_err *err)
{
	struct overlay_ops ops;
	struct overlay_routes n;
	char params[128];
	int r = hostgw_open(net, &n, &ops, params, sizeof(params), err);

	if (r < 0)
		return r;
	r = overlay_reconcile(&net->c.ov, params, &ops, err);
	overlay_routes_close(&n);
	return r;
}

static int cleanup_vxlan(struct agent_net *net, struct cni_err *err)
{
	_cleanup_nl_ struct nl *nl = NULL;
	struct vxlan_dev dev = {0};
	struct cni_err e = {0};
	int r = nl_open(&nl, NL_NETNS_SELF, err);

	if (r < 0)
		return r;
	if (vxlan_dev_check(nl, net->name, &net->c, &dev, &e) < 0) {
		log_info("network %s: %s: no entries to remove", net->name, e.msg);
		return 0;
	}
	return vxlan_node_ensure(nl, net->name, &net->c, &dev, err);
}

/* The routes and map entries of applied.json; with nothing pinned, the routes alone (other
 * parameters than applied: overlay_reconcile removes every entry it knows). */
static int cleanup_ebpf(struct agent_net *net, struct cni_err *err)
{
	_cleanup_close_ int map = -1;
	struct overlay_remote n;
	struct overlay_ops ops;
	char params[160];
	int r = ebpf_open(net, &map, &n, params, sizeof(params), &ops, err);

	if (r < 0)
		return r;
	r = overlay_reconcile(&net->c.ov, params, &ops, err);
	overlay_remote_close(&n);
	return r;
}

static void unlink_state(const struct agent_net *net, const char *name)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", net->c.ov.state_dir, name);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("remove %s: %m", path);
}

int net_cleanup(struct agent_net *net, struct cni_err *err)
{
	int r = 0;

	net->c.ov.has_self = false;
	if (net->kind == NET_HOSTGW)
		r = cleanup_hostgw(net, err);
	else if (net->kind == NET_VXLAN)
		r = cleanup_vxlan(net, err);
	else
		r = cleanup_ebpf(net, err);
	if (r < 0)
		return cni_err_wrap(err, "network %s", net->name);
	unlink_state(net, "applied.json");
	unlink_state(net, "applied.log");
	unlink_state(net, "digest");
	if (unlink(net->peers_file) < 0 && errno != ENOENT)
		log_warn("remove %s: %m", net->peers_file);
	log_info("network %s: node-level entries, state and %s removed", net->name,
		 net->peers_file);
	return 0;
}

/* The ebpf plugin of nc ({"network", "pinRoot"}) added to ret, when it has one. */
static void ebpf_of(const struct rt_netconf *nc, json_t *ret)
{
	const json_t *p;
	size_t i;

	json_array_foreach(nc->plugins, i, p)
	{
		const char *type = plugin_type(p);

		if (type && strcmp(type, "ebpf") == 0)
			json_array_append_new(
				ret,
				json_pack("{s:s, s:s}", "network", nc->name, "pinRoot",
					  json_string_value(json_object_get(p, "pinRoot")) ?: ""));
	}
}

json_t *nets_ebpf(const char *dir)
{
	json_t *ret = json_array();
	char **files = NULL;
	size_t n = 0;

	if (!ret || rt_netconf_files(dir, &files, &n, NULL) < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		_cleanup_netconf_ struct rt_netconf *nc = NULL;
		const char *ext = strrchr(files[i], '.');
		int r = ext && strcmp(ext, ".conflist") == 0
				? rt_netconf_from_file(files[i], &nc, NULL)
				: rt_netconf_from_plugin_file(files[i], &nc, NULL);

		if (r >= 0)
			ebpf_of(nc, ret);
	}
	rt_netconf_files_free(files, n);
	return ret;
}

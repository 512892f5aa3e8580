/* SPDX-License-Identifier: Apache-2.0 */
/* The node level of a multi-node ebpf network: per other node the route "<podCIDR> via
 * <nodeIP>" (the host stack's path: replies, NAT, anything the program passes on) and the
 * remote map entry podCIDR -> (underlay ifindex, nodeIP) the program sends pod traffic with,
 * both reconciled against the peer set under the overlay lock (plugins/lib/overlay.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "common/bpf/tc.h"
#include "plugins/ebpf/ebpf.h"
#include "plugins/lib/overlay-routes.h"

/* rt first: overlay_routes_prepare takes the same ctx as a struct overlay_routes. */
struct ebpf_node {
	struct overlay_routes rt;
	int map; /* the remote map */
};

static void remote_key(const struct peer *p, struct weft_remote_key *key)
{
	struct weft_ep_key k;

	ebpf_dp_key_of(&p->pod_cidr.addr, &k);
	memset(key, 0, sizeof(*key));
	memcpy(key->addr, k.addr, sizeof(key->addr));
	key->prefixlen = p->pod_cidr.len + (p->pod_cidr.addr.family == AF_INET ? 96u : 0u);
}

static int peer_add(void *ctx, const struct peer *p, struct cni_err *err)
{
	struct ebpf_node *n = ctx;
	struct weft_remote val = {.family = (uint32_t)p->node_ip.family};
	struct weft_remote_key key;
	int oif = overlay_routes_oif(&n->rt, p, err), r;

	if (oif < 0)
		return oif;
	r = overlay_routes_add(&n->rt, p, err);
	if (r < 0)
		return r;
	val.ifindex = (uint32_t)oif;
	memcpy(val.nh, p->node_ip.bytes, p->node_ip.family == AF_INET6 ? 16 : 4);
	remote_key(p, &key);
	if (bpf_map_update_elem(n->map, &key, &val, BPF_ANY) < 0)
		return cni_err_set(err, CNI_ERR_BPF, errno, "add node \"%s\" to the remote map",
				   p->name);
	return 0;
}

static int peer_del(void *ctx, const struct peer *p, struct cni_err *err)
{
	struct ebpf_node *n = ctx;
	struct weft_remote_key key;

	remote_key(p, &key);
	if (bpf_map_delete_elem(n->map, &key) < 0 && errno != ENOENT)
		return cni_err_set(err, CNI_ERR_BPF, errno,
				   "remove node \"%s\" from the remote map", p->name);
	return overlay_routes_del(&n->rt, p, err);
}

int ebpf_node_ensure(const struct ebpf_conf *conf, const struct ebpf_dp *dp, struct cni_err *err)
{
	struct ebpf_node n = {.map = dp->fd[EBPF_PIN_REMOTE]};
	struct overlay_ops ops = {.ctx = &n,
				  .prepare = overlay_routes_prepare,
				  .peer_add = peer_add,
				  .peer_del = peer_del};
	char params[96];
	uint32_t id = 0;
	int r;

	/* The map's id goes into the digest: maps pinned anew (after a cleanup) are refilled. */
	r = bpftc_map_id(n.map, &id, err);
	if (r >= 0)
		r = overlay_routes_open(&n.rt, conf->ov.underlay, "ebpf", err);
	if (r < 0)
		return r;
	snprintf(params, sizeof(params), "ebpf underlay=%s/%d remote-map=%u", conf->ov.underlay,
		 n.rt.underlay, id);
	r = overlay_reconcile(&conf->ov, params, &ops, err);
	overlay_routes_close(&n.rt);
	if (r < 0)
		return cni_err_wrap(err, "ebpf node routes");
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Routes and remote map entries of a multi-node ebpf network (see overlay-remote.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <stdlib.h>

#include "bpf/include/cni-bpf.h"
#include "common/bpf/tc.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "plugins/lib/bpfkey.h"
#include "plugins/lib/overlay-remote.h"

int overlay_remote_open(struct overlay_remote *n, int map, const char *underlay,
			struct cni_err *err)
{
	int r = 0;

	n->map = map;
	n->map_id = 0;
	if (map >= 0)
		r = bpftc_map_id(map, &n->map_id, err);
	if (r >= 0)
		r = overlay_routes_open(&n->rt, underlay, "ebpf", err);
	return r;
}

void overlay_remote_close(struct overlay_remote *n)
{
	overlay_routes_close(&n->rt);
}

void overlay_remote_params(const struct overlay_remote *n, char *buf, size_t len)
{
	snprintf(buf, len, "ebpf underlay=%s/%d remote-map=%u", n->rt.underlay_name, n->rt.underlay,
		 n->map_id);
}

static void remote_key(const struct peer *p, struct weft_remote_key *key)
{
	memset(key, 0, sizeof(*key));
	bpfkey_of(&p->pod_cidr.addr, key->addr);
	key->prefixlen = p->pod_cidr.len + bpfkey_bits_above(&p->pod_cidr.addr);
}

static int peer_add(void *ctx, const struct peer *p, struct cni_err *err)
{
	struct overlay_remote *n = ctx;
	struct weft_remote val = {.family = (uint32_t)p->node_ip.family};
	struct weft_remote_key key;
	int oif = overlay_routes_oif(&n->rt, p, err), r;

	if (oif < 0)
		return oif;
	r = overlay_routes_add(&n->rt, p, err);
	if (r < 0 || n->map < 0)
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
	struct overlay_remote *n = ctx;
	struct weft_remote_key key;

	remote_key(p, &key);
	if (n->map >= 0 && bpf_map_delete_elem(n->map, &key) < 0 && errno != ENOENT)
		return cni_err_set(err, CNI_ERR_BPF, errno,
				   "remove node \"%s\" from the remote map", p->name);
	return overlay_routes_del(&n->rt, p, err);
}

static bool key_wanted(const struct weft_remote_key *k, const struct peers *want)
{
	struct weft_remote_key w;

	for (size_t i = 0; i < want->n; i++) {
		remote_key(&want->v[i], &w);
		if (memcmp(&w, k, sizeof(w)) == 0)
			return true;
	}
	return false;
}

static const char *key_fmt(const struct weft_remote_key *k, char *buf, size_t len)
{
	struct inet_prefix p;

	bpfkey_addr(k->addr, &p.addr);
	p.len = (uint8_t)(k->prefixlen - bpfkey_bits_above(&p.addr));
	return inet_prefix_fmt(&p, buf, len);
}

/* Every key first (deleting while walking would restart the walk), then the unwanted ones. */
static int map_sweep(const struct overlay_remote *n, const struct peers *want, struct cni_err *err)
{
	_cleanup_free_ struct weft_remote_key *keys = calloc(WEFT_REMOTE_MAX, sizeof(*keys));
	struct weft_remote_key *prev = NULL;
	char cidr[INET_PREFIX_STRLEN];
	size_t nk = 0;

	if (!keys)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "sweep the remote map");
	while (nk < WEFT_REMOTE_MAX && bpf_map_get_next_key(n->map, prev, &keys[nk]) == 0)
		prev = &keys[nk++];
	if (errno != ENOENT && nk < WEFT_REMOTE_MAX)
		return cni_err_set(err, CNI_ERR_BPF, errno, "walk the remote map");
	for (size_t i = 0; i < nk; i++) {
		if (key_wanted(&keys[i], want))
			continue;
		if (bpf_map_delete_elem(n->map, &keys[i]) < 0 && errno != ENOENT)
			return cni_err_set(err, CNI_ERR_BPF, errno, "sweep the remote map");
		log_warn("ebpf: removed remote map entry %s: no node has it now (the applied state "
			 "was lost)",
			 key_fmt(&keys[i], cidr, sizeof(cidr)));
	}
	return 0;
}

/* The map is this network's alone: every entry no peer has goes. Routes: as host-gw's. */
static int sweep(void *ctx, const struct peers *want, struct cni_err *err)
{
	struct overlay_remote *n = ctx;
	int r = overlay_routes_sweep(&n->rt, want, err);

	return r < 0 || n->map < 0 ? r : map_sweep(n, want, err);
}

void overlay_remote_ops(struct overlay_remote *n, const struct overlay_conf *o,
			struct overlay_ops *ret)
{
	n->rt.scope = o->has_cluster ? &o->cluster_cidr : NULL;
	*ret = (struct overlay_ops){.ctx = n,
				    .prepare = overlay_routes_prepare,
				    .peer_add = peer_add,
				    .peer_del = peer_del,
				    .sweep = sweep};
}

int overlay_remote_map_open(const char *pin_root, const char *network, int *ret,
			    struct cni_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int r = bpftc_net_dir(pin_root, network, false, dir, sizeof(dir), err);

	if (r >= 0)
		r = bpftc_pin_path(dir, WEFT_PIN("remote"), path, sizeof(path), err);
	if (r < 0)
		return r;
	*ret = bpf_obj_get(path);
	if (*ret < 0)
		return cni_err_set(err, CNI_ERR_BPF, errno, "open pinned '%s'", path);
	return 0;
}

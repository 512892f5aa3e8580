/* SPDX-License-Identifier: Apache-2.0 */
/* The shared datapath of one network in one host netns: programs and maps pinned under
 * <pinRoot>/<network>/. The first ADD loads and pins them under the directory's lock; every
 * later invocation only opens the pins (no ELF parsing, no verifier run). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/bpf/maps.h"
#include "common/bpf/tc.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "plugins/ebpf/ebpf.h"
#include "plugins/lib/bpfkey.h"
#include "common/log.h"

#include "cni_ebpf.skel.h"

/* bpffs refuses '.' in names, hence the underscores. Maps are shared by every plugin build
 * with the same map layout (WEFT_BPF_ABI); programs are pinned per build ("from_pod_v4_<hash
 * of the embedded object>"), so an upgraded plugin attaches its own program to new pods while
 * running pods keep theirs, all on the same maps. */
static const char *const map_names[] = {
	[EBPF_PIN_EPS] = WEFT_PIN("endpoints"),	    [EBPF_PIN_LINKS] = WEFT_PIN("links"),
	[EBPF_PIN_STATS] = WEFT_PIN("stats"),	    [EBPF_PIN_META] = WEFT_PIN("meta"),
	[EBPF_PIN_REMOTE] = WEFT_PIN("remote"),	    [EBPF_PIN_POLICY] = WEFT_PIN("policy"),
	[EBPF_PIN_POLPORTS] = WEFT_PIN("polports"), [EBPF_PIN_CT] = WEFT_PIN("conntrack"),
	[EBPF_PIN_POLPODS] = WEFT_PIN("polpods"),
};

static uint32_t object_hash(void)
{
	size_t n = 0;
	const uint8_t *p = cni_ebpf_bpf__elf_bytes(&n);
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Pin file name of one object ("endpoints_v4", ..., "from_pod_v4_<8 hex of the object>"). */
static const char *ebpf_pin_name(enum ebpf_pin pin)
{
	static char progs[2][32];

	if (pin < EBPF_PIN_FROM_POD)
		return map_names[pin];
	if (!progs[0][0]) {
		uint32_t h = object_hash();

		snprintf(progs[0], sizeof(progs[0]), WEFT_PIN("from_pod") "_%08x", h);
		snprintf(progs[1], sizeof(progs[1]), WEFT_PIN("to_pod") "_%08x", h);
	}
	return progs[pin - EBPF_PIN_FROM_POD];
}

void ebpf_dp_close(struct ebpf_dp *dp)
{
	for (size_t i = 0; i < EBPF_PIN_N; i++) {
		if (dp->fd[i] >= 0)
			close(dp->fd[i]);
		dp->fd[i] = -1;
	}
}

/* Opens the pins: the maps, and the programs when progs is set; -ENOENT (err set) when one is
 * missing. DEL, GC and stats need the maps only (they work with any build's programs). */
static int dp_get(struct ebpf_dp *dp, bool progs, struct cni_err *err)
{
	size_t n = progs ? EBPF_PIN_N : EBPF_PIN_FROM_POD;
	char path[PATH_MAX];
	int r;

	for (size_t i = 0; i < n; i++) {
		r = bpftc_pin_path(dp->dir, ebpf_pin_name(i), path, sizeof(path), err);
		if (r < 0)
			return r;
		if (dp->fd[i] >= 0)
			continue;
		dp->fd[i] = bpf_obj_get(path);
		if (dp->fd[i] < 0) {
			r = -errno;
			ebpf_dp_close(dp);
			return cni_err_set(err, r == -ENOENT ? CNI_ERR_INTERNAL : CNI_ERR_BPF, -r,
					   "open pinned '%s'", path);
		}
	}
	return 0;
}

static int pin_maps(struct cni_ebpf_bpf *skel, const char *dir, struct cni_err *err)
{
	struct bpf_map *maps[EBPF_PIN_FROM_POD] = {[EBPF_PIN_EPS] = skel->maps.weft_eps,
						   [EBPF_PIN_LINKS] = skel->maps.weft_links,
						   [EBPF_PIN_STATS] = skel->maps.weft_stats,
						   [EBPF_PIN_META] = skel->maps.weft_meta,
						   [EBPF_PIN_REMOTE] = skel->maps.weft_remote,
						   [EBPF_PIN_POLICY] = skel->maps.weft_policy,
						   [EBPF_PIN_POLPORTS] = skel->maps.weft_polports,
						   [EBPF_PIN_CT] = skel->maps.weft_ct,
						   [EBPF_PIN_POLPODS] = skel->maps.weft_polpods};
	char path[PATH_MAX];
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
		r = bpftc_pin_path(dir, ebpf_pin_name(i), path, sizeof(path), err);
		if (r < 0)
			return r;
		/* Reused when pinned already (libbpf checks the layout), else created + pinned. */
		r = bpf_map__set_pin_path(maps[i], path);
		if (r < 0)
			return cni_err_set(err, CNI_ERR_BPF, -r, "pin path '%s'", path);
	}
	return 0;
}

static int pin_prog(struct bpf_program *prog, const char *dir, enum ebpf_pin pin,
		    struct cni_err *err)
{
	char path[PATH_MAX];
	int r;

	r = bpftc_pin_path(dir, ebpf_pin_name(pin), path, sizeof(path), err);
	if (r < 0)
		return r;
	if (access(path, F_OK) == 0)
		return 0; /* pinned by an earlier, interrupted load: its maps are the same pins */
	r = bpf_program__pin(prog, path);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_BPF, -r, "pin program '%s'", path);
	return 0;
}

/* Program pins whose maps are not all pinned any more (removed by hand) point at maps nobody
 * else sees: drop them so the programs loaded next, bound to the new maps, get pinned. */
static void drop_orphan_progs(const char *dir)
{
	const enum ebpf_pin progs[] = {EBPF_PIN_FROM_POD, EBPF_PIN_TO_POD};
	char path[PATH_MAX];
	bool all = true;

	for (size_t i = 0; i < EBPF_PIN_FROM_POD; i++)
		all &= bpftc_pin_path(dir, ebpf_pin_name(i), path, sizeof(path), NULL) == 0 &&
		       access(path, F_OK) == 0;
	for (size_t i = 0; !all && i < ARRAY_SIZE(progs); i++) {
		if (bpftc_pin_path(dir, ebpf_pin_name(progs[i]), path, sizeof(path), NULL) == 0 &&
		    unlink(path) == 0)
			log_warn("dropped %s: its maps were no longer pinned", path);
	}
}

/* Loads the object (maps reused from their pins) and pins the programs. Under the lock. */
static int dp_load(const char *dir, struct cni_err *err)
{
	struct cni_ebpf_bpf *skel;
	int r;

	drop_orphan_progs(dir);
	skel = cni_ebpf_bpf__open();
	if (!skel)
		return cni_err_set(err, CNI_ERR_BPF, errno, "open the BPF object");
	r = pin_maps(skel, dir, err);
	if (r >= 0) {
		r = cni_ebpf_bpf__load(skel);
		if (r < 0)
			r = cni_err_set(err, CNI_ERR_BPF, -r,
					"load the BPF programs (CAP_BPF, verifier, pinned maps "
					"of another layout?)");
	}
	if (r >= 0)
		r = pin_prog(skel->progs.weft_from_pod, dir, EBPF_PIN_FROM_POD, err);
	if (r >= 0)
		r = pin_prog(skel->progs.weft_to_pod, dir, EBPF_PIN_TO_POD, err);
	cni_ebpf_bpf__destroy(skel); /* pins and attachments keep what they need */
	if (r >= 0)
		log_info("loaded and pinned the datapath under %s", dir);
	return r;
}

int ebpf_dp_open(const char *pin_root, const char *network, bool create, struct ebpf_dp *dp,
		 struct cni_err *err)
{
	_cleanup_close_ int lock = -1;
	int r;

	r = bpftc_net_dir(pin_root, network, false, dp->dir, sizeof(dp->dir), err);
	if (r < 0)
		return r;
	if (!create)
		return dp_get(dp, false, err);
	/* Fast path: the datapath is there (every ADD but the first of this build). */
	if (dp_get(dp, true, NULL) >= 0)
		return 0;
	/* The root on a bpffs that outlives the call (mounted if needed), the network a directory
	 * in it. */
	r = bpftc_net_dir(pin_root, network, true, dp->dir, sizeof(dp->dir), err);
	if (r < 0)
		return r;
	lock = bpftc_dir_lock(dp->dir, -1, err);
	if (lock < 0)
		return lock;
	if (dp_get(dp, true, NULL) >= 0)
		return 0; /* a concurrent ADD loaded it while we waited */
	r = dp_load(dp->dir, err);
	if (r < 0)
		return r;
	return dp_get(dp, true, err);
}

static int map_put(int fd, const void *key, const void *val, const char *what, struct cni_err *err)
{
	if (bpf_map_update_elem(fd, key, val, BPF_ANY) < 0)
		return cni_err_set(err, CNI_ERR_BPF, errno, "update the %s map", what);
	return 0;
}

static int stats_zero(const struct ebpf_dp *dp, uint32_t ifindex, struct cni_err *err)
{
	_cleanup_free_ struct weft_ep_stats *zero = NULL;
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu <= 0)
		return cni_err_set(err, CNI_ERR_BPF, ncpu ? -ncpu : EINVAL, "count possible CPUs");
	zero = calloc((size_t)ncpu, sizeof(*zero));
	if (!zero)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "allocate counters");
	return map_put(dp->fd[EBPF_PIN_STATS], &ifindex, zero, "stats", err);
}

/* The NetworkPolicy a new sandbox starts with: the pod's polpods entry (weft-node compiled it
 * before: an earlier sandbox, or bound to this node and not started yet), else isolated both
 * ways with no rules (pol 0) when the defaults entry says deny, else nothing. */
static struct weft_polpod pol_start(const struct ebpf_dp *dp, uint64_t pod_key)
{
	struct weft_polpod pp = {0}, def = {0};
	uint64_t k = WEFT_POLPOD_DEFAULTS;

	if (pod_key && bpf_map_lookup_elem(dp->fd[EBPF_PIN_POLPODS], &pod_key, &pp) == 0) {
		pp.flags &= WEFT_EP_F_POLICY;
		return pp;
	}
	pp = (struct weft_polpod){0};
	if (bpf_map_lookup_elem(dp->fd[EBPF_PIN_POLPODS], &k, &def) == 0 &&
	    (def.flags & WEFT_POLPOD_F_DENY))
		pp.flags = WEFT_EP_F_ISO_IN | WEFT_EP_F_ISO_OUT;
	return pp;
}

/* The policy id and bits of the pod's endpoint and links entries. weft-node may change the
 * pod's polpods entry meanwhile: read again after writing, until both agree (it sets the bits
 * of every entry carrying the pod's id after it writes polpods, so the last write is right). */
static int pol_put(const struct ebpf_dp *dp, const struct ebpf_pod *pod,
		   const struct weft_ep_key *keys, struct weft_ep *ep, struct weft_link *link,
		   struct cni_err *err)
{
	uint32_t ifindex = (uint32_t)pod->host_ifindex;
	struct weft_polpod now = pol_start(dp, pod->pod_key);
	int r = 0;

	for (int tries = 0; r >= 0 && tries < 3; tries++) {
		struct weft_polpod used = now;

		if (tries && ep->pol == now.pol && (ep->flags & WEFT_EP_F_POLICY) == now.flags)
			return 0;
		ep->pol = link->pol = used.pol;
		ep->flags = (ep->flags & ~WEFT_EP_F_POLICY) | used.flags;
		link->flags = (link->flags & ~WEFT_EP_F_POLICY) | used.flags;
		for (size_t i = 0; r >= 0 && i < pod->n_ips; i++)
			r = map_put(dp->fd[EBPF_PIN_EPS], &keys[i], ep, "endpoint", err);
		if (r >= 0)
			r = map_put(dp->fd[EBPF_PIN_LINKS], &ifindex, link, "links", err);
		now = pol_start(dp, pod->pod_key);
	}
	return r;
}

int ebpf_dp_ep_add(const struct ebpf_dp *dp, const struct ebpf_pod *pod, const char *container_id,
		   const char *ifname, struct cni_err *err)
{
	struct weft_ep ep = {
		.ifindex = (uint32_t)pod->host_ifindex, .flags = pod->ep_flags, .tag = pod->tag};
	struct weft_link link = {.tag = pod->tag};
	struct weft_ep_meta meta = {.tag = pod->tag};
	struct weft_ep_key keys[ARRAY_SIZE(pod->ips)];
	uint32_t ifindex = (uint32_t)pod->host_ifindex;
	int r = 0;

	memcpy(ep.mac, pod->pod_mac, 6);
	memcpy(ep.host_mac, pod->host_mac, 6);
	memcpy(link.mac, pod->pod_mac, 6);
	memcpy(link.host_mac, pod->host_mac, 6);
	snprintf(meta.container_id, sizeof(meta.container_id), "%s", container_id);
	snprintf(meta.ifname, sizeof(meta.ifname), "%s", ifname);
	snprintf(meta.host_veth, sizeof(meta.host_veth), "%s", pod->host_veth);
	for (size_t i = 0; i < pod->n_ips; i++)
		bpfkey_of(&pod->ips[i].addr, keys[i].addr);

	for (size_t i = 0; r >= 0 && i < pod->n_ips; i++)
		r = map_put(dp->fd[EBPF_PIN_META], &keys[i], &meta, "meta", err);
	if (r >= 0)
		r = pol_put(dp, pod, keys, &ep, &link, err);
	if (r >= 0)
		r = stats_zero(dp, ifindex, err);
	return r;
}

/* Appends key with what both maps hold for it. The meta walk only adds the keys the endpoint
 * walk could not have seen (meta without endpoint: an ADD killed in between). */
static void list_add(const struct ebpf_dp *dp, struct ebpf_dp_entry *list, size_t *n,
		     const struct weft_ep_key *key, bool meta_walk)
{
	struct ebpf_dp_entry *e;

	if (*n >= WEFT_EP_MAX * 2)
		return;
	e = &list[*n];
	memset(e, 0, sizeof(*e));
	e->key = *key;
	e->has_ep = bpf_map_lookup_elem(dp->fd[EBPF_PIN_EPS], key, &e->ep) == 0;
	if (meta_walk && e->has_ep)
		return;
	e->has_meta = bpf_map_lookup_elem(dp->fd[EBPF_PIN_META], key, &e->meta) == 0;
	if (e->has_ep || e->has_meta)
		(*n)++; /* else deleted while we walked */
}

static int list_map(const struct ebpf_dp *dp, enum ebpf_pin pin, struct ebpf_dp_entry *list,
		    size_t *n, struct cni_err *err)
{
	struct weft_ep_key key, next;
	void *prev = NULL;

	while (bpf_map_get_next_key(dp->fd[pin], prev, &next) == 0) {
		list_add(dp, list, n, &next, pin == EBPF_PIN_META);
		key = next;
		prev = &key;
	}
	if (errno != ENOENT)
		return cni_err_set(err, CNI_ERR_BPF, errno, "walk the %s map", ebpf_pin_name(pin));
	return 0;
}

int ebpf_dp_list(const struct ebpf_dp *dp, struct ebpf_dp_entry **ret, size_t *ret_n,
		 struct cni_err *err)
{
	_cleanup_free_ struct ebpf_dp_entry *list = NULL;
	size_t n = 0;
	int r;

	list = calloc(WEFT_EP_MAX * 2, sizeof(*list));
	if (!list)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "allocate the endpoint list");
	r = list_map(dp, EBPF_PIN_EPS, list, &n, err);
	if (r >= 0)
		r = list_map(dp, EBPF_PIN_META, list, &n, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(list);
	*ret_n = n;
	return 0;
}

uint64_t ebpf_dp_entry_tag(const struct ebpf_dp_entry *e)
{
	return e->has_ep ? e->ep.tag : e->meta.tag;
}

static int map_del(int fd, const void *key, const char *what, struct cni_err *err)
{
	if (bpf_map_delete_elem(fd, key) < 0 && errno != ENOENT)
		return cni_err_set(err, CNI_ERR_BPF, errno, "delete from the %s map", what);
	return 0;
}

int ebpf_dp_entry_del(const struct ebpf_dp *dp, const struct ebpf_dp_entry *e, struct cni_err *err)
{
	int r = 0;

	/* Endpoint first: from then on the program no longer delivers to this pod. */
	if (e->has_ep)
		r = map_del(dp->fd[EBPF_PIN_EPS], &e->key, "endpoint", err);
	if (r >= 0 && e->has_ep)
		r = map_del(dp->fd[EBPF_PIN_LINKS], &e->ep.ifindex, "links", err);
	if (r >= 0 && e->has_ep)
		r = map_del(dp->fd[EBPF_PIN_STATS], &e->ep.ifindex, "stats", err);
	if (r >= 0)
		r = map_del(dp->fd[EBPF_PIN_META], &e->key, "meta", err);
	return r;
}

struct ct_match {
	const struct weft_ep_key *ips;
	size_t n;
};

static bool ct_has_ip(const void *key, void *ctx)
{
	const struct weft_ct_key *k = key;
	const struct ct_match *m = ctx;

	for (size_t i = 0; i < m->n; i++)
		if (!memcmp(k->src, m->ips[i].addr, 16) || !memcmp(k->dst, m->ips[i].addr, 16))
			return true;
	return false;
}

int ebpf_dp_flows_del(const struct ebpf_dp *dp, const struct weft_ep_key *ips, size_t n_ips,
		      struct cni_err *err)
{
	struct ct_match m = {.ips = ips, .n = n_ips};
	int r = 0;

	if (n_ips)
		r = bpfmap_del_if(dp->fd[EBPF_PIN_CT], sizeof(struct weft_ct_key), ct_has_ip, &m,
				  err);
	return r < 0 ? r : 0;
}

int ebpf_dp_del_by_tag(const struct ebpf_dp *dp, uint64_t tag, struct cni_err *err)
{
	_cleanup_free_ struct ebpf_dp_entry *list = NULL;
	struct weft_ep_key ips[2];
	size_t n = 0, n_ips = 0;
	int r, found = 0;

	r = ebpf_dp_list(dp, &list, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (ebpf_dp_entry_tag(&list[i]) != tag)
			continue;
		r = ebpf_dp_entry_del(dp, &list[i], err);
		if (r < 0)
			return r;
		if (n_ips < ARRAY_SIZE(ips))
			ips[n_ips++] = list[i].key;
		found++;
	}
	r = ebpf_dp_flows_del(dp, ips, n_ips, err);
	return r < 0 ? r : found;
}

int ebpf_dp_stats(const struct ebpf_dp *dp, uint32_t ifindex, struct weft_ep_stats *ret,
		  struct cni_err *err)
{
	_cleanup_free_ struct weft_ep_stats *cpu = NULL;
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu <= 0)
		return cni_err_set(err, CNI_ERR_BPF, ncpu ? -ncpu : EINVAL, "count possible CPUs");
	cpu = calloc((size_t)ncpu, sizeof(*cpu));
	if (!cpu)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "allocate counters");
	if (bpf_map_lookup_elem(dp->fd[EBPF_PIN_STATS], &ifindex, cpu) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "no counters for ifindex %u",
				   ifindex);
	memset(ret, 0, sizeof(*ret));
	for (int i = 0; i < ncpu; i++) {
		ret->tx_packets += cpu[i].tx_packets;
		ret->tx_bytes += cpu[i].tx_bytes;
		ret->fwd_packets += cpu[i].fwd_packets;
		ret->fwd_bytes += cpu[i].fwd_bytes;
		ret->rx_packets += cpu[i].rx_packets;
		ret->rx_bytes += cpu[i].rx_bytes;
		ret->arp_replies += cpu[i].arp_replies;
		ret->nd_replies += cpu[i].nd_replies;
		ret->remote_packets += cpu[i].remote_packets;
		ret->remote_bytes += cpu[i].remote_bytes;
		ret->denied_packets += cpu[i].denied_packets;
	}
	return 0;
}

int ebpf_dp_attach(const struct ebpf_dp *dp, int ifindex, struct cni_err *err)
{
	int r;

	r = bpftc_hook_ensure(ifindex, err);
	if (r >= 0)
		r = bpftc_attach(ifindex, BPFTC_INGRESS, dp->fd[EBPF_PIN_FROM_POD], err);
	if (r >= 0)
		r = bpftc_attach(ifindex, BPFTC_EGRESS, dp->fd[EBPF_PIN_TO_POD], err);
	return r;
}

/* The filter must run weft's program `name` bound to this network's map `pin` (any build: pods
 * attached before an upgrade keep their program). */
static int check_one(const struct ebpf_dp *dp, int ifindex, enum bpftc_dir dir, const char *name,
		     enum ebpf_pin pin, struct cni_err *err)
{
	const char *where = dir == BPFTC_EGRESS ? "egress" : "ingress";
	_cleanup_close_ int fd = -1;
	struct bpf_prog_info info;
	uint32_t len = sizeof(info), id = 0, want = 0, maps[8] = {0}; /* valgrind: kernel-filled */
	int r;

	r = bpftc_map_id(dp->fd[pin], &want, err);
	if (r >= 0)
		r = bpftc_query(ifindex, dir, &id, err);
	if (r < 0)
		return r;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return cni_err_set(err, CNI_ERR_BPF, errno, "program %u of tc %s", id, where);
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = ARRAY_SIZE(maps);
	info.map_ids = (uint64_t)(uintptr_t)maps;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return cni_err_set(err, CNI_ERR_BPF, errno, "program %u info", id);
	for (uint32_t i = 0; strcmp(info.name, name) == 0 && i < info.nr_map_ids; i++)
		if (i < ARRAY_SIZE(maps) && maps[i] == want)
			return 0;
	return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL,
			   "tc %s of ifindex %d runs program %u \"%s\", not %s of %s", where,
			   ifindex, id, info.name, name, dp->dir);
}

int ebpf_dp_check_attached(const struct ebpf_dp *dp, int ifindex, struct cni_err *err)
{
	int r;

	r = check_one(dp, ifindex, BPFTC_INGRESS, "weft_from_pod", EBPF_PIN_EPS, err);
	if (r >= 0)
		r = check_one(dp, ifindex, BPFTC_EGRESS, "weft_to_pod", EBPF_PIN_STATS, err);
	return r;
}

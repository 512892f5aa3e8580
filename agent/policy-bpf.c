/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy into the ebpf datapath's maps (agent/policy-bpf.h). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "agent/policy-bpf.h"
#include "common/array.h"
#include "common/bpf/maps.h"
#include "common/bpf/tc.h"
#include "common/cleanup.h"

/* ---- pure: entries and rules ---- */

/* Does x contain every address of p (same family, no longer, p's network inside)? */
static bool pfx_covers(const struct inet_prefix *x, const struct inet_prefix *p)
{
	return x->addr.family == p->addr.family && x->len <= p->len &&
	       inet_prefix_contains(x, &p->addr);
}

static bool block_covers(const struct pol_block *b, const struct inet_prefix *p)
{
	if (!pfx_covers(&b->cidr, p))
		return false;
	for (size_t i = 0; i < b->n_except; i++)
		if (pfx_covers(&b->except[i], p))
			return false;
	return true;
}

/* Do the peers of r contain every address whose longest match in the entry set is p? Since
 * every prefix of r is an entry, that holds for one of them exactly when it holds for all. */
static bool rule_covers(const struct pol_rule *r, const struct inet_prefix *p)
{
	if (r->any_peer)
		return true;
	if (!p->addr.family)
		return false;
	for (size_t i = 0; i < r->n_ips; i++) {
		struct inet_prefix ip = {.addr = r->ips[i], .len = inet_addr_bits(&r->ips[i])};

		if (pfx_covers(&ip, p))
			return true;
	}
	for (size_t i = 0; i < r->n_blocks; i++)
		if (block_covers(&r->blocks[i], p))
			return true;
	return false;
}

struct pfx_set {
	struct inet_prefix *v;
	size_t n, cap;
};

/* Appends p as it is. */
static int set_push(struct pfx_set *s, const struct inet_prefix *p)
{
	if (array_room((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)) < 0)
		return -ENOMEM;
	s->v[s->n++] = *p;
	return 0;
}

/* Adds p's network unless it is there. */
static int set_add(struct pfx_set *s, const struct inet_prefix *p)
{
	struct inet_prefix n;

	inet_prefix_network(p, &n);
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].len == n.len && inet_addr_eq(&s->v[i].addr, &n.addr))
			return 0;
	return set_push(s, &n);
}

static int set_add_rule(struct pfx_set *s, const struct pol_rule *r)
{
	int ret = 0;

	for (size_t i = 0; ret >= 0 && i < r->n_ips; i++) {
		struct inet_prefix ip = {.addr = r->ips[i], .len = inet_addr_bits(&r->ips[i])};

		ret = set_add(s, &ip);
	}
	for (size_t i = 0; ret >= 0 && i < r->n_blocks; i++) {
		ret = set_add(s, &r->blocks[i].cidr);
		for (size_t j = 0; ret >= 0 && j < r->blocks[i].n_except; j++)
			ret = set_add(s, &r->blocks[i].except[j]);
	}
	return ret;
}

/* The extra entries: IPv4 as a whole when an IPv6 prefix of ::/96 or shorter would be the
 * longest match of IPv4 addresses (it covers ::ffff:0:0/96 in the key space), and the
 * any-peer entry (the same key as ::/0, which then carries the any-peer rules itself). */
static int set_add_extra(struct pfx_set *s, bool any_peer)
{
	struct inet_prefix v4all = {.addr = {.family = AF_INET}}, any = {0};
	bool short6 = false, all6 = false;

	for (size_t i = 0; i < s->n; i++) {
		short6 |= s->v[i].addr.family == AF_INET6 && s->v[i].len <= 96;
		all6 |= s->v[i].addr.family == AF_INET6 && s->v[i].len == 0;
	}
	if (short6 && set_add(s, &v4all) < 0)
		return -ENOMEM;
	return any_peer && !all6 ? set_push(s, &any) : 0;
}

int polbpf_masks(const struct pol_dir *d, struct polbpf_entry **ret, size_t *ret_n,
		 struct cni_err *err)
{
	struct pfx_set s = {0};
	_cleanup_free_ struct polbpf_entry *e = NULL;
	bool any_peer = false;
	int r = 0;

	if (d->n > WEFT_POL_RULES_MAX)
		return cni_err_set(err, CNI_ERR_INTERNAL, E2BIG,
				   "%zu rules in one direction, the eBPF datapath takes %d", d->n,
				   WEFT_POL_RULES_MAX);
	for (size_t i = 0; r >= 0 && i < d->n; i++) {
		any_peer |= d->rules[i].any_peer;
		r = set_add_rule(&s, &d->rules[i]);
	}
	if (r >= 0)
		r = set_add_extra(&s, any_peer);
	e = r >= 0 && s.n ? calloc(s.n, sizeof(*e)) : NULL;
	if (r < 0 || (s.n && !e)) {
		free(s.v);
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "allocate policy entries");
	}
	for (size_t i = 0; i < s.n; i++) {
		e[i].pfx = s.v[i];
		for (size_t j = 0; j < d->n; j++)
			if (rule_covers(&d->rules[j], &s.v[i]))
				e[i].mask |= 1ull << j;
	}
	free(s.v);
	*ret = TAKE_PTR(e);
	*ret_n = s.n;
	return 0;
}

/* ---- ports ---- */

struct port_set {
	struct polbpf_port *v;
	size_t n, cap;
};

static uint32_t block_size(const struct polbpf_port *e)
{
	return 1u << (16 - e->len);
}

static int port_add(struct port_set *s, const struct polbpf_port *e)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].any == e->any && s->v[i].proto == e->proto && s->v[i].port == e->port &&
		    s->v[i].len == e->len)
			return 0;
	if (array_room((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)) < 0)
		return -ENOMEM;
	s->v[s->n++] = *e;
	return 0;
}

/* The aligned blocks that make up a port range (lo == 0: every port, one block). */
static int port_add_range(struct port_set *s, const struct pol_port *pp)
{
	struct polbpf_port e = {.proto = pp->proto};
	uint32_t a = pp->lo, hi = pp->lo ? pp->hi : 0;
	int r = 0;

	if (!pp->lo)
		return port_add(s, &e);
	while (r >= 0 && a <= hi) {
		e.port = (uint16_t)a;
		e.len = 16;
		while (e.len > 0 && a % (block_size(&e) * 2) == 0 &&
		       a + block_size(&e) * 2 - 1 <= hi)
			e.len--;
		r = port_add(s, &e);
		a += block_size(&e);
	}
	return r;
}

/* Does rule r allow every port of entry e? */
static bool rule_ports_cover(const struct pol_rule *r, const struct polbpf_port *e)
{
	if (r->any_port)
		return true;
	for (size_t i = 0; !e->any && i < r->n_ports; i++) {
		const struct pol_port *p = &r->ports[i];

		if (p->proto == e->proto &&
		    (!p->lo || (e->port >= p->lo && e->port + block_size(e) - 1 <= p->hi)))
			return true;
	}
	return false;
}

int polbpf_ports(const struct pol_dir *d, struct polbpf_port **ret, size_t *ret_n,
		 struct cni_err *err)
{
	struct port_set s = {0};
	bool any_port = false;
	int r = 0;

	if (d->n > WEFT_POL_RULES_MAX)
		return cni_err_set(err, CNI_ERR_INTERNAL, E2BIG,
				   "%zu rules in one direction, the eBPF datapath takes %d", d->n,
				   WEFT_POL_RULES_MAX);
	for (size_t i = 0; r >= 0 && i < d->n; i++) {
		any_port |= d->rules[i].any_port;
		for (size_t j = 0; r >= 0 && j < d->rules[i].n_ports; j++)
			r = port_add_range(&s, &d->rules[i].ports[j]);
	}
	if (r >= 0 && any_port)
		r = port_add(&s, &(struct polbpf_port){.any = true});
	if (r < 0) {
		free(s.v);
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "allocate port entries");
	}
	for (size_t i = 0; i < s.n; i++)
		for (size_t j = 0; j < d->n; j++)
			if (rule_ports_cover(&d->rules[j], &s.v[i]))
				s.v[i].mask |= 1ull << j;
	*ret = s.v;
	*ret_n = s.n;
	return 0;
}

void polbpf_port_key(uint32_t ifindex, uint32_t slot, const struct polbpf_port *e,
		     struct weft_pol_port_key *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->id.ifindex = ifindex;
	ret->id.slot = slot;
	ret->prefixlen = WEFT_POL_KEY_BITS;
	if (e->any)
		return;
	ret->proto = e->proto;
	ret->port[0] = (uint8_t)(e->port >> 8);
	ret->port[1] = (uint8_t)e->port;
	ret->prefixlen += 8 + e->len;
}

void polbpf_key(uint32_t ifindex, uint32_t slot, const struct inet_prefix *pfx,
		struct weft_pol_key *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->id.ifindex = ifindex;
	ret->id.slot = slot;
	ret->prefixlen = WEFT_POL_KEY_BITS;
	if (pfx->addr.family == AF_INET6) {
		memcpy(ret->addr, pfx->addr.bytes, 16);
		ret->prefixlen += pfx->len;
	} else if (pfx->addr.family == AF_INET) {
		ret->addr[2] = htonl(WEFT_V4_MAPPED);
		ret->addr[3] = pfx->addr.v4.s_addr;
		ret->prefixlen += 96 + pfx->len;
	}
}

/* ---- the maps ---- */

enum { M_EPS, M_LINKS, M_POLICY, M_POLPORTS, M_N };

static const char *const pin_names[M_N] = {
	[M_EPS] = WEFT_PIN("endpoints"),
	[M_LINKS] = WEFT_PIN("links"),
	[M_POLICY] = WEFT_PIN("policy"),
	[M_POLPORTS] = WEFT_PIN("polports"),
};

struct maps {
	int fd[M_N];
};

static void maps_close(struct maps *m)
{
	for (size_t i = 0; i < M_N; i++)
		if (m->fd[i] >= 0)
			close(m->fd[i]);
}

static int maps_open(const char *dir, struct maps *m, struct cni_err *err)
{
	char path[PATH_MAX];
	int r;

	for (size_t i = 0; i < M_N; i++)
		m->fd[i] = -1;
	for (size_t i = 0; i < M_N; i++) {
		r = bpftc_pin_path(dir, pin_names[i], path, sizeof(path), err);
		if (r < 0)
			return r;
		m->fd[i] = bpf_obj_get(path);
		if (m->fd[i] < 0)
			return cni_err_set(err, CNI_ERR_BPF, errno, "open pinned '%s'", path);
	}
	return 0;
}

int polbpf_net_dir(const char *pin_root, const char *network, char *buf, size_t len,
		   struct cni_err *err)
{
	int r = bpftc_net_dir(pin_root, network, false, buf, len, err);

	if (r >= 0 && access(buf, F_OK) < 0)
		return cni_err_set(err, CNI_ERR_BPF, errno, "pin directory '%s'", buf);
	return r;
}

/* One pod: its host veth and the endpoint keys of its addresses. */
struct pod_ref {
	uint32_t ifindex;
	struct weft_ep_key keys[2];
	size_t n_keys;
};

static void ep_key_of(const struct inet_addr *a, struct weft_ep_key *ret)
{
	struct inet_prefix full = {.addr = *a, .len = (uint8_t)inet_addr_bits(a)};
	struct weft_pol_key k;

	polbpf_key(0, 0, &full, &k);
	memcpy(ret->addr, k.addr, sizeof(ret->addr));
}

static int pod_find(const struct maps *m, const struct inet_addr *ips, size_t n,
		    struct pod_ref *ret, struct cni_err *err)
{
	struct weft_ep ep;

	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < n && ret->n_keys < ARRAY_SIZE(ret->keys); i++) {
		struct weft_ep_key key;

		ep_key_of(&ips[i], &key);
		if (bpf_map_lookup_elem(m->fd[M_EPS], &key, &ep) < 0)
			continue;
		if (ret->ifindex && ep.ifindex != ret->ifindex)
			continue; /* another attachment's: the first one found is the pod */
		ret->ifindex = ep.ifindex;
		ret->keys[ret->n_keys++] = key;
	}
	if (!ret->ifindex)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOENT,
				   "no address of the pod in the endpoint map");
	return 0;
}

/* Entries of one pod in some slots (bit s = slot s). */
struct slot_match {
	uint32_t ifindex, slots;
};

static bool pol_key_in(const void *key, void *ctx)
{
	const struct weft_pol_key *k = key;
	const struct slot_match *m = ctx;

	return k->id.ifindex == m->ifindex && k->id.slot < 32 && (m->slots >> k->id.slot & 1);
}

static bool pol_port_key_in(const void *key, void *ctx)
{
	const struct weft_pol_port_key *k = key;
	const struct slot_match *m = ctx;

	return k->id.ifindex == m->ifindex && k->id.slot < 32 && (m->slots >> k->id.slot & 1);
}

static int slots_purge(const struct maps *m, uint32_t ifindex, uint32_t slots, struct cni_err *err)
{
	struct slot_match sm = {.ifindex = ifindex, .slots = slots};
	int r;

	if (!slots)
		return 0;
	r = bpfmap_del_if(m->fd[M_POLPORTS], sizeof(struct weft_pol_port_key), pol_port_key_in, &sm,
			  err);
	if (r >= 0)
		r = bpfmap_del_if(m->fd[M_POLICY], sizeof(struct weft_pol_key), pol_key_in, &sm,
				  err);
	return r < 0 ? cni_err_wrap(err, "remove policy entries of ifindex %u", ifindex) : 0;
}

/* What one direction becomes. */
struct dir_plan {
	bool isolated;
	uint32_t gen;
	struct polbpf_entry *e;
	size_t n;
	struct polbpf_port *ports;
	size_t n_ports;
};

static void plans_free(struct dir_plan (*plan)[2])
{
	for (size_t i = 0; i < 2; i++) {
		free((*plan)[i].e);
		free((*plan)[i].ports);
	}
}

static const uint32_t iso_bit[2] = {WEFT_EP_F_ISO_IN, WEFT_EP_F_ISO_OUT};
static const uint32_t gen_bit[2] = {WEFT_EP_F_GEN_IN, WEFT_EP_F_GEN_OUT};

static int plan_dir(const struct pol_dir *d, uint32_t dir, uint32_t cur, struct dir_plan *ret,
		    struct cni_err *err)
{
	int r;

	ret->isolated = d && d->isolated;
	ret->gen = !(cur & gen_bit[dir]); /* the idle generation */
	if (!ret->isolated)
		return 0;
	r = polbpf_masks(d, &ret->e, &ret->n, err);
	if (r >= 0)
		r = polbpf_ports(d, &ret->ports, &ret->n_ports, err);
	return r;
}

/* Writes the entries of an isolated direction into its (idle) slot. */
static int plan_write(const struct maps *m, uint32_t ifindex, uint32_t dir,
		      const struct dir_plan *pl, struct cni_err *err)
{
	uint32_t slot = weft_pol_slot(dir, pl->gen);

	for (size_t i = 0; i < pl->n_ports; i++) {
		struct weft_pol_port_key key;

		polbpf_port_key(ifindex, slot, &pl->ports[i], &key);
		if (bpf_map_update_elem(m->fd[M_POLPORTS], &key, &pl->ports[i].mask, BPF_ANY) < 0)
			return cni_err_set(err, CNI_ERR_BPF, errno, "write a port entry");
	}
	for (size_t i = 0; i < pl->n; i++) {
		struct weft_pol_key key;

		polbpf_key(ifindex, slot, &pl->e[i].pfx, &key);
		if (bpf_map_update_elem(m->fd[M_POLICY], &key, &pl->e[i].mask, BPF_ANY) < 0)
			return cni_err_set(err, CNI_ERR_BPF, errno, "write a policy entry");
	}
	return 0;
}

/* The policy bits of the pod's endpoint and links entries become flags (an entry gone
 * meanwhile, by a DEL, stays gone). */
static int flags_set(const struct maps *m, const struct pod_ref *pod, uint32_t flags,
		     struct cni_err *err)
{
	struct weft_link link;
	struct weft_ep ep;

	for (size_t i = 0; i < pod->n_keys; i++) {
		if (bpf_map_lookup_elem(m->fd[M_EPS], &pod->keys[i], &ep) < 0)
			continue;
		ep.flags = (ep.flags & ~WEFT_EP_F_POLICY) | flags;
		if (bpf_map_update_elem(m->fd[M_EPS], &pod->keys[i], &ep, BPF_EXIST) < 0 &&
		    errno != ENOENT)
			return cni_err_set(err, CNI_ERR_BPF, errno, "update an endpoint's flags");
	}
	if (bpf_map_lookup_elem(m->fd[M_LINKS], &pod->ifindex, &link) < 0)
		return 0;
	link.flags = (link.flags & ~WEFT_EP_F_POLICY) | flags;
	if (bpf_map_update_elem(m->fd[M_LINKS], &pod->ifindex, &link, BPF_EXIST) < 0 &&
	    errno != ENOENT)
		return cni_err_set(err, CNI_ERR_BPF, errno, "update a link's flags");
	return 0;
}

static int apply_plans(const struct maps *m, const struct pod_ref *pod,
		       const struct dir_plan plan[2], struct cni_err *err)
{
	uint32_t idle = 0, stale = 0, flags = 0;
	int r;

	for (uint32_t d = 0; d < 2; d++) {
		uint32_t live = 1u << weft_pol_slot(d, !plan[d].gen);

		if (plan[d].isolated) {
			idle |= 1u << weft_pol_slot(d, plan[d].gen);
			stale |= live;
			flags |= iso_bit[d] | (plan[d].gen ? gen_bit[d] : 0);
		} else {
			stale |= live | 1u << weft_pol_slot(d, plan[d].gen);
		}
	}
	/* 1. the idle generations, cleared of leftovers and written; 2. the flip; 3. the old. */
	r = slots_purge(m, pod->ifindex, idle, err);
	for (uint32_t d = 0; r >= 0 && d < 2; d++)
		if (plan[d].isolated)
			r = plan_write(m, pod->ifindex, d, &plan[d], err);
	if (r >= 0)
		r = flags_set(m, pod, flags, err);
	if (r >= 0)
		r = slots_purge(m, pod->ifindex, stale, err);
	return r;
}

static int apply(const struct maps *m, const struct pod_ref *pod, const struct pol_pod *p,
		 struct cni_err *err)
{
	_cleanup_(plans_free) struct dir_plan plan[2] = {0};
	struct weft_link link;
	uint32_t cur = 0;
	int r;

	if (bpf_map_lookup_elem(m->fd[M_LINKS], &pod->ifindex, &link) == 0)
		cur = link.flags;
	r = plan_dir(p ? &p->in : NULL, WEFT_POL_IN, cur, &plan[WEFT_POL_IN], err);
	if (r >= 0)
		r = plan_dir(p ? &p->out : NULL, WEFT_POL_OUT, cur, &plan[WEFT_POL_OUT], err);
	if (r >= 0)
		r = apply_plans(m, pod, plan, err);
	return r;
}

int polbpf_apply(const char *pin_dir, const struct inet_addr *pod_ips, size_t n_ips,
		 const struct pol_pod *p, struct cni_err *err)
{
	_cleanup_(maps_close) struct maps m;
	struct pod_ref pod;
	int r;

	r = maps_open(pin_dir, &m, err);
	if (r >= 0)
		r = pod_find(&m, pod_ips, n_ips, &pod, err);
	if (r >= 0)
		r = apply(&m, &pod, p, err);
	return r;
}

int polbpf_forget(const char *pin_dir, const struct inet_addr *pod_ips, size_t n_ips,
		  struct cni_err *err)
{
	_cleanup_(maps_close) struct maps m;
	struct pod_ref pod;
	int r;

	r = maps_open(pin_dir, &m, err);
	if (r < 0)
		return r;
	if (pod_find(&m, pod_ips, n_ips, &pod, NULL) < 0)
		return 0;
	return apply(&m, &pod, NULL, err);
}

static bool key_orphan(const void *key, void *ctx)
{
	const struct weft_pol_key *k = key;
	struct weft_link link;

	return bpf_map_lookup_elem(*(int *)ctx, &k->id.ifindex, &link) < 0;
}

static bool port_key_orphan(const void *key, void *ctx)
{
	const struct weft_pol_port_key *k = key;
	struct weft_link link;

	return bpf_map_lookup_elem(*(int *)ctx, &k->id.ifindex, &link) < 0;
}

int polbpf_gc(const char *pin_dir, struct cni_err *err)
{
	_cleanup_(maps_close) struct maps m;
	int r, n;

	r = maps_open(pin_dir, &m, err);
	if (r < 0)
		return r;
	n = bpfmap_del_if(m.fd[M_POLICY], sizeof(struct weft_pol_key), key_orphan, &m.fd[M_LINKS],
			  err);
	if (n < 0)
		return n;
	r = bpfmap_del_if(m.fd[M_POLPORTS], sizeof(struct weft_pol_port_key), port_key_orphan,
			  &m.fd[M_LINKS], err);
	return r < 0 ? r : n + r;
}

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
#include "plugins/lib/bpfkey.h"

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

void polbpf_port_key(uint32_t pol, uint32_t slot, const struct polbpf_port *e,
		     struct weft_pol_port_key *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->id.pol = pol;
	ret->id.slot = slot;
	ret->prefixlen = WEFT_POL_KEY_BITS;
	if (e->any)
		return;
	ret->proto = e->proto;
	ret->port[0] = (uint8_t)(e->port >> 8);
	ret->port[1] = (uint8_t)e->port;
	ret->prefixlen += 8 + e->len;
}

void polbpf_key(uint32_t pol, uint32_t slot, const struct inet_prefix *pfx,
		struct weft_pol_key *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->id.pol = pol;
	ret->id.slot = slot;
	ret->prefixlen = WEFT_POL_KEY_BITS;
	if (!pfx->addr.family)
		return; /* every address */
	bpfkey_of(&pfx->addr, ret->addr);
	ret->prefixlen += bpfkey_bits_above(&pfx->addr) + pfx->len;
}

/* ---- the maps ---- */

enum { M_EPS, M_LINKS, M_POLICY, M_POLPORTS, M_POLPODS, M_N };

static const char *const pin_names[M_N] = {
	[M_EPS] = WEFT_PIN("endpoints"),   [M_LINKS] = WEFT_PIN("links"),
	[M_POLICY] = WEFT_PIN("policy"),   [M_POLPORTS] = WEFT_PIN("polports"),
	[M_POLPODS] = WEFT_PIN("polpods"),
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

int polbpf_has(const char *pin_dir, const struct inet_addr *ips, size_t n, struct cni_err *err)
{
	_cleanup_(maps_close) struct maps m;
	struct weft_ep ep;
	int r = maps_open(pin_dir, &m, err);

	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct weft_ep_key key;

		bpfkey_of(&ips[i], key.addr);
		if (bpf_map_lookup_elem(m.fd[M_EPS], &key, &ep) == 0)
			return 1;
	}
	return r < 0 ? r : 0;
}

/* ---- policy ids ---- */

struct id_match {
	const struct maps *m;
	uint32_t pol;
	uint64_t key;
};

static bool id_used(const void *key, void *ctx)
{
	const struct id_match *im = ctx;
	struct weft_polpod pp;

	return *(const uint64_t *)key != im->key &&
	       bpf_map_lookup_elem(im->m->fd[M_POLPODS], key, &pp) == 0 && pp.pol == im->pol;
}

/* A policy id for pod key no other polpods entry has: from the key's bits, then the next. */
static int id_new(const struct maps *m, uint64_t key, uint32_t *ret, struct cni_err *err)
{
	struct id_match im = {m, (uint32_t)(key ^ key >> 32), key};

	for (unsigned i = 0; i <= WEFT_POLPODS_MAX; i++, im.pol++) {
		_cleanup_free_ void *keys = NULL;
		size_t n = 0;

		if (im.pol == 0 || im.pol == WEFT_POL_NONE)
			im.pol = 1;
		if (bpfmap_keys(m->fd[M_POLPODS], sizeof(key), id_used, &im, &keys, &n, err) < 0)
			return -EIO;
		if (n == 0) {
			*ret = im.pol;
			return 0;
		}
	}
	return cni_err_set(err, CNI_ERR_BPF, ENOSPC, "no free policy id");
}

/* Entries of one policy id in some slots (bit s = slot s). */
struct slot_match {
	uint32_t pol, slots;
};

static bool pol_key_in(const void *key, void *ctx)
{
	const struct weft_pol_key *k = key;
	const struct slot_match *m = ctx;

	return k->id.pol == m->pol && k->id.slot < 32 && (m->slots >> k->id.slot & 1);
}

static bool pol_port_key_in(const void *key, void *ctx)
{
	const struct weft_pol_port_key *k = key;
	const struct slot_match *m = ctx;

	return k->id.pol == m->pol && k->id.slot < 32 && (m->slots >> k->id.slot & 1);
}

static int slots_purge(const struct maps *m, uint32_t pol, uint32_t slots, struct cni_err *err)
{
	struct slot_match sm = {.pol = pol, .slots = slots};
	int r;

	if (!slots)
		return 0;
	r = bpfmap_del_if(m->fd[M_POLPORTS], sizeof(struct weft_pol_port_key), pol_port_key_in, &sm,
			  err);
	if (r >= 0)
		r = bpfmap_del_if(m->fd[M_POLICY], sizeof(struct weft_pol_key), pol_key_in, &sm,
				  err);
	return r < 0 ? cni_err_wrap(err, "remove the entries of policy id %u", pol) : 0;
}

/* ---- a pod's entries ---- */

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
static int plan_write(const struct maps *m, uint32_t pol, uint32_t dir, const struct dir_plan *pl,
		      struct cni_err *err)
{
	uint32_t slot = weft_pol_slot(dir, pl->gen);

	for (size_t i = 0; i < pl->n_ports; i++) {
		struct weft_pol_port_key key;

		polbpf_port_key(pol, slot, &pl->ports[i], &key);
		if (bpf_map_update_elem(m->fd[M_POLPORTS], &key, &pl->ports[i].mask, BPF_ANY) < 0)
			return cni_err_set(err, CNI_ERR_BPF, errno, "write a port entry");
	}
	for (size_t i = 0; i < pl->n; i++) {
		struct weft_pol_key key;

		polbpf_key(pol, slot, &pl->e[i].pfx, &key);
		if (bpf_map_update_elem(m->fd[M_POLICY], &key, &pl->e[i].mask, BPF_ANY) < 0)
			return cni_err_set(err, CNI_ERR_BPF, errno, "write a policy entry");
	}
	return 0;
}

/* Which endpoint and links entries are the pod's: those carrying its id, and those of its
 * addresses (a sandbox added before weft-node compiled the pod carries none). */
struct pod_sel {
	uint32_t pol;
	struct weft_ep_key keys[2];
	size_t n_keys;
	uint32_t ifindex[2]; /* of the entries found by address */
};

static bool ep_is_pod(const struct weft_ep_key *k, const struct weft_ep *ep, struct pod_sel *ps)
{
	bool mine = ep->pol == ps->pol;

	for (size_t i = 0; i < ps->n_keys; i++)
		if (memcmp(k, &ps->keys[i], sizeof(*k)) == 0) {
			ps->ifindex[i] = ep->ifindex;
			mine = true;
		}
	return mine;
}

/* The pod's endpoint and links entries get id pol and the policy bits flags (entries gone
 * meanwhile, by a DEL, stay gone). */
static int flags_set(const struct maps *m, struct pod_sel *ps, uint32_t pol, uint32_t flags,
		     struct cni_err *err)
{
	_cleanup_free_ void *keys = NULL, *links = NULL;
	size_t n = 0, nl = 0;
	int r = bpfmap_keys(m->fd[M_EPS], sizeof(struct weft_ep_key), NULL, NULL, &keys, &n, err);

	for (size_t i = 0; r >= 0 && i < n; i++) {
		const struct weft_ep_key *k = (const struct weft_ep_key *)keys + i;
		struct weft_ep ep;

		if (bpf_map_lookup_elem(m->fd[M_EPS], k, &ep) < 0 || !ep_is_pod(k, &ep, ps))
			continue;
		ep.pol = pol;
		ep.flags = (ep.flags & ~WEFT_EP_F_POLICY) | flags;
		if (bpf_map_update_elem(m->fd[M_EPS], k, &ep, BPF_EXIST) < 0 && errno != ENOENT)
			r = cni_err_set(err, CNI_ERR_BPF, errno, "update an endpoint's flags");
	}
	if (r >= 0)
		r = bpfmap_keys(m->fd[M_LINKS], sizeof(uint32_t), NULL, NULL, &links, &nl, err);
	for (size_t i = 0; r >= 0 && i < nl; i++) {
		uint32_t ifindex = ((const uint32_t *)links)[i];
		struct weft_link link;

		if (bpf_map_lookup_elem(m->fd[M_LINKS], &ifindex, &link) < 0 ||
		    !(link.pol == ps->pol || ifindex == ps->ifindex[0] ||
		      ifindex == ps->ifindex[1]))
			continue;
		link.pol = pol;
		link.flags = (link.flags & ~WEFT_EP_F_POLICY) | flags;
		if (bpf_map_update_elem(m->fd[M_LINKS], &ifindex, &link, BPF_EXIST) < 0 &&
		    errno != ENOENT)
			r = cni_err_set(err, CNI_ERR_BPF, errno, "update a link's flags");
	}
	return r;
}

static int apply_plans(const struct maps *m, uint64_t key, const struct weft_polpod *cur,
		       struct pod_sel *ps, const struct dir_plan plan[2], struct cni_err *err)
{
	struct weft_polpod now = {.pol = cur->pol};
	uint32_t idle = 0, stale = 0;
	int r;

	for (uint32_t d = 0; d < 2; d++) {
		uint32_t live = 1u << weft_pol_slot(d, !plan[d].gen);

		if (plan[d].isolated) {
			idle |= 1u << weft_pol_slot(d, plan[d].gen);
			stale |= live;
			now.flags |= iso_bit[d] | (plan[d].gen ? gen_bit[d] : 0);
		} else {
			stale |= live | 1u << weft_pol_slot(d, plan[d].gen);
		}
	}
	/* 1. the idle generations, cleared of leftovers and written; 2. the pod's polpods entry
	 * (what a new sandbox starts with); 3. the flip of its entries; 4. the old generations. */
	r = slots_purge(m, cur->pol, idle, err);
	for (uint32_t d = 0; r >= 0 && d < 2; d++)
		if (plan[d].isolated)
			r = plan_write(m, cur->pol, d, &plan[d], err);
	if (r >= 0 && bpf_map_update_elem(m->fd[M_POLPODS], &key, &now, BPF_ANY) < 0)
		r = cni_err_set(err, CNI_ERR_BPF, errno, "write the pod's polpods entry");
	if (r >= 0)
		r = flags_set(m, ps, now.pol, now.flags, err);
	if (r >= 0)
		r = slots_purge(m, cur->pol, stale, err);
	return r;
}

/* The pod's polpods entry, or a new id with no bits. */
static int polpod_get(const struct maps *m, uint64_t key, struct weft_polpod *ret,
		      struct cni_err *err)
{
	if (bpf_map_lookup_elem(m->fd[M_POLPODS], &key, ret) == 0)
		return 0;
	*ret = (struct weft_polpod){0};
	return id_new(m, key, &ret->pol, err);
}

int polbpf_apply(const char *pin_dir, uint64_t key, const struct pol_pod *p, struct cni_err *err)
{
	_cleanup_(maps_close) struct maps m;
	_cleanup_(plans_free) struct dir_plan plan[2] = {0};
	struct weft_polpod cur;
	struct pod_sel ps = {0};
	int r = maps_open(pin_dir, &m, err);

	if (r >= 0)
		r = polpod_get(&m, key, &cur, err);
	if (r < 0)
		return r;
	ps.pol = cur.pol;
	for (size_t i = 0; i < p->n_ips && ps.n_keys < ARRAY_SIZE(ps.keys); i++)
		bpfkey_of(&p->ips[i], ps.keys[ps.n_keys++].addr);
	r = plan_dir(&p->in, WEFT_POL_IN, cur.flags, &plan[WEFT_POL_IN], err);
	if (r >= 0)
		r = plan_dir(&p->out, WEFT_POL_OUT, cur.flags, &plan[WEFT_POL_OUT], err);
	if (r >= 0)
		r = apply_plans(&m, key, &cur, &ps, plan, err);
	return r;
}

static int forget(const struct maps *m, uint64_t key, struct cni_err *err)
{
	struct weft_polpod cur;
	struct pod_sel ps = {0};
	int r;

	if (bpf_map_lookup_elem(m->fd[M_POLPODS], &key, &cur) < 0)
		return 0;
	ps.pol = cur.pol;
	r = flags_set(m, &ps, 0, 0, err);
	if (r >= 0)
		r = slots_purge(m, cur.pol, 0xf, err);
	if (r >= 0 && bpf_map_delete_elem(m->fd[M_POLPODS], &key) < 0 && errno != ENOENT)
		r = cni_err_set(err, CNI_ERR_BPF, errno, "delete the pod's polpods entry");
	return r;
}

int polbpf_forget(const char *pin_dir, uint64_t key, struct cni_err *err)
{
	_cleanup_(maps_close) struct maps m;
	int r = maps_open(pin_dir, &m, err);

	return r < 0 ? r : forget(&m, key, err);
}

int polbpf_defaults(const char *pin_dir, bool deny, struct cni_err *err)
{
	_cleanup_(maps_close) struct maps m;
	struct weft_polpod def = {.flags = WEFT_POLPOD_F_DENY};
	uint64_t key = WEFT_POLPOD_DEFAULTS;
	int r = maps_open(pin_dir, &m, err);

	if (r < 0)
		return r;
	if (deny ? bpf_map_update_elem(m.fd[M_POLPODS], &key, &def, BPF_ANY) < 0
		 : bpf_map_delete_elem(m.fd[M_POLPODS], &key) < 0 && errno != ENOENT)
		return cni_err_set(err, CNI_ERR_BPF, errno, "write the network's policy defaults");
	return 0;
}

/* ---- garbage ---- */

struct live_ids {
	uint32_t *v;
	size_t n;
};

static bool id_dead(uint32_t pol, const struct live_ids *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == pol)
			return false;
	return true;
}

static bool key_orphan(const void *key, void *ctx)
{
	return id_dead(((const struct weft_pol_key *)key)->id.pol, ctx);
}

static bool port_key_orphan(const void *key, void *ctx)
{
	return id_dead(((const struct weft_pol_port_key *)key)->id.pol, ctx);
}

static bool u64_in(uint64_t k, const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == k)
			return true;
	return false;
}

/* Forgets the pods not in keep; the ids of the others into *live. */
static int gc_pods(const struct maps *m, const uint64_t *keep, size_t n_keep, struct live_ids *live,
		   struct cni_err *err)
{
	_cleanup_free_ void *keys = NULL;
	size_t n = 0;
	int r = bpfmap_keys(m->fd[M_POLPODS], sizeof(uint64_t), NULL, NULL, &keys, &n, err),
	    gone = 0;

	if (r >= 0 && !(live->v = calloc(n + 1, sizeof(*live->v))))
		r = cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy ids");
	for (size_t i = 0; r >= 0 && i < n; i++) {
		uint64_t k = ((const uint64_t *)keys)[i];
		struct weft_polpod pp;

		if (k == WEFT_POLPOD_DEFAULTS || bpf_map_lookup_elem(m->fd[M_POLPODS], &k, &pp) < 0)
			continue;
		if (u64_in(k, keep, n_keep))
			live->v[live->n++] = pp.pol;
		else if ((r = forget(m, k, err)) >= 0)
			gone++;
	}
	return r < 0 ? r : gone;
}

int polbpf_gc(const char *pin_dir, const uint64_t *keep, size_t n_keep, struct cni_err *err)
{
	_cleanup_(maps_close) struct maps m;
	struct live_ids live = {0};
	int r = maps_open(pin_dir, &m, err), n = 0, e = 0;

	if (r >= 0)
		n = r = gc_pods(&m, keep, n_keep, &live, err);
	if (r >= 0)
		r = e = bpfmap_del_if(m.fd[M_POLICY], sizeof(struct weft_pol_key), key_orphan,
				      &live, err);
	if (r >= 0)
		r = bpfmap_del_if(m.fd[M_POLPORTS], sizeof(struct weft_pol_port_key),
				  port_key_orphan, &live, err);
	free(live.v);
	return r < 0 ? r : n + e + r;
}

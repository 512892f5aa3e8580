/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy -> table `inet weft-policy` (see polsync.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/intern.h"
#include "agent/policy.h"
#include "agent/polsync-bpf.h"
#include "agent/polsync.h"
#include "agent/poltable.h"
#include "common/array.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/naming.h"
#include "common/nft/policy.h"

#define BRNF_DIR "/proc/sys/net/bridge"

/* The table kept from round to round (agent/poltable.h), and what each pod of this node
 * brought to it: key -> {"sig", "deps" (pod_deps), "chains": [name], "in"/"out": [address],
 * "tag", "flags", "sets": [name], "ips": [address], "ebpf", "iso"}. refs: set name -> how
 * many pods' rules name it (a set goes when no pod names it any more). */
struct table {
	struct poltable t;
	json_t *pods;
	json_t *refs;
	bool broken; /* a round failed half-way: the next one starts from nothing */
};

struct polsync {
	char *node;
	const json_t *namespaces, *pods, *policies; /* the caches, borrowed */
	struct pol_index *ix;
	struct table tb;
	bool all;			     /* the next round compiles every pod again */
	json_t *local;			     /* keys of the pods of this node: key -> true */
	bool deny;			     /* --policy-default deny */
	char podnets[2][INET_PREFIX_STRLEN]; /* this node's pod CIDRs, v4 and v6 ("": none) */
	struct polsync_bpf bpf;
	struct nft_pol *nft;
	bool brnf_done;
};

/* ---- what the informers keep ---------------------------------------------------------------- */

static void copy_key(json_t *dst, const json_t *src, const char *key)
{
	json_t *v = json_object_get(src, key);

	if (v)
		json_object_set(dst, key, v);
}

/* The value of key, held once (in: agent/intern.h; NULL: a copy of the reference). */
static void copy_held(json_t *dst, const json_t *src, const char *key, struct intern *in)
{
	json_t *v = json_object_get(src, key);

	if (v)
		json_object_set_new(dst, key, intern_take(in, json_incref(v)));
}

static json_t *compact_meta(const json_t *obj, struct intern *in)
{
	const json_t *m = json_object_get(obj, "metadata");
	json_t *r = json_object();

	copy_key(r, m, "name");
	copy_key(r, m, "namespace");
	copy_held(r, m, "labels", in);
	copy_key(r, m, "resourceVersion");
	return r;
}

/* The containers' ports (what named ports resolve against), held once. */
static json_t *compact_containers(const json_t *spec, struct intern *in)
{
	const json_t *c;
	json_t *r = json_array();
	size_t i;

	json_array_foreach(json_object_get(spec, "containers"), i, c)
	{
		json_t *k = json_object();

		copy_key(k, c, "ports");
		json_array_append_new(r, k);
	}
	return intern_take(in, r);
}

/* A pod that has ended (its sandbox is gone for good): it gets no chains. */
static bool pod_done(const json_t *pod)
{
	const char *ph =
		json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));

	return ph && (strcmp(ph, "Succeeded") == 0 || strcmp(ph, "Failed") == 0);
}

json_t *polsync_pod_compact(const json_t *pod, struct intern *in)
{
	const json_t *spec = json_object_get(pod, "spec"), *st = json_object_get(pod, "status");
	const json_t *ips = json_object_get(st, "podIPs");
	json_t *s = json_object(), *t = json_object();

	copy_key(s, spec, "nodeName");
	copy_key(s, spec, "hostNetwork");
	json_object_set_new(s, "containers", compact_containers(spec, in));
	if (json_array_size(ips) == 0)
		copy_key(t, st, "podIP"); /* else podIPs[0] (the API keeps them the same) */
	copy_key(t, st, "podIPs");
	if (pod_done(pod))
		copy_key(t, st, "phase"); /* only then: most pods carry none */
	return json_pack("{s:o, s:o, s:o}", "metadata", compact_meta(pod, in), "spec", s, "status",
			 t);
}

json_t *polsync_ns_compact(const json_t *ns)
{
	return json_pack("{s:o}", "metadata", compact_meta(ns, NULL));
}

json_t *polsync_policy_compact(const json_t *pol)
{
	json_t *spec = json_object_get(pol, "spec");

	return json_pack("{s:o, s:O}", "metadata", compact_meta(pol, NULL), "spec",
			 spec ? spec : json_null());
}

/* ---- address ranges ------------------------------------------------------------------------- */

struct rng {
	struct inet_addr lo, hi;
};

struct rngs {
	struct rng *v;
	size_t n, cap;
};

static int rngs_push(struct rngs *s, const struct inet_addr *lo, const struct inet_addr *hi)
{
	if (array_room((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)) < 0)
		return -ENOMEM;
	s->v[s->n++] = (struct rng){*lo, *hi};
	return 0;
}

/* [a.lo, a.hi] minus [lo, hi], appended to out. */
static int rng_minus(const struct rng *a, const struct inet_addr *lo, const struct inet_addr *hi,
		     struct rngs *out)
{
	struct inet_addr x;
	int r = 0;

	if (inet_addr_cmp(hi, &a->lo) < 0 || inet_addr_cmp(lo, &a->hi) > 0)
		return rngs_push(out, &a->lo, &a->hi);
	if (inet_addr_cmp(&a->lo, lo) < 0 && inet_addr_prev(lo, &x) == 0)
		r = rngs_push(out, &a->lo, &x);
	if (r == 0 && inet_addr_cmp(hi, &a->hi) < 0 && inet_addr_next(hi, &x) == 0)
		r = rngs_push(out, &x, &a->hi);
	return r;
}

/* The block's cidr minus its excepts, appended to s. */
static int block_ranges(const struct pol_block *b, struct rngs *s)
{
	struct rngs cur = {0};
	struct inet_prefix net;
	struct inet_addr last;
	int r;

	inet_prefix_network(&b->cidr, &net);
	inet_prefix_last(&b->cidr, &last);
	r = rngs_push(&cur, &net.addr, &last);
	for (size_t i = 0; r == 0 && i < b->n_except; i++) {
		struct rngs next = {0};
		struct inet_prefix en;
		struct inet_addr el;

		if (b->except[i].addr.family != b->cidr.addr.family)
			continue;
		inet_prefix_network(&b->except[i], &en);
		inet_prefix_last(&b->except[i], &el);
		for (size_t j = 0; r == 0 && j < cur.n; j++)
			r = rng_minus(&cur.v[j], &en.addr, &el, &next);
		free(cur.v);
		cur = next;
	}
	for (size_t j = 0; r == 0 && j < cur.n; j++)
		r = rngs_push(s, &cur.v[j].lo, &cur.v[j].hi);
	free(cur.v);
	return r;
}

static int rng_cmp(const void *a, const void *b)
{
	const struct rng *x = a, *y = b;
	int c = inet_addr_cmp(&x->lo, &y->lo);

	return c ? c : inet_addr_cmp(&x->hi, &y->hi);
}

/* A rule's peers go to two sets per family: its pods' addresses (a hash set: a pod coming or
 * going changes one element, cheap to commit) and its ipBlocks (an interval set, which only a
 * policy change changes: the kernel rebuilds a whole interval set on each commit that
 * touches it). */
enum part { PART_PODS, PART_BLOCKS };

/* The peers of rule r in family fam, pods' or blocks', as ranges (sorted, no two the same).
 * The compiler's memo keeps a rule's addresses sorted: most rules need no sort here. */
static int rule_ranges(const struct pol_rule *r, int fam, enum part part, struct rngs *s)
{
	size_t k = 0;
	int rr = 0;

	for (size_t i = 0; part == PART_PODS && rr == 0 && i < r->n_ips; i++)
		if (r->ips[i].family == fam)
			rr = rngs_push(s, &r->ips[i], &r->ips[i]);
	for (size_t i = 0; part == PART_BLOCKS && rr == 0 && i < r->n_blocks; i++)
		if (r->blocks[i].cidr.addr.family == fam)
			rr = block_ranges(&r->blocks[i], s);
	if (rr < 0 || s->n < 2)
		return rr;
	array_sort(s->v, s->n, sizeof(*s->v), rng_cmp);
	for (size_t i = 1; i < s->n; i++)
		if (rng_cmp(&s->v[k], &s->v[i]) != 0)
			s->v[++k] = s->v[i];
	s->n = k + 1;
	return 0;
}

/* ---- the wanted table ----------------------------------------------------------------------- */

/* The ranges as the table wants them ("A-B,C,..."); name (when not NULL) gets "a4-<16 hex>" /
 * "a6-..." of a hash of that text (prefixed "p" for a plain set). */
static json_t *ranges_json(const struct rngs *s, char *name, int fam, bool plain)
{
	char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	const char *parts[1];

	if (!f)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		fputs(inet_addr_fmt(&s->v[i].lo, lo, sizeof(lo)), f);
		if (!inet_addr_eq(&s->v[i].lo, &s->v[i].hi)) {
			fputc('-', f);
			fputs(inet_addr_fmt(&s->v[i].hi, hi, sizeof(hi)), f);
		}
		if (i + 1 < s->n)
			fputc(',', f);
	}
	fclose(f);
	parts[0] = text ? text : "";
	if (name)
		snprintf(name, 32, "%sa%d-%016" PRIx64, plain ? "p" : "", fam == AF_INET6 ? 6 : 4,
			 naming_hash(parts, 1));
	return json_string(parts[0]);
}

/* One round: the table; which set the peers of each memo entry (agent/policy.h, peers_id)
 * made this round: "<id>/<family><p|b>" (pods or blocks) -> its name, "" when there are none
 * (a set is made once per round, whichever pods name it); the sets whose last pod went. */
struct round {
	struct table *tb;
	json_t *made;
	json_t *dropped;	 /* [name]: refs went to 0 this round */
	json_t *known;		 /* [address of every local pod] */
	struct polsync_bpf *bpf; /* NULL: every pod goes to the table */
};

/* The set of r's peers in fam, the part's (NULL: none there). Its name: after the selectors
 * when r's peers come from the compiler's memo (the set then keeps its name while pods come
 * and go), else after its content; "p" before it for the pods' (a plain set: the kind never
 * changes under a name). */
static json_t *set_make(const struct pol_rule *r, int fam, enum part part, char name[32], int *rr)
{
	bool plain = part == PART_PODS;
	struct rngs s = {0};
	json_t *set = NULL;

	name[0] = '\0';
	*rr = rule_ranges(r, fam, part, &s);
	if (*rr == 0 && s.n)
		set = json_pack("{s:i, s:o}", "family", fam == AF_INET6 ? 6 : 4, "ranges",
				ranges_json(&s, r->peers_key ? NULL : name, fam, plain));
	if (set && plain)
		json_object_set_new(set, "plain", json_true());
	if (set && r->peers_key)
		snprintf(name, 32, "%ss%d-%016" PRIx64, plain ? "p" : "", fam == AF_INET6 ? 6 : 4,
			 r->peers_key);
	free(s.v);
	return set;
}

/* The set of rule r's peers in fam (the part's), in the table: its name, or "" when r has
 * none there. An equal set already there stays as it is. */
static int rule_set(struct round *rd, const struct pol_rule *r, int fam, enum part part,
		    char name[32])
{
	json_t *c, *set;
	char key[48];
	int rr = 0;

	snprintf(key, sizeof(key), "%" PRIu64 "/%d%c", r->peers_id, fam,
		 part == PART_PODS ? 'p' : 'b');
	if (r->peers_id && (c = json_object_get(rd->made, key))) {
		snprintf(name, 32, "%s", json_string_value(c));
		return 0;
	}
	set = set_make(r, fam, part, name, &rr);
	if (set)
		rr = poltable_set(&rd->tb->t, "sets", name, set);
	if (rr == 0 && r->peers_id)
		rr = json_object_set_new(rd->made, key, json_string(name)) < 0 ? -ENOMEM : 0;
	return rr;
}

static void rule_ports_json(const struct pol_rule *r, const char *set, json_t *out)
{
	if (r->any_port) {
		json_array_append_new(out, set ? json_pack("{s:s}", "set", set) : json_object());
		return;
	}
	for (size_t i = 0; i < r->n_ports; i++) {
		const struct pol_port *p = &r->ports[i];
		json_t *o = json_pack("{s:i}", "proto", p->proto);

		if (set)
			json_object_set_new(o, "set", json_string(set));
		if (p->lo) {
			json_object_set_new(o, "lo", json_integer(p->lo));
			json_object_set_new(o, "hi", json_integer(p->hi ? p->hi : p->lo));
		}
		json_array_append_new(out, o);
	}
}

/* Two rules allow the same ports (their peers may then share one set and one nft rule). */
static bool same_ports(const struct pol_rule *a, const struct pol_rule *b)
{
	return a->any_port == b->any_port && a->n_ports == b->n_ports &&
	       (!a->n_ports || memcmp(a->ports, b->ports, a->n_ports * sizeof(*a->ports)) == 0);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* FNV-1a over the sorted values (0 when one of them is 0: not cacheable, not named by it). */
static uint64_t mix_sorted(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), u64_cmp);
	for (size_t i = 0; i < n; i++)
		if (!v[i])
			return 0;
	return naming_hash_bytes(NAMING_HASH_INIT, v, n * sizeof(*v));
}

/* The rules of d from first on whose ports are first's and that name peers (any_peer rules
 * stay apart), marked in used; their union of peers in ret (arrays borrowed from the rules:
 * free only ret->ips and ret->blocks). */
static int group(const struct pol_dir *d, size_t first, bool *used, struct pol_rule *ret)
{
	const struct pol_rule *f = &d->rules[first];
	uint64_t *ids = calloc(d->n, sizeof(*ids)), *keys = calloc(d->n, sizeof(*keys));
	size_t n = 0, ni = 0, nb = 0;
	int rr = ids && keys ? 0 : -ENOMEM;

	*ret = (struct pol_rule){.any_port = f->any_port, .ports = f->ports, .n_ports = f->n_ports};
	for (size_t i = first; rr == 0 && i < d->n; i++) {
		const struct pol_rule *r = &d->rules[i];

		if (used[i] || r->any_peer || !same_ports(f, r))
			continue;
		used[i] = true;
		ids[n] = r->peers_id;
		keys[n++] = r->peers_key;
		ni += r->n_ips;
		nb += r->n_blocks;
	}
	ret->ips = rr == 0 ? malloc((ni + 1) * sizeof(*ret->ips)) : NULL;
	ret->blocks = rr == 0 ? malloc((nb + 1) * sizeof(*ret->blocks)) : NULL;
	if (!ret->ips || !ret->blocks)
		rr = -ENOMEM;
	for (size_t i = first; rr == 0 && i < d->n; i++) {
		const struct pol_rule *r = &d->rules[i];

		if (!used[i] || r->any_peer || !same_ports(f, r))
			continue;
		if (r->n_ips)
			memcpy(ret->ips + ret->n_ips, r->ips, r->n_ips * sizeof(*r->ips));
		if (r->n_blocks)
			memcpy(ret->blocks + ret->n_blocks, r->blocks,
			       r->n_blocks * sizeof(*r->blocks));
		ret->n_ips += r->n_ips;
		ret->n_blocks += r->n_blocks;
	}
	ret->peers_id = n == 1 ? ids[0] : mix_sorted(ids, n);
	ret->peers_key = n == 1 ? keys[0] : mix_sorted(keys, n);
	free(ids);
	free(keys);
	return rr;
}

/* The nft rules of d: one per port entry of an any-peer rule; the rules with the same ports
 * share one set of their pods and one of their ipBlocks per family (a lookup or two per
 * packet, not one per policy). */
static int dir_rules(struct round *rd, const struct pol_dir *d, json_t *out)
{
	static const int fams[] = {AF_INET, AF_INET6};
	bool *used = calloc(d->n + 1, sizeof(*used));
	int rr = used ? 0 : -ENOMEM;

	for (size_t i = 0; rr == 0 && i < d->n; i++) {
		struct pol_rule u;

		if (d->rules[i].any_peer) {
			rule_ports_json(&d->rules[i], NULL, out);
			continue;
		}
		if (used[i] || (rr = group(d, i, used, &u)) < 0)
			continue;
		for (size_t f = 0; rr == 0 && f < 4; f++) {
			char name[32];

			rr = rule_set(rd, &u, fams[f / 2], f % 2 ? PART_BLOCKS : PART_PODS, name);
			if (rr == 0 && name[0])
				rule_ports_json(&u, name, out);
		}
		free(u.ips);
		free(u.blocks);
	}
	free(used);
	return rr;
}

/* The distinct sets the rules name, into names (an object: name -> true). */
static void rules_sets(const json_t *rules, json_t *names)
{
	const json_t *r;
	size_t i;

	json_array_foreach(rules, i, r)
	{
		const char *n = json_string_value(json_object_get(r, "set"));

		if (n)
			json_object_set(names, n, json_true());
	}
}

/* The name of a pod's chain: "pi-<tag>" for ingress, "po-<tag>" for egress. */
static void pod_chain(bool in, const char *tag, char chain[32])
{
	snprintf(chain, 32, "p%c-%s", in ? 'i' : 'o', tag);
}

/* The pod's chain for a direction and its addresses pointing at it, into the table; what it
 * brought into e (its entry: "chains", "in"/"out", "sets"). */
static int add_dir(struct round *rd, const struct pol_pod *p, bool in, const char *tag, json_t *e)
{
	struct poltable *t = &rd->tb->t;
	const struct pol_dir *d = in ? &p->in : &p->out;
	_cleanup_json_ json_t *rules = json_array();
	char chain[32], ip[INET6_ADDRSTRLEN];
	int rr = rules ? 0 : -ENOMEM;

	pod_chain(in, tag, chain);
	if (rr == 0)
		rr = dir_rules(rd, d, rules);
	if (rr == 0) {
		rules_sets(rules, json_object_get(e, "sets"));
		rr = poltable_set(
			t, "chains", chain,
			json_pack("{s:s, s:O}", "dir", in ? "in" : "out", "rules", rules));
	}
	if (rr == 0)
		json_array_append_new(json_object_get(e, "chains"), json_string(chain));
	for (size_t i = 0; rr == 0 && i < p->n_ips; i++) {
		inet_addr_fmt(&p->ips[i], ip, sizeof(ip));
		rr = poltable_set(t, in ? "in" : "out", ip, json_string(chain));
		json_array_append_new(json_object_get(e, in ? "in" : "out"), json_string(ip));
	}
	return rr;
}

static bool is_local(const json_t *pod, const char *node)
{
	const json_t *spec = json_object_get(pod, "spec");
	const char *n = json_string_value(json_object_get(spec, "nodeName"));

	return n && strcmp(n, node) == 0 && !json_is_true(json_object_get(spec, "hostNetwork")) &&
	       !pod_done(pod);
}

/* ---- what a pod brought to the table, kept until it changes ---- */

/* "<resourceVersion>|<changes to its namespace's policies>": with the memo slots of its rules,
 * what its compile depends on (agent/policy.h pol_index_slot_id). */
static void pod_sig(const struct pol_index *ix, const json_t *pod, const char *ns, char *buf,
		    size_t len)
{
	const char *rv = json_string_value(
		json_object_get(json_object_get(pod, "metadata"), "resourceVersion"));

	snprintf(buf, len, "%s|%" PRIu64, rv ? rv : "", pol_index_ns_gen(ix, ns));
}

/* [slot, id, slot, id, ...] of the rules' memo entries (ids as their bits in a JSON integer);
 * NULL when a rule's peers were made for this pod alone (egress to a named port): such a pod is
 * compiled every round. */
static json_t *pod_deps(const struct pol_pod *p)
{
	const struct pol_dir *dirs[] = {&p->in, &p->out};
	json_t *v = json_array();

	for (size_t d = 0; v && d < 2; d++)
		for (size_t i = 0; v && i < dirs[d]->n; i++) {
			const struct pol_rule *r = &dirs[d]->rules[i];

			if (r->any_peer)
				continue;
			if (!r->peers_slot) {
				json_decref(v);
				return NULL;
			}
			json_array_append_new(v, json_integer(r->peers_slot));
			json_array_append_new(v, json_integer((json_int_t)r->peers_id));
		}
	return v;
}

static bool deps_current(const struct pol_index *ix, const json_t *deps)
{
	size_t n = json_array_size(deps);

	if (!json_is_array(deps))
		return false;
	for (size_t i = 0; i + 1 < n; i += 2)
		if (pol_index_slot_id(ix, (uint32_t)json_integer_value(json_array_get(deps, i))) !=
		    (uint64_t)json_integer_value(json_array_get(deps, i + 1)))
			return false;
	return true;
}

/* Is the pod as its entry was made (nothing it depends on changed)? */
static bool pod_current(const struct pol_index *ix, const json_t *pod, const char *ns,
			const json_t *e)
{
	char sig[160];

	pod_sig(ix, pod, ns, sig, sizeof(sig));
	return strcmp(json_string_value(json_object_get(e, "sig")) ?: "", sig) == 0 &&
	       deps_current(ix, json_object_get(e, "deps"));
}

/* Set name's count of pods naming it, moved by delta (a name at 0 is noted in dropped). */
static int refs_add(struct round *rd, const char *name, int delta)
{
	json_t *n = json_object_get(rd->tb->refs, name);
	json_int_t c = json_integer_value(n) + delta;

	if (!n && delta < 0)
		return 0;
	if (n ? json_integer_set(n, c) < 0
	      : json_object_set_new(rd->tb->refs, name, json_integer(c)) < 0)
		return -ENOMEM;
	return c <= 0 && json_array_append_new(rd->dropped, json_string(name)) < 0 ? -ENOMEM : 0;
}

/* What the entry's pod brought to the table out of it (its addresses only where they still
 * point at its chains: an address a newer pod holds stays). */
static void pod_forget(struct round *rd, const json_t *e)
{
	struct poltable *t = &rd->tb->t;
	const char *tag = json_string_value(json_object_get(e, "tag")), *k;
	json_t *v;
	size_t i;

	for (int in = 0; tag && in < 2; in++) {
		const char *sec = in ? "in" : "out";
		char chain[32];

		pod_chain(in, tag, chain);
		json_array_foreach(json_object_get(e, sec), i, v)
		{
			const char *a = json_string_value(v) ?: "";
			const char *cur = json_string_value(poltable_get(t, sec, a));

			if (cur && strcmp(cur, chain) == 0)
				poltable_del(t, sec, a);
		}
	}
	json_array_foreach(json_object_get(e, "chains"), i, v)
		poltable_del(t, "chains", json_string_value(v));
	if (tag)
		poltable_del(t, "pods", tag);
	json_object_foreach((json_t *)json_object_get(e, "sets"), k, v)
		refs_add(rd, k, -1); /* (no memory: the set stays, named by no one) */
}

/* The entry into the table's: its sets counted. */
static int pod_commit(struct round *rd, const char *key, json_t *e)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)json_object_get(e, "sets"), k, v)
	{
		if (refs_add(rd, k, 1) < 0)
			return -ENOMEM;
	}
	return json_object_set(rd->tb->pods, key, e) < 0 ? -ENOMEM : 0;
}

/* An entry kept from an earlier round: counted, its addresses known. */
static void pod_count(struct round *rd, const char *key, const json_t *e, struct polsync_stats *st)
{
	const json_t *c;
	size_t i;

	st->pods_local++;
	st->pods_ebpf += json_is_true(json_object_get(e, "ebpf"));
	st->pods_isolated += json_is_true(json_object_get(e, "iso"));
	json_array_foreach(json_object_get(e, "ips"), i, c)
		json_array_append(rd->known, (json_t *)c);
	polsync_bpf_seen(rd->bpf, key);
}

/* The pod compiled (its addresses, chains and flags) into the table and into e. */
static int pod_render(struct round *rd, const char *key, const struct pol_pod *p, const char *tag,
		      json_t *e, bool *ebpf)
{
	int rr = rd->bpf ? polsync_bpf_route(rd->bpf, key, p) : 0;
	unsigned flags =
		(p->in.isolated ? NFT_POL_POD_IN : 0) | (p->out.isolated ? NFT_POL_POD_OUT : 0);

	for (size_t i = 0; i < p->n_ips; i++) {
		char a[INET6_ADDRSTRLEN];
		json_t *ip = json_string(inet_addr_fmt(&p->ips[i], a, sizeof(a)));

		json_array_append(rd->known, ip);
		json_array_append_new(json_object_get(e, "ips"), ip);
	}
	*ebpf = rr != 0;
	if (*ebpf)
		return rr < 0 ? rr : 0;
	/* a pod without addresses yet gets its chains too: its ADD finds them (nft_pol_attach) */
	if (p->in.isolated)
		rr = add_dir(rd, p, true, tag, e);
	if (rr == 0 && p->out.isolated)
		rr = add_dir(rd, p, false, tag, e);
	if (rr == 0)
		rr = poltable_set(&rd->tb->t, "pods", tag, json_integer(flags));
	json_object_set_new(e, "tag", json_string(tag));
	json_object_set_new(e, "flags", json_integer(flags));
	return rr;
}

/* The pod (key: its "namespace/name", the caches' key) compiled into the table, with its entry.
 * An ebpf pod whose maps could not be written is compiled again next round. */
static int add_pod(struct round *rd, struct pol_index *ix, const json_t *pod, const char *key,
		   struct polsync_stats *st, struct cni_err *err)
{
	const json_t *m = json_object_get(pod, "metadata");
	const char *ns = json_string_value(json_object_get(m, "namespace"));
	const char *name = json_string_value(json_object_get(m, "name"));
	char tag[NFT_POL_TAG_LEN + 1], sig[160];
	_cleanup_json_ json_t *e = NULL;
	struct pol_pod p;
	bool ebpf = false, iso;
	int rr;

	if (!ns || !name)
		return 0;
	st->pods_local++;
	pod_sig(ix, pod, ns, sig, sizeof(sig));
	if (pol_compile_ix(ix, ns, name, &p, err) < 0)
		return -EINVAL;
	nft_pol_pod_tag(ns, name, tag);
	e = json_pack("{s:s, s:[], s:[], s:[], s:{}, s:[]}", "sig", sig, "chains", "in", "out",
		      "sets", "ips");
	rr = e ? pod_render(rd, key, &p, tag, e, &ebpf) : -ENOMEM;
	iso = p.n_ips && (p.in.isolated || p.out.isolated);
	if (e) {
		json_object_set_new(e, "deps", rr == 0 ? pod_deps(&p) : json_null());
		json_object_set_new(e, "ebpf", json_boolean(ebpf));
		json_object_set_new(e, "iso", json_boolean(iso));
	}
	st->pods_ebpf += ebpf;
	st->pods_isolated += iso;
	pol_pod_free(&p);
	if ((rr == 0 || ebpf) && e && pod_commit(rd, key, e) < 0)
		rr = -ENOMEM, ebpf = false;
	return rr < 0 && !ebpf
		       ? cni_err_set(err, CNI_ERR_INTERNAL, -rr, "policy of %s/%s", ns, name)
		       : 0;
}

static int table_init(struct table *tb)
{
	*tb = (struct table){0};
	if (poltable_init(&tb->t) < 0 || !(tb->pods = json_object()) || !(tb->refs = json_object()))
		return -ENOMEM;
	return 0;
}

static void table_fini(struct table *tb)
{
	poltable_fini(&tb->t);
	json_decref(tb->pods);
	json_decref(tb->refs);
	*tb = (struct table){0};
}

/* Entries of pods that changed, went or left this node: what they brought, out (first, so
 * that an address moving between pods ends with its new holder). all: every entry. */
static void forget_changed(struct round *rd, struct pol_index *ix, const json_t *pods,
			   const json_t *local, bool all)
{
	const char *k;
	json_t *e, *tmp;

	json_object_foreach_safe(rd->tb->pods, tmp, k, e)
	{
		const json_t *pod = json_object_get(pods, k);
		const char *ns = json_string_value(
			json_object_get(json_object_get(pod, "metadata"), "namespace"));

		if (!all && pod && ns && json_object_get(local, k) && pod_current(ix, pod, ns, e))
			continue;
		pod_forget(rd, e);
		json_object_del(rd->tb->pods, k);
	}
}

/* The sets no pod names any more, out of the table. */
static void drop_unnamed(struct round *rd)
{
	const json_t *v;
	size_t i;

	json_array_foreach(rd->dropped, i, v)
	{
		const char *n = json_string_value(v);
		const json_t *c = json_object_get(rd->tb->refs, n);

		if (c && json_integer_value(c) <= 0) {
			poltable_del(&rd->tb->t, "sets", n);
			json_object_del(rd->tb->refs, n);
		}
	}
}

/* One round: the table made current for the pods of local (key -> true; the pods cache has
 * their objects); known gets the address of every local pod. all: every pod compiled again. */
static int table_round(struct table *tb, struct pol_index *ix, const json_t *pods,
		       const json_t *local, bool all, struct polsync_bpf *bpf, json_t *known,
		       struct polsync_stats *st, struct cni_err *err)
{
	_cleanup_json_ json_t *made = json_object(), *dropped = json_array();
	struct round rd = {tb, made, dropped, known, bpf};
	struct polsync_stats s = {0};
	const char *k;
	json_t *v;

	if (!made || !dropped)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy table");
	poltable_round(&tb->t);
	forget_changed(&rd, ix, pods, local, all);
	json_object_foreach((json_t *)local, k, v)
	{
		const json_t *pod = json_object_get(pods, k), *e = json_object_get(tb->pods, k);

		if (e)
			pod_count(&rd, k, e, &s);
		else if (pod && add_pod(&rd, ix, pod, k, &s, err) < 0)
			return -EINVAL;
	}
	drop_unnamed(&rd);
	s.chains = poltable_size(&tb->t, "chains");
	s.sets = poltable_size(&tb->t, "sets");
	if (st)
		*st = s;
	return 0;
}

json_t *polsync_want(const char *node_name, const json_t *namespaces, const json_t *pods,
		     const json_t *policies, struct polsync_stats *st, struct cni_err *err)
{
	struct polsync *ps = NULL;
	_cleanup_json_ json_t *known = json_array();
	json_t *want = NULL;

	if (!known || polsync_new(node_name, namespaces, pods, policies, &ps) < 0) {
		cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy index");
		return NULL;
	}
	if (table_round(&ps->tb, ps->ix, pods, ps->local, true, NULL, known, st, err) == 0)
		want = json_incref(ps->tb.t.doc);
	polsync_free(ps);
	return want;
}

/* ---- applying ------------------------------------------------------------------------------- */

/* br_netfilter on in this netns: bridged frames meet the inet hooks (and conntrack). */
static int brnf_ensure(struct cni_err *err)
{
	static const char *const keys[] = {"bridge-nf-call-iptables", "bridge-nf-call-ip6tables"};

	for (size_t i = 0; i < 2; i++) {
		char path[128], v = 0;
		_cleanup_close_ int fd = -1;

		snprintf(path, sizeof(path), "%s/%s", BRNF_DIR, keys[i]);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return cni_err_set(err, CNI_ERR_CONFIG, errno,
					   "NetworkPolicy on bridged pods needs br_netfilter: "
					   "%s: %s (load the module: modprobe br_netfilter)",
					   path, strerror(errno));
		if (read(fd, &v, 1) == 1 && v == '1')
			continue;
		if (pwrite(fd, "1\n", 2, 0) != 2)
			return cni_err_set(err, CNI_ERR_CONFIG, errno, "write 1 to %s", path);
		log_info("set %s to 1 (bridged pod traffic must meet NetworkPolicy)", path);
	}
	return 0;
}

int polsync_new(const char *node_name, const json_t *namespaces, const json_t *pods,
		const json_t *policies, struct polsync **ret)
{
	struct polsync *ps = calloc(1, sizeof(*ps));

	const char *k;
	json_t *pod;

	if (ps)
		polsync_bpf_init(&ps->bpf);
	if (!ps || !(ps->node = strdup(node_name)) || !(ps->local = json_object()) ||
	    table_init(&ps->tb) < 0 || pol_index_new(namespaces, pods, policies, &ps->ix) < 0) {
		polsync_free(ps);
		return -ENOMEM;
	}
	json_object_foreach((json_t *)pods, k, pod) if (is_local(pod, node_name))
		json_object_set_new(ps->local, k, json_true());
	ps->namespaces = namespaces;
	ps->pods = pods;
	ps->policies = policies;
	*ret = ps;
	return 0;
}

void polsync_free(struct polsync *ps)
{
	if (!ps)
		return;
	pol_index_free(ps->ix);
	table_fini(&ps->tb);
	json_decref(ps->local);
	polsync_bpf_fini(&ps->bpf);
	nft_pol_free(ps->nft);
	free(ps->node);
	free(ps);
}

void polsync_take_state(struct polsync *to, struct polsync *from)
{
	to->nft = from->nft;
	to->brnf_done = from->brnf_done;
	to->deny = from->deny;
	memcpy(to->podnets, from->podnets, sizeof(to->podnets));
	from->nft = NULL;
	polsync_bpf_nets(&to->bpf, json_incref(from->bpf.nets));
}

void polsync_set_ebpf(struct polsync *ps, json_t *nets)
{
	polsync_bpf_nets(&ps->bpf, nets);
	ps->all = true; /* which pods are ebpf's is asked again */
}

int polsync_changed(struct polsync *ps, enum polsync_kind kind, const char *key, const json_t *old,
		    json_t *now)
{
	switch (kind) {
	case POLSYNC_NAMESPACE:
		return pol_index_ns(ps->ix, key);
	case POLSYNC_POD:
		if (now && is_local(now, ps->node))
			json_object_set_new(ps->local, key, json_true());
		else
			json_object_del(ps->local, key);
		polsync_bpf_pod_changed(&ps->bpf, key);
		return pol_index_pod(ps->ix, old, now);
	case POLSYNC_POLICY:
		return pol_index_policy(ps->ix, old, now);
	}
	return 0;
}

/* "a,b,c" of the addresses of family fam in list. */
static json_t *join_family(const json_t *list, bool v6)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0, n = 0, i;
	FILE *f = open_memstream(&text, &len);
	const json_t *a;

	if (!f)
		return NULL;
	json_array_foreach(list, i, a)
	{
		const char *s = json_string_value(a);

		if (s && (strchr(s, ':') != NULL) == v6)
			fprintf(f, "%s%s", n++ ? "," : "", s);
	}
	fclose(f);
	return json_string(text ? text : "");
}

static const char *const guard_names[2][2] = {{"podnets4", "known4"}, {"podnets6", "known6"}};

/* The guard of --policy-default deny (common/nft/policy.h): the node's pod networks, and the
 * addresses of the pods the agent knows (known); without deny, none. */
static int guard_sets(struct polsync *ps, const json_t *known)
{
	struct poltable *t = &ps->tb.t;
	int rr = 0;

	poltable_guard(t, ps->deny);
	for (int v6 = 0; rr == 0 && v6 < 2; v6++) {
		struct inet_prefix net;
		struct inet_addr last;
		char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN],
			range[2 * INET6_ADDRSTRLEN + 2] = "";

		if (!ps->deny) {
			poltable_del(t, "sets", guard_names[v6][0]);
			poltable_del(t, "sets", guard_names[v6][1]);
			continue;
		}
		if (ps->podnets[v6][0] && inet_prefix_parse(ps->podnets[v6], &net) == 0) {
			inet_prefix_network(&net, &net);
			inet_prefix_last(&net, &last);
			snprintf(range, sizeof(range), "%s-%s",
				 inet_addr_fmt(&net.addr, lo, sizeof(lo)),
				 inet_addr_fmt(&last, hi, sizeof(hi)));
		}
		rr = poltable_set(t, "sets", guard_names[v6][0],
				  json_pack("{s:i, s:s}", "family", v6 ? 6 : 4, "ranges", range));
		if (rr == 0)
			rr = poltable_set(t, "sets", guard_names[v6][1],
					  json_pack("{s:i, s:o}", "family", v6 ? 6 : 4, "ranges",
						    join_family(known, v6)));
	}
	return rr;
}

void polsync_set_default(struct polsync *ps, bool deny, const struct inet_prefix *nets, size_t n)
{
	ps->deny = deny;
	polsync_bpf_default(&ps->bpf, deny);
	ps->podnets[0][0] = ps->podnets[1][0] = '\0';
	for (size_t i = 0; i < n; i++)
		inet_prefix_fmt(&nets[i], ps->podnets[nets[i].addr.family == AF_INET6],
				INET_PREFIX_STRLEN);
}

/* The table's round; after a failed one, the next starts from nothing. */
static int round_table(struct polsync *ps, struct polsync_stats *st, struct cni_err *err)
{
	_cleanup_json_ json_t *known = json_array();
	int r;

	if (ps->tb.broken) {
		table_fini(&ps->tb);
		if (table_init(&ps->tb) < 0)
			ps->tb.broken = true;
	}
	if (ps->tb.broken || !known)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy table");
	polsync_bpf_begin(&ps->bpf);
	r = table_round(&ps->tb, ps->ix, ps->pods, ps->local, ps->all, &ps->bpf, known, st, err);
	polsync_bpf_end(&ps->bpf);
	if (r == 0 && guard_sets(ps, known) < 0)
		r = cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy table");
	ps->tb.broken = r < 0;
	ps->all = ps->all && r < 0;
	return r;
}

int polsync_apply(struct polsync *ps, struct polsync_stats *st, struct cni_err *err)
{
	struct nft_pol_counts c = {0};
	int r = round_table(ps, st, err);

	st->bpf_errors = ps->bpf.errors;
	st->bpf_applied = ps->bpf.applied;
	if (r < 0)
		return -EINVAL;
	if ((st->chains || ps->deny) && !ps->brnf_done) {
		if (brnf_ensure(err) < 0) {
			/* the table changed in place and was not applied: next time, all of it */
			nft_pol_free(ps->nft);
			ps->nft = NULL;
			return -EINVAL;
		}
		ps->brnf_done = true;
	}
	r = nft_pol_apply_touched(&ps->nft, ps->tb.t.doc, ps->tb.t.before, &c, err);
	st->replaced = c.replaced;
	snprintf(st->why, sizeof(st->why), "%s", c.why);
	st->changes = c.sets_added + c.sets_changed + c.sets_removed + c.chains_added +
		      c.chains_changed + c.chains_removed + c.map_changes;
	return r;
}

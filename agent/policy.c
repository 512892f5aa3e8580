/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy compiled for one pod (see policy.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/policy.h"
#include "common/cleanup.h"
#include "common/naming.h"

#define NS_NAME_LABEL "kubernetes.io/metadata.name"

/* ---- objects ------------------------------------------------------------------------------ */

static const json_t *meta(const json_t *o, const char *key)
{
	return json_object_get(json_object_get(o, "metadata"), key);
}

static const char *meta_str(const json_t *o, const char *key)
{
	return json_string_value(meta(o, key));
}

static bool host_network(const json_t *pod)
{
	return json_is_true(json_object_get(json_object_get(pod, "spec"), "hostNetwork"));
}

/* The namespace's labels, with the name label Kubernetes always sets (new reference). */
static json_t *ns_labels(const json_t *namespaces, const char *ns)
{
	json_t *l = json_deep_copy(meta(json_object_get(namespaces, ns), "labels"));

	if (!json_is_object(l)) {
		json_decref(l);
		l = json_object();
	}
	json_object_set_new(l, NS_NAME_LABEL, json_string(ns));
	return l;
}

static size_t pod_ips(const json_t *pod, struct inet_addr *ret, size_t max)
{
	const json_t *st = json_object_get(pod, "status"), *v;
	size_t n = 0, i;

	json_array_foreach(json_object_get(st, "podIPs"), i,
			   v) if (n < max &&
				  inet_addr_parse(json_string_value(json_object_get(v, "ip")),
						  &ret[n]) == 0) n++;
	if (!n && inet_addr_parse(json_string_value(json_object_get(st, "podIP")), &ret[0]) == 0)
		n = 1;
	return n;
}

/* ---- selectors ---------------------------------------------------------------------------- */

static bool in_values(const json_t *values, const char *v)
{
	size_t i;
	json_t *x;

	json_array_foreach(values, i, x) if (v && json_is_string(x) &&
					     strcmp(json_string_value(x), v) == 0) return true;
	return false;
}

static bool expr_matches(const json_t *e, const json_t *labels)
{
	const char *op = json_string_value(json_object_get(e, "operator"));
	const char *key = json_string_value(json_object_get(e, "key"));
	const char *v = key ? json_string_value(json_object_get(labels, key)) : NULL;
	const json_t *values = json_object_get(e, "values");

	if (!op || !key)
		return false;
	if (strcmp(op, "In") == 0)
		return in_values(values, v);
	if (strcmp(op, "NotIn") == 0)
		return !in_values(values, v);
	if (strcmp(op, "Exists") == 0)
		return v != NULL;
	if (strcmp(op, "DoesNotExist") == 0)
		return v == NULL;
	return false; /* an operator the API does not have selects nothing */
}

bool pol_selector_matches(const json_t *sel, const json_t *labels)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(sel))
		return false;
	json_object_foreach((json_t *)json_object_get(sel, "matchLabels"), k, v)
	{
		const char *have = json_string_value(json_object_get(labels, k));

		if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)) != 0)
			return false;
	}
	json_array_foreach(json_object_get(sel, "matchExpressions"), i,
			   v) if (!expr_matches(v, labels)) return false;
	return true;
}

/* ---- growing arrays ----------------------------------------------------------------------- */

/* Arrays grow by doubling: room for n items is the next power of two (push relies on it). */
static size_t room(size_t n)
{
	size_t c = 1;

	while (c < n)
		c <<= 1;
	return c;
}

static int push(void **v, size_t *n, size_t size, const void *item)
{
	void *p = *v;

	if ((*n & (*n - 1)) == 0 && !(p = realloc(*v, room(*n + 1) * size)))
		return -ENOMEM;
	memcpy((char *)p + *n * size, item, size);
	*v = p;
	(*n)++;
	return 0;
}

/* ---- ports -------------------------------------------------------------------------------- */

static uint8_t proto_of(const char *s)
{
	if (!s || strcmp(s, "TCP") == 0)
		return POL_PROTO_TCP;
	if (strcmp(s, "UDP") == 0)
		return POL_PROTO_UDP;
	if (strcmp(s, "SCTP") == 0)
		return POL_PROTO_SCTP;
	return 0;
}

/* The number pod gives the port name for proto; 0 when it has none. */
static uint16_t named_port(const json_t *pod, const char *name, uint8_t proto)
{
	const json_t *c, *p;
	size_t i, j;

	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c)
		json_array_foreach(json_object_get(c, "ports"), j, p)
	{
		const char *n = json_string_value(json_object_get(p, "name"));
		json_int_t num = json_integer_value(json_object_get(p, "containerPort"));

		if (n && strcmp(n, name) == 0 &&
		    proto_of(json_string_value(json_object_get(p, "protocol"))) == proto &&
		    num > 0 && num < 65536)
			return (uint16_t)num;
	}
	return 0;
}

/* One entry of a rule's ports, resolved on pod (NULL: named ports resolve to nothing).
 * 1: *ret filled; 0: matches nothing here. */
static int port_entry(const json_t *e, const json_t *pod, struct pol_port *ret)
{
	const json_t *port = json_object_get(e, "port");
	json_int_t end = json_integer_value(json_object_get(e, "endPort"));

	ret->proto = proto_of(json_string_value(json_object_get(e, "protocol")));
	ret->lo = ret->hi = 0;
	if (!ret->proto)
		return 0;
	if (json_is_integer(port) && json_integer_value(port) > 0 &&
	    json_integer_value(port) < 65536) {
		ret->lo = (uint16_t)json_integer_value(port);
		ret->hi = end >= ret->lo && end < 65536 ? (uint16_t)end : ret->lo;
	} else if (json_is_string(port)) {
		ret->lo = ret->hi = pod ? named_port(pod, json_string_value(port), ret->proto) : 0;
		return ret->lo != 0;
	}
	return 1;
}

static bool has_named(const json_t *ports)
{
	size_t i;
	json_t *e;

	json_array_foreach(ports, i, e) if (json_is_string(json_object_get(e, "port"))) return true;
	return false;
}

/* The rule's ports resolved on pod. 0 and nothing allowed when it lists ports but none holds
 * here (the rule then allows nothing for this pod). */
static int rule_ports(const json_t *ports, const json_t *pod, struct pol_rule *r)
{
	struct pol_port p;
	size_t i;
	json_t *e;

	r->any_port = json_array_size(ports) == 0;
	json_array_foreach(ports, i, e) if (port_entry(e, pod, &p) > 0 &&
					    push((void **)&r->ports, &r->n_ports, sizeof(p), &p) <
						    0) return -ENOMEM;
	return r->any_port || r->n_ports ? 1 : 0;
}

/* ---- peers -------------------------------------------------------------------------------- */

static void rule_free_peers(struct pol_rule *r)
{
	for (size_t i = 0; i < r->n_blocks; i++)
		free(r->blocks[i].except);
	free(r->blocks);
	free(r->ips);
	r->blocks = NULL;
	r->ips = NULL;
	r->n_blocks = r->n_ips = 0;
}

#define MEMO_PEER_KEYS 4 /* peers beyond these count as reading every label key */

/* What one round of compiles shares (see pol_index_new): the caches indexed by namespace,
 * and the peers of every rule already evaluated (a rule's from/to list means the same pods for
 * every target). */
struct memo {
	uint64_t id;	     /* new for every content */
	uint64_t key;	     /* pol_rule.peers_key */
	const json_t *peers; /* NULL: a free slot */
	const json_t *pol;   /* the policy it belongs to */
	struct pol_rule r;
	/* which pods a change of could patch it (memo_may_select): */
	const char *ns; /* the policy's namespace */
	bool nsel;	/* a peer has a namespaceSelector: pods of any namespace */
	bool pods;	/* a peer selects pods at all (not only ipBlocks) */
	uint64_t keys;	/* the pod label keys its podSelectors read (key_bit of each) */
	uint64_t peer_keys[MEMO_PEER_KEYS]; /* the same per peer (the first ones) */
};

struct pol_index {
	const json_t *namespaces, *pods; /* the caches, borrowed */
	json_t *ns_labels;		 /* namespace -> its labels, with the name label */
	json_t *pods_by_ns;		 /* namespace -> [pod] */
	json_t *pols_by_ns;		 /* namespace -> [policy] */
	json_t *memo_at;		 /* "%p" of a from/to list -> slot in memo */
	json_t *ns_gen;			 /* namespace -> changes of its policies */
	struct memo *memo;
	size_t n_memo;
	uint64_t seq; /* one per pol_index_pod and per new entry */
};

/* An entry's id: its key and the moment its content was made, so entries of the same
 * selectors patched by the same change share an id (and a renderer renders them once). */
static uint64_t memo_id(uint64_t key, uint64_t seq)
{
	return key ^ (seq * 0x9e3779b97f4a7c15ull) ^ (seq >> 7);
}

struct ctx {
	struct pol_index *ix;
	const char *ns;	   /* the policy's namespace */
	const json_t *pol; /* the policy */
};

/* What selecting a pod reads of it (looked up once per pod, not once per peer). */
struct podv {
	const char *ns; /* NULL: not selectable (no namespace, or hostNetwork) */
	const json_t *labels;
};

static struct podv podv_of(const json_t *pod)
{
	return (struct podv){host_network(pod) ? NULL : meta_str(pod, "namespace"),
			     meta(pod, "labels")};
}

/* Is pod selected by the peer (not an ipBlock)? */
static bool peer_selects(const struct ctx *x, const json_t *peer, const struct podv *pod)
{
	const json_t *nsel = json_object_get(peer, "namespaceSelector");
	const json_t *psel = json_object_get(peer, "podSelector");
	bool ns_ok;

	if (!pod->ns)
		return false;
	if (nsel)
		ns_ok = pol_selector_matches(nsel, json_object_get(x->ix->ns_labels, pod->ns));
	else
		ns_ok = strcmp(pod->ns, x->ns) == 0;
	return ns_ok && (!psel || pol_selector_matches(psel, pod->labels));
}

static int add_block(const json_t *b, struct pol_rule *r)
{
	struct pol_block blk = {0};
	struct inet_prefix ex;
	size_t i;
	json_t *e;

	if (inet_prefix_parse(json_string_value(json_object_get(b, "cidr")), &blk.cidr) < 0)
		return 0; /* an invalid block selects nothing */
	json_array_foreach(json_object_get(b, "except"), i,
			   e) if (inet_prefix_parse(json_string_value(e), &ex) == 0 &&
				  push((void **)&blk.except, &blk.n_except, sizeof(ex), &ex) <
					  0) return -ENOMEM;
	if (push((void **)&r->blocks, &r->n_blocks, sizeof(blk), &blk) < 0) {
		free(blk.except);
		return -ENOMEM;
	}
	return 0;
}

static int add_pod_ips(const json_t *pod, struct pol_rule *r)
{
	struct inet_addr ips[2];
	size_t n = pod_ips(pod, ips, 2);

	for (size_t i = 0; i < n; i++)
		if (push((void **)&r->ips, &r->n_ips, sizeof(ips[i]), &ips[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* Does a selector peer take pods of namespace ns at all (its own, or a selected one)? */
static bool ns_in_reach(const struct ctx *x, const json_t *peers, const char *ns)
{
	const json_t *peer;
	size_t i;

	json_array_foreach(peers, i, peer)
	{
		const json_t *nsel = json_object_get(peer, "namespaceSelector");

		if (json_object_get(peer, "ipBlock"))
			continue;
		if (nsel ? pol_selector_matches(nsel, json_object_get(x->ix->ns_labels, ns))
			 : strcmp(ns, x->ns) == 0)
			return true;
	}
	return false;
}

/* The pods the selector peers select, each pod's addresses once however many peers select it
 * (memo_patch takes a pod's addresses out once when it leaves). */
static int peers_pods(const struct ctx *x, const json_t *peers, struct pol_rule *r)
{
	const json_t *pods, *pod, *peer;
	const char *ns;
	size_t i, j;
	int e = 0;

	json_object_foreach(x->ix->pods_by_ns, ns, pods)
	{
		if (!ns_in_reach(x, peers, ns))
			continue;
		json_array_foreach(pods, i, pod)
		{
			struct podv v = podv_of(pod);

			json_array_foreach(peers, j, peer) if (e >= 0 &&
							       !json_object_get(peer, "ipBlock") &&
							       peer_selects(x, peer, &v))
			{
				e = add_pod_ips(pod, r);
				break;
			}
		}
	}
	return e;
}

static int copy_peers(const struct pol_rule *src, struct pol_rule *dst)
{
	dst->any_peer = src->any_peer;
	if (src->n_ips && !dst->n_ips) {
		if (!(dst->ips = malloc(room(src->n_ips) * sizeof(*dst->ips))))
			return -ENOMEM;
		memcpy(dst->ips, src->ips, src->n_ips * sizeof(*dst->ips));
		dst->n_ips = src->n_ips;
	} else {
		for (size_t i = 0; i < src->n_ips; i++)
			if (push((void **)&dst->ips, &dst->n_ips, sizeof(src->ips[i]),
				 &src->ips[i]) < 0)
				return -ENOMEM;
	}
	for (size_t i = 0; i < src->n_blocks; i++) {
		struct pol_block b = src->blocks[i];

		b.except = b.n_except ? malloc(b.n_except * sizeof(*b.except)) : NULL;
		if (b.n_except && !b.except)
			return -ENOMEM;
		if (b.n_except)
			memcpy(b.except, src->blocks[i].except, b.n_except * sizeof(*b.except));
		if (push((void **)&dst->blocks, &dst->n_blocks, sizeof(b), &b) < 0) {
			free(b.except);
			return -ENOMEM;
		}
	}
	return 0;
}

static bool has_pod_peer(const json_t *peers)
{
	const json_t *peer;
	size_t i;

	json_array_foreach(peers, i, peer) if (!json_object_get(peer, "ipBlock")) return true;
	return false;
}

static int eval_peers(const struct ctx *x, const json_t *peers, struct pol_rule *r)
{
	json_t *peer;
	size_t i;
	int e = 0;

	r->any_peer = json_array_size(peers) == 0;
	json_array_foreach(peers, i, peer) if (e >= 0 && json_object_get(peer, "ipBlock")) e =
		add_block(json_object_get(peer, "ipBlock"), r);
	return e >= 0 && has_pod_peer(peers) ? peers_pods(x, peers, r) : e;
}

/* A free slot of the memo (grown when there is none). */
static struct memo *memo_slot(struct pol_index *ix, size_t *at)
{
	struct memo *v;

	for (size_t i = 0; i < ix->n_memo; i++)
		if (!ix->memo[i].peers) {
			*at = i;
			return &ix->memo[i];
		}
	v = realloc(ix->memo, (ix->n_memo + 1) * sizeof(*v));
	if (!v)
		return NULL;
	ix->memo = v;
	*at = ix->n_memo++;
	memset(&v[*at], 0, sizeof(v[*at]));
	return &v[*at];
}

/* pol_rule.peers_key: the list's canonical text, and the policy's namespace when a peer
 * selects pods in it (a podSelector without namespaceSelector): lists of namespaceSelectors
 * and ipBlocks mean the same in every namespace. */
static uint64_t peers_key(const char *ns, const json_t *peers)
{
	_cleanup_free_ char *text = json_dumps(peers, JSON_COMPACT | JSON_SORT_KEYS);
	const char *parts[] = {text ? text : "", ns ? ns : ""};
	bool in_ns = false;
	const json_t *peer;
	size_t i;

	json_array_foreach(peers, i, peer) in_ns =
		in_ns ||
		(!json_object_get(peer, "namespaceSelector") && !json_object_get(peer, "ipBlock"));
	return naming_hash(parts, in_ns ? 2 : 1);
}

static bool has_ns_selector(const json_t *peers)
{
	const json_t *peer;
	size_t i;

	json_array_foreach(peers, i,
			   peer) if (json_object_get(peer, "namespaceSelector")) return true;
	return false;
}

/* One bit per label key (a 64-bit Bloom filter: a false positive only costs an evaluation). */
static uint64_t key_bit(const char *key)
{
	const char *parts[] = {key};

	return 1ULL << (naming_hash(parts, 1) & 63);
}

/* The label keys a peer's podSelector reads. */
static uint64_t sel_keys(const json_t *peer)
{
	const json_t *sel = json_object_get(peer, "podSelector"), *e;
	const char *k;
	json_t *v;
	uint64_t m = 0;
	size_t j;

	json_object_foreach((json_t *)json_object_get(sel, "matchLabels"), k, v) m |= key_bit(k);
	json_array_foreach(json_object_get(sel, "matchExpressions"), j, e) m |=
		key_bit(json_string_value(json_object_get(e, "key")) ?: "");
	return m;
}

/* The label keys the peers' podSelectors read, in all and per peer (the first
 * MEMO_PEER_KEYS). */
static uint64_t peer_keys(const json_t *peers, uint64_t per[MEMO_PEER_KEYS])
{
	const json_t *peer;
	uint64_t m = 0;
	size_t i;

	json_array_foreach(peers, i, peer)
	{
		uint64_t k = sel_keys(peer);

		if (i < MEMO_PEER_KEYS)
			per[i] = k;
		m |= k;
	}
	return m;
}

/* The label keys whose values differ between two label sets. */
static uint64_t changed_keys(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *v;
	uint64_t m = 0;

	json_object_foreach((json_t *)a, k, v) if (!json_equal(v, json_object_get(b, k))) m |=
		key_bit(k);
	json_object_foreach((json_t *)b, k, v) if (!json_object_get(a, k)) m |= key_bit(k);
	return m;
}

static bool same_ips(const json_t *a, const json_t *b)
{
	struct inet_addr x[2], y[2];
	size_t n = pod_ips(a, x, 2);

	if (pod_ips(b, y, 2) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!inet_addr_eq(&x[i], &y[i]))
			return false;
	return true;
}

static void memo_key(const json_t *peers, char key[32])
{
	snprintf(key, 32, "%p", (const void *)peers);
}

/* A memo entry's addresses are kept at their exact size (they are most of the index: thousands
 * of entries of hundreds of addresses), so they grow here, never through push. */
static void trim_ips(struct pol_rule *r)
{
	struct inet_addr *v = r->n_ips ? realloc(r->ips, r->n_ips * sizeof(*v)) : NULL;

	if (v || !r->n_ips) {
		if (!r->n_ips)
			free(r->ips);
		r->ips = v;
	}
}

/* The peers of a rule (its from or to list) into r, evaluated once per index (until a change
 * the index is told of may have changed them). */
static int rule_peers(const struct ctx *x, const json_t *peers, struct pol_rule *r)
{
	struct pol_index *ix = x->ix;
	struct pol_rule m = {0};
	const json_t *at;
	struct memo *slot;
	size_t i;
	char key[32];

	if (json_array_size(peers) == 0) { /* no from/to: every peer, nothing to remember */
		r->any_peer = true;
		return 0;
	}
	memo_key(peers, key);
	at = json_object_get(ix->memo_at, key);
	if (at) {
		r->peers_id = ix->memo[json_integer_value(at)].id;
		r->peers_key = ix->memo[json_integer_value(at)].key;
		r->peers_slot = (uint32_t)json_integer_value(at) + 1;
		return copy_peers(&ix->memo[json_integer_value(at)].r, r);
	}
	if (eval_peers(x, peers, &m) < 0 || !(slot = memo_slot(ix, &i)) ||
	    json_object_set_new(ix->memo_at, key, json_integer((json_int_t)i)) < 0) {
		rule_free_peers(&m);
		return -ENOMEM;
	}
	trim_ips(&m);
	if (m.n_ips > 1) /* kept sorted (memo_patch), so renderers need not sort */
		qsort(m.ips, m.n_ips, sizeof(*m.ips), inet_addr_qcmp);
	*slot = (struct memo){.key = peers_key(x->ns, peers),
			      .peers = peers,
			      .pol = x->pol,
			      .r = m,
			      .ns = meta_str(x->pol, "namespace"),
			      .nsel = has_ns_selector(peers),
			      .pods = has_pod_peer(peers)};
	slot->keys = peer_keys(peers, slot->peer_keys);
	slot->id = memo_id(slot->key, ++ix->seq);
	r->peers_id = slot->id;
	r->peers_key = slot->key;
	r->peers_slot = (uint32_t)i + 1;
	return copy_peers(&m, r);
}

static void memo_drop(struct pol_index *ix, struct memo *m)
{
	char key[32];

	memo_key(m->peers, key);
	json_object_del(ix->memo_at, key);
	rule_free_peers(&m->r);
	memset(m, 0, sizeof(*m));
}

/* ---- rules -------------------------------------------------------------------------------- */

static void rule_free(struct pol_rule *r)
{
	rule_free_peers(r);
	free(r->ports);
	memset(r, 0, sizeof(*r));
}

static int keep_rule(struct pol_dir *d, struct pol_rule *r)
{
	if (push((void **)&d->rules, &d->n, sizeof(*r), r) < 0) {
		rule_free(r);
		return -ENOMEM;
	}
	memset(r, 0, sizeof(*r));
	return 0;
}

static bool block_holds(const struct pol_block *b, const struct inet_addr *a)
{
	if (!inet_prefix_contains(&b->cidr, a))
		return false;
	for (size_t i = 0; i < b->n_except; i++)
		if (inet_prefix_contains(&b->except[i], a))
			return false;
	return true;
}

static bool rule_has_peer(const struct pol_rule *r, const struct inet_addr *a)
{
	if (r->any_peer)
		return true;
	for (size_t i = 0; i < r->n_ips; i++)
		if (inet_addr_eq(&r->ips[i], a))
			return true;
	for (size_t i = 0; i < r->n_blocks; i++)
		if (block_holds(&r->blocks[i], a))
			return true;
	return false;
}

/* Ingress rule of target: ports resolved on the target itself. */
static int ingress_rule(const struct ctx *x, const json_t *rule, const json_t *target,
			struct pol_dir *d)
{
	struct pol_rule r = {0};
	int k = rule_ports(json_object_get(rule, "ports"), target, &r);

	if (k > 0)
		k = rule_peers(x, json_object_get(rule, "from"), &r);
	if (k >= 0 && (r.any_port || r.n_ports))
		return keep_rule(d, &r);
	rule_free(&r);
	return k < 0 ? k : 0;
}

/* The part of an egress rule whose peer is the pod dst, ports resolved on dst. */
static int egress_to_pod(const struct pol_rule *peers, const json_t *ports, const json_t *dst,
			 struct pol_dir *d)
{
	struct pol_rule r = {0};
	struct inet_addr ips[2];
	size_t n = pod_ips(dst, ips, 2);
	bool in = false;
	int k;

	for (size_t i = 0; i < n; i++)
		in = in || rule_has_peer(peers, &ips[i]);
	if (!in || host_network(dst))
		return 0;
	k = rule_ports(ports, dst, &r);
	if (k > 0)
		k = add_pod_ips(dst, &r);
	if (k >= 0 && r.n_ports)
		return keep_rule(d, &r);
	rule_free(&r);
	return k < 0 ? k : 0;
}

/* Egress rule: numeric ports hold for every peer; a named port is resolved on each
 * destination pod, one rule per pod (an address that is not a pod has no port names). */
static int egress_rule(const struct ctx *x, const json_t *rule, struct pol_dir *d)
{
	const json_t *ports = json_object_get(rule, "ports"), *pod;
	struct pol_rule r = {0};
	const char *key;
	int k = rule_peers(x, json_object_get(rule, "to"), &r);

	if (k >= 0 && has_named(ports))
		json_object_foreach((json_t *)x->ix->pods, key, pod) if (k >= 0) k =
			egress_to_pod(&r, ports, pod, d);
	if (k >= 0)
		k = rule_ports(ports, NULL, &r);
	if (k > 0)
		return keep_rule(d, &r);
	rule_free(&r);
	return k < 0 ? k : 0;
}

/* ---- policies ----------------------------------------------------------------------------- */

/* Does pol hold rules of type ("Ingress" / "Egress")? The default when policyTypes is
 * omitted: Ingress, plus Egress when the policy has egress rules (the API server's defaulting
 * counts them: an empty egress list adds nothing). */
static bool has_type(const json_t *pol, const char *type)
{
	const json_t *spec = json_object_get(pol, "spec");
	const json_t *types = json_object_get(spec, "policyTypes");

	if (json_is_array(types) && json_array_size(types))
		return in_values(types, type);
	return strcmp(type, "Ingress") == 0 || json_array_size(json_object_get(spec, "egress")) > 0;
}

static int apply_policy(struct pol_index *ix, const json_t *pol, const json_t *target,
			struct pol_pod *ret)
{
	const json_t *spec = json_object_get(pol, "spec"), *rule;
	struct ctx x = {ix, meta_str(pol, "namespace"), pol};
	size_t i;
	int r = 0;

	if (!x.ns || strcmp(x.ns, meta_str(target, "namespace")) != 0 ||
	    !pol_selector_matches(json_object_get(spec, "podSelector"), meta(target, "labels")))
		return 0;
	if (has_type(pol, "Ingress")) {
		ret->in.isolated = true;
		json_array_foreach(json_object_get(spec, "ingress"), i, rule) if (r >= 0) r =
			ingress_rule(&x, rule, target, &ret->in);
	}
	if (has_type(pol, "Egress")) {
		ret->out.isolated = true;
		json_array_foreach(json_object_get(spec, "egress"), i, rule) if (r >= 0) r =
			egress_rule(&x, rule, &ret->out);
	}
	return r;
}

int pol_compile_ix(struct pol_index *ix, const char *ns, const char *name, struct pol_pod *ret,
		   struct cni_err *err)
{
	char key[512];
	const json_t *target, *pol;
	size_t i;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	target = json_object_get(ix->pods, key);
	if (!target)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOENT, "no pod %s", key);
	ret->n_ips = pod_ips(target, ret->ips, 2);
	if (host_network(target))
		return 0;
	json_array_foreach(json_object_get(ix->pols_by_ns, ns), i, pol) if (r >= 0) r =
		apply_policy(ix, pol, target, ret);
	if (r < 0) {
		pol_pod_free(ret);
		return cni_err_set(err, CNI_ERR_INTERNAL, -r, "compile the policies of %s", key);
	}
	return 0;
}

/* ---- the index ------------------------------------------------------------------------------ */

/* obj[key] as an array, made when missing (borrowed). */
static json_t *bucket(json_t *obj, const char *key)
{
	json_t *a = json_object_get(obj, key);

	if (!a && json_object_set_new(obj, key, a = json_array()) < 0)
		return NULL;
	return a;
}

/* Replaces old by now in by[ns] (either may be NULL). */
static int bucket_swap(json_t *by, const char *ns, const json_t *old, json_t *now)
{
	json_t *b = bucket(by, ns), *v;
	size_t i;

	if (!b)
		return -ENOMEM;
	json_array_foreach(b, i, v) if (old && v == old)
	{
		if (now)
			return json_array_set(b, i, now) < 0 ? -ENOMEM : 0;
		json_array_remove(b, i);
		return 0;
	}
	return now && json_array_append(b, now) < 0 ? -ENOMEM : 0;
}

/* Does a peer of the entry read a label in keys (~0: anything may have changed)? */
static bool peer_varies(const struct memo *m, size_t i, uint64_t keys)
{
	return keys == ~0ULL || i >= MEMO_PEER_KEYS || (m->peer_keys[i] & keys);
}

/* Does a selector peer of the entry select pod v? Only the peers reading a label in keys
 * (variant) or only the others (!variant). */
static bool memo_picks(struct pol_index *ix, const struct memo *m, const struct podv *v,
		       uint64_t keys, bool variant)
{
	struct ctx x = {ix, m->ns, m->pol};
	const json_t *peer;
	size_t i;

	json_array_foreach(m->peers, i, peer) if (peer_varies(m, i, keys) == variant &&
						  !json_object_get(peer, "ipBlock") &&
						  peer_selects(&x, peer, v)) return true;
	return false;
}

static int ns_labels_set(struct pol_index *ix, const char *ns)
{
	return json_object_set_new(ix->ns_labels, ns, ns_labels(ix->namespaces, ns)) < 0 ? -ENOMEM
											 : 0;
}

/* The addresses of pod out of r's sorted ips (one occurrence of each). */
static void remove_pod_ips(const json_t *pod, struct pol_rule *r)
{
	struct inet_addr ips[2];
	size_t n = pod_ips(pod, ips, 2);

	for (size_t k = 0; k < n; k++) {
		size_t i = inet_addr_lower_bound(r->ips, r->n_ips, &ips[k]);

		if (i < r->n_ips && inet_addr_eq(&r->ips[i], &ips[k])) {
			memmove(&r->ips[i], &r->ips[i + 1], (r->n_ips - i - 1) * sizeof(*r->ips));
			r->n_ips--;
		}
	}
}

/* The addresses of pod into r's sorted ips. */
static int add_ips_exact(const json_t *pod, struct pol_rule *r)
{
	struct inet_addr ips[2], *v;
	size_t n = pod_ips(pod, ips, 2);

	if (!n)
		return 0;
	v = realloc(r->ips, (r->n_ips + n) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->ips = v;
	for (size_t k = 0; k < n; k++) {
		size_t i = inet_addr_lower_bound(r->ips, r->n_ips, &ips[k]);

		memmove(&r->ips[i + 1], &r->ips[i], (r->n_ips - i) * sizeof(*r->ips));
		r->ips[i] = ips[k];
		r->n_ips++;
	}
	return 0;
}

/* Cheap: could the entry select a pod of namespace ns? (Most entries select in their own
 * namespace only: a pod change skips them without evaluating a selector.) */
static bool memo_may_select(const struct memo *m, const char *ns)
{
	return m->pods && (m->nsel || !m->ns || strcmp(m->ns, ns) == 0);
}

/* What a pod change can do to the entries: *keys = the label keys it changed, or all ones when
 * more than labels changed (added, deleted, another address, namespace or hostNetwork). */
static uint64_t change_keys(const json_t *old, const json_t *now)
{
	if (!old || !now || !same_ips(old, now) || host_network(old) != host_network(now) ||
	    strcmp(meta_str(old, "namespace") ?: "", meta_str(now, "namespace") ?: "") != 0)
		return ~0ULL;
	return changed_keys(meta(old, "labels"), meta(now, "labels"));
}

/* A pod change, as memo_patch reads it: the objects, what selection reads of each, and the
 * label keys that changed (~0: more than labels). */
struct pod_change {
	const json_t *old, *now;
	struct podv ov, nv;
	uint64_t keys;
};

/* The entry after pod changed from old to now: its addresses out if it was selected, in if
 * it is; a new id when anything moved. The peers reading no changed key select the pod before
 * and after alike: they are evaluated only when the others' verdict moved. */
static int memo_patch(struct pol_index *ix, struct memo *m, const struct pod_change *c)
{
	bool was = !m->ns, is = !m->ns;

	if (m->ns) {
		was = c->old && memo_picks(ix, m, &c->ov, c->keys, true);
		is = c->now && memo_picks(ix, m, &c->nv, c->keys, true);
		if (was != is && memo_picks(ix, m, c->old ? &c->ov : &c->nv, c->keys, false))
			was = is = true;
	}
	was = was && c->old;
	is = is && c->now;
	if (!was && !is)
		return 0;
	if (was && is && same_ips(c->old, c->now))
		return 0; /* the same addresses: the entry's content and version stay */
	if (was)
		remove_pod_ips(c->old, &m->r);
	m->id = memo_id(m->key, ix->seq);
	return is ? add_ips_exact(c->now, &m->r) : 0;
}

int pol_index_pod(struct pol_index *ix, const json_t *old, json_t *now)
{
	const char *ns = meta_str(now ? now : old, "namespace");
	struct pod_change c = {old, now, {0}, {0}, 0};

	if (!ns)
		return 0;
	if (!json_object_get(ix->ns_labels, ns) && ns_labels_set(ix, ns) < 0)
		return -ENOMEM;
	c.keys = change_keys(old, now);
	if (old)
		c.ov = podv_of(old);
	if (now)
		c.nv = podv_of(now);
	ix->seq++;
	for (size_t i = 0; i < ix->n_memo; i++)
		if (ix->memo[i].peers && memo_may_select(&ix->memo[i], ns) &&
		    (c.keys == ~0ULL || (ix->memo[i].keys & c.keys)) &&
		    memo_patch(ix, &ix->memo[i], &c) < 0) {
			memo_drop(ix, &ix->memo[i]);
			return -ENOMEM;
		}
	return bucket_swap(ix->pods_by_ns, ns, old, now);
}

int pol_index_ns(struct pol_index *ix, const char *name)
{
	for (size_t i = 0; i < ix->n_memo; i++)
		if (ix->memo[i].peers && has_ns_selector(ix->memo[i].peers))
			memo_drop(ix, &ix->memo[i]);
	return json_object_get(ix->pods_by_ns, name) ? ns_labels_set(ix, name) : 0;
}

int pol_index_policy(struct pol_index *ix, const json_t *old, json_t *now)
{
	const char *ns = meta_str(now ? now : old, "namespace");

	json_int_t gen = json_integer_value(json_object_get(ix->ns_gen, ns ? ns : ""));

	for (size_t i = 0; old && i < ix->n_memo; i++)
		if (ix->memo[i].peers && ix->memo[i].pol == old)
			memo_drop(ix, &ix->memo[i]);
	if (ns && json_object_set_new(ix->ns_gen, ns, json_integer(gen + 1)) < 0)
		return -ENOMEM;
	return ns ? bucket_swap(ix->pols_by_ns, ns, old, now) : 0;
}

uint64_t pol_index_slot_id(const struct pol_index *ix, uint32_t slot)
{
	return slot && slot <= ix->n_memo && ix->memo[slot - 1].peers ? ix->memo[slot - 1].id : 0;
}

uint64_t pol_index_ns_gen(const struct pol_index *ix, const char *ns)
{
	return (uint64_t)json_integer_value(json_object_get(ix->ns_gen, ns));
}

int pol_index_new(const json_t *namespaces, const json_t *pods, const json_t *policies,
		  struct pol_index **ret)
{
	struct pol_index *ix = calloc(1, sizeof(*ix));
	const char *k;
	json_t *o;
	int r = 0;

	if (!ix)
		return -ENOMEM;
	ix->namespaces = namespaces;
	ix->pods = pods;
	ix->ns_labels = json_object();
	ix->pods_by_ns = json_object();
	ix->pols_by_ns = json_object();
	ix->memo_at = json_object();
	ix->ns_gen = json_object();
	if (!ix->ns_labels || !ix->pods_by_ns || !ix->pols_by_ns || !ix->memo_at || !ix->ns_gen)
		r = -ENOMEM;
	json_object_foreach((json_t *)pods, k, o) if (r >= 0) r = pol_index_pod(ix, NULL, o);
	json_object_foreach((json_t *)policies, k, o) if (r >= 0) r = pol_index_policy(ix, NULL, o);
	if (r < 0) {
		pol_index_free(ix);
		return -ENOMEM;
	}
	*ret = ix;
	return 0;
}

void pol_index_free(struct pol_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->n_memo; i++)
		rule_free_peers(&ix->memo[i].r);
	free(ix->memo);
	json_decref(ix->ns_labels);
	json_decref(ix->pods_by_ns);
	json_decref(ix->pols_by_ns);
	json_decref(ix->memo_at);
	json_decref(ix->ns_gen);
	free(ix);
}

int pol_compile(const json_t *namespaces, const json_t *pods, const json_t *policies,
		const char *ns, const char *name, struct pol_pod *ret, struct cni_err *err)
{
	struct pol_index *ix = NULL;
	int r;

	if (pol_index_new(namespaces, pods, policies, &ix) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy index");
	r = pol_compile_ix(ix, ns, name, ret, err);
	pol_index_free(ix);
	return r;
}

void pol_pod_free(struct pol_pod *p)
{
	for (size_t i = 0; i < p->in.n; i++)
		rule_free(&p->in.rules[i]);
	for (size_t i = 0; i < p->out.n; i++)
		rule_free(&p->out.rules[i]);
	free(p->in.rules);
	free(p->out.rules);
	memset(p, 0, sizeof(*p));
}

static bool rule_has_port(const struct pol_rule *r, uint8_t proto, uint16_t port)
{
	if (r->any_port)
		return true;
	for (size_t i = 0; i < r->n_ports; i++)
		if (r->ports[i].proto == proto &&
		    (!r->ports[i].lo || (port >= r->ports[i].lo && port <= r->ports[i].hi)))
			return true;
	return false;
}

bool pol_dir_allows(const struct pol_dir *d, const struct inet_addr *peer, uint8_t proto,
		    uint16_t port)
{
	if (!d->isolated)
		return true;
	for (size_t i = 0; i < d->n; i++)
		if (rule_has_peer(&d->rules[i], peer) && rule_has_port(&d->rules[i], proto, port))
			return true;
	return false;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy of ebpf pods: polsync's routing to agent/policy-bpf (see polsync-bpf.h). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "agent/policy-bpf.h"
#include "agent/polsync-bpf.h"
#include "common/log.h"
#include "common/cleanup.h"
#include "common/naming.h"

static uint64_t dir_digest(uint64_t h, const struct pol_dir *d)
{
	h = naming_hash_bytes(h, &d->isolated, sizeof(d->isolated));
	for (size_t i = 0; i < d->n; i++) {
		const struct pol_rule *r = &d->rules[i];

		h = naming_hash_bytes(h, &r->any_peer, sizeof(r->any_peer));
		h = naming_hash_bytes(h, &r->any_port, sizeof(r->any_port));
		h = naming_hash_bytes(h, r->ips, r->n_ips * sizeof(*r->ips));
		h = naming_hash_bytes(h, r->ports, r->n_ports * sizeof(*r->ports));
		for (size_t k = 0; k < r->n_blocks; k++) {
			h = naming_hash_bytes(h, &r->blocks[k].cidr, sizeof(r->blocks[k].cidr));
			h = naming_hash_bytes(h, r->blocks[k].except,
					      r->blocks[k].n_except * sizeof(*r->blocks[k].except));
		}
		h = naming_hash_bytes(h, "|", 1);
	}
	return h;
}

/* What the maps would hold for p (its addresses included: they find the pod). */
static void pod_digest(const struct pol_pod *p, char buf[17])
{
	uint64_t h = naming_hash_bytes(NAMING_HASH_INIT, p->ips, p->n_ips * sizeof(*p->ips));

	h = dir_digest(dir_digest(h, &p->in), &p->out);
	snprintf(buf, 17, "%016" PRIx64, h);
}

void polsync_bpf_init(struct polsync_bpf *b)
{
	*b = (struct polsync_bpf){.nets = json_array(), .pods = json_object()};
}

void polsync_bpf_fini(struct polsync_bpf *b)
{
	json_decref(b->nets);
	json_decref(b->pods);
	json_decref(b->seen);
	memset(b, 0, sizeof(*b));
}

void polsync_bpf_nets(struct polsync_bpf *b, json_t *nets)
{
	const json_t *n;
	size_t i;

	json_decref(b->nets);
	b->nets = nets ? nets : json_array();
	json_object_clear(b->pods);
	b->gc_done = b->deny_done = false;
	json_array_foreach(b->nets, i, n)
		log_info("NetworkPolicy: ebpf network %s: its pods are enforced in its maps",
			 json_string_value(json_object_get(n, "network")));
}

void polsync_bpf_default(struct polsync_bpf *b, bool deny)
{
	if (deny != b->deny)
		b->deny_done = false;
	b->deny = deny;
}

void polsync_bpf_pod_changed(struct polsync_bpf *b, const char *key)
{
	const json_t *e = json_object_get(b->pods, key);

	/* written nowhere: nothing to forget later */
	if (json_is_false(json_object_get(e, "ebpf")) &&
	    json_array_size(json_object_get(e, "dirs")) == 0)
		json_object_del(b->pods, key);
}

/* The pin dir of network i, or NULL when nothing is pinned there yet. */
static const char *net_dir(const struct polsync_bpf *b, size_t i, char *buf, size_t len)
{
	const json_t *n = json_array_get(b->nets, i);

	return polbpf_net_dir(json_string_value(json_object_get(n, "pinRoot")),
			      json_string_value(json_object_get(n, "network")), buf, len, NULL) < 0
		       ? NULL
		       : buf;
}

static void log_err(const char *what, const char *dir, const struct cni_err *err)
{
	log_error("NetworkPolicy: %s in %s: %s%s%s", what, dir, err->msg,
		  err->details[0] ? ": " : "", err->details);
}

void polsync_bpf_begin(struct polsync_bpf *b)
{
	char dir[PATH_MAX];
	bool ok = true;

	json_decref(b->seen);
	b->seen = json_object();
	b->errors = b->applied = 0;
	for (size_t i = 0; !b->deny_done && i < json_array_size(b->nets); i++) {
		struct cni_err err = {0};

		if (net_dir(b, i, dir, sizeof(dir)) && polbpf_defaults(dir, b->deny, &err) < 0) {
			log_err("--policy-default", dir, &err);
			b->errors++;
			ok = false;
		}
	}
	b->deny_done = ok;
}

/* The pin dirs the pod's policy goes to: the network whose endpoint map has one of its
 * addresses (*ebpf = 1), none when no ebpf network has them (an nftables pod), every network
 * for a pod with no address yet (its sandbox, when it comes, finds it wherever it lands). */
static json_t *targets(struct polsync_bpf *b, const struct pol_pod *p, int *ebpf)
{
	json_t *dirs = json_array();
	char dir[PATH_MAX];

	*ebpf = 0;
	for (size_t i = 0; dirs && i < json_array_size(b->nets); i++) {
		struct cni_err err = {0};
		int r;

		if (!net_dir(b, i, dir, sizeof(dir)))
			continue;
		if (!p->n_ips) {
			json_array_append_new(dirs, json_string(dir));
			continue;
		}
		if ((r = polbpf_has(dir, p->ips, p->n_ips, &err)) < 0)
			log_err("endpoint lookup", dir, &err);
		if (r > 0) {
			json_array_clear(dirs);
			json_array_append_new(dirs, json_string(dir));
			*ebpf = 1;
			break;
		}
	}
	return dirs;
}

static bool dirs_have(const json_t *dirs, const char *dir)
{
	const json_t *d;
	size_t i;

	json_array_foreach(dirs, i, d) if (strcmp(json_string_value(d), dir) == 0) return true;
	return false;
}

/* Forgets the pod in the dirs of old not in now; 0 or -1 (logged). */
static int forget_others(struct polsync_bpf *b, const json_t *old, const json_t *now, uint64_t pkey)
{
	const json_t *d;
	size_t i;
	int r = 0;

	json_array_foreach(old, i, d)
	{
		struct cni_err err = {0};

		if (!dirs_have(now, json_string_value(d)) &&
		    polbpf_forget(json_string_value(d), pkey, &err) < 0) {
			log_err("forget a pod", json_string_value(d), &err);
			b->errors++;
			r = -1;
		}
	}
	return r;
}

static int apply_all(struct polsync_bpf *b, const json_t *dirs, const char *key, uint64_t pkey,
		     const struct pol_pod *p)
{
	const json_t *d;
	size_t i;
	int r = 0;

	json_array_foreach(dirs, i, d)
	{
		struct cni_err err = {0};

		if (polbpf_apply(json_string_value(d), pkey, p, &err) < 0) {
			log_error("NetworkPolicy of %s in %s: %s%s%s", key, json_string_value(d),
				  err.msg, err.details[0] ? ": " : "", err.details);
			b->errors++;
			r = -1;
		} else {
			b->applied++;
		}
	}
	return r;
}

int polsync_bpf_route(struct polsync_bpf *b, const char *key, const struct pol_pod *p)
{
	const json_t *known = json_object_get(b->pods, key);
	uint64_t pkey = polsync_bpf_key(key);
	char digest[17];
	json_t *dirs;
	int ebpf, r;

	if (json_array_size(b->nets) == 0)
		return 0;
	json_object_set_new(b->seen, key, json_true());
	pod_digest(p, digest);
	if (known && strcmp(json_string_value(json_object_get(known, "digest")) ?: "", digest) == 0)
		return json_is_true(json_object_get(known, "ebpf"));
	if (!(dirs = targets(b, p, &ebpf)))
		return -1;
	r = forget_others(b, json_object_get(known, "dirs"), dirs, pkey);
	if (apply_all(b, dirs, key, pkey, p) < 0 || r < 0) {
		json_object_del(b->pods, key); /* asked again next round */
		json_decref(dirs);
		return ebpf ? -1 : 0;
	}
	json_object_set_new(
		b->pods, key,
		json_pack("{s:o, s:s, s:b}", "dirs", dirs, "digest", digest, "ebpf", ebpf));
	return ebpf;
}

void polsync_bpf_seen(struct polsync_bpf *b, const char *key)
{
	if (b && b->seen)
		json_object_set_new(b->seen, key, json_true());
}

int polsync_bpf_remove(json_t *nets)
{
	struct polsync_bpf b = {.nets = nets ? nets : json_array()};
	char dir[PATH_MAX];
	int bad = 0;

	for (size_t i = 0; i < json_array_size(b.nets); i++) {
		struct cni_err err = {0};

		if (!net_dir(&b, i, dir, sizeof(dir)))
			continue;
		if (polbpf_gc(dir, NULL, 0, &err) < 0 || polbpf_defaults(dir, false, &err) < 0) {
			log_err("cleanup", dir, &err);
			bad++;
		}
	}
	json_decref(b.nets);
	return bad;
}

uint64_t polsync_bpf_key(const char *key)
{
	const char *slash = strchr(key, '/');
	char ns[256];

	if (!slash || (size_t)(slash - key) >= sizeof(ns))
		return naming_pod_hash(key, "");
	memcpy(ns, key, (size_t)(slash - key));
	ns[slash - key] = '\0';
	return naming_pod_hash(ns, slash + 1);
}

/* After the first whole round: what the maps hold for pods that are gone (deleted while
 * weft-node was away) goes. */
static void gc(struct polsync_bpf *b)
{
	_cleanup_free_ uint64_t *keep = calloc(json_object_size(b->seen) + 1, sizeof(*keep));
	char dir[PATH_MAX];
	size_t n = 0;
	const char *k;
	json_t *v;

	if (!keep)
		return;
	json_object_foreach(b->seen, k, v) keep[n++] = polsync_bpf_key(k);
	for (size_t i = 0; i < json_array_size(b->nets); i++) {
		struct cni_err err = {0};

		if (net_dir(b, i, dir, sizeof(dir)) && polbpf_gc(dir, keep, n, &err) < 0)
			log_err("garbage collection", dir, &err);
	}
	b->gc_done = true;
}

void polsync_bpf_end(struct polsync_bpf *b)
{
	const char *k;
	json_t *v, *tmp;

	json_object_foreach_safe(b->pods, tmp, k, v)
	{
		if (json_object_get(b->seen, k))
			continue;
		if (forget_others(b, json_object_get(v, "dirs"), NULL, polsync_bpf_key(k)) == 0)
			json_object_del(b->pods, k);
	}
	if (!b->gc_done && json_array_size(b->nets))
		gc(b);
}

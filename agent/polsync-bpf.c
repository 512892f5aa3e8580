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
	b->gc_done = false;
	json_array_foreach(b->nets, i, n)
		log_info("NetworkPolicy: ebpf network %s: its pods are enforced in its maps",
			 json_string_value(json_object_get(n, "network")));
}

void polsync_bpf_pod_changed(struct polsync_bpf *b, const char *key)
{
	const char *dir = json_string_value(json_object_get(json_object_get(b->pods, key), "dir"));

	if (dir && !*dir)
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

void polsync_bpf_begin(struct polsync_bpf *b)
{
	char dir[PATH_MAX];

	json_decref(b->seen);
	b->seen = json_object();
	b->errors = b->applied = 0;
	for (size_t i = 0; !b->gc_done && i < json_array_size(b->nets); i++) {
		struct cni_err err = {0};

		if (net_dir(b, i, dir, sizeof(dir)) && polbpf_gc(dir, &err) < 0)
			log_warn("NetworkPolicy: %s: %s", dir, err.msg);
	}
	b->gc_done = true;
}

/* Applies p in dir: 1 done, 0 not a pod of that network, -1 failed (logged). */
static int apply_in(struct polsync_bpf *b, const char *dir, const char *key,
		    const struct pol_pod *p)
{
	struct cni_err err = {0};
	int r = polbpf_apply(dir, p->ips, p->n_ips, p, &err);

	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		log_error("NetworkPolicy of %s in %s: %s%s%s", key, dir, err.msg,
			  err.details[0] ? ": " : "", err.details);
		b->errors++;
		return -1;
	}
	b->applied++;
	return 1;
}

int polsync_bpf_route(struct polsync_bpf *b, const char *key, const struct pol_pod *p)
{
	const json_t *known = json_object_get(b->pods, key);
	const char *kdir = json_string_value(json_object_get(known, "dir"));
	char digest[17], dir[PATH_MAX];
	int r = 0;

	if (json_array_size(b->nets) == 0)
		return 0;
	json_object_set_new(b->seen, key, json_true());
	if (kdir && !*kdir)
		return 0;
	pod_digest(p, digest);
	if (kdir && strcmp(json_string_value(json_object_get(known, "digest")) ?: "", digest) == 0)
		return 1;
	if (kdir)
		r = apply_in(b, kdir, key, p);
	for (size_t i = 0; !kdir && r == 0 && i < json_array_size(b->nets); i++)
		if (net_dir(b, i, dir, sizeof(dir)) && (r = apply_in(b, dir, key, p)) > 0)
			kdir = dir;
	if (r > 0)
		json_object_set_new(b->pods, key,
				    json_pack("{s:s, s:s}", "dir", kdir, "digest", digest));
	else if (r == 0)
		json_object_set_new(b->pods, key, json_pack("{s:s}", "dir", ""));
	return r;
}

void polsync_bpf_seen(struct polsync_bpf *b, const char *key)
{
	if (b && b->seen)
		json_object_set_new(b->seen, key, json_true());
}

void polsync_bpf_end(struct polsync_bpf *b)
{
	const char *k;
	json_t *v, *tmp;

	(void)v;
	json_object_foreach_safe(b->pods, tmp, k, v)
	{
		if (!json_object_get(b->seen, k))
			json_object_del(b->pods, k);
	}
}

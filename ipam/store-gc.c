/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-directory passes: rebuilding the index from the <ip> files (and taking the lock with a
 * rebuild when the index is stale), and GC. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "ipam/store-internal.h"

struct rec {
	unsigned bucket;
	char *id, *ifname;
	struct inet_addr ip;
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

static void recs_free(struct recs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].id);
		free(r->v[i].ifname);
	}
	free(r->v);
}

static int rec_cb(struct ipam_store *s, const char *name, const struct inet_addr *ip, char *content,
		  void *data)
{
	struct recs *r = data;
	const char *id, *ifname;
	struct rec *x;

	if (!ipam_store_split_owner(content, &id, &ifname) ||
	    (*ifname && !cni_valid_ifname(ifname)))
		return 0; /* not indexable; scans still see it */
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct rec *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	x = &r->v[r->n];
	*x = (struct rec){.bucket = ipam_store_bucket_of(id, ifname),
			  .id = strdup(id),
			  .ifname = strdup(ifname),
			  .ip = *ip};
	if (!x->id || !x->ifname) {
		free(x->id);
		free(x->ifname);
		return -ENOMEM;
	}
	r->n++;
	return 0;
}

static int rec_cmp(const void *pa, const void *pb)
{
	const struct rec *a = pa, *b = pb;
	int c;

	if (a->bucket != b->bucket)
		return a->bucket < b->bucket ? -1 : 1;
	c = strcmp(a->id, b->id);
	if (c == 0)
		c = strcmp(a->ifname, b->ifname);
	return c ? c : inet_addr_cmp(&a->ip, &b->ip);
}

/* What a rebuild leaves in .weft: state, the spares, and the claims of live processes (a
 * killed plugin's claim is an orphan inode: removed). */
static bool index_keeps(const char *name)
{
	long pid = 0;

	if (name[0] == '.' || strcmp(name, "state") == 0)
		return true;
	if (!ipam_store_is_spare(name))
		return false;
	if (sscanf(name, "claim.%ld.", &pid) != 1 || pid <= 0)
		return true; /* a spare */
	return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

/* Removes every file of .weft but state, spares and live claims (which the caller rewrites when
 * done). */
static int index_clear(struct ipam_store *s)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	fd = openat(s->idxfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d)))
		if (!index_keeps(de->d_name) && unlinkat(s->idxfd, de->d_name, 0) < 0 &&
		    errno != ENOENT)
			return -errno;
	return 0;
}

/* Appends the line of records [i, j) (one attachment) to the bucket body. */
static int body_add(char **body, size_t *len, size_t *cap, const struct rec *v, size_t i, size_t j)
{
	struct inet_addr ips[IPAM_STORE_MAX_IPS];
	size_t n = 0, need = STORE_CONTENT_MAX + IPAM_STORE_MAX_IPS * INET6_ADDRSTRLEN;

	for (size_t k = i; k < j && n < ARRAY_SIZE(ips); k++)
		ips[n++] = v[k].ip;
	if (*len + need > *cap) {
		char *b = realloc(*body, *cap * 2 + need);

		if (!b)
			return -ENOMEM;
		*body = b;
		*cap = *cap * 2 + need;
	}
	*len += ipam_store_entry_fmt(*body + *len, *cap - *len, v[i].id, v[i].ifname, ips, n);
	return 0;
}

static bool same_owner(const struct rec *a, const struct rec *b)
{
	return !strcmp(a->id, b->id) && !strcmp(a->ifname, b->ifname);
}

static int index_write_buckets(struct ipam_store *s, struct recs *r)
{
	_cleanup_free_ char *body = NULL;
	size_t i = 0, len = 0, cap = 0;
	int rc;

	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), rec_cmp);
	while (i < r->n) {
		unsigned b = r->v[i].bucket;

		len = 0;
		while (i < r->n && r->v[i].bucket == b) {
			size_t j = i + 1;

			while (j < r->n && same_owner(&r->v[i], &r->v[j]))
				j++;
			rc = body_add(&body, &len, &cap, r->v, i, j);
			if (rc < 0)
				return rc;
			i = j;
		}
		rc = ipam_store_bucket_write(s, b, body, len);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int ipam_store_index_rebuild(struct ipam_store *s, struct cni_err *err)
{
	struct recs r = {0};
	int rc;

	s->complete = false;
	if (s->idxfd < 0)
		return cni_err_set(err, CNI_ERR_IPAM, ENOENT, "%s: no index directory", s->path);
	rc = ipam_store_scan(s, rec_cb, &r);
	if (rc >= 0)
		rc = index_clear(s);
	if (rc >= 0)
		rc = index_write_buckets(s, &r);
	recs_free(&r);
	if (rc < 0)
		return cni_err_set(err, CNI_ERR_IPAM, -rc, "rebuild the index of %s", s->path);
	s->complete = true;
	return 0;
}

int ipam_store_lock_adopt(struct ipam_store *s, struct cni_err *err)
{
	int r = ipam_store_lock(s, err);

	/* A failed rebuild leaves complete false: lookups then scan, like the reference. */
	if (r >= 0 && !s->complete && s->idxfd >= 0)
		(void)ipam_store_index_rebuild(s, NULL);
	return r;
}

/* ---- GC -------------------------------------------------------------------------------------- */

struct gc {
	const struct cni_args *a;
	int released, first_err;
};

static bool legacy_valid(const struct cni_args *a, const char *id)
{
	for (size_t i = 0; i < a->n_valid_attachments; i++)
		if (a->valid_attachments[i].container_id &&
		    !strcmp(a->valid_attachments[i].container_id, id))
			return true;
	return false;
}

static int gc_cb(struct ipam_store *s, const char *name, const struct inet_addr *ip, char *content,
		 void *data)
{
	char expect[STORE_CONTENT_MAX];
	const char *id, *ifname;
	struct gc *g = data;
	bool valid;
	int r;

	snprintf(expect, sizeof(expect), "%s", content);
	if (!ipam_store_split_owner(content, &id, &ifname))
		valid = false; /* empty or garbage: no attachment can own it */
	else if (!*ifname)
		valid = legacy_valid(g->a, id);
	else
		valid = cni_args_attachment_valid(g->a, id, ifname);
	if (valid)
		return 0;
	r = ipam_store_unlink_if(s, name, expect);
	if (r > 0)
		g->released++;
	else if (r < 0 && !g->first_err)
		g->first_err = r;
	return 0;
}

int ipam_store_gc(struct ipam_store *s, const struct cni_args *a, struct cni_err *err)
{
	struct gc g = {.a = a};
	int r;

	r = ipam_store_scan(s, gc_cb, &g);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IPAM, -r, "gc: read %s", s->path);
	if (s->idxfd >= 0)
		(void)ipam_store_index_rebuild(s, NULL); /* a cache: lookups scan if this failed */
	if (g.first_err)
		return cni_err_set(err, CNI_ERR_IPAM, -g.first_err,
				   "gc: could not release every stale reservation in %s", s->path);
	return g.released;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Lookups through the sidecar index (store-bucket.c), so DEL, CHECK and the duplicate check
 * read one small file instead of every <ip> file. The index is a cache: every IP it names is
 * verified against the <ip> file's content before use, and it is rebuilt from the <ip> files
 * whenever the directory changed behind our back (the reference plugin, a crash). Legacy
 * "<id>"-only files are indexed under (id, ""). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/naming.h"
#include "ipam/store-internal.h"

/* Keeps the IPs whose <ip> file still holds `expect`. */
static size_t verify(struct ipam_store *s, struct inet_addr *ips, size_t n, const char *expect)
{
	char name[INET6_ADDRSTRLEN], buf[STORE_CONTENT_MAX];
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		inet_addr_fmt(&ips[i], name, sizeof(name));
		if (ipam_store_read_at(s->dirfd, name, buf, sizeof(buf)) >= 0 &&
		    strcmp(buf, expect) == 0)
			ips[kept++] = ips[i];
	}
	return kept;
}

/* ---- directory scan -------------------------------------------------------------------------- */

/* Reservations are named by the canonical text of their address (as the reference's
 * ip.String()); anything else ("0::5", "010.1.2.3") was made by hand: not ours to touch. */
static bool canonical_ip_name(const char *name, struct inet_addr *ret)
{
	char buf[INET6_ADDRSTRLEN];

	return inet_addr_parse(name, ret) == 0 &&
	       strcmp(inet_addr_fmt(ret, buf, sizeof(buf)), name) == 0;
}

int ipam_store_scan(struct ipam_store *s, ipam_store_scan_cb cb, void *data)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd, r;

	fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		char buf[STORE_CONTENT_MAX];
		struct inet_addr ip;

		if (de->d_name[0] == '.' || !canonical_ip_name(de->d_name, &ip))
			continue;
		if (ipam_store_read_at(s->dirfd, de->d_name, buf, sizeof(buf)) < 0)
			continue; /* gone, a symlink, a FIFO, huge: not a reservation we touch */
		r = cb(s, de->d_name, &ip, buf, data);
		if (r < 0)
			return r;
	}
	return 0;
}

static int any_cb(struct ipam_store *s, const char *name, const struct inet_addr *ip, char *content,
		  void *data)
{
	(void)s;
	(void)name;
	(void)ip;
	(void)content;
	(void)data;
	return -EEXIST; /* one is enough */
}

int ipam_store_empty(struct ipam_store *s)
{
	int r = ipam_store_scan(s, any_cb, NULL);

	return r == -EEXIST ? 0 : r < 0 ? r : 1;
}

struct match {
	const char *exact, *legacy; /* contents to match */
	struct inet_addr *ips;	    /* exact matches first; legacy ones kept apart */
	size_t max, n_exact, n_legacy;
	struct inet_addr legacy_ips[IPAM_STORE_MAX_IPS];
	bool unlink;
};

static int match_cb(struct ipam_store *s, const char *name, const struct inet_addr *ip,
		    char *content, void *data)
{
	struct match *m = data;

	if (strcmp(content, m->exact) == 0 && m->n_exact < m->max) {
		if (m->unlink && ipam_store_unlink_if(s, name, m->exact) <= 0)
			return 0;
		m->ips[m->n_exact++] = *ip;
	} else if (strcmp(content, m->legacy) == 0 && m->n_legacy < IPAM_STORE_MAX_IPS) {
		m->legacy_ips[m->n_legacy++] = *ip;
	}
	return 0;
}

/* The reference's lookup: exact matches; if none, legacy "<id>" files. */
static int scan_match(struct ipam_store *s, const char *exact, const char *id,
		      struct inet_addr *ret, size_t max, bool unlink)
{
	struct match m = {.exact = exact, .legacy = id, .ips = ret, .max = max, .unlink = unlink};
	char name[INET6_ADDRSTRLEN];
	size_t n = 0;
	int r;

	r = ipam_store_scan(s, match_cb, &m);
	if (r < 0)
		return r;
	if (m.n_exact)
		return (int)m.n_exact;
	for (size_t i = 0; i < m.n_legacy && n < max; i++) {
		inet_addr_fmt(&m.legacy_ips[i], name, sizeof(name));
		if (!unlink || ipam_store_unlink_if(s, name, id) > 0)
			ret[n++] = m.legacy_ips[i];
	}
	return (int)n;
}

/* ---- API ------------------------------------------------------------------------------------- */

int ipam_store_index_add(struct ipam_store *s, const struct inet_addr *ips, size_t n,
			 struct cni_err *err)
{
	struct inet_addr all[IPAM_STORE_MAX_IPS];
	int r = ipam_store_entry_read(s, s->id, s->ifname, all, ARRAY_SIZE(all));
	size_t have = r > 0 ? verify(s, all, (size_t)r, s->content) : 0;

	for (size_t i = 0; i < n && have < ARRAY_SIZE(all); i++)
		all[have++] = ips[i];
	r = ipam_store_entry_write(s, s->id, s->ifname, all, have);
	if (r < 0)
		s->complete = false; /* the next ADD rebuilds; lookups scan until then */
	return 0;
}

int ipam_store_find(struct ipam_store *s, const char *id, const char *ifname, bool scan_on_miss,
		    struct inet_addr *ret, size_t max, struct cni_err *err)
{
	char exact[STORE_CONTENT_MAX];
	size_t n = 0;
	int r;

	if (!ipam_store_fmt_owner(id, ifname, exact, sizeof(exact)))
		return 0;
	r = ipam_store_entry_read(s, id, ifname, ret, max);
	if (r > 0)
		n = verify(s, ret, (size_t)r, exact);
	if (n == 0) {
		r = ipam_store_entry_read(s, id, "", ret, max);
		if (r > 0)
			n = verify(s, ret, (size_t)r, id);
	}
	if (n > 0 || (!scan_on_miss && ipam_store_index_complete(s)))
		return (int)n;
	r = scan_match(s, exact, id, ret, max, false);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IPAM, -r, "read %s", s->path);
	return r;
}

static int release_listed(struct ipam_store *s, const char *id, const char *ifname,
			  const char *expect)
{
	struct inet_addr ips[IPAM_STORE_MAX_IPS];
	char name[INET6_ADDRSTRLEN];
	int r = ipam_store_entry_read(s, id, ifname, ips, ARRAY_SIZE(ips)), n = 0;

	if (r == -ENOENT)
		return 0;
	for (int i = 0; i < r; i++) {
		inet_addr_fmt(&ips[i], name, sizeof(name));
		if (ipam_store_unlink_if(s, name, expect) > 0)
			n++;
	}
	if (ipam_store_entry_write(s, id, ifname, NULL, 0) < 0)
		s->complete = false;
	return n;
}

int ipam_store_release(struct ipam_store *s, const char *id, const char *ifname,
		       struct cni_err *err)
{
	struct inet_addr ips[IPAM_STORE_MAX_IPS];
	char exact[STORE_CONTENT_MAX];
	int n, r;

	if (!ipam_store_fmt_owner(id, ifname, exact, sizeof(exact)))
		return 0;
	n = release_listed(s, id, ifname, exact);
	if (n == 0)
		n = release_listed(s, id, "", id);
	if (n > 0)
		return n;
	/* a miss: whoever wrote it, a reservation of this attachment must not leak */
	r = scan_match(s, exact, id, ips, ARRAY_SIZE(ips), true);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IPAM, -r, "read %s", s->path);
	return r;
}

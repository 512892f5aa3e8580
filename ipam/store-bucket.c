/* SPDX-License-Identifier: Apache-2.0 */
/* Index entries, in 256 bucket files .weft/b.<00..ff> chosen by a hash of (id, ifname):
 *
 *	weft host-local index v1
 *	<id>\t<ifname>\t<ip>[\t<ip>...]		(ifname empty for legacy "<id>"-only files)
 *
 * An ADD or DEL rewrites one small bucket in place instead of creating or removing an inode
 * per attachment (inode churn is what costs on ext4), and a lookup reads one bucket of about
 * n/256 lines. Container IDs and ifnames contain no whitespace, so tabs delimit safely, and the
 * header's spaces keep every bucket from ever equalling "<id>\r\n<ifname>" or "<id>". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/naming.h"
#include "ipam/store-internal.h"

#define BUCKET_HDR "weft host-local index v1\n"

unsigned ipam_store_bucket_of(const char *id, const char *ifname)
{
	const char *parts[] = {id, ifname};

	return (unsigned)(naming_hash(parts, 2) % STORE_BUCKETS);
}

static void bucket_name(unsigned b, char buf[8])
{
	snprintf(buf, 8, "b.%02x", b);
}

/* The bucket's content (NUL-terminated, header checked) or NULL when missing or foreign. */
static char *bucket_load(struct ipam_store *s, unsigned b, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t used = 0;
	struct stat st;
	char name[8];
	ssize_t n;

	bucket_name(b, name);
	fd = openat(s->idxfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > STORE_BUCKET_MAX)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return NULL;
	while (used < (size_t)st.st_size && (n = read(fd, buf + used, st.st_size - used)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		used += (size_t)n;
	}
	buf[used] = '\0';
	if (strncmp(buf, BUCKET_HDR, strlen(BUCKET_HDR)) != 0)
		return NULL;
	*ret_len = used;
	return TAKE_PTR(buf);
}

/* The line "<id>\t<ifname>\t..." in buf (after the header), or NULL. ret_end: past its '\n'. */
static char *line_find(char *buf, const char *id, const char *ifname, char **ret_end)
{
	size_t il = strlen(id), fl = strlen(ifname);
	char *p = buf + strlen(BUCKET_HDR);

	while (*p) {
		char *nl = strchrnul(p, '\n');

		if ((size_t)(nl - p) > il + fl + 1 && !memcmp(p, id, il) && p[il] == '\t' &&
		    !memcmp(p + il + 1, ifname, fl) && p[il + 1 + fl] == '\t') {
			*ret_end = *nl ? nl + 1 : nl;
			return p;
		}
		p = *nl ? nl + 1 : nl;
	}
	return NULL;
}

int ipam_store_entry_read(struct ipam_store *s, const char *id, const char *ifname,
			  struct inet_addr *ips, size_t max)
{
	_cleanup_free_ char *buf = NULL;
	char *line, *end, *tok, *save = NULL;
	size_t len, n = 0;

	if (s->idxfd < 0)
		return -ENOENT;
	buf = bucket_load(s, ipam_store_bucket_of(id, ifname), &len);
	if (!buf || !(line = line_find(buf, id, ifname, &end)))
		return -ENOENT;
	*strchrnul(line, '\n') = '\0';
	line += strlen(id) + 1 + strlen(ifname) + 1;
	for (tok = strtok_r(line, "\t\n", &save); tok && n < max;
	     tok = strtok_r(NULL, "\t\n", &save))
		if (inet_addr_parse(tok, &ips[n]) == 0)
			n++;
	return (int)n;
}

size_t ipam_store_entry_fmt(char *buf, size_t len, const char *id, const char *ifname,
			    const struct inet_addr *ips, size_t n)
{
	char a[INET6_ADDRSTRLEN];
	size_t used = (size_t)snprintf(buf, len, "%s\t%s", id, ifname);

	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "\t%s",
					 inet_addr_fmt(&ips[i], a, sizeof(a)));
	if (used < len)
		used += (size_t)snprintf(buf + used, len - used, "\n");
	return used < len ? used : 0;
}

int ipam_store_bucket_write(struct ipam_store *s, unsigned b, const char *body, size_t len)
{
	_cleanup_free_ char *buf = NULL;
	size_t hl = strlen(BUCKET_HDR);
	char name[8];

	bucket_name(b, name);
	/* An empty bucket keeps its file (the header alone): freeing its inode only to allocate
	 * one at the next ADD costs ext4 its recently-deleted scan (store-internal.h). */
	buf = malloc(hl + len + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, BUCKET_HDR, hl);
	if (len)
		memcpy(buf + hl, body, len);
	return ipam_store_write_at(s->idxfd, name, buf, hl + len);
}

int ipam_store_entry_write(struct ipam_store *s, const char *id, const char *ifname,
			   const struct inet_addr *ips, size_t n)
{
	unsigned b = ipam_store_bucket_of(id, ifname);
	_cleanup_free_ char *old = NULL, *body = NULL;
	size_t len = 0, used = 0, hl = strlen(BUCKET_HDR);
	char *line = NULL, *end = NULL;

	if (s->idxfd < 0)
		return -ENOENT;
	old = bucket_load(s, b, &len);
	if (old)
		line = line_find(old, id, ifname, &end);
	if (n == 0 && !line)
		return 0; /* not listed: nothing to remove */
	body = malloc(len + STORE_CONTENT_MAX + IPAM_STORE_MAX_IPS * INET6_ADDRSTRLEN);
	if (!body)
		return -ENOMEM;
	if (old) { /* every other line, unchanged */
		size_t before = (size_t)((line ? line : old + len) - (old + hl));

		memcpy(body, old + hl, before);
		used = before;
		if (line) {
			memcpy(body + used, end, (size_t)(old + len - end));
			used += (size_t)(old + len - end);
		}
	}
	if (n > 0) {
		size_t l = ipam_store_entry_fmt(
			body + used, STORE_CONTENT_MAX + IPAM_STORE_MAX_IPS * INET6_ADDRSTRLEN, id,
			ifname, ips, n);
		if (l == 0)
			return -E2BIG;
		used += l;
	}
	if (used + hl > STORE_BUCKET_MAX)
		return -E2BIG;
	return ipam_store_bucket_write(s, b, body, used);
}

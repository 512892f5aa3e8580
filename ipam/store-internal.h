/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between ipam/store.c and ipam/store-index.c; not part of the store's API. */
#ifndef WEFT_IPAM_STORE_INTERNAL_H
#define WEFT_IPAM_STORE_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ipam/store.h"

#define STORE_MAX_TMP	  16  /* prepared reservations: one per range set */
#define STORE_CONTENT_MAX 512 /* "<id>\r\n<ifname>" */

struct ipam_store {
	int dirfd;	 /* the network directory */
	int lockfd;	 /* -1 when unlocked */
	int idxfd;	 /* .weft, -1 when absent or unusable (then every lookup scans) */
	bool complete;	 /* the index covers every <ip> file (valid while locked) */
	bool no_tmpfile; /* O_TMPFILE unsupported here: named temp under the lock */
	char id[256], ifname[32];
	char content[STORE_CONTENT_MAX];
	size_t content_len;
	int tmp[STORE_MAX_TMP];	       /* prepared O_TMPFILE, or -1 */
	char claim[STORE_MAX_TMP][48]; /* or a spare, claimed as .weft/<this>; "" = none */
	size_t n_tmp, next_tmp;
	char path[PATH_MAX]; /* for messages */
};

/* Reads a small regular file relative to dirfd without following symlinks or blocking on a
 * FIFO; NUL-terminates and trims ASCII whitespace like Go's strings.TrimSpace. Returns the
 * trimmed length or -errno (-EFBIG when larger than len - 1). */
ssize_t ipam_store_read_at(int dirfd, const char *name, char *buf, size_t len);
/* Writes a small regular file relative to dirfd (created 0600, never through a symlink) in
 * place: pwrite + ftruncate, never O_TRUNC, because ext4 (auto_da_alloc) flushes a file
 * truncated to zero when it is closed, which costs ~0.4 ms. Returns 0 or -errno. */
int ipam_store_write_at(int dirfd, const char *name, const char *buf, size_t len);
/* Splits trimmed reservation content in place: "<id>\r\n<ifname>" or legacy "<id>" (ifname
 * ""). False when the id is not a valid container ID. */
bool ipam_store_split_owner(char *content, const char **ret_id, const char **ret_ifname);
/* "<id>\r\n<ifname>" into buf. False when it does not fit. */
bool ipam_store_fmt_owner(const char *id, const char *ifname, char *buf, size_t len);
/* Spare inodes: a released <ip> file is renamed to .weft/spare.<0..STORE_SPARES-1> instead of
 * unlinked, and the next reservation claims one (renamed to claim.<pid>.<slot>.<nonce>, rewritten)
 * and renames it to its <ip> name: no inode is freed or allocated. ext4 looks past every inode
 * freed in the last half minute when it allocates one (recently_deleted), so under pod churn an
 * allocation cost up to a millisecond. */
#define STORE_SPARES 2
/* Moves name (relative to at) to a free spare slot, else unlinks it. 0 or -errno. */
int ipam_store_spare_put(struct ipam_store *s, int at, const char *name);
/* Is d_name a spare or claim of .weft (kept by an index rebuild)? */
bool ipam_store_is_spare(const char *name);

/* Removes <ip> when its trimmed content is exactly `expect`. 1 removed, 0 not, < 0 error. */
int ipam_store_unlink_if(struct ipam_store *s, const char *name, const char *expect);

/* store-bucket.c: index entries in .weft/b.<00..ff>. */
#define STORE_BUCKETS	 256
#define STORE_BUCKET_MAX (1 << 20)
unsigned ipam_store_bucket_of(const char *id, const char *ifname);
/* IPs listed for exactly (id, ifname); -ENOENT when not listed (or no usable index). */
int ipam_store_entry_read(struct ipam_store *s, const char *id, const char *ifname,
			  struct inet_addr *ips, size_t max);
/* Lists ips for (id, ifname), replacing its line; n == 0 removes the line. */
int ipam_store_entry_write(struct ipam_store *s, const char *id, const char *ifname,
			   const struct inet_addr *ips, size_t n);
/* One bucket line "<id>\t<ifname>\t<ip>...\n" into buf; its length, 0 if it does not fit. */
size_t ipam_store_entry_fmt(char *buf, size_t len, const char *id, const char *ifname,
			    const struct inet_addr *ips, size_t n);
/* Replaces bucket b with header + body (len == 0 leaves the header alone). */
int ipam_store_bucket_write(struct ipam_store *s, unsigned b, const char *body, size_t len);

/* cb(name, ip, trimmed content) for every <ip>-named regular file of the network directory
 * (dot files, lock, last_reserved_ip.*, symlinks and FIFOs are skipped); stops on cb < 0. */
typedef int (*ipam_store_scan_cb)(struct ipam_store *s, const char *name,
				  const struct inet_addr *ip, char *content, void *data);
int ipam_store_scan(struct ipam_store *s, ipam_store_scan_cb cb, void *data);

#endif

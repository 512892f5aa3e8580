/* SPDX-License-Identifier: Apache-2.0 */
/* The on-disk store: the reference host-local's layout (docs/cni-contract.md §3.2),
 * plus a sidecar index the reference never confuses with a reservation.
 *
 *   <dataDir>/<network>/            0755, opened O_NOFOLLOW; every access is *at() relative to it
 *     <ip>                          0600 "<containerID>\r\n<ifname>" (legacy: "<containerID>")
 *     last_reserved_ip.<N>          last IP handed out from range set N
 *     lock                          flock'd around every read-modify-write (bounded wait)
 *     .weft-tmp                     reservation being written, only when O_TMPFILE is missing
 *     .weft/                        0700, weft's index (a cache; rebuilt from <ip> files)
 *       b.<00..ff>                  256 buckets by hash of (containerID, ifname): one line
 *                                   "<id>\t<ifname>\t<ip>..." per attachment
 *       state                       the network directory's inode+mtime when the index was
 *                                   last known to cover every <ip> file
 *       spare.<0..1>                released reservations' inodes, renamed into the next ones
 *       claim.<pid>.<slot>.<nonce>  a spare a running ADD took (a dead pid's: GC removes it)
 *
 * A reservation is written to an unnamed O_TMPFILE, then linkat()ed to its name: EEXIST means
 * taken, and no reader, and no crash of a plugin, ever sees an empty or half-written <ip> file.
 * Nothing is fsync'd (as the reference): a power cut may leave an empty <ip> file, which no
 * attachment owns and GC removes; a link lost in a power loss only loses the
 * reservation of a container that died with the node, which is what its DEL would do. Index and
 * state files contain spaces and no "\r\n", so the reference's content match (trimmed content
 * == "<id>\r\n<ifname>" or == "<id>") never selects them. A spare keeps its last owner's
 * content: the reference's release of that owner may delete it, which only loses the inode. */
#ifndef WEFT_IPAM_STORE_H
#define WEFT_IPAM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cni-error.h"
#include "common/inet.h"
#include "ipam/range.h"
#include "common/cni/skel.h"

#define IPAM_STORE_INDEX_DIR ".weft"
#define IPAM_STORE_TMP_NAME  ".weft-tmp"
#define IPAM_STORE_LOCK_NAME "lock"
#define IPAM_STORE_LAST_PFX  "last_reserved_ip."
#define IPAM_STORE_MAX_IPS   64 /* IPs one attachment may hold in one network */

struct ipam_store;

/* Opens <data_dir>/<network>. With `create`, missing directories are made (0755); without,
 * a missing network directory is -ENOENT (err set, code 105). A symlink at the network
 * directory is refused. */
int ipam_store_open(const char *data_dir, const char *network, bool create, struct ipam_store **ret,
		    struct cni_err *err);
void ipam_store_close(struct ipam_store *s); /* NULL-safe; unlocks */
static inline void ipam_store_closep(struct ipam_store **s)
{
	ipam_store_close(*s);
}
#define _cleanup_ipam_store_ __attribute__((cleanup(ipam_store_closep)))

/* Sets the owner of the reservations this process makes and prepares n of them (written and
 * complete before the lock is taken, so the lock is held briefly). */
int ipam_store_prepare(struct ipam_store *s, const char *id, const char *ifname, size_t n,
		       struct cni_err *err);
/* Takes the lock (code 11 past the bound), removes a stale temp file, and tells whether the
 * index still covers the directory. */
int ipam_store_lock(struct ipam_store *s, struct cni_err *err);
/* ipam_store_lock, then, when the index does not cover the directory (changes by another
 * tool), rebuilds it from the <ip> files; a failed rebuild leaves lookups scanning. */
int ipam_store_lock_adopt(struct ipam_store *s, struct cni_err *err);
/* Records the index state and releases the lock. */
void ipam_store_unlock(struct ipam_store *s);
/* True when the index is known to cover every reservation (after lock). */
bool ipam_store_index_complete(const struct ipam_store *s);

/* Under the lock. 1 = reserved for the prepared owner, 0 = taken, < 0 = error. */
int ipam_store_reserve(struct ipam_store *s, const struct inet_addr *ip, struct cni_err *err);
/* Removes <ip> if it holds the prepared owner's content. 1 removed, 0 not ours. */
int ipam_store_release_ip(struct ipam_store *s, const struct inet_addr *ip);
/* last_reserved_ip.<set>: 0 or -ENOENT (missing, unreadable, not an IP). */
int ipam_store_last_get(struct ipam_store *s, size_t set, struct inet_addr *ret);
/* Best effort, like a cursor: a failure only costs round-robin order. */
void ipam_store_last_set(struct ipam_store *s, size_t set, const struct inet_addr *ip);
bool ipam_store_is_reserved(const struct ipam_store *s, const struct inet_addr *ip);
/* Reservation files whose name lies inside the set (a directory listing, no reads). */
int64_t ipam_store_count(struct ipam_store *s, const struct ipam_range_set *set);

/* store-index.c. All under the lock. */
/* Records that the prepared owner now holds ips (merged with what it already holds). */
int ipam_store_index_add(struct ipam_store *s, const struct inet_addr *ips, size_t n,
			 struct cni_err *err);
/* IPs held by (id, ifname): exact matches, else legacy "<id>" files, via the index. On a miss
 * the directory is scanned when scan_on_miss or when the index does not cover it. Returns the
 * count (<= max). */
int ipam_store_find(struct ipam_store *s, const char *id, const char *ifname, bool scan_on_miss,
		    struct inet_addr *ret, size_t max, struct cni_err *err);
/* 1 when the network holds no reservation (no <ip> file), 0 when it holds one, or -errno.
 * Stops at the first reservation it finds. */
int ipam_store_empty(struct ipam_store *s);
/* Releases every IP of (id, ifname) (legacy "<id>" files when there is no exact match) via
 * the index; on a miss, by scanning the directory. Every file's content is verified before it
 * is removed. Returns the count released. */
int ipam_store_release(struct ipam_store *s, const char *id, const char *ifname,
		       struct cni_err *err);
/* Releases every reservation whose attachment is not in a's valid attachments (legacy
 * files: by container ID), keeps lock and last_reserved_ip.*, rebuilds the index. Continues
 * past errors; returns the count released or the first error. */
int ipam_store_gc(struct ipam_store *s, const struct cni_args *a, struct cni_err *err);
/* Rebuilds the index from the <ip> files (used by lock_adopt, and by gc). */
int ipam_store_index_rebuild(struct ipam_store *s, struct cni_err *err);

#endif

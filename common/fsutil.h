/* SPDX-License-Identifier: Apache-2.0 */
/* Small file-system helpers every layer uses: one home each. All return 0 (or a count) on
 * success and -errno on failure; none records a cni_err, callers add the context. */
#ifndef WEFT_FSUTIL_H
#define WEFT_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: the missing parents get 0755, path itself `mode`. Existing directories are fine
 * (their mode is left alone). */
int fs_mkdir_p(const char *path, mode_t mode);
/* Writes all len bytes, through short writes and EINTR. */
int fs_write_all(int fd, const void *buf, size_t len);
/* Replaces path atomically: a temp file in the same directory ("<path>.tmp.<pid>", never a
 * symlink followed), fsync, rename. Readers see the old content or the new, never a torn file;
 * the temp file is removed on failure. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same without the fsync, for derived state rebuilt after a reboot anyway (node-level
 * state files, weft-node's peersFile): readers still never see a torn file. */
int fs_write_atomic_nosync(const char *path, const void *data, size_t len, mode_t mode);

/* Reads a whole regular file of at most max bytes into a new NUL-terminated buffer (*len
 * without the NUL). -EFBIG when larger, -EINVAL when not a regular file. */
int fs_read_file(const char *path, size_t max, char **ret, size_t *len);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* flock(2) with a bounded wait. A wait past the bound is CNI_ERR_TRY_AGAIN (code 11): a
 * runtime retries, a node never piles up thousands of blocked plugins. */
#ifndef WEFT_LOCK_H
#define WEFT_LOCK_H

#include "common/cni-error.h"

/* Default bound; WEFT_LOCK_TIMEOUT_MS in the environment overrides it (tests use it). */
#define LOCK_TIMEOUT_MS_DEFAULT 10000

/* Opens (creating, mode 0600, O_CLOEXEC, O_NOFOLLOW) `path` and takes an exclusive flock,
 * waiting at most timeout_ms (< 0: the default). Returns the fd (close it to unlock). */
int lock_acquire(const char *path, int timeout_ms, struct cni_err *err);
/* Same, relative to a directory fd. */
int lock_acquire_at(int dirfd, const char *name, int timeout_ms, struct cni_err *err);
int lock_timeout_ms(void); /* the default or the environment's */

#endif

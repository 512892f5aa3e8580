/* SPDX-License-Identifier: Apache-2.0 */
/* Network namespaces by path. Plugins are single-threaded, so setns() is safe; netlink work
 * uses one socket opened inside each netns (common/nl/nl.h) instead of living in it. */
#ifndef WEFT_NETNS_H
#define WEFT_NETNS_H

#include "common/cni-error.h"

/* Opens path O_RDONLY|O_CLOEXEC and verifies it is a network namespace (nsfs + NS_GET_NSTYPE).
 * A missing path: -ENOENT, code CNI_ERR_NETNS; not a netns: -EINVAL, code CNI_ERR_NETNS. */
int netns_open(const char *path, int *ret_fd, struct cni_err *err);
/* Runs fn(arg, err) inside the netns nsfd, then returns to the current one (always). */
int netns_exec(int nsfd, int (*fn)(void *arg, struct cni_err *err), void *arg, struct cni_err *err);
/* netns_exec for a netns given by path (NULL or "": the current one). */
int netns_exec_path(const char *path, int (*fn)(void *arg, struct cni_err *err), void *arg,
		    struct cni_err *err);
/* Writes /proc/sys/<key> inside nsfd (nsfd < 0: current netns). key like
 * "net/ipv4/conf/eth0/arp_notify". Skips the write when the value already matches. */
int netns_sysctl_set(int nsfd, const char *key, const char *value, struct cni_err *err);
int netns_sysctl_get(int nsfd, const char *key, char *buf, size_t len, struct cni_err *err);

#endif

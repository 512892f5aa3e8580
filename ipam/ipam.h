/* SPDX-License-Identifier: Apache-2.0 */
/* IPAM as a main plugin sees it. ipam_open() reads the request's "ipam" object:
 *   - no ipam.type            -> disabled (L2 only); every verb is a no-op, add returns no IPs;
 *   - "host-local"            -> the linked allocator, in-process (same store as the
 *                                host-local executable, no fork/exec);
 *   - anything else           -> exec'd from CNI_PATH per the spec (common/cni/delegate.h).
 * The host-local executable is a thin plugin over the same calls.
 *
 * Store layout = the reference host-local's (docs/cni-contract.md §3.2):
 * <dataDir>/<network>/<ip> holding "<containerID>\r\n<ifname>", last_reserved_ip.<N>, lock. */
#ifndef WEFT_IPAM_H
#define WEFT_IPAM_H

#include <stdbool.h>

#include "common/cni-error.h"
#include "common/cni/types.h"
#include "common/cni/skel.h"

#define IPAM_DEFAULT_DATA_DIR "/var/lib/cni/networks"

struct ipam;

/* What a plugin does when a DEL (or GC) leaves the network without any reservation: remove
 * the network-wide state of the network (its masquerade rules). It runs while the store is
 * still locked, so no ADD can reserve an address (and count on that state) before it returns.
 * Only the in-process host-local knows the network is empty; with another IPAM type it never
 * runs (GC with no valid attachment is the plugins' signal then). */
struct ipam_empty_hook {
	int (*fn)(void *ctx, struct cni_err *err);
	void *ctx;
};

/* Parses and validates (codes 2/6/7) without side effects. */
int ipam_open(const struct cni_args *a, struct ipam **ret, struct cni_err *err);
void ipam_close(struct ipam *ipam); /* NULL-safe */
static inline void ipam_closep(struct ipam **p)
{
	ipam_close(*p);
}
#define _cleanup_ipam_ __attribute__((cleanup(ipam_closep)))

bool ipam_enabled(const struct ipam *ipam);
/* "host-local", another type, or NULL when disabled. */
const char *ipam_type(const struct ipam *ipam);
/* The subnets this node hands out: every range of every range set host-local will use, the
 * runtime's runtimeConfig.ipRanges included, exactly as ADD allocates from them. Returns the
 * count (at most max), 0 when disabled, -ENOTSUP for a delegated type (its ranges are its
 * own business). */
int ipam_subnets(const struct ipam *ipam, struct inet_prefix *ret, size_t max);

/* Fills res->ips (interface -1), res->routes and res->dns (when the IPAM gives DNS). */
int ipam_add(struct ipam *ipam, const struct cni_args *a, struct cni_result *res,
	     struct cni_err *err);
/* Idempotent; releases by (containerID, ifname). on_empty may be NULL. */
int ipam_del(struct ipam *ipam, const struct cni_args *a, const struct ipam_empty_hook *on_empty,
	     struct cni_err *err);
int ipam_check(struct ipam *ipam, const struct cni_args *a, struct cni_err *err);
/* Code 50 as soon as any range set is exhausted (a pod needs one address from each). */
int ipam_status(struct ipam *ipam, const struct cni_args *a, struct cni_err *err);
/* Releases reservations of attachments not in a->valid_attachments. on_empty may be NULL. */
int ipam_gc(struct ipam *ipam, const struct cni_args *a, const struct ipam_empty_hook *on_empty,
	    struct cni_err *err);

#endif

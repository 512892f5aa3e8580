/* SPDX-License-Identifier: Apache-2.0 */
/* The host-local verbs on a parsed config: the `host-local` executable and the in-process
 * path of ipam.h both call these, so both behave (and store) identically. */
#ifndef WEFT_IPAM_HOSTLOCAL_H
#define WEFT_IPAM_HOSTLOCAL_H

#include "common/cni-error.h"
#include "common/cni/types.h"
#include "ipam/config.h"
#include "ipam/ipam.h"
#include "common/cni/skel.h"

/* One IP per range set (round robin, or the requested one), routes, and DNS from
 * resolvConf. ips[].interface is -1. Codes: 7 config, 11 lock timeout, 104 a range set is
 * exhausted, 105 duplicate / requested IP unavailable / store failure. */
int ipam_hostlocal_add(const struct ipam_config *c, const struct cni_args *a,
		       struct cni_result *res, struct cni_err *err);
/* Releases every IP of (containerID, ifname). Success when there is nothing to release or
 * the network directory does not exist. Needs only dataDir and the network name. */
int ipam_hostlocal_del(const struct ipam_config *c, const struct cni_args *a,
		       const struct ipam_empty_hook *on_empty, struct cni_err *err);
/* The attachment holds a reservation (and every prevResult IP inside our ranges is its). */
int ipam_hostlocal_check(const struct ipam_config *c, const struct cni_args *a,
			 struct cni_err *err);
/* Code 50 when a range set has no free address (ADD cannot succeed). */
int ipam_hostlocal_status(const struct ipam_config *c, const struct cni_args *a,
			  struct cni_err *err);
/* Releases reservations of attachments not in a's valid attachments. */
int ipam_hostlocal_gc(const struct ipam_config *c, const struct cni_args *a,
		      const struct ipam_empty_hook *on_empty, struct cni_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The host-local configuration (docs/cni-contract.md §3.1), parsed and validated with
 * the reference's messages. Keys: ipam.{ranges, subnet, rangeStart, rangeEnd, gateway, routes,
 * dataDir, resolvConf}, runtimeConfig.{ipRanges, ips}, args.cni.ips and CNI_ARGS IP=. */
#ifndef WEFT_IPAM_CONFIG_H
#define WEFT_IPAM_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/cni-error.h"
#include "common/cni/types.h"
#include "ipam/range.h"
#include "common/cni/skel.h"

#define IPAM_MAX_SETS	       CNI_MAX_IPS /* one IP per range set in the result */
#define IPAM_MAX_RANGES	       256	   /* ranges in one set */
#define IPAM_MAX_REQUESTED_IPS CNI_MAX_IPS

struct ipam_config {
	char name[256]; /* network name: the store's directory under data_dir */
	char cni_version[16];
	char data_dir[PATH_MAX];
	char resolv_conf[PATH_MAX]; /* "" = none */

	struct ipam_range_set sets[IPAM_MAX_SETS];
	size_t n_sets;
	struct cni_route routes[CNI_MAX_ROUTES];
	size_t n_routes;
	struct inet_addr req[IPAM_MAX_REQUESTED_IPS]; /* requested IPs, deduplicated */
	size_t n_req;

	/* false when the config failed validation but was parsed leniently (DEL and GC need
	 * only dataDir and the name); `invalid` says why. */
	bool valid;
	struct cni_err invalid;
};

/* Parses the request's configuration: a->conf for name, cniVersion, runtimeConfig and args,
 * `ipam` for the IPAM object (NULL: "IPAM config missing 'ipam' key"), CNI_ARGS for IP=.
 * With `lenient`, anything but dataDir failing is recorded in `invalid` instead. Code 7 (4 for
 * a bad CNI_ARGS IP). */
int ipam_config_parse(const struct cni_args *a, const json_t *ipam, bool lenient,
		      struct ipam_config **ret, struct cni_err *err);
void ipam_config_free(struct ipam_config *c); /* NULL-safe */
static inline void ipam_config_freep(struct ipam_config **c)
{
	ipam_config_free(*c);
}
#define _cleanup_ipam_config_ __attribute__((cleanup(ipam_config_freep)))

#endif

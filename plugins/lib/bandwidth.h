/* SPDX-License-Identifier: Apache-2.0 */
/* The CNI `bandwidth` capability (runtimeConfig.bandwidth, what containerd and CRI-O fill in
 * from a pod's kubernetes.io/ingress-bandwidth and egress-bandwidth annotations): rates in
 * bits per second, bursts in bits, as the reference bandwidth plugin reads them. */
#ifndef WEFT_PODNET_BANDWIDTH_H
#define WEFT_PODNET_BANDWIDTH_H

#include <stdbool.h>

#include <jansson.h>

#include "common/cni-error.h"
#include "common/nl/qdisc.h"

struct bandwidth {
	struct nl_tbf ingress; /* to the pod; rate 0 = not shaped */
	struct nl_tbf egress;  /* from the pod; rate 0 = not shaped */
};

/* Reads runtimeConfig.bandwidth of conf (absent: nothing shaped). A burst without its rate,
 * a rate without its burst, or a burst over 32 Gbit (4 GiB, the kernel's limit) is code 7. */
int bandwidth_parse(const json_t *conf, struct bandwidth *bw, struct cni_err *err);

static inline bool bandwidth_any(const struct bandwidth *bw)
{
	return bw->ingress.rate_bps || bw->egress.rate_bps;
}

#endif

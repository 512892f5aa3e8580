/* SPDX-License-Identifier: Apache-2.0 */
/* Traffic shaping over rtnetlink: a token bucket filter (tbf) as a device's root qdisc, what
 * the CNI `bandwidth` capability asks for (rates in bits per second, bursts in bits). */
#ifndef WEFT_NL_QDISC_H
#define WEFT_NL_QDISC_H

#include <stdint.h>

#include "common/cni-error.h"
#include "common/nl/nl.h"

/* Queue allowed on top of the burst, in time at the rate (the reference plugin's 25 ms). */
#define NL_TBF_LATENCY_MS 25

struct nl_tbf {
	uint64_t rate_bps;   /* bits per second, > 0 */
	uint64_t burst_bits; /* bucket size in bits, > 0; the kernel wants at least the MTU */
};

/* Replaces ifindex's root qdisc with a tbf (NLM_F_CREATE|NLM_F_REPLACE: idempotent). */
int nl_tbf_replace(struct nl *nl, int ifindex, const struct nl_tbf *t, struct cni_err *err);

#endif

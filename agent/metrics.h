/* SPDX-License-Identifier: Apache-2.0 */
/* /healthz and /metrics (Prometheus text format) over libmicrohttpd, served from its own
 * thread (blocked in poll when nobody asks: no wake-ups). The main loop publishes figures
 * with metrics_* under a mutex; the handler only reads them. */
#ifndef WEFT_AGENT_METRICS_H
#define WEFT_AGENT_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cni-error.h"

#define METRICS_BUCKETS 10

struct metrics_figures {
	uint64_t peers, networks, reconciles, reconcile_errors, watch_restarts, relists;
	uint64_t events, malformed_events, auth_errors, skipped_nodes;
	double last_sync_mono; /* 0: never */
	/* NetworkPolicy (all 0 when it is off) */
	bool policy_on;
	uint64_t policy_rv; /* highest resourceVersion the enforced rules reflect */
	uint64_t policy_rounds, policy_errors, policy_pods, policy_isolated, policy_chains;
	uint64_t policy_sets;
	double policy_last_seconds;
	bool ready;
	uint64_t hist[METRICS_BUCKETS + 1]; /* reconcile duration, cumulative at output */
	double hist_sum;
	uint64_t hist_count;
};

struct metrics;

/* addr: "HOST:PORT", "[V6]:PORT" or ":PORT" (every address). */
int metrics_start(const char *addr, struct metrics **ret, struct cni_err *err);
void metrics_stop(struct metrics *m); /* NULL-safe */

/* Applies fn to the figures under the lock. */
void metrics_update(struct metrics *m, void (*fn)(struct metrics_figures *f, void *ctx), void *ctx);
/* One reconcile round took seconds (the histogram's buckets: 1 ms .. 5 s). */
void metrics_observe(struct metrics_figures *f, double seconds);

/* The text of /metrics for f at monotonic time now (malloc'd). Pure: unit tests use it. */
char *metrics_text(const struct metrics_figures *f, double now);

#endif

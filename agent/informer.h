/* SPDX-License-Identifier: Apache-2.0 */
/* One generic informer per resource collection (nodes, and later pods, namespaces,
 * networkpolicies): LIST (paged, limit/continue) then WATCH from the list's resourceVersion
 * with bookmarks and a timeoutSeconds, a cache of the objects keyed by "namespace/name" (or
 * "name"), and callbacks for every change. It is driven by the caller's curl multi loop (no
 * thread, no timer of its own when idle: an idle informer is one blocked watch):
 *   - a watch ending cleanly (timeoutSeconds) is resumed at once from the last version;
 *   - "410 Gone" (an ERROR event or an HTTP 410) relists at once; the relist is diffed against
 *     the cache, so callbacks see only what changed while the watch was away;
 *   - a dropped connection, a 5xx or a malformed event retries after a capped exponential
 *     backoff with jitter (0.25 s doubling up to 30 s), resuming the watch where it can;
 *   - a 401 (the credential refused) holds every informer of the client: logged once per
 *     streak, one probe request every 10 s until one is accepted, then all resume at once;
 *     a 403 (this collection's RBAC) is logged once per streak and retried every 10 s;
 *   - the cache is never flushed because the API is away. */
#ifndef WEFT_AGENT_INFORMER_H
#define WEFT_AGENT_INFORMER_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "agent/kube.h"

struct informer_ops {
	void *ctx;
	/* Optional: what to keep of an object (a new reference; NULL keeps all of it). Keeps
	 * the cache small: a Node is ~10 KiB of JSON, its peer fields ~200 bytes. */
	json_t *(*transform)(void *ctx, json_t *obj);
	/* An object was added (old NULL) or changed. */
	void (*upsert)(void *ctx, const char *key, const json_t *obj, const json_t *old);
	void (*remove)(void *ctx, const char *key, const json_t *old);
	/* A LIST completed and the cache holds it (first sync and every relist). */
	void (*synced)(void *ctx);
};

struct informer_stats {
	uint64_t lists, watches, watch_restarts, gone, errors, auth_errors, events, malformed;
	bool synced;	       /* the first LIST completed */
	double last_sync_mono; /* CLOCK_MONOTONIC seconds of the last completed LIST or event */
};

struct informer;

/* path: the collection, e.g. "/api/v1/nodes". Starts with a LIST at the next informer_tick. */
int informer_new(struct kube *k, CURLM *multi, const char *path, const struct informer_ops *ops,
		 struct informer **ret, struct cni_err *err);
void informer_free(struct informer *inf);

/* Milliseconds until the informer wants informer_tick (its retry timer), -1: none. */
long informer_timeout_ms(const struct informer *inf);
/* Starts the request that is due. Call after every poll. */
void informer_tick(struct informer *inf);
/* A transfer of the multi ended (curl_multi_info_read): true when it was this informer's. */
bool informer_done(struct informer *inf, CURL *h, CURLcode rc);

/* The cached objects: key -> object (borrowed). */
const json_t *informer_cache(const struct informer *inf);
const struct informer_stats *informer_stats(const struct informer *inf);
const char *informer_path(const struct informer *inf);
/* The version the cache is at ("" while a LIST is due). */
const char *informer_resource_version(const struct informer *inf);

/* Now on CLOCK_MONOTONIC in seconds (also for the caller's timers). */
double informer_now(void);

#endif

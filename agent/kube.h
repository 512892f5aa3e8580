/* SPDX-License-Identifier: Apache-2.0 */
/* A Kubernetes API client over libcurl: one struct kube per API server, handing out easy
 * handles set up for a GET (TLS per the kubeconfig, HTTP/2 when the server offers it, bearer
 * token or client certificate, keepalive). The token file is re-read when its mtime or size
 * changes, so a rotated service account token is used from the next request on. The token is
 * never logged. */
#ifndef WEFT_AGENT_KUBE_H
#define WEFT_AGENT_KUBE_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include <curl/curl.h>

#include "agent/kubeconfig.h"
#include "common/cni-error.h"

struct kube {
	struct kube_config cfg; /* owned */
	char *token;		/* current token (cfg.token or the token file's) */
	struct timespec token_mtime;
	off_t token_size;
	char auth[64 + 4096]; /* "Authorization: Bearer <token>" */
	/* Client-wide: the API server answered 401 (it does not accept the credential itself), so
	 * every informer of this client waits; one request at a time probes it, every 10 s, until
	 * one is accepted (agent/informer.c). A 403 is about one collection's RBAC: that informer
	 * alone waits. */
	struct {
		bool refused, probing;
		double retry_at; /* CLOCK_MONOTONIC seconds of the next probe */
	} gate;
};

/* Takes ownership of *cfg (zeroed). */
int kube_init(struct kube *k, struct kube_config *cfg, struct cni_err *err);
void kube_fini(struct kube *k);

/* Sets h up for GET <server><path_query> (path_query starts with '/'); *hdrs receives the
 * header list to free (curl_slist_free_all) after the transfer. timeout_s: the whole transfer
 * (0: none, for watches). */
int kube_setup(struct kube *k, CURL *h, const char *path_query, long timeout_s,
	       struct curl_slist **hdrs, struct cni_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* /healthz and /metrics (see metrics.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "agent/informer.h"
#include "agent/metrics.h"
#include "common/cleanup.h"
#include "common/inet.h"

static const double bucket_le[METRICS_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025,
						  0.05,	 0.1,	 0.25,	0.5,  5.0};

struct metrics {
	pthread_mutex_t mu;
	struct metrics_figures f;
	struct MHD_Daemon *d;
};

void metrics_update(struct metrics *m, void (*fn)(struct metrics_figures *f, void *ctx), void *ctx)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	fn(&m->f, ctx);
	pthread_mutex_unlock(&m->mu);
}

void metrics_observe(struct metrics_figures *f, double seconds)
{
	int i = 0;

	while (i < METRICS_BUCKETS && seconds > bucket_le[i])
		i++;
	f->hist[i]++;
	f->hist_sum += seconds;
	f->hist_count++;
}

struct text {
	char *p;
	size_t n, cap;
	bool oom;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->n)
			break;
		char *q = realloc(t->p, t->cap * 2);
		if (!q || n < 0) {
			t->oom = true;
			return;
		}
		t->p = q;
		t->cap *= 2;
	}
	t->n += (size_t)n;
}

static void metric(struct text *t, const char *name, const char *type, const char *help, double v)
{
	add(t, "# HELP weft_node_%s %s\n# TYPE weft_node_%s %s\nweft_node_%s %.17g\n", name, help,
	    name, type, name, v);
}

static void histogram(struct text *t, const struct metrics_figures *f)
{
	uint64_t cum = 0;

	add(t, "# HELP weft_node_reconcile_duration_seconds Time of one reconcile round (every "
	       "network).\n# TYPE weft_node_reconcile_duration_seconds histogram\n");
	for (int i = 0; i < METRICS_BUCKETS; i++) {
		cum += f->hist[i];
		add(t, "weft_node_reconcile_duration_seconds_bucket{le=\"%g\"} %llu\n",
		    bucket_le[i], (unsigned long long)cum);
	}
	add(t, "weft_node_reconcile_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)f->hist_count);
	add(t, "weft_node_reconcile_duration_seconds_sum %.9f\n", f->hist_sum);
	add(t, "weft_node_reconcile_duration_seconds_count %llu\n",
	    (unsigned long long)f->hist_count);
}

static void policy_metrics(struct text *t, const struct metrics_figures *f)
{
	metric(t, "policy_resource_version", "gauge",
	       "Highest resourceVersion of Pods, Namespaces and NetworkPolicies the enforced rules "
	       "reflect.",
	       (double)f->policy_rv);
	metric(t, "policy_rounds_total", "counter", "NetworkPolicy compile and apply rounds.",
	       (double)f->policy_rounds);
	metric(t, "policy_errors_total", "counter",
	       "NetworkPolicy rounds that failed (the previous rules stay).",
	       (double)f->policy_errors);
	metric(t, "policy_local_pods", "gauge", "Pods of this node (hostNetwork aside).",
	       (double)f->policy_pods);
	metric(t, "policy_isolated_pods", "gauge",
	       "Pods of this node selected by a NetworkPolicy (ingress or egress).",
	       (double)f->policy_isolated);
	metric(t, "policy_chains", "gauge", "Per-pod chains in table inet weft-policy.",
	       (double)f->policy_chains);
	metric(t, "policy_sets", "gauge", "Peer address sets in table inet weft-policy.",
	       (double)f->policy_sets);
	metric(t, "policy_last_round_seconds", "gauge",
	       "Duration of the last NetworkPolicy round (compile + apply).",
	       f->policy_last_seconds);
}

char *metrics_text(const struct metrics_figures *f, double now)
{
	struct text t = {.p = malloc(4096), .cap = 4096};

	if (!t.p)
		return NULL;
	t.p[0] = '\0';
	metric(&t, "peers", "gauge",
	       "Nodes in the peer set (this node excluded; a network may scope some out).",
	       (double)f->peers);
	metric(&t, "networks", "gauge", "Multi-node networks kept current.", (double)f->networks);
	metric(&t, "skipped_nodes", "gauge", "Nodes left out (hijack checks, invalid fields).",
	       (double)f->skipped_nodes);
	metric(&t, "reconciles_total", "counter", "Reconciles of a network's node-level state.",
	       (double)f->reconciles);
	metric(&t, "reconcile_errors_total", "counter", "Reconciles that failed.",
	       (double)f->reconcile_errors);
	metric(&t, "watch_restarts_total", "counter", "Watches that ended and were started again.",
	       (double)f->watch_restarts);
	metric(&t, "relists_total", "counter", "LISTs after 410 Gone or a malformed event.",
	       (double)f->relists);
	metric(&t, "watch_events_total", "counter", "Watch events applied.", (double)f->events);
	metric(&t, "malformed_events_total", "counter", "Watch events or list items refused.",
	       (double)f->malformed_events);
	metric(&t, "auth_errors_total", "counter", "Requests answered 401 or 403.",
	       (double)f->auth_errors);
	metric(&t, "seconds_since_last_sync", "gauge",
	       "Seconds since the cache was last confirmed current (LIST, event or bookmark); -1 "
	       "before the first.",
	       f->last_sync_mono > 0 ? now - f->last_sync_mono : -1.0);
	metric(&t, "ready", "gauge", "1 after the first sync and reconcile.", f->ready ? 1 : 0);
	if (f->policy_on)
		policy_metrics(&t, f);
	histogram(&t, f);
	if (t.oom) {
		free(t.p);
		return NULL;
	}
	return t.p;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, char *body, const char *type)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **req)
{
	struct metrics *m = cls;
	struct metrics_figures f;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, 405, strdup("method not allowed\n"), "text/plain");
	pthread_mutex_lock(&m->mu);
	f = m->f;
	pthread_mutex_unlock(&m->mu);
	if (strcmp(url, "/healthz") == 0)
		return reply(c, f.ready ? 200 : 503, strdup(f.ready ? "ok\n" : "not ready\n"),
			     "text/plain");
	if (strcmp(url, "/metrics") == 0) {
		char *s = metrics_text(&f, informer_now());

		return s ? reply(c, 200, s, "text/plain; version=0.0.4") : MHD_NO;
	}
	return reply(c, 404, strdup("not found\n"), "text/plain");
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss, struct cni_err *err)
{
	_cleanup_free_ char *host = strdup(addr);
	char *colon = host ? strrchr(host, ':') : NULL, *end;
	struct inet_addr a = {0};
	long port;

	if (!colon)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "--metrics-addr \"%s\": not HOST:PORT",
				   addr);
	*colon = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535 || colon[1] == '\0')
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "--metrics-addr \"%s\": bad port", addr);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	if (host[0] && inet_addr_parse(host, &a) < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "--metrics-addr \"%s\": not an IP address", addr);
	memset(ss, 0, sizeof(*ss));
	if (a.family == AF_INET6 || !host[0]) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		s6->sin6_addr = host[0] ? a.v6 : in6addr_any;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		s4->sin_addr = a.v4;
	}
	return 0;
}

int metrics_start(const char *addr, struct metrics **ret, struct cni_err *err)
{
	struct sockaddr_storage ss;
	struct metrics *m;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	int r = parse_addr(addr, &ss, err);

	if (r < 0)
		return r;
	m = calloc(1, sizeof(*m));
	if (!m)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "metrics");
	pthread_mutex_init(&m->mu, NULL);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6 | MHD_USE_DUAL_STACK;
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, m, MHD_OPTION_SOCK_ADDR, &ss,
				MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_LIMIT,
				64u, MHD_OPTION_END);
	if (!m->d) {
		free(m);
		return cni_err_set(err, CNI_ERR_CONFIG, EADDRINUSE,
				   "--metrics-addr %s: cannot listen there", addr);
	}
	*ret = m;
	return 0;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

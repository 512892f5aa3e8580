/* SPDX-License-Identifier: Apache-2.0 */
/* The main loop (see agent.h). */
#include <errno.h>
#include <malloc.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/informer.h"
#include "agent/intern.h"
#include "agent/kube.h"
#include "agent/metrics.h"
#include "agent/nets.h"
#include "agent/peerset.h"
#include "agent/polsync-bpf.h"
#include "agent/polsync.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/nft/policy.h"
#include "common/nl/addr.h"

#define HOST_ADDRS_MAX 512

struct due {
	bool dirty;
	double at; /* CLOCK_MONOTONIC seconds */
};

struct agent {
	const struct agent_opts *o;
	struct kube kube;
	CURLM *multi;
	struct informer *nodes;
	/* NetworkPolicy (NULL when off): namespaces, pods, networkpolicies */
	struct informer *pol_inf[3];
	struct polsync *ps;
	struct intern *intern; /* pods' labels and ports, held once (agent/intern.h) */
	struct due pdue;       /* a policy round is due */
	bool pdone, ndone, prebuild;
	struct agent_nets nets;
	struct metrics *m;
	int sigfd, inofd;
	struct due due;	   /* a Node round is due */
	struct due tdue;   /* handing freed memory back to the kernel is due (trim_after) */
	json_t *parse_why; /* name -> why a Node's entry is refused */
	char **changed;	   /* the keys of the Nodes changed since the last round */
	size_t n_changed;
	bool reparse;	   /* too many of them, or a relist: parse every Node again */
	struct peers good; /* the peers after peerset_filter, kept from round to round */
	struct peers bad;  /* those it left out */
	struct inet_prefix host[HOST_ADDRS_MAX]; /* this node's addresses at the last round */
	size_t n_host;
	json_t *reasons; /* the previous round's skipped nodes */
	struct metrics_figures f;
};

/* What weft-node keeps of a Node: its peer, parsed once (peerset_node_compact). */
static json_t *node_transform(void *ctx, json_t *obj)
{
	(void)ctx;
	return peerset_node_compact(obj);
}

/* A round is due at the earliest time asked for since the last one. */
static void due_in(struct due *d, double delay)
{
	double at = informer_now() + delay;

	if (!d->dirty || at < d->at)
		d->at = at;
	d->dirty = true;
}

static void mark(struct agent *a, double delay)
{
	due_in(&a->due, delay);
}

/* A round allocates and frees the whole peer set or policy table and their JSON: the freed
 * pages go back to the kernel (glibc keeps them otherwise, and the agent's RSS would stay at its
 * peak). After a large round at once (before the next one can stack on the garbage), after a
 * small one at most once per AGENT_TRIM_DELAY_S: a trim walks the whole heap, which costs more
 * than a small round. */
static void trim_after(struct agent *a, bool large)
{
	if (!large) {
		due_in(&a->tdue, AGENT_TRIM_DELAY_S);
		return;
	}
	a->tdue.dirty = false;
	malloc_trim(0);
}

static void changed_free(struct agent *a)
{
	for (size_t i = 0; i < a->n_changed; i++)
		free(a->changed[i]);
	free(a->changed);
	a->changed = NULL;
	a->n_changed = 0;
}

/* A Node changed: its key is kept for the round to parse that Node alone (up to
 * AGENT_PATCH_MAX of them; beyond, the round parses them all). */
static void node_changed(struct agent *a, const char *key)
{
	char **v = a->reparse || a->n_changed >= AGENT_PATCH_MAX
			   ? NULL
			   : realloc(a->changed, (a->n_changed + 1) * sizeof(*v));

	mark(a, AGENT_COALESCE_MS / 1000.0);
	if (v) {
		a->changed = v;
		v[a->n_changed] = strdup(key);
		if (v[a->n_changed]) {
			a->n_changed++;
			return;
		}
	}
	changed_free(a);
	a->reparse = true;
}

static void node_upsert(void *ctx, const char *key, const json_t *obj, const json_t *old)
{
	(void)obj, (void)old;
	node_changed(ctx, key);
}

static void node_remove(void *ctx, const char *key, const json_t *old)
{
	(void)old;
	node_changed(ctx, key);
}

static void nodes_synced(void *ctx)
{
	struct agent *a = ctx;

	for (size_t i = 0; i < a->nets.n; i++)
		net_forget(&a->nets.v[i]);
	changed_free(a);
	a->reparse = true;
	mark(a, 0);
}

/* ---- NetworkPolicy ---- */

static void pmark(struct agent *a, double delay)
{
	due_in(&a->pdue, delay);
}

static json_t *pod_transform(void *ctx, json_t *obj)
{
	struct agent *a = ctx;

	return polsync_pod_compact(obj, a->intern);
}

static json_t *ns_transform(void *ctx, json_t *obj)
{
	(void)ctx;
	return polsync_ns_compact(obj);
}

static json_t *pol_transform(void *ctx, json_t *obj)
{
	(void)ctx;
	return polsync_policy_compact(obj);
}

/* The informers of the three kinds, in the order of enum polsync_kind. */
static void pol_change(struct agent *a, enum polsync_kind kind, const char *key, const json_t *old,
		       const json_t *now)
{
	if (polsync_changed(a->ps, kind, key, old, (json_t *)now) < 0) {
		log_error("NetworkPolicy: out of memory indexing %s: rebuilding", key);
		a->prebuild = true;
	}
	pmark(a, AGENT_POLICY_COALESCE_MS / 1000.0);
}

static void ns_upsert(void *ctx, const char *key, const json_t *obj, const json_t *old)
{
	pol_change(ctx, POLSYNC_NAMESPACE, key, old, obj);
}

static void ns_remove(void *ctx, const char *key, const json_t *old)
{
	pol_change(ctx, POLSYNC_NAMESPACE, key, old, NULL);
}

static void pod_upsert(void *ctx, const char *key, const json_t *obj, const json_t *old)
{
	pol_change(ctx, POLSYNC_POD, key, old, obj);
}

static void pod_remove(void *ctx, const char *key, const json_t *old)
{
	pol_change(ctx, POLSYNC_POD, key, old, NULL);
}

static void pol_upsert(void *ctx, const char *key, const json_t *obj, const json_t *old)
{
	pol_change(ctx, POLSYNC_POLICY, key, old, obj);
}

static void pol_remove(void *ctx, const char *key, const json_t *old)
{
	pol_change(ctx, POLSYNC_POLICY, key, old, NULL);
}

static void pol_synced(void *ctx)
{
	pmark(ctx, 0);
}

static bool pol_synced_all(const struct agent *a)
{
	if (a->o->policy_deny && !informer_stats(a->nodes)->synced)
		return false; /* the guard needs this node's pod CIDR */
	for (size_t i = 0; i < 3; i++)
		if (!a->pol_inf[i] || !informer_stats(a->pol_inf[i])->synced)
			return false;
	return true;
}

/* The highest resourceVersion of the three caches (Kubernetes versions are opaque strings;
 * the API server's are numbers, and the metric is for tests and dashboards). */
static uint64_t pol_rv(const struct agent *a)
{
	uint64_t m = 0;

	for (size_t i = 0; i < 3; i++) {
		unsigned long long v = strtoull(informer_resource_version(a->pol_inf[i]), NULL, 10);

		m = v > m ? v : m;
	}
	return m;
}

/* After a failure to index a change: a new index from the caches as they are. */
static int policy_rebuild(struct agent *a)
{
	struct polsync *ps = NULL;

	if (polsync_new(a->o->node_name, informer_cache(a->pol_inf[0]),
			informer_cache(a->pol_inf[1]), informer_cache(a->pol_inf[2]), &ps) < 0) {
		a->f.policy_errors++;
		log_error("NetworkPolicy: out of memory rebuilding the index (retrying in 1 s)");
		return -1;
	}
	polsync_take_state(ps, a->ps);
	polsync_free(a->ps);
	a->ps = ps;
	a->prebuild = false;
	return 0;
}

static void policy_round(struct agent *a)
{
	struct polsync_stats st = {0};
	struct cni_err err = {0};
	double t0 = informer_now();
	uint64_t rv = pol_rv(a);
	struct inet_prefix net;
	bool have_net = peerset_pod_cidr(json_object_get(informer_cache(a->nodes), a->o->node_name),
					 &net) == 0;
	int r;

	if (a->prebuild && policy_rebuild(a) < 0)
		return pmark(a, 1.0);
	polsync_set_default(a->ps, a->o->policy_deny, &net, have_net);
	r = polsync_apply(a->ps, &st, &err);

	a->f.policy_rounds++;
	a->f.policy_last_seconds = informer_now() - t0;
	if (r < 0) {
		a->f.policy_errors++;
		log_error("NetworkPolicy: %s%s%s (retrying in 1 s)", err.msg,
			  err.details[0] ? ": " : "", err.details);
		return pmark(a, 1.0);
	}
	if (st.replaced)
		log_warn("NetworkPolicy: the table was not as applied last (%s): replaced whole",
			 st.why);
	if (st.changes || st.bpf_applied)
		log_info("NetworkPolicy: %zu of %zu local pods isolated (%zu ebpf), %zu chains, "
			 "%zu sets (%u changes, %u ebpf pods written, %.1f ms)",
			 st.pods_isolated, st.pods_local, st.pods_ebpf, st.chains, st.sets,
			 st.changes, st.bpf_applied, a->f.policy_last_seconds * 1000.0);
	if (st.bpf_errors) { /* the ebpf pods that failed are tried again; rv stays */
		a->f.policy_errors++;
		return pmark(a, 1.0);
	}
	trim_after(a, !a->pdone || st.changes >= AGENT_TRIM_CHANGES);
	a->pdone = true;
	a->f.policy_rv = rv > a->f.policy_rv ? rv : a->f.policy_rv;
	a->f.policy_pods = st.pods_local;
	a->f.policy_isolated = st.pods_isolated;
	a->f.policy_chains = st.chains;
	a->f.policy_sets = st.sets;
}

static int policy_setup(struct agent *a, struct cni_err *err)
{
	static const char *const paths[] = {AGENT_NAMESPACES_PATH, AGENT_PODS_PATH,
					    AGENT_POLICIES_PATH};
	const struct informer_ops ops[] = {
		{a, ns_transform, ns_upsert, ns_remove, pol_synced},
		{a, pod_transform, pod_upsert, pod_remove, pol_synced},
		{a, pol_transform, pol_upsert, pol_remove, pol_synced},
	};
	int r = 0;

	if (!a->o->network_policy)
		return 0;
	a->f.policy_on = true;
	if (!(a->intern = intern_new()))
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy state");
	for (size_t i = 0; r >= 0 && i < 3; i++)
		r = informer_new(&a->kube, a->multi, paths[i], &ops[i], &a->pol_inf[i], err);
	if (r >= 0 &&
	    polsync_new(a->o->node_name, informer_cache(a->pol_inf[0]),
			informer_cache(a->pol_inf[1]), informer_cache(a->pol_inf[2]), &a->ps) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "policy state");
	if (r >= 0)
		polsync_set_ebpf(a->ps, nets_ebpf(a->o->conf_dir));
	return r;
}

/* This node's addresses, with their prefix lengths. */
static size_t host_addrs(struct inet_prefix *ret, size_t max)
{
	_cleanup_nl_ struct nl *nl = NULL;
	struct nl_addr *v = calloc(max, sizeof(*v));
	size_t n = 0;

	if (v && nl_open(&nl, NL_NETNS_SELF, NULL) >= 0 &&
	    nl_addr_list(nl, 0, AF_UNSPEC, v, max, &n, NULL) >= 0)
		for (size_t i = 0; i < n && i < max; i++)
			ret[i] = v[i].prefix;
	free(v);
	return n < max ? n : max;
}

static void log_reasons(struct agent *a, json_t *now)
{
	const char *name;
	json_t *why;

	json_object_foreach(now, name, why)
	{
		const char *was = json_string_value(json_object_get(a->reasons, name));

		if (!was || strcmp(was, json_string_value(why)) != 0)
			log_warn("node %s skipped: %s", name, json_string_value(why));
	}
	json_decref(a->reasons);
	a->reasons = json_incref(now);
}

static void apply_nets(struct agent *a, const struct peers *all, json_t *reasons)
{
	for (size_t i = 0; i < a->nets.n; i++) {
		struct agent_net *net = &a->nets.v[i];
		_cleanup_json_ json_t *nr = json_object();
		struct cni_err err = {0};
		const char *name;
		json_t *why;
		char buf[512];

		a->f.reconciles++;
		if (net_apply(net, all, nr, &err) < 0) {
			a->f.reconcile_errors++;
			log_error("%s%s%s", err.msg, err.details[0] ? ": " : "", err.details);
		}
		json_object_foreach(nr, name, why)
		{
			snprintf(buf, sizeof(buf), "network %s: %s", net->name,
				 json_string_value(why));
			if (!json_object_get(reasons, name))
				json_object_set_new(reasons, name, json_string(buf));
		}
	}
}

/* The Nodes to judge: every one (full), or those the watch changed since the last round (*now
 * holds those that parse; the others are gone, or wait, or are refused in a->parse_why). */
static int nodes_parse(struct agent *a, bool full, struct peers *now, struct cni_err *err)
{
	const json_t *cache = informer_cache(a->nodes);
	int r = 0;

	if (full) {
		json_object_clear(a->parse_why);
		return peerset_parse(cache, now, a->parse_why, err);
	}
	for (size_t i = 0; r >= 0 && i < a->n_changed; i++)
		r = peerset_patch(now, a->parse_why, cache, a->changed[i], err);
	return r;
}

/* a->good and a->bad brought up to date from now (nodes_parse's, taken): for the changed Nodes
 * alone when the rest is as it was (same host addresses, few changes), else over every Node. */
static int filter(struct agent *a, bool full, struct peers *now, json_t *reasons,
		  struct cni_err *err)
{
	int r;

	if (!full) {
		r = peerset_filter_update(&a->good, &a->bad, now, (const char *const *)a->changed,
					  a->n_changed, a->o->node_name, a->host, a->n_host,
					  reasons, err);
		if (r != 0)
			return r;		    /* done, or failed */
		r = nodes_parse(a, true, now, err); /* too many to judge alone: every Node */
		if (r < 0)
			return r;
	}
	r = peerset_filter(now, a->o->node_name, a->host, a->n_host, &a->bad, reasons, err);
	if (r < 0)
		return r;
	peerset_log_diff(&a->good, now);
	peers_free(&a->good);
	a->good = *now;
	*now = (struct peers){0};
	return 0;
}

/* This node's addresses now; true when they changed. */
static bool host_changed(struct agent *a)
{
	struct inet_prefix *host = calloc(HOST_ADDRS_MAX, sizeof(*host));
	size_t n = host ? host_addrs(host, HOST_ADDRS_MAX) : 0;
	bool changed = n != a->n_host || memcmp(host, a->host, n * sizeof(*host)) != 0;

	if (host)
		memcpy(a->host, host, n * sizeof(*host));
	a->n_host = n;
	free(host);
	return changed;
}

static void round_(struct agent *a)
{
	_cleanup_json_ json_t *reasons = json_object();
	struct peers now = {0};
	struct cni_err err = {0};
	double t0 = informer_now();
	bool large = a->reparse, full = host_changed(a) || a->reparse;
	int r;

	r = nodes_parse(a, full, &now, &err);
	if (r >= 0)
		r = json_object_update(reasons, a->parse_why) < 0
			    ? cni_err_set(&err, CNI_ERR_INTERNAL, ENOMEM, "peers")
			    : 0;
	if (r >= 0)
		r = filter(a, full, &now, reasons, &err);
	peers_free(&now);
	changed_free(a);
	a->reparse = r < 0;
	if (r < 0) {
		log_error("peer set: %s", err.msg);
		a->f.reconcile_errors++;
		return mark(a, 1.0);
	}
	apply_nets(a, &a->good, reasons);
	log_reasons(a, reasons);
	a->f.peers = a->good.n - (peers_find(&a->good, a->o->node_name) >= 0);
	a->f.skipped_nodes = json_object_size(reasons);
	a->f.networks = a->nets.n;
	a->ndone = true;
	metrics_observe(&a->f, informer_now() - t0);
	trim_after(a, large);
}

static void publish_fn(struct metrics_figures *f, void *ctx)
{
	*f = *(const struct metrics_figures *)ctx;
}

static void publish(struct agent *a)
{
	const struct informer_stats *s = informer_stats(a->nodes);

	/* the API figures of every informer; the last sync is the Nodes one (the others may
	 * see no event for hours) */
	a->f.watch_restarts = s->watch_restarts;
	a->f.relists = s->gone;
	a->f.events = s->events;
	a->f.malformed_events = s->malformed;
	a->f.auth_errors = s->auth_errors;
	for (size_t i = 0; i < ARRAY_SIZE(a->pol_inf) && a->pol_inf[i]; i++) {
		const struct informer_stats *p = informer_stats(a->pol_inf[i]);

		a->f.watch_restarts += p->watch_restarts;
		a->f.relists += p->gone;
		a->f.events += p->events;
		a->f.malformed_events += p->malformed;
		a->f.auth_errors += p->auth_errors;
	}
	a->f.last_sync_mono = s->last_sync_mono;
	a->f.ready = a->ndone && (!a->o->network_policy || a->pdone);
	metrics_update(a->m, publish_fn, &a->f);
}

static void reload_nets(struct agent *a)
{
	struct cni_err err = {0};
	char buf[4096];

	while (read(a->inofd, buf, sizeof(buf)) > 0)
		;
	nets_free(&a->nets);
	if (nets_load(a->o->conf_dir, a->o->node_name, &a->nets, &err) < 0)
		log_error("%s", err.msg);
	log_info("%s changed: %zu multi-node networks", a->o->conf_dir, a->nets.n);
	mark(a, AGENT_COALESCE_MS / 1000.0);
	if (a->ps) {
		polsync_set_ebpf(a->ps, nets_ebpf(a->o->conf_dir));
		pmark(a, AGENT_POLICY_COALESCE_MS / 1000.0);
	}
}

static long min_timeout(long t, long d)
{
	return t < 0 || (d >= 0 && d < t) ? d : t;
}

static long until(double deadline)
{
	long d = (long)((deadline - informer_now()) * 1000.0) + 1;

	return d < 0 ? 0 : d;
}

static long poll_timeout(struct agent *a)
{
	long t = informer_timeout_ms(a->nodes);

	for (size_t i = 0; i < 3; i++)
		if (a->pol_inf[i])
			t = min_timeout(t, informer_timeout_ms(a->pol_inf[i]));
	if (a->due.dirty && informer_stats(a->nodes)->synced)
		t = min_timeout(t, until(a->due.at));
	if (a->pdue.dirty && pol_synced_all(a))
		t = min_timeout(t, until(a->pdue.at));
	if (a->tdue.dirty)
		t = min_timeout(t, until(a->tdue.at));
	return t < 0 || t > INT_MAX ? INT_MAX : t;
}

static void transfers_done(struct agent *a)
{
	CURLMsg *msg;
	int left, running;

	curl_multi_perform(a->multi, &running);
	while ((msg = curl_multi_info_read(a->multi, &left)))
		if (msg->msg == CURLMSG_DONE &&
		    !informer_done(a->nodes, msg->easy_handle, msg->data.result))
			for (size_t i = 0; i < 3; i++)
				if (a->pol_inf[i] && informer_done(a->pol_inf[i], msg->easy_handle,
								   msg->data.result))
					break;
}

static int loop(struct agent *a)
{
	for (;;) {
		struct curl_waitfd w[2] = {{.fd = a->sigfd, .events = CURL_WAIT_POLLIN},
					   {.fd = a->inofd, .events = CURL_WAIT_POLLIN}};
		struct signalfd_siginfo si;

		curl_multi_poll(a->multi, w, a->inofd >= 0 ? 2 : 1, (int)poll_timeout(a), NULL);
		transfers_done(a);
		informer_tick(a->nodes);
		for (size_t i = 0; i < 3; i++)
			if (a->pol_inf[i])
				informer_tick(a->pol_inf[i]);
		if (w[0].revents && read(a->sigfd, &si, sizeof(si)) == sizeof(si)) {
			log_info("signal %u: exiting; node-level state is left in place",
				 si.ssi_signo);
			return 0;
		}
		if (a->inofd >= 0 && w[1].revents)
			reload_nets(a);
		if (a->due.dirty && informer_stats(a->nodes)->synced &&
		    informer_now() >= a->due.at) {
			a->due.dirty = false;
			round_(a);
		}
		if (a->pdue.dirty && pol_synced_all(a) && informer_now() >= a->pdue.at) {
			a->pdue.dirty = false;
			policy_round(a);
		}
		if (a->tdue.dirty && informer_now() >= a->tdue.at) {
			a->tdue.dirty = false;
			malloc_trim(0);
		}
		publish(a);
	}
}

/* Before any thread starts (libmicrohttpd's): every thread inherits the mask, so SIGTERM only
 * ever reaches the signalfd. */
static void block_signals(sigset_t *ss)
{
	sigemptyset(ss);
	sigaddset(ss, SIGTERM);
	sigaddset(ss, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, ss, NULL);
}

static int open_fds(struct agent *a, const sigset_t *ss)
{
	if ((a->sigfd = signalfd(-1, ss, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		log_error("signalfd: %m");
		return -1;
	}
	a->inofd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (a->inofd >= 0 && inotify_add_watch(a->inofd, a->o->conf_dir,
					       IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
						       IN_DELETE | IN_CREATE) < 0) {
		log_warn("%s: cannot watch it (%m): networks are read once, at start",
			 a->o->conf_dir);
		close(a->inofd);
		a->inofd = -1;
	}
	return 0;
}

static int setup(struct agent *a, struct cni_err *err)
{
	struct informer_ops ops = {.ctx = a,
				   .transform = node_transform,
				   .upsert = node_upsert,
				   .remove = node_remove,
				   .synced = nodes_synced};
	struct kube_config cfg;
	int r;

	r = a->o->kubeconfig ? kube_config_load(a->o->kubeconfig, &cfg, err)
			     : kube_config_in_cluster(KUBE_SA_DIR, &cfg, err);
	if (r < 0)
		return r;
	r = kube_init(&a->kube, &cfg, err);
	kube_config_free(&cfg);
	if (r < 0)
		return r;
	a->multi = curl_multi_init();
	if (!a->multi)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "curl multi");
	a->parse_why = json_object();
	if (!a->parse_why)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "peers");
	r = informer_new(&a->kube, a->multi, AGENT_NODES_PATH, &ops, &a->nodes, err);
	if (r >= 0)
		r = policy_setup(a, err);
	if (r >= 0)
		r = nets_load(a->o->conf_dir, a->o->node_name, &a->nets, err);
	if (r >= 0)
		r = metrics_start(a->o->metrics_addr, &a->m, err);
	return r;
}

static void teardown(struct agent *a)
{
	metrics_stop(a->m);
	informer_free(a->nodes);
	for (size_t i = 0; i < 3; i++)
		informer_free(a->pol_inf[i]);
	polsync_free(a->ps);
	intern_free(a->intern);
	if (a->multi)
		curl_multi_cleanup(a->multi);
	kube_fini(&a->kube);
	nets_free(&a->nets);
	peers_free(&a->good);
	peers_free(&a->bad);
	json_decref(a->parse_why);
	changed_free(a);
	json_decref(a->reasons);
	if (a->sigfd >= 0)
		close(a->sigfd);
	if (a->inofd >= 0)
		close(a->inofd);
}

int agent_run(const struct agent_opts *o)
{
	struct agent a = {.o = o, .sigfd = -1, .inofd = -1};
	struct cni_err err = {0};
	sigset_t ss;
	int r;

	block_signals(&ss);
	r = setup(&a, &err);
	if (r < 0)
		log_error("%s%s%s", err.msg, err.details[0] ? ": " : "", err.details);
	else
		log_info("node %s: watching %s%s at %s, %zu multi-node networks in %s, metrics on "
			 "%s",
			 o->node_name, a.kube.cfg.server, AGENT_NODES_PATH,
			 o->kubeconfig ? o->kubeconfig : "(in-cluster)", a.nets.n, o->conf_dir,
			 o->metrics_addr);
	if (r >= 0)
		r = open_fds(&a, &ss);
	if (r >= 0)
		r = loop(&a);
	teardown(&a);
	return r < 0 ? 1 : 0;
}

int agent_cleanup(const struct agent_opts *o)
{
	struct agent_nets nets = {0};
	struct cni_err err = {0};
	int r = nets_load(o->conf_dir, o->node_name, &nets, &err), bad = 0;

	if (r < 0)
		log_error("%s", err.msg);
	for (size_t i = 0; r >= 0 && i < nets.n; i++) {
		cni_err_clear(&err);
		if (net_cleanup(&nets.v[i], &err) < 0) {
			log_error("%s%s%s", err.msg, err.details[0] ? ": " : "", err.details);
			bad = 1;
		}
	}
	nets_free(&nets);
	cni_err_clear(&err);
	if (o->network_policy && nft_pol_remove(&err) < 0) {
		log_error("%s%s%s", err.msg, err.details[0] ? ": " : "", err.details);
		bad = 1;
	}
	if (o->network_policy && polsync_bpf_remove(nets_ebpf(o->conf_dir)) > 0)
		bad = 1;
	return r < 0 || bad;
}

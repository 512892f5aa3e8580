/* SPDX-License-Identifier: Apache-2.0 */
/* LIST + WATCH + cache of one collection (see informer.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/informer.h"
#include "common/cleanup.h"
#include "common/log.h"

#define LIST_PAGE		500
#define LIST_TIMEOUT_S		120
#define BODY_MAX		(64u << 20) /* one LIST page or an error body */
#define LINE_MAX_BYTES		(32u << 20) /* one watch event */
#define BACKOFF_FIRST_MS	250
#define BACKOFF_MAX_MS		30000
#define AUTH_RETRY_MS		10000
#define WATCH_TIMEOUT_MIN	300		 /* seconds; plus up to as much again of jitter */
#define WATCH_CONNECT_TIMEOUT_S (7L * 24 * 3600) /* in effect none (see start) */

struct buf {
	char *p;
	size_t n, cap;
};

struct informer {
	struct kube *k;
	CURLM *multi;
	char *path;
	struct informer_ops ops;
	CURL *h;
	struct curl_slist *hdrs;
	bool running, listing; /* listing: the running (or next) request is a LIST page */
	double due, started;
	char rv[128];
	char *cont;
	json_t *cache, *next;
	struct buf body, line;
	size_t scanned; /* bytes of line already searched for '\n' */
	long code;
	bool gone, malformed, got_event, auth_logged;
	bool held, probe; /* waiting on the client's auth gate; the running request probes it */
	unsigned backoff_ms;
	struct informer_stats st;
};

double informer_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool buf_add(struct buf *b, const char *p, size_t n, size_t max)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		char *q;

		while (cap < b->n + n + 1)
			cap *= 2;
		if (b->n + n > max || !(q = realloc(b->p, cap)))
			return false;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
	return true;
}

static void buf_reset(struct buf *b, bool release)
{
	b->n = 0;
	if (release || b->cap > (1u << 20)) {
		free(b->p);
		memset(b, 0, sizeof(*b));
	}
}

/* "namespace/name" or "name" into buf; NULL when the object has no name. */
static const char *obj_key(const json_t *obj, char *buf, size_t len)
{
	const json_t *m = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(m, "name"));
	const char *ns = json_string_value(json_object_get(m, "namespace"));

	if (!name || !*name)
		return NULL;
	if (ns && *ns)
		snprintf(buf, len, "%s/%s", ns, name);
	else
		snprintf(buf, len, "%s", name);
	return buf;
}

static const char *obj_rv(const json_t *obj)
{
	return json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

static void set_rv(struct informer *inf, const json_t *obj)
{
	const char *rv = obj_rv(obj);

	if (rv && strlen(rv) < sizeof(inf->rv))
		snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
}

static json_t *keep(struct informer *inf, json_t *obj)
{
	json_t *k = inf->ops.transform ? inf->ops.transform(inf->ops.ctx, obj) : NULL;

	return k ? k : json_incref(obj);
}

static void upsert(struct informer *inf, const char *key, json_t *obj)
{
	json_t *kept = keep(inf, obj), *old = json_incref(json_object_get(inf->cache, key));

	json_object_set_new(inf->cache, key, kept);
	if (inf->ops.upsert)
		inf->ops.upsert(inf->ops.ctx, key, kept, old);
	json_decref(old);
}

static void remove_key(struct informer *inf, const char *key)
{
	json_t *old = json_incref(json_object_get(inf->cache, key));

	if (!old)
		return;
	json_object_del(inf->cache, key);
	if (inf->ops.remove)
		inf->ops.remove(inf->ops.ctx, key, old);
	json_decref(old);
}

static int bad_event(struct informer *inf, const char *why)
{
	inf->malformed = true;
	inf->st.malformed++;
	log_warn("%s: malformed watch event (%s): relisting", inf->path, why);
	return -EINVAL;
}

static int status_event(struct informer *inf, const json_t *obj)
{
	json_int_t code = json_integer_value(json_object_get(obj, "code"));
	const char *msg = json_string_value(json_object_get(obj, "message"));

	if (code == 410) {
		inf->gone = true;
		return -ESTALE;
	}
	log_warn("%s: watch ERROR event %lld: %s", inf->path, (long long)code, msg ? msg : "");
	inf->malformed = true;
	return -EIO;
}

/* 0, or < 0 to end the watch. */
static int event(struct informer *inf, const char *s, size_t len)
{
	_cleanup_json_ json_t *ev = json_loadb(s, len, 0, NULL);
	json_t *obj = json_object_get(ev, "object");
	const char *type = json_string_value(json_object_get(ev, "type"));
	char kb[512];
	const char *key;

	if (!ev)
		return bad_event(inf, "not JSON");
	if (!type || !json_is_object(obj))
		return bad_event(inf, "no type or object");
	inf->st.last_sync_mono = informer_now();
	if (strcmp(type, "ERROR") == 0)
		return status_event(inf, obj);
	if (strcmp(type, "BOOKMARK") == 0) {
		set_rv(inf, obj);
		return 0;
	}
	key = obj_key(obj, kb, sizeof(kb));
	if (!key || !obj_rv(obj))
		return bad_event(inf, "object without metadata.name or resourceVersion");
	inf->got_event = true;
	inf->backoff_ms = 0;
	inf->st.events++;
	if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0)
		upsert(inf, key, obj);
	else if (strcmp(type, "DELETED") == 0)
		remove_key(inf, key);
	else
		return bad_event(inf, "unknown type");
	set_rv(inf, obj);
	return 0;
}

/* A 2xx: the gate opens for every informer of the client; this one's 403 streak ends. */
static void accepted(struct informer *inf)
{
	if (inf->code != 200)
		return;
	if (inf->k->gate.refused)
		log_info("the API server accepts this client's credentials again (%s)", inf->path);
	inf->k->gate.refused = inf->k->gate.probing = false;
	if (inf->auth_logged)
		log_info("%s: the API server allows this client again", inf->path);
	inf->auth_logged = false;
}

static size_t watch_data(struct informer *inf, const char *p, size_t n)
{
	struct buf *l = &inf->line;
	char *nl;

	if (!buf_add(l, p, n, LINE_MAX_BYTES)) {
		bad_event(inf, "an event larger than 32 MiB");
		return 0;
	}
	while ((nl = memchr(l->p + inf->scanned, '\n', l->n - inf->scanned))) {
		size_t len = (size_t)(nl - l->p);
		int r = len ? event(inf, l->p, len) : 0;

		memmove(l->p, nl + 1, l->n - len - 1);
		l->n -= len + 1;
		inf->scanned = 0;
		if (r < 0)
			return 0; /* ends the transfer */
	}
	inf->scanned = l->n;
	return n;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct informer *inf = ud;
	size_t n = size * nmemb;

	if (!inf->code) {
		curl_easy_getinfo(inf->h, CURLINFO_RESPONSE_CODE, &inf->code);
		accepted(inf);
	}
	if (inf->listing || inf->code != 200)
		return buf_add(&inf->body, p, n, BODY_MAX) ? n : 0;
	return watch_data(inf, p, n);
}

static void retry_in(struct informer *inf, unsigned ms)
{
	inf->due = informer_now() + ms / 1000.0;
}

static void backoff(struct informer *inf, const char *what, const char *why)
{
	unsigned b = inf->backoff_ms ? inf->backoff_ms * 2 : BACKOFF_FIRST_MS, d;

	inf->backoff_ms = b > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b;
	d = inf->backoff_ms / 2 + (unsigned)random() % (inf->backoff_ms / 2 + 1);
	inf->st.errors++;
	log_warn("%s: %s: %s; retrying in %u ms", inf->path, what, why, d);
	retry_in(inf, d);
}

/* 401: the credential itself. Every informer of the client waits for the gate. */
static void unauthenticated(struct informer *inf, const char *what)
{
	struct kube *k = inf->k;

	inf->st.auth_errors++;
	if (!k->gate.refused)
		log_error("%s: %s: HTTP 401: the API server does not accept this client's "
			  "credentials (unauthenticated); check the token or certificate; every "
			  "request waits, one is tried every %d s",
			  inf->path, what, AUTH_RETRY_MS / 1000);
	k->gate.refused = true;
	k->gate.retry_at = informer_now() + AUTH_RETRY_MS / 1000.0;
	inf->held = true;
	retry_in(inf, AUTH_RETRY_MS);
}

static void auth_failed(struct informer *inf, const char *what)
{
	if (inf->code == 401)
		return unauthenticated(inf, what);
	inf->st.auth_errors++;
	if (!inf->auth_logged)
		log_error("%s: %s: HTTP 403: the API server does not allow this client to %s "
			  "%s (forbidden); check the RBAC rules (get, list, watch on %s); retrying "
			  "every %d s",
			  inf->path, what, what, inf->path, inf->path, AUTH_RETRY_MS / 1000);
	inf->auth_logged = true;
	retry_in(inf, AUTH_RETRY_MS);
}

/* The message of a Status body, or the HTTP code. */
static const char *status_msg(struct informer *inf, char *buf, size_t len)
{
	_cleanup_json_ json_t *j = json_loadb(inf->body.p ? inf->body.p : "", inf->body.n, 0, NULL);
	const char *m = json_string_value(json_object_get(j, "message"));

	snprintf(buf, len, "HTTP %ld%s%s", inf->code, m ? ": " : "", m ? m : "");
	return buf;
}

static void relist(struct informer *inf, const char *why)
{
	inf->st.gone++;
	log_info("%s: %s: relisting", inf->path, why);
	inf->rv[0] = '\0';
	inf->listing = true;
	free(inf->cont);
	inf->cont = NULL;
	json_decref(inf->next);
	inf->next = NULL;
	retry_in(inf, 0);
}

/* The cache becomes the list; callbacks for what differs. */
static void list_complete(struct informer *inf)
{
	const char *key;
	json_t *obj, *old;
	void *tmp;

	json_object_foreach_safe(inf->cache, tmp, key, old)
	{
		if (!json_object_get(inf->next, key))
			remove_key(inf, key);
	}
	json_object_foreach(inf->next, key, obj)
	{
		const char *a, *b;

		old = json_object_get(inf->cache, key);
		a = old ? obj_rv(old) : NULL;
		b = obj_rv(obj);
		/* same version, or (a transform kept no metadata) the same content */
		if (a && b ? strcmp(a, b) == 0 : old && json_equal(old, obj))
			continue;
		old = json_incref(old);
		json_object_set(inf->cache, key, obj);
		if (inf->ops.upsert)
			inf->ops.upsert(inf->ops.ctx, key, obj, old);
		json_decref(old);
	}
	json_decref(inf->next);
	inf->next = NULL;
	inf->listing = false;
	inf->st.synced = true;
	inf->st.last_sync_mono = informer_now();
	inf->backoff_ms = 0;
	if (inf->ops.synced)
		inf->ops.synced(inf->ops.ctx);
	retry_in(inf, 0);
}

static void list_page(struct informer *inf)
{
	_cleanup_json_ json_t *j = json_loadb(inf->body.p ? inf->body.p : "", inf->body.n, 0, NULL);
	const json_t *items = json_object_get(j, "items"), *meta = json_object_get(j, "metadata");
	const char *cont = json_string_value(json_object_get(meta, "continue"));
	json_t *it;
	char kb[512];
	size_t i;

	if (!json_is_array(items) || !json_is_object(meta))
		return backoff(inf, "list", "the answer is not a list");
	if (!inf->next)
		inf->next = json_object();
	json_array_foreach(items, i, it)
	{
		const char *key = obj_key(it, kb, sizeof(kb));

		if (!key) {
			inf->st.malformed++;
			log_warn("%s: list item %zu has no metadata.name: ignored", inf->path, i);
			continue;
		}
		json_object_set_new(inf->next, key, keep(inf, it));
	}
	free(inf->cont);
	inf->cont = cont && *cont ? strdup(cont) : NULL;
	if (inf->cont)
		return retry_in(inf, 0);
	set_rv(inf, j);
	list_complete(inf);
}

static void list_done(struct informer *inf, CURLcode rc)
{
	char m[300];

	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && inf->code != 200))
		return backoff(inf, "list", curl_easy_strerror(rc));
	if (inf->code == 200)
		return list_page(inf);
	if (inf->code == 410)
		return relist(inf, "the list's continue token expired");
	if (inf->code == 401 || inf->code == 403)
		return auth_failed(inf, "list");
	backoff(inf, "list", status_msg(inf, m, sizeof(m)));
}

static void watch_done(struct informer *inf, CURLcode rc)
{
	char m[300];

	inf->st.watch_restarts++;
	if (inf->gone || inf->code == 410)
		return relist(inf, "410 Gone: the watched resourceVersion expired");
	if (inf->code == 401 || inf->code == 403)
		return auth_failed(inf, "watch");
	if (inf->code && inf->code != 200)
		return backoff(inf, "watch", status_msg(inf, m, sizeof(m)));
	if (inf->malformed) {
		inf->listing = true;
		inf->rv[0] = '\0';
		return backoff(inf, "watch", "ended after a malformed event");
	}
	if (rc != CURLE_OK)
		return backoff(inf, "watch: connection lost", curl_easy_strerror(rc));
	/* A clean end (timeoutSeconds): resume at once, unless the server ends every watch
	 * at once (then it is an error, and backs off). */
	if (!inf->got_event && informer_now() - inf->started < 1.0)
		return backoff(inf, "watch", "ended at once");
	retry_in(inf, 0);
}

bool informer_done(struct informer *inf, CURL *h, CURLcode rc)
{
	if (h != inf->h || !inf->running)
		return false;
	curl_multi_remove_handle(inf->multi, h);
	curl_slist_free_all(inf->hdrs);
	inf->hdrs = NULL;
	inf->running = false;
	if (!inf->code)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &inf->code);
	if (inf->probe)
		inf->k->gate.probing = inf->probe = false;
	accepted(inf);
	if (inf->listing)
		list_done(inf, rc);
	else
		watch_done(inf, rc);
	buf_reset(&inf->body, false);
	buf_reset(&inf->line, false);
	inf->scanned = 0;
	return true;
}

static int request_path(struct informer *inf, char **ret)
{
	char *e;
	int r;

	if (inf->listing && inf->cont) {
		e = curl_easy_escape(inf->h, inf->cont, 0);
		r = e ? asprintf(ret, "%s?limit=%d&continue=%s", inf->path, LIST_PAGE, e) : -1;
	} else if (inf->listing) {
		e = NULL;
		r = asprintf(ret, "%s?limit=%d", inf->path, LIST_PAGE);
	} else {
		e = curl_easy_escape(inf->h, inf->rv, 0);
		r = e ? asprintf(ret,
				 "%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s"
				 "&timeoutSeconds=%ld",
				 inf->path, e, WATCH_TIMEOUT_MIN + random() % WATCH_TIMEOUT_MIN)
		      : -1;
	}
	curl_free(e);
	return r < 0 ? -ENOMEM : 0;
}

void informer_tick(struct informer *inf)
{
	_cleanup_free_ char *pq = NULL;
	struct cni_err err = {0};

	if (inf->running || (informer_now() < inf->due && !(inf->held && !inf->k->gate.refused)))
		return;
	if (inf->k->gate.refused) { /* another informer's 401: one probe at a time */
		inf->held = true;
		if (inf->k->gate.probing) { /* woken when it opens (informer_timeout_ms) */
			inf->due = informer_now() + AUTH_RETRY_MS / 1000.0;
			return;
		}
		if (informer_now() < inf->k->gate.retry_at) {
			inf->due = inf->k->gate.retry_at;
			return;
		}
		inf->k->gate.probing = inf->probe = true;
	}
	inf->held = false;
	if (!inf->listing && !inf->rv[0])
		inf->listing = true;
	if (request_path(inf, &pq) < 0)
		return backoff(inf, "request", "out of memory");
	if (kube_setup(inf->k, inf->h, pq, inf->listing ? LIST_TIMEOUT_S : 0, &inf->hdrs, &err) <
	    0) {
		curl_slist_free_all(inf->hdrs);
		inf->hdrs = NULL;
		return backoff(inf, "request", err.msg);
	}
	/* libcurl leaves a transfer's connect timeout armed after the connection is up: a watch
	 * would wake the agent once, 10 s after it starts. A watch that follows a LIST or a watch
	 * that went well is on a live connection: no connect timer (a connection that has to be
	 * made anyway fails by the kernel's SYN retries, then the backoff's watches have one). */
	if (!inf->listing && !inf->backoff_ms)
		curl_easy_setopt(inf->h, CURLOPT_CONNECTTIMEOUT, WATCH_CONNECT_TIMEOUT_S);
	curl_easy_setopt(inf->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(inf->h, CURLOPT_WRITEDATA, inf);
	curl_easy_setopt(inf->h, CURLOPT_PRIVATE, inf);
	inf->code = 0;
	inf->gone = inf->malformed = inf->got_event = false;
	inf->started = informer_now();
	if (inf->listing)
		inf->st.lists++;
	else
		inf->st.watches++;
	if (curl_multi_add_handle(inf->multi, inf->h) != CURLM_OK)
		return backoff(inf, "request", "curl_multi_add_handle failed");
	inf->running = true;
}

long informer_timeout_ms(const struct informer *inf)
{
	double d;

	if (inf->running)
		return -1;
	if (inf->held && !inf->k->gate.refused)
		return 0; /* the gate opened: at once */
	d = (inf->due - informer_now()) * 1000.0;
	return d <= 0 ? 0 : (long)d + 1;
}

int informer_new(struct kube *k, CURLM *multi, const char *path, const struct informer_ops *ops,
		 struct informer **ret, struct cni_err *err)
{
	struct informer *inf = calloc(1, sizeof(*inf));

	if (!inf || !(inf->path = strdup(path)) || !(inf->cache = json_object()) ||
	    !(inf->h = curl_easy_init())) {
		informer_free(inf);
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "informer %s", path);
	}
	inf->k = k;
	inf->multi = multi;
	inf->ops = *ops;
	inf->listing = true;
	*ret = inf;
	return 0;
}

void informer_free(struct informer *inf)
{
	if (!inf)
		return;
	if (inf->running)
		curl_multi_remove_handle(inf->multi, inf->h);
	if (inf->h)
		curl_easy_cleanup(inf->h);
	curl_slist_free_all(inf->hdrs);
	json_decref(inf->cache);
	json_decref(inf->next);
	buf_reset(&inf->body, true);
	buf_reset(&inf->line, true);
	free(inf->cont);
	free(inf->path);
	free(inf);
}

const json_t *informer_cache(const struct informer *inf)
{
	return inf->cache;
}

const struct informer_stats *informer_stats(const struct informer *inf)
{
	return &inf->st;
}

const char *informer_path(const struct informer *inf)
{
	return inf->path;
}

const char *informer_resource_version(const struct informer *inf)
{
	return inf->rv;
}

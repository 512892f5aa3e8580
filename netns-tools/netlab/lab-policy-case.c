/* SPDX-License-Identifier: Apache-2.0 */
/* The policy scenario's verify: each case of the cases directory in turn. The case is rewritten
 * for the lab (<lab dir>/case.json: its hostNetwork pods on a node the lab has, no SCTP port
 * when the kernel has none), the model computes its matrices with the lab's cluster.json; its
 * policies, then each step, go to the API test double; once every agent reports the change's
 * resourceVersion, every probe of the step's matrix runs at once and `model.py diff` compares.
 * After the case, its policies and extra objects are deleted and relabeled objects restored. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "netns-tools/netlab/lab-policy.h"

#define PODS	  "/objects/api/v1/pods"
#define NSES	  "/objects/api/v1/namespaces"
#define NETPOLS	  "/objects/apis/networking.k8s.io/v1/networkpolicies"
#define NETPOL_NS "/objects/apis/networking.k8s.io/v1/namespaces/"
#define METRIC	  "weft_node_policy_resource_version"
#define MAX_ENDS  32

struct pl_case {
	const char *name;
	json_t *doc;	  /* the case as the lab runs it */
	json_t *expected; /* model.py case: {"steps": [matrix + label]} */
	json_t *policies; /* "ns/name" -> true: applied */
	json_t *objs;	  /* "x/a" -> Pod, "ns:x" -> Namespace: what the API holds now */
	bool relabeled;
	long rv;
	struct pl_end ends[MAX_ENDS];
	size_t n_ends;
};

struct pl_tally {
	int cases, probes, mismatches;
};

/* ---- the API ------------------------------------------------------------------------------- */

/* POST body to path; the change's resourceVersion into *rv (kept when larger). */
static int post(const struct lab *lab, const char *path, const json_t *obj, long *rv)
{
	_cleanup_free_ char *body = json_dumps(obj, JSON_COMPACT), *out = NULL;
	_cleanup_json_ json_t *j = NULL;
	long v;

	if (!body)
		return -ENOMEM;
	if (kube_admin(lab, "POST", path, body, &out) != 200) {
		fprintf(stderr, "netlab: policy: POST %s failed\n", path);
		return -EIO;
	}
	j = json_loads(out ?: "", 0, NULL);
	v = atol(json_string_value(json_object_get(j, "resourceVersion")) ?: "0");
	*rv = v > *rv ? v : *rv;
	return 0;
}

static int delete_obj(const struct lab *lab, const char *path, long *rv)
{
	_cleanup_free_ char *out = NULL;
	_cleanup_json_ json_t *j = NULL;
	int code = kube_admin(lab, "DELETE", path, NULL, &out);
	long v;

	j = json_loads(out ?: "", 0, NULL);
	v = atol(json_string_value(json_object_get(j, "resourceVersion")) ?: "0");
	*rv = v > *rv ? v : *rv;
	return code == 200 ? 0 : -EIO;
}

static const struct pl_node *node_of(const struct pl *p, const json_t *entry)
{
	return pl_node_by_name(p, json_string_value(json_object_get(entry, "node"))) ?: &p->node[0];
}

/* A Pod object from a cluster.json entry (hostNetwork pods: their node's address). */
/* A copy of e's key (relabeling changes the API's objects, never cluster.json), else an empty
 * object or array. */
static json_t *copy_of(const json_t *e, const char *key, bool array)
{
	const json_t *v = json_object_get(e, key);

	return v ? json_deep_copy(v) : array ? json_array() : json_object();
}

static json_t *pod_json(const struct pl *p, const json_t *e)
{
	const struct pl_node *n = node_of(p, e);
	bool host = json_is_true(json_object_get(e, "hostNetwork"));
	const char *ip =
		host ? n->ip : json_string_value(json_array_get(json_object_get(e, "ips"), 0));

	return json_pack(
		"{s:{s:s,s:s,s:o},s:{s:s,s:b,s:[{s:s,s:s,s:o}]},s:{s:s,s:s,s:s,s:[{s:s}]}}",
		"metadata", "name", json_string_value(json_object_get(e, "name")), "namespace",
		json_string_value(json_object_get(e, "namespace")), "labels",
		copy_of(e, "labels", false), "spec", "nodeName", n->api, "hostNetwork", host,
		"containers", "name", "serve", "image", "netlab", "ports",
		copy_of(e, "ports", true), "status", "phase", "Running", "hostIP", n->ip, "podIP",
		ip ?: "", "podIPs", "ip", ip ?: "");
}

static json_t *ns_json(const json_t *e)
{
	return json_pack("{s:{s:s,s:o}}", "metadata", "name",
			 json_string_value(json_object_get(e, "name")), "labels",
			 copy_of(e, "labels", false));
}

int pl_post_cluster(const struct lab *lab, const struct pl *p, long *rv)
{
	_cleanup_json_ json_t *nses = json_array(), *pods = json_array(), *a = NULL, *b = NULL;
	const json_t *e;
	size_t i;
	int r;

	json_array_foreach(json_object_get(p->cluster, "namespaces"), i, e)
		json_array_append_new(nses, ns_json(e));
	json_array_foreach(json_object_get(p->cluster, "pods"), i, e)
		json_array_append_new(pods, pod_json(p, e));
	a = json_pack("{s:O}", "items", nses);
	b = json_pack("{s:O}", "items", pods);
	r = post(lab, NSES, a, rv);
	return r < 0 ? r : post(lab, PODS, b, rv);
}

/* ---- the agents ---------------------------------------------------------------------------- */

static long agent_rv(const struct pl_node *n)
{
	_cleanup_free_ char *out = NULL;
	const char *m;

	if (kube_http(n->ns, KUBE_METRICS_PORT, "GET", "/metrics", NULL, &out) != 200 || !out)
		return -1;
	for (m = strstr(out, METRIC); m; m = strstr(m + 1, METRIC))
		if ((m == out || m[-1] == '\n') && m[strlen(METRIC)] == ' ')
			return atol(m + strlen(METRIC) + 1);
	return -1;
}

bool pl_wait_agents(const struct pl *p, long rv, int timeout_ms)
{
	struct timespec ts = {0, 20 * 1000 * 1000};

	if (!p->enforcing)
		return true;
	for (int i = 0; i < p->nodes; i++) {
		long seen = -1;
		int t = 0;

		while ((seen = agent_rv(&p->node[i])) < rv && t < timeout_ms) {
			nanosleep(&ts, NULL);
			t += 20;
		}
		if (seen < rv) {
			fprintf(stderr,
				"netlab: policy: node %s: " METRIC " %ld, not %ld after %d ms\n",
				p->node[i].name, seen, rv, timeout_ms);
			kube_agent_log_tail(p->node[i].dir);
			return false;
		}
	}
	return true;
}

/* ---- the case ------------------------------------------------------------------------------ */

static void add_end(struct pl_case *c, const char *key, const char *netns, const char *ip,
		    unsigned *seq)
{
	if (c->n_ends >= MAX_ENDS)
		return;
	snprintf(c->ends[c->n_ends].key, sizeof(c->ends[0].key), "%s", key);
	c->ends[c->n_ends].netns = netns;
	c->ends[c->n_ends].seq = seq;
	snprintf(c->ends[c->n_ends].ip, sizeof(c->ends[0].ip), "%s", ip);
	c->n_ends++;
}

/* Every endpoint the case's matrix may name: pods, nodes, its hostNetwork pods. */
static int case_ends(struct pl *p, struct pl_case *c)
{
	const json_t *e;
	size_t i;
	char key[64];

	json_array_foreach(json_object_get(p->cluster, "pods"), i, e)
	{
		snprintf(key, sizeof(key), "%s/%s",
			 json_string_value(json_object_get(e, "namespace")),
			 json_string_value(json_object_get(e, "name")));
		add_end(c, key, p->pod_ns[i],
			json_string_value(json_array_get(json_object_get(e, "ips"), 0)),
			&p->seq[i]);
	}
	for (int k = 0; k < p->nodes; k++) {
		snprintf(key, sizeof(key), "node:%s", p->node[k].name);
		add_end(c, key, p->node[k].ns, p->node[k].ip, &p->seq[PL_PODS + k]);
	}
	json_array_foreach(json_object_get(c->doc, "extra_pods"), i, e)
	{
		if (!json_is_true(json_object_get(e, "hostNetwork"))) {
			fprintf(stderr,
				"netlab: policy: %s: extra pods other than hostNetwork ones "
				"are not supported\n",
				c->name);
			return -ENOTSUP;
		}
		snprintf(key, sizeof(key), "%s/%s",
			 json_string_value(json_object_get(e, "namespace")),
			 json_string_value(json_object_get(e, "name")));
		add_end(c, key, node_of(p, e)->ns, node_of(p, e)->ip,
			&p->seq[PL_PODS + (node_of(p, e) - p->node)]);
	}
	return 0;
}

/* The case as the lab runs it: hostNetwork pods on a node it has, no SCTP port without SCTP. */
static json_t *lab_case(const struct pl *p, const char *path)
{
	json_t *doc = json_load_file(path, 0, NULL), *ports = json_array(), *e;
	const char *defaults[] = {"80/TCP", "81/TCP", "80/UDP", "81/UDP", "80/SCTP"};
	size_t i;

	if (!doc || !ports) {
		json_decref(ports);
		return doc;
	}
	if (!json_object_get(doc, "ports"))
		for (i = 0; i < 5; i++)
			json_array_append_new(ports, json_string(defaults[i]));
	json_array_foreach(json_object_get(doc, "ports"), i, e) json_array_append(ports, e);
	for (i = json_array_size(ports); !p->sctp && i-- > 0;)
		if (strstr(json_string_value(json_array_get(ports, i)) ?: "", "/SCTP"))
			json_array_remove(ports, i);
	json_object_set_new(doc, "ports", ports);
	json_array_foreach(json_object_get(doc, "extra_pods"), i, e)
	{
		if (!pl_node_by_name(p, json_string_value(json_object_get(e, "node"))))
			json_object_set_new(e, "node", json_string(p->node[0].name));
		json_object_del(e, "ips");
	}
	return doc;
}

static int run_model(const struct pl *p, char *const extra[], char **out)
{
	char py[PATH_MAX];
	char *argv[12] = {py, (char *)p->model};
	size_t n = 2;

	if (!lab_find_bin("python3", py, sizeof(py)))
		return -ENOENT;
	while (extra[n - 2] && n < 11) {
		argv[n] = extra[n - 2];
		n++;
	}
	return lab_run(NULL, argv, out, false);
}

static int case_open(const struct lab *lab, struct pl *p, struct pl_case *c)
{
	char src[PATH_MAX + 300], path[PATH_MAX], cluster[PATH_MAX], exp[PATH_MAX];
	char *const argv[] = {"case", path, "--cluster", cluster, "--out", exp, NULL};
	_cleanup_free_ char *out = NULL;

	snprintf(src, sizeof(src), "%s/%s.json", p->cases_dir, c->name);
	snprintf(path, sizeof(path), "%s/case.json", lab->dir);
	snprintf(cluster, sizeof(cluster), "%s/cluster.json", lab->dir);
	snprintf(exp, sizeof(exp), "%s/expected.json", lab->dir);
	c->doc = lab_case(p, src);
	if (!c->doc || json_dump_file(c->doc, path, JSON_INDENT(1)) < 0) {
		fprintf(stderr, "netlab: policy: cannot read %s\n", src);
		return -EINVAL;
	}
	if (run_model(p, argv, &out) != 0)
		return -EINVAL;
	c->expected = json_load_file(exp, 0, NULL);
	c->policies = json_object();
	c->objs = json_object();
	return c->expected ? case_ends(p, c) : -EINVAL;
}

static void case_free(struct pl_case *c)
{
	json_decref(c->doc);
	json_decref(c->expected);
	json_decref(c->policies);
	json_decref(c->objs);
}

static int apply_policy(const struct lab *lab, struct pl_case *c, const json_t *pol)
{
	const json_t *m = json_object_get(pol, "metadata");
	char key[160];

	snprintf(key, sizeof(key), "%s/%s", json_string_value(json_object_get(m, "namespace")),
		 json_string_value(json_object_get(m, "name")));
	json_object_set_new(c->policies, key, json_true());
	return post(lab, NETPOLS, pol, &c->rv);
}

static int delete_policy(const struct lab *lab, struct pl_case *c, const char *key)
{
	char path[300], ns[64];
	const char *slash = strchr(key, '/');

	if (!slash)
		return -EINVAL;
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - key), key);
	snprintf(path, sizeof(path), NETPOL_NS "%s/networkpolicies/%s", ns, slash + 1);
	json_object_del(c->policies, key);
	return delete_obj(lab, path, &c->rv);
}

/* The API's current object for a pod ("x/a") or a namespace ("ns:x"), from cluster.json at
 * first (borrowed). */
static json_t *current(const struct pl *p, struct pl_case *c, const char *key, bool ns)
{
	const json_t *list = json_object_get(p->cluster, ns ? "namespaces" : "pods"), *e;
	char k[80];
	size_t i;

	snprintf(k, sizeof(k), "%s%s", ns ? "ns:" : "", key);
	if (json_object_get(c->objs, k))
		return json_object_get(c->objs, k);
	json_array_foreach(list, i, e)
	{
		char ek[64];

		snprintf(ek, sizeof(ek), "%s%s%s",
			 ns ? "" : json_string_value(json_object_get(e, "namespace")),
			 ns ? "" : "/", json_string_value(json_object_get(e, "name")));
		if (strcmp(ek, key) == 0) {
			json_object_set_new(c->objs, k, ns ? ns_json(e) : pod_json(p, e));
			return json_object_get(c->objs, k);
		}
	}
	return NULL;
}

static int relabel(const struct lab *lab, const struct pl *p, struct pl_case *c, const json_t *step,
		   bool ns)
{
	const char *key =
		json_string_value(json_object_get(step, ns ? "relabel_namespace" : "relabel_pod"));
	json_t *obj = key ? current(p, c, key, ns) : NULL, *labels, *v;
	const char *k;
	size_t i;

	if (!obj) {
		fprintf(stderr, "netlab: policy: %s: no %s %s\n", c->name, ns ? "namespace" : "pod",
			key ?: "(none)");
		return -EINVAL;
	}
	labels = json_object_get(json_object_get(obj, "metadata"), "labels");
	json_object_foreach(json_object_get(step, "set"), k, v) json_object_set(labels, k, v);
	json_array_foreach(json_object_get(step, "remove"), i, v)
		json_object_del(labels, json_string_value(v) ?: "");
	c->relabeled = true;
	return post(lab, ns ? NSES : PODS, obj, &c->rv);
}

static int do_step(const struct lab *lab, const struct pl *p, struct pl_case *c, const json_t *step)
{
	if (json_object_get(step, "apply"))
		return apply_policy(lab, c, json_object_get(step, "apply"));
	if (json_object_get(step, "delete"))
		return delete_policy(lab, c, json_string_value(json_object_get(step, "delete")));
	return relabel(lab, p, c, step, json_object_get(step, "relabel_namespace") != NULL);
}

/* The case's extra namespaces and hostNetwork pods, then its policies. */
static int case_start(const struct lab *lab, const struct pl *p, struct pl_case *c)
{
	const json_t *e;
	size_t i;
	int r = 0;

	json_array_foreach(json_object_get(c->doc, "extra_namespaces"), i, e)
	{
		_cleanup_json_ json_t *o = ns_json(e);

		if (r >= 0)
			r = post(lab, NSES, o, &c->rv);
	}
	json_array_foreach(json_object_get(c->doc, "extra_pods"), i, e)
	{
		_cleanup_json_ json_t *o = pod_json(p, e);

		if (r >= 0)
			r = post(lab, PODS, o, &c->rv);
	}
	json_array_foreach(json_object_get(c->doc, "policies"), i, e)
	{
		if (r >= 0)
			r = apply_policy(lab, c, e);
	}
	return r;
}

/* Back to the standard cluster with no policy. */
static int case_end(const struct lab *lab, const struct pl *p, struct pl_case *c, long *rv)
{
	const json_t *e;
	void *tmp;
	const char *key;
	json_t *v;
	size_t i;
	char path[300];
	int r = 0;

	json_object_foreach_safe(c->policies, tmp, key, v) r |= delete_policy(lab, c, key);
	json_array_foreach(json_object_get(c->doc, "extra_pods"), i, e)
	{
		snprintf(path, sizeof(path), "/objects/api/v1/namespaces/%s/pods/%s",
			 json_string_value(json_object_get(e, "namespace")),
			 json_string_value(json_object_get(e, "name")));
		r |= delete_obj(lab, path, &c->rv);
	}
	json_array_foreach(json_object_get(c->doc, "extra_namespaces"), i, e)
	{
		snprintf(path, sizeof(path), NSES "/%s",
			 json_string_value(json_object_get(e, "name")));
		r |= delete_obj(lab, path, &c->rv);
	}
	if (c->relabeled)
		r |= pl_post_cluster(lab, p, &c->rv);
	*rv = c->rv;
	return r ? -EIO : 0;
}

/* ---- probing and comparing ----------------------------------------------------------------- */

static int count_mismatches(const json_t *want, const json_t *got)
{
	const json_t *a = json_object_get(want, "probes"), *b = json_object_get(got, "probes");
	int n = 0;

	for (size_t i = 0; i < json_array_size(a); i++)
		n += json_is_true(json_object_get(json_array_get(a, i), "allowed")) !=
		     json_is_true(json_object_get(json_array_get(b, i), "allowed"));
	return n;
}

static void print_diff(const struct lab *lab, const struct pl *p, const json_t *want,
		       const json_t *got)
{
	char exp[PATH_MAX], obs[PATH_MAX];
	char *const argv[] = {"diff", exp, obs, NULL};
	_cleanup_free_ char *out = NULL;

	snprintf(exp, sizeof(exp), "%s/expected-step.json", lab->dir);
	snprintf(obs, sizeof(obs), "%s/observed.json", lab->dir);
	json_dump_file(want, exp, JSON_INDENT(1));
	json_dump_file(got, obs, JSON_INDENT(1));
	run_model(p, argv, &out);
	printf("%s", out ?: "");
	printf("    expected:\n");
	pl_table(want, stdout);
	printf("    observed:\n");
	pl_table(got, stdout);
}

/* Probes step s of the case, compares, tallies. */
static void check_step(struct lab *lab, const struct pl *p, struct pl_case *c, size_t s,
		       struct pl_tally *t)
{
	const json_t *want = json_array_get(json_object_get(c->expected, "steps"), s);
	const char *label = json_string_value(json_object_get(want, "label")) ?: "";
	struct cni_err err = {0};
	_cleanup_json_ json_t *got = NULL;
	int bad;

	if (!lab_check(lab, pl_wait_agents(p, c->rv, PL_WAIT_MS),
		       "%s: %s: every agent at "
		       "resourceVersion %ld",
		       c->name, label, c->rv))
		return;
	got = pl_probe(want, c->ends, c->n_ends, p->probe_ms, &err);
	if (!lab_check(lab, got != NULL, "%s: %s: probes ran%s%s", c->name, label, got ? "" : ": ",
		       got ? "" : err.msg))
		return;
	bad = count_mismatches(want, got);
	t->probes += (int)json_array_size(json_object_get(got, "probes"));
	t->mismatches += bad;
	if (!lab_check(lab, bad == 0, "%s: %s: %zu probes as the model says%s", c->name, label,
		       json_array_size(json_object_get(got, "probes")),
		       bad ? " (differences:)" : ""))
		print_diff(lab, p, want, got);
}

static void run_case(struct lab *lab, struct pl *p, const char *name, long *rv, struct pl_tally *t)
{
	struct pl_case c = {.name = name, .rv = *rv};
	const json_t *steps;
	int r = case_open(lab, p, &c);

	t->cases++;
	if (r >= 0)
		r = case_start(lab, p, &c);
	if (!lab_check(lab, r >= 0, "%s: the model's matrices and the case's objects", name)) {
		case_end(lab, p, &c, rv);
		case_free(&c);
		return;
	}
	steps = json_object_get(c.doc, "steps");
	check_step(lab, p, &c, 0, t);
	for (size_t s = 0; s < json_array_size(steps); s++) {
		if (!lab_check(lab, do_step(lab, p, &c, json_array_get(steps, s)) >= 0,
			       "%s: step %zu through the API", name, s + 1))
			break;
		check_step(lab, p, &c, s + 1, t);
	}
	lab_check(lab, case_end(lab, p, &c, rv) >= 0, "%s: policies deleted, labels restored",
		  name);
	case_free(&c);
}

static void write_summary(const struct lab *lab, const struct pl_tally *t)
{
	char path[PATH_MAX];
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(path, sizeof(path), "%s/summary.txt", lab->dir);
	f = fopen(path, "we");
	if (f)
		fprintf(f, "policy: %d cases, %d probes, %d mismatches\n", t->cases, t->probes,
			t->mismatches);
}

/* Every pod to every pod on 80/TCP and 80/UDP with no policy, until all pass (5 s): the
 * servers listen and every neighbour is resolved before a timeout means "denied". */
static bool warm_up(struct pl *p)
{
	struct pl_case c = {.name = "warm-up"};
	_cleanup_json_ json_t *want =
		json_pack("{s:s,s:[]}", "format", "weft-policy-matrix/1", "probes");
	json_t *probes = json_object_get(want, "probes");
	struct cni_err err = {0};

	if (!want || case_ends(p, &c) < 0)
		return false;
	for (size_t i = 0; i < PL_PODS; i++)
		for (size_t j = 0; j < PL_PODS; j++)
			for (int u = 0; u < 2; u++)
				json_array_append_new(probes,
						      json_pack("{s:s,s:s,s:i,s:s}", "from",
								c.ends[i].key, "to", c.ends[j].key,
								"port", 80, "protocol",
								u ? "UDP" : "TCP"));
	for (int t = 0; t < 5; t++) {
		_cleanup_json_ json_t *got = pl_probe(want, c.ends, c.n_ends, 1000, &err);
		const json_t *e;
		size_t i, ok = 0;

		json_array_foreach(json_object_get(got, "probes"), i, e) ok +=
			json_is_true(json_object_get(e, "allowed"));
		if (got && ok == json_array_size(probes))
			return true;
	}
	return false;
}

void pl_verify_cases(struct lab *lab, struct pl *p)
{
	struct pl_tally t = {0};
	const json_t *name;
	long rv = 0;
	size_t i;

	if (!lab_check(lab, warm_up(p),
		       "warm-up: every pod reaches every pod on 80/TCP and "
		       "80/UDP with no policy"))
		return;
	json_array_foreach(p->cases, i, name) run_case(lab, p, json_string_value(name), &rv, &t);
	write_summary(lab, &t);
}

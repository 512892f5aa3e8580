/* SPDX-License-Identifier: Apache-2.0 */
/* agent/policy: NetworkPolicy semantics for one pod, on a small cluster: namespaces x and y
 * (labelled ns=x / ns=y), pods a and b in each (pod=a / pod=b), x/a serving "http" on TCP 80
 * and y/a calling 8080 "http"; a hostNetwork pod in x. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/policy.h"
#include "common/cleanup.h"

static json_t *namespaces, *pods;

static json_t *pod(const char *ns, const char *name, const char *ip, const char *ip6, int http)
{
	json_t *ips = json_pack("[{s:s}]", "ip", ip);
	json_t *ports = http ? json_pack("[{s:s,s:i}]", "name", "http", "containerPort", http)
			     : json_array();

	if (ip6)
		json_array_append_new(ips, json_pack("{s:s}", "ip", ip6));
	return json_pack("{s:{s:s,s:s,s:{s:s}},s:{s:[{s:o}]},s:{s:s,s:o}}", "metadata", "namespace",
			 ns, "name", name, "labels", "pod", name, "spec", "containers", "ports",
			 ports, "status", "podIP", ip, "podIPs", ips);
}

static int setup(void **state)
{
	json_t *hn;

	(void)state;
	namespaces =
		json_pack("{s:{s:{s:s,s:{s:s}}},s:{s:{s:s,s:{s:s}}}}", "x", "metadata", "name", "x",
			  "labels", "ns", "x", "y", "metadata", "name", "y", "labels", "ns", "y");
	pods = json_object();
	json_object_set_new(pods, "x/a", pod("x", "a", "10.244.1.1", "fd00::1:1", 80));
	json_object_set_new(pods, "x/b", pod("x", "b", "10.244.1.2", NULL, 0));
	json_object_set_new(pods, "y/a", pod("y", "a", "10.244.2.1", NULL, 8080));
	json_object_set_new(pods, "y/b", pod("y", "b", "10.244.2.2", NULL, 0));
	hn = pod("x", "h", "192.168.1.1", NULL, 0);
	json_object_set_new(json_object_get(hn, "spec"), "hostNetwork", json_true());
	json_object_set_new(pods, "x/h", hn);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(namespaces);
	json_decref(pods);
	return 0;
}

static struct inet_addr ip(const char *s)
{
	struct inet_addr a;

	assert_int_equal(inet_addr_parse(s, &a), 0);
	return a;
}

/* Is a TCP/UDP connection from pod src to pod dst on port allowed by both ends' policies? */
static bool allowed(const char *policies_json, const char *src, const char *dst, uint8_t proto,
		    uint16_t port)
{
	_cleanup_json_ json_t *pols = json_loads(policies_json, 0, NULL);
	const json_t *s = json_object_get(pods, src), *d = json_object_get(pods, dst);
	char sns[8], sname[8], dns[8], dname[8];
	struct pol_pod ps, pd;
	struct cni_err err = {0};
	struct inet_addr sip, dip;
	bool ok;

	assert_non_null(pols);
	assert_int_equal(sscanf(src, "%7[^/]/%7s", sns, sname), 2);
	assert_int_equal(sscanf(dst, "%7[^/]/%7s", dns, dname), 2);
	assert_int_equal(pol_compile(namespaces, pods, pols, sns, sname, &ps, &err), 0);
	assert_int_equal(pol_compile(namespaces, pods, pols, dns, dname, &pd, &err), 0);
	sip = ip(json_string_value(json_object_get(json_object_get(s, "status"), "podIP")));
	dip = ip(json_string_value(json_object_get(json_object_get(d, "status"), "podIP")));
	ok = pol_dir_allows(&ps.out, &dip, proto, port) &&
	     pol_dir_allows(&pd.in, &sip, proto, port);
	pol_pod_free(&ps);
	pol_pod_free(&pd);
	return ok;
}

#define TCP POL_PROTO_TCP
#define UDP POL_PROTO_UDP

/* pol_selector_matches that takes the selector's reference */
static bool sel(json_t *selector, const json_t *labels)
{
	bool r = pol_selector_matches(selector, labels);

	json_decref(selector);
	return r;
}

/* {"matchExpressions": [{"key": "tier", "operator": op <more>}]} */
static json_t *expr(const char *op, const char *more)
{
	char buf[256];

	snprintf(buf, sizeof(buf),
		 "{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"%s\"%s}]}", op, more);
	return json_loads(buf, 0, NULL);
}

static void test_selectors(void **state)
{
	_cleanup_json_ json_t *l = json_pack("{s:s,s:s}", "pod", "a", "tier", "web");

	(void)state;
	assert_true(sel(json_object(), l));
	assert_false(sel(NULL, l));
	assert_true(sel(json_pack("{s:{s:s}}", "matchLabels", "pod", "a"), l));
	assert_false(sel(json_pack("{s:{s:s}}", "matchLabels", "pod", "b"), l));
	assert_true(sel(expr("In", ",\"values\":[\"db\",\"web\"]"), l));
	assert_false(sel(expr("NotIn", ",\"values\":[\"web\"]"), l));
	assert_true(sel(expr("NotIn", ",\"values\":[\"db\"]"), l));
	assert_true(sel(expr("Exists", ""), l));
	assert_false(sel(expr("DoesNotExist", ""), l));
	assert_false(sel(expr("Bogus", ""), l));
}

static void test_deny_and_defaults(void **state)
{
	const char *deny_in =
		"{\"p\":{\"metadata\":{\"namespace\":\"x\"},\"spec\":{\"podSelector\":{}}}}";
	const char *deny_out =
		"{\"p\":{\"metadata\":{\"namespace\":\"x\"},\"spec\":{\"podSelector\":{},"
		"\"policyTypes\":[\"Egress\"]}}}";
	const char *empty_out =
		"{\"p\":{\"metadata\":{\"namespace\":\"x\"},\"spec\":{\"podSelector\":{},"
		"\"egress\":[]}}}";

	(void)state;
	assert_true(allowed("{}", "x/a", "y/a", TCP, 80));
	/* policyTypes omitted, no egress section: Ingress only */
	assert_false(allowed(deny_in, "y/a", "x/a", TCP, 80));
	assert_true(allowed(deny_in, "x/a", "y/a", TCP, 80));
	/* policyTypes Egress with no rules denies all egress; an empty egress list without
	 * policyTypes adds nothing (the API's defaulting counts the rules) */
	assert_false(allowed(deny_out, "x/a", "y/a", TCP, 80));
	assert_true(allowed(empty_out, "x/a", "y/a", TCP, 80));
	/* other namespaces are not selected */
	assert_true(allowed(deny_in, "x/a", "y/b", TCP, 80));
}

static void test_peers_and_or(void **state)
{
	/* one peer with both selectors: pods a of namespaces ns=y */
	const char *and = "{\"p\":{\"metadata\":{\"namespace\":\"x\"},\"spec\":{\"podSelector\":{},"
			  "\"ingress\":[{\"from\":[{\"namespaceSelector\":{\"matchLabels\":{\"ns\":"
			  "\"y\"}},\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}}}]}]}}}";
	/* two peers: every pod of ns=y, or pods a of x itself */
	const char * or = "{\"p\":{\"metadata\":{\"namespace\":\"x\"},\"spec\":{\"podSelector\":{},"
			  "\"ingress\":[{\"from\":[{\"namespaceSelector\":{\"matchLabels\":{\"ns\":"
			  "\"y\"}}},{\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}}}]}]}}}";

	(void)state;
	assert_true(allowed(and, "y/a", "x/b", TCP, 80));
	assert_false(allowed(and, "y/b", "x/b", TCP, 80));
	assert_false(allowed(and, "x/a", "x/b", TCP, 80));
	assert_true(allowed(or, "y/b", "x/b", TCP, 80));
	assert_true(allowed(or, "x/a", "x/b", TCP, 80));
	assert_false(allowed(or, "x/b", "x/a", TCP, 80));
}

static void test_ipblock_ports(void **state)
{
	const char *blk =
		"{\"p\":{\"metadata\":{\"namespace\":\"x\"},\"spec\":{\"podSelector\":{"
		"\"matchLabels\":"
		"{\"pod\":\"a\"}},\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"10.244.2.0/24\","
		"\"except\":[\"10.244.2.2/32\"]}}],\"ports\":[{\"port\":80},{\"protocol\":\"UDP\","
		"\"port\":1000,\"endPort\":1010}]}]}}}";

	(void)state;
	assert_true(allowed(blk, "y/a", "x/a", TCP, 80));
	assert_false(allowed(blk, "y/b", "x/a", TCP, 80)); /* excepted */
	assert_false(allowed(blk, "x/b", "x/a", TCP, 80)); /* outside the block */
	assert_false(allowed(blk, "y/a", "x/a", TCP, 81));
	assert_false(allowed(blk, "y/a", "x/a", UDP, 80));
	assert_true(allowed(blk, "y/a", "x/a", UDP, 1005));
	assert_false(allowed(blk, "y/a", "x/a", UDP, 1011));
}

static void test_named_ports(void **state)
{
	/* ingress "http": 80 on x/a; x/b has no such port, so the rule allows nothing there */
	const char *in = "{\"p\":{\"metadata\":{\"namespace\":\"x\"},\"spec\":{\"podSelector\":{},"
			 "\"ingress\":[{\"ports\":[{\"port\":\"http\"}]}]}}}";
	/* egress "http" from y/b: 80 to x/a, 8080 to y/a */
	const char *out =
		"{\"p\":{\"metadata\":{\"namespace\":\"y\"},\"spec\":{\"podSelector\":{"
		"\"matchLabels\":{\"pod\":\"b\"}},\"policyTypes\":[\"Egress\"],\"egress\":"
		"[{\"to\":[{\"namespaceSelector\":{}}],\"ports\":[{\"port\":\"http\"}]}]}}}";

	(void)state;
	assert_true(allowed(in, "y/a", "x/a", TCP, 80));
	assert_false(allowed(in, "y/a", "x/a", TCP, 8080));
	assert_false(allowed(in, "y/a", "x/b", TCP, 80));
	assert_true(allowed(out, "y/b", "x/a", TCP, 80));
	assert_false(allowed(out, "y/b", "x/a", TCP, 8080));
	assert_true(allowed(out, "y/b", "y/a", TCP, 8080));
	assert_false(allowed(out, "y/b", "y/a", TCP, 80));
	assert_false(allowed(out, "y/b", "x/b", TCP, 80));
}

static void test_union_hostnetwork(void **state)
{
	const char *two =
		"{\"p1\":{\"metadata\":{\"namespace\":\"x\"},\"spec\":{\"podSelector\":{},"
		"\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":{\"pod\":\"b\"}}}]}]}},"
		"\"p2\":{\"metadata\":{\"namespace\":\"x\"},\"spec\":{\"podSelector\":{},"
		"\"ingress\":[{\"ports\":[{\"port\":81}]}]}}}";
	_cleanup_json_ json_t *pols = json_loads(two, 0, NULL);
	struct pol_pod h;
	struct cni_err err = {0};

	(void)state;
	assert_true(allowed(two, "x/b", "x/a", TCP, 80)); /* p1 */
	assert_true(allowed(two, "y/a", "x/a", TCP, 81)); /* p2 */
	assert_false(allowed(two, "y/a", "x/a", TCP, 80));
	/* a hostNetwork pod is never isolated, and no pod selector picks it */
	assert_int_equal(pol_compile(namespaces, pods, pols, "x", "h", &h, &err), 0);
	assert_false(h.in.isolated);
	pol_pod_free(&h);
	assert_false(allowed(two, "x/h", "x/a", TCP, 80));
	assert_int_equal(pol_compile(namespaces, pods, pols, "x", "nope", &h, &err), -ENOENT);
}

static void test_dual_stack(void **state)
{
	const char *v4 = "{\"p\":{\"metadata\":{\"namespace\":\"y\"},\"spec\":{\"podSelector\":{},"
			 "\"policyTypes\":[\"Egress\"],\"egress\":[{\"to\":[{\"ipBlock\":{\"cidr\":"
			 "\"10.244.0.0/16\"}}]}]}}}";
	_cleanup_json_ json_t *pols = json_loads(v4, 0, NULL);
	struct pol_pod p;
	struct cni_err err = {0};
	struct inet_addr a4 = ip("10.244.1.1"), a6 = ip("fd00::1:1");

	(void)state;
	assert_int_equal(pol_compile(namespaces, pods, pols, "y", "a", &p, &err), 0);
	assert_true(pol_dir_allows(&p.out, &a4, TCP, 80));
	assert_false(pol_dir_allows(&p.out, &a6, TCP, 80)); /* a v4 block holds no v6 address */
	pol_pod_free(&p);
	assert_int_equal(pol_compile(namespaces, pods, pols, "x", "a", &p, &err), 0);
	assert_int_equal(p.n_ips, 2);
	pol_pod_free(&p);
}

/* ---- the index, patched by pod changes, against a fresh compile ---- */

static const char *const index_pols =
	"{\"x/p1\":{\"metadata\":{\"namespace\":\"x\",\"name\":\"p1\"},\"spec\":{"
	"\"podSelector\":{},\"ingress\":[{\"from\":["
	"{\"podSelector\":{\"matchLabels\":{\"tier\":\"front\"}}},"
	"{\"namespaceSelector\":{\"matchLabels\":{\"ns\":\"y\"}},"
	"\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}}},"
	"{\"podSelector\":{\"matchExpressions\":[{\"key\":\"role\",\"operator\":\"Exists\"}]}},"
	"{\"ipBlock\":{\"cidr\":\"10.9.0.0/16\"}},"
	"{\"namespaceSelector\":{},\"podSelector\":{\"matchLabels\":{\"tier\":\"db\"}}}]}]}},"
	"\"y/p2\":{\"metadata\":{\"namespace\":\"y\",\"name\":\"p2\"},\"spec\":{"
	"\"podSelector\":{},\"policyTypes\":[\"Egress\"],\"egress\":[{\"to\":["
	"{\"podSelector\":{\"matchLabels\":{\"tier\":\"front\"}}}]}]}}}";

/* r's addresses sorted, each once (a pod selected by two peers may be there twice); how many. */
static size_t distinct_ips(struct pol_rule *r)
{
	size_t k = 0;

	if (r->n_ips > 1)
		qsort(r->ips, r->n_ips, sizeof(*r->ips), inet_addr_qcmp);
	for (size_t i = 0; i < r->n_ips; i++)
		if (!k || !inet_addr_eq(&r->ips[k - 1], &r->ips[i]))
			r->ips[k++] = r->ips[i];
	return k;
}

/* The rules of a and b hold the same peers (in any order) and ports. */
static void same_dir(const struct pol_dir *a, const struct pol_dir *b)
{
	assert_int_equal(a->isolated, b->isolated);
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		struct pol_rule *x = &a->rules[i], *y = &b->rules[i];
		size_t n = distinct_ips(x);

		assert_int_equal(n, distinct_ips(y));
		assert_int_equal(x->n_blocks, y->n_blocks);
		assert_int_equal(x->n_ports, y->n_ports);
		for (size_t k = 0; k < n; k++)
			assert_true(inet_addr_eq(&x->ips[k], &y->ips[k]));
	}
}

/* Sets (v non-NULL) or removes label key of pod key in world, telling the index. */
static void relabel(struct pol_index *ix, json_t *world, const char *key, const char *label,
		    const char *v)
{
	json_t *old = json_incref(json_object_get(world, key)), *now = json_deep_copy(old);
	json_t *labels = json_object_get(json_object_get(now, "metadata"), "labels");

	if (v)
		json_object_set_new(labels, label, json_string(v));
	else
		json_object_del(labels, label);
	json_object_set_new(world, key, now);
	assert_int_equal(pol_index_pod(ix, old, now), 0);
	json_decref(old);
}

/* Every pod compiled through the index as a fresh compile has it. */
static void index_agrees(struct pol_index *ix, const json_t *world, const json_t *pols)
{
	static const char *const targets[][2] = {{"x", "a"}, {"x", "b"}, {"y", "a"}, {"y", "b"}};

	for (size_t i = 0; i < 4; i++) {
		struct pol_pod p, q;
		struct cni_err err = {0};

		assert_int_equal(pol_compile_ix(ix, targets[i][0], targets[i][1], &p, &err), 0);
		assert_int_equal(pol_compile(namespaces, world, pols, targets[i][0], targets[i][1],
					     &q, &err),
				 0);
		same_dir(&p.in, &q.in);
		same_dir(&p.out, &q.out);
		pol_pod_free(&p);
		pol_pod_free(&q);
	}
}

/* Label changes patch the memo: peers reading the changed key and peers that do not (a pod
 * selected through both stays), a peer list longer than the per-peer filter holds, pods leaving
 * and joining, the selected pod itself changing. */
static void test_index_follows_label_changes(void **state)
{
	static const char *const steps[][3] = {
		{"y/a", "tier", NULL},	  {"y/a", "pod", "c"},	    {"y/a", "pod", "a"},
		{"x/b", "tier", "front"}, {"y/b", "tier", "front"}, {"y/b", "tier", "db"},
		{"x/b", "role", "r"},	  {"x/b", "tier", NULL},    {"x/b", "role", NULL},
		{"y/a", "pod", "c"},	  {"x/a", "tier", "db"},    {"y/a", "pod", "a"},
	};
	_cleanup_json_ json_t *pols = json_loads(index_pols, 0, NULL);
	_cleanup_json_ json_t *world = json_deep_copy(pods);
	struct pol_index *ix = NULL;

	(void)state;
	assert_non_null(pols);
	/* y/a starts selected by two peers of p1 (ns y pod a; tier db anywhere): its address is
	 * taken out once when it leaves */
	json_object_set_new(
		json_object_get(json_object_get(json_object_get(world, "y/a"), "metadata"),
				"labels"),
		"tier", json_string("db"));
	assert_int_equal(pol_index_new(namespaces, world, pols, &ix), 0);
	index_agrees(ix, world, pols);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		relabel(ix, world, steps[i][0], steps[i][1], steps[i][2]);
		index_agrees(ix, world, pols);
	}
	pol_index_free(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selectors),
		cmocka_unit_test(test_deny_and_defaults),
		cmocka_unit_test(test_peers_and_or),
		cmocka_unit_test(test_ipblock_ports),
		cmocka_unit_test(test_named_ports),
		cmocka_unit_test(test_union_hostnetwork),
		cmocka_unit_test(test_dual_stack),
		cmocka_unit_test(test_index_follows_label_changes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selectors),    cmocka_unit_test(test_deny_and_defaults),
		cmocka_unit_test(test_peers_and_or), cmocka_unit_test(test_ipblock_ports),
		cmocka_unit_test(test_named_ports),  cmocka_unit_test(test_union_hostnetwork),
		cmocka_unit_test(test_dual_stack),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

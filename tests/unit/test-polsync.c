/* SPDX-License-Identifier: Apache-2.0 */
/* agent/polsync: the wanted table `inet weft-policy` of a node, from the caches (pure, no
 * kernel). Cluster: namespaces x and y; x/a (v4 + v6) and y/a on node n1, x/b on n2, a
 * hostNetwork pod x/h on n1. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "agent/intern.h"
#include "agent/polsync.h"
#include "common/cleanup.h"

static json_t *namespaces, *pods;

static json_t *pod(const char *ns, const char *name, const char *node, const char *ip,
		   const char *ip6)
{
	json_t *ips = json_pack("[{s:s}]", "ip", ip);

	if (ip6)
		json_array_append_new(ips, json_pack("{s:s}", "ip", ip6));
	return json_pack("{s:{s:s,s:s,s:{s:s}},s:{s:s,s:[]},s:{s:s,s:o}}", "metadata", "namespace",
			 ns, "name", name, "labels", "pod", name, "spec", "nodeName", node,
			 "containers", "status", "podIP", ip, "podIPs", ips);
}

static int setup(void **state)
{
	json_t *hn;

	(void)state;
	namespaces =
		json_pack("{s:{s:{s:s,s:{s:s}}},s:{s:{s:s,s:{s:s}}}}", "x", "metadata", "name", "x",
			  "labels", "ns", "x", "y", "metadata", "name", "y", "labels", "ns", "y");
	pods = json_object();
	json_object_set_new(pods, "x/a", pod("x", "a", "n1", "10.244.1.1", "fd00::1:1"));
	json_object_set_new(pods, "x/b", pod("x", "b", "n2", "10.244.2.2", NULL));
	json_object_set_new(pods, "y/a", pod("y", "a", "n1", "10.244.1.3", NULL));
	hn = pod("x", "h", "n1", "192.168.1.1", NULL);
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

/* The wanted table of node n1 under the policies (a JSON object "ns/name" -> policy). */
static json_t *want(const char *policies, struct polsync_stats *st)
{
	_cleanup_json_ json_t *pols = json_loads(policies, 0, NULL);
	struct cni_err err = {0};
	json_t *w;

	assert_non_null(pols);
	w = polsync_want("n1", namespaces, pods, pols, st, &err);
	assert_non_null(w);
	return w;
}

static const json_t *at(const json_t *w, const char *section, const char *key)
{
	return json_object_get(json_object_get(w, section), key);
}

static void test_nothing_selected_nothing_in_the_table(void **state)
{
	struct polsync_stats st;
	_cleanup_json_ json_t *w = want("{}", &st);

	(void)state;
	assert_int_equal(json_object_size(json_object_get(w, "chains")), 0);
	assert_int_equal(json_object_size(json_object_get(w, "in")), 0);
	assert_int_equal(json_object_size(json_object_get(w, "out")), 0);
	assert_int_equal(st.pods_local, 2); /* x/a, y/a; x/b is on n2, x/h is hostNetwork */
	assert_int_equal(st.pods_isolated, 0);
}

static void test_deny_all_ingress_local_pods_only(void **state)
{
	struct polsync_stats st;
	_cleanup_json_ json_t *w =
		want("{\"x/d\": {\"metadata\": {\"namespace\": \"x\", \"name\": \"d\"}, \"spec\": "
		     "{\"podSelector\": {}, \"policyTypes\": [\"Ingress\"]}}}",
		     &st);
	const char *chain = json_string_value(at(w, "in", "10.244.1.1"));

	(void)state;
	assert_non_null(chain);
	assert_string_equal(json_string_value(at(w, "in", "fd00::1:1")), chain);
	assert_int_equal(strncmp(chain, "pi-", 3), 0);
	assert_int_equal(json_array_size(json_object_get(at(w, "chains", chain), "rules")), 0);
	assert_string_equal(json_string_value(json_object_get(at(w, "chains", chain), "dir")),
			    "in");
	assert_null(at(w, "in", "10.244.2.2"));	 /* another node's */
	assert_null(at(w, "in", "192.168.1.1")); /* hostNetwork */
	assert_null(at(w, "in", "10.244.1.3"));	 /* not selected */
	assert_int_equal(json_object_size(json_object_get(w, "out")), 0);
	assert_int_equal(st.pods_isolated, 1);
	assert_int_equal(st.chains, 1);
}

static void test_ipblock_except_becomes_ranges(void **state)
{
	_cleanup_json_ json_t *w = want(
		"{\"x/e\": {\"metadata\": {\"namespace\": \"x\", \"name\": \"e\"}, \"spec\": "
		"{\"podSelector\": {\"matchLabels\": {\"pod\": \"a\"}}, \"policyTypes\": "
		"[\"Egress\"], "
		"\"egress\": [{\"to\": [{\"ipBlock\": {\"cidr\": \"10.0.0.0/8\", \"except\": "
		"[\"10.1.0.0/16\", \"10.255.255.0/24\"]}}], \"ports\": [{\"protocol\": \"UDP\", "
		"\"port\": 53}]}]}}}",
		NULL);
	const char *chain = json_string_value(at(w, "out", "10.244.1.1"));
	const json_t *rule = json_array_get(json_object_get(at(w, "chains", chain), "rules"), 0);
	const char *set = json_string_value(json_object_get(rule, "set"));

	(void)state;
	assert_non_null(set);
	assert_int_equal(json_integer_value(json_object_get(rule, "proto")), 17);
	assert_int_equal(json_integer_value(json_object_get(rule, "lo")), 53);
	assert_int_equal(json_integer_value(json_object_get(rule, "hi")), 53);
	assert_string_equal(json_string_value(json_object_get(at(w, "sets", set), "ranges")),
			    "10.0.0.0-10.0.255.255,10.2.0.0-10.255.254.255");
	assert_int_equal(json_integer_value(json_object_get(at(w, "sets", set), "family")), 4);
	assert_null(json_object_get(at(w, "sets", set), "plain")); /* ranges: an interval set */
	assert_int_equal(json_array_size(json_object_get(at(w, "chains", chain), "rules")), 1);
}

static void test_same_selectors_share_one_set(void **state)
{
	/* x/p and x/q allow the same peers with the same selector: one set for both rules; y/p
	 * selects the same pod (x/b) with other selectors: a set of its own, named after them */
	_cleanup_json_ json_t *w = want(
		"{\"x/p\": {\"metadata\": {\"namespace\": \"x\", \"name\": \"p\"}, \"spec\": "
		"{\"podSelector\": {}, \"ingress\": [{\"from\": [{\"podSelector\": "
		"{\"matchLabels\": "
		"{\"pod\": \"b\"}}}]}]}}, \"x/q\": {\"metadata\": {\"namespace\": \"x\", \"name\": "
		"\"q\"}, \"spec\": {\"podSelector\": {}, \"ingress\": [{\"from\": "
		"[{\"podSelector\": "
		"{\"matchLabels\": {\"pod\": \"b\"}}}], \"ports\": [{\"port\": 81}]}]}}, \"y/p\": "
		"{\"metadata\": {\"namespace\": \"y\", \"name\": \"p\"}, \"spec\": "
		"{\"podSelector\": "
		"{}, \"ingress\": [{\"from\": [{\"namespaceSelector\": {\"matchLabels\": {\"ns\": "
		"\"x\"}}, \"podSelector\": {\"matchLabels\": {\"pod\": \"b\"}}}], \"ports\": "
		"[{\"port\": 80}, {\"port\": 90, \"endPort\": 99}]}]}}}",
		NULL);
	const char *ca = json_string_value(at(w, "in", "10.244.1.1"));
	const char *cy = json_string_value(at(w, "in", "10.244.1.3"));
	const json_t *ra = json_object_get(at(w, "chains", ca), "rules");
	const json_t *ry = json_object_get(at(w, "chains", cy), "rules");
	const char *sa0 = json_string_value(json_object_get(json_array_get(ra, 0), "set"));
	const char *sa1 = json_string_value(json_object_get(json_array_get(ra, 1), "set"));
	const char *sy = json_string_value(json_object_get(json_array_get(ry, 0), "set"));

	(void)state;
	assert_int_equal(json_object_size(json_object_get(w, "sets")), 2);
	assert_string_not_equal(ca, cy);
	assert_int_equal(json_array_size(ra), 2);
	assert_string_equal(sa0, sa1);
	assert_string_not_equal(sa0, sy);
	assert_int_equal(strncmp(sa0, "ps4-", 4), 0); /* pod addresses only: a plain set */
	assert_true(json_is_true(json_object_get(at(w, "sets", sa0), "plain")));
	assert_int_equal(json_array_size(ry), 2); /* one per port entry */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ry, 1), "hi")), 99);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ry, 1), "proto")), 6);
}

static void test_rules_with_the_same_ports_share_one_lookup(void **state)
{
	/* two policies allow TCP 80 to x/a from different peers: one set holds both, one rule */
	_cleanup_json_ json_t *w = want(
		"{\"x/m1\": {\"metadata\": {\"namespace\": \"x\", \"name\": \"m1\"}, \"spec\": "
		"{\"podSelector\": {\"matchLabels\": {\"pod\": \"a\"}}, \"ingress\": [{\"from\": "
		"[{\"podSelector\": {\"matchLabels\": {\"pod\": \"b\"}}}], \"ports\": [{\"port\": "
		"80}]}]}}, \"x/m2\": {\"metadata\": {\"namespace\": \"x\", \"name\": \"m2\"}, "
		"\"spec\": {\"podSelector\": {\"matchLabels\": {\"pod\": \"a\"}}, \"ingress\": "
		"[{\"from\": [{\"namespaceSelector\": {\"matchLabels\": {\"ns\": \"y\"}}}], "
		"\"ports\": [{\"port\": 80}]}, {\"from\": [{\"ipBlock\": {\"cidr\": "
		"\"172.16.0.0/12\"}}], \"ports\": [{\"port\": 443}]}]}}}",
		NULL);
	const char *c = json_string_value(at(w, "in", "10.244.1.1"));
	const json_t *rules = json_object_get(at(w, "chains", c), "rules");
	const json_t *r80 = json_array_get(rules, 0);
	const char *set = json_string_value(json_object_get(r80, "set"));

	(void)state;
	assert_int_equal(json_array_size(rules), 2); /* TCP 80 from both, TCP 443 from the block */
	assert_int_equal(json_integer_value(json_object_get(r80, "lo")), 80);
	assert_string_equal(json_string_value(json_object_get(at(w, "sets", set), "ranges")),
			    "10.244.1.3,10.244.2.2");
}

static void test_pods_and_blocks_in_two_sets(void **state)
{
	/* one from list with a pod selector and an ipBlock: the pods' addresses in a hash set,
	 * the block in an interval set, a rule for each (same ports) */
	_cleanup_json_ json_t *w = want(
		"{\"x/pb\": {\"metadata\": {\"namespace\": \"x\", \"name\": \"pb\"}, \"spec\": "
		"{\"podSelector\": {\"matchLabels\": {\"pod\": \"a\"}}, \"ingress\": [{\"from\": "
		"[{\"podSelector\": {\"matchLabels\": {\"pod\": \"b\"}}}, {\"ipBlock\": {\"cidr\": "
		"\"172.16.0.0/12\"}}], \"ports\": [{\"port\": 80}]}]}}}",
		NULL);
	const char *c = json_string_value(at(w, "in", "10.244.1.1"));
	const json_t *rules = json_object_get(at(w, "chains", c), "rules");
	const char *s0 = json_string_value(json_object_get(json_array_get(rules, 0), "set"));
	const char *s1 = json_string_value(json_object_get(json_array_get(rules, 1), "set"));

	(void)state;
	assert_int_equal(json_array_size(rules), 2);
	assert_int_equal(strncmp(s0, "ps4-", 4), 0);
	assert_true(json_is_true(json_object_get(at(w, "sets", s0), "plain")));
	assert_string_equal(json_string_value(json_object_get(at(w, "sets", s0), "ranges")),
			    "10.244.2.2");
	assert_int_equal(strncmp(s1, "s4-", 3), 0);
	assert_null(json_object_get(at(w, "sets", s1), "plain"));
	assert_string_equal(json_string_value(json_object_get(at(w, "sets", s1), "ranges")),
			    "172.16.0.0-172.31.255.255");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rules, 1), "lo")), 80);
}

static void test_allow_all_rule_has_no_set(void **state)
{
	_cleanup_json_ json_t *w = want(
		"{\"x/all\": {\"metadata\": {\"namespace\": \"x\", \"name\": \"all\"}, \"spec\": "
		"{\"podSelector\": {}, \"ingress\": [{}]}}}",
		NULL);
	const char *c = json_string_value(at(w, "in", "10.244.1.1"));
	const json_t *r = json_array_get(json_object_get(at(w, "chains", c), "rules"), 0);

	(void)state;
	assert_non_null(r);
	assert_int_equal(json_object_size(r), 0); /* every peer, every port */
}

static void test_compact_keeps_what_the_compiler_reads(void **state)
{
	_cleanup_json_ json_t *p = json_loads(
		"{\"metadata\": {\"name\": \"a\", \"namespace\": \"x\", \"labels\": {\"k\": "
		"\"v\"}, "
		"\"resourceVersion\": \"7\", \"managedFields\": [1, 2, 3], \"annotations\": "
		"{\"a\": "
		"\"b\"}}, \"spec\": {\"nodeName\": \"n1\", \"volumes\": [1], \"containers\": "
		"[{\"name\": \"c\", \"image\": \"i\", \"ports\": [{\"name\": \"http\", "
		"\"containerPort\": 80}]}]}, \"status\": {\"podIP\": \"10.0.0.1\", \"phase\": "
		"\"Running\"}}",
		0, NULL);
	_cleanup_json_ json_t *c = polsync_pod_compact(p, NULL);
	_cleanup_json_ json_t *expect = json_loads(
		"{\"metadata\": {\"name\": \"a\", \"namespace\": \"x\", \"labels\": {\"k\": "
		"\"v\"}, "
		"\"resourceVersion\": \"7\"}, \"spec\": {\"nodeName\": \"n1\", \"containers\": "
		"[{\"ports\": [{\"name\": \"http\", \"containerPort\": 80}]}]}, \"status\": "
		"{\"podIP\": \"10.0.0.1\"}}",
		0, NULL);

	(void)state;
	assert_true(json_equal(c, expect));
}

/* Pods with equal labels and ports share one object of each; podIP goes when podIPs has it. */
static void test_compact_holds_equal_values_once(void **state)
{
	static const char *const text =
		"{\"metadata\": {\"name\": \"%s\", \"namespace\": \"x\", \"labels\": "
		"{\"app\": \"w\", \"tier\": \"%s\"}}, \"spec\": {\"containers\": [{\"ports\": "
		"[{\"name\": \"http\", \"containerPort\": 80}]}]}, \"status\": {\"podIP\": "
		"\"10.0.0.%d\", \"podIPs\": [{\"ip\": \"10.0.0.%d\"}]}}";
	struct intern *in = intern_new();
	json_t *c[3];
	char buf[512];

	(void)state;
	assert_non_null(in);
	for (int i = 0; i < 3; i++) {
		_cleanup_json_ json_t *p = NULL;

		snprintf(buf, sizeof(buf), text, i ? "b" : "a", i == 2 ? "db" : "web", i, i);
		p = json_loads(buf, 0, NULL);
		c[i] = polsync_pod_compact(p, in);
	}
	assert_ptr_equal(at(c[0], "metadata", "labels"), at(c[1], "metadata", "labels"));
	assert_ptr_not_equal(at(c[0], "metadata", "labels"), at(c[2], "metadata", "labels"));
	assert_ptr_equal(at(c[0], "spec", "containers"), at(c[2], "spec", "containers"));
	assert_null(at(c[1], "status", "podIP"));
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(at(c[1], "status", "podIPs"), 0), "ip")),
			    "10.0.0.1");
	assert_int_equal(intern_size(in), 3); /* two label sets, one ports list */
	for (int i = 0; i < 3; i++)
		json_decref(c[i]);
	intern_free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_selected_nothing_in_the_table),
		cmocka_unit_test(test_deny_all_ingress_local_pods_only),
		cmocka_unit_test(test_ipblock_except_becomes_ranges),
		cmocka_unit_test(test_same_selectors_share_one_set),
		cmocka_unit_test(test_rules_with_the_same_ports_share_one_lookup),
		cmocka_unit_test(test_pods_and_blocks_in_two_sets),
		cmocka_unit_test(test_allow_all_rule_has_no_set),
		cmocka_unit_test(test_compact_keeps_what_the_compiler_reads),
		cmocka_unit_test(test_compact_holds_equal_values_once),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* weft-node's pure parts: kubeconfig parsing, peer derivation and hijack refusal, metrics text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "agent/kubeconfig.h"
#include "agent/metrics.h"
#include "agent/peerset.h"
#include "common/cleanup.h"

static const char kc[] = "apiVersion: v1\n"
			 "current-context: b\n"
			 "clusters:\n"
			 "- name: one\n  cluster: {server: 'https://10.0.0.1:6443/'}\n"
			 "- name: two\n  cluster:\n    server: https://api.example:443\n"
			 "    certificate-authority: ca/ca.crt\n"
			 "contexts:\n"
			 "- name: a\n  context: {cluster: one, user: u1}\n"
			 "- name: b\n  context: {cluster: two, user: u2}\n"
			 "users:\n"
			 "- name: u1\n  user: {token: t1}\n"
			 "- name: u2\n  user:\n    client-certificate-data: aGVsbG8=\n"
			 "    client-key: /k.pem\n";

static void test_kubeconfig(void **state)
{
	struct kube_config c;
	struct cni_err err = {0};

	(void)state;
	assert_int_equal(kube_config_parse(kc, strlen(kc), "/etc/kube", &c, &err), 0);
	assert_string_equal(c.server, "https://api.example:443");
	assert_string_equal(c.ca_file, "/etc/kube/ca/ca.crt");
	assert_null(c.token);
	assert_int_equal(c.cert_data.len, 5);
	assert_memory_equal(c.cert_data.data, "hello", 5);
	assert_string_equal(c.key_file, "/k.pem");
	kube_config_free(&c);
}

static void test_kubeconfig_bad(void **state)
{
	static const char *const bad[] = {
		"current-context: x\ncontexts: []\n",
		"contexts:\n- name: a\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: "
		"{}\n",
		"contexts:\n- name: a\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: "
		"{server: 'ftp://x'}\n",
		"contexts:\n- name: a\n  context: {cluster: c, user: u}\nclusters:\n- name: c\n  "
		"cluster: {server: 'https://x'}\nusers:\n- name: u\n  user: {client-key: /k}\n",
		"a: [\n",
	};
	struct kube_config c;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cni_err err = {0};

		assert_true(kube_config_parse(bad[i], strlen(bad[i]), ".", &c, &err) < 0);
		assert_int_equal(err.code, CNI_ERR_CONFIG);
	}
}

static json_t *node(const char *name, const char *cidr, const char *ip)
{
	return json_pack("{s:{s:s},s:{s:s},s:{s:[{s:s,s:s}]}}", "metadata", "name", name, "spec",
			 "podCIDR", cidr, "status", "addresses", "type", "InternalIP", "address",
			 ip);
}

static void test_peerset(void **state)
{
	_cleanup_json_ json_t *nodes = json_object(), *why = json_object();
	struct inet_prefix host[2];
	struct peers p = {0};
	struct cni_err err = {0};

	(void)state;
	json_object_set_new(nodes, "a", node("a", "10.244.1.0/24", "192.168.1.1"));
	json_object_set_new(nodes, "b", node("b", "10.244.2.0/24", "192.168.1.2"));
	json_object_set_new(nodes, "all", node("all", "0.0.0.0/0", "192.168.1.9"));
	json_object_set_new(nodes, "ul", node("ul", "192.168.1.0/25", "192.168.1.10"));
	json_object_set_new(nodes, "t1", node("t1", "10.244.3.0/24", "192.168.1.30"));
	json_object_set_new(nodes, "t2", node("t2", "10.244.4.0/24", "192.168.1.30"));
	json_object_set_new(nodes, "big", node("big", "10.244.0.0/16", "192.168.1.40"));
	json_object_set_new(nodes, "bad", node("bad", "nope", "192.168.1.41"));
	json_object_set_new(nodes, "noip",
			    json_pack("{s:{s:s},s:{s:s}}", "metadata", "name", "noip", "spec",
				      "podCIDR", "10.244.9.0/24"));
	assert_int_equal(inet_prefix_parse("192.168.1.1/24", &host[0]), 0);
	assert_int_equal(inet_prefix_parse("127.0.0.1/8", &host[1]), 0);
	assert_int_equal(peerset_parse(nodes, &p, why, &err), 0);
	assert_int_equal(p.n, 7); /* bad refused, noip waits */
	assert_non_null(strstr(json_string_value(json_object_get(why, "bad")), "podCIDR"));
	assert_int_equal(peerset_filter(&p, "a", host, 2, NULL, why, &err), 0);
	/* big overlaps a (this node) and b: big is skipped, and b with it (neither is self) */
	assert_int_equal(p.n, 1);
	assert_string_equal(p.v[0].name, "a");
	assert_non_null(strstr(json_string_value(json_object_get(why, "b")), "\"big\""));
	assert_non_null(strstr(json_string_value(json_object_get(why, "all")), "/0"));
	assert_non_null(strstr(json_string_value(json_object_get(why, "ul")), "address"));
	assert_non_null(strstr(json_string_value(json_object_get(why, "t1")), "InternalIP"));
	assert_non_null(strstr(json_string_value(json_object_get(why, "t2")), "InternalIP"));
	assert_non_null(strstr(json_string_value(json_object_get(why, "big")), "this node"));
	assert_null(json_object_get(why, "noip"));
	peers_free(&p);
}

static void test_scope(void **state)
{
	_cleanup_json_ json_t *nodes = json_object(), *why = json_object();
	struct inet_prefix cluster, local;
	struct peers p = {0}, s = {0};
	struct cni_err err = {0};

	(void)state;
	json_object_set_new(nodes, "a", node("a", "10.244.1.0/24", "192.168.1.1"));
	json_object_set_new(nodes, "b", node("b", "10.244.2.0/24", "192.168.1.2"));
	json_object_set_new(nodes, "out", node("out", "10.99.0.0/24", "192.168.1.3"));
	json_object_set_new(nodes, "loc", node("loc", "10.244.7.0/24", "192.168.1.4"));
	assert_int_equal(inet_prefix_parse("10.244.0.0/16", &cluster), 0);
	assert_int_equal(inet_prefix_parse("10.244.7.0/24", &local), 0);
	assert_int_equal(peerset_parse(nodes, &p, why, &err), 0);
	assert_int_equal(peerset_scope(&p, "a", &cluster, &local, 1, &s, why, &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0].name, "b");
	assert_non_null(strstr(json_string_value(json_object_get(why, "out")), "clusterCIDR"));
	assert_non_null(strstr(json_string_value(json_object_get(why, "loc")), "IPAM range"));
	peers_free(&p);
	peers_free(&s);
}

/* The informer keeps a compact string per Node: parsing the strings gives the same peers, the
 * same refusals and the same waits as parsing the objects. */
static void test_compact(void **state)
{
	_cleanup_json_ json_t *objs = json_object(), *comp = json_object(), *w1 = json_object(),
			      *w2 = json_object();
	struct peers a = {0}, b = {0};
	struct cni_err err = {0};
	const char *key;
	json_t *v;

	(void)state;
	json_object_set_new(objs, "a", node("a", "10.244.1.0/24", "192.168.1.1"));
	json_object_set_new(objs, "v6", node("v6", "fd00:244:6::/64", "fd00::6"));
	json_object_set_new(objs, "bad", node("bad", "nope", "192.168.1.41"));
	json_object_set_new(objs, "noip",
			    json_pack("{s:{s:s},s:{s:s}}", "metadata", "name", "noip", "spec",
				      "podCIDR", "10.244.9.0/24"));
	json_object_foreach(objs, key, v) json_object_set_new(comp, key, peerset_node_compact(v));
	assert_string_equal(json_string_value(json_object_get(comp, "a")),
			    "P\t192.168.1.1\t10.244.1.0/24\ta");
	assert_string_equal(json_string_value(json_object_get(comp, "noip")), "W");
	assert_int_equal(peerset_parse(objs, &a, w1, &err), 0);
	assert_int_equal(peerset_parse(comp, &b, w2, &err), 0);
	assert_int_equal(a.n, 2);
	assert_int_equal(b.n, a.n);
	for (size_t i = 0; i < a.n; i++)
		assert_true(peers_eq(&a.v[i], &b.v[i]) && strcmp(a.v[i].name, b.v[i].name) == 0);
	assert_true(json_equal(w1, w2));
	assert_non_null(json_object_get(w2, "bad"));
	peers_free(&a);
	peers_free(&b);
}

/* A random node of a small address space, so that clashes are frequent: node IPs among 12,
 * pod CIDRs mostly /24s of 10.244.0-23, some larger (a /23, a /16), some overlapping the host
 * address, some /0. */
static void random_peer(struct peer *p, unsigned id, unsigned *seed)
{
	static const char *const wide[] = {"10.244.0.0/16", "10.244.4.0/23", "0.0.0.0/0",
					   "192.168.1.0/25", "10.244.7.128/25"};
	char cidr[32], ip[32];
	unsigned r = (unsigned)rand_r(seed);

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "n%u", id);
	if (r % 23 == 0)
		snprintf(cidr, sizeof(cidr), "%s", wide[r / 23 % 5]);
	else
		snprintf(cidr, sizeof(cidr), "10.244.%u.0/24", r / 7 % 24);
	snprintf(ip, sizeof(ip), "192.168.%u.%u", r % 11 == 0 ? 1 : 2, r / 3 % 12 + 1);
	assert_int_equal(inet_prefix_parse(cidr, &p->pod_cidr), 0);
	assert_int_equal(inet_addr_parse(ip, &p->node_ip), 0);
}

static void assert_same(const struct peers *a, const struct peers *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_true(peers_eq(&a->v[i], &b->v[i]));
}

/* The good set holds no clash (what peers_validate checks of pairs), self kept apart. */
static void assert_valid(const struct peers *good, const char *self)
{
	struct peers p = {0};
	struct peer me;
	struct cni_err err = {0};
	int has;

	assert_int_equal(peers_copy(good, &p), 0);
	has = peers_take_self(&p, self, &me);
	assert_int_equal(peers_validate(&p, has ? &me : NULL, NULL, 0, &err), 0);
	peers_free(&p);
}

/* peerset_filter_update after random changes gives what peerset_filter gives over the whole set:
 * the same good and bad peers, a reason for the same nodes; and the good set always passes
 * peers_validate's pair checks (weft-node relies on it instead of running them). */
static void test_filter_update(void **state)
{
	struct inet_prefix host[1];
	struct peers parsed = {0}, good = {0}, bad = {0};
	struct cni_err err = {0};
	unsigned seed = 7;

	(void)state;
	assert_int_equal(inet_prefix_parse("192.168.1.1/24", &host[0]), 0);
	for (unsigned i = 0; i < 40; i++) {
		struct peer p;

		random_peer(&p, i, &seed);
		assert_int_equal(peers_insert(&parsed, &p), 0);
	}
	assert_int_equal(peers_copy(&parsed, &good), 0);
	assert_int_equal(peerset_filter(&good, "n0", host, 1, &bad, NULL, &err), 0);
	for (int round = 0; round < 300; round++) {
		_cleanup_json_ json_t *w1 = json_object(), *w2 = json_object();
		struct peers all = {0}, all_bad = {0};
		char names[3][16];
		const char *changed[3];
		size_t n = 1 + (size_t)rand_r(&seed) % 3;

		for (size_t k = 0; k < n; k++) {
			unsigned id = (unsigned)rand_r(&seed) % 44;
			struct peer p;

			snprintf(names[k], sizeof(names[k]), "n%u", id);
			changed[k] = names[k];
			random_peer(&p, id, &seed);
			if (rand_r(&seed) % 5 == 0)
				peers_remove(&parsed, names[k]);
			else
				assert_int_equal(peers_insert(&parsed, &p), 0);
		}
		assert_int_equal(peerset_filter_update(&good, &bad, &parsed, changed, n, "n0", host,
						       1, w1, &err),
				 bad.n + n > PEERSET_UPDATE_MAX ? 0 : 1);
		assert_int_equal(peers_copy(&parsed, &all), 0);
		assert_int_equal(peerset_filter(&all, "n0", host, 1, &all_bad, w2, &err), 0);
		assert_same(&good, &all);
		assert_same(&bad, &all_bad);
		assert_int_equal(json_object_size(w1), bad.n);
		assert_int_equal(json_object_size(w2), bad.n);
		assert_valid(&good, "n0");
		peers_free(&all);
		peers_free(&all_bad);
	}
	peers_free(&parsed);
	peers_free(&good);
	peers_free(&bad);
}

static void test_metrics_text(void **state)
{
	struct metrics_figures f = {.peers = 3, .reconciles = 5, .ready = true};
	char *t;

	(void)state;
	metrics_observe(&f, 0.002);
	metrics_observe(&f, 7.0);
	t = metrics_text(&f, 10.0);
	assert_non_null(t);
	assert_non_null(strstr(t, "weft_node_peers 3\n"));
	assert_non_null(strstr(t, "weft_node_reconciles_total 5\n"));
	assert_non_null(strstr(t, "weft_node_seconds_since_last_sync -1\n"));
	assert_non_null(
		strstr(t, "weft_node_reconcile_duration_seconds_bucket{le=\"0.0025\"} 1\n"));
	assert_non_null(strstr(t, "weft_node_reconcile_duration_seconds_bucket{le=\"5\"} 1\n"));
	assert_non_null(strstr(t, "weft_node_reconcile_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubeconfig),   cmocka_unit_test(test_kubeconfig_bad),
		cmocka_unit_test(test_peerset),	     cmocka_unit_test(test_scope),
		cmocka_unit_test(test_compact),	     cmocka_unit_test(test_filter_update),
		cmocka_unit_test(test_metrics_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

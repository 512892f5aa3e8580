/* SPDX-License-Identifier: Apache-2.0 */
/* The result model: one model encoded as every version (docs/cni-contract.md
 * §1.5-1.6), each version's JSON decoded back, round trips, bad shapes, versions. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/cni/types.h"

#define DNS_IN                                                                                     \
	"{\"nameservers\":[\"10.1.0.1\"],\"domain\":\"example.com\",\"search\":[\"a.example."      \
	"com\"],"                                                                                  \
	"\"options\":[\"ndots:2\"]}"

static void add_prefix_ip(struct cni_result *r, const char *cidr, const char *gw, int iface)
{
	struct inet_prefix p;
	struct inet_addr g = {0};
	struct cni_err err = {0};

	assert_int_equal(inet_prefix_parse(cidr, &p), 0);
	if (gw)
		assert_int_equal(inet_addr_parse(gw, &g), 0);
	assert_true(cni_result_add_ip(r, &p, gw ? &g : NULL, iface, &err) >= 0);
}

static struct cni_route *add_route(struct cni_result *r, const char *dst, const char *gw)
{
	struct inet_prefix p;
	struct inet_addr g = {0};
	struct cni_err err = {0};
	int i;

	assert_int_equal(inet_prefix_parse(dst, &p), 0);
	if (gw)
		assert_int_equal(inet_addr_parse(gw, &g), 0);
	i = cni_result_add_route(r, &p, gw ? &g : NULL, &err);
	assert_true(i >= 0);
	return &r->routes[i];
}

/* Three interfaces (bridge, host veth, container), v4 + v6 + a second v4, three routes (one
 * with every 1.1.0 extra), DNS with an unknown key that must not survive. */
static struct cni_result *model(void)
{
	struct cni_result *r = cni_result_new();
	struct cni_err err = {0};
	struct cni_route *rt;

	assert_non_null(r);
	assert_int_equal(cni_result_add_iface(r, "cni0", "aa:00:00:00:00:01", NULL, &err), 0);
	assert_int_equal(cni_result_add_iface(r, "veth1234", "aa:00:00:00:00:02", "", &err), 1);
	assert_int_equal(
		cni_result_add_iface(r, "eth0", "aa:00:00:00:00:03", "/var/run/netns/blue", &err),
		2);
	r->ifaces[2].mtu = 1450;
	strcpy(r->ifaces[2].socket_path, "/run/x.sock");
	strcpy(r->ifaces[2].pci_id, "0000:00:01.0");
	add_prefix_ip(r, "10.1.0.5/16", "10.1.0.1", 2);
	add_prefix_ip(r, "2001:db8::5/64", "2001:db8::1", 2);
	add_prefix_ip(r, "10.2.0.5/16", NULL, -1);
	add_route(r, "0.0.0.0/0", NULL);
	add_route(r, "::/0", "2001:db8::1");
	rt = add_route(r, "192.168.0.0/16", "10.1.0.1");
	rt->mtu = 1400;
	rt->advmss = 1360;
	rt->priority = 10;
	rt->table = 100;
	rt->scope = 0;
	r->dns = json_loads("{\"nameservers\":[\"10.1.0.1\"],\"domain\":\"example.com\","
			    "\"search\":[\"a.example.com\"],\"options\":[\"ndots:2\"],"
			    "\"extra\":1}",
			    0, NULL);
	assert_non_null(r->dns);
	return r;
}

#define IP4_020                                                                                    \
	"\"ip4\":{\"ip\":\"10.1.0.5/16\",\"gateway\":\"10.1.0.1\",\"routes\":[{\"dst\":"           \
	"\"0.0.0.0/0\"},{\"dst\":\"192.168.0.0/16\",\"gw\":\"10.1.0.1\"}]}"
#define IP6_020                                                                                    \
	"\"ip6\":{\"ip\":\"2001:db8::5/64\",\"gateway\":\"2001:db8::1\",\"routes\":[{\"dst\":"     \
	"\"::/0\",\"gw\":\"2001:db8::1\"}]}"
#define IFACES_040                                                                                 \
	"\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"aa:00:00:00:00:01\"},{\"name\":"             \
	"\"veth1234\","                                                                            \
	"\"mac\":\"aa:00:00:00:00:02\"},{\"name\":\"eth0\",\"mac\":\"aa:00:00:00:00:03\","         \
	"\"sandbox\":\"/var/run/netns/blue\"}]"
#define IFACES_110                                                                                 \
	"\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"aa:00:00:00:00:01\"},{\"name\":"             \
	"\"veth1234\","                                                                            \
	"\"mac\":\"aa:00:00:00:00:02\"},{\"name\":\"eth0\",\"mac\":\"aa:00:00:00:00:03\","         \
	"\"mtu\":1450,\"sandbox\":\"/var/run/netns/blue\",\"socketPath\":\"/run/x.sock\","         \
	"\"pciID\":\"0000:00:01.0\"}]"
#define IPS_040                                                                                    \
	"\"ips\":[{\"version\":\"4\",\"interface\":2,\"address\":\"10.1.0.5/16\",\"gateway\":"     \
	"\"10.1.0.1\"},{\"version\":\"6\",\"interface\":2,\"address\":\"2001:db8::5/64\","         \
	"\"gateway\":\"2001:db8::1\"},{\"version\":\"4\",\"address\":\"10.2.0.5/16\"}]"
#define IPS_100                                                                                    \
	"\"ips\":[{\"interface\":2,\"address\":\"10.1.0.5/16\",\"gateway\":\"10.1.0.1\"},"         \
	"{\"interface\":2,\"address\":\"2001:db8::5/64\",\"gateway\":\"2001:db8::1\"},"            \
	"{\"address\":\"10.2.0.5/16\"}]"
#define ROUTES                                                                                     \
	"\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"::/0\",\"gw\":\"2001:db8::1\"},{\"dst\":"  \
	"\"192.168.0.0/16\",\"gw\":\"10.1.0.1\",\"mtu\":1400,\"advmss\":1360,\"priority\":10,"     \
	"\"table\":100,\"scope\":0}]"

static const struct {
	const char *version, *json;
} expected[] = {
	{"0.1.0", "{\"cniVersion\":\"0.1.0\"," IP4_020 "," IP6_020 ",\"dns\":" DNS_IN "}"},
	{"0.2.0", "{\"cniVersion\":\"0.2.0\"," IP4_020 "," IP6_020 ",\"dns\":" DNS_IN "}"},
	{"0.3.0",
	 "{\"cniVersion\":\"0.3.0\"," IFACES_040 "," IPS_040 "," ROUTES ",\"dns\":" DNS_IN "}"},
	{"0.3.1",
	 "{\"cniVersion\":\"0.3.1\"," IFACES_040 "," IPS_040 "," ROUTES ",\"dns\":" DNS_IN "}"},
	{"0.4.0",
	 "{\"cniVersion\":\"0.4.0\"," IFACES_040 "," IPS_040 "," ROUTES ",\"dns\":" DNS_IN "}"},
	{"1.0.0",
	 "{\"cniVersion\":\"1.0.0\"," IFACES_040 "," IPS_100 "," ROUTES ",\"dns\":" DNS_IN "}"},
	{"1.1.0",
	 "{\"cniVersion\":\"1.1.0\"," IFACES_110 "," IPS_100 "," ROUTES ",\"dns\":" DNS_IN "}"},
};

/* Encodes r as version and compares with want, key order included. */
static void assert_encodes(const struct cni_result *r, const char *version, const char *want)
{
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *s = NULL;
	struct cni_err err = {0};

	assert_int_equal(cni_result_encode(r, version, &j, &err), 0);
	s = json_dumps(j, JSON_COMPACT);
	assert_non_null(s);
	assert_string_equal(s, want);
}

static void test_encode_every_version(void **state)
{
	_cleanup_result_ struct cni_result *r = model();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(expected); i++)
		assert_encodes(r, expected[i].version, expected[i].json);
}

/* Each version's JSON decodes and encodes back to itself. */
static void test_round_trip_every_version(void **state)
{
	_cleanup_result_ struct cni_result *r = cni_result_new();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(expected); i++) {
		_cleanup_json_ json_t *j = json_loads(expected[i].json, 0, NULL);
		struct cni_err err = {0};

		assert_non_null(j);
		assert_int_equal(cni_result_decode(j, NULL, r, &err), 0);
		assert_string_equal(r->cni_version, expected[i].version);
		assert_encodes(r, NULL, expected[i].json);
	}
}

static void test_decode_020(void **state)
{
	_cleanup_result_ struct cni_result *r = cni_result_new();
	_cleanup_json_ json_t *j = json_loads(expected[1].json, 0, NULL);
	struct cni_err err = {0};
	char buf[INET_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(cni_result_decode(j, NULL, r, &err), 0);
	assert_int_equal(r->n_ifaces, 0);
	assert_int_equal(r->n_ips, 2);
	assert_int_equal(r->ips[0].interface, -1);
	assert_string_equal(inet_prefix_fmt(&r->ips[1].address, buf, sizeof(buf)),
			    "2001:db8::5/64");
	/* ip4.routes then ip6.routes, extras unset */
	assert_int_equal(r->n_routes, 3);
	assert_string_equal(inet_prefix_fmt(&r->routes[2].dst, buf, sizeof(buf)), "::/0");
	assert_int_equal(r->routes[1].mtu, -1);
	assert_int_equal(r->routes[1].table, -1);
	/* up-conversion to 0.4.0 */
	assert_encodes(r, "0.4.0",
		       "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":"
		       "\"10.1.0.5/16\",\"gateway\":\"10.1.0.1\"},{\"version\":\"6\",\"address\":"
		       "\"2001:db8::5/64\",\"gateway\":\"2001:db8::1\"}],\"routes\":[{\"dst\":"
		       "\"0.0.0.0/0\"},{\"dst\":\"192.168.0.0/16\",\"gw\":\"10.1.0.1\"},{\"dst\":"
		       "\"::/0\",\"gw\":\"2001:db8::1\"}],\"dns\":" DNS_IN "}");
}

static void test_020_without_ips(void **state)
{
	_cleanup_result_ struct cni_result *r = cni_result_new();
	_cleanup_json_ json_t *j = NULL;
	struct cni_err err = {0};

	(void)state;
	add_route(r, "0.0.0.0/0", "10.0.0.1");
	assert_int_equal(cni_result_add_iface(r, "eth0", NULL, "/run/netns/x", &err), 0);
	assert_true(cni_result_encode(r, "0.2.0", &j, &err) < 0);
	assert_null(j);
	assert_int_equal(err.code, CNI_ERR_INTERNAL);
	assert_string_equal(err.msg, "cannot convert: no valid IP addresses");
	cni_err_clear(&err);
	assert_true(cni_result_encode(r, "0.1.0", &j, &err) < 0);
	assert_string_equal(err.msg, "cannot convert: no valid IP addresses");
	/* 0.3.0 and later can say it */
	assert_int_equal(cni_result_encode(r, "0.3.0", &j, &err), 0);
}

/* A route of a family without an IP is dropped going down to 0.2.0. */
static void test_020_routes_follow_family(void **state)
{
	_cleanup_result_ struct cni_result *r = cni_result_new();

	(void)state;
	add_prefix_ip(r, "10.0.0.2/24", NULL, -1);
	add_route(r, "::/0", "2001:db8::1");
	add_route(r, "10.9.0.0/16", NULL)->mtu = 1300;
	assert_encodes(r, "0.2.0",
		       "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.2/24\",\"routes\":[{"
		       "\"dst\":\"10.9.0.0/16\"}]},\"dns\":{}}");
}

static void test_empty_dns(void **state)
{
	_cleanup_result_ struct cni_result *r = cni_result_new();

	(void)state;
	add_prefix_ip(r, "10.0.0.2/24", NULL, -1);
	assert_encodes(r, "0.4.0",
		       "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":"
		       "\"10.0.0.2/24\"}],\"dns\":{}}");
	assert_encodes(r, "1.0.0",
		       "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2/24\"}]}");
	/* a dns object whose members are all empty counts as empty */
	r->dns = json_loads("{\"nameservers\":[],\"domain\":\"\"}", 0, NULL);
	assert_encodes(r, "1.1.0",
		       "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.0.0.2/24\"}]}");
	assert_encodes(r, "0.2.0",
		       "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.2/24\"},\"dns\":{}}");
}

static void test_encode_default_and_bad_version(void **state)
{
	_cleanup_result_ struct cni_result *r = cni_result_new();
	_cleanup_json_ json_t *j = NULL;
	struct cni_err err = {0};

	(void)state;
	add_prefix_ip(r, "10.0.0.2/24", NULL, -1);
	assert_encodes(r, NULL,
		       "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.0.0.2/24\"}]}");
	strcpy(r->cni_version, "0.3.1");
	assert_encodes(r, "",
		       "{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":\"4\",\"address\":"
		       "\"10.0.0.2/24\"}],\"dns\":{}}");
	assert_true(cni_result_encode(r, "9.9.9", &j, &err) < 0);
	assert_int_equal(err.code, CNI_ERR_VERSION);
	assert_null(j);
}

/* What a delegated IPAM prints: no interfaces, no "interface"; no cniVersion falls back. */
static void test_decode_ipam_result(void **state)
{
	_cleanup_result_ struct cni_result *r = cni_result_new();
	_cleanup_json_ json_t *j =
		json_loads("{\"ips\":[{\"address\":\"10.22.0.2/"
			   "24\",\"gateway\":\"10.22.0.1\",\"interface\":-1}],"
			   "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":null}],\"dns\":{}}",
			   0, NULL);
	struct cni_err err = {0};

	(void)state;
	assert_int_equal(cni_result_decode(j, "1.0.0", r, &err), 0);
	assert_string_equal(r->cni_version, "1.0.0");
	assert_int_equal(r->n_ips, 1);
	assert_int_equal(r->ips[0].interface, -1);
	assert_int_equal(r->ips[0].gateway.family, AF_INET);
	assert_int_equal(r->routes[0].gw.family, 0);
	assert_null(r->dns); /* kept only when it says something */
	/* no version anywhere: 0.1.0, so "ips" is not even looked at */
	assert_int_equal(cni_result_decode(j, NULL, r, &err), 0);
	assert_string_equal(r->cni_version, "0.1.0");
	assert_int_equal(r->n_ips, 0);
}

static void test_interface_index(void **state)
{
	_cleanup_result_ struct cni_result *r = cni_result_new();
	struct cni_err err = {0};
	const char *ok = "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"a\"},{\"name\":"
			 "\"b\"}],\"ips\":[{\"address\":\"10.0.0.2/24\",\"interface\":1}]}";
	_cleanup_json_ json_t *j = json_loads(ok, 0, NULL);

	(void)state;
	assert_int_equal(cni_result_decode(j, NULL, r, &err), 0);
	assert_int_equal(r->ips[0].interface, 1);
	assert_string_equal(r->ifaces[1].name, "b");
	assert_true(cni_result_add_ip(r, &r->ips[0].address, NULL, -2, &err) < 0);
}

struct bad_case {
	const char *json, *msg;
};

static const struct bad_case bad[] = {
	{"[]", "a CNI result must be a JSON object"},
	{"{\"cniVersion\":1}", "\"cniVersion\" must be a string"},
	{"{\"cniVersion\":\"2.0.0\"}", "unsupported result cniVersion \"2.0.0\""},
	{"{\"cniVersion\":\"1.0.0\",\"ips\":{}}", "\"ips\" must be an array"},
	{"{\"cniVersion\":\"1.0.0\",\"ips\":[1]}", "ips[0]: expected an object"},
	{"{\"cniVersion\":\"1.0.0\",\"ips\":[{}]}", "ips[0]: missing \"address\""},
	{"{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1\"}]}",
	 "ips[0].address: \"10.0.0.1\" is not an address/prefix-length"},
	{"{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/8\",\"gateway\":\"x\"}]}",
	 "ips[0].gateway: \"x\" is not an IP address"},
	{"{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/8\",\"gateway\":\"::1\"}]}",
	 "ips[0]: gateway and address are of different address families"},
	{"{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/8\",\"interface\":0}]}",
	 "ips[0].interface: index 0 but the result has 0 interface(s)"},
	{"{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/8\",\"interface\":-2}]}",
	 "ips[0].interface: expected an integer in [-1, 2147483647]"},
	{"{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/8\",\"interface\":\"0\"}]}",
	 "ips[0].interface: expected an integer in [-1, 2147483647]"},
	{"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"mac\":\"x\"}]}",
	 "interfaces[0]: missing \"name\""},
	{"{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"a\",\"mtu\":-1}]}",
	 "interfaces[0].mtu: expected an integer in [0, 2147483647]"},
	{"{\"cniVersion\":\"1.0.0\",\"routes\":[{\"gw\":\"10.0.0.1\"}]}",
	 "routes[0]: missing \"dst\""},
	{"{\"cniVersion\":\"1.1.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"scope\":300}]}",
	 "routes[0].scope: expected an integer in [0, 255]"},
	{"{\"cniVersion\":\"1.1.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"::1\"}]}",
	 "routes[0]: gw and dst are of different address families"},
	{"{\"cniVersion\":\"1.0.0\",\"dns\":[]}", "\"dns\" must be an object"},
	{"{\"cniVersion\":\"1.0.0\",\"dns\":{\"nameservers\":[1]}}",
	 "dns.nameservers[0]: expected a string"},
	{"{\"cniVersion\":\"1.0.0\",\"dns\":{\"domain\":[]}}", "dns.domain: expected a string"},
	{"{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"2001:db8::1/64\"}}",
	 "ip4.ip: address of the wrong family"},
	{"{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.1/8\",\"routes\":{}}}",
	 "ip4: \"routes\" must be an array"},
	{"{\"cniVersion\":\"0.2.0\",\"ip6\":{\"ip\":\"::2/64\",\"routes\":[{}]}}",
	 "ip6.routes[0]: missing \"dst\""},
	{"{\"cniVersion\":\"0.2.0\",\"ip4\":[]}", "\"ip4\" must be an object"},
};

static void test_decode_bad_shapes(void **state)
{
	_cleanup_result_ struct cni_result *r = cni_result_new();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_json_ json_t *j = json_loads(bad[i].json, JSON_DECODE_ANY, NULL);
		struct cni_err err = {0};

		assert_non_null(j);
		assert_true(cni_result_decode(j, NULL, r, &err) < 0);
		assert_int_equal(err.code, CNI_ERR_DECODE);
		assert_string_equal(err.msg, bad[i].msg);
		/* a failed decode leaves an empty model behind */
		assert_int_equal(r->n_ips + r->n_ifaces + r->n_routes, 0);
		assert_null(r->dns);
	}
}

static void test_too_many(void **state)
{
	_cleanup_result_ struct cni_result *r = cni_result_new();
	_cleanup_json_ json_t *j = json_pack("{s:s, s:[]}", "cniVersion", "1.0.0", "ips");
	struct cni_err err = {0};

	(void)state;
	for (int i = 0; i < CNI_MAX_IPS + 1; i++)
		json_array_append_new(json_object_get(j, "ips"),
				      json_pack("{s:s}", "address", "10.0.0.1/8"));
	assert_true(cni_result_decode(j, NULL, r, &err) < 0);
	assert_string_equal(err.msg, "too many ips (17, max 16)");
	for (int i = 0; i < CNI_MAX_IFACES; i++)
		assert_int_equal(cni_result_add_iface(r, "x", NULL, NULL, &err), i);
	assert_int_equal(cni_result_add_iface(r, "x", NULL, NULL, &err), -ENOSPC);
	assert_int_equal(err.code, CNI_ERR_INTERNAL);
	cni_result_reset(r);
	assert_int_equal(r->n_ifaces, 0);
	assert_int_equal(cni_result_add_iface(r, "", NULL, NULL, &err), -EINVAL);
}

static void test_versions(void **state)
{
	int v = 0;

	(void)state;
	assert_int_equal(cni_version_parse("1.1.0", &v), 0);
	assert_int_equal(v, CNI_VERSION_NUM(1, 1, 0));
	assert_int_equal(cni_version_parse("0.4", &v), 0);
	assert_int_equal(v, CNI_VERSION_NUM(0, 4, 0));
	assert_int_equal(cni_version_parse("2", &v), 0);
	assert_int_equal(v, CNI_VERSION_NUM(2, 0, 0));
	assert_int_equal(cni_version_parse("", &v), -EINVAL);
	assert_int_equal(cni_version_parse("1.0.0.0", &v), -EINVAL);
	assert_int_equal(cni_version_parse("1..0", &v), -EINVAL);
	assert_int_equal(cni_version_parse("1.0.", &v), -EINVAL);
	assert_int_equal(cni_version_parse("v1.0.0", &v), -EINVAL);
	assert_int_equal(cni_version_parse("1.100.0", &v), -EINVAL);
	assert_int_equal(cni_version_parse("-1.0.0", &v), -EINVAL);
	assert_int_equal(cni_version_parse("1.0.0 ", &v), -EINVAL);
	assert_true(cni_version_cmp("0.4.0", "0.3.1") > 0);
	assert_true(cni_version_cmp("0.10.0", "0.9.0") > 0);
	assert_int_equal(cni_version_cmp("1.0", "1.0.0"), 0);
	assert_true(cni_version_cmp("junk", "0.1.0") < 0);
	assert_true(cni_version_supported("0.3.0"));
	assert_true(cni_version_supported(CNI_VERSION_LATEST));
	assert_false(cni_version_supported("1.0"));
	assert_false(cni_version_supported(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_every_version),
		cmocka_unit_test(test_round_trip_every_version),
		cmocka_unit_test(test_decode_020),
		cmocka_unit_test(test_020_without_ips),
		cmocka_unit_test(test_020_routes_follow_family),
		cmocka_unit_test(test_empty_dns),
		cmocka_unit_test(test_encode_default_and_bad_version),
		cmocka_unit_test(test_decode_ipam_result),
		cmocka_unit_test(test_interface_index),
		cmocka_unit_test(test_decode_bad_shapes),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_versions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

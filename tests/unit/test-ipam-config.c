/* SPDX-License-Identifier: Apache-2.0 */
/* ipam/config: host-local config validation, table-driven with the expected code and message
 * (the reference's wording where it has one), plus range-set order, requested IPs, routes and
 * the lenient parse of DEL/GC. Pure code. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ipam/config.h"

/* Parses conf (a whole stdin object) as the skel would hand it over. */
static int parse(const char *conf, const char *env_ip, enum cni_cmd cmd, struct ipam_config **c,
		 struct cni_err *err)
{
	json_t *j = json_loads(conf, 0, NULL);
	struct cni_kv kv = {.key = (char *)"IP", .value = (char *)env_ip};
	struct cni_args a = {.command = cmd, .conf = j, .kv = &kv, .n_kv = env_ip ? 1 : 0};
	int r;

	assert_non_null(j);
	a.name = json_string_value(json_object_get(j, "name"));
	a.cni_version = json_string_value(json_object_get(j, "cniVersion"));
	if (!a.cni_version)
		a.cni_version = "0.1.0";
	memset(err, 0, sizeof(*err));
	*c = NULL;
	r = ipam_config_parse(&a, json_object_get(j, "ipam"), cmd == CNI_CMD_DEL, c, err);
	json_decref(j);
	return r;
}

struct bad {
	const char *version, *ipam, *extra; /* extra: more top-level keys, "" for none */
	int code;
	const char *msg;
};

#define R(x) "{\"type\":\"host-local\",\"ranges\":[" x "]}"

static const struct bad bad_cases[] = {
	{"1.0.0", "{\"type\":\"host-local\"}", "", 7, "no IP ranges specified"},
	{"1.0.0", "{\"type\":\"host-local\",\"ranges\":[]}", "", 7, "no IP ranges specified"},
	{"1.0.0", R("[]"), "", 7, "invalid range set 0: empty range set"},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.0/31\"}]"), "", 7,
	 "invalid range set 0: Network 10.0.0.0/31 too small to allocate from"},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.7/32\"}]"), "", 7,
	 "invalid range set 0: Network 10.0.0.7/32 too small to allocate from"},
	{"1.0.0", R("[{\"subnet\":\"fd00::/127\"}]"), "", 7,
	 "invalid range set 0: Network fd00::/127 too small to allocate from"},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.5/24\"}]"), "", 7,
	 "invalid range set 0: Network has host bits set. For a subnet mask of length 24 the "
	 "network address is 10.0.0.0"},
	{"1.0.0", "{\"type\":\"host-local\",\"subnet\":\"10.0.0.1/8\"}", "", 7,
	 "invalid range set 0: Network has host bits set. For a subnet mask of length 8 the "
	 "network address is 10.0.0.0"},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.1.5\"}]"), "", 7,
	 "invalid range set 0: RangeStart 10.0.1.5 not in network 10.0.0.0/24"},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.0/24\",\"rangeEnd\":\"10.0.2.5\"}]"), "", 7,
	 "invalid range set 0: RangeEnd 10.0.2.5 not in network 10.0.0.0/24"},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"fd00::1\"}]"), "", 7,
	 "invalid range set 0: RangeStart fd00::1 not in network 10.0.0.0/24"},
	{"1.0.0",
	 R("[{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.10\",\"rangeEnd\":\"10.0.0.5\"}]"),
	 "", 7, "invalid range set 0: RangeEnd 10.0.0.5 is before RangeStart 10.0.0.10"},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.255\"}]"), "", 7,
	 "invalid range set 0: RangeStart 10.0.0.255 is after RangeEnd 10.0.0.254"},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.0/24\"},{\"subnet\":\"fd00::/64\"}]"), "", 7,
	 "invalid range set 0: mixed address families"},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.0/24\"},{\"subnet\":\"10.0.0.0/25\"}]"), "", 7,
	 "invalid range set 0: subnets 10.0.0.1-10.0.0.254 and 10.0.0.1-10.0.0.126 overlap"},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.0/24\"}],[{\"subnet\":\"10.0.0.0/16\"}]"), "", 7,
	 "range set 0 overlaps with 1"},
	{"1.0.0",
	 R("[{\"subnet\":\"fd00::/64\"}],[{\"subnet\":\"10.0.0.0/24\"}],[{\"subnet\":"
	   "\"fd00::/96\"}]"),
	 "", 7, "range set 0 overlaps with 2"},
	{"0.2.0", R("[{\"subnet\":\"10.0.0.0/24\"}],[{\"subnet\":\"10.1.0.0/24\"}]"), "", 7,
	 "CNI version 0.2.0 does not support more than 1 address per family"},
	{"1.0.0", R("[{\"subnet\":\"foo\"}]"), "", 7,
	 "invalid range set 0: invalid CIDR address: foo"},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.x\"}]"), "", 7,
	 "invalid range set 0: gateway: invalid IP address: 10.0.0.x"},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"fd00::1\"}]"), "", 7,
	 "invalid range set 0: gateway fd00::1 is not of the address family of network "
	 "10.0.0.0/24"},
	{"1.0.0", R("[{\"rangeStart\":\"10.0.0.1\"}]"), "", 7,
	 "invalid range set 0: range is missing \"subnet\""},
	{"1.0.0", R("{\"subnet\":\"10.0.0.0/24\"}"), "", 7,
	 "invalid range set 0: a range set must be a JSON array of ranges"},
	{"1.0.0", "{\"type\":\"host-local\",\"ranges\":{}}", "", 7,
	 "ipam.ranges must be a list of range sets (lists of ranges)"},
	{"1.0.0", "{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\",\"dataDir\":7}", "", 7,
	 "ipam: invalid \"dataDir\": expected a string, got 7"},
	{"1.0.0",
	 "{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\",\"routes\":[{\"gw\":"
	 "\"10.0.0.1\"}]}",
	 "", 7, "ipam.routes[0]: \"dst\" (a CIDR string) is required"},
	{"1.0.0",
	 "{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\",\"routes\":[{\"dst\":"
	 "\"0.0.0.0/0\",\"gw\":\"fd00::1\"}]}",
	 "", 7, "ipam.routes[0].gw: invalid IP address for dst 0.0.0.0/0"},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.0/24\"}]"),
	 ",\"runtimeConfig\":{\"ipRanges\":[[{"
	 "\"subnet\":\"10.0.0.0/8\"}]]}",
	 7, "range set 0 overlaps with 1"},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.0/24\"}]"), ",\"args\":{\"cni\":{\"ips\":[\"x\"]}}", 7,
	 "cannot understand ip: args.cni.ips: \"x\""},
	{"1.0.0", R("[{\"subnet\":\"10.0.0.0/24\"}]"), ",\"runtimeConfig\":{\"ips\":[5]}", 7,
	 "cannot understand ip: runtimeConfig.ips: \"(not a string)\""},
};

static void test_bad_configs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *b = &bad_cases[i];
		char conf[2048];
		struct ipam_config *c;
		struct cni_err err;

		snprintf(conf, sizeof(conf), "{\"cniVersion\":\"%s\",\"name\":\"n\",\"ipam\":%s%s}",
			 b->version, b->ipam, b->extra);
		print_message("case %zu: %s\n", i, conf);
		assert_true(parse(conf, NULL, CNI_CMD_ADD, &c, &err) < 0);
		assert_null(c);
		assert_int_equal(err.code, b->code);
		assert_string_equal(err.msg, b->msg);
	}
}

static void test_missing_ipam(void **state)
{
	struct ipam_config *c;
	struct cni_err err;

	(void)state;
	assert_true(parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}", NULL, CNI_CMD_ADD, &c,
			  &err) < 0);
	assert_int_equal(err.code, 7);
	assert_string_equal(err.msg, "IPAM config missing 'ipam' key");
}

static void test_two_v4_sets_ok_from_030(void **state)
{
	struct ipam_config *c;
	struct cni_err err;

	(void)state;
	assert_int_equal(parse("{\"cniVersion\":\"0.3.0\",\"name\":\"n\",\"ipam\":" R(
				       "[{\"subnet\":\"10.0.0.0/24\"}],[{\"subnet\":\"10.1.0.0/"
				       "24\"}]") "}",
			       NULL, CNI_CMD_ADD, &c, &err),
			 0);
	assert_int_equal(c->n_sets, 2);
	ipam_config_free(c);
}

static void test_set_order_and_defaults(void **state)
{
	char buf[128];
	struct ipam_config *c;
	struct cni_err err;

	(void)state;
	/* runtimeConfig.ipRanges, then the legacy subnet, then ranges */
	assert_int_equal(
		parse("{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"runtimeConfig\":{\"ipRanges\":"
		      "[[{\"subnet\":\"10.3.0.0/24\"}]]},\"ipam\":{\"type\":\"host-local\","
		      "\"subnet\":\"10.1.0.0/24\",\"rangeStart\":\"10.1.0.5\",\"gateway\":"
		      "\"10.1.0.254\",\"ranges\":[[{\"subnet\":\"fd00::/64\"}]]}}",
		      NULL, CNI_CMD_ADD, &c, &err),
		0);
	assert_int_equal(c->n_sets, 3);
	assert_string_equal(ipam_range_set_fmt(&c->sets[0], buf, sizeof(buf)),
			    "10.3.0.1-10.3.0.254");
	assert_string_equal(ipam_range_set_fmt(&c->sets[1], buf, sizeof(buf)),
			    "10.1.0.5-10.1.0.254");
	assert_string_equal(inet_addr_fmt(&c->sets[1].r[0].gateway, buf, sizeof(buf)),
			    "10.1.0.254");
	assert_string_equal(ipam_range_set_fmt(&c->sets[2], buf, sizeof(buf)),
			    "fd00::1-fd00::ffff:ffff:ffff:ffff");
	assert_string_equal(c->data_dir, "/var/lib/cni/networks");
	assert_string_equal(c->name, "net");
	assert_true(c->valid);
	ipam_config_free(c);
}

static void test_requested_ips(void **state)
{
	char buf[64];
	struct ipam_config *c;
	struct cni_err err;

	(void)state;
	assert_int_equal(
		parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"args\":{\"cni\":{\"ips\":["
		      "\"10.0.0.7\",\"10.0.0.9/24\"]}},\"runtimeConfig\":{\"ips\":[\"fd00::5/64\","
		      "\"10.0.0.9\"]},\"ipam\":" R("[{\"subnet\":\"10.0.0.0/24\"}]") "}",
		      "10.0.0.3", CNI_CMD_ADD, &c, &err),
		0);
	assert_int_equal(c->n_req, 4); /* CNI_ARGS first; 10.0.0.9 once */
	assert_string_equal(inet_addr_fmt(&c->req[0], buf, sizeof(buf)), "10.0.0.3");
	assert_string_equal(inet_addr_fmt(&c->req[1], buf, sizeof(buf)), "10.0.0.7");
	assert_string_equal(inet_addr_fmt(&c->req[2], buf, sizeof(buf)), "10.0.0.9");
	assert_string_equal(inet_addr_fmt(&c->req[3], buf, sizeof(buf)), "fd00::5");
	ipam_config_free(c);
	/* a bad CNI_ARGS IP is an environment error (code 4) */
	assert_true(parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":" R(
				  "[{\"subnet\":\"10.0.0.0/24\"}]") "}",
			  "10.0.0.300", CNI_CMD_ADD, &c, &err) < 0);
	assert_int_equal(err.code, 4);
	assert_string_equal(err.msg, "cannot understand ip: CNI_ARGS IP: \"10.0.0.300\"");
}

static void test_routes(void **state)
{
	char buf[64];
	struct ipam_config *c;
	struct cni_err err;

	(void)state;
	assert_int_equal(parse("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"ipam\":{\"type\":"
			       "\"host-local\",\"subnet\":\"10.0.0.0/24\",\"routes\":[{\"dst\":"
			       "\"0.0.0.0/0\"},{\"dst\":\"192.168.0.0/16\",\"gw\":\"10.0.0.254\","
			       "\"mtu\":1400,\"table\":100}]}}",
			       NULL, CNI_CMD_ADD, &c, &err),
			 0);
	assert_int_equal(c->n_routes, 2);
	assert_false(inet_addr_is_set(&c->routes[0].gw));
	assert_int_equal(c->routes[0].mtu, -1);
	assert_string_equal(inet_prefix_fmt(&c->routes[1].dst, buf, sizeof(buf)), "192.168.0.0/16");
	assert_string_equal(inet_addr_fmt(&c->routes[1].gw, buf, sizeof(buf)), "10.0.0.254");
	assert_int_equal(c->routes[1].mtu, 1400);
	assert_int_equal(c->routes[1].table, 100);
	assert_int_equal(c->routes[1].scope, -1);
	ipam_config_free(c);
}

/* DEL (and GC) need only dataDir and the name: broken ranges must not block a release. */
static void test_lenient_del(void **state)
{
	struct ipam_config *c;
	struct cni_err err;

	(void)state;
	assert_int_equal(parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":"
			       "\"host-local\",\"dataDir\":\"/tmp/x\",\"subnet\":\"10.0.0.5/24\"}}",
			       "garbage", CNI_CMD_DEL, &c, &err),
			 0);
	assert_false(c->valid);
	assert_string_equal(c->data_dir, "/tmp/x");
	assert_int_equal(c->invalid.code, 4);
	ipam_config_free(c);
	/* but a dataDir of the wrong type is still fatal: there is no store to release from */
	assert_true(parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"dataDir\":[]}}",
			  NULL, CNI_CMD_DEL, &c, &err) < 0);
	assert_int_equal(err.code, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_missing_ipam),
		cmocka_unit_test(test_two_v4_sets_ok_from_030),
		cmocka_unit_test(test_set_order_and_defaults),
		cmocka_unit_test(test_requested_ips),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_lenient_del),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

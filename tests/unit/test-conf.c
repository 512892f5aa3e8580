/* SPDX-License-Identifier: Apache-2.0 */
/* conf getters: value, absence, wrong type, range; every failure is code 7 with the key and
 * the value in the message. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/cni/conf.h"

static json_t *obj;

static int setup(void **state)
{
	(void)state;
	obj = json_loads("{\"t\":true,\"f\":false,\"sT\":\"TRUE\",\"sf\":\"false\",\"yes\":\"yes\","
			 "\"one\":1,\"s\":\"cni0\",\"empty\":\"\",\"long\":\"abcdefghijklmnop\","
			 "\"mtu\":1500,\"big\":70000,\"neg\":-5,\"real\":1500.0,\"null\":null,"
			 "\"gw\":\"10.1.0.1\",\"gw6\":\"2001:db8::1\",\"badgw\":\"10.1.0\","
			 "\"net\":\"10.1.0.5/24\",\"net33\":\"10.0.0.0/33\",\"o\":{\"a\":1},"
			 "\"a\":[1,2],\"huge\":\"" /* 100 x's */
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
			 0, NULL);
	return obj ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(obj);
	return 0;
}

/* Uses the caller's `err`, cleared first so a stale code cannot pass. */
#define assert_conf_err(call, text)                                                                \
	do {                                                                                       \
		cni_err_clear(&err);                                                               \
		assert_true((call) < 0);                                                           \
		assert_int_equal(err.code, CNI_ERR_CONFIG);                                        \
		assert_string_equal(err.msg, text);                                                \
	} while (0)

static void test_bool(void **state)
{
	struct cni_err err = {0};
	bool b = false;

	(void)state;
	assert_int_equal(conf_bool(obj, "t", CONF_REQUIRED, &b, &err), 0);
	assert_true(b);
	assert_int_equal(conf_bool(obj, "f", CONF_REQUIRED, &b, &err), 0);
	assert_false(b);
	assert_int_equal(conf_bool(obj, "sT", CONF_REQUIRED, &b, &err), 0);
	assert_true(b);
	assert_int_equal(conf_bool(obj, "sf", CONF_REQUIRED, &b, &err), 0);
	assert_false(b);
	b = true; /* absent and null leave the default alone */
	assert_int_equal(conf_bool(obj, "nope", CONF_OPTIONAL, &b, &err), 0);
	assert_int_equal(conf_bool(obj, "null", CONF_OPTIONAL, &b, &err), 0);
	assert_true(b);
	assert_conf_err(conf_bool(obj, "yes", CONF_OPTIONAL, &b, &err),
			"invalid \"yes\": expected true or false, got \"yes\"");
	assert_conf_err(conf_bool(obj, "one", CONF_OPTIONAL, &b, &err),
			"invalid \"one\": expected true or false, got 1");
	assert_conf_err(conf_bool(obj, "nope", CONF_REQUIRED, &b, &err),
			"missing required key \"nope\"");
	assert_conf_err(conf_bool(obj, "null", CONF_REQUIRED, &b, &err),
			"missing required key \"null\"");
}

static void test_str(void **state)
{
	struct cni_err err = {0};
	const char *s = "default";
	char buf[16] = "dflt";

	(void)state;
	assert_int_equal(conf_str(obj, "s", CONF_REQUIRED, &s, &err), 0);
	assert_string_equal(s, "cni0");
	assert_int_equal(conf_str(obj, "empty", CONF_OPTIONAL, &s, &err), 0);
	assert_string_equal(s, "");
	s = "default";
	assert_int_equal(conf_str(obj, "nope", CONF_OPTIONAL, &s, &err), 0);
	assert_string_equal(s, "default");
	assert_conf_err(conf_str(obj, "empty", CONF_REQUIRED, &s, &err),
			"invalid \"empty\": must not be empty");
	assert_conf_err(conf_str(obj, "mtu", CONF_OPTIONAL, &s, &err),
			"invalid \"mtu\": expected a string, got 1500");
	assert_conf_err(conf_str(obj, "o", CONF_OPTIONAL, &s, &err),
			"invalid \"o\": expected a string, got {\"a\":1}");
	assert_int_equal(conf_str_buf(obj, "s", CONF_REQUIRED, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "cni0");
	assert_int_equal(conf_str_buf(obj, "nope", CONF_OPTIONAL, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "cni0");
	assert_conf_err(conf_str_buf(obj, "long", CONF_REQUIRED, buf, sizeof(buf), &err),
			"invalid \"long\": \"abcdefghijklmnop\" is longer than 15 characters");
}

/* A long value is cut (with "...") so the message keeps key and reason. */
static void test_long_value_cut(void **state)
{
	struct cni_err err = {0};
	const char *prefix = "invalid \"huge\": expected an integer, got \"xxx";
	int64_t v;

	(void)state;
	assert_true(conf_int(obj, "huge", CONF_OPTIONAL, 0, 1, &v, &err) < 0);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	assert_memory_equal(err.msg, prefix, strlen(prefix));
	assert_string_equal(err.msg + strlen(err.msg) - 4, "x...");
	assert_int_equal(strlen(err.msg),
			 strlen("invalid \"huge\": expected an integer, got ") + 71);
}

static void test_int(void **state)
{
	struct cni_err err = {0};
	int64_t v = 7;

	(void)state;
	assert_int_equal(conf_int(obj, "mtu", CONF_REQUIRED, 68, 65535, &v, &err), 0);
	assert_int_equal(v, 1500);
	assert_int_equal(conf_int(obj, "nope", CONF_OPTIONAL, 68, 65535, &v, &err), 0);
	assert_int_equal(v, 1500);
	assert_conf_err(conf_int(obj, "big", CONF_OPTIONAL, 68, 65535, &v, &err),
			"invalid \"big\": 70000 is out of range [68, 65535]");
	assert_conf_err(conf_int(obj, "neg", CONF_OPTIONAL, 0, 10, &v, &err),
			"invalid \"neg\": -5 is out of range [0, 10]");
	assert_conf_err(conf_int(obj, "real", CONF_OPTIONAL, 0, 65535, &v, &err),
			"invalid \"real\": expected an integer, got 1500.0");
	assert_conf_err(conf_int(obj, "s", CONF_OPTIONAL, 0, 65535, &v, &err),
			"invalid \"s\": expected an integer, got \"cni0\"");
	assert_conf_err(conf_int(obj, "nope", CONF_REQUIRED, 0, 1, &v, &err),
			"missing required key \"nope\"");
	assert_int_equal(v, 1500);
}

static void test_addr_prefix(void **state)
{
	struct cni_err err = {0};
	struct inet_addr a = {0};
	struct inet_prefix p = {0};
	char buf[INET_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(conf_addr(obj, "gw", CONF_REQUIRED, &a, &err), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(conf_addr(obj, "gw6", CONF_REQUIRED, &a, &err), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_conf_err(conf_addr(obj, "badgw", CONF_REQUIRED, &a, &err),
			"invalid \"badgw\": expected an IPv4 or IPv6 address, got \"10.1.0\"");
	assert_conf_err(conf_addr(obj, "mtu", CONF_REQUIRED, &a, &err),
			"invalid \"mtu\": expected an IPv4 or IPv6 address, got 1500");
	assert_int_equal(conf_prefix(obj, "net", CONF_REQUIRED, &p, &err), 0);
	assert_string_equal(inet_prefix_fmt(&p, buf, sizeof(buf)), "10.1.0.5/24");
	assert_conf_err(conf_prefix(obj, "net33", CONF_REQUIRED, &p, &err),
			"invalid \"net33\": expected a CIDR (address/prefix-length), got "
			"\"10.0.0.0/33\"");
	assert_conf_err(
		conf_prefix(obj, "gw", CONF_REQUIRED, &p, &err),
		"invalid \"gw\": expected a CIDR (address/prefix-length), got \"10.1.0.1\"");
	assert_conf_err(conf_prefix(obj, "nope", CONF_REQUIRED, &p, &err),
			"missing required key \"nope\"");
}

static void test_object_array(void **state)
{
	struct cni_err err = {0};
	json_t *v = (json_t *)1;

	(void)state;
	assert_int_equal(conf_object(obj, "o", CONF_REQUIRED, &v, &err), 0);
	assert_ptr_equal(v, json_object_get(obj, "o"));
	assert_int_equal(conf_object(obj, "nope", CONF_OPTIONAL, &v, &err), 0);
	assert_null(v);
	assert_int_equal(conf_array(obj, "a", CONF_OPTIONAL, &v, &err), 0);
	assert_int_equal(json_array_size(v), 2);
	assert_int_equal(conf_array(obj, "null", CONF_OPTIONAL, &v, &err), 0);
	assert_null(v);
	assert_conf_err(conf_object(obj, "a", CONF_OPTIONAL, &v, &err),
			"invalid \"a\": expected an object, got [1,2]");
	assert_conf_err(conf_array(obj, "o", CONF_OPTIONAL, &v, &err),
			"invalid \"o\": expected an array, got {\"a\":1}");
	assert_conf_err(conf_array(obj, "nope", CONF_REQUIRED, &v, &err),
			"missing required key \"nope\"");
	/* a non-object container has no keys */
	assert_int_equal(conf_array(json_object_get(obj, "a"), "x", CONF_OPTIONAL, &v, &err), 0);
}

static void test_mac(void **state)
{
	uint8_t mac[6] = {0};
	const uint8_t want[6] = {0x02, 0xab, 0xCD, 0x00, 0x09, 0xff};

	(void)state;
	assert_int_equal(conf_parse_mac("02:ab:CD:00:09:ff", mac), 0);
	assert_memory_equal(mac, want, 6);
	assert_int_equal(conf_parse_mac("02:ab:cd:00:09", mac), -EINVAL);
	assert_int_equal(conf_parse_mac("02:ab:cd:00:09:fg", mac), -EINVAL);
	assert_int_equal(conf_parse_mac("02-ab-cd-00-09-ff", mac), -EINVAL);
	assert_int_equal(conf_parse_mac("02:ab:cd:00:09:ff:", mac), -EINVAL);
	assert_int_equal(conf_parse_mac(NULL, mac), -EINVAL);
	assert_memory_equal(mac, want, 6); /* untouched on failure */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_str),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_addr_prefix),
		cmocka_unit_test(test_object_array),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_long_value_cut),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

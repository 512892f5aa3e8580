/* SPDX-License-Identifier: Apache-2.0 */
/* ipam/range: defaults, containment, overlap, and the round-robin iterator (gateway skip,
 * start after last_reserved_ip, wrap, several ranges per set, one cycle). Pure code. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ipam/range.h"

static struct inet_addr A(const char *s) {
	struct inet_addr a;

	assert_int_equal(inet_addr_parse(s, &a), 0);
	return a;
}

static const char *
fa(const struct inet_addr *a)
{
	static char buf[8][INET6_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 8;
	return inet_addr_fmt(a, buf[i], sizeof(buf[i]));
}

/* Builds a canonicalized set from a JSON list of ranges. */
static void set_of(const char *json, struct ipam_range_set *s)
{
	json_t *j = json_loads(json, 0, NULL);
	struct cni_err err = {0};

	assert_non_null(j);
	assert_int_equal(ipam_range_set_parse(j, s, &err), 0);
	assert_int_equal(ipam_range_set_canonicalize(s, &err), 0);
	json_decref(j);
}

/* The iterator's sequence, space separated. */
static const char *walk(const struct ipam_range_set *s, const char *last, size_t max)
{
	static char out[2048];
	struct inet_addr l, a;
	struct ipam_iter it;
	size_t n = 0;

	out[0] = '\0';
	if (last)
		l = A(last);
	ipam_range_iter_init(&it, s, last ? &l : NULL);
	while (n++ < max && ipam_range_iter_next(&it, &a, NULL)) {
		if (out[0])
			strcat(out, " ");
		strcat(out, fa(&a));
	}
	return out;
}

static void test_defaults_v4(void **state)
{
	struct ipam_range_set s;

	(void)state;
	set_of("[{\"subnet\":\"10.1.2.0/24\"}]", &s);
	assert_string_equal(fa(&s.r[0].start), "10.1.2.1");
	assert_string_equal(fa(&s.r[0].end), "10.1.2.254");
	assert_string_equal(fa(&s.r[0].gateway), "10.1.2.1");
	assert_int_equal(ipam_range_set_family(&s), AF_INET);
	assert_int_equal(ipam_range_set_capacity(&s), 253); /* .2 .. .254 */
	ipam_range_set_free(&s);
}

static void test_defaults_v6(void **state)
{
	struct ipam_range_set s;
	char buf[256];

	(void)state;
	set_of("[{\"subnet\":\"fd00:1::/120\",\"gateway\":\"fd00:1::fe\"}]", &s);
	assert_string_equal(fa(&s.r[0].start), "fd00:1::1");
	assert_string_equal(fa(&s.r[0].end), "fd00:1::ff"); /* no broadcast in IPv6 */
	assert_string_equal(ipam_range_set_fmt(&s, buf, sizeof(buf)), "fd00:1::1-fd00:1::ff");
	assert_int_equal(ipam_range_set_capacity(&s), 254);
	ipam_range_set_free(&s);
	set_of("[{\"subnet\":\"fd00::/64\"}]", &s);
	assert_true(ipam_range_set_capacity(&s) == INT64_MAX); /* saturates */
	ipam_range_set_free(&s);
}

static void test_contains(void **state)
{
	struct ipam_range_set s;
	struct inet_addr a;

	(void)state;
	set_of("[{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.10\",\"rangeEnd\":"
	       "\"10.0.0.20\"},{\"subnet\":\"10.0.1.0/24\"}]",
	       &s);
	a = A("10.0.0.9");
	assert_null(ipam_range_set_find(&s, &a));
	a = A("10.0.0.10");
	assert_ptr_equal(ipam_range_set_find(&s, &a), &s.r[0]);
	a = A("10.0.0.21");
	assert_null(ipam_range_set_find(&s, &a));
	a = A("10.0.1.77");
	assert_ptr_equal(ipam_range_set_find(&s, &a), &s.r[1]);
	a = A("::1");
	assert_null(ipam_range_set_find(&s, &a));
	ipam_range_set_free(&s);
}

static void test_overlaps(void **state)
{
	struct ipam_range_set a, b, c;

	(void)state;
	set_of("[{\"subnet\":\"10.0.0.0/24\",\"rangeEnd\":\"10.0.0.100\"}]", &a);
	set_of("[{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.101\"}]", &b);
	set_of("[{\"subnet\":\"10.0.0.0/16\"}]", &c);
	assert_false(ipam_range_set_overlaps(&a, &b)); /* same subnet, disjoint ranges */
	assert_true(ipam_range_set_overlaps(&a, &c));
	assert_true(ipam_range_set_overlaps(&c, &b));
	ipam_range_set_free(&a);
	ipam_range_set_free(&b);
	ipam_range_set_free(&c);
}

static void test_iter_fresh_skips_gateway(void **state)
{
	struct ipam_range_set s;

	(void)state;
	set_of("[{\"subnet\":\"10.0.0.0/29\"}]", &s);
	assert_string_equal(walk(&s, NULL, 100), "10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6");
	ipam_range_set_free(&s);
}

static void test_iter_after_last_and_wrap(void **state)
{
	struct ipam_range_set s;

	(void)state;
	set_of("[{\"subnet\":\"10.0.0.0/29\"}]", &s);
	assert_string_equal(walk(&s, "10.0.0.4", 100),
			    "10.0.0.5 10.0.0.6 10.0.0.2 10.0.0.3 10.0.0.4");
	assert_string_equal(walk(&s, "10.0.0.6", 100),
			    "10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6");
	/* a last IP outside the set (ranges changed): start over, like the reference */
	assert_string_equal(walk(&s, "10.9.0.4", 2), "10.0.0.2 10.0.0.3");
	ipam_range_set_free(&s);
}

static void test_iter_gateway_inside(void **state)
{
	struct ipam_range_set s;

	(void)state;
	set_of("[{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.10\",\"rangeEnd\":"
	       "\"10.0.0.14\",\"gateway\":\"10.0.0.12\"}]",
	       &s);
	assert_string_equal(walk(&s, NULL, 100), "10.0.0.10 10.0.0.11 10.0.0.13 10.0.0.14");
	assert_string_equal(walk(&s, "10.0.0.11", 100), "10.0.0.13 10.0.0.14 10.0.0.10 10.0.0.11");
	ipam_range_set_free(&s);
}

static void test_iter_multi_range(void **state)
{
	struct ipam_range_set s;

	(void)state;
	set_of("[{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.10\",\"rangeEnd\":"
	       "\"10.0.0.11\"},{\"subnet\":\"10.0.5.0/24\",\"rangeStart\":\"10.0.5.1\","
	       "\"rangeEnd\":\"10.0.5.3\"}]",
	       &s);
	/* 10.0.5.1 is that range's default gateway */
	assert_string_equal(walk(&s, NULL, 100), "10.0.0.10 10.0.0.11 10.0.5.2 10.0.5.3");
	assert_string_equal(walk(&s, "10.0.0.11", 100), "10.0.5.2 10.0.5.3 10.0.0.10 10.0.0.11");
	assert_int_equal(ipam_range_set_capacity(&s), 4);
	ipam_range_set_free(&s);
}

static void test_iter_only_gateway(void **state)
{
	struct ipam_range_set s;

	(void)state;
	set_of("[{\"subnet\":\"10.0.0.0/30\",\"rangeStart\":\"10.0.0.1\",\"rangeEnd\":"
	       "\"10.0.0.1\"}]",
	       &s);
	assert_string_equal(walk(&s, NULL, 100), "");
	assert_string_equal(walk(&s, "10.0.0.1", 100), "");
	assert_int_equal(ipam_range_set_capacity(&s), 0);
	ipam_range_set_free(&s);
}

static void test_iter_v6_carry(void **state)
{
	struct ipam_range_set s;

	(void)state;
	set_of("[{\"subnet\":\"fd00::/64\",\"rangeStart\":\"fd00::fffe\",\"rangeEnd\":"
	       "\"fd00::1:1\"}]",
	       &s);
	assert_string_equal(walk(&s, NULL, 100), "fd00::fffe fd00::ffff fd00::1:0 fd00::1:1");
	ipam_range_set_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_v4),
		cmocka_unit_test(test_defaults_v6),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_iter_fresh_skips_gateway),
		cmocka_unit_test(test_iter_after_last_and_wrap),
		cmocka_unit_test(test_iter_gateway_inside),
		cmocka_unit_test(test_iter_multi_range),
		cmocka_unit_test(test_iter_only_gateway),
		cmocka_unit_test(test_iter_v6_carry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

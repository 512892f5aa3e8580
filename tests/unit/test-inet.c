/* SPDX-License-Identifier: Apache-2.0 */
/* common/inet: parse, format, compare and prefix arithmetic, IPv4 and IPv6 edges. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/inet.h"

static struct inet_addr A(const char *s) {
	struct inet_addr a;

	assert_int_equal(inet_addr_parse(s, &a), 0);
	return a;
}

static struct inet_prefix
P(const char *s) {
	struct inet_prefix p;

	assert_int_equal(inet_prefix_parse(s, &p), 0);
	return p;
}

static const char *
fa(const struct inet_addr *a)
{
	static char buf[INET6_ADDRSTRLEN];

	return inet_addr_fmt(a, buf, sizeof(buf));
}

static void test_parse_addr(void **state)
{
	static const char *const bad[] = {
		"",	    "1.2.3", "1.2.3.4.5",	  "256.1.1.1", "1.2.3.4/24",
		" 1.2.3.4", "::g",   "1:2:3:4:5:6:7:8:9", "10.0.0.01x"};
	struct inet_addr a;

	(void)state;
	a = A("10.1.2.3");
	assert_int_equal(a.family, AF_INET);
	assert_memory_equal(a.bytes, "\x0a\x01\x02\x03", 4);
	a = A("2001:db8::1");
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.bytes[15], 1);
	a = A("::ffff:10.1.2.3"); /* mapped stays IPv6 */
	assert_int_equal(a.family, AF_INET6);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(inet_addr_parse(bad[i], &a), -EINVAL);
	assert_int_equal(inet_addr_parse(NULL, &a), -EINVAL);
}

/* inet_addr_parsen agrees with inet_addr_parse, on a piece of a longer string. */
static void test_parse_addr_n(void **state)
{
	static const char *const items[] = {
		"10.1.2.3", "0.0.0.0",	 "255.255.255.255", "2001:db8::1", "::ffff:10.1.2.3",
		"",	    "1.2.3",	 "1.2.3.4.5",	    "256.1.1.1",   "1.2.3.4/24",
		" 1.2.3.4", "10.0.0.01", "1.2.3.1000",	    "1..2.3",	   "::g"};
	struct inet_addr a, b;

	(void)state;
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		char text[64];
		size_t n = strlen(items[i]);
		int r = inet_addr_parse(items[i], &a);

		snprintf(text, sizeof(text), "%s,9.9.9.9", items[i]);
		assert_int_equal(inet_addr_parsen(text, n, &b), r);
		if (r == 0)
			assert_true(inet_addr_eq(&a, &b));
	}
}

/* A sorted array: where an address goes. */
static void test_lower_bound(void **state)
{
	struct inet_addr v[] = {A("10.0.0.1"), A("10.0.0.5"), A("10.0.0.5"), A("fd00::1")};
	struct inet_addr x;

	(void)state;
	x = A("10.0.0.0");
	assert_int_equal(inet_addr_lower_bound(v, 4, &x), 0);
	x = A("10.0.0.5");
	assert_int_equal(inet_addr_lower_bound(v, 4, &x), 1);
	x = A("10.0.0.6");
	assert_int_equal(inet_addr_lower_bound(v, 4, &x), 3); /* IPv4 sorts before IPv6 */
	x = A("fd00::2");
	assert_int_equal(inet_addr_lower_bound(v, 4, &x), 4);
	assert_int_equal(inet_addr_lower_bound(v, 0, &x), 0);
}

static void test_parse_prefix(void **state)
{
	static const char *const bad[] = {"10.0.0.0",  "10.0.0.0/33", "10.0.0.0/-1",
					  "10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/8x",
					  "::/129",    "/24",	      "x/8"};
	struct inet_prefix p;

	(void)state;
	p = P("10.1.2.5/24");
	assert_int_equal(p.len, 24);
	assert_string_equal(fa(&p.addr), "10.1.2.5"); /* host bits kept */
	p = P("::/0");
	assert_int_equal(p.len, 0);
	p = P("2001:db8::/128");
	assert_int_equal(p.len, 128);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(inet_prefix_parse(bad[i], &p), -EINVAL);
	assert_int_equal(inet_prefix_parse_opt("10.0.0.7", &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(inet_prefix_parse_opt("fd00::7", &p), 0);
	assert_int_equal(p.len, 128);
	assert_int_equal(inet_prefix_parse_opt("fd00::7/64", &p), 0);
	assert_int_equal(p.len, 64);
}

static void test_format(void **state)
{
	char buf[INET_PREFIX_STRLEN];
	struct inet_addr a = A("2001:0db8:0000:0000:0001:0000:0000:0001");
	struct inet_prefix p = P("fd00:0::1/64");

	(void)state;
	/* RFC 5952, like Go's net.IP.String(): the first longest zero run is compressed */
	assert_string_equal(fa(&a), "2001:db8::1:0:0:1");
	assert_string_equal(fa(&(struct inet_addr){0}), "<none>");
	assert_string_equal(inet_prefix_fmt(&p, buf, sizeof(buf)), "fd00::1/64");
	p = P("fd00::/128");
	assert_string_equal(inet_prefix_fmt(&p, buf, sizeof(buf)), "fd00::/128");
	p = P("0.0.0.0/0");
	assert_string_equal(inet_prefix_fmt(&p, buf, sizeof(buf)), "0.0.0.0/0");
	p = P("10.1.2.3/8");
	assert_string_equal(inet_prefix_fmt(&p, buf, sizeof(buf)), "10.1.2.3/8");
	p = P("255.255.255.255/32");
	assert_string_equal(inet_prefix_fmt(&p, buf, sizeof(buf)), "255.255.255.255/32");
	assert_string_equal(inet_prefix_fmt(&p, buf, 12), "255.255.255"); /* cut, as snprintf */
	a = A("2001:db8:0:1:1:1:1:1"); /* one zero field is not compressed */
	assert_string_equal(fa(&a), "2001:db8:0:1:1:1:1:1");
}

static void test_cmp(void **state)
{
	struct inet_addr a = A("10.0.0.1"), b = A("10.0.0.2"), c = A("::1");

	(void)state;
	assert_true(inet_addr_cmp(&a, &b) < 0);
	assert_true(inet_addr_cmp(&b, &a) > 0);
	assert_true(inet_addr_eq(&a, &a));
	assert_false(inet_addr_eq(&a, &c)); /* families differ */
	assert_true(inet_addr_cmp(&a, &c) != 0);
}

static void test_prefix_math(void **state)
{
	struct inet_prefix p = P("10.1.2.77/26"), n, q;
	struct inet_addr last;

	(void)state;
	assert_true(inet_prefix_has_host_bits(&p));
	inet_prefix_network(&p, &n);
	assert_string_equal(fa(&n.addr), "10.1.2.64");
	assert_false(inet_prefix_has_host_bits(&n));
	inet_prefix_last(&p, &last);
	assert_string_equal(fa(&last), "10.1.2.127");
	assert_true(inet_prefix_contains(&p, &(struct inet_addr){0}) == false);
	last = A("10.1.2.128");
	assert_false(inet_prefix_contains(&p, &last));
	last = A("10.1.2.64");
	assert_true(inet_prefix_contains(&p, &last));
	p = P("2001:db8::/61");
	inet_prefix_last(&p, &last);
	assert_string_equal(fa(&last), "2001:db8:0:7:ffff:ffff:ffff:ffff");
	p = P("0.0.0.0/0");
	last = A("255.255.255.255");
	assert_true(inet_prefix_contains(&p, &last));
	last = A("::1");
	assert_false(inet_prefix_contains(&p, &last));
	p = P("10.0.0.0/8");
	q = P("10.200.0.0/16");
	assert_true(inet_prefix_overlaps(&p, &q));
	assert_true(inet_prefix_overlaps(&q, &p));
	q = P("11.0.0.0/16");
	assert_false(inet_prefix_overlaps(&p, &q));
	q = P("::/0");
	assert_false(inet_prefix_overlaps(&p, &q));
	/* covers: inside and no shorter, same family */
	q = P("10.200.0.0/16");
	assert_true(inet_prefix_covers(&p, &q));
	assert_false(inet_prefix_covers(&q, &p));
	assert_true(inet_prefix_covers(&p, &p));
	q = P("11.0.0.0/16");
	assert_false(inet_prefix_covers(&p, &q));
	q = P("::ffff:10.1.0.0/112");
	assert_false(inet_prefix_covers(&p, &q));
	/* bits past a byte boundary, host bits set, /32 and /128 */
	p = P("10.1.2.0/25");
	q = P("10.1.2.128/25");
	assert_false(inet_prefix_overlaps(&p, &q));
	q = P("10.1.2.127/32");
	assert_true(inet_prefix_overlaps(&p, &q) && inet_prefix_overlaps(&q, &p));
	last = A("10.1.2.129");
	assert_false(inet_prefix_contains(&p, &last));
	p = P("10.1.2.200/25"); /* the host bits do not count */
	assert_true(inet_prefix_contains(&p, &last));
	p = P("fc00::/7");
	q = P("fd00:1::/32");
	assert_true(inet_prefix_overlaps(&p, &q));
	q = P("fe00::/8");
	assert_false(inet_prefix_overlaps(&p, &q));
	p = P("fd00::1/128");
	q = P("fd00::/127");
	assert_true(inet_prefix_overlaps(&p, &q));
	q = P("fd00::2/127");
	assert_false(inet_prefix_overlaps(&p, &q));
}

static void test_add(void **state)
{
	struct inet_addr a = A("10.0.0.255"), r;

	(void)state;
	assert_int_equal(inet_addr_next(&a, &r), 0);
	assert_string_equal(fa(&r), "10.0.1.0");
	assert_int_equal(inet_addr_prev(&r, &r), 0);
	assert_string_equal(fa(&r), "10.0.0.255");
	assert_int_equal(inet_addr_add(&a, 65536, &r), 0);
	assert_string_equal(fa(&r), "10.1.0.255");
	a = A("255.255.255.255");
	assert_int_equal(inet_addr_next(&a, &r), -ERANGE);
	a = A("0.0.0.0");
	assert_int_equal(inet_addr_prev(&a, &r), -ERANGE);
	a = A("10.0.0.0");
	assert_int_equal(inet_addr_add(&a, (int64_t)1 << 40, &r), -ERANGE);
	a = A("fd00::ffff:ffff:ffff:ffff");
	assert_int_equal(inet_addr_next(&a, &r), 0);
	assert_string_equal(fa(&r), "fd00:0:0:1::");
	assert_int_equal(inet_addr_add(&r, -1, &r), 0);
	assert_string_equal(fa(&r), "fd00::ffff:ffff:ffff:ffff");
	a = A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_int_equal(inet_addr_next(&a, &r), -ERANGE);
	a = A("::");
	assert_int_equal(inet_addr_prev(&a, &r), -ERANGE);
	assert_int_equal(inet_addr_add(&a, INT64_MIN, &r), -ERANGE);
	a = A("::1");
	assert_int_equal(inet_addr_add(&a, INT64_MAX, &r), 0);
	assert_string_equal(fa(&r), "::8000:0:0:0");
	assert_int_equal(inet_addr_add(&(struct inet_addr){0}, 1, &r), -EINVAL);
}

static void test_distance(void **state)
{
	struct inet_addr a = A("10.0.0.1"), b = A("10.0.1.0"), c = A("::"), d = A("::1:0:0:0:0");

	(void)state;
	assert_int_equal(inet_addr_distance(&a, &b), 255);
	assert_int_equal(inet_addr_distance(&b, &a), -255);
	assert_int_equal(inet_addr_distance(&a, &a), 0);
	assert_true(inet_addr_distance(&a, &c) == INT64_MAX); /* families differ */
	assert_true(inet_addr_distance(&c, &d) == INT64_MAX); /* 2^64: saturated */
	assert_true(inet_addr_distance(&d, &c) == INT64_MIN);
	d = A("::7fff:ffff:ffff:ffff");
	assert_true(inet_addr_distance(&c, &d) == INT64_MAX);
	d = A("::7fff:ffff:ffff:fffe");
	assert_true(inet_addr_distance(&c, &d) == INT64_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_addr),  cmocka_unit_test(test_parse_addr_n),
		cmocka_unit_test(test_lower_bound), cmocka_unit_test(test_parse_prefix),
		cmocka_unit_test(test_format),	    cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_prefix_math), cmocka_unit_test(test_add),
		cmocka_unit_test(test_distance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

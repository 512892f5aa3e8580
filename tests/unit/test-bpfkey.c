/* SPDX-License-Identifier: Apache-2.0 */
/* plugins/lib/bpfkey: an address in the ebpf maps' key form and back, the prefix length
 * offset the LPM keys add. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "plugins/lib/bpfkey.h"

static struct inet_addr A(const char *s) {
	struct inet_addr a;

	assert_int_equal(inet_addr_parse(s, &a), 0);
	return a;
}

static void
test_ipv4_is_mapped(void **state)
{
	struct inet_addr a = A("10.244.3.7"), back;
	uint32_t k[4];

	(void)state;
	bpfkey_of(&a, k);
	assert_int_equal(k[0], 0);
	assert_int_equal(k[1], 0);
	assert_int_equal(k[2], htonl(0x0000ffff));
	assert_int_equal(k[3], a.v4.s_addr);
	assert_int_equal(bpfkey_bits_above(&a), 96);
	bpfkey_addr(k, &back);
	assert_true(inet_addr_eq(&back, &a));
}

static void test_ipv6_is_itself(void **state)
{
	struct inet_addr a = A("fd00:244:2::5"), m = A("::ffff:10.0.0.1"), back;
	uint32_t k[4];

	(void)state;
	bpfkey_of(&a, k);
	assert_memory_equal(k, a.bytes, 16);
	assert_int_equal(bpfkey_bits_above(&a), 0);
	bpfkey_addr(k, &back);
	assert_true(inet_addr_eq(&back, &a));
	/* an IPv4-mapped IPv6 address reads back as the IPv4 one: one key, one address */
	bpfkey_of(&m, k);
	bpfkey_addr(k, &back);
	assert_int_equal(back.family, AF_INET);
	assert_int_equal(back.v4.s_addr, htonl(0x0a000001));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_is_mapped),
		cmocka_unit_test(test_ipv6_is_itself),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

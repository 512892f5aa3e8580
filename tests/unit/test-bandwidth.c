/* SPDX-License-Identifier: Apache-2.0 */
/* plugins/lib/bandwidth: runtimeConfig.bandwidth as containerd (capitalised keys) and CRI-O
 * send it, and the inputs it refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/cleanup.h"
#include "plugins/lib/bandwidth.h"

static int parse(const char *conf, struct bandwidth *bw, struct cni_err *err)
{
	_cleanup_json_ json_t *j = json_loads(conf, 0, NULL);

	assert_non_null(j);
	memset(err, 0, sizeof(*err));
	return bandwidth_parse(j, bw, err);
}

static void test_absent(void **state)
{
	struct bandwidth bw;
	struct cni_err err;

	(void)state;
	assert_int_equal(parse("{}", &bw, &err), 0);
	assert_false(bandwidth_any(&bw));
	assert_int_equal(parse("{\"runtimeConfig\":{\"bandwidth\":null}}", &bw, &err), 0);
	assert_false(bandwidth_any(&bw));
}

static void test_containerd_keys(void **state)
{
	struct bandwidth bw;
	struct cni_err err;

	(void)state;
	assert_int_equal(parse("{\"runtimeConfig\":{\"bandwidth\":{\"IngressRate\":10000000,"
			       "\"IngressBurst\":4294967295,\"EgressRate\":0,\"EgressBurst\":0}}}",
			       &bw, &err),
			 0);
	assert_true(bandwidth_any(&bw));
	assert_int_equal(bw.ingress.rate_bps, 10000000);
	assert_int_equal(bw.ingress.burst_bits, 4294967295ull);
	assert_int_equal(bw.egress.rate_bps, 0);
}

static void test_cni_keys(void **state)
{
	struct bandwidth bw;
	struct cni_err err;

	(void)state;
	assert_int_equal(parse("{\"runtimeConfig\":{\"bandwidth\":{\"egressRate\":1000000,"
			       "\"egressBurst\":100000}}}",
			       &bw, &err),
			 0);
	assert_int_equal(bw.egress.rate_bps, 1000000);
	assert_int_equal(bw.egress.burst_bits, 100000);
	assert_int_equal(bw.ingress.rate_bps, 0);
}

static void test_refused(void **state)
{
	static const char *bad[] = {
		"{\"runtimeConfig\":{\"bandwidth\":{\"ingressBurst\":100}}}",
		"{\"runtimeConfig\":{\"bandwidth\":{\"ingressRate\":100}}}",
		"{\"runtimeConfig\":{\"bandwidth\":{\"egressRate\":-1,\"egressBurst\":1}}}",
		"{\"runtimeConfig\":{\"bandwidth\":{\"egressRate\":\"1M\",\"egressBurst\":1}}}",
		"{\"runtimeConfig\":{\"bandwidth\":{\"egressRate\":1,\"egressBurst\":40000000000}}"
		"}",
		"{\"runtimeConfig\":{\"bandwidth\":[]}}",
	};
	struct bandwidth bw;
	struct cni_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(parse(bad[i], &bw, &err) < 0);
		assert_int_equal(err.code, CNI_ERR_CONFIG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_containerd_keys),
		cmocka_unit_test(test_cni_keys),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

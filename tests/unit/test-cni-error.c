/* SPDX-License-Identifier: Apache-2.0 */
/* cni_err: set / wrap / details / clear, and the exact error JSON a runtime reads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/cni-error.h"

/* The JSON cni_err_write_json prints for err. */
static char *to_json(const struct cni_err *err, const char *version)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(cni_err_write_json(err, version, f), 0);
	fclose(f);
	return buf;
}

static void test_set_returns_errno(void **state)
{
	struct cni_err err = {0};

	(void)state;
	assert_int_equal(cni_err_set(&err, CNI_ERR_NETLINK, EEXIST, "add veth '%s'", "veth0"),
			 -EEXIST);
	assert_int_equal(err.code, CNI_ERR_NETLINK);
	assert_int_equal(err.sys_errno, EEXIST);
	assert_string_equal(err.msg, "add veth 'veth0'");
	assert_string_equal(err.details, "File exists");
	assert_true(cni_err_is_set(&err));
	/* synthetic errors: -EINVAL, no details */
	assert_int_equal(cni_err_set(&err, CNI_ERR_CONFIG, 0, "bad"), -EINVAL);
	assert_string_equal(err.details, "");
	/* NULL err records nothing but still returns */
	assert_int_equal(cni_err_set(NULL, CNI_ERR_IO, EIO, "x"), -EIO);
	assert_false(cni_err_is_set(NULL));
}

static void test_setd_wrap_details(void **state)
{
	struct cni_err err = {0};

	(void)state;
	assert_int_equal(cni_err_setd(&err, CNI_ERR_NETLINK, ENODEV, "kernel says no",
				      "set master of %s", "eth0"),
			 -ENODEV);
	assert_string_equal(err.details, "kernel says no");
	assert_int_equal(cni_err_wrap(&err, "bridge '%s'", "cni0"), -ENODEV);
	assert_int_equal(cni_err_wrap(&err, "ADD"), -ENODEV);
	assert_string_equal(err.msg, "ADD: bridge 'cni0': set master of eth0");
	assert_int_equal(err.code, CNI_ERR_NETLINK); /* wrapping keeps the code */
	cni_err_add_details(&err, "extack: %s", "Device busy");
	assert_string_equal(err.details, "kernel says no; extack: Device busy");
	cni_err_clear(&err);
	assert_false(cni_err_is_set(&err));
	assert_string_equal(err.msg, "");
	/* wrapping an empty error makes it internal, never "success" */
	cni_err_wrap(&err, "context");
	assert_int_equal(err.code, CNI_ERR_INTERNAL);
	assert_string_equal(err.msg, "context");
}

static void test_truncation_is_safe(void **state)
{
	struct cni_err err = {0};
	char big[1024];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cni_err_set(&err, CNI_ERR_INTERNAL, 0, "%s", big);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	cni_err_wrap(&err, "%s", big);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	cni_err_setd(&err, CNI_ERR_INTERNAL, 0, big, "x");
	assert_int_equal(strlen(err.details), sizeof(err.details) - 1);
	cni_err_add_details(&err, "%s", big);
	assert_int_equal(strlen(err.details), sizeof(err.details) - 1);
}

static void test_json_exact(void **state)
{
	struct cni_err err = {0};
	char *s;

	(void)state;
	cni_err_setd(&err, CNI_ERR_CONFIG, 0, "prefix length 33 > 32", "invalid subnet");
	s = to_json(&err, "1.0.0");
	assert_string_equal(s, "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"invalid subnet\","
			       "\"details\":\"prefix length 33 > 32\"}\n");
	free(s);
	/* no version, no details: both omitted */
	cni_err_set(&err, CNI_ERR_ENV, 0, "required env variables [CNI_NETNS] missing");
	s = to_json(&err, NULL);
	assert_string_equal(s, "{\"code\":4,\"msg\":\"required env variables [CNI_NETNS] "
			       "missing\"}\n");
	free(s);
	s = to_json(&err, "");
	assert_string_equal(s, "{\"code\":4,\"msg\":\"required env variables [CNI_NETNS] "
			       "missing\"}\n");
	free(s);
	/* quotes, control characters and non-ASCII are escaped */
	cni_err_set(&err, CNI_ERR_ENV, 0, "bad \"a\tb\xc2\xa0\"");
	s = to_json(&err, NULL);
	assert_string_equal(s, "{\"code\":4,\"msg\":\"bad \\\"a\\tb\\u00A0\\\"\"}\n");
	free(s);
	/* an unset error still yields a usable JSON */
	cni_err_clear(&err);
	s = to_json(&err, NULL);
	assert_string_equal(s, "{\"code\":100,\"msg\":\"unknown error\"}\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_returns_errno),
		cmocka_unit_test(test_setd_wrap_details),
		cmocka_unit_test(test_truncation_is_safe),
		cmocka_unit_test(test_json_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

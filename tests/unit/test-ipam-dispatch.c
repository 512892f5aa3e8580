/* SPDX-License-Identifier: Apache-2.0 */
/* ipam.h as a main plugin uses it: disabled without ipam.type, host-local in-process, any
 * other type exec'd from CNI_PATH (the reference `static` plugin, when installed), results
 * appended to what the caller already has. No root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <unistd.h>

#include "tests/unit/ipam-test-util.h"
#include "ipam/ipam.h"

#define STATIC_DIR "/usr/lib/cni"

/* A request whose whole stdin is `conf`. */
static struct cni_args args_of(const char *conf, enum cni_cmd cmd, json_t **ret_j)
{
	struct cni_args a = {.command = cmd,
			     .container_id = "ctr1",
			     .ifname = "eth0",
			     .netns = "/nonexistent",
			     .cni_args = "",
			     .path = STATIC_DIR};

	*ret_j = json_loads(conf, 0, NULL);
	assert_non_null(*ret_j);
	a.conf = *ret_j;
	a.stdin_data = conf;
	a.stdin_len = strlen(conf);
	a.name = json_string_value(json_object_get(*ret_j, "name"));
	a.cni_version = json_string_value(json_object_get(*ret_j, "cniVersion"));
	return a;
}

static void test_disabled(void **state)
{
	static const char *const confs[] = {
		"{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}",
		"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{}}",
		"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"\"}}",
	};
	struct cni_err err = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(confs) / sizeof(confs[0]); i++) {
		_cleanup_result_ struct cni_result *res = cni_result_new();
		struct ipam *ip = NULL;
		json_t *j;
		struct cni_args a = args_of(confs[i], CNI_CMD_ADD, &j);

		assert_int_equal(ipam_open(&a, &ip, &err), 0);
		assert_false(ipam_enabled(ip));
		assert_null(ipam_type(ip));
		assert_int_equal(ipam_add(ip, &a, res, &err), 0);
		assert_int_equal(res->n_ips, 0);
		assert_int_equal(ipam_del(ip, &a, NULL, &err), 0);
		assert_int_equal(ipam_check(ip, &a, &err), 0);
		assert_int_equal(ipam_status(ip, &a, &err), 0);
		assert_int_equal(ipam_gc(ip, &a, NULL, &err), 0);
		ipam_close(ip);
		json_decref(j);
	}
}

static void test_bad_ipam(void **state)
{
	static const char *const confs[] = {
		"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":[]}",
		"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":7}}",
		"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"../x\"}}",
		"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"host-local\"}}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(confs) / sizeof(confs[0]); i++) {
		struct cni_err err = {0};
		struct ipam *ip = NULL;
		json_t *j;
		struct cni_args a = args_of(confs[i], CNI_CMD_ADD, &j);

		assert_true(ipam_open(&a, &ip, &err) < 0);
		assert_null(ip);
		assert_int_equal(err.code, 7);
		json_decref(j);
	}
}

static void test_host_local_in_process(void **state)
{
	_cleanup_result_ struct cni_result *res = cni_result_new();
	struct cni_err err = {0};
	struct ipam *ip = NULL;
	char conf[1024], buf[64];
	json_t *j;
	struct cni_args a;

	(void)state;
	snprintf(conf, sizeof(conf),
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"ipam\":{\"type\":\"host-local\","
		 "\"dataDir\":\"%s\",\"subnet\":\"10.9.0.0/24\"}}",
		 tu_data);
	a = args_of(conf, CNI_CMD_ADD, &j);
	assert_int_equal(ipam_open(&a, &ip, &err), 0);
	assert_true(ipam_enabled(ip));
	assert_string_equal(ipam_type(ip), "host-local");
	assert_int_equal(ipam_add(ip, &a, res, &err), 0);
	assert_int_equal(res->n_ips, 1);
	assert_string_equal(inet_prefix_fmt(&res->ips[0].address, buf, sizeof(buf)), "10.9.0.2/24");
	assert_int_equal(res->ips[0].interface, -1);
	assert_string_equal(tu_read("10.9.0.2"), "ctr1\r\neth0");
	assert_int_equal(ipam_check(ip, &a, &err), 0);
	assert_int_equal(ipam_status(ip, &a, &err), 0);
	assert_int_equal(ipam_del(ip, &a, NULL, &err), 0);
	assert_false(tu_exists("10.9.0.2"));
	assert_true(ipam_check(ip, &a, &err) < 0);
	ipam_close(ip);
	json_decref(j);
}

static void test_delegated(void **state)
{
	const char *conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"ipam\":{\"type\":"
			   "\"static\",\"addresses\":[{\"address\":\"10.10.0.7/24\",\"gateway\":"
			   "\"10.10.0.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}}";
	_cleanup_result_ struct cni_result *res = cni_result_new();
	struct inet_prefix pre;
	struct cni_err err = {0};
	struct ipam *ip = NULL;
	char buf[64];
	json_t *j;
	struct cni_args a;

	(void)state;
	if (access(STATIC_DIR "/static", X_OK) != 0)
		skip();
	setenv("CNI_CONTAINERID", "ctr1", 1);
	setenv("CNI_IFNAME", "eth0", 1);
	setenv("CNI_NETNS", "/nonexistent", 1);
	setenv("CNI_PATH", STATIC_DIR, 1);
	a = args_of(conf, CNI_CMD_ADD, &j);
	assert_int_equal(ipam_open(&a, &ip, &err), 0);
	assert_string_equal(ipam_type(ip), "static");
	assert_int_equal(inet_prefix_parse("192.168.0.5/24", &pre), 0);
	assert_true(cni_result_add_ip(res, &pre, NULL, 2, &err) >= 0); /* the caller's own */
	assert_int_equal(ipam_add(ip, &a, res, &err), 0);
	assert_int_equal(res->n_ips, 2);
	assert_int_equal(res->ips[0].interface, 2);
	assert_string_equal(inet_prefix_fmt(&res->ips[1].address, buf, sizeof(buf)),
			    "10.10.0.7/24");
	assert_string_equal(inet_addr_fmt(&res->ips[1].gateway, buf, sizeof(buf)), "10.10.0.1");
	assert_int_equal(res->ips[1].interface, -1);
	assert_int_equal(res->n_routes, 1);
	assert_int_equal(ipam_del(ip, &a, NULL, &err), 0);
	ipam_close(ip);
	json_decref(j);
	/* a type that is not in CNI_PATH: the error names it */
	conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"ipam\":{\"type\":\"no-such-ipam\"}}";
	a = args_of(conf, CNI_CMD_ADD, &j);
	assert_int_equal(ipam_open(&a, &ip, &err), 0);
	assert_true(ipam_add(ip, &a, res, &err) < 0);
	assert_non_null(strstr(err.msg, "no-such-ipam"));
	ipam_close(ip);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_bad_ipam),
		cmocka_unit_test_setup_teardown(test_host_local_in_process, tu_setup, tu_teardown),
		cmocka_unit_test(test_delegated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The host-local verbs over a store in mkdtemp(): round robin, wrap, gateway skip,
 * exhaustion, requested IPs, duplicates, rollback across range sets, DEL/CHECK/STATUS/GC.
 * No root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/ipam-test-util.h"

#define SMALL "{\"type\":\"host-local\",\"dataDir\":\"@D@\",\"subnet\":\"10.0.0.0/29\"}"

static void test_round_robin(void **state)
{
	(void)state;
	tu_ipam = SMALL;
	assert_string_equal(tu_add("a"), "10.0.0.2"); /* .1 is the gateway */
	assert_string_equal(tu_read("10.0.0.2"), "a\r\neth0");
	assert_string_equal(tu_read("last_reserved_ip.0"), "10.0.0.2");
	assert_int_equal(tu_verb(CNI_CMD_DEL, "a", NULL), 0);
	assert_false(tu_exists("10.0.0.2"));
	/* released IPs are not reused until the cursor wraps */
	assert_string_equal(tu_add("b"), "10.0.0.3");
	assert_string_equal(tu_ls(), "10.0.0.3 last_reserved_ip.0 lock");
}

static void test_wrap_and_exhaustion(void **state)
{
	struct cni_err err;

	(void)state;
	tu_ipam = SMALL;
	assert_string_equal(tu_add("a"), "10.0.0.2");
	assert_string_equal(tu_add("b"), "10.0.0.3");
	assert_string_equal(tu_add("c"), "10.0.0.4");
	assert_string_equal(tu_add("d"), "10.0.0.5");
	assert_string_equal(tu_add("e"), "10.0.0.6");
	assert_string_equal(tu_add("f"),
			    "ERR 104 failed to allocate for range 0: no IP addresses available in "
			    "range set: 10.0.0.1-10.0.0.6");
	assert_true(tu_verb(CNI_CMD_STATUS, NULL, &err) < 0);
	assert_int_equal(err.code, 50);
	assert_string_equal(err.msg, "no IP addresses available in range set: 10.0.0.1-10.0.0.6");
	assert_int_equal(tu_verb(CNI_CMD_DEL, "c", NULL), 0);
	assert_int_equal(tu_verb(CNI_CMD_STATUS, NULL, NULL), 0);
	assert_string_equal(tu_add("f"), "10.0.0.4"); /* wrapped around to the free one */
	assert_string_equal(tu_read("last_reserved_ip.0"), "10.0.0.4");
}

static void test_gateway_skipped(void **state)
{
	(void)state;
	tu_ipam = "{\"type\":\"host-local\",\"dataDir\":\"@D@\",\"ranges\":[[{\"subnet\":"
		  "\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.10\",\"rangeEnd\":\"10.0.0.12\","
		  "\"gateway\":\"10.0.0.11\"}]]}";
	assert_string_equal(tu_add("a"), "10.0.0.10");
	assert_string_equal(tu_add("b"), "10.0.0.12");
	assert_string_equal(tu_add("c"), "ERR 104 failed to allocate for range 0: no IP addresses "
					 "available in range set: 10.0.0.10-10.0.0.12");
}

static void test_status_any_set_exhausted(void **state)
{
	struct cni_err err;

	(void)state;
	tu_ipam = "{\"type\":\"host-local\",\"dataDir\":\"@D@\",\"ranges\":[[{\"subnet\":"
		  "\"10.0.0.0/24\"}],[{\"subnet\":\"fd00::/120\",\"rangeStart\":\"fd00::5\","
		  "\"rangeEnd\":\"fd00::5\"}]]}";
	assert_int_equal(tu_verb(CNI_CMD_STATUS, NULL, NULL), 0); /* no store yet */
	assert_string_equal(tu_add("a"), "10.0.0.2");
	assert_true(tu_verb(CNI_CMD_STATUS, NULL, &err) < 0);
	assert_int_equal(err.code, 50);
	assert_string_equal(err.msg, "no IP addresses available in range set: fd00::5-fd00::5");
}

static void test_requested(void **state)
{
	struct tu_req *q;

	(void)state;
	tu_ipam = "{\"type\":\"host-local\",\"dataDir\":\"@D@\",\"subnet\":\"10.0.0.0/24\"}";
	q = tu_req_full(CNI_CMD_ADD, "1.0.0", "a", "eth0", NULL, "10.0.0.77");
	assert_string_equal(tu_add_full(q), "10.0.0.77");
	tu_req_free(q);
	assert_string_equal(tu_read("last_reserved_ip.0"), "10.0.0.77");
	q = tu_req_full(CNI_CMD_ADD, "1.0.0", "b", "eth0",
			",\"args\":{\"cni\":{\"ips\":[\"10.0.0.77\"]}}", NULL);
	assert_string_equal(tu_add_full(q), "ERR 105 failed to allocate for range 0: requested IP "
					    "address 10.0.0.77 is not available in range set "
					    "10.0.0.1-10.0.0.254");
	tu_req_free(q);
	q = tu_req_full(CNI_CMD_ADD, "1.0.0", "b", "eth0",
			",\"runtimeConfig\":{\"ips\":[\"10.0.0.1/24\"]}", NULL);
	assert_string_equal(tu_add_full(q), "ERR 105 failed to allocate for range 0: requested ip "
					    "10.0.0.1 is subnet's gateway");
	tu_req_free(q);
	q = tu_req_full(CNI_CMD_ADD, "1.0.0", "b", "eth0", NULL, "10.9.9.9");
	assert_string_equal(tu_add_full(q),
			    "ERR 105 failed to allocate all requested IPs: 10.9.9.9");
	tu_req_free(q);
	/* nothing of b's is left behind by the failures */
	assert_string_equal(tu_ls(), "10.0.0.77 last_reserved_ip.0 lock");
}

static void test_duplicate(void **state)
{
	(void)state;
	tu_ipam = SMALL;
	assert_string_equal(tu_add("a"), "10.0.0.2");
	assert_string_equal(tu_add("a"),
			    "ERR 105 failed to allocate for range 0: 10.0.0.2 has been "
			    "allocated to a, duplicate allocation is not allowed");
	/* another ifname of the same container is another attachment */
	{
		struct tu_req *q = tu_req_full(CNI_CMD_ADD, "1.1.0", "a", "eth1", NULL, NULL);

		assert_string_equal(tu_add_full(q), "10.0.0.3");
		tu_req_free(q);
	}
}

/* Dual stack: the second set failing releases what the first set got. */
static void test_rollback_across_sets(void **state)
{
	struct tu_req *q;

	(void)state;
	tu_ipam = "{\"type\":\"host-local\",\"dataDir\":\"@D@\",\"ranges\":[[{\"subnet\":"
		  "\"10.0.0.0/24\"}],[{\"subnet\":\"fd00::/120\",\"rangeStart\":\"fd00::5\","
		  "\"rangeEnd\":\"fd00::5\"}]]}";
	assert_string_equal(tu_add("a"), "10.0.0.2");
	q = tu_req(CNI_CMD_ADD, "b");
	assert_string_equal(tu_add_full(q),
			    "ERR 104 failed to allocate for range 1: no IP addresses "
			    "available in range set: fd00::5-fd00::5");
	tu_req_free(q);
	assert_false(tu_exists("10.0.0.3"));
	assert_string_equal(tu_ls(), "10.0.0.2 fd00::5 last_reserved_ip.0 last_reserved_ip.1 lock");
}

static void test_result_shape(void **state)
{
	struct tu_req *q;
	struct cni_result *res = cni_result_new();
	char buf[512];
	FILE *f;

	(void)state;
	snprintf(buf, sizeof(buf), "%s/resolv.conf", tu_data);
	f = fopen(buf, "w");
	fputs("# c\n; c\nnameserver 10.0.0.53\nnameserver  fd00::53 # x\ndomain a.example\n"
	      "search a.example b.example\noptions ndots:5 rotate\noptions edns0\nbogus\n",
	      f);
	fclose(f);
	tu_ipam = "{\"type\":\"host-local\",\"dataDir\":\"@D@\",\"resolvConf\":\"@D@/resolv.conf\","
		  "\"ranges\":[[{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.254\"}],[{"
		  "\"subnet\":\"fd00::/64\"}]],\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":"
		  "\"::/0\",\"gw\":\"fd00::1\"}]}";
	q = tu_req(CNI_CMD_ADD, "a");
	assert_int_equal(ipam_hostlocal_add(q->c, &q->a, res, &q->err), 0);
	assert_int_equal(res->n_ifaces, 0);
	assert_int_equal(res->n_ips, 2);
	assert_string_equal(inet_prefix_fmt(&res->ips[0].address, buf, sizeof(buf)), "10.0.0.1/24");
	assert_string_equal(inet_addr_fmt(&res->ips[0].gateway, buf, sizeof(buf)), "10.0.0.254");
	assert_int_equal(res->ips[0].interface, -1);
	assert_string_equal(inet_prefix_fmt(&res->ips[1].address, buf, sizeof(buf)), "fd00::2/64");
	assert_int_equal(res->n_routes, 2);
	assert_string_equal(inet_addr_fmt(&res->routes[1].gw, buf, sizeof(buf)), "fd00::1");
	{
		char *dns = json_dumps(res->dns, JSON_COMPACT | JSON_SORT_KEYS);

		assert_string_equal(dns, "{\"domain\":\"a.example\",\"nameservers\":[\"10.0.0.53\","
					 "\"fd00::53\"],\"options\":[\"ndots:5\",\"rotate\","
					 "\"edns0\"],\"search\":[\"a.example\",\"b.example\"]}");
		free(dns);
	}
	cni_result_free(res);
	tu_req_free(q);
}

static void test_del_check_idempotent(void **state)
{
	struct cni_err err;

	(void)state;
	tu_ipam = SMALL;
	assert_int_equal(tu_verb(CNI_CMD_DEL, "nobody", NULL), 0); /* no network dir at all */
	assert_false(tu_exists(""));				   /* and DEL made none */
	assert_true(tu_verb(CNI_CMD_CHECK, "a", &err) < 0);
	assert_string_equal(err.msg, "host-local: Failed to find address added by container a");
	assert_string_equal(tu_add("a"), "10.0.0.2");
	assert_int_equal(tu_verb(CNI_CMD_CHECK, "a", NULL), 0);
	assert_int_equal(tu_verb(CNI_CMD_DEL, "a", NULL), 0);
	assert_int_equal(tu_verb(CNI_CMD_DEL, "a", NULL), 0);
	assert_int_equal(tu_verb(CNI_CMD_DEL, "nobody", NULL), 0);
	assert_true(tu_verb(CNI_CMD_CHECK, "a", &err) < 0);
	assert_int_equal(err.code, 105);
}

static void test_gc(void **state)
{
	struct tu_req *q;

	(void)state;
	tu_ipam = SMALL;
	assert_string_equal(tu_add("a"), "10.0.0.2");
	assert_string_equal(tu_add("b"), "10.0.0.3");
	tu_write("10.0.0.6", "legacy");
	q = tu_req(CNI_CMD_GC, "");
	q->att[0] = (struct cni_attachment){.container_id = "a", .ifname = "eth0"};
	q->att[1] = (struct cni_attachment){.container_id = "legacy", .ifname = "eth9"};
	q->a.n_valid_attachments = 2;
	q->a.has_valid_attachments = true;
	assert_int_equal(ipam_hostlocal_gc(q->c, &q->a, NULL, &q->err), 0);
	tu_req_free(q);
	assert_string_equal(tu_ls(), "10.0.0.2 10.0.0.6 last_reserved_ip.0 lock");
	/* no valid attachments: everything of this network goes, lock and cursor stay */
	q = tu_req(CNI_CMD_GC, "");
	assert_int_equal(ipam_hostlocal_gc(q->c, &q->a, NULL, &q->err), 0);
	tu_req_free(q);
	assert_string_equal(tu_ls(), "last_reserved_ip.0 lock");
	/* the index was rebuilt: a's DEL and CHECK see nothing */
	assert_true(tu_verb(CNI_CMD_CHECK, "a", NULL) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_robin, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_wrap_and_exhaustion, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_gateway_skipped, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_status_any_set_exhausted, tu_setup,
						tu_teardown),
		cmocka_unit_test_setup_teardown(test_requested, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_rollback_across_sets, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_result_shape, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_del_check_idempotent, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_gc, tu_setup, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

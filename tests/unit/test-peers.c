/* SPDX-License-Identifier: Apache-2.0 */
/* plugins/lib/peers.c: parsing (list and NodeList), validation, digest, VTEP MAC derivation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "plugins/lib/peers.h"

static int parse_str(const char *s, struct peers *p, struct cni_err *err)
{
	_cleanup_json_ json_t *j = json_loads(s, 0, NULL);

	assert_non_null(j);
	memset(err, 0, sizeof(*err));
	return peers_parse(j, "peers", p, err);
}

static const char *ip_s(const struct inet_addr *a, char *buf)
{
	return inet_addr_fmt(a, buf, INET6_ADDRSTRLEN);
}

static void test_list(void **state)
{
	struct peers p = {0};
	struct cni_err err;
	char b[INET_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(
		parse_str("[{\"name\":\"n2\",\"nodeIP\":\"192.0.2.2\",\"podCIDR\":\"10.1.2.7/24\"},"
			  "{\"name\":\"n1\",\"nodeIP\":\"192.0.2.1\",\"podCIDR\":\"10.1.1.0/24\"}]",
			  &p, &err),
		0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.v[0].name, "n1"); /* sorted */
	assert_string_equal(ip_s(&p.v[1].node_ip, b), "192.0.2.2");
	assert_string_equal(inet_prefix_fmt(&p.v[1].pod_cidr, b, sizeof(b)), "10.1.2.0/24");
	assert_int_equal(peers_find(&p, "n2"), 1);
	assert_int_equal(peers_find(&p, "n3"), -1);
	peers_free(&p);
	assert_int_equal(parse_str("[]", &p, &err), 0);
	assert_int_equal(p.n, 0);
	peers_free(&p);
}

static void test_nodelist(void **state)
{
	struct peers p = {0};
	struct cni_err err;
	char b[INET6_ADDRSTRLEN];
	const char *nl =
		"{\"kind\":\"NodeList\",\"items\":["
		"{\"metadata\":{\"name\":\"a\"},\"spec\":{\"podCIDRs\":[\"fd00:1::/64\",\"10.2.0.0/"
		"24\"]},"
		" \"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":\"a\"},"
		"  "
		"{\"type\":\"InternalIP\",\"address\":\"192.0.2.1\"},{\"type\":\"InternalIP\","
		"\"address\":\"2001:db8::1\"}]}},"
		"{\"metadata\":{\"name\":\"b\"},\"spec\":{\"podCIDR\":\"10.2.1.0/24\"},"
		" \"status\":{\"addresses\":[{\"type\":\"ExternalIP\",\"address\":\"203.0.113.9\"},"
		"  {\"type\":\"InternalIP\",\"address\":\"192.0.2.2\"}]}},"
		"{\"metadata\":{\"name\":\"unassigned\"},\"spec\":{},"
		" \"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.0.2.3\"}]}}"
		"]}";

	(void)state;
	assert_int_equal(parse_str(nl, &p, &err), 0);
	assert_int_equal(p.n, 2); /* no pod CIDR yet: skipped */
	/* podCIDRs[0] is IPv6: the InternalIP of the same family wins */
	assert_string_equal(ip_s(&p.v[0].node_ip, b), "2001:db8::1");
	assert_string_equal(ip_s(&p.v[1].node_ip, b), "192.0.2.2"); /* not the ExternalIP */
	peers_free(&p);
}

static void expect_bad(const char *json, const char *needle)
{
	struct peers p = {0};
	struct cni_err err;

	assert_true(parse_str(json, &p, &err) < 0);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	if (!strstr(err.msg, needle))
		fail_msg("\"%s\" not in \"%s\"", needle, err.msg);
	assert_int_equal(p.n, 0);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_bad("{\"a\":1}", "expected a list");
	expect_bad("[1]", "entry 0 is not an object");
	expect_bad("[{\"nodeIP\":\"192.0.2.1\",\"podCIDR\":\"10.0.0.0/24\"}]", "\"name\" missing");
	expect_bad("[{\"name\":\"x y\",\"nodeIP\":\"192.0.2.1\",\"podCIDR\":\"10.0.0.0/24\"}]",
		   "invalid node name");
	expect_bad("[{\"name\":\"n\",\"nodeIP\":\"192.0.2.300\",\"podCIDR\":\"10.0.0.0/24\"}]",
		   "node \"n\": invalid nodeIP \"192.0.2.300\"");
	expect_bad("[{\"name\":\"n\",\"nodeIP\":\"192.0.2.1\",\"podCIDR\":\"10.0.0.0\"}]",
		   "invalid podCIDR");
	expect_bad("[{\"name\":\"n\",\"nodeIP\":\"192.0.2.1\",\"podCIDR\":\"10.0.0.0/24\"},"
		   "{\"name\":\"n\",\"nodeIP\":\"192.0.2.2\",\"podCIDR\":\"10.0.1.0/24\"}]",
		   "node \"n\" is listed twice");
}

static const char three[] =
	"[{\"name\":\"a\",\"nodeIP\":\"192.0.2.1\",\"podCIDR\":\"10.1.1.0/24\"},"
	"{\"name\":\"b\",\"nodeIP\":\"192.0.2.2\",\"podCIDR\":\"10.1.2.0/24\"},"
	"{\"name\":\"c\",\"nodeIP\":\"192.0.2.3\",\"podCIDR\":\"10.1.3.0/24\"}]";

static void test_validate(void **state)
{
	struct peers p = {0};
	struct peer self;
	struct cni_err err = {0};
	struct inet_prefix local;

	(void)state;
	assert_int_equal(parse_str(three, &p, &err), 0);
	assert_int_equal(peers_take_self(&p, "b", &self), 1);
	assert_int_equal(p.n, 2);
	assert_int_equal(peers_find(&p, "b"), -1);
	assert_int_equal(peers_take_self(&p, "zz", &self), 0);
	inet_prefix_parse("10.1.2.0/25", &local);
	assert_int_equal(peers_validate(&p, &self, &local, 1, &err), 0);
	/* the local range outside this node's pod CIDR */
	inet_prefix_parse("10.1.9.0/24", &local);
	assert_true(peers_validate(&p, &self, &local, 1, &err) < 0);
	assert_non_null(strstr(err.msg, "of this node (\"b\") does not contain the local range"));
	assert_null(strstr(err.msg, "dual-stack"));
	/* an IPv6 range beside this node's IPv4 pod CIDR: one pod CIDR per node, said so */
	memset(&err, 0, sizeof(err));
	inet_prefix_parse("fd00:1:2::/64", &local);
	assert_true(peers_validate(&p, &self, &local, 1, &err) < 0);
	assert_non_null(strstr(err.msg, "the local range fd00:1:2::/64 (one pod CIDR per node: "
					"dual-stack is not supported)"));
	/* without self: a peer's pod CIDR overlapping the local range */
	memset(&err, 0, sizeof(err));
	inet_prefix_parse("10.1.0.0/16", &local);
	assert_true(peers_validate(&p, NULL, &local, 1, &err) < 0);
	assert_non_null(strstr(err.msg, "overlaps the local range 10.1.0.0/16"));
	peers_free(&p);
}

static void test_overlap_and_same_ip(void **state)
{
	struct peers p = {0};
	struct peer self;
	struct cni_err err = {0};

	(void)state;
	assert_int_equal(
		parse_str("[{\"name\":\"a\",\"nodeIP\":\"192.0.2.1\",\"podCIDR\":\"10.1.0.0/16\"},"
			  "{\"name\":\"m\",\"nodeIP\":\"192.0.2.5\",\"podCIDR\":\"10.9.0.0/24\"},"
			  "{\"name\":\"z\",\"nodeIP\":\"192.0.2.2\",\"podCIDR\":\"10.1.7.0/24\"}]",
			  &p, &err),
		0);
	assert_true(peers_validate(&p, NULL, NULL, 0, &err) < 0);
	assert_non_null(strstr(err.msg, "podCIDR 10.1.7.0/24 of node \"z\" overlaps podCIDR "
					"10.1.0.0/16 of node \"a\""));
	/* self takes part in the overlap check */
	peers_free(&p);
	assert_int_equal(parse_str(three, &p, &err), 0);
	self = p.v[0];
	snprintf(self.name, sizeof(self.name), "me");
	memset(&err, 0, sizeof(err));
	assert_true(peers_validate(&p, &self, NULL, 0, &err) < 0);
	assert_non_null(strstr(err.msg, "overlaps"));
	peers_free(&p);
	assert_int_equal(
		parse_str("[{\"name\":\"a\",\"nodeIP\":\"192.0.2.1\",\"podCIDR\":\"10.1.1.0/24\"},"
			  "{\"name\":\"b\",\"nodeIP\":\"192.0.2.1\",\"podCIDR\":\"10.1.2.0/24\"}]",
			  &p, &err),
		0);
	memset(&err, 0, sizeof(err));
	assert_true(peers_validate(&p, NULL, NULL, 0, &err) < 0);
	assert_non_null(strstr(err.msg, "the same nodeIP 192.0.2.1"));
	peers_free(&p);
}

static void test_digest(void **state)
{
	struct peers p = {0}, q = {0};
	struct cni_err err;
	char d1[17], d2[17], d3[17], d4[17];

	(void)state;
	assert_int_equal(parse_str(three, &p, &err), 0);
	/* the same set in another order */
	assert_int_equal(
		parse_str("[{\"name\":\"c\",\"nodeIP\":\"192.0.2.3\",\"podCIDR\":\"10.1.3.0/24\"},"
			  "{\"name\":\"a\",\"nodeIP\":\"192.0.2.1\",\"podCIDR\":\"10.1.1.0/24\"},"
			  "{\"name\":\"b\",\"nodeIP\":\"192.0.2.2\",\"podCIDR\":\"10.1.2.9/24\"}]",
			  &q, &err),
		0);
	peers_digest(&p, NULL, "x", d1);
	peers_digest(&q, NULL, "x", d2);
	assert_int_equal(strlen(d1), 16);
	assert_string_equal(d1, d2);
	peers_digest(&p, NULL, "y", d3); /* params count */
	assert_string_not_equal(d1, d3);
	q.n = 2; /* a and b, c as the extra one: the same set */
	peers_digest(&q, &q.v[2], "x", d4);
	assert_string_equal(d1, d4);
	peers_digest(&q, NULL, "x", d4); /* one peer less */
	assert_string_not_equal(d1, d4);
	q.n = 3;
	inet_addr_parse("192.0.2.4", &q.v[1].node_ip); /* one node IP changed */
	peers_digest(&q, NULL, "x", d4);
	assert_string_not_equal(d1, d4);
	inet_prefix_parse("10.1.2.0/25", &q.v[1].pod_cidr); /* and back, the pod CIDR changed */
	inet_addr_parse("192.0.2.2", &q.v[1].node_ip);
	peers_digest(&q, NULL, "x", d4);
	assert_string_not_equal(d1, d4);
	assert_false(peers_eq(&p.v[1], &q.v[1]));
	assert_true(peers_eq(&p.v[0], &q.v[0]));
	peers_free(&p);
	peers_free(&q);
}

/* The text peers_json_write makes reads back as the same set, the extra peer in its place and
 * names with quotes and backslashes escaped. */
static void test_json_write(void **state)
{
	struct peers p = {0}, q = {0};
	struct peer extra = {0};
	struct cni_err err;
	char *t, *end;

	(void)state;
	assert_int_equal(
		parse_str(
			"[{\"name\":\"a\\\"q\\\\\",\"nodeIP\":\"192.0.2.1\",\"podCIDR\":\"10.1.1.0/"
			"24\"},"
			"{\"name\":\"c\",\"nodeIP\":\"2001:db8::3\",\"podCIDR\":\"fd00:3::/64\"}]",
			&p, &err),
		0);
	snprintf(extra.name, sizeof(extra.name), "b");
	inet_addr_parse("192.0.2.2", &extra.node_ip);
	inet_prefix_parse("10.1.2.0/24", &extra.pod_cidr);
	t = malloc((p.n + 3) * PEER_JSON_MAX);
	assert_non_null(t);
	end = peers_json_write(t, &p, &extra);
	assert_int_equal(*end, '\0');
	assert_int_equal(end - t, (long)strlen(t));
	assert_non_null(
		strstr(t, "{\"name\":\"b\",\"nodeIP\":\"192.0.2.2\",\"podCIDR\":\"10.1.2.0/24\"}"));
	assert_int_equal(parse_str(t, &q, &err), 0);
	assert_int_equal(q.n, 3);
	assert_string_equal(q.v[0].name, "a\"q\\");
	assert_true(peers_eq(&q.v[1], &extra));
	assert_true(peers_eq(&q.v[2], &p.v[1]));
	assert_true(strstr(t, "\"name\":\"b\"") > strstr(t, "\"name\":\"a"));
	assert_true(strstr(t, "\"name\":\"b\"") < strstr(t, "\"name\":\"c\""));
	end = peers_json_write(t, &(struct peers){0}, NULL);
	assert_string_equal(t, "[]");
	free(t);
	peers_free(&p);
	peers_free(&q);
}

static void test_vtep_mac(void **state)
{
	struct inet_addr ip, ip2;
	uint8_t m1[6], m2[6], m3[6], m4[6];
	char s[18];

	(void)state;
	inet_addr_parse("192.0.2.1", &ip);
	inet_addr_parse("192.0.2.2", &ip2);
	peers_vtep_mac("net", "node-a", &ip, m1);
	peers_vtep_mac("net", "node-a", &ip, m2);
	assert_memory_equal(m1, m2, 6);	   /* deterministic: survives restarts */
	assert_int_equal(m1[0] & 0x01, 0); /* unicast */
	assert_int_equal(m1[0] & 0x02, 2); /* locally administered */
	peers_vtep_mac("net", "node-b", &ip, m3);
	peers_vtep_mac("net2", "node-a", &ip, m4);
	assert_memory_not_equal(m1, m3, 6);
	assert_memory_not_equal(m1, m4, 6);
	peers_vtep_mac("net", "node-a", &ip2, m3);
	assert_memory_not_equal(m1, m3, 6);
	/* a fixed vector: every node and every weft version must derive the same MAC */
	snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x", m1[0], m1[1], m1[2], m1[3], m1[4],
		 m1[5]);
	print_message("vtep(net, node-a, 192.0.2.1) = %s\n", s);
	assert_string_equal(s, "de:fc:e7:ee:63:0c"); /* see plugins/vxlan/README.md */
}

static void test_file(void **state)
{
	char path[] = "/tmp/weft-test-peers.XXXXXX";
	struct peers p = {0};
	struct cni_err err = {0};
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_true(write(fd, three, sizeof(three) - 1) == (ssize_t)sizeof(three) - 1);
	close(fd);
	assert_int_equal(peers_load_file(path, &p, &err), 0);
	assert_int_equal(p.n, 3);
	peers_free(&p);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(write(fd, "[{", 2) == 2);
	close(fd);
	assert_true(peers_load_file(path, &p, &err) < 0);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	assert_non_null(strstr(err.msg, path));
	unlink(path);
	memset(&err, 0, sizeof(err));
	assert_true(peers_load_file(path, &p, &err) < 0);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "unreadable"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_nodelist),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_overlap_and_same_ip),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_json_write),
		cmocka_unit_test(test_vtep_mac),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

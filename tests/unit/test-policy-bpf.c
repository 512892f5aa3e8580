/* SPDX-License-Identifier: Apache-2.0 */
/* agent/policy-bpf: the entries and rules the eBPF datapath gets for a direction, checked
 * through a model of the program's lookup (longest prefix in the key space, mask, ports)
 * against pol_dir_allows (agent/policy.c), the semantics the nftables backend shares. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/policy-bpf.h"
#include "common/cleanup.h"

/* ---- a model of bpf/cni_ebpf.bpf.c's pol_allows ---- */

/* Bit i of an LPM key's data (after its prefixlen). */
static bool key_bit(const void *key, unsigned i)
{
	const uint8_t *b = (const uint8_t *)key + sizeof(uint32_t);

	return b[i / 8] >> (7 - i % 8) & 1;
}

/* Does the trie entry (its key) match the full-length key? */
static bool key_match(const void *entry, const void *key)
{
	uint32_t len;

	memcpy(&len, entry, sizeof(len));
	for (unsigned i = 0; i < len; i++)
		if (key_bit(entry, i) != key_bit(key, i))
			return false;
	return true;
}

static uint64_t model_mask(const struct polbpf_entry *e, size_t n, const struct inet_addr *a)
{
	struct inet_prefix full = {.addr = *a, .len = (uint8_t)inet_addr_bits(a)};
	struct weft_pol_key ak, ek;
	uint32_t best = 0;
	uint64_t mask = 0;

	polbpf_key(7, 1, &full, &ak);
	for (size_t i = 0; i < n; i++) {
		polbpf_key(7, 1, &e[i].pfx, &ek);
		if (key_match(&ek, &ak) && ek.prefixlen + 1 > best) {
			best = ek.prefixlen + 1;
			mask = e[i].mask;
		}
	}
	return mask;
}

static uint64_t model_port_mask(const struct polbpf_port *e, size_t n, uint8_t proto, uint16_t port)
{
	struct weft_pol_port_key pk = {.prefixlen = WEFT_POL_PORT_KEY_BITS,
				       .id = {.pol = 7, .slot = 1},
				       .proto = proto,
				       .port = {(uint8_t)(port >> 8), (uint8_t)port}},
				 ek;
	uint32_t best = 0;
	uint64_t mask = 0;

	for (size_t i = 0; i < n; i++) {
		polbpf_port_key(7, 1, &e[i], &ek);
		if (key_match(&ek, &pk) && ek.prefixlen + 1 > best) {
			best = ek.prefixlen + 1;
			mask = e[i].mask;
		}
	}
	return mask;
}

struct model {
	struct polbpf_entry *e;
	size_t n;
	struct polbpf_port *p;
	size_t n_p;
};

static void model_free(struct model *m)
{
	free(m->e);
	free(m->p);
}

static void model_build(const struct pol_dir *d, struct model *m)
{
	struct cni_err err = {0};

	assert_int_equal(polbpf_masks(d, &m->e, &m->n, &err), 0);
	assert_int_equal(polbpf_ports(d, &m->p, &m->n_p, &err), 0);
}

static bool model_allows(const struct model *m, const struct inet_addr *a, uint8_t proto,
			 uint16_t port)
{
	return (model_mask(m->e, m->n, a) & model_port_mask(m->p, m->n_p, proto, port)) != 0;
}

static struct inet_addr addr(const char *s)
{
	struct inet_addr a;

	assert_int_equal(inet_addr_parse(s, &a), 0);
	return a;
}

static struct inet_prefix pfx(const char *s)
{
	struct inet_prefix p;

	assert_int_equal(inet_prefix_parse(s, &p), 0);
	return p;
}

static const struct polbpf_entry *find(const struct polbpf_entry *e, size_t n, const char *s)
{
	struct inet_prefix p = pfx(s);

	for (size_t i = 0; i < n; i++)
		if (e[i].pfx.len == p.len && inet_addr_eq(&e[i].pfx.addr, &p.addr))
			return &e[i];
	return NULL;
}

static bool has_any(const struct polbpf_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!e[i].pfx.addr.family)
			return true;
	return false;
}

/* rule 0: 10.0.0.0/8 except 10.1.0.0/16 and 10.2.3.4/32; rule 1: the pod 10.1.2.3. */
static void test_except(void **state)
{
	struct inet_prefix ex[] = {pfx("10.1.0.0/16"), pfx("10.2.3.4/32")};
	struct pol_block b = {.cidr = pfx("10.0.0.0/8"), .except = ex, .n_except = 2};
	struct inet_addr ip = addr("10.1.2.3");
	struct pol_rule rules[] = {{.blocks = &b, .n_blocks = 1, .any_port = true},
				   {.ips = &ip, .n_ips = 1, .any_port = true}};
	struct pol_dir d = {.isolated = true, .rules = rules, .n = 2};
	_cleanup_free_ struct polbpf_entry *e = NULL;
	struct cni_err err = {0};
	size_t n = 0;

	(void)state;
	assert_int_equal(polbpf_masks(&d, &e, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(find(e, n, "10.0.0.0/8")->mask, 1);
	assert_int_equal(find(e, n, "10.1.0.0/16")->mask, 0);
	assert_int_equal(find(e, n, "10.2.3.4/32")->mask, 0);
	assert_int_equal(find(e, n, "10.1.2.3/32")->mask, 2);
	assert_false(has_any(e, n));
	assert_int_equal(model_mask(e, n, &(struct inet_addr){0}) == 0, 1);
	ip = addr("10.9.9.9");
	assert_int_equal(model_mask(e, n, &ip), 1);
	ip = addr("10.1.2.4");
	assert_int_equal(model_mask(e, n, &ip), 0);
	ip = addr("11.0.0.1");
	assert_int_equal(model_mask(e, n, &ip), 0);
}

/* Any peer: one zero-length entry, or ::/0 carrying it (the same key). */
static void test_any_peer(void **state)
{
	struct pol_block b6 = {.cidr = pfx("::/0")};
	struct pol_rule rules[] = {{.any_peer = true, .any_port = true},
				   {.blocks = &b6, .n_blocks = 1, .any_port = true}};
	struct pol_dir d = {.isolated = true, .rules = rules, .n = 1};
	_cleanup_free_ struct polbpf_entry *e = NULL, *e2 = NULL;
	struct inet_addr a4 = addr("192.0.2.1"), a6 = addr("2001:db8::1");
	struct cni_err err = {0};
	size_t n = 0, n2 = 0;

	(void)state;
	assert_int_equal(polbpf_masks(&d, &e, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(has_any(e, n));
	assert_int_equal(e[0].mask, 1);
	assert_int_equal(model_mask(e, n, &a4), 1);
	assert_int_equal(model_mask(e, n, &a6), 1);

	d.n = 2;
	assert_int_equal(polbpf_masks(&d, &e2, &n2, &err), 0);
	assert_false(has_any(e2, n2)); /* ::/0 is that key */
	assert_int_equal(find(e2, n2, "::/0")->mask, 3);
	assert_int_equal(find(e2, n2, "0.0.0.0/0")->mask, 1);
	assert_int_equal(model_mask(e2, n2, &a4), 1);
	assert_int_equal(model_mask(e2, n2, &a6), 3);
}

/* An IPv6 block never matches IPv4 peers, though ::/96 contains ::ffff:0:0/96. */
static void test_v6_block_not_v4(void **state)
{
	struct pol_block b6 = {.cidr = pfx("::/0")};
	struct pol_rule rule = {.blocks = &b6, .n_blocks = 1, .any_port = true};
	struct pol_dir d = {.isolated = true, .rules = &rule, .n = 1};
	_cleanup_free_ struct polbpf_entry *e = NULL;
	struct inet_addr a4 = addr("10.0.0.1"), a6 = addr("fd00::1");
	struct cni_err err = {0};
	size_t n = 0;

	(void)state;
	assert_int_equal(polbpf_masks(&d, &e, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(model_mask(e, n, &a4), 0);
	assert_int_equal(model_mask(e, n, &a6), 1);
}

static const struct polbpf_port *find_port(const struct model *m, uint8_t proto, uint16_t port,
					   uint8_t len)
{
	for (size_t i = 0; i < m->n_p; i++)
		if (!m->p[i].any && m->p[i].proto == proto && m->p[i].port == port &&
		    m->p[i].len == len)
			return &m->p[i];
	return NULL;
}

/* rule 0: TCP 80, every UDP port, TCP 1000-2000; rule 1: every port; rule 2: TCP 1024-1031. */
static void test_ports(void **state)
{
	struct pol_port p[] = {
		{POL_PROTO_TCP, 80, 80}, {POL_PROTO_UDP, 0, 0}, {POL_PROTO_TCP, 1000, 2000}};
	struct pol_port p2 = {POL_PROTO_TCP, 1024, 1031};
	struct pol_rule rules[] = {{.any_peer = true, .ports = p, .n_ports = 3},
				   {.any_peer = true, .any_port = true},
				   {.any_peer = true, .ports = &p2, .n_ports = 1}};
	struct pol_dir d = {.isolated = true, .rules = rules, .n = 3};
	_cleanup_(model_free) struct model m = {0};

	(void)state;
	model_build(&d, &m);
	assert_int_equal(find_port(&m, POL_PROTO_TCP, 80, 16)->mask, 3);
	assert_int_equal(find_port(&m, POL_PROTO_UDP, 0, 0)->mask, 3);
	assert_int_equal(find_port(&m, POL_PROTO_TCP, 1000, 13)->mask, 3); /* 1000-1007 */
	assert_int_equal(find_port(&m, POL_PROTO_TCP, 1024, 13)->mask, 7); /* 1024-1031 */
	assert_int_equal(find_port(&m, POL_PROTO_TCP, 2000, 16)->mask, 3);
	assert_int_equal(find_port(&m, POL_PROTO_TCP, 1536, 8)->mask, 3); /* 1536-1791 */
	d.n = 1;
	model_free(&m);
	memset(&m, 0, sizeof(m));
	model_build(&d, &m);
	for (uint32_t port = 1; port < 65536; port += port < 3000 ? 1 : 97) {
		struct inet_addr a = addr("192.0.2.1");

		assert_int_equal(model_allows(&m, &a, POL_PROTO_TCP, (uint16_t)port),
				 pol_dir_allows(&d, &a, POL_PROTO_TCP, (uint16_t)port));
		assert_true(model_allows(&m, &a, POL_PROTO_UDP, (uint16_t)port));
		assert_false(model_allows(&m, &a, POL_PROTO_SCTP, (uint16_t)port));
	}
}

static void test_too_big(void **state)
{
	_cleanup_free_ struct pol_rule *rules = calloc(WEFT_POL_RULES_MAX + 1, sizeof(*rules));
	struct pol_dir d = {.isolated = true, .rules = rules, .n = WEFT_POL_RULES_MAX + 1};
	struct polbpf_entry *e = NULL;
	struct polbpf_port *p = NULL;
	struct cni_err err = {0};
	size_t n = 0;

	(void)state;
	assert_int_equal(polbpf_masks(&d, &e, &n, &err), -E2BIG);
	assert_int_equal(polbpf_ports(&d, &p, &n, &err), -E2BIG);
	d.n = WEFT_POL_RULES_MAX;
	assert_int_equal(polbpf_masks(&d, &e, &n, &err), 0);
	free(e);
}

/* ---- random directions: the model of the program agrees with pol_dir_allows ---- */

static uint32_t rnd_state = 12345;

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static struct inet_addr rnd_addr(void)
{
	static const char *const base[] = {"10.0.0.0", "10.0.1.0", "fd00::", "fd00::100"};
	struct inet_addr a = addr(base[rnd(4)]);

	a.bytes[(a.family == AF_INET ? 4 : 16) - 1] = (uint8_t)rnd(256);
	return a;
}

static struct inet_prefix rnd_pfx(void)
{
	struct inet_prefix p = {.addr = rnd_addr()};
	int bits = inet_addr_bits(&p.addr);
	uint32_t pick = rnd(10);

	p.len = (uint8_t)(pick == 0 ? 0 : pick == 1 ? bits - 16 : bits - (int)rnd(9));
	return p;
}

static void rnd_rule(struct pol_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->any_peer = rnd(8) == 0;
	r->n_ips = rnd(3);
	r->ips = calloc(r->n_ips + 1, sizeof(*r->ips));
	for (size_t i = 0; i < r->n_ips; i++)
		r->ips[i] = rnd_addr();
	r->n_blocks = rnd(3);
	r->blocks = calloc(r->n_blocks + 1, sizeof(*r->blocks));
	for (size_t i = 0; i < r->n_blocks; i++) {
		struct pol_block *b = &r->blocks[i];

		b->cidr = rnd_pfx();
		b->n_except = rnd(3);
		b->except = calloc(b->n_except + 1, sizeof(*b->except));
		for (size_t j = 0; j < b->n_except; j++)
			b->except[j] = rnd_pfx();
	}
	r->any_port = rnd(3) == 0;
	r->n_ports = r->any_port ? 0 : 1 + rnd(2);
	r->ports = calloc(r->n_ports + 1, sizeof(*r->ports));
	for (size_t i = 0; i < r->n_ports; i++) {
		struct pol_port *p = &r->ports[i];

		p->proto = rnd(2) ? POL_PROTO_TCP : POL_PROTO_UDP;
		p->lo = rnd(4) ? (uint16_t)(1 + rnd(20)) : 0;
		p->hi = p->lo ? (uint16_t)(p->lo + rnd(9)) : 0;
	}
}

static void rule_free(struct pol_rule *r)
{
	for (size_t i = 0; i < r->n_blocks; i++)
		free(r->blocks[i].except);
	free(r->blocks);
	free(r->ips);
	free(r->ports);
}

static void one_random_dir(void)
{
	struct pol_rule rules[6];
	struct pol_dir d = {.isolated = true, .rules = rules, .n = 1 + rnd(6)};
	_cleanup_(model_free) struct model m = {0};

	for (size_t i = 0; i < d.n; i++)
		rnd_rule(&rules[i]);
	model_build(&d, &m);
	for (int i = 0; i < 200; i++) {
		struct inet_addr a = rnd(20) ? rnd_addr() : addr(rnd(2) ? "192.0.2.1" : "2001::1");
		uint8_t proto = rnd(2) ? POL_PROTO_TCP : POL_PROTO_UDP;
		uint16_t port = (uint16_t)(1 + rnd(30));

		if (model_allows(&m, &a, proto, port) != pol_dir_allows(&d, &a, proto, port)) {
			char buf[INET6_ADDRSTRLEN];

			fail_msg("%s %u/%u differs", inet_addr_fmt(&a, buf, sizeof(buf)), proto,
				 port);
		}
	}
	for (size_t i = 0; i < d.n; i++)
		rule_free(&rules[i]);
}

static void test_random_against_policy(void **state)
{
	(void)state;
	for (int i = 0; i < 2000; i++)
		one_random_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_except),
		cmocka_unit_test(test_any_peer),
		cmocka_unit_test(test_v6_block_not_v4),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_random_against_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

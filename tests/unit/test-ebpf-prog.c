/* SPDX-License-Identifier: Apache-2.0 */
/* The tc programs of bpf/cni_ebpf.bpf.c run on crafted frames with BPF_PROG_TEST_RUN: ARP
 * replies built byte for byte, the redirect decision, TTL and MAC rewrite with a valid
 * checksum, the per-endpoint counters. Needs root (CAP_BPF + CAP_NET_ADMIN): skipped without.
 * The process moves into a fresh netns first; test runs never transmit anything anyway. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cni-bpf.h"

#define SRC_IFINDEX 1  /* lo of the test's netns: test runs need an existing device */
#define DST_IFINDEX 99 /* never used as a device: the redirect is not executed */

static const uint8_t pod_a_mac[6] = {0x02, 0xaa, 0, 0, 0, 0x0a};
static const uint8_t host_a_mac[6] = {0x02, 0xee, 0, 0, 0, 0x0a};
static const uint8_t pod_b_mac[6] = {0x02, 0xaa, 0, 0, 0, 0x0b};
static const uint8_t host_b_mac[6] = {0x02, 0xee, 0, 0, 0, 0x0b};
#define POD_A  "10.99.0.2"
#define POD_B  "10.99.0.3"
#define ROUTER "169.254.1.1"

struct arp_frame {
	struct ethhdr eth;
	uint16_t hrd, pro;
	uint8_t hln, pln;
	uint16_t op;
	uint8_t sha[6];
	uint32_t sip;
	uint8_t tha[6];
	uint32_t tip;
} __attribute__((packed));

struct ip_frame {
	struct ethhdr eth;
	struct iphdr ip;
	uint8_t payload[32];
} __attribute__((packed));

struct fixture {
	struct bpf_object *obj;
	int from_pod, to_pod, eps, stats;
};

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static uint16_t ip_csum(const void *buf, size_t len)
{
	const uint16_t *p = buf;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *p++;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void obj_path(char *buf, size_t len)
{
	const char *bin = getenv("WEFT_TEST_BIN"); /* <OUT>/bin: the object is <OUT>/bpf/... */
	const char *slash = bin ? strrchr(bin, '/') : NULL;

	if (!slash)
		snprintf(buf, len, "build/bpf/cni_ebpf.bpf.o");
	else
		snprintf(buf, len, "%.*s/bpf/cni_ebpf.bpf.o", (int)(slash - bin), bin);
}

static int setup(void **state)
{
	static struct fixture f;
	char path[4096];

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		*state = NULL;
		return 0;
	}
	obj_path(path, sizeof(path));
	f.obj = bpf_object__open_file(path, NULL);
	if (!f.obj || bpf_object__load(f.obj) < 0) {
		fprintf(stderr, "cannot load %s: %s\n", path, strerror(errno));
		return -1;
	}
	f.from_pod = bpf_program__fd(bpf_object__find_program_by_name(f.obj, "weft_from_pod"));
	f.to_pod = bpf_program__fd(bpf_object__find_program_by_name(f.obj, "weft_to_pod"));
	f.eps = bpf_object__find_map_fd_by_name(f.obj, "weft_eps");
	f.stats = bpf_object__find_map_fd_by_name(f.obj, "weft_stats");
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f)
		bpf_object__close(f->obj);
	return 0;
}

static struct fixture *fixture_or_skip(void **state)
{
	struct fixture *f = *state;
	struct weft_ep_stats zero[512];
	struct weft_ep a = {.ifindex = SRC_IFINDEX, .tag = 0xa};
	struct weft_ep b = {.ifindex = DST_IFINDEX, .tag = 0xb};
	struct weft_ep_key ka = {.ip4 = 0}, kb = {.ip4 = 0};
	uint32_t ifs[] = {SRC_IFINDEX, DST_IFINDEX};

	if (!f)
		skip();
	memcpy(a.mac, pod_a_mac, 6);
	memcpy(a.host_mac, host_a_mac, 6);
	memcpy(b.mac, pod_b_mac, 6);
	memcpy(b.host_mac, host_b_mac, 6);
	ka.ip4 = ip4(POD_A);
	kb.ip4 = ip4(POD_B);
	assert_int_equal(bpf_map_update_elem(f->eps, &ka, &a, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(f->eps, &kb, &b, BPF_ANY), 0);
	assert_true(libbpf_num_possible_cpus() <= 512);
	memset(zero, 0, sizeof(zero));
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(bpf_map_update_elem(f->stats, &ifs[i], zero, BPF_ANY), 0);
	return f;
}

static void stats_sum(struct fixture *f, uint32_t ifindex, struct weft_ep_stats *ret)
{
	struct weft_ep_stats per_cpu[512];
	int n = libbpf_num_possible_cpus();

	memset(ret, 0, sizeof(*ret));
	assert_int_equal(bpf_map_lookup_elem(f->stats, &ifindex, per_cpu), 0);
	for (int i = 0; i < n; i++) {
		ret->tx_packets += per_cpu[i].tx_packets;
		ret->tx_bytes += per_cpu[i].tx_bytes;
		ret->fwd_packets += per_cpu[i].fwd_packets;
		ret->rx_packets += per_cpu[i].rx_packets;
		ret->rx_bytes += per_cpu[i].rx_bytes;
		ret->arp_replies += per_cpu[i].arp_replies;
	}
}

/* Runs prog on in (len bytes) as if received on SRC_IFINDEX; out gets the result frame. */
static int run(int prog, const void *in, size_t len, void *out, uint32_t *out_len)
{
	struct __sk_buff ctx = {.ifindex = SRC_IFINDEX};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len, .data_out = out,
		    .data_size_out = *out_len, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(prog, &o), 0);
	*out_len = o.data_size_out;
	return (int)o.retval;
}

static void arp_request(struct arp_frame *f, const char *sip, const char *tip)
{
	memset(f, 0, sizeof(*f));
	memset(f->eth.h_dest, 0xff, 6);
	memcpy(f->eth.h_source, pod_a_mac, 6);
	f->eth.h_proto = htons(ETH_P_ARP);
	f->hrd = htons(1);
	f->pro = htons(ETH_P_IP);
	f->hln = 6;
	f->pln = 4;
	f->op = htons(1);
	memcpy(f->sha, pod_a_mac, 6);
	f->sip = ip4(sip);
	f->tip = ip4(tip);
}

static void ip_packet(struct ip_frame *f, const char *src, const char *dst, uint8_t ttl)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->eth.h_dest, host_a_mac, 6);
	memcpy(f->eth.h_source, pod_a_mac, 6);
	f->eth.h_proto = htons(ETH_P_IP);
	f->ip.version = 4;
	f->ip.ihl = 5;
	f->ip.tot_len = htons(sizeof(f->ip) + sizeof(f->payload));
	f->ip.id = htons(0x1234);
	f->ip.ttl = ttl;
	f->ip.protocol = 1;
	f->ip.saddr = ip4(src);
	f->ip.daddr = ip4(dst);
	f->ip.check = ip_csum(&f->ip, sizeof(f->ip));
	f->payload[0] = 8; /* ICMP echo request; the programs never look at it */
}

static void test_arp_router_answered(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct arp_frame in, out;
	uint32_t len = sizeof(out);
	struct weft_ep_stats st;

	arp_request(&in, POD_A, ROUTER);
	assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_REDIRECT);
	assert_int_equal(len, sizeof(out));
	assert_memory_equal(out.eth.h_dest, pod_a_mac, 6);
	assert_memory_equal(out.eth.h_source, host_a_mac, 6);
	assert_int_equal(ntohs(out.eth.h_proto), ETH_P_ARP);
	assert_int_equal(ntohs(out.op), 2);
	assert_memory_equal(out.sha, host_a_mac, 6);
	assert_int_equal(out.sip, ip4(ROUTER));
	assert_memory_equal(out.tha, pod_a_mac, 6);
	assert_int_equal(out.tip, ip4(POD_A));
	assert_int_equal(out.hrd, htons(1));
	assert_int_equal(out.pro, htons(ETH_P_IP));
	stats_sum(f, SRC_IFINDEX, &st);
	assert_int_equal(st.arp_replies, 1);
}

static void test_arp_any_other_address_answered(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct arp_frame in, out;
	uint32_t len = sizeof(out);

	arp_request(&in, POD_A, POD_B);
	assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_REDIRECT);
	assert_int_equal(out.sip, ip4(POD_B));
	assert_memory_equal(out.sha, host_a_mac, 6);
}

static void assert_passed_unchanged(struct fixture *f, int prog, const void *in, size_t n)
{
	uint8_t out[256];
	uint32_t len = sizeof(out);

	assert_int_equal(run(prog, in, n, out, &len), TC_ACT_OK);
	assert_int_equal(len, n);
	assert_memory_equal(out, in, n);
	(void)f;
}

static void test_arp_not_answered(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct arp_frame in;

	arp_request(&in, POD_A, POD_A); /* gratuitous: the pod announces itself */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	arp_request(&in, "10.99.0.77", ROUTER); /* sender is no endpoint on this veth */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	arp_request(&in, POD_B, ROUTER); /* an endpoint, but behind another veth */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	arp_request(&in, POD_A, ROUTER);
	in.op = htons(2); /* replies go to the stack */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	arp_request(&in, POD_A, ROUTER);
	in.hln = 8; /* not Ethernet/IPv4 */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
}

static void test_ipv4_local_redirected(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct ip_frame in, out;
	uint32_t len = sizeof(out);
	struct weft_ep_stats a, b;

	ip_packet(&in, POD_A, POD_B, 64);
	assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_REDIRECT);
	assert_int_equal(len, sizeof(out));
	assert_memory_equal(out.eth.h_dest, pod_b_mac, 6);
	assert_memory_equal(out.eth.h_source, host_b_mac, 6);
	assert_int_equal(out.ip.ttl, 63);
	assert_int_equal(ip_csum(&out.ip, sizeof(out.ip)), 0); /* checksum still valid */
	assert_int_not_equal(out.ip.check, in.ip.check);
	out.ip.ttl = in.ip.ttl;
	out.ip.check = in.ip.check;
	assert_memory_equal(&out.ip, &in.ip, sizeof(in.ip)); /* nothing else touched */
	assert_memory_equal(out.payload, in.payload, sizeof(in.payload));

	stats_sum(f, SRC_IFINDEX, &a);
	stats_sum(f, DST_IFINDEX, &b);
	assert_int_equal(a.tx_packets, 1);
	assert_int_equal(a.tx_bytes, sizeof(in));
	assert_int_equal(a.fwd_packets, 1);
	assert_int_equal(b.rx_packets, 1);
	assert_int_equal(b.rx_bytes, sizeof(in));
	assert_int_equal(a.rx_packets, 0);
}

static void test_ipv4_checksum_carry(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct ip_frame in, out;
	uint32_t len = sizeof(out);

	/* Walk ids so the checksum hits the end-around-carry cases of the incremental update. */
	for (unsigned id = 0; id < 0x10000; id += 0x101) {
		ip_packet(&in, POD_A, POD_B, 200);
		in.ip.id = htons((uint16_t)id);
		in.ip.check = 0;
		in.ip.check = ip_csum(&in.ip, sizeof(in.ip));
		len = sizeof(out);
		assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_REDIRECT);
		assert_int_equal(out.ip.ttl, 199);
		assert_int_equal(ip_csum(&out.ip, sizeof(out.ip)), 0);
	}
}

static void test_ipv4_to_stack(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct weft_ep_stats a;
	struct ip_frame in;

	ip_packet(&in, POD_A, "192.0.2.9", 64); /* off-node: routing + masquerade */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	ip_packet(&in, POD_A, POD_B, 1); /* TTL expires: the stack sends time-exceeded */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	ip_packet(&in, POD_B, POD_A, 64); /* destination behind the very same veth */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	stats_sum(f, SRC_IFINDEX, &a);
	assert_int_equal(a.tx_packets, 3);
	assert_int_equal(a.fwd_packets, 0);
}

static void test_other_frames_to_stack(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct arp_frame arp;
	struct ip_frame in;

	ip_packet(&in, POD_A, POD_B, 64);
	in.eth.h_proto = htons(ETH_P_IPV6);
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	ip_packet(&in, POD_A, POD_B, 64);
	in.ip.ihl = 4; /* malformed */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	/* Truncated ARP (test runs refuse IPv4 frames shorter than an IP header). */
	arp_request(&arp, POD_A, ROUTER);
	assert_passed_unchanged(f, f->from_pod, &arp, sizeof(arp) - 4);
}

static void test_to_pod_counts(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct weft_ep_stats a;
	struct ip_frame in;

	ip_packet(&in, "192.0.2.9", POD_A, 64);
	assert_passed_unchanged(f, f->to_pod, &in, sizeof(in));
	stats_sum(f, SRC_IFINDEX, &a);
	assert_int_equal(a.rx_packets, 1);
	assert_int_equal(a.rx_bytes, sizeof(in));
	assert_int_equal(a.tx_packets, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_router_answered),
		cmocka_unit_test(test_arp_any_other_address_answered),
		cmocka_unit_test(test_arp_not_answered),
		cmocka_unit_test(test_ipv4_local_redirected),
		cmocka_unit_test(test_ipv4_checksum_carry),
		cmocka_unit_test(test_ipv4_to_stack),
		cmocka_unit_test(test_other_frames_to_stack),
		cmocka_unit_test(test_to_pod_counts),
	};

	libbpf_set_print(NULL);
	return cmocka_run_group_tests(tests, setup, teardown);
}

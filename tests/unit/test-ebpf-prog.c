/* SPDX-License-Identifier: Apache-2.0 */
/* The tc programs of bpf/cni_ebpf.bpf.c run on crafted frames with BPF_PROG_TEST_RUN: ARP
 * replies and IPv6 neighbour advertisements built byte for byte (with a valid ICMPv6
 * checksum), the redirect decision for IPv4 and IPv6, TTL / hop limit and MAC rewrite with a
 * valid checksum, the per-endpoint counters. Needs root (CAP_BPF + CAP_NET_ADMIN): skipped without.
 * The process moves into a fresh netns first; test runs never transmit anything anyway. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/include/cni-bpf.h"

#define SRC_IFINDEX 1  /* lo of the test's netns: test runs need an existing device */
#define DST_IFINDEX 99 /* never used as a device: the redirect is not executed */

static const uint8_t pod_a_mac[6] = {0x02, 0xaa, 0, 0, 0, 0x0a};
static const uint8_t host_a_mac[6] = {0x02, 0xee, 0, 0, 0, 0x0a};
static const uint8_t pod_b_mac[6] = {0x02, 0xaa, 0, 0, 0, 0x0b};
static const uint8_t host_b_mac[6] = {0x02, 0xee, 0, 0, 0, 0x0b};
#define POD_A	"10.99.0.2"
#define POD_B	"10.99.0.3"
#define ROUTER	"169.254.1.1"
#define POD_A6	"fd99::2"
#define POD_B6	"fd99::3"
#define LL_A	"fe80::aa:ff:fe00:a" /* pod A's link-local: the usual NS source */
#define ROUTER6 "fe80::1"

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

/* An IPv6 neighbour solicitation with a source link-layer address option (as Linux sends). */
struct ns_frame {
	struct ethhdr eth;
	struct ipv6hdr ip6;
	uint8_t type, code;
	uint16_t csum;
	uint32_t reserved;
	struct in6_addr target;
	uint8_t opt_type, opt_len, opt_mac[6];
} __attribute__((packed));

struct ip6_frame {
	struct ethhdr eth;
	struct ipv6hdr ip6;
	uint8_t payload[32];
} __attribute__((packed));

struct fixture {
	struct bpf_object *obj;
	int from_pod, to_pod, eps, links, stats, remote;
};

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static struct in6_addr ip6(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

static struct weft_ep_key key4(const char *s)
{
	struct weft_ep_key k = {.addr = {0, 0, htonl(WEFT_V4_MAPPED), ip4(s)}};

	return k;
}

static struct weft_ep_key key6(const char *s)
{
	struct weft_ep_key k;
	struct in6_addr a = ip6(s);

	memcpy(k.addr, &a, 16);
	return k;
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
	f.links = bpf_object__find_map_fd_by_name(f.obj, "weft_links");
	f.remote = bpf_object__find_map_fd_by_name(f.obj, "weft_remote");
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
	struct weft_link la = {.tag = 0xa};
	struct weft_ep_key ka, kb, ka6, kb6;
	uint32_t ifs[] = {SRC_IFINDEX, DST_IFINDEX};

	if (!f)
		skip();
	memcpy(a.mac, pod_a_mac, 6);
	memcpy(a.host_mac, host_a_mac, 6);
	memcpy(b.mac, pod_b_mac, 6);
	memcpy(b.host_mac, host_b_mac, 6);
	memcpy(la.mac, pod_a_mac, 6);
	memcpy(la.host_mac, host_a_mac, 6);
	ka = key4(POD_A);
	kb = key4(POD_B);
	ka6 = key6(POD_A6);
	kb6 = key6(POD_B6);
	assert_int_equal(bpf_map_update_elem(f->eps, &ka, &a, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(f->eps, &kb, &b, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(f->eps, &ka6, &a, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(f->eps, &kb6, &b, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(f->links, &ifs[0], &la, BPF_ANY), 0);
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
		ret->nd_replies += per_cpu[i].nd_replies;
		ret->remote_packets += per_cpu[i].remote_packets;
		ret->remote_bytes += per_cpu[i].remote_bytes;
		ret->denied_packets += per_cpu[i].denied_packets;
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

/* RFC 4443 checksum over the pseudo header and the ICMPv6 message of len bytes, of an
 * Ethernet + IPv6 + ICMPv6 frame. */
static uint16_t icmp6_csum(const void *frame, size_t len)
{
	const uint8_t *ip = (const uint8_t *)frame + sizeof(struct ethhdr);
	const uint8_t *msg = ip + sizeof(struct ipv6hdr);
	uint8_t buf[40 + 64];
	uint32_t l = htonl((uint32_t)len);

	assert_true(len <= 64);
	memcpy(buf, ip + offsetof(struct ipv6hdr, saddr), 32);
	memcpy(buf + 32, &l, 4);
	memset(buf + 36, 0, 3);
	buf[39] = 58;
	memcpy(buf + 40, msg, len);
	return ip_csum(buf, 40 + len);
}

static void ns_request(struct ns_frame *f, const char *src, const char *target)
{
	struct in6_addr t = ip6(target);

	memset(f, 0, sizeof(*f));
	f->eth.h_dest[0] = 0x33; /* solicited-node multicast */
	f->eth.h_dest[1] = 0x33;
	memcpy(f->eth.h_source, pod_a_mac, 6);
	f->eth.h_proto = htons(ETH_P_IPV6);
	f->ip6.version = 6;
	f->ip6.payload_len = htons(32);
	f->ip6.nexthdr = 58;
	f->ip6.hop_limit = 255;
	f->ip6.saddr = ip6(src);
	f->ip6.daddr = ip6("ff02::1:ff00:1");
	f->ip6.daddr.s6_addr[13] = t.s6_addr[13];
	f->ip6.daddr.s6_addr[14] = t.s6_addr[14];
	f->ip6.daddr.s6_addr[15] = t.s6_addr[15];
	f->type = 135;
	f->target = t;
	f->opt_type = 1;
	f->opt_len = 1;
	memcpy(f->opt_mac, pod_a_mac, 6);
	f->csum = icmp6_csum(f, 32);
}

static void assert_na(const struct ns_frame *out, const char *target, const char *to)
{
	struct in6_addr t = ip6(target), d = ip6(to);

	assert_memory_equal(out->eth.h_dest, pod_a_mac, 6);
	assert_memory_equal(out->eth.h_source, host_a_mac, 6);
	assert_int_equal(ntohs(out->eth.h_proto), ETH_P_IPV6);
	assert_int_equal(out->ip6.version, 6);
	assert_int_equal(ntohs(out->ip6.payload_len), 32);
	assert_int_equal(out->ip6.nexthdr, 58);
	assert_int_equal(out->ip6.hop_limit, 255);
	assert_memory_equal(&out->ip6.saddr, &t, 16);
	assert_memory_equal(&out->ip6.daddr, &d, 16);
	assert_int_equal(out->type, 136);
	assert_int_equal(out->code, 0);
	assert_int_equal(ntohl(out->reserved), 0xe0000000u); /* router, solicited, override */
	assert_memory_equal(&out->target, &t, 16);
	assert_int_equal(out->opt_type, 2);
	assert_int_equal(out->opt_len, 1);
	assert_memory_equal(out->opt_mac, host_a_mac, 6);
	assert_int_equal(icmp6_csum(out, 32), 0); /* checksum valid */
}

static void test_ns_router_answered(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct ns_frame in, out;
	uint32_t len = sizeof(out);
	struct weft_ep_stats st;

	ns_request(&in, LL_A, ROUTER6);
	assert_int_equal(icmp6_csum(&in, 32), 0);
	assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_REDIRECT);
	assert_int_equal(len, sizeof(out));
	assert_na(&out, ROUTER6, LL_A);
	stats_sum(f, SRC_IFINDEX, &st);
	assert_int_equal(st.nd_replies, 1);
	assert_int_equal(st.tx_packets, 0); /* NDP is not traffic */

	ns_request(&in, POD_A6, POD_B6); /* another pod: the router answers too */
	len = sizeof(out);
	assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_REDIRECT);
	assert_na(&out, POD_B6, POD_A6);
}

/* A solicitation without options (allowed for unicast NUD probes) grows into a full NA; one
 * with extra options shrinks to it. */
static void test_ns_other_sizes_answered(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	uint8_t in[sizeof(struct ns_frame) + 16], out[sizeof(in) + 16];
	struct ns_frame ns;
	uint32_t len = sizeof(out);

	ns_request(&ns, LL_A, ROUTER6);
	ns.ip6.payload_len = htons(24);
	ns.csum = 0;
	ns.csum = icmp6_csum(&ns, 24);
	memcpy(in, &ns, sizeof(ns) - 8);
	assert_int_equal(run(f->from_pod, in, sizeof(ns) - 8, out, &len), TC_ACT_REDIRECT);
	assert_int_equal(len, sizeof(struct ns_frame));
	assert_na((struct ns_frame *)out, ROUTER6, LL_A);

	ns_request(&ns, LL_A, ROUTER6);
	ns.ip6.payload_len = htons(48);
	memcpy(in, &ns, sizeof(ns));
	memset(in + sizeof(ns), 0, 16);
	in[sizeof(ns)] = 14; /* a nonce option (RFC 7527), 16 bytes */
	in[sizeof(ns) + 1] = 2;
	len = sizeof(out);
	assert_int_equal(run(f->from_pod, in, sizeof(in), out, &len), TC_ACT_REDIRECT);
	assert_int_equal(len, sizeof(struct ns_frame));
	assert_na((struct ns_frame *)out, ROUTER6, LL_A);
}

static void test_ns_not_answered(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct ns_frame in;

	ns_request(&in, "::", POD_A6); /* DAD of the pod's own address */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	ns_request(&in, "::", ROUTER6); /* DAD of anything: never defended here */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	ns_request(&in, LL_A, POD_A6); /* the pod's own address */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	ns_request(&in, LL_A, ROUTER6);
	in.ip6.hop_limit = 64; /* not from the link (RFC 4861 7.1.1) */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	ns_request(&in, LL_A, "ff02::1"); /* multicast target */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	ns_request(&in, LL_A, ROUTER6);
	in.code = 1;
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
}

static void test_ns_unknown_veth_not_answered(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	uint32_t ifindex = SRC_IFINDEX;
	struct weft_link saved;
	struct ns_frame in;

	assert_int_equal(bpf_map_lookup_elem(f->links, &ifindex, &saved), 0);
	assert_int_equal(bpf_map_delete_elem(f->links, &ifindex), 0);
	ns_request(&in, LL_A, ROUTER6);
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	assert_int_equal(bpf_map_update_elem(f->links, &ifindex, &saved, BPF_ANY), 0);
}

static void ip6_packet(struct ip6_frame *f, const char *src, const char *dst, uint8_t hops)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->eth.h_dest, host_a_mac, 6);
	memcpy(f->eth.h_source, pod_a_mac, 6);
	f->eth.h_proto = htons(ETH_P_IPV6);
	f->ip6.version = 6;
	f->ip6.payload_len = htons(sizeof(f->payload));
	f->ip6.nexthdr = 17;
	f->ip6.hop_limit = hops;
	f->ip6.saddr = ip6(src);
	f->ip6.daddr = ip6(dst);
	f->payload[0] = 0x12;
}

static void test_ipv6_local_redirected(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct ip6_frame in, out;
	uint32_t len = sizeof(out);
	struct weft_ep_stats a, b;

	ip6_packet(&in, POD_A6, POD_B6, 64);
	assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_REDIRECT);
	assert_int_equal(len, sizeof(out));
	assert_memory_equal(out.eth.h_dest, pod_b_mac, 6);
	assert_memory_equal(out.eth.h_source, host_b_mac, 6);
	assert_int_equal(out.ip6.hop_limit, 63);
	out.ip6.hop_limit = 64;
	assert_memory_equal(&out.ip6, &in.ip6, sizeof(in.ip6)); /* nothing else touched */
	assert_memory_equal(out.payload, in.payload, sizeof(in.payload));
	stats_sum(f, SRC_IFINDEX, &a);
	stats_sum(f, DST_IFINDEX, &b);
	assert_int_equal(a.tx_packets, 1);
	assert_int_equal(a.fwd_packets, 1);
	assert_int_equal(b.rx_packets, 1);
	assert_int_equal(b.rx_bytes, sizeof(in));
}

static void test_ipv6_to_stack(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct weft_ep_stats a;
	struct ip6_frame in;

	ip6_packet(&in, POD_A6, "2001:db8::9", 64); /* off-node */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	ip6_packet(&in, POD_A6, POD_B6, 1); /* hop limit expires: the stack answers */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	ip6_packet(&in, POD_B6, POD_A6, 64); /* behind the very same veth */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	ip6_packet(&in, POD_A6, POD_B6, 64);
	in.ip6.version = 4; /* not IPv6 after all */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	stats_sum(f, SRC_IFINDEX, &a);
	assert_int_equal(a.tx_packets, 3);
	assert_int_equal(a.fwd_packets, 0);
}

static void test_to_pod_counts_ipv6(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct weft_ep_stats a;
	struct ip6_frame in;

	ip6_packet(&in, "2001:db8::9", POD_A6, 64);
	assert_passed_unchanged(f, f->to_pod, &in, sizeof(in));
	stats_sum(f, SRC_IFINDEX, &a);
	assert_int_equal(a.rx_packets, 1);
}

/* Another node's pod CIDR in the remote map (as plugins/lib/overlay-remote.c fills it). */
static void remote_put(struct fixture *f, const char *cidr4, uint8_t len, const char *node)
{
	struct weft_remote_key k = {.prefixlen = 96u + len};
	struct weft_remote v = {.ifindex = DST_IFINDEX, .family = AF_INET};
	struct weft_ep_key a = key4(cidr4);

	memcpy(k.addr, a.addr, sizeof(k.addr));
	v.nh[0] = ip4(node);
	assert_int_equal(bpf_map_update_elem(f->remote, &k, &v, BPF_ANY), 0);
}

static void test_ipv4_remote_node(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct ip_frame in, out;
	uint32_t len = sizeof(out);
	struct weft_ep_stats a;

	remote_put(f, "10.244.2.0", 24, "192.168.77.2");
	ip_packet(&in, POD_A, "10.244.2.7", 64);
	assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_REDIRECT);
	assert_int_equal(out.ip.ttl, 63);
	assert_int_equal(ip_csum(&out.ip, sizeof(out.ip)), 0);
	/* MACs are left to the kernel's neighbour output on the underlay. */
	assert_memory_equal(&out.eth, &in.eth, sizeof(in.eth));
	stats_sum(f, SRC_IFINDEX, &a);
	assert_int_equal(a.remote_packets, 1);
	assert_int_equal(a.remote_bytes, sizeof(in));
	assert_int_equal(a.fwd_packets, 0);

	ip_packet(&in, POD_A, "10.244.3.7", 64); /* no node has it: the stack */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	ip_packet(&in, POD_A, "10.244.2.7", 1); /* TTL expires here: the stack answers */
	assert_passed_unchanged(f, f->from_pod, &in, sizeof(in));
	ip_packet(&in, POD_A, POD_B, 64); /* local pods win over a covering remote CIDR */
	remote_put(f, "10.99.0.0", 16, "192.168.77.9");
	len = sizeof(out);
	assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_REDIRECT);
	assert_memory_equal(out.eth.h_dest, pod_b_mac, 6);
	stats_sum(f, SRC_IFINDEX, &a);
	assert_int_equal(a.remote_packets, 1);
	assert_int_equal(a.fwd_packets, 1);
}

/* ---- NetworkPolicy ---- */

/* b isolated for ingress with no rule (deny all): its endpoint flag. */
static void b_isolated_in(struct fixture *f, bool on)
{
	struct weft_ep_key kb = key4(POD_B);
	struct weft_ep b;

	assert_int_equal(bpf_map_lookup_elem(f->eps, &kb, &b), 0);
	b.flags = on ? WEFT_EP_F_ISO_IN : 0;
	assert_int_equal(bpf_map_update_elem(f->eps, &kb, &b, BPF_ANY), 0);
}

static void tcp_packet(struct ip_frame *f, uint16_t dport, uint8_t flags)
{
	ip_packet(f, POD_A, POD_B, 64);
	f->ip.protocol = 6;
	f->ip.check = 0;
	f->ip.check = ip_csum(&f->ip, sizeof(f->ip));
	memset(f->payload, 0, sizeof(f->payload));
	f->payload[0] = 0x9c; /* sport 40000 */
	f->payload[1] = 0x40;
	f->payload[2] = (uint8_t)(dport >> 8);
	f->payload[3] = (uint8_t)dport;
	f->payload[12] = 5 << 4;
	f->payload[13] = flags;
}

/* A connection's first packet is checked; the rest of TCP passes (state of its own), and so
 * do ICMP errors. */
static void test_policy_first_packets(void **state)
{
	struct fixture *f = fixture_or_skip(state);
	struct ip_frame in, out;
	uint32_t len = sizeof(out);
	struct weft_ep_stats a;

	b_isolated_in(f, true);
	tcp_packet(&in, 80, 0x02);
	assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_SHOT);
	len = sizeof(out);
	tcp_packet(&in, 80, 0x18); /* ACK PSH */
	assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_REDIRECT);
	len = sizeof(out);
	tcp_packet(&in, 80, 0x12); /* SYN ACK */
	assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_REDIRECT);
	len = sizeof(out);
	ip_packet(&in, POD_A, POD_B, 64); /* echo request */
	assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_SHOT);
	len = sizeof(out);
	in.payload[0] = 3; /* destination unreachable: passes, as netfilter's RELATED */
	assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_REDIRECT);
	len = sizeof(out);
	in.payload[0] = 13; /* timestamp: checked */
	assert_int_equal(run(f->from_pod, &in, sizeof(in), &out, &len), TC_ACT_SHOT);
	stats_sum(f, SRC_IFINDEX, &a);
	assert_int_equal(a.denied_packets, 3);
	b_isolated_in(f, false);
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
		cmocka_unit_test(test_ns_router_answered),
		cmocka_unit_test(test_ns_other_sizes_answered),
		cmocka_unit_test(test_ns_not_answered),
		cmocka_unit_test(test_ns_unknown_veth_not_answered),
		cmocka_unit_test(test_ipv6_local_redirected),
		cmocka_unit_test(test_ipv6_to_stack),
		cmocka_unit_test(test_to_pod_counts_ipv6),
		cmocka_unit_test(test_ipv4_remote_node),
		cmocka_unit_test(test_policy_first_packets),
	};

	libbpf_set_print(NULL);
	return cmocka_run_group_tests(tests, setup, teardown);
}

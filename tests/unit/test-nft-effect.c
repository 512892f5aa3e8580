/* SPDX-License-Identifier: Apache-2.0 */
/* Real effect of the nft rules on traffic. Needs root; skips otherwise.
 *
 * Each test forks a child that unshare(CLONE_NEWNET)s into a throwaway "host" netns H, then
 * makes two more throwaway netns (held only by open fds, so everything vanishes with the
 * child): a pod P and an outside peer O, wired with veth pairs (`ip`, run by the test only).
 * A UDP datagram goes from a socket created in P to one created in O; O's recvfrom() tells which
 * source address arrived:
 *   masquerade: P 10.88.0.5/16, fd00:88::5/64 --(H routes)--> O 192.168.77.2/24, fd00:77::2/64;
 *               O has no route back, the source O sees is P's without the rule and H's
 *               (192.168.77.1 / fd00:77::1) with it; excluded destinations keep P's.
 *   macspoofchk: P and O on one bridge in H; after P changes its MAC, nothing arrives.
 * The machine's own network is never touched. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/nft/nft.h"

#define CHILD_SKIP 77
#define PORT	   5555

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			child_fail(__LINE__, "check failed: %s", #cond);                           \
	} while (0)

static int host_fd = -1; /* H, the netns the child lives in */

static void child_fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void child_fail(int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "test-nft-effect.c:%d: ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(1);
}

static void check_ok(int line, int r, const struct cni_err *err)
{
	if (r < 0)
		child_fail(line, "r = %d: [%d] %s / %s", r, err->code, err->msg, err->details);
}

static void in_netns(void (*fn)(void))
{
	int status = 0;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0 || system("ip -V >/dev/null 2>&1") != 0)
			_exit(CHILD_SKIP);
		host_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		CHECK(host_fd >= 0);
		fn();
		exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SKIP)
		skip();
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A new netns, kept alive by the returned fd only; the child stays in H. */
static int ns_new(void)
{
	int fd;

	CHECK(unshare(CLONE_NEWNET) == 0);
	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(setns(host_fd, CLONE_NEWNET) == 0);
	return fd;
}

/* Runs a shell command inside netns fd (-1 = H). "%H" in cmd = a path naming H. */
static void ns_sh(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ns_sh(int fd, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	CHECK(fd < 0 || setns(fd, CLONE_NEWNET) == 0);
	r = system(cmd);
	CHECK(setns(host_fd, CLONE_NEWNET) == 0);
	if (r != 0)
		child_fail(__LINE__, "command failed: %s", cmd);
}

static int socket_in(int fd, int family)
{
	int s;

	CHECK(setns(fd, CLONE_NEWNET) == 0);
	s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(setns(host_fd, CLONE_NEWNET) == 0);
	CHECK(s >= 0);
	return s;
}

static void sockaddr_of(int family, const char *addr, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_INET) {
		((struct sockaddr_in *)ss)->sin_port = htons(PORT);
		CHECK(inet_pton(family, addr, &((struct sockaddr_in *)ss)->sin_addr) == 1);
	} else {
		((struct sockaddr_in6 *)ss)->sin6_port = htons(PORT);
		CHECK(inet_pton(family, addr, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1);
	}
}

/* Sends one datagram from netns from to dst in netns to; returns the source address that
 * arrived in buf, or "" when nothing arrived within timeout_ms. */
static const char *probe(int from, int to, int family, const char *dst, int timeout_ms,
			 char buf[INET6_ADDRSTRLEN])
{
	struct sockaddr_storage any = {.ss_family = family}, ss, src;
	socklen_t slen = sizeof(src);
	int rs = socket_in(to, family), ss_fd = socket_in(from, family);
	struct pollfd pfd = {.fd = rs, .events = POLLIN};
	char byte;

	((struct sockaddr_in *)&any)->sin_port = htons(PORT); /* same offset in sockaddr_in6 */
	CHECK(bind(rs, (struct sockaddr *)&any,
		   family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) ==
	      0);
	sockaddr_of(family, dst, &ss);
	CHECK(sendto(ss_fd, "x", 1, 0, (struct sockaddr *)&ss, sizeof(ss)) == 1);
	buf[0] = '\0';
	if (poll(&pfd, 1, timeout_ms) == 1 &&
	    recvfrom(rs, &byte, 1, 0, (struct sockaddr *)&src, &slen) == 1)
		inet_ntop(family,
			  family == AF_INET ? (void *)&((struct sockaddr_in *)&src)->sin_addr
					    : (void *)&((struct sockaddr_in6 *)&src)->sin6_addr,
			  buf, INET6_ADDRSTRLEN);
	close(rs);
	close(ss_fd);
	return buf;
}

static void expect_source(int pod, int out, const char *want4, const char *want6)
{
	char got[INET6_ADDRSTRLEN];

	probe(pod, out, AF_INET, "192.168.77.2", 3000, got);
	if (strcmp(got, want4) != 0)
		child_fail(__LINE__, "v4 source '%s', expected '%s'", got, want4);
	probe(pod, out, AF_INET6, "fd00:77::2", 3000, got);
	if (strcmp(got, want6) != 0)
		child_fail(__LINE__, "v6 source '%s', expected '%s'", got, want6);
}

/* Packets counted by the rules of chain inet weft masq-net1. */
static long masq_packets(void)
{
	FILE *f = popen("nft -j list chain inet weft masq-net1", "r");
	json_t *root = f ? json_loadf(f, 0, NULL) : NULL, *item, *rule, *expr;
	size_t i, j;
	long n = 0;

	CHECK(f && pclose(f) == 0 && root);
	json_array_foreach(json_object_get(root, "nftables"), i, item)
	{
		if (!(rule = json_object_get(item, "rule")))
			continue;
		json_array_foreach(json_object_get(rule, "expr"), j, expr)
		{
			n += json_integer_value(
				json_object_get(json_object_get(expr, "counter"), "packets"));
		}
	}
	json_decref(root);
	return n;
}

/* P (10.88.0.5) and O (192.168.77.2) on either side of H, which routes. */
static void masq_topology(int pod, int out)
{
	const char *nodad = "echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad";
	pid_t me = getpid();

	ns_sh(-1,
	      "%s && echo 1 > /proc/sys/net/ipv4/ip_forward && "
	      "echo 1 > /proc/sys/net/ipv6/conf/all/forwarding",
	      nodad);
	ns_sh(pod,
	      "%s && ip link add eth0 type veth peer name vpod netns /proc/%d/fd/%d && "
	      "ip link set lo up && ip link set eth0 up && ip addr add 10.88.0.5/16 dev eth0 && "
	      "ip addr add fd00:88::5/64 dev eth0 nodad && ip route add default via 10.88.0.1 && "
	      "ip -6 route add default via fd00:88::1",
	      nodad, me, host_fd);
	ns_sh(out,
	      "%s && ip link add eth0 type veth peer name vout netns /proc/%d/fd/%d && "
	      "ip link set lo up && ip link set eth0 up && ip addr add 192.168.77.2/24 dev eth0 && "
	      "ip addr add fd00:77::2/64 dev eth0 nodad",
	      nodad, me, host_fd);
	ns_sh(-1,
	      "ip link set vpod up && ip addr add 10.88.0.1/16 dev vpod && "
	      "ip addr add fd00:88::1/64 dev vpod nodad && ip link set vout up && "
	      "ip addr add 192.168.77.1/24 dev vout && ip addr add fd00:77::1/64 dev vout nodad");
}

static void masq_net(struct nft_masq_net *m, struct inet_prefix subnets[2],
		     struct inet_prefix ex[2])
{
	memset(subnets, 0, 2 * sizeof(*subnets));
	memset(ex, 0, 2 * sizeof(*ex));
	subnets[0] = (struct inet_prefix){.addr.family = AF_INET, .len = 16};
	subnets[1] = (struct inet_prefix){.addr.family = AF_INET6, .len = 64};
	ex[0] = (struct inet_prefix){.addr.family = AF_INET, .len = 24};
	ex[1] = (struct inet_prefix){.addr.family = AF_INET6, .len = 64};
	inet_pton(AF_INET, "10.88.0.0", subnets[0].addr.bytes);
	inet_pton(AF_INET6, "fd00:88::", subnets[1].addr.bytes);
	inet_pton(AF_INET, "192.168.77.0", ex[0].addr.bytes);
	inet_pton(AF_INET6, "fd00:77::", ex[1].addr.bytes);
	*m = (struct nft_masq_net){.network = "net1",
				   .subnets = subnets,
				   .n_subnets = 2,
				   .exclude = ex,
				   .n_exclude = 0};
}

static void t_masquerade(void)
{
	int pod = ns_new(), out = ns_new();
	struct inet_prefix subnets[2], ex[2];
	struct nft_masq_net m;
	struct cni_err err = {0};

	masq_topology(pod, out);
	masq_net(&m, subnets, ex);
	expect_source(pod, out, "10.88.0.5", "fd00:88::5"); /* no rule: no NAT */
	check_ok(__LINE__, nft_masq_ensure(&m, &err), &err);
	expect_source(pod, out, "192.168.77.1", "fd00:77::1");
	CHECK(masq_packets() >= 2);
	m.n_exclude = 2; /* the outside prefixes are excluded now */
	check_ok(__LINE__, nft_masq_ensure(&m, &err), &err);
	expect_source(pod, out, "10.88.0.5", "fd00:88::5");
	m.n_exclude = 0;
	check_ok(__LINE__, nft_masq_ensure(&m, &err), &err);
	expect_source(pod, out, "192.168.77.1", "fd00:77::1");
	check_ok(__LINE__, nft_masq_flush("net1", &err), &err);
	expect_source(pod, out, "10.88.0.5", "fd00:88::5");
	close(pod);
	close(out);
}

static void t_macspoof(void)
{
	int pod = ns_new(), out = ns_new();
	uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x05};
	struct cni_err err = {0};
	char got[INET6_ADDRSTRLEN];
	pid_t me = getpid();

	ns_sh(-1, "ip link add br0 type bridge && ip link set br0 up");
	ns_sh(pod,
	      "ip link add eth0 address 02:00:00:00:00:05 type veth peer name vpod netns "
	      "/proc/%d/fd/%d && ip link set eth0 up && ip addr add 10.99.0.5/24 dev eth0",
	      me, host_fd);
	ns_sh(out,
	      "ip link add eth0 type veth peer name vout netns /proc/%d/fd/%d && "
	      "ip link set eth0 up && ip addr add 10.99.0.2/24 dev eth0",
	      me, host_fd);
	ns_sh(-1, "ip link set vpod master br0 up && ip link set vout master br0 up");
	check_ok(__LINE__, nft_macspoof_add("net1", "ctr1", "eth0", "vpod", mac, &err), &err);
	CHECK(strcmp(probe(pod, out, AF_INET, "10.99.0.2", 3000, got), "10.99.0.5") == 0);
	ns_sh(pod, "ip link set eth0 address 02:00:00:00:00:66 && ip neigh flush dev eth0");
	CHECK(strcmp(probe(pod, out, AF_INET, "10.99.0.2", 1000, got), "") == 0); /* dropped */
	check_ok(__LINE__, nft_macspoof_del("net1", "ctr1", "eth0", &err), &err);
	CHECK(strcmp(probe(pod, out, AF_INET, "10.99.0.2", 3000, got), "10.99.0.5") == 0);
	close(pod);
	close(out);
}

static void test_masquerade(void **state)
{
	in_netns(t_masquerade);
}

static void test_macspoof(void **state)
{
	in_netns(t_macspoof);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_masquerade),
		cmocka_unit_test(test_macspoof),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

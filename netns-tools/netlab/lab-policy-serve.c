/* SPDX-License-Identifier: Apache-2.0 */
/* The policy scenario's servers: `netlab __policy serve READY PORT/PROTO...`, run by netlab in
 * every pod and node netns (a recorded process). TCP and SCTP: accept and close (the probe has
 * connected by then); UDP: every datagram is sent back to its sender. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netns-tools/netlab/lab-policy.h"

#define MAX_LISTEN 16

bool pl_sctp_supported(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* "80/TCP" -> port, socket type and protocol; false when it is none of TCP, UDP, SCTP. */
static bool parse_port(const char *s, int *port, int *type, int *proto)
{
	char name[8];

	if (sscanf(s, "%d/%7s", port, name) != 2 || *port < 1 || *port > 65535)
		return false;
	*type = strcmp(name, "UDP") == 0 ? SOCK_DGRAM : SOCK_STREAM;
	*proto = strcmp(name, "TCP") == 0    ? IPPROTO_TCP
		 : strcmp(name, "UDP") == 0  ? IPPROTO_UDP
		 : strcmp(name, "SCTP") == 0 ? IPPROTO_SCTP
					     : -1;
	return *proto >= 0;
}

static int listen_on(const char *spec)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
	int port, type, proto, one = 1, fd;

	if (!parse_port(spec, &port, &type, &proto)) {
		fprintf(stderr, "netlab: serve: '%s' is not PORT/TCP|UDP|SCTP\n", spec);
		return -EINVAL;
	}
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (type == SOCK_DGRAM)
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 1024) < 0)) {
		int r = -errno;

		fprintf(stderr, "netlab: serve %s: %s\n", spec, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

/* Echoes every datagram waiting on fd from the address it was sent to (IP_PKTINFO): a node
 * has several, and the prober's connected socket takes replies from that one only. */
static void echo(int fd)
{
	char buf[512], ctl[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct sockaddr_in from;
	struct iovec iov = {.iov_base = buf};
	struct msghdr m = {.msg_name = &from, .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	for (;;) {
		iov.iov_len = sizeof(buf);
		m.msg_namelen = sizeof(from);
		m.msg_control = ctl;
		m.msg_controllen = sizeof(ctl);
		n = recvmsg(fd, &m, 0);
		if (n < 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(c);

				pi->ipi_spec_dst = pi->ipi_addr;
				pi->ipi_ifindex = 0;
			}
		iov.iov_len = (size_t)n;
		sendmsg(fd, &m, 0);
	}
}

static void serve_one(int fd)
{
	int type = 0;
	socklen_t tl = sizeof(type);

	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
	if (type == SOCK_DGRAM) {
		echo(fd);
		return;
	}
	for (int c; (c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0;)
		close(c);
}

static int touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int serve(int argc, char **argv)
{
	_cleanup_close_ int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev[MAX_LISTEN];

	if (ep < 0 || argc < 3 || argc - 2 > MAX_LISTEN) {
		fputs("usage: netlab __policy serve READY PORT/PROTO...\n", stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		struct epoll_event e = {.events = EPOLLIN};

		e.data.fd = listen_on(argv[i]);
		if (e.data.fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, e.data.fd, &e) < 0)
			return 1;
	}
	if (touch(argv[1]) < 0)
		return 1;
	for (;;) {
		int n = epoll_wait(ep, ev, MAX_LISTEN, -1);

		if (n < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++)
			serve_one(ev[i].data.fd);
	}
}

int pl_helper(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve(argc - 1, argv + 1);
	fputs("usage: netlab __policy serve READY PORT/PROTO...\n", stderr);
	return 2;
}

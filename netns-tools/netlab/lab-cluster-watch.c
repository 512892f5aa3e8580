/* SPDX-License-Identifier: Apache-2.0 */
/* Convergence, watched through netlink: one NETLINK_ROUTE socket per observing node, opened in
 * its netns before the change and subscribed to IPv4 route and neighbour notifications; the
 * delay of a node is the time from the API change to the first notification that matches (a
 * route to the peer's pod CIDR added or removed, a route through its new node IP, an FDB entry
 * to its new VTEP address). A raw socket and a few lines of parsing: netlab does not link the
 * plugins' netlink layer. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/netns.h"
#include "netns-tools/netlab/lab-cluster.h"

double cl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int open_in(void *arg, struct cni_err *err)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
				 .nl_groups = RTMGRP_IPV4_ROUTE | RTMGRP_NEIGH};
	int *fd = arg, sz = 1 << 20;

	(void)err;
	*fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (*fd < 0)
		return -errno;
	(void)setsockopt(*fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(*fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(*fd);
		*fd = -1;
		return r;
	}
	return 0;
}

int cl_watch_open(const struct cl *c, const struct cl_node *except, struct cl_watch *w)
{
	char path[PATH_MAX];
	struct cni_err err = {0};

	memset(w, 0, sizeof(*w));
	for (int k = 0; k < c->n; k++) {
		const struct cl_node *n = &c->node[k];
		int fd = -1, r;

		if (!n->live || n == except)
			continue;
		r = netns_exec_path(lab_netns_path(n->ns, path, sizeof(path)), open_in, &fd, &err);
		if (r < 0) {
			cl_watch_close(w);
			return r;
		}
		w->fd[w->n] = fd;
		w->node[w->n] = n;
		w->ms[w->n++] = -1;
	}
	return 0;
}

void cl_watch_close(struct cl_watch *w)
{
	for (int k = 0; k < w->n; k++)
		if (w->fd[k] >= 0)
			close(w->fd[k]);
	w->n = 0;
}

static uint32_t attr_u32(const struct rtattr *a)
{
	uint32_t v;

	memcpy(&v, RTA_DATA(a), sizeof(v));
	return v;
}

static bool route_matches(const struct nlmsghdr *h, const struct cl_expect *e)
{
	const struct rtmsg *rt = NLMSG_DATA(h);
	int len = (int)RTM_PAYLOAD(h);
	uint32_t dst = 0, gw = 0;

	if (rt->rtm_family != AF_INET || rt->rtm_dst_len != 24)
		return false;
	for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) >= 4)
			dst = attr_u32(a);
		else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) >= 4)
			gw = attr_u32(a);
	}
	return dst == e->dst && (!e->gw || gw == e->gw);
}

static bool fdb_matches(const struct nlmsghdr *h, const struct cl_expect *e)
{
	const struct ndmsg *nd = NLMSG_DATA(h);
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*nd)));

	if (nd->ndm_family != AF_BRIDGE)
		return false;
	for (const struct rtattr *a = (const struct rtattr *)((const char *)nd + sizeof(*nd));
	     RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) >= 4 && attr_u32(a) == e->dst)
			return true;
	return false;
}

/* Reads what fd has; true when a message matched. */
static bool drain(int fd, const struct cl_expect *e)
{
	static char buf[1 << 16];
	bool hit = false;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		int len = (int)n;

		for (const struct nlmsghdr *h = (const void *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if ((int)h->nlmsg_type != e->type)
				continue;
			if (e->type == RTM_NEWNEIGH ? fdb_matches(h, e) : route_matches(h, e))
				hit = true;
		}
	}
	return hit;
}

int cl_watch_wait(struct cl_watch *w, const struct cl_expect *e, double t0, int timeout_ms)
{
	struct pollfd p[CL_SLOTS];
	int seen = 0;

	for (;;) {
		double left = t0 + timeout_ms - cl_now_ms();
		int np = 0;

		for (int k = 0; k < w->n; k++)
			if (w->ms[k] < 0)
				p[np++] = (struct pollfd){.fd = w->fd[k], .events = POLLIN};
		if (!np || left <= 0 || poll(p, (nfds_t)np, (int)left + 1) <= 0)
			break;
		for (int k = 0; k < w->n; k++) {
			if (w->ms[k] >= 0 || !drain(w->fd[k], e))
				continue;
			w->ms[k] = cl_now_ms() - t0;
			seen++;
		}
	}
	return seen;
}

double cl_samples_add(struct cl_samples *s, const struct cl_watch *w)
{
	double max = 0;
	bool missing = false;

	for (int k = 0; k < w->n; k++) {
		missing |= w->ms[k] < 0;
		if (w->ms[k] >= 0 && s->n < CL_SAMPLES)
			s->v[s->n++] = w->ms[k];
		max = w->ms[k] > max ? w->ms[k] : max;
	}
	return missing ? -1 : max;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double cl_percentile(const struct cl_samples *s, double p)
{
	static double v[CL_SAMPLES];
	size_t rank;

	if (!s->n)
		return -1;
	memcpy(v, s->v, s->n * sizeof(v[0]));
	qsort(v, s->n, sizeof(v[0]), cmp_double);
	rank = (size_t)((p / 100.0) * (double)s->n + 0.999999);
	return v[rank < 1 ? 0 : rank - 1];
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The policy scenario's prober: every probe of a matrix at once. Each probe's socket is made
 * inside its source's netns (a socket keeps the netns it was made in), then all of them wait in
 * one epoll here: TCP and SCTP a non-blocking connect (allowed: connected), UDP a datagram to
 * the destination's echo server, sent again every UDP_RESEND_MS (allowed: the echo came back).
 * A refusal (RST, ICMP port unreachable) is "allowed" too, as tests/policy/README.md reads a
 * port nothing serves: the policies let the connection through. What has not answered when the
 * timeout ends is denied, so a matrix costs one timeout at most, however many are denied. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/netns.h"
#include "netns-tools/netlab/lab-policy.h"

#define UDP_RESEND_MS 200

enum { PENDING, ALLOWED, DENIED };

struct probe {
	const char *from, *to, *proto_name;
	int port, proto, fd, state;
	struct sockaddr_in src, dst;
};

struct run {
	struct probe *p;
	size_t n, pending;
	int ep;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Room for every probe's socket: the soft limit up to the hard one. */
static void raise_nofile(size_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static const struct pl_end *find_end(const struct pl_end *ends, size_t n, const char *key)
{
	for (size_t i = 0; key && i < n; i++)
		if (strcmp(ends[i].key, key) == 0)
			return &ends[i];
	return NULL;
}

static int proto_of(const char *name)
{
	if (!name || strcmp(name, "TCP") == 0)
		return IPPROTO_TCP;
	if (strcmp(name, "UDP") == 0)
		return IPPROTO_UDP;
	return strcmp(name, "SCTP") == 0 ? IPPROTO_SCTP : -1;
}

/* Runs inside the source's netns. */
static int make_socket(void *arg, struct cni_err *err)
{
	struct probe *p = arg;
	int type = p->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;

	int one = 1;

	p->fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, p->proto);
	if (p->fd < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "socket for %s -> %s %d/%s",
				   p->from, p->to, p->port, p->proto_name);
	setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(p->fd, (struct sockaddr *)&p->src, sizeof(p->src)) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "bind %s to port %d for %s -> %s",
				   p->from, ntohs(p->src.sin_port), p->from, p->to);
	return 0;
}

static void settle(struct run *r, struct probe *p, int state)
{
	if (p->state != PENDING)
		return;
	p->state = state;
	r->pending--;
	epoll_ctl(r->ep, EPOLL_CTL_DEL, p->fd, NULL);
}

/* A refusal (ICMP port unreachable) shows on the next recv too: nothing to do here. */
static void udp_send(const struct probe *p)
{
	(void)!send(p->fd, "probe", 5, 0);
}

/* Connects (or sends the first datagram) and arms epoll for the answer. */
static void start(struct run *r, struct probe *p)
{
	struct epoll_event ev = {.events = p->proto == IPPROTO_UDP ? EPOLLIN : EPOLLOUT,
				 .data.ptr = p};
	int c = connect(p->fd, (struct sockaddr *)&p->dst, sizeof(p->dst));

	r->pending++;
	if (c < 0 && errno != EINPROGRESS) {
		p->state = errno == ECONNREFUSED ? ALLOWED : DENIED;
		r->pending--;
		return;
	}
	if (p->proto == IPPROTO_UDP)
		udp_send(p);
	epoll_ctl(r->ep, EPOLL_CTL_ADD, p->fd, &ev);
}

static void on_event(struct run *r, struct probe *p)
{
	char buf[16];
	int e = 0;
	socklen_t len = sizeof(e);

	if (p->proto == IPPROTO_UDP) {
		ssize_t n = recv(p->fd, buf, sizeof(buf), 0);

		if (n > 0 || (n < 0 && errno != EAGAIN))
			settle(r, p, n > 0 || errno == ECONNREFUSED ? ALLOWED : DENIED);
		return;
	}
	getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &len);
	settle(r, p, e == 0 || e == ECONNREFUSED ? ALLOWED : DENIED);
}

static void wait_all(struct run *r, int timeout_ms)
{
	struct epoll_event ev[256];
	double t0 = now_ms(), resend = t0 + UDP_RESEND_MS, left;

	while (r->pending > 0 && (left = t0 + timeout_ms - now_ms()) > 0) {
		int wait = (int)(left < resend - now_ms() ? left : resend - now_ms()) + 1;
		int n = epoll_wait(r->ep, ev, 256, wait > 0 ? wait : 0);

		for (int i = 0; i < n; i++)
			on_event(r, ev[i].data.ptr);
		if (now_ms() < resend)
			continue;
		for (size_t i = 0; i < r->n; i++)
			if (r->p[i].state == PENDING && r->p[i].proto == IPPROTO_UDP)
				udp_send(&r->p[i]);
		resend += UDP_RESEND_MS;
	}
}

/* Fills p from one entry of the expected matrix; false when an end is unknown. */
static bool probe_of(struct probe *p, const json_t *e, const struct pl_end *ends, size_t n)
{
	const struct pl_end *to, *from;

	p->from = json_string_value(json_object_get(e, "from"));
	p->to = json_string_value(json_object_get(e, "to"));
	p->proto_name = json_string_value(json_object_get(e, "protocol"));
	p->port = (int)json_integer_value(json_object_get(e, "port"));
	p->proto = proto_of(p->proto_name);
	p->proto_name = p->proto_name ? p->proto_name : "TCP";
	p->fd = -1;
	to = find_end(ends, n, p->to);
	from = find_end(ends, n, p->from);
	p->dst.sin_family = AF_INET;
	p->dst.sin_port = htons((uint16_t)p->port);
	p->src.sin_family = AF_INET;
	if (from && from->seq)
		p->src.sin_port = htons((uint16_t)(PL_PORT_BASE + (*from->seq)++ % PL_PORT_SPAN));
	return to && from && p->proto >= 0 && inet_pton(AF_INET, to->ip, &p->dst.sin_addr) == 1;
}

static int open_all(struct run *r, const struct pl_end *ends, size_t n, struct cni_err *err)
{
	for (size_t i = 0; i < r->n; i++) {
		struct probe *p = &r->p[i];
		const struct pl_end *from = find_end(ends, n, p->from);
		char path[PATH_MAX];
		int res = netns_exec_path(lab_netns_path(from->netns, path, sizeof(path)),
					  make_socket, p, err);

		if (res < 0)
			return res;
	}
	return 0;
}

static json_t *observed(const struct run *r)
{
	json_t *probes = json_array();

	for (size_t i = 0; probes && i < r->n; i++) {
		const struct probe *p = &r->p[i];

		json_array_append_new(probes,
				      json_pack("{s:s,s:s,s:i,s:s,s:i,s:b}", "from", p->from, "to",
						p->to, "port", p->port, "protocol", p->proto_name,
						"family", 4, "allowed", p->state == ALLOWED));
	}
	return json_pack("{s:s,s:o}", "format", "weft-policy-matrix/1", "probes", probes);
}

static void close_all(struct run *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->p[i].fd >= 0)
			close(r->p[i].fd);
	if (r->ep >= 0)
		close(r->ep);
	free(r->p);
}

json_t *pl_probe(const json_t *want, const struct pl_end *ends, size_t n_ends, int timeout_ms,
		 struct cni_err *err)
{
	const json_t *list = json_object_get(want, "probes"), *e;
	struct run r = {.n = json_array_size(list), .ep = epoll_create1(EPOLL_CLOEXEC)};
	json_t *out = NULL;
	size_t i;

	r.p = calloc(r.n + 1, sizeof(*r.p));
	if (!r.p || r.ep < 0) {
		cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "probe setup");
		r.n = 0;
		goto done;
	}
	raise_nofile(r.n);
	json_array_foreach(list, i, e)
	{
		if (!probe_of(&r.p[i], e, ends, n_ends)) {
			cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "probe %zu: unknown end or port",
				    i);
			r.n = i;
			goto done;
		}
	}
	if (open_all(&r, ends, n_ends, err) < 0)
		goto done;
	for (i = 0; i < r.n; i++)
		start(&r, &r.p[i]);
	wait_all(&r, timeout_ms);
	out = observed(&r);
done:
	close_all(&r);
	return out;
}

/* The ports of a matrix in their first order, as "80/TCP" labels. */
static size_t matrix_ports(const json_t *probes, char ports[][16], size_t max)
{
	const json_t *e;
	size_t i, n = 0;

	json_array_foreach(probes, i, e)
	{
		char l[16];
		size_t k = 0;

		snprintf(l, sizeof(l), "%d/%s", (int)json_integer_value(json_object_get(e, "port")),
			 json_string_value(json_object_get(e, "protocol")) ?: "TCP");
		while (k < n && strcmp(ports[k], l) != 0)
			k++;
		if (k == n && n < max)
			snprintf(ports[n++], 16, "%s", l);
	}
	return n;
}

/* The endpoints of a matrix (sources and destinations alike), in their first order. */
static size_t matrix_ends(const json_t *probes, const char **ends, size_t max)
{
	const json_t *e;
	size_t i, n = 0;

	json_array_foreach(probes, i, e)
	{
		const char *k = json_string_value(json_object_get(e, "from"));
		size_t j = 0;

		while (k && j < n && strcmp(ends[j], k) != 0)
			j++;
		if (k && j == n && n < max)
			ends[n++] = k;
	}
	return n;
}

static char cell(const json_t *probes, const char *from, const char *to, const char *port)
{
	const json_t *e;
	size_t i;

	json_array_foreach(probes, i, e)
	{
		char l[16];
		const json_t *a = json_object_get(e, "allowed");

		snprintf(l, sizeof(l), "%d/%s", (int)json_integer_value(json_object_get(e, "port")),
			 json_string_value(json_object_get(e, "protocol")) ?: "TCP");
		if (strcmp(json_string_value(json_object_get(e, "from")) ?: "", from) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "to")) ?: "", to) == 0 &&
		    strcmp(l, port) == 0)
			return json_is_true(a) ? '.' : json_is_false(a) ? 'X' : '?';
	}
	return '-';
}

void pl_table(const json_t *matrix, FILE *out)
{
	const json_t *probes = json_object_get(matrix, "probes");
	char ports[16][16];
	const char *ends[64];
	size_t np = matrix_ports(probes, ports, 16), ne = matrix_ends(probes, ends, 64);

	fputs("    each cell:", out);
	for (size_t k = 0; k < np; k++)
		fprintf(out, " %s", ports[k]);
	fputs("  ('.' allowed, 'X' denied)\n             ", out);
	for (size_t j = 0; j < ne; j++)
		fprintf(out, "%-*s", (int)(np > 8 ? np + 1 : 9), ends[j]);
	for (size_t i = 0; i < ne; i++) {
		fprintf(out, "\n    %-9s", ends[i]);
		for (size_t j = 0; j < ne; j++) {
			for (size_t k = 0; k < np; k++)
				fputc(cell(probes, ends[i], ends[j], ports[k]), out);
			fprintf(out, "%*s", (int)(np > 8 ? 1 : 9 - np), "");
		}
	}
	fputc('\n', out);
}

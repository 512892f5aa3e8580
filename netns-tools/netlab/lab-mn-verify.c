/* SPDX-License-Identifier: Apache-2.0 */
/* verify of the multi-node scenarios: every pod pings every other pod (one process per source
 * pod, all in parallel, each sending all its echoes at once and re-sending the unanswered
 * ones), and one iperf3 stream between pods on two nodes (lab_iperf). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netns-tools/netlab/lab-multinode.h"

#define MESH_ROUND   200  /* ms between re-sends of unanswered echoes */
#define MESH_TIMEOUT 8000 /* ms per source pod */
#define MESH_WINDOW  32	  /* echoes in flight per source */
#define MESH_PAR     16	  /* source pods pinging at the same time */

struct mesh_result {
	int answered;
	uint8_t ok[MESH_MAX];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint16_t csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)(p[len - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons((uint16_t)~s);
}

/* Sends echoes to the window's targets: at most MESH_WINDOW unanswered at a time, so 128 pods
 * pinging 127 each never overflow the veths' backlog (a burst makes the underlay's ARP fail). */
static int send_window(int fd, const struct in_addr *dst, int n, const struct mesh_result *res,
		       uint16_t id, int *win)
{
	struct icmphdr h;
	int w = 0;

	for (int k = 0; k < n && w < MESH_WINDOW; k++) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = dst[k]};

		if (res->ok[k] || !dst[k].s_addr)
			continue;
		win[w++] = k;
		memset(&h, 0, sizeof(h));
		h.type = ICMP_ECHO;
		h.un.echo.id = id;
		h.un.echo.sequence = htons((uint16_t)k);
		h.checksum = csum(&h, sizeof(h));
		(void)sendto(fd, &h, sizeof(h), 0, (struct sockaddr *)&sa, sizeof(sa));
	}
	return w;
}

static bool window_done(const struct mesh_result *res, const int *win, int w)
{
	for (int i = 0; i < w; i++)
		if (!res->ok[win[i]])
			return false;
	return true;
}

static void receive(int fd, const struct in_addr *dst, int n, const int *win, int w,
		    struct mesh_result *res, uint16_t id, long long until)
{
	uint8_t buf[256];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	long long left;

	while (!window_done(res, win, w) && (left = until - now_ms()) > 0 &&
	       poll(&p, 1, (int)left) > 0) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		const struct iphdr *ip = (const void *)buf;
		const struct icmphdr *ic;
		int k;

		if (len < (ssize_t)sizeof(*ip) || len < ip->ihl * 4 + (ssize_t)sizeof(*ic))
			continue;
		ic = (const void *)(buf + ip->ihl * 4);
		k = ntohs(ic->un.echo.sequence);
		if (ic->type != ICMP_ECHOREPLY || ic->un.echo.id != id || k >= n ||
		    ip->saddr != dst[k].s_addr || res->ok[k])
			continue;
		res->ok[k] = 1;
		res->answered++;
	}
}

/* In the child, inside the source pod's netns. */
static void mesh_from(const struct in_addr *dst, int n, int targets, struct mesh_result *res)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	uint16_t id = htons((uint16_t)getpid());
	long long end = now_ms() + MESH_TIMEOUT;
	int win[MESH_WINDOW], w;

	if (fd < 0)
		return;
	while (res->answered < targets && now_ms() < end) {
		w = send_window(fd, dst, n, res, id, win);
		receive(fd, dst, n, win, w, res, id, now_ms() + MESH_ROUND);
	}
}

/* The ARP table is one for the whole machine (gc_thresh3, default 1024 entries, counts every
 * netns): a full mesh of 16 x 8 pods needs ~1400 dynamic entries at once. Each wave drops the
 * entries it made (dynamic ones only; the vxlan peers' permanent entries stay) so the next
 * one finds room. In the child: the source pod's own table. */
static void flush_neigh(void)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	execlp("ip", "ip", "-4", "neigh", "flush", "all", (char *)NULL);
}

static pid_t mesh_spawn(const char *pod, const struct in_addr *dst, int n, int targets, int *ret_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct mesh_result res = {0};
		char path[PATH_MAX];
		int ns;

		ns = open(lab_netns_path(pod, path, sizeof(path)), O_RDONLY | O_CLOEXEC);
		if (ns >= 0 && setns(ns, CLONE_NEWNET) == 0)
			mesh_from(dst, n, targets, &res);
		if (write(p[1], &res, sizeof(res)) != sizeof(res))
			_exit(1);
		flush_neigh();
		_exit(0);
	}
	close(p[1]);
	*ret_fd = p[0];
	return pid;
}

static int read_result(int fd, struct mesh_result *res)
{
	size_t got = 0;
	ssize_t k;

	memset(res, 0, sizeof(*res));
	while (got < sizeof(*res) && (k = read(fd, (char *)res + got, sizeof(*res) - got)) > 0)
		got += (size_t)k;
	close(fd);
	return got == sizeof(*res) ? 0 : -EIO;
}

/* Sources k0 .. k0+cnt-1 in parallel; their results into res[]. */
static void mesh_wave(const struct mn_mesh *m, struct in_addr *dst, int n, int k0, int cnt,
		      struct mesh_result *res)
{
	pid_t pid[MESH_PAR];
	int fds[MESH_PAR];

	for (int w = 0; w < cnt; w++) {
		int k = k0 + w, targets = 0;
		struct in_addr self = dst[k];

		for (int o = 0; o < n; o++)
			targets += o != k && dst[o].s_addr;
		dst[k].s_addr = 0; /* not to itself */
		pid[w] = mesh_spawn(m->pod[k], dst, n, targets, &fds[w]);
		dst[k] = self;
	}
	for (int w = 0; w < cnt; w++) {
		if (pid[w] <= 0 || read_result(fds[w], &res[k0 + w]) < 0)
			memset(&res[k0 + w], 0, sizeof(res[0]));
		if (pid[w] > 0)
			waitpid(pid[w], NULL, 0);
	}
}

static void mesh_report(struct lab *lab, const struct mn_mesh *m, const struct mesh_result *res,
			int i, int *total, int *answered)
{
	int n = m->nodes * m->pods, ok = 0, all = 0;
	size_t id = strlen(lab->id) + 1, len = 0;
	char missing[160] = "";

	for (int j = 0; j < m->pods; j++) {
		int k = i * m->pods + j;

		for (int o = 0; o < n; o++) {
			if (o == k)
				continue;
			all++;
			ok += res[k].ok[o];
			if (!res[k].ok[o] && len < sizeof(missing) - 48)
				len += (size_t)snprintf(missing + len, sizeof(missing) - len,
							" %s->%s", m->pod[k] + id, m->pod[o] + id);
		}
	}
	lab_check(lab, ok == all, "pods of %s: %d/%d pings to the other pods answered%s%s",
		  m->node[i], ok, all, missing[0] ? "; missing:" : "", missing);
	*total += all;
	*answered += ok;
}

int lab_mesh_verify(struct lab *lab, const struct mn_mesh *m)
{
	static struct in_addr dst[MESH_MAX];
	static struct mesh_result res[MESH_MAX];
	int n = m->nodes * m->pods, total = 0, answered = 0;
	long long t0 = now_ms();

	if (n > MESH_MAX)
		return lab_check(lab, false, "at most %d pods in a mesh, not %d", MESH_MAX, n), n;
	for (int k = 0; k < n; k++)
		if (inet_pton(AF_INET, m->ip[k], &dst[k]) != 1)
			dst[k].s_addr = 0;
	for (int k = 0; k < n; k += MESH_PAR) {
		mesh_wave(m, dst, n, k, n - k < MESH_PAR ? n - k : MESH_PAR, res);
		for (int i = 0; n > MESH_PAR && i < m->nodes; i++) {
			char *const argv[] = {"ip",  "-n",    (char *)m->host[i],
					      "-4",  "neigh", "flush",
					      "all", NULL};

			lab_run(NULL, argv, NULL, true);
		}
	}
	for (int i = 0; i < m->nodes; i++)
		mesh_report(lab, m, res, i, &total, &answered);
	printf("  mesh: %d/%d pod-to-pod pings answered in %lld ms (%d pods, %d sources at a "
	       "time, %d echoes in flight each)\n",
	       answered, total, now_ms() - t0, n, MESH_PAR, MESH_WINDOW);
	return total - answered;
}

void lab_mn_verify_mesh(struct lab *lab, const struct mn_lab *m)
{
	static struct mn_mesh mesh;
	static char label[MN_MAX_NODES][16];

	mesh.nodes = m->nodes;
	mesh.pods = m->pods;
	for (int i = 0; i < m->nodes; i++) {
		snprintf(label[i], sizeof(label[i]), "node-%d", i + 1);
		mesh.node[i] = label[i];
		mesh.host[i] = m->node[i];
		for (int j = 0; j < m->pods; j++) {
			mesh.pod[i * m->pods + j] = m->pod[i][j];
			mesh.ip[i * m->pods + j] = m->pod_ip[i][j];
		}
	}
	lab_mesh_verify(lab, &mesh);
}

void lab_mn_verify_iperf(struct lab *lab, const struct mn_lab *m)
{
	double bps;
	int r;

	if (m->nodes < 2) {
		printf("  iperf3: needs 2 nodes, skipped\n");
		return;
	}
	r = lab_iperf(lab, m->pod[1][0], m->pod[0][0], m->pod_ip[1][0], -1, &bps);
	if (r == -ENOENT) {
		lab_check(lab, false, "iperf3 installed (apt-get install iperf3)");
		return;
	}
	lab_check(lab, r >= 0, "iperf3, one TCP stream %s -> %s (node-1 -> node-2): %.2f Gbit/s",
		  m->pod[0][0], m->pod_ip[1][0], bps / 1e9);
}

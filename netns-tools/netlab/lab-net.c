/* SPDX-License-Identifier: Apache-2.0 */
/* Network helpers for netlab: namespaces, an ICMP echo of our own (no ping binary needed),
 * one iperf3 stream, and live interface/address views parsed from `ip -j`. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netns-tools/netlab/lab.h"

int lab_netns_add(struct lab *lab, const char *name)
{
	int r = lab_record(lab, json_pack("{s:s,s:s}", "kind", "netns", "name", name));

	if (r < 0)
		return r;
	r = lab_cmd(lab, "ip", "netns", "add", name, NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", name, "link", "set", "lo", "up", NULL);
	return r;
}

static uint16_t icmp_sum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for an echo reply with our id from dst. */
static bool await_reply(int fd, const struct sockaddr_in *dst, uint16_t id, int timeout_ms)
{
	long long end = mono_ms() + timeout_ms;
	uint8_t buf[1500];

	for (long long left; (left = end - mono_ms()) > 0;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		const struct iphdr *ip = (const void *)buf;
		const struct icmphdr *ic;
		ssize_t n;

		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < (ssize_t)sizeof(*ip) || n < ip->ihl * 4 + (ssize_t)sizeof(*ic))
			continue;
		ic = (const void *)(buf + ip->ihl * 4);
		if (ic->type == ICMP_ECHOREPLY && ic->un.echo.id == id &&
		    from.sin_addr.s_addr == dst->sin_addr.s_addr)
			return true;
	}
	return false;
}

static int ping_here(const char *addr, int timeout_ms)
{
	struct sockaddr_in dst = {.sin_family = AF_INET};
	_cleanup_close_ int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	struct {
		struct icmphdr h;
		char payload[24];
	} pkt = {0};

	if (fd < 0 || inet_pton(AF_INET, addr, &dst.sin_addr) != 1)
		return 2;
	/* A few tries: the first packet may wait for ARP on a fresh link. */
	for (int attempt = 0; attempt < 3; attempt++) {
		pkt.h.type = ICMP_ECHO;
		pkt.h.un.echo.id = htons((uint16_t)(getpid() & 0xffff));
		pkt.h.un.echo.sequence = htons((uint16_t)(attempt + 1));
		snprintf(pkt.payload, sizeof(pkt.payload), "weft netlab");
		pkt.h.checksum = 0;
		pkt.h.checksum = icmp_sum(&pkt, sizeof(pkt));
		if (sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
			continue;
		if (await_reply(fd, &dst, pkt.h.un.echo.id, timeout_ms / 3))
			return 0;
	}
	return 1;
}

bool lab_ping(const char *netns, const char *addr, int timeout_ms)
{
	char path[PATH_MAX];
	pid_t pid;
	int st;

	lab_netns_path(netns, path, sizeof(path));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			_exit(2);
		_exit(ping_here(addr, timeout_ms));
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* bits/s received, from iperf3 -J output; 0 when it did not run (iperf3 -J may exit 0 with
 * {"error": ...} when it could not connect). */
static double iperf_bps(const char *out)
{
	_cleanup_json_ json_t *j = out ? json_loads(out, 0, NULL) : NULL;

	return json_number_value(json_object_get(
		json_object_get(json_object_get(j, "end"), "sum_received"), "bits_per_second"));
}

/* The client, retried for up to 3 s while the server is not listening yet. */
static double iperf_client(const struct lab *lab, const char *netns, char *const argv[])
{
	struct timespec ts = {0, 50 * 1000 * 1000};
	long long end = mono_ms() + 3000;

	while (mono_ms() < end) {
		_cleanup_free_ char *out = NULL;
		double bps = 0;

		if (lab_run_in(lab, netns, argv, &out, true) == 0)
			bps = iperf_bps(out);
		if (bps > 0)
			return bps;
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* The one-off server is our child: reaped when it ends after the test, killed when it does
 * not (no client ever came). */
static void iperf_reap(pid_t pid)
{
	struct timespec ts = {0, 20 * 1000 * 1000};

	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int lab_iperf(struct lab *lab, const char *server, const char *client, const char *addr, int cpu,
	      double *ret_bps)
{
	const char *secs = getenv("NETLAB_IPERF_SECONDS") ? getenv("NETLAB_IPERF_SECONDS") : "3";
	char ipb[PATH_MAX], iperf[PATH_MAX], aff[32];
	const char *sv[] = {ipb, "netns", "exec", server, iperf, "-s", "-1", NULL};
	const char *cl[12] = {iperf, "-c", addr, "-t", secs, "-J", "--connect-timeout", "1000"};
	pid_t pid;

	*ret_bps = -1;
	if (!lab_find_bin("ip", ipb, sizeof(ipb)) || !lab_find_bin("iperf3", iperf, sizeof(iperf)))
		return -ENOENT;
	if (cpu >= 0) {
		snprintf(aff, sizeof(aff), "%d,%d", cpu, cpu);
		cl[8] = "-A";
		cl[9] = aff;
	}
	pid = lab_spawn(lab, (char *const *)sv, NULL, NULL);
	if (pid < 0)
		return pid;
	*ret_bps = iperf_client(lab, client, (char *const *)cl);
	iperf_reap(pid);
	return *ret_bps > 0 ? 0 : -EIO;
}

const char *lab_addrs(const struct lab *lab, const char *ns, const char *ifname, char *buf,
		      size_t len)
{
	_cleanup_json_ json_t *j = lab_ip_json(lab, ns, "addr", "show", "dev", ifname, NULL);
	const json_t *link = json_array_get(j, 0), *a;
	size_t i, n = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(link, "addr_info"), i, a)
	{
		const char *local = json_string_value(json_object_get(a, "local"));
		const char *scope = json_string_value(json_object_get(a, "scope"));

		if (!local || (scope && strcmp(scope, "link") == 0))
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s/%d", n ? ", " : "",
				      local,
				      (int)json_integer_value(json_object_get(a, "prefixlen")));
	}
	return buf;
}

json_t *lab_links(const struct lab *lab, const char *ns)
{
	return lab_ip_json(lab, ns, "-d", "link", "show", NULL);
}

/* Name of the netns that nsid denotes, as seen from ns. */
static bool nsid_name(const struct lab *lab, const char *ns, json_int_t nsid, char *buf, size_t len)
{
	_cleanup_json_ json_t *ids = lab_ip_json(lab, ns, "netns", "list-id", NULL);
	const json_t *e;
	size_t i;

	json_array_foreach(ids, i, e) if (json_integer_value(json_object_get(e, "nsid")) == nsid &&
					  json_is_string(json_object_get(e, "name")))
	{
		snprintf(buf, len, "%s", json_string_value(json_object_get(e, "name")));
		return true;
	}
	return false;
}

static const char *ifname_by_index(const struct lab *lab, const char *ns, json_int_t idx, char *buf,
				   size_t len)
{
	_cleanup_json_ json_t *links = lab_links(lab, ns);
	const json_t *l;
	size_t i;

	json_array_foreach(links, i,
			   l) if (json_integer_value(json_object_get(l, "ifindex")) == idx)
	{
		snprintf(buf, len, "%s", json_string_value(json_object_get(l, "ifname")));
		return buf;
	}
	return NULL;
}

struct shown {
	char ns[64], ifname[16];
	int node;
};

static int shown_find(const struct shown *s, size_t n, const char *ns, const char *ifname)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i].ns, ns) == 0 && strcmp(s[i].ifname, ifname) == 0)
			return s[i].node;
	return -1;
}

static void link_detail(const struct lab *lab, const char *ns, const json_t *l, char buf[200],
			size_t len)
{
	const char *ifname = json_string_value(json_object_get(l, "ifname"));
	const char *kind =
		json_string_value(json_object_get(json_object_get(l, "linkinfo"), "info_kind"));
	const char *master = json_string_value(json_object_get(l, "master"));
	const char *state = lab_link_is_up(l) ? "UP" : "DOWN";
	char addrs[120];

	lab_addrs(lab, ns, ifname, addrs, sizeof(addrs));
	snprintf(buf, len, "%s%s%s%s%s%s%s", kind ? kind : "device", addrs[0] ? "  " : "", addrs,
		 master ? "  master " : "", master ? master : "", state ? "  " : "",
		 state ? state : "");
}

/* One group per namespace with its interfaces (lo left out), and an edge per veth pair. */
int lab_show_netns(const struct lab *lab, struct topo *t, const char *const *ns,
		   const char *const *titles, const char *const *kinds, size_t n)
{
	struct shown seen[TOPO_MAX_NODES];
	size_t n_seen = 0;

	for (size_t g = 0; g < n; g++) {
		_cleanup_json_ json_t *links = lab_links(lab, ns[g]);
		int grp = lab_topo_group(t, kinds[g], "%s (netns %s)", titles[g], ns[g]);
		const json_t *l;
		size_t i;

		json_array_foreach(links, i, l)
		{
			const char *ifname = json_string_value(json_object_get(l, "ifname"));
			char detail[200];

			if (!ifname || strcmp(ifname, "lo") == 0 || n_seen >= TOPO_MAX_NODES)
				continue;
			link_detail(lab, ns[g], l, detail, sizeof(detail));
			seen[n_seen].node = lab_topo_node(t, grp, ifname, "%s", detail);
			snprintf(seen[n_seen].ns, sizeof(seen[0].ns), "%s", ns[g]);
			snprintf(seen[n_seen].ifname, sizeof(seen[0].ifname), "%s", ifname);
			n_seen++;
		}
	}
	for (size_t i = 0; i < n_seen; i++) {
		_cleanup_json_ json_t *j = lab_ip_json(lab, seen[i].ns, "-d", "link", "show", "dev",
						       seen[i].ifname, NULL);
		const json_t *l = json_array_get(j, 0);
		char peer_ns[64], peer_if[16];
		int peer;

		if (!json_object_get(l, "link_netnsid") ||
		    !nsid_name(lab, seen[i].ns,
			       json_integer_value(json_object_get(l, "link_netnsid")), peer_ns,
			       sizeof(peer_ns)) ||
		    !ifname_by_index(lab, peer_ns,
				     json_integer_value(json_object_get(l, "link_index")), peer_if,
				     sizeof(peer_if)))
			continue;
		peer = shown_find(seen, n_seen, peer_ns, peer_if);
		if (peer > seen[i].node)
			lab_topo_edge(t, seen[i].node, peer, "veth");
	}
	return 0;
}

json_t *lab_link(const struct lab *lab, const char *ns, const char *ifname)
{
	_cleanup_json_ json_t *j = lab_ip_json(lab, ns, "-d", "link", "show", "dev", ifname, NULL);

	return json_incref(json_array_get(j, 0));
}

/* Administratively up with a carrier (operstate lags behind: the kernel's linkwatch updates it
 * up to a second later). */
bool lab_link_is_up(const json_t *link)
{
	const json_t *f;
	bool up = false, lower = false;
	size_t i;

	json_array_foreach(json_object_get(link, "flags"), i, f)
	{
		up = up || strcmp(json_string_value(f) ?: "", "UP") == 0;
		lower = lower || strcmp(json_string_value(f) ?: "", "LOWER_UP") == 0;
	}
	return up && lower;
}

int lab_bpffs_mount(struct lab *lab, const char *path)
{
	int r = lab_record(lab, json_pack("{s:s,s:s}", "kind", "mount", "path", path));

	if (r < 0)
		return r;
	lab_step(lab, "mount -t bpf bpf %s", path);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (mount("bpf", path, "bpf", 0, "mode=0700") < 0) {
		r = -errno;
		fprintf(stderr, "netlab: mount -t bpf bpf %s: %s\n", path, strerror(-r));
		return r;
	}
	return 0;
}

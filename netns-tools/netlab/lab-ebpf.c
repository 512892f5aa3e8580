/* SPDX-License-Identifier: Apache-2.0 */
/* ebpf: pods on one node without a bridge, wired by the weft ebpf plugin run as a real CNI
 * plugin through the runtime side (conflist in the lab's conf dir, results in its cache dir,
 * programs and maps pinned in a bpffs netlab mounts in the lab dir, never the machine's
 * /sys/fs/bpf). Each pod has a /32 behind the link-local router 169.254.1.1, whose ARP the tc
 * program on the host veth answers; pod-to-pod traffic is delivered by bpf_redirect_peer,
 * the rest goes to the host stack (masquerade to an "outside" netns). verify reads the
 * datapath's counters and compares one iperf3 stream over it with the same stream over the
 * weft bridge plugin (a second host netns) and over a bare veth pair.
 * Background: docs/design.md §5, docs/datapath.md §2 (an eBPF fast path in Cilium's style). */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cni/delegate.h"
#include "common/netns.h"
#include "netns-tools/runtime/runtime.h"
#include "netns-tools/netlab/lab.h"

#define N_PODS	  3
#define N_CMP	  2 /* pods on the bridge, ends of the veth pair */
#define SUBNET	  "10.23.0.0/24"
#define ROUTER	  "169.254.1.1"
#define HOST_UP	  "10.98.0.1/24"
#define OUTSIDE	  "10.98.0.2"
#define OUTSIDE_P "10.98.0.2/24"
#define BR_SUBNET "10.24.0.0/24"
#define VETH_A_P  "10.25.0.1/24"
#define VETH_B	  "10.25.0.2"
#define VETH_B_P  "10.25.0.2/24"

struct ebpf_lab {
	char host[96], out[96], pod[N_PODS][96];
	char bhost[96], bpod[N_CMP][96], v[N_CMP][96];
	char net[80], brnet[80]; /* the CNI network names */
	char conf[PATH_MAX], brconf[PATH_MAX], cache[PATH_MAX], pin[PATH_MAX];
};

/* What an ADD gave a pod, from the lab's result cache. */
struct pod_info {
	char ip[48];		/* without the prefix length; "" when there is no result */
	char veth[32], mac[32]; /* the host end (the first interface without a sandbox) */
};

static void names(const struct lab *lab, struct ebpf_lab *e)
{
	char node[16];

	lab_name(lab, "host", e->host, sizeof(e->host));
	lab_name(lab, "out", e->out, sizeof(e->out));
	lab_name(lab, "bhost", e->bhost, sizeof(e->bhost));
	for (int i = 0; i < N_PODS; i++) {
		snprintf(node, sizeof(node), "c%d", i + 1);
		lab_name(lab, node, e->pod[i], sizeof(e->pod[i]));
	}
	for (int i = 0; i < N_CMP; i++) {
		snprintf(node, sizeof(node), "b%d", i + 1);
		lab_name(lab, node, e->bpod[i], sizeof(e->bpod[i]));
		snprintf(node, sizeof(node), "v%d", i + 1);
		lab_name(lab, node, e->v[i], sizeof(e->v[i]));
	}
	snprintf(e->net, sizeof(e->net), "%s", lab->id);
	snprintf(e->brnet, sizeof(e->brnet), "%s-br", lab->id);
	snprintf(e->conf, sizeof(e->conf), "%s/net.d/%s.conflist", lab->dir, e->net);
	snprintf(e->brconf, sizeof(e->brconf), "%s/net.d/%s.conflist", lab->dir, e->brnet);
	snprintf(e->cache, sizeof(e->cache), "%s/cache", lab->dir);
	snprintf(e->pin, sizeof(e->pin), "%s/bpf", lab->dir);
}

static bool pod_load(const struct ebpf_lab *e, const char *net, const char *pod, struct pod_info *p)
{
	struct rt rt = {.cache_dir = e->cache};
	struct rt_cached c = {0};
	const json_t *it;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (rt_cache_read(&rt, net, pod, "eth0", &c, NULL) < 0)
		return false;
	snprintf(p->ip, sizeof(p->ip), "%s",
		 json_string_value(json_object_get(
			 json_array_get(json_object_get(c.result, "ips"), 0), "address"))
			 ?: "");
	p->ip[strcspn(p->ip, "/")] = '\0';
	json_array_foreach(json_object_get(c.result, "interfaces"), i, it)
	{
		if (p->veth[0] || json_object_get(it, "sandbox"))
			continue;
		snprintf(p->veth, sizeof(p->veth), "%s",
			 json_string_value(json_object_get(it, "name")) ?: "");
		snprintf(p->mac, sizeof(p->mac), "%s",
			 json_string_value(json_object_get(it, "mac")) ?: "");
	}
	rt_cached_free(&c);
	return p->ip[0] != '\0';
}

/* ---- up ------------------------------------------------------------------------------------ */

static int need_plugin(const struct lab *lab, const char *type, char *buf, size_t len)
{
	if (cni_find_plugin(lab->cni_path, type, buf, len, NULL) >= 0)
		return 0;
	fprintf(stderr, "netlab: no %s plugin in %s (build weft, or --cni-path DIR)\n", type,
		lab->cni_path);
	return -ENOENT;
}

static int write_conf(const char *path, json_t *conf)
{
	_cleanup_json_ json_t *c = conf;

	return c && json_dump_file(c, path, JSON_INDENT(2)) == 0 ? 0 : -EIO;
}

/* Both networks keep their IPAM store in the lab dir; the ebpf one pins into the lab's bpffs. */
static int write_conflists(const struct lab *lab, const struct ebpf_lab *e)
{
	char dir[PATH_MAX], ipam[PATH_MAX + 8];
	int r;

	snprintf(dir, sizeof(dir), "%s/net.d", lab->dir);
	snprintf(ipam, sizeof(ipam), "%s/ipam", lab->dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	r = write_conf(e->conf,
		       json_pack("{s:s,s:s,s:[{s:s,s:b,s:s,s:{s:s,s:[[{s:s}]],s:s}}]}",
				 "cniVersion", "1.1.0", "name", e->net, "plugins", "type", "ebpf",
				 "ipMasq", 1, "pinRoot", e->pin, "ipam", "type", "host-local",
				 "ranges", "subnet", SUBNET, "dataDir", ipam));
	if (r >= 0)
		r = write_conf(e->brconf,
			       json_pack("{s:s,s:s,s:[{s:s,s:s,s:b,s:{s:s,s:[[{s:s}]],s:s}}]}",
					 "cniVersion", "1.0.0", "name", e->brnet, "plugins", "type",
					 "bridge", "bridge", "cni0", "isGateway", 1, "ipam", "type",
					 "host-local", "ranges", "subnet", BR_SUBNET, "dataDir",
					 ipam));
	return r;
}

/* A veth pair a:ifa - b:ifb with an address on each end, both up. */
static int veth_pair(struct lab *lab, const char *a, const char *ifa, const char *addr_a,
		     const char *b, const char *ifb, const char *addr_b)
{
	int r = lab_cmd(lab, "ip", "-n", a, "link", "add", ifa, "type", "veth", "peer", "name", ifb,
			"netns", b, NULL);

	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", a, "addr", "add", addr_a, "dev", ifa, NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", b, "addr", "add", addr_b, "dev", ifb, NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", a, "link", "set", ifa, "up", NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", b, "link", "set", ifb, "up", NULL);
	return r;
}

/* The namespaces; "outside" has no route back to the pods (only masquerade makes their pings
 * answerable); v1 - v2 is the bare veth pair the datapaths are compared with. */
static int plumbing(struct lab *lab, const struct ebpf_lab *e)
{
	int r = lab_netns_add(lab, e->host);

	if (r >= 0)
		r = lab_netns_add(lab, e->out);
	for (int i = 0; r >= 0 && i < N_PODS; i++)
		r = lab_netns_add(lab, e->pod[i]);
	if (r >= 0)
		r = lab_netns_add(lab, e->bhost);
	for (int i = 0; r >= 0 && i < N_CMP; i++)
		r = lab_netns_add(lab, e->bpod[i]);
	for (int i = 0; r >= 0 && i < N_CMP; i++)
		r = lab_netns_add(lab, e->v[i]);
	if (r >= 0)
		r = veth_pair(lab, e->host, "uplink", HOST_UP, e->out, "eth0", OUTSIDE_P);
	if (r >= 0)
		r = veth_pair(lab, e->v[0], "eth0", VETH_A_P, e->v[1], "eth0", VETH_B_P);
	return r;
}

struct cni_ctx {
	const struct lab *lab;
	const char *conf, *cache, *pod;
	bool check; /* CHECK instead of ADD */
};

static int cni_in_host(void *arg, struct cni_err *err)
{
	const struct cni_ctx *x = arg;
	_cleanup_netconf_ struct rt_netconf *nc = NULL;
	_cleanup_json_ json_t *res = NULL;
	struct rt rt = {.cni_path = x->lab->cni_path, .cache_dir = x->cache};
	char netns[PATH_MAX];
	struct rt_attach a = {.container_id = x->pod, .netns = netns, .ifname = "eth0"};
	int r;

	lab_netns_path(x->pod, netns, sizeof(netns));
	r = rt_netconf_from_file(x->conf, &nc, err);
	if (r >= 0)
		r = x->check ? rt_check(&rt, nc, &a, err) : rt_add(&rt, nc, &a, &res, err);
	if (r < 0) {
		fprintf(stderr, "netlab: CNI %s %s: %s%s%s\n", x->check ? "CHECK" : "ADD", x->pod,
			err->msg, err->details[0] ? ": " : "", err->details);
	} else if (res && x->lab->verbose) {
		_cleanup_free_ char *s = json_dumps(res, JSON_COMPACT);

		fprintf(stderr, "netlab: ADD %s: %s\n", x->pod, s ? s : "");
	}
	return r;
}

/* cni_in_host run inside the lab netns host. */
static int cni_in(const char *host, struct cni_ctx *x)
{
	struct cni_err err = {0};
	char path[PATH_MAX];

	return netns_exec_path(lab_netns_path(host, path, sizeof(path)), cni_in_host, x, &err);
}

/* CNI ADD of pod through the runtime side inside host, recorded first (down DELs it). */
static int attach(struct lab *lab, const struct ebpf_lab *e, const char *host, const char *conf,
		  const char *pod)
{
	struct cni_ctx x = {.lab = lab, .conf = conf, .cache = e->cache, .pod = pod};
	char netns[PATH_MAX];
	int r;

	lab_netns_path(pod, netns, sizeof(netns));
	r = lab_record(lab,
		       json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "cni", "hostNetns",
				 host, "conflist", conf, "cniPath", lab->cni_path, "cacheDir",
				 e->cache, "containerId", pod, "ifname", "eth0", "netns", netns));
	if (r < 0)
		return r;
	lab_step(lab, "CNI ADD %s eth0 (%s) in %s", pod, conf, host);
	return cni_in(host, &x);
}

static int ebpf_up(struct lab *lab)
{
	struct ebpf_lab e;
	char plugin[PATH_MAX];
	int r;

	names(lab, &e);
	r = need_plugin(lab, "ebpf", plugin, sizeof(plugin));
	if (r >= 0)
		r = need_plugin(lab, "bridge", plugin, sizeof(plugin));
	if (r >= 0)
		r = write_conflists(lab, &e);
	if (r >= 0)
		r = lab_bpffs_mount(lab, e.pin);
	if (r >= 0)
		r = plumbing(lab, &e);
	for (int i = 0; r >= 0 && i < N_PODS; i++)
		r = attach(lab, &e, e.host, e.conf, e.pod[i]);
	for (int i = 0; r >= 0 && i < N_CMP; i++)
		r = attach(lab, &e, e.bhost, e.brconf, e.bpod[i]);
	return r;
}

/* ---- verify -------------------------------------------------------------------------------- */

static void verify_pod(struct lab *lab, const struct ebpf_lab *e, int i, const struct pod_info *p)
{
	_cleanup_json_ json_t *routes =
		lab_ip_json(lab, e->pod[i], "route", "show", "default", NULL);
	const json_t *def = json_array_get(routes, 0);
	const char *via = json_string_value(json_object_get(def, "gateway"));
	struct cni_ctx x = {.lab = lab, .conf = e->conf, .cache = e->cache, .pod = e->pod[i]};
	char want[64], addrs[128];

	lab_check(lab, p->ip[0] && p->veth[0],
		  "%s: cached result %s/results/%s-%s-eth0 has an IP and a host veth", e->pod[i],
		  e->cache, e->net, e->pod[i]);
	snprintf(want, sizeof(want), "%.47s/32", p->ip);
	lab_addrs(lab, e->pod[i], "eth0", addrs, sizeof(addrs));
	lab_check(lab, p->ip[0] && strcmp(addrs, want) == 0, "%s eth0 has %s alone (found '%s')",
		  e->pod[i], want, addrs);
	lab_check(lab, via && strcmp(via, ROUTER) == 0 && json_array_size(routes) == 1,
		  "%s default route via %s (found %s)", e->pod[i], ROUTER, via ? via : "none");
	x.check = true;
	lab_check(lab, cni_in(e->host, &x) >= 0,
		  "CNI CHECK %s passes (runtime side, cached prevResult)", e->pod[i]);
}

static void verify_no_bridge(struct lab *lab, const struct ebpf_lab *e)
{
	_cleanup_json_ json_t *br =
		lab_ip_json(lab, e->host, "link", "show", "type", "bridge", NULL);

	lab_check(lab, json_is_array(br) && json_array_size(br) == 0,
		  "%s has no bridge device (found %zu)", e->host, json_array_size(br));
}

static void verify_pings(struct lab *lab, const struct ebpf_lab *e, const struct pod_info *p)
{
	_cleanup_json_ json_t *back = NULL;

	for (int i = 0; i < N_PODS; i++)
		for (int k = 0; k < N_PODS; k++)
			if (k != i)
				lab_check(lab, lab_ping(e->pod[i], p[k].ip, 3000),
					  "ping %s -> %s (%s)", e->pod[i], p[k].ip, e->pod[k]);
	back = lab_ip_json(lab, e->out, "route", "show", "to", "match", p[0].ip, NULL);
	lab_check(lab, back && json_array_size(back) == 0,
		  "%s has no route to %s (replies need masquerade)", e->out, SUBNET);
	for (int i = 0; i < N_PODS; i++)
		lab_check(lab, lab_ping(e->pod[i], OUTSIDE, 3000),
			  "ping %s -> outside %s (masqueraded as %s)", e->pod[i], OUTSIDE, HOST_UP);
}

/* Nobody owns the router address: the pod's ARP for it was answered by the program, with the
 * MAC of the pod's host veth. */
static void verify_router_neigh(struct lab *lab, const struct ebpf_lab *e, int i,
				const struct pod_info *p)
{
	_cleanup_json_ json_t *link = lab_link(lab, e->host, p->veth[0] ? p->veth : "-");
	_cleanup_json_ json_t *neigh =
		lab_ip_json(lab, e->pod[i], "neigh", "show", ROUTER, "dev", "eth0", NULL);
	const char *mac = json_string_value(json_object_get(link, "address"));
	const char *ll = json_string_value(json_object_get(json_array_get(neigh, 0), "lladdr"));

	lab_check(lab, mac && ll && strcmp(mac, ll) == 0,
		  "%s: neighbour %s is %s, the MAC of host veth %s (ARP answered by the program)",
		  e->pod[i], ROUTER, ll ? ll : "missing", p->veth);
}

/* `<ebpf> stats <network> --pin-root <pin> [--json]` inside the lab host; its stdout. */
static int run_stats(const struct lab *lab, const struct ebpf_lab *e, bool as_json, char **out)
{
	char plugin[PATH_MAX];

	if (cni_find_plugin(lab->cni_path, "ebpf", plugin, sizeof(plugin), NULL) < 0)
		return -ENOENT;
	{
		char *const argv[] = {plugin,	    "stats",	    (char *)e->net,
				      "--pin-root", (char *)e->pin, as_json ? "--json" : NULL,
				      NULL};

		return lab_run_in(lab, e->host, argv, out, false);
	}
}

static json_t *stats_load(const struct lab *lab, const struct ebpf_lab *e)
{
	_cleanup_free_ char *out = NULL;

	if (run_stats(lab, e, true, &out) != 0 || !out)
		return NULL;
	return json_loads(out, 0, NULL);
}

/* One counter of one pod (by container ID) from `ebpf stats --json`; -1 when absent. */
static long long counter(const json_t *stats, const char *pod, const char *key)
{
	const json_t *it;
	size_t i;

	json_array_foreach(stats, i, it)
	{
		const char *cid = json_string_value(json_object_get(it, "containerID"));

		if (cid && strcmp(cid, pod) == 0 && json_is_integer(json_object_get(it, key)))
			return (long long)json_integer_value(json_object_get(it, key));
	}
	return -1;
}

static void print_indented(const char *text)
{
	for (const char *l = text; l && *l;) {
		size_t n = strcspn(l, "\n");

		printf("    %.*s\n", (int)n, l);
		l += n + (l[n] == '\n');
	}
}

static void verify_counters(struct lab *lab, const struct ebpf_lab *e)
{
	_cleanup_json_ json_t *st = stats_load(lab, e);
	_cleanup_free_ char *table = NULL;

	lab_check(lab, json_array_size(st) == N_PODS,
		  "ebpf stats %s --pin-root %s --json (in %s) lists %d pods (found %zu)", e->net,
		  e->pin, e->host, N_PODS, json_array_size(st));
	for (int i = 0; i < N_PODS; i++) {
		long long fwd = counter(st, e->pod[i], "fwdPackets");

		lab_check(lab, fwd > 0,
			  "counters of %s: fwd %lld packets delivered by bpf_redirect_peer, tx "
			  "%lld, rx %lld, arp replies %lld",
			  e->pod[i], fwd, counter(st, e->pod[i], "txPackets"),
			  counter(st, e->pod[i], "rxPackets"),
			  counter(st, e->pod[i], "arpReplies"));
	}
	printf("  counters after the pings (ebpf stats %s, in %s):\n", e->net, e->host);
	if (run_stats(lab, e, false, &table) == 0)
		print_indented(table);
}

/* ---- throughput ---------------------------------------------------------------------------- */

/* The last CPU netlab may run on (sysconf(_SC_NPROCESSORS_ONLN) - 1 on an unrestricted
 * machine): both iperf3 ends run there, so the result is the datapath's CPU cost per byte. */
static int last_cpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = CPU_SETSIZE - 1; c >= 0; c--)
			if (CPU_ISSET(c, &set))
				return c;
	return n > 0 ? (int)n - 1 : 0;
}

struct stream {
	const char *path, *server, *client, *addr;
	double bps; /* < 0: did not run */
};

static const char *gbit(double bps, char *buf, size_t len)
{
	if (bps > 0)
		snprintf(buf, len, "%.1f", bps / 1e9);
	else
		snprintf(buf, len, "n/a");
	return buf;
}

static const char *ratio(double a, double b, char *buf, size_t len)
{
	if (a > 0 && b > 0)
		snprintf(buf, len, "%.2fx", a / b);
	else
		snprintf(buf, len, "n/a");
	return buf;
}

/* Printed, never checked: the ratios depend on the machine. */
static void print_throughput(const struct stream *s, int cpu)
{
	const char *secs = getenv("NETLAB_IPERF_SECONDS") ? getenv("NETLAB_IPERF_SECONDS") : "3";
	char a[16], b[16], c[16], rv[16], rb[16];

	printf("  throughput (one TCP stream, %s s, both ends on CPU %d): ebpf %s Gbit/s = %s "
	       "veth, %s bridge; veth %s; bridge %s\n",
	       secs, cpu, gbit(s[0].bps, a, sizeof(a)), ratio(s[0].bps, s[1].bps, rv, sizeof(rv)),
	       ratio(s[0].bps, s[2].bps, rb, sizeof(rb)), gbit(s[1].bps, b, sizeof(b)),
	       gbit(s[2].bps, c, sizeof(c)));
}

static void verify_throughput(struct lab *lab, const struct ebpf_lab *e, const struct pod_info *p,
			      const struct pod_info *bp)
{
	struct stream s[] = {
		{"ebpf", e->pod[1], e->pod[0], p[1].ip, -1},
		{"veth", e->v[1], e->v[0], VETH_B, -1},
		{"bridge", e->bpod[1], e->bpod[0], bp[1].ip, -1},
	};
	int cpu = last_cpu();
	long long fwd0 = -1, fwd1 = -1;

	for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
		_cleanup_json_ json_t *before = i == 0 ? stats_load(lab, e) : NULL;
		_cleanup_json_ json_t *after = NULL;
		int r = lab_iperf(lab, s[i].server, s[i].client, s[i].addr, cpu, &s[i].bps);

		if (r == -ENOENT) {
			lab_check(lab, false, "iperf3 installed (apt-get install iperf3)");
			return;
		}
		if (i == 0 && (after = stats_load(lab, e))) {
			fwd0 = counter(before, e->pod[0], "fwdPackets");
			fwd1 = counter(after, e->pod[0], "fwdPackets");
		}
		lab_check(lab, r >= 0, "iperf3 ran over the %s path: %s -> %s, %.2f Gbit/s",
			  s[i].path, s[i].client, s[i].addr, s[i].bps > 0 ? s[i].bps / 1e9 : 0.0);
	}
	if (fwd0 >= 0 && fwd1 >= 0)
		printf("  the ebpf stream: %s fwdPackets +%lld (delivered by the program, not the "
		       "host stack)\n",
		       e->pod[0], fwd1 - fwd0);
	print_throughput(s, cpu);
}

static void ebpf_verify(struct lab *lab)
{
	struct ebpf_lab e;
	struct pod_info p[N_PODS], bp[N_CMP];

	names(lab, &e);
	for (int i = 0; i < N_PODS; i++) {
		pod_load(&e, e.net, e.pod[i], &p[i]);
		verify_pod(lab, &e, i, &p[i]);
	}
	for (int i = 0; i < N_CMP; i++) {
		bool ok = pod_load(&e, e.brnet, e.bpod[i], &bp[i]);

		lab_check(lab, ok, "%s: the bridge plugin gave it %s (network %s, in %s)",
			  e.bpod[i], ok ? bp[i].ip : "no address", e.brnet, e.bhost);
	}
	verify_no_bridge(lab, &e);
	verify_pings(lab, &e, p);
	for (int i = 0; i < N_PODS; i++)
		verify_router_neigh(lab, &e, i, &p[i]);
	verify_counters(lab, &e);
	verify_throughput(lab, &e, p, bp);
}

/* ---- show ---------------------------------------------------------------------------------- */

/* The host veths' MACs and pods, which lab_show_netns does not print. */
static void mark_host_veths(const struct ebpf_lab *e, struct topo *t)
{
	for (int i = 0; i < N_PODS; i++) {
		struct pod_info p;

		if (!pod_load(e, e->net, e->pod[i], &p))
			continue;
		for (size_t n = 0; n < t->nn; n++) {
			size_t len = strlen(t->n[n].detail);

			if (t->n[n].group != 0 || strcmp(t->n[n].label, p.veth) != 0)
				continue;
			snprintf(t->n[n].detail + len, sizeof(t->n[n].detail) - len,
				 "  mac %s  pod %s/32", p.mac, p.ip);
		}
	}
}

/* What the plugin pinned under <pin root>/<network>/ (the programs and maps all pods share). */
static void show_pins(const struct ebpf_lab *e, struct topo *t)
{
	char dir[PATH_MAX + 96];
	struct dirent **list = NULL;
	int n, g;

	snprintf(dir, sizeof(dir), "%s/%s", e->pin, e->net);
	g = lab_topo_group(t, "dir", "pinned (bpffs %s)", dir);
	n = scandir(dir, &list, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;

		if (name[0] != '.')
			lab_topo_node(
				t, g, name, "%s",
				strncmp(name, "from_pod", 8) == 0 ? "program: tc ingress of every "
								    "host veth"
				: strncmp(name, "to_pod", 6) == 0 ? "program: tc egress of every "
								    "host veth"
								  : "map");
		free(list[i]);
	}
	free(list);
}

static int ebpf_show(struct lab *lab, struct topo *t)
{
	struct ebpf_lab e;
	const char *ns[] = {e.host,  e.pod[0],	e.pod[1],  e.pod[2], e.out,
			    e.bhost, e.bpod[0], e.bpod[1], e.v[0],   e.v[1]};
	const char *titles[] = {"lab host", "pod c1",	   "pod c2",	    "pod c3",
				"outside",  "bridge host", "bridge pod b1", "bridge pod b2",
				"veth v1",  "veth v2"};
	const char *kinds[] = {"host", "netns", "netns", "netns", "outside",
			       "host", "netns", "netns", "netns", "netns"};

	names(lab, &e);
	snprintf(t->title, sizeof(t->title),
		 "ebpf: %d pods routed by the weft ebpf plugin's tc programs, no bridge (CNI "
		 "network %s)",
		 N_PODS, e.net);
	lab_show_netns(lab, t, ns, titles, kinds, ARRAY_SIZE(ns));
	mark_host_veths(&e, t);
	show_pins(&e, t);
	lab_topo_note(t,
		      "router %s: every pod's default gateway (onlink); no interface owns it, the "
		      "program on the host veth answers its ARP with the veth's MAC",
		      ROUTER);
	lab_topo_note(
		t, "pod -> pod: tc ingress of the sender's host veth, MACs rewritten, TTL - 1, "
		   "bpf_redirect_peer into the receiver; everything else goes to the host stack");
	lab_topo_note(t, "CNI: %s (pinRoot %s), plugins from %s, results cached in %s/results",
		      e.conf, e.pin, lab->cni_path, e.cache);
	lab_topo_note(t, "masquerade: %s leaves the lab host as %s; %s has no route back", SUBNET,
		      HOST_UP, e.out);
	lab_topo_note(t,
		      "compared with: the weft bridge plugin in %s (%s, network %s); a bare veth "
		      "pair %s - %s",
		      e.bhost, BR_SUBNET, e.brnet, e.v[0], e.v[1]);
	lab_topo_note(t, "try: ip netns exec %s %s/ebpf stats %s --pin-root %s", e.host,
		      lab->cni_path, e.net, e.pin);
	return 0;
}

const struct scenario lab_ebpf = {
	.name = "ebpf",
	.origin =
		"an eBPF pod datapath in the style of Cilium: tc programs, redirect into the peer",
	.summary = "3 pods routed by the weft ebpf plugin (tc, bpf_redirect_peer, no bridge), "
		   "counters, iperf3 vs bridge and a veth pair",
	.up = ebpf_up,
	.verify = ebpf_verify,
	.show = ebpf_show,
};

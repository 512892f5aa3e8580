/* SPDX-License-Identifier: Apache-2.0 */
/* bridge: containers on a Linux bridge, wired by the weft bridge plugin run as a real CNI
 * plugin through the runtime side (the conflist lives in the lab's own conf dir; results are
 * cached in the lab's cache dir), each pinging the others and the gateway, and reaching an
 * "outside" namespace through masquerade. The bridge lives in a lab "host" netns.
 * The exercise: how a runtime wires containers to a host bridge (docker0/cni0 + veths) through
 * CNI (docs/netlab.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/netns.h"
#include "netns-tools/runtime/runtime.h"
#include "netns-tools/netlab/lab.h"

#define N_CTRS	  3
#define SUBNET	  "10.22.0.0/24"
#define GATEWAY	  "10.22.0.1"
#define HOST_UP	  "10.99.0.1/24"
#define OUTSIDE	  "10.99.0.2"
#define OUTSIDE_P "10.99.0.2/24"

struct bridge_lab {
	char host[96], out[96], ctr[N_CTRS][96];
	char conflist[PATH_MAX], cache[PATH_MAX];
};

static void names(const struct lab *lab, struct bridge_lab *b)
{
	lab_name(lab, "host", b->host, sizeof(b->host));
	lab_name(lab, "out", b->out, sizeof(b->out));
	for (int i = 0; i < N_CTRS; i++) {
		char node[8];

		snprintf(node, sizeof(node), "c%d", i + 1);
		lab_name(lab, node, b->ctr[i], sizeof(b->ctr[i]));
	}
	snprintf(b->conflist, sizeof(b->conflist), "%s/net.d/%s.conflist", lab->dir, lab->id);
	snprintf(b->cache, sizeof(b->cache), "%s/cache", lab->dir);
}

static int write_conflist(const struct lab *lab, const struct bridge_lab *b)
{
	_cleanup_json_ json_t *conf = NULL;
	char dir[PATH_MAX], ipam[PATH_MAX + 8];

	snprintf(dir, sizeof(dir), "%s/net.d", lab->dir);
	snprintf(ipam, sizeof(ipam), "%s/ipam", lab->dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	conf = json_pack("{s:s,s:s,s:[{s:s,s:s,s:b,s:b,s:b,s:{s:s,s:[[{s:s}]],s:s}}]}",
			 "cniVersion", "1.0.0", "name", lab->id, "plugins", "type", "bridge",
			 "bridge", "cni0", "isGateway", 1, "isDefaultGateway", 1, "ipMasq", 1,
			 "ipam", "type", "host-local", "ranges", "subnet", SUBNET, "dataDir", ipam);
	if (!conf || json_dump_file(conf, b->conflist, JSON_INDENT(2)) < 0)
		return -EIO;
	return 0;
}

static int forward_on(void *arg, struct cni_err *err)
{
	int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	int ok = fd >= 0 && write(fd, "1", 1) == 1;

	(void)arg;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -EIO;
}

/* The lab host, with an uplink to "outside", which has no route back to the pods: only
 * masquerade makes their pings answerable. */
static int plumbing(struct lab *lab, const struct bridge_lab *b)
{
	char path[PATH_MAX];
	int r = lab_netns_add(lab, b->host);

	if (r >= 0)
		r = lab_netns_add(lab, b->out);
	for (int i = 0; r >= 0 && i < N_CTRS; i++)
		r = lab_netns_add(lab, b->ctr[i]);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", b->host, "link", "add", "uplink", "type", "veth",
			    "peer", "name", "eth0", "netns", b->out, NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", b->host, "addr", "add", HOST_UP, "dev", "uplink",
			    NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", b->host, "link", "set", "uplink", "up", NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", b->out, "addr", "add", OUTSIDE_P, "dev", "eth0", NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", b->out, "link", "set", "eth0", "up", NULL);
	if (r >= 0)
		r = netns_exec_path(lab_netns_path(b->host, path, sizeof(path)), forward_on, NULL,
				    NULL);
	return r;
}

struct add_ctx {
	const struct lab *lab;
	const struct bridge_lab *b;
	int i;
};

static int add_in_host(void *arg, struct cni_err *err)
{
	const struct add_ctx *x = arg;
	_cleanup_netconf_ struct rt_netconf *nc = NULL;
	_cleanup_json_ json_t *res = NULL;
	struct rt rt = {.cni_path = x->lab->cni_path, .cache_dir = x->b->cache};
	char netns[PATH_MAX];
	struct rt_attach a = {.container_id = x->b->ctr[x->i], .netns = netns, .ifname = "eth0"};
	int r;

	lab_netns_path(x->b->ctr[x->i], netns, sizeof(netns));
	r = rt_netconf_from_file(x->b->conflist, &nc, err);
	if (r >= 0)
		r = rt_add(&rt, nc, &a, &res, err);
	if (r < 0) {
		fprintf(stderr, "netlab: CNI ADD %s: %s%s%s\n", a.container_id, err->msg,
			err->details[0] ? ": " : "", err->details);
		return r;
	}
	if (x->lab->verbose) {
		_cleanup_free_ char *s = json_dumps(res, JSON_COMPACT);

		fprintf(stderr, "netlab: ADD %s: %s\n", a.container_id, s ? s : "");
	}
	return 0;
}

static int bridge_up(struct lab *lab)
{
	struct bridge_lab b;
	char bridge[PATH_MAX + 8];
	int r;

	names(lab, &b);
	snprintf(bridge, sizeof(bridge), "%s/bridge", lab->cni_path);
	if (strchr(lab->cni_path, ':') == NULL && access(bridge, X_OK) < 0) {
		fprintf(stderr, "netlab: no bridge plugin in %s (build weft, or --cni-path DIR)\n",
			lab->cni_path);
		return -ENOENT;
	}
	r = write_conflist(lab, &b);
	if (r >= 0)
		r = plumbing(lab, &b);
	for (int i = 0; r >= 0 && i < N_CTRS; i++) {
		struct add_ctx x = {lab, &b, i};
		struct cni_err err = {0};
		char netns[PATH_MAX], host[PATH_MAX];

		lab_netns_path(b.ctr[i], netns, sizeof(netns));
		r = lab_record(lab,
			       json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "cni",
					 "hostNetns", b.host, "conflist", b.conflist, "cniPath",
					 lab->cni_path, "cacheDir", b.cache, "containerId",
					 b.ctr[i], "ifname", "eth0", "netns", netns));
		if (r >= 0) {
			lab_step(lab, "CNI ADD %s eth0 (network %s) in %s", b.ctr[i], lab->id,
				 b.host);
			r = netns_exec_path(lab_netns_path(b.host, host, sizeof(host)), add_in_host,
					    &x, &err);
		}
	}
	return r;
}

/* The address the ADD gave the container, from the lab's result cache. */
static bool ctr_ip(const struct bridge_lab *b, const struct lab *lab, int i, char *buf, size_t len)
{
	struct rt rt = {.cache_dir = b->cache};
	struct rt_cached c = {0};
	const char *addr;
	bool ok = false;

	if (rt_cache_read(&rt, lab->id, b->ctr[i], "eth0", &c, NULL) < 0)
		return false;
	addr = json_string_value(
		json_object_get(json_array_get(json_object_get(c.result, "ips"), 0), "address"));
	if (addr) {
		snprintf(buf, len, "%s", addr);
		if (strchr(buf, '/'))
			*strchr(buf, '/') = '\0';
		ok = true;
	}
	rt_cached_free(&c);
	return ok;
}

static int check_in_host(void *arg, struct cni_err *err)
{
	const struct add_ctx *x = arg;
	_cleanup_netconf_ struct rt_netconf *nc = NULL;
	struct rt rt = {.cni_path = x->lab->cni_path, .cache_dir = x->b->cache};
	char netns[PATH_MAX];
	struct rt_attach a = {.container_id = x->b->ctr[x->i], .netns = netns, .ifname = "eth0"};
	int r;

	lab_netns_path(x->b->ctr[x->i], netns, sizeof(netns));
	r = rt_netconf_from_file(x->b->conflist, &nc, err);
	if (r >= 0)
		r = rt_check(&rt, nc, &a, err);
	if (r < 0)
		fprintf(stderr, "netlab: CNI CHECK %s: %s %s\n", a.container_id, err->msg,
			err->details);
	return r;
}

static void verify_host(struct lab *lab, const struct bridge_lab *b)
{
	_cleanup_json_ json_t *br = lab_link(lab, b->host, "cni0");
	_cleanup_json_ json_t *ports =
		lab_ip_json(lab, b->host, "link", "show", "master", "cni0", NULL);
	_cleanup_free_ char *nft = NULL;
	char *const nft_argv[] = {"ip",	 "netns", "exec",    (char *)b->host,
				  "nft", "list",  "ruleset", NULL};
	const char *kind =
		json_string_value(json_object_get(json_object_get(br, "linkinfo"), "info_kind"));
	char addrs[128];

	lab_addrs(lab, b->host, "cni0", addrs, sizeof(addrs));
	lab_check(lab, kind && strcmp(kind, "bridge") == 0, "%s has bridge cni0", b->host);
	lab_check(lab, strcmp(addrs, GATEWAY "/24") == 0, "cni0 is the gateway %s/24 (found '%s')",
		  GATEWAY, addrs);
	lab_check(lab, json_array_size(ports) == N_CTRS, "cni0 has %d veth ports (found %zu)",
		  N_CTRS, json_array_size(ports));
	lab_run(NULL, nft_argv, &nft, true);
	lab_check(lab, nft && strstr(nft, "masquerade"),
		  "%s has an nftables masquerade rule for %s", b->host, SUBNET);
}

static void verify_ctr(struct lab *lab, const struct bridge_lab *b, int i)
{
	_cleanup_json_ json_t *routes =
		lab_ip_json(lab, b->ctr[i], "route", "show", "default", NULL);
	const char *via = json_string_value(json_object_get(json_array_get(routes, 0), "gateway"));
	struct add_ctx x = {lab, b, i};
	struct cni_err err = {0};
	char ip[64], addrs[128], host[PATH_MAX];

	lab_check(lab, ctr_ip(b, lab, i, ip, sizeof(ip)),
		  "%s: cached result %s/results/%s-%s-eth0 has an IP", b->ctr[i], b->cache, lab->id,
		  b->ctr[i]);
	lab_addrs(lab, b->ctr[i], "eth0", addrs, sizeof(addrs));
	lab_check(lab, addrs[0] && strstr(addrs, ip), "%s eth0 has %s/24 (found '%s')", b->ctr[i],
		  ip, addrs);
	lab_check(lab, via && strcmp(via, GATEWAY) == 0, "%s default route via %s", b->ctr[i],
		  GATEWAY);
	lab_check(lab,
		  netns_exec_path(lab_netns_path(b->host, host, sizeof(host)), check_in_host, &x,
				  &err) >= 0,
		  "CNI CHECK %s passes (runtime side, cached prevResult)", b->ctr[i]);
}

static void bridge_verify(struct lab *lab)
{
	_cleanup_json_ json_t *out_routes = NULL;
	struct bridge_lab b;
	char ips[N_CTRS][64];

	names(lab, &b);
	verify_host(lab, &b);
	for (int i = 0; i < N_CTRS; i++) {
		verify_ctr(lab, &b, i);
		if (!ctr_ip(&b, lab, i, ips[i], sizeof(ips[i])))
			snprintf(ips[i], sizeof(ips[i]), "0.0.0.0");
	}
	for (int i = 0; i < N_CTRS; i++) {
		lab_check(lab, lab_ping(b.ctr[i], GATEWAY, 3000), "ping %s -> gateway %s", b.ctr[i],
			  GATEWAY);
		for (int k = 0; k < N_CTRS; k++)
			if (k != i)
				lab_check(lab, lab_ping(b.ctr[i], ips[k], 3000),
					  "ping %s -> %s (%s)", b.ctr[i], ips[k], b.ctr[k]);
	}
	out_routes = lab_ip_json(lab, b.out, "route", "show", "to", "match", "10.22.0.2", NULL);
	lab_check(lab, out_routes && json_array_size(out_routes) == 0,
		  "%s has no route to %s (replies need masquerade)", b.out, SUBNET);
	for (int i = 0; i < N_CTRS; i++)
		lab_check(lab, lab_ping(b.ctr[i], OUTSIDE, 3000),
			  "ping %s -> outside %s (masqueraded as %s)", b.ctr[i], OUTSIDE, HOST_UP);
}

static int bridge_show(struct lab *lab, struct topo *t)
{
	struct bridge_lab b;
	const char *ns[N_CTRS + 2], *titles[N_CTRS + 2], *kinds[N_CTRS + 2];
	const char *ctr_titles[] = {"container c1", "container c2", "container c3"};

	names(lab, &b);
	ns[0] = b.host;
	titles[0] = "lab host";
	kinds[0] = "host";
	for (int i = 0; i < N_CTRS; i++) {
		ns[i + 1] = b.ctr[i];
		titles[i + 1] = ctr_titles[i];
		kinds[i + 1] = "netns";
	}
	ns[N_CTRS + 1] = b.out;
	titles[N_CTRS + 1] = "outside";
	kinds[N_CTRS + 1] = "outside";
	snprintf(t->title, sizeof(t->title),
		 "bridge: %d containers on cni0 via the weft bridge "
		 "plugin (CNI network %s)",
		 N_CTRS, lab->id);
	lab_show_netns(lab, t, ns, titles, kinds, N_CTRS + 2);
	lab_topo_note(t, "CNI: %s, plugins from %s, results cached in %s/results", b.conflist,
		      lab->cni_path, b.cache);
	lab_topo_note(t, "masquerade: %s leaves the lab host as %s; %s has no route back", SUBNET,
		      HOST_UP, b.out);
	lab_topo_note(t, "try: ip netns exec %s ip route; ip netns exec %s nft list ruleset",
		      b.ctr[0], b.host);
	return 0;
}

const struct scenario lab_bridge = {
	.name = "bridge",
	.origin = "container networking on one host: a bridge, a veth per container, masquerade; "
		  "the CNI contract that wires them",
	.summary = "3 containers on a bridge via the weft bridge plugin (CNI), masquerade to "
		   "an outside netns",
	.up = bridge_up,
	.verify = bridge_verify,
	.show = bridge_show,
};

/* SPDX-License-Identifier: Apache-2.0 */
/* verify of the cluster scenario: changes made through the API server only, in order: a node
 * joins (its netns, underlay port, agent and pods are made; its Node object posted), one node
 * is deleted, one node's InternalIP changes, the API server restarts (a node added while it is
 * down), the watch expires (410: a node deleted meanwhile, every agent relists), then add /
 * delete rounds of a node with no netns ("ghost": a pod CIDR and an on-link underlay IP) for
 * more samples. After each step every pod of every live node pings every other one (all pairs,
 * lab_mesh_verify) and no pod was added on the nodes already there. Each change is timed from
 * the admin call to the netlink notification on every other node (lab-cluster-watch.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <glob.h>
#include <linux/rtnetlink.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "netns-tools/netlab/lab-cluster.h"

#define GHOST_CIDR   200 /* 10.244.200.0/24 + round, MN_UNDERLAY_NET.200 + round */
#define RESTART_DOWN "1500"

static uint32_t cidr_of(int i)
{
	return htonl(10u << 24 | 244u << 16 | (uint32_t)i << 8);
}

static uint32_t ip4(const char *s)
{
	struct in_addr a = {0};

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void mesh(struct lab *lab, const struct cl *c)
{
	static struct mn_mesh m;
	static char label[CL_SLOTS][16];

	memset(&m, 0, sizeof(m));
	m.pods = c->pods;
	for (int k = 0; k < c->n; k++) {
		const struct cl_node *n = &c->node[k];

		if (!n->live)
			continue;
		snprintf(label[m.nodes], sizeof(label[0]), "node-%d", n->i);
		m.node[m.nodes] = label[m.nodes];
		m.host[m.nodes] = n->ns;
		for (int j = 0; j < c->pods; j++) {
			m.pod[m.nodes * c->pods + j] = n->pod[j];
			m.ip[m.nodes * c->pods + j] = n->pod_ip[j];
		}
		m.nodes++;
	}
	lab_mesh_verify(lab, &m);
}

/* ebpf: the entries of node n's remote map (bpftool reads the pin; its name carries the
 * datapath's ABI version), -1 when it cannot be read. */
static long remote_entries(const struct lab *lab, const struct cl_node *n)
{
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *out = NULL;
	char pat[PATH_MAX];
	glob_t g;

	snprintf(pat, sizeof(pat), "%s/bpf/n%d/%s/remote_v*", lab->dir, n->i, lab->id);
	if (glob(pat, 0, NULL, &g) != 0)
		return -1;
	char *argv[] = {"bpftool", "-j", "map", "dump", "pinned", g.gl_pathv[0], NULL};
	if (lab_run(NULL, argv, &out, true) == 0 && out)
		j = json_loads(out, 0, NULL);
	globfree(&g);
	return json_is_array(j) ? (long)json_array_size(j) : -1;
}

/* Every live node has a route (proto 0x57) to every other live node and to ghosts, and with
 * ebpf as many remote map entries. */
static void routes_check(struct lab *lab, const struct cl *c, int ghosts)
{
	size_t want = (size_t)(cl_live(c) - 1 + ghosts), len = 0;
	bool bpf = strcmp(c->plugin, "ebpf") == 0;
	char bad[200] = "";
	int ok = 0;

	for (int k = 0; k < c->n; k++) {
		_cleanup_json_ json_t *rt = NULL;
		long maps = (long)want;

		if (!c->node[k].live)
			continue;
		rt = lab_ip_json(lab, c->node[k].ns, "route", "show", "proto", "0x57", NULL);
		if (bpf)
			maps = remote_entries(lab, &c->node[k]);
		if (json_array_size(rt) == want && maps == (long)want)
			ok++;
		else if (len < sizeof(bad) - 60)
			len += (size_t)snprintf(bad + len, sizeof(bad) - len,
						" node-%d has %zu (map %ld)", c->node[k].i,
						json_array_size(rt), maps);
	}
	lab_check(lab, ok == cl_live(c), "every live node has %zu node routes (proto 0x57)%s%s",
		  want, bpf ? " and remote map entries" : "", bad);
}

static int count_cni(const struct lab *lab)
{
	json_t *res = json_object_get(lab->state, "resources"), *r;
	size_t i;
	int n = 0;

	json_array_foreach(res, i, r)
	{
		const char *k = json_string_value(json_object_get(r, "kind"));

		n += k && strcmp(k, "cni") == 0;
	}
	return n;
}

/* Waits for e on every node of w (opened before the change at t0), checks and closes. */
static double watch_done(struct lab *lab, struct cl_watch *w, const struct cl_expect *e, double t0,
			 int timeout_ms, struct cl_samples *s, const char *what)
{
	int seen = cl_watch_wait(w, e, t0, timeout_ms);
	struct cl_samples none = {.n = 0};
	double max = cl_samples_add(s ? s : &none, w);
	char missing[160] = "";
	size_t len = 0;

	for (int k = 0; k < w->n && len < sizeof(missing) - 16; k++)
		if (w->ms[k] < 0)
			len += (size_t)snprintf(missing + len, sizeof(missing) - len, " node-%d",
						w->node[k]->i);
	if (seen == w->n)
		lab_check(lab, true, "%s: on %d/%d other nodes, the last after %.1f ms", what, seen,
			  w->n, max);
	else
		lab_check(lab, false, "%s: on %d/%d other nodes after %d ms; not on:%s", what, seen,
			  w->n, timeout_ms, missing);
	cl_watch_close(w);
	return max;
}

static bool watch_started(const struct lab *lab, long before, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 20) {
		if (kube_api_stat(lab, "watches") > before)
			return true;
		sleep_ms(20);
	}
	return false;
}

static const char *node_name(const struct cl_node *n, char *buf, size_t len)
{
	snprintf(buf, len, "node-%d", n->i);
	return buf;
}

static void step_add(struct lab *lab, struct cl *c)
{
	struct cl_watch w;
	struct cl_expect e = {.type = RTM_NEWROUTE};
	struct cl_node *n;
	char name[32];
	int i = 0, r, cni0 = count_cni(lab);
	long watches = kube_api_stat(lab, "watches");
	double t0;

	for (int k = 0; k < c->n; k++)
		i = c->node[k].i > i ? c->node[k].i : i;
	printf("  -- a node joins: node-%d (netns, underlay, weft-node, then its Node object)\n",
	       ++i);
	r = cl_node_add(lab, c, i);
	cl_save(lab, c);
	if (!lab_check(lab, r >= 0, "node-%d made", i))
		return;
	n = &c->node[c->n - 1];
	e.dst = cidr_of(i);
	/* its agent's start (TLS, LIST) is not what is timed: the others' reaction is */
	lab_check(lab, watch_started(lab, watches, CL_WAIT_MS), "node-%d's agent watches the API",
		  i);
	if (!lab_check(lab, cl_watch_open(c, n, &w) >= 0, "netlink watch on every node"))
		return;
	t0 = cl_now_ms();
	lab_check(lab, kube_node_post(lab, node_name(n, name, sizeof(name)), i, n->ip) >= 0,
		  "POST Node %s", name);
	watch_done(lab, &w, &e, t0, CL_WAIT_MS, &c->add, "its route");
	lab_check(lab, cl_peers_wait(lab, n, cl_live(c), CL_WAIT_MS),
		  "%s's agent synced: its peersFile has the %d nodes", name, cl_live(c));
	lab_check(lab, cl_node_pods(lab, c, n) >= 0, "%d pod(s) added on %s", c->pods, name);
	lab_check(lab, count_cni(lab) == cni0 + c->pods,
		  "no pod ADD on the other nodes (CNI attachments: %d before, %d after)", cni0,
		  count_cni(lab));
}

static void step_delete(struct lab *lab, struct cl *c, struct cl_node *n)
{
	struct cl_watch w;
	struct cl_expect e = {.type = RTM_DELROUTE, .dst = cidr_of(n->i)};
	char name[32];
	double t0;

	printf("  -- a node is deleted: %s (then its agent stops)\n",
	       node_name(n, name, sizeof(name)));
	if (!lab_check(lab, cl_watch_open(c, n, &w) >= 0, "netlink watch on every node"))
		return;
	t0 = cl_now_ms();
	lab_check(lab, kube_node_delete(lab, name) >= 0, "DELETE Node %s", name);
	watch_done(lab, &w, &e, t0, CL_WAIT_MS, &c->del, "its route removed");
	n->live = false;
	cl_save(lab, c);
	lab_check(lab, cl_agent_stop(lab, n), "%s's agent stopped", name);
}

/* Does node n's vxlan device (the only one in its netns) have local address ip? Its agent
 * moves it when the node's InternalIP changes; a few coalescing windows are allowed. */
static bool vtep_is(const struct lab *lab, const struct cl_node *n, const char *ip)
{
	for (int tries = 0; tries < 50; tries++) {
		_cleanup_json_ json_t *l =
			lab_ip_json(lab, n->ns, "-d", "link", "show", "type", "vxlan", NULL);
		const char *local = json_string_value(json_object_get(
			json_object_get(json_object_get(json_array_get(l, 0), "linkinfo"),
					"info_data"),
			"local"));

		if (local && strcmp(local, ip) == 0)
			return true;
		usleep(20000);
	}
	return false;
}

static void step_move(struct lab *lab, struct cl *c, struct cl_node *n)
{
	struct cl_watch w;
	bool vx = strcmp(c->plugin, "vxlan") == 0;
	struct cl_expect e = {.type = vx ? RTM_NEWNEIGH : RTM_NEWROUTE, .dst = cidr_of(n->i)};
	char name[32], ip[24], addr[32];
	double t0;

	snprintf(ip, sizeof(ip), MN_UNDERLAY_NET ".%d", 100 + n->i);
	snprintf(addr, sizeof(addr), "%s/24", ip);
	printf("  -- a node's InternalIP changes: %s %s -> %s (the address added to its ul0 "
	       "first)\n",
	       node_name(n, name, sizeof(name)), n->ip, ip);
	if (vx)
		e.dst = ip4(ip);
	else
		e.gw = ip4(ip);
	if (!lab_check(lab,
		       lab_cmd(lab, "ip", "-n", n->ns, "addr", "add", addr, "dev", "ul0", NULL) >=
				       0 &&
			       cl_watch_open(c, n, &w) >= 0,
		       "%s on %s's ul0; netlink watch on every node", ip, name))
		return;
	t0 = cl_now_ms();
	lab_check(lab, kube_node_post(lab, name, n->i, ip) >= 0, "POST Node %s (InternalIP %s)",
		  name, ip);
	watch_done(lab, &w, &e, t0, CL_WAIT_MS, NULL,
		   vx ? "its FDB entry to the new VTEP address" : "its route through the new IP");
	snprintf(n->ip, sizeof(n->ip), "%s", ip);
	cl_save(lab, c);
	if (vx)
		lab_check(lab, vtep_is(lab, n, ip),
			  "vxlan: %s's agent moved its device's local address to %s (no restart)",
			  name, ip);
}

/* The API server stops (listener and connections) for RESTART_DOWN ms, store kept; a node
 * added while it is down reaches every node once the agents are back on the watch. */
static void step_restart(struct lab *lab, struct cl *c)
{
	struct cl_watch w;
	struct cl_expect e = {.type = RTM_NEWROUTE, .dst = cidr_of(GHOST_CIDR)};
	long watches = kube_api_stat(lab, "watches");
	int fd;
	double t0;

	printf("  -- the API server restarts (down %s ms); node ghost-0 is added meanwhile\n",
	       RESTART_DOWN);
	if (!lab_check(lab, cl_watch_open(c, NULL, &w) >= 0, "netlink watch on every node"))
		return;
	fd = kube_admin_send(lab, "POST", "/restart?down_ms=" RESTART_DOWN, NULL);
	sleep_ms(700); /* its listener is closed by then (it stops within 0.5 s) */
	t0 = cl_now_ms();
	lab_check(lab,
		  fd >= 0 &&
			  kube_node_post(lab, "ghost-0", GHOST_CIDR, MN_UNDERLAY_NET ".200") >= 0,
		  "POST /restart, then Node ghost-0 while the API is down");
	watch_done(lab, &w, &e, t0, 3 * CL_WAIT_MS, NULL, "ghost-0's route, after the restart");
	lab_check(lab, fd >= 0 && kube_admin_recv(fd, NULL) == 200, "the API server is back");
	lab_check(lab, kube_api_stat(lab, "watches") - watches >= cl_live(c),
		  "every agent watches again (%ld new watches for %d agents)",
		  kube_api_stat(lab, "watches") - watches, cl_live(c));
}

/* Watches dropped, then a node deleted and every version compacted before the agents resume:
 * each resumes from a version that is gone (410), relists and finds the node gone. */
static void step_expire(struct lab *lab, struct cl *c)
{
	struct cl_watch w;
	struct cl_expect e = {.type = RTM_DELROUTE, .dst = cidr_of(GHOST_CIDR)};
	long gone = kube_api_stat(lab, "gone"), lists = kube_api_stat(lab, "lists");
	bool ok;
	double t0;

	printf("  -- the watch expires (410 Gone): watches dropped, ghost-0 deleted, versions "
	       "compacted\n");
	if (!lab_check(lab, cl_watch_open(c, NULL, &w) >= 0, "netlink watch on every node"))
		return;
	ok = kube_admin(lab, "POST", "/drop", NULL, NULL) == 200;
	t0 = cl_now_ms();
	ok = ok && kube_node_delete(lab, "ghost-0") >= 0;
	ok = ok && kube_admin(lab, "POST", "/compact", NULL, NULL) == 200;
	lab_check(lab, ok, "POST /drop, DELETE Node ghost-0, POST /compact");
	watch_done(lab, &w, &e, t0, 3 * CL_WAIT_MS, NULL,
		   "ghost-0's route removed, after the relist");
	lab_check(lab,
		  kube_api_stat(lab, "gone") - gone >= cl_live(c) &&
			  kube_api_stat(lab, "lists") - lists >= cl_live(c),
		  "every agent got 410 and relisted (%ld 410s, %ld lists for %d agents)",
		  kube_api_stat(lab, "gone") - gone, kube_api_stat(lab, "lists") - lists,
		  cl_live(c));
}

/* Rounds of a ghost node added then deleted: convergence samples on every live node. */
static void step_rounds(struct lab *lab, struct cl *c, int rounds)
{
	for (int r = 1; r <= rounds; r++) {
		struct cl_watch w;
		struct cl_expect e = {.type = RTM_NEWROUTE, .dst = cidr_of(GHOST_CIDR + r)};
		char name[32], ip[24], what[64];
		double t0;

		snprintf(name, sizeof(name), "ghost-%d", r);
		snprintf(ip, sizeof(ip), MN_UNDERLAY_NET ".%d", GHOST_CIDR + r);
		if (cl_watch_open(c, NULL, &w) < 0)
			break;
		t0 = cl_now_ms();
		kube_node_post(lab, name, GHOST_CIDR + r, ip);
		snprintf(what, sizeof(what), "round %d: %s added", r, name);
		watch_done(lab, &w, &e, t0, CL_WAIT_MS, &c->add, what);
		e.type = RTM_DELROUTE;
		if (cl_watch_open(c, NULL, &w) < 0)
			break;
		t0 = cl_now_ms();
		kube_node_delete(lab, name);
		snprintf(what, sizeof(what), "round %d: %s deleted", r, name);
		watch_done(lab, &w, &e, t0, CL_WAIT_MS, &c->del, what);
	}
}

static void report(struct lab *lab, const struct cl *c, int rounds)
{
	char path[PATH_MAX], text[512];
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(text, sizeof(text),
		 "convergence samples: %zu adds, %zu deletes (%d live nodes x %d rounds + the "
		 "joining and the deleted node; API admin call -> netlink notification, per "
		 "observing node)\n"
		 "convergence: add p50 %.0f ms p99 %.0f ms; delete p50 %.0f ms p99 %.0f ms\n",
		 c->add.n, c->del.n, cl_live(c), rounds, cl_percentile(&c->add, 50),
		 cl_percentile(&c->add, 99), cl_percentile(&c->del, 50),
		 cl_percentile(&c->del, 99));
	fputs(text, stdout);
	snprintf(path, sizeof(path), "%s/convergence.txt", lab->dir);
	f = fopen(path, "we");
	if (f)
		fputs(text, f);
}

static struct cl_node *first_live(struct cl *c, int from)
{
	for (int k = from; k < c->n; k++)
		if (c->node[k].live)
			return &c->node[k];
	return NULL;
}

void cl_verify_steps(struct lab *lab, struct cl *c, int rounds)
{
	struct cl_node *del, *mv;

	printf("  -- the cluster as brought up: %d nodes\n", cl_live(c));
	routes_check(lab, c, 0);
	mesh(lab, c);
	step_add(lab, c);
	routes_check(lab, c, 0);
	mesh(lab, c);
	del = c->n >= 2 ? first_live(c, c->n - 2) : NULL;
	if (del) {
		step_delete(lab, c, del);
		routes_check(lab, c, 0);
		mesh(lab, c);
	}
	mv = first_live(c, 0);
	if (mv) {
		step_move(lab, c, mv);
		routes_check(lab, c, 0);
		mesh(lab, c);
	}
	step_restart(lab, c);
	routes_check(lab, c, 1);
	mesh(lab, c);
	step_expire(lab, c);
	routes_check(lab, c, 0);
	mesh(lab, c);
	printf("  -- %d rounds: a node added, then deleted\n", rounds);
	step_rounds(lab, c, rounds);
	routes_check(lab, c, 0);
	report(lab, c, rounds);
}

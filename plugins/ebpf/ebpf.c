/* SPDX-License-Identifier: Apache-2.0 */
/* The ebpf plugin: pods on veth pairs, addressed /32 behind a link-local router, switched on the
 * host by tc programs (bpf/cni_ebpf.bpf.c) that answer ARP and deliver same-node traffic with
 * bpf_redirect_peer; everything else goes through the host stack (routing, nft masquerade).
 * README.md in this directory has the config keys, a result and what ADD/DEL touch. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "common/bpf/tc.h"
#include "common/cleanup.h"
#include "common/cni/conf.h"
#include "plugins/ebpf/ebpf.h"
#include "plugins/lib/bpfkey.h"
#include "ipam/ipam.h"
#include "common/log.h"
#include "common/naming.h"
#include "common/netns.h"
#include "common/nft/nft.h"
#include "common/nl/link.h"
#include "common/cni/skel.h"

/* One ADD: what it made, so a failure undoes exactly that. */
struct add_state {
	const struct cni_args *a;
	const struct ebpf_conf *conf;
	struct ebpf_dp dp;
	struct nl *host, *ctr;
	int nsfd;
	struct ebpf_pod pod;
	bool made_veth, got_ip, made_ep;
	char alias[256]; /* the host veth's, podnet_alias() */
};

static void pod_names(const struct cni_args *a, struct ebpf_pod *pod)
{
	naming_host_veth_name(a->name, a->container_id, a->ifname, pod->host_veth);
	pod->tag = naming_attachment_hash(a->name, a->container_id, a->ifname);
}

/* The IPAM's addresses: at least one, at most one per family. */
/* The Kubernetes pod, when the runtime names it: its NetworkPolicy is found by it. */
static uint64_t pod_key(const struct cni_args *a)
{
	const char *ns = cni_args_get(a, "K8S_POD_NAMESPACE"),
		   *name = cni_args_get(a, "K8S_POD_NAME");

	return ns && name && *ns && *name ? naming_pod_hash(ns, name) : 0;
}

static int pod_ips_pick(const struct cni_result *res, struct ebpf_pod *pod, struct cni_err *err)
{
	char buf[INET_PREFIX_STRLEN];
	bool seen4 = false, seen6 = false;

	pod->n_ips = 0;
	for (size_t i = 0; i < res->n_ips; i++) {
		const struct inet_prefix *p = &res->ips[i].address;
		bool *seen = p->addr.family == AF_INET6 ? &seen6 : &seen4;

		if (*seen)
			return cni_err_set(
				err, CNI_ERR_CONFIG, EINVAL,
				"ebpf takes one address per family; ipam also returned %s",
				inet_prefix_fmt(p, buf, sizeof(buf)));
		*seen = true;
		pod->ips[pod->n_ips++] = *p;
	}
	if (pod->n_ips == 0)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "ipam returned no address");
	return 0;
}

/* ips[] become /32 and /128 via the family's router; routes go via the router. */
static void result_ips_routes(const struct ebpf_conf *conf, struct cni_result *res, int iface)
{
	for (size_t i = 0; i < res->n_ips; i++) {
		int family = res->ips[i].address.addr.family;

		res->ips[i].address.len = family == AF_INET6 ? 128 : 32;
		res->ips[i].gateway = *ebpf_link_router(conf, family);
		res->ips[i].interface = iface;
	}
	for (size_t i = 0; i < res->n_routes; i++)
		res->routes[i].gw = *ebpf_link_router(conf, res->routes[i].dst.addr.family);
}

static bool has_default(const struct cni_result *res, int family)
{
	for (size_t i = 0; i < res->n_routes; i++)
		if (res->routes[i].dst.len == 0 && res->routes[i].dst.addr.family == family)
			return true;
	return false;
}

/* interfaces = [host veth, pod iface]; a default route per family the pod has. */
static int result_fill(struct add_state *s, struct cni_result *res, struct cni_err *err)
{
	const struct ebpf_pod *pod = &s->pod;
	char mac[18];
	int r;

	r = cni_result_add_iface(res, pod->host_veth, nl_mac_fmt(pod->host_mac, mac, sizeof(mac)),
				 "", err);
	if (r >= 0)
		r = cni_result_add_iface(res, s->a->ifname,
					 nl_mac_fmt(pod->pod_mac, mac, sizeof(mac)), s->a->netns,
					 err);
	if (r < 0)
		return r;
	result_ips_routes(s->conf, res, r);
	for (size_t i = 0; r >= 0 && i < pod->n_ips; i++) {
		int family = pod->ips[i].addr.family;
		struct inet_prefix dflt = {.addr = {.family = family}, .len = 0};

		if (!has_default(res, family))
			r = cni_result_add_route(res, &dflt, ebpf_link_router(s->conf, family),
						 err);
	}
	return r < 0 ? r : 0;
}

/* Pod to pod across nodes keeps its source: the cluster CIDR is not masqueraded. */
static size_t masq_exclude(const struct ebpf_conf *conf, struct inet_prefix *cluster)
{
	if (!conf->multinode || !conf->ov.has_cluster)
		return 0;
	inet_prefix_network(&conf->ov.cluster_cidr, cluster);
	return 1;
}

static int masq_add(struct add_state *s, struct cni_err *err)
{
	struct inet_prefix cluster;
	size_t n = masq_exclude(s->conf, &cluster);

	/* pod.ips still carry IPAM's prefix lengths: the rules are the subnets' */
	return podnet_masq_ensure(s->a->name, s->pod.ips, s->pod.n_ips, &cluster, n, err);
}

static void add_rollback(struct add_state *s)
{
	struct ipam_empty_hook masq_flush = podnet_masq_flush_hook(s->a->name);

	if (s->made_ep)
		(void)ebpf_dp_del_by_tag(&s->dp, s->pod.tag, NULL);
	if (s->got_ip)
		(void)ipam_del(s->conf->ipam, s->a, &masq_flush, NULL);
	if (s->made_veth)
		(void)ebpf_link_veth_del(s->host, s->pod.host_veth, s->alias, NULL);
}

/* The bandwidth capability: the pod's ingress limit is a tbf on the host veth (the packets of
 * other pods then take the host veth's egress instead of bpf_redirect_peer, so the limit holds
 * for them too), its egress limit a tbf on the pod's interface (everything it sends). The
 * qdiscs go with the veth. */
static int shape(struct add_state *s, struct cni_err *err)
{
	const struct bandwidth *bw = &s->conf->bw;
	int r = 0;

	if (bw->ingress.rate_bps) {
		s->pod.ep_flags |= WEFT_EP_F_SHAPED;
		r = nl_tbf_replace(s->host, s->pod.host_ifindex, &bw->ingress, err);
	}
	if (r >= 0 && bw->egress.rate_bps)
		r = nl_tbf_replace(s->ctr, s->pod.pod_ifindex, &bw->egress, err);
	return r < 0 ? cni_err_wrap(err, "bandwidth") : r;
}

static int add_steps(struct add_state *s, struct cni_result *res, struct cni_err *err)
{
	struct ebpf_veth_opts o = {.mtu = s->conf->mtu,
				   .gso_ipv4_max = s->conf->big_tcp ? EBPF_BIG_TCP_SIZE : 0,
				   .alias = s->alias};
	int r;

	r = ebpf_link_veth_add(s->host, s->ctr, s->a->ifname, &o, &s->pod, err);
	/* -EEXIST: a name is taken (maybe by this very attachment): not ours to delete. */
	s->made_veth = r != -EEXIST;
	if (r < 0)
		return r;
	r = ipam_add(s->conf->ipam, s->a, res, err);
	if (r < 0)
		return r;
	s->got_ip = true;
	r = pod_ips_pick(res, &s->pod, err);
	if (r >= 0)
		r = shape(s, err);
	if (r >= 0)
		r = ebpf_link_host_setup(s->host, &s->pod, err);
	if (r < 0)
		return r;
	/* Endpoint before the attachment and the pod's address: the first ARP finds it. */
	s->made_ep = true;
	s->pod.pod_key = pod_key(s->a);
	r = ebpf_dp_ep_add(&s->dp, &s->pod, s->a->container_id, s->a->ifname, err);
	if (r >= 0)
		r = ebpf_dp_attach(&s->dp, s->pod.host_ifindex, err);
	if (r >= 0)
		r = ebpf_link_pod_setup(s->ctr, s->nsfd, &s->pod, s->conf, res, err);
	if (r < 0 || !s->conf->ip_masq)
		return r;
	return masq_add(s, err);
}

static int ebpf_add(const struct cni_args *a, void *c, struct cni_result *res, struct cni_err *err)
{
	struct add_state s = {.a = a, .conf = c, .dp = EBPF_DP_INIT, .nsfd = -1};
	int r;

	pod_names(a, &s.pod);
	podnet_alias(a->name, s.pod.tag, s.alias);
	r = netns_open(a->netns, &s.nsfd, err);
	if (r >= 0)
		r = nl_open(&s.host, NL_NETNS_SELF, err);
	if (r >= 0)
		r = nl_open(&s.ctr, s.nsfd, err);
	if (r >= 0)
		r = ebpf_dp_open(s.conf->pin_root, a->name, true, &s.dp, err); /* shared */
	/* Node level first: a bad peer set fails the ADD before the pod is touched. */
	if (r >= 0 && s.conf->multinode)
		r = ebpf_node_ensure(s.conf, &s.dp, err);
	if (r >= 0) {
		r = add_steps(&s, res, err);
		if (r >= 0)
			r = result_fill(&s, res, err);
		if (r < 0)
			add_rollback(&s);
	}
	ebpf_dp_close(&s.dp);
	nl_close(s.ctr);
	nl_close(s.host);
	if (s.nsfd >= 0)
		close(s.nsfd);
	return r;
}

/* DEL and GC go on past a failed step and report the first failure. */
static void keep_first(int r, struct cni_err *step, int *first, struct cni_err *err)
{
	if (r < 0 && *first >= 0) {
		*first = r;
		*err = *step;
	}
	cni_err_clear(step);
}

static int dp_del(const struct ebpf_conf *conf, const char *network, uint64_t tag,
		  struct cni_err *err)
{
	struct ebpf_dp dp = EBPF_DP_INIT;
	int r;

	r = ebpf_dp_open(conf->pin_root, network, false, &dp, err);
	if (r == -ENOENT) {
		cni_err_clear(err); /* nothing pinned here: nothing to remove */
		return 0;
	}
	if (r >= 0)
		r = ebpf_dp_del_by_tag(&dp, tag, err);
	ebpf_dp_close(&dp);
	return r;
}

static int ebpf_del(const struct cni_args *a, void *c, struct cni_err *err)
{
	const struct ebpf_conf *conf = c;
	struct ipam_empty_hook masq_flush = podnet_masq_flush_hook(a->name);
	_cleanup_nl_ struct nl *host = NULL;
	struct cni_err step = {0};
	struct ebpf_pod pod = {0};
	char alias[256];
	int r, first = 0;

	/* Everything is found from (network, containerID, ifname): no netns, no prevResult. */
	pod_names(a, &pod);
	podnet_alias(a->name, pod.tag, alias);
	keep_first(dp_del(conf, a->name, pod.tag, &step), &step, &first, err);
	r = nl_open(&host, NL_NETNS_SELF, &step);
	if (r >= 0)
		r = ebpf_link_veth_del(host, pod.host_veth, alias, &step);
	keep_first(r, &step, &first, err);
	/* the network's masquerade goes with its last address */
	keep_first(ipam_del(conf->ipam, a, &masq_flush, &step), &step, &first, err);
	/* a per-attachment rule of an older weft (a dump; a commit only if found) */
	keep_first(nft_masq_del(a->name, a->container_id, a->ifname, &step), &step, &first, err);
	return first;
}

/* The endpoints of this attachment, from the map (found by their tag). */
static int pod_from_map(const struct ebpf_dp *dp, struct ebpf_pod *pod, struct cni_err *err)
{
	_cleanup_free_ struct ebpf_dp_entry *list = NULL;
	size_t n = 0;
	int r;

	r = ebpf_dp_list(dp, &list, &n, err);
	if (r < 0)
		return r;
	pod->n_ips = 0;
	for (size_t i = 0; i < n && pod->n_ips < ARRAY_SIZE(pod->ips); i++) {
		struct inet_prefix *ip = &pod->ips[pod->n_ips];

		if (!list[i].has_ep || list[i].ep.tag != pod->tag)
			continue;
		bpfkey_addr(list[i].key.addr, &ip->addr);
		ip->len = ip->addr.family == AF_INET6 ? 128 : 32;
		pod->host_ifindex = (int)list[i].ep.ifindex;
		memcpy(pod->pod_mac, list[i].ep.mac, 6);
		memcpy(pod->host_mac, list[i].ep.host_mac, 6);
		pod->n_ips++;
	}
	if (pod->n_ips)
		return 0;
	return cni_err_set(err, CNI_ERR_INTERNAL, ENOENT, "no endpoint of this attachment in %s",
			   dp->dir);
}

static bool pod_has_ip(const struct ebpf_pod *pod, const struct inet_addr *ip)
{
	for (size_t i = 0; i < pod->n_ips; i++)
		if (inet_addr_eq(&pod->ips[i].addr, ip))
			return true;
	return false;
}

static int prev_result_check(const struct cni_args *a, const struct ebpf_pod *pod,
			     struct cni_err *err)
{
	char buf[INET_PREFIX_STRLEN];

	if (!a->prev_result)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "Required prevResult missing");
	for (size_t i = 0; i < a->prev_result->n_ips; i++)
		if (!pod_has_ip(pod, &a->prev_result->ips[i].address.addr))
			return cni_err_set(
				err, CNI_ERR_INTERNAL, EINVAL,
				"prevResult address %s is not the endpoint's",
				inet_prefix_fmt(&a->prev_result->ips[i].address, buf, sizeof(buf)));
	return 0;
}

static int masq_check(const struct cni_args *a, const struct ebpf_conf *conf,
		      const struct ebpf_pod *pod, struct cni_err *err)
{
	struct inet_prefix cluster;
	size_t n = masq_exclude(conf, &cluster);

	return podnet_masq_check(a->name, pod->ips, pod->n_ips, &cluster, n, err);
}

static int ebpf_check(const struct cni_args *a, void *c, struct cni_err *err)
{
	const struct ebpf_conf *conf = c;
	_cleanup_(ebpf_dp_closep) struct ebpf_dp dp = EBPF_DP_INIT;
	_cleanup_nl_ struct nl *host = NULL, *ctr = NULL;
	_cleanup_close_ int nsfd = -1;
	struct ebpf_pod pod = {0};
	int r;

	pod_names(a, &pod);
	r = ipam_check(conf->ipam, a, err);
	if (r >= 0)
		r = ebpf_dp_open(conf->pin_root, a->name, false, &dp, err);
	if (r >= 0)
		r = pod_from_map(&dp, &pod, err);
	if (r >= 0)
		r = prev_result_check(a, &pod, err);
	if (r >= 0)
		r = nl_open(&host, NL_NETNS_SELF, err);
	if (r >= 0)
		r = ebpf_link_host_check(host, &pod, err);
	if (r >= 0)
		r = ebpf_dp_check_attached(&dp, pod.host_ifindex, err);
	if (r >= 0)
		r = netns_open(a->netns, &nsfd, err);
	if (r >= 0)
		r = nl_open(&ctr, nsfd, err);
	if (r >= 0)
		r = ebpf_link_pod_check(ctr, a->ifname, &pod, conf, err);
	if (r >= 0 && conf->ip_masq)
		r = masq_check(a, conf, &pod, err);
	return r < 0 ? cni_err_wrap(err, "ebpf CHECK") : 0;
}

static bool tag_valid(const struct cni_args *a, uint64_t tag)
{
	for (size_t i = 0; i < a->n_valid_attachments; i++) {
		const struct cni_attachment *v = &a->valid_attachments[i];

		if (naming_attachment_hash(a->name, v->container_id, v->ifname) == tag)
			return true;
	}
	return false;
}

/* Endpoints (their host veths and flows) of attachments that are not valid any
 * more. Goes on past
 * a failed entry; returns the first failure. */
static int dp_gc(const struct cni_args *a, const struct ebpf_conf *conf, struct cni_err *err)
{
	_cleanup_(ebpf_dp_closep) struct ebpf_dp dp = EBPF_DP_INIT;
	_cleanup_free_ struct ebpf_dp_entry *list = NULL;
	_cleanup_nl_ struct nl *host = NULL;
	struct cni_err step = {0};
	size_t n = 0;
	int r, first = 0;

	r = ebpf_dp_open(conf->pin_root, a->name, false, &dp, err);
	if (r == -ENOENT) {
		cni_err_clear(err);
		return 0;
	}
	if (r >= 0)
		r = ebpf_dp_list(&dp, &list, &n, err);
	if (r >= 0)
		r = nl_open(&host, NL_NETNS_SELF, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (tag_valid(a, ebpf_dp_entry_tag(&list[i])))
			continue;
		r = ebpf_dp_entry_del(&dp, &list[i], &step);
		if (r >= 0)
			r = ebpf_dp_flows_del(&dp, &list[i].key, 1, &step);
		if (r >= 0 && list[i].has_meta) {
			char alias[256];

			podnet_alias(a->name, ebpf_dp_entry_tag(&list[i]), alias);
			r = ebpf_link_veth_del(host, list[i].meta.host_veth, alias, &step);
		}
		keep_first(r, &step, &first, err);
	}
	return first;
}

static int ebpf_gc(const struct cni_args *a, void *c, struct cni_err *err)
{
	const struct ebpf_conf *conf = c;
	struct ipam_empty_hook masq_flush = podnet_masq_flush_hook(a->name);
	struct cni_err step = {0};
	int first = 0;

	keep_first(dp_gc(a, conf, &step), &step, &first, err);
	keep_first(podnet_masq_gc(a, conf->ipam, &step), &step, &first, err);
	keep_first(ipam_gc(conf->ipam, a, &masq_flush, &step), &step, &first, err);
	return first;
}

/* Ready when IPAM is, the datapath can be loaded and pinned here (bpffs, CAP_BPF, verifier)
 * and tc can run it (clsact, cls_bpf; probed in a throwaway netns): what an ADD needs. */
static int ebpf_status(const struct cni_args *a, void *c, struct cni_err *err)
{
	const struct ebpf_conf *conf = c;
	struct ebpf_dp dp = EBPF_DP_INIT;
	struct cni_err why = {0};
	int r;

	r = ipam_status(conf->ipam, a, err);
	if (r < 0)
		return r;
	r = ebpf_dp_open(conf->pin_root, a->name, true, &dp, &why);
	if (r >= 0)
		r = bpftc_probe(dp.fd[EBPF_PIN_FROM_POD], &why);
	ebpf_dp_close(&dp);
	if (r < 0)
		return cni_err_setd(err, CNI_ERR_UNAVAILABLE, -r, why.details,
				    "eBPF datapath unavailable: %s", why.msg);
	return 0;
}

static const char *const ebpf_known_args[] = {"IP", NULL};

static const struct cni_plugin ebpf_plugin = {
	.name = "ebpf",
	.conf_size = sizeof(struct ebpf_conf),
	.known_args = ebpf_known_args,
	.parse = ebpf_conf_parse,
	.conf_free = ebpf_conf_free,
	.add = ebpf_add,
	.del = ebpf_del,
	.check = ebpf_check,
	.status = ebpf_status,
	.gc = ebpf_gc,
};

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	if (level == LIBBPF_WARN)
		log_warn("%s", buf);
	else
		log_debug("%s", buf);
	return 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(libbpf_log);
	if (argc >= 2 && strcmp(argv[1], "stats") == 0 && !getenv("CNI_COMMAND"))
		return ebpf_stats_main(argc, argv);
	return cni_plugin_main(&ebpf_plugin, argc, argv);
}

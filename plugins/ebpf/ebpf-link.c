/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel objects of one attachment: the veth pair, the host side (rp_filter, forwarding,
 * podIP/32 and /128 routes, permanent neighbours) and the pod side (podIP/32 and /128, default
 * routes via the link-local routers whose ARP and NDP the program answers). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include "common/cleanup.h"
#include "plugins/ebpf/ebpf.h"
#include "common/log.h"
#include "common/netns.h"
#include "common/nl/addr.h"
#include "common/nl/link.h"
#include "common/nl/neigh.h"
#include "common/nl/route.h"

#define ROUTES_MAX 512

/* Explicit MACs (Cilium does the same): systemd's MACAddressPolicy cannot change them under
 * us, and the endpoint map holds them from the start. Locally administered unicast. */
static int random_mac(uint8_t mac[6], struct cni_err *err)
{
	int r = inet_mac_random(mac);

	return r < 0 ? cni_err_set(err, CNI_ERR_INTERNAL, -r, "getrandom") : 0;
}

static int veth_clash(struct nl *host, struct nl *ctr, const char *ifname,
		      const struct ebpf_pod *pod, struct cni_err *err)
{
	struct nl_link l;

	cni_err_clear(err);
	if (nl_link_get(ctr, ifname, &l, NULL) >= 0)
		return cni_err_set(err, CNI_ERR_NETLINK, EEXIST,
				   "container veth name \"%s\" already exists", ifname);
	if (nl_link_get(host, pod->host_veth, &l, NULL) >= 0)
		return cni_err_set(err, CNI_ERR_NETLINK, EEXIST,
				   "host veth \"%s\" already exists (a stale attachment: DEL it)",
				   pod->host_veth);
	return cni_err_set(err, CNI_ERR_NETLINK, EEXIST, "add veth \"%s\"", ifname);
}

/* What the kernel made of bigTCP: a kernel before 6.3 silently has no IPv4 BIG TCP. */
static void gso_report(const struct nl_link *l, uint32_t want)
{
	if (want && l->gso_max[NL_GSO_IPV4] != want)
		log_warn("%s: IPv4 BIG TCP unavailable (gso_ipv4_max_size %u, want %u; Linux >= "
			 "6.3)",
			 l->name, l->gso_max[NL_GSO_IPV4], want);
}

int ebpf_link_veth_add(struct nl *host, struct nl *ctr, const char *ifname,
		       const struct ebpf_veth_opts *o, struct ebpf_pod *pod, struct cni_err *err)
{
	_cleanup_close_ int host_ns = -1;
	struct nl_link l;
	int r;

	if (random_mac(pod->pod_mac, err) < 0 || random_mac(pod->host_mac, err) < 0)
		return -EIO;
	host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (host_ns < 0)
		return cni_err_set(err, CNI_ERR_NETNS, errno, "open the host netns");

	/* Created from inside the pod netns, the host end born in the host netns: a half-made
	 * pair can never sit in the host netns under the pod's interface name. */
	struct nl_veth v = {.name = ifname,
			    .mac = pod->pod_mac,
			    .mtu = o->mtu,
			    .gso_ipv4_max = o->gso_ipv4_max,
			    .peer = pod->host_veth,
			    .peer_mac = pod->host_mac,
			    .peer_netns_fd = host_ns};
	r = nl_link_add_veth(ctr, &v, &l, err);
	if (r == -EEXIST)
		return veth_clash(host, ctr, ifname, pod, err);
	if (r < 0)
		return r;
	/* The kernel's echo names both ends (the peer as the pod end's link); older kernels do
	 * not echo: look them up. */
	if (l.ifindex <= 0 || l.link <= 0 || l.link_netnsid < 0) {
		struct nl_link h;

		r = nl_link_get(ctr, ifname, &l, err);
		if (r >= 0)
			r = nl_link_get(host, pod->host_veth, &h, err);
		if (r < 0)
			return r;
		l.link = h.ifindex;
	}
	pod->pod_ifindex = l.ifindex;
	pod->host_ifindex = l.link;
	gso_report(&l, o->gso_ipv4_max);
	/* Not born up: veth_open() refuses (ENOTCONN) while the pair is still being made. Up,
	 * tagged with whose it is (DEL and GC never delete a foreign link of that name). */
	return nl_link_change(
		host, pod->host_ifindex,
		&(struct nl_link_change){.flags = IFF_UP, .change = IFF_UP, .alias = o->alias},
		err);
}

static bool has_family(const struct ebpf_pod *pod, int family)
{
	for (size_t i = 0; i < pod->n_ips; i++)
		if (pod->ips[i].addr.family == family)
			return true;
	return false;
}

static int host_sysctls(const struct ebpf_pod *pod, struct cni_err *err)
{
	const char *veth = pod->host_veth;
	char key[128], all[8];
	int r = 0;

	if (has_family(pod, AF_INET6)) {
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", veth);
		r = netns_sysctl_set(-1, key, "0", err);
		if (r >= 0)
			r = netns_sysctl_set(-1, "net/ipv6/conf/all/forwarding", "1", err);
	}
	if (r < 0 || !has_family(pod, AF_INET))
		return r;
	snprintf(key, sizeof(key), "net/ipv4/conf/%s/rp_filter", veth);
	r = netns_sysctl_set(-1, key, "0", err);
	if (r >= 0)
		r = netns_sysctl_set(-1, "net/ipv4/ip_forward", "1", err);
	if (r < 0)
		return r;
	/* The kernel applies max(all, dev): with a strict 'all' the veth stays strict. That is
	 * still correct here, because the podIP/32 route makes the reverse path the veth. */
	if (netns_sysctl_get(-1, "net/ipv4/conf/all/rp_filter", all, sizeof(all), NULL) >= 0 &&
	    all[0] == '1')
		log_info(
			"net.ipv4.conf.all.rp_filter=1 keeps %s strict; the /32 route satisfies it",
			veth);
	return 0;
}

static uint8_t host_len(int family)
{
	return family == AF_INET6 ? 128 : 32;
}

/* podIP/32 (/128) dev <veth>, and the pod's MAC as a permanent neighbour: the host veth has
 * no address to ask from, so the host never resolves the pod. */
static int host_ip_setup(struct nl *host, const struct ebpf_pod *pod, const struct inet_addr *ip,
			 struct cni_err *err)
{
	struct nl_neigh n = {.ifindex = pod->host_ifindex, .ip = *ip};
	struct nl_route rt;
	int r;

	nl_route_init(&rt, ip->family);
	rt.dst.addr = *ip;
	rt.dst.len = host_len(ip->family);
	rt.oif = pod->host_ifindex;
	r = nl_route_replace(host, &rt, err);
	if (r < 0)
		return cni_err_wrap(err, "host route to the pod");
	memcpy(n.mac, pod->pod_mac, 6);
	r = nl_neigh_replace(host, &n, err);
	if (r < 0)
		return cni_err_wrap(err, "host neighbour of the pod");
	return 0;
}

int ebpf_link_host_setup(struct nl *host, const struct ebpf_pod *pod, struct cni_err *err)
{
	int r = host_sysctls(pod, err);

	for (size_t i = 0; r >= 0 && i < pod->n_ips; i++)
		r = host_ip_setup(host, pod, &pod->ips[i].addr, err);
	return r;
}

static int route_via_router(struct nl *ctr, int ifindex, const struct inet_prefix *dst,
			    const struct inet_addr *router, struct cni_err *err)
{
	struct nl_route rt;
	int r;

	nl_route_init(&rt, router->family);
	rt.dst = *dst;
	rt.gw = *router;
	rt.oif = ifindex;
	rt.onlink = true;
	r = nl_route_add(ctr, &rt, err);
	if (r == -EEXIST) {
		cni_err_clear(err);
		return 0;
	}
	return r;
}

const struct inet_addr *ebpf_link_router(const struct ebpf_conf *conf, int family)
{
	return family == AF_INET6 ? &conf->router6 : &conf->router;
}

/* IPv6 may be disabled in a fresh pod netns (default/disable_ipv6=1 on some hosts). */
static int pod_ipv6_on(int nsfd, const char *ifname, struct cni_err *err)
{
	char key[96];

	snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", ifname);
	if (netns_sysctl_set(nsfd, key, "0", err) < 0)
		return cni_err_wrap(err, "enable IPv6 on %s", ifname);
	return 0;
}

/* podIP/32 or /128 (no DAD: the IPAM made it unique, and nothing answers a DAD probe), and
 * the default route via the family's router. */
static int pod_ip_setup(struct nl *ctr, const struct ebpf_pod *pod, const struct inet_prefix *ip,
			const struct ebpf_conf *conf, struct cni_err *err)
{
	int family = ip->addr.family;
	struct inet_prefix addr = {.addr = ip->addr, .len = host_len(family)};
	struct inet_prefix dflt = {.addr = {.family = family}, .len = 0};
	int r;

	r = nl_addr_add(ctr, pod->pod_ifindex, &addr, family == AF_INET6 ? IFA_F_NODAD : 0, err);
	if (r >= 0)
		r = route_via_router(ctr, pod->pod_ifindex, &dflt, ebpf_link_router(conf, family),
				     err);
	return r;
}

int ebpf_link_pod_setup(struct nl *ctr, int nsfd, const struct ebpf_pod *pod,
			const struct ebpf_conf *conf, const struct cni_result *res,
			struct cni_err *err)
{
	struct nl_link l;
	int r = 0;

	if (has_family(pod, AF_INET6)) {
		r = nl_link_get_by_index(ctr, pod->pod_ifindex, &l, err);
		if (r >= 0)
			r = pod_ipv6_on(nsfd, l.name, err);
	}
	if (r >= 0)
		r = nl_link_set_up(ctr, pod->pod_ifindex, err);
	for (size_t i = 0; r >= 0 && i < pod->n_ips; i++)
		r = pod_ip_setup(ctr, pod, &pod->ips[i], conf, err);
	for (size_t i = 0; r >= 0 && i < res->n_routes; i++) {
		const struct inet_prefix *dst = &res->routes[i].dst;

		if (dst->len == 0 || !has_family(pod, dst->addr.family))
			continue;
		r = route_via_router(ctr, pod->pod_ifindex, dst,
				     ebpf_link_router(conf, dst->addr.family), err);
	}
	if (r < 0)
		return cni_err_wrap(err, "configure the pod interface");
	return 0;
}

int ebpf_link_veth_del(struct nl *host, const char *host_veth, const char *alias,
		       struct cni_err *err)
{
	struct nl_link l;
	int r = nl_link_get(host, host_veth, &l, err);

	if (r >= 0 &&
	    (strcmp(l.kind, "veth") != 0 || (l.alias[0] && strcmp(l.alias, alias) != 0))) {
		log_warn("\"%s\" (%s, alias \"%s\") is not this attachment's veth: left alone",
			 host_veth, l.kind, l.alias);
		return 0;
	}
	if (r >= 0)
		r = nl_link_del(host, l.ifindex, err);
	if (r == -ENODEV) { /* gone, or went with its pod netns meanwhile */
		cni_err_clear(err);
		return 0;
	}
	return r;
}

static bool has_route(const struct nl_route *rts, size_t n, const struct inet_prefix *dst,
		      const struct inet_addr *gw, int oif)
{
	for (size_t i = 0; i < n; i++) {
		if (rts[i].dst.len != dst->len || !inet_addr_eq(&rts[i].dst.addr, &dst->addr))
			continue;
		if (rts[i].oif != oif)
			continue;
		if (gw ? !inet_addr_eq(&rts[i].gw, gw) : inet_addr_is_set(&rts[i].gw))
			continue;
		return true;
	}
	return false;
}

static int route_check(struct nl *nl, const struct inet_prefix *dst, const struct inet_addr *gw,
		       int oif, const char *where, struct cni_err *err)
{
	_cleanup_free_ struct nl_route *rts = calloc(ROUTES_MAX, sizeof(*rts));
	char buf[INET_PREFIX_STRLEN];
	size_t n = 0;
	int r;

	if (!rts)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "allocate routes");
	r = nl_route_list(nl, dst->addr.family, 0, rts, ROUTES_MAX, &n, err);
	if (r < 0)
		return r;
	if (!has_route(rts, n < ROUTES_MAX ? n : ROUTES_MAX, dst, gw, oif))
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOENT, "%s: route to %s missing", where,
				   inet_prefix_fmt(dst, buf, sizeof(buf)));
	return 0;
}

static int rp_filter_check(const char *veth, struct cni_err *err)
{
	char key[128], val[8];
	int r;

	snprintf(key, sizeof(key), "net/ipv4/conf/%s/rp_filter", veth);
	r = netns_sysctl_get(-1, key, val, sizeof(val), err);
	if (r < 0)
		return r;
	if (val[0] != '0')
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "%s is %s, want 0", key, val);
	return 0;
}

int ebpf_link_host_check(struct nl *host, const struct ebpf_pod *pod, struct cni_err *err)
{
	struct nl_link l;
	int r;

	r = nl_link_get(host, pod->host_veth, &l, err);
	if (r < 0)
		return r;
	if (strcmp(l.kind, "veth") != 0 || l.ifindex != pod->host_ifindex ||
	    memcmp(l.mac, pod->host_mac, 6) != 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL,
				   "host veth \"%s\" is not the endpoint's (kind, ifindex or MAC)",
				   pod->host_veth);
	if (has_family(pod, AF_INET))
		r = rp_filter_check(pod->host_veth, err);
	for (size_t i = 0; r >= 0 && i < pod->n_ips; i++) {
		const struct inet_addr *ip = &pod->ips[i].addr;
		struct inet_prefix dst = {.addr = *ip, .len = host_len(ip->family)};

		r = route_check(host, &dst, NULL, pod->host_ifindex, "host", err);
	}
	return r;
}

static int addr_check(struct nl *ctr, int ifindex, const struct inet_addr *ip, struct cni_err *err)
{
	struct nl_addr addrs[32];
	char buf[INET6_ADDRSTRLEN];
	size_t n = 0;
	int r;

	r = nl_addr_list(ctr, ifindex, ip->family, addrs, ARRAY_SIZE(addrs), &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && i < ARRAY_SIZE(addrs); i++)
		if (addrs[i].prefix.len == host_len(ip->family) &&
		    inet_addr_eq(&addrs[i].prefix.addr, ip))
			return 0;
	return cni_err_set(err, CNI_ERR_INTERNAL, ENOENT, "pod address %s/%u missing",
			   inet_addr_fmt(ip, buf, sizeof(buf)), host_len(ip->family));
}

/* With bigTCP, the IPv4 GSO size set at ADD must still be there (kernels that report it). */
static int gso_check(const struct nl_link *l, const struct ebpf_conf *conf, struct cni_err *err)
{
	uint32_t got = l->gso_max[NL_GSO_IPV4];

	if (!conf->big_tcp || !got || got == EBPF_BIG_TCP_SIZE)
		return 0;
	return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL,
			   "\"%s\": gso_ipv4_max_size %u, want %u (bigTCP)", l->name, got,
			   EBPF_BIG_TCP_SIZE);
}

int ebpf_link_pod_check(struct nl *ctr, const char *ifname, const struct ebpf_pod *pod,
			const struct ebpf_conf *conf, struct cni_err *err)
{
	struct nl_link l;
	int r;

	r = nl_link_get(ctr, ifname, &l, err);
	if (r < 0)
		return r;
	if (strcmp(l.kind, "veth") != 0 || memcmp(l.mac, pod->pod_mac, 6) != 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL,
				   "\"%s\" in the pod is not the endpoint's veth (kind or MAC)",
				   ifname);
	if (!(l.flags & IFF_UP))
		return cni_err_set(err, CNI_ERR_INTERNAL, ENETDOWN, "\"%s\" is down", ifname);
	r = gso_check(&l, conf, err);
	for (size_t i = 0; r >= 0 && i < pod->n_ips; i++) {
		const struct inet_addr *ip = &pod->ips[i].addr;
		struct inet_prefix dflt = {.addr = {.family = ip->family}, .len = 0};

		r = addr_check(ctr, l.ifindex, ip, err);
		if (r >= 0)
			r = route_check(ctr, &dflt, ebpf_link_router(conf, ip->family), l.ifindex,
					"pod", err);
	}
	return r;
}

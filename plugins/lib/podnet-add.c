/* SPDX-License-Identifier: Apache-2.0 */
/* ADD (docs/cni-contract.md §2.2). Every step this call creates is undone on failure,
 * in reverse order, through the helpers DEL uses; the bridge and its gateway addresses are
 * shared and stay. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if.h>
#include <linux/if.h>
#include <linux/if_bridge.h>

#include "plugins/lib/podnet-internal.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/netns.h"
#include "common/nft/policy.h"
#include "common/nl/addr.h"
#include "common/nl/link.h"
#include "common/nl/neigh.h"
#include "common/nl/netconf.h"
#include "common/nl/route.h"

#define PORT_WAIT_MS	 2500 /* the reference's total (0+50+500+1000+1000 ms), but polled */
#define DAD_WAIT_MS	 5000 /* enabledad: the reference's SettleAddresses bound */
#define PORT_FWD_WAIT_MS 100

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int result_ifaces(struct podnet_ctx *x, struct cni_result *res, struct cni_err *err)
{
	char m[18];
	int r;

	r = cni_result_add_iface(res, x->conf->bridge, nl_mac_fmt(x->br_mac, m, sizeof(m)), "",
				 err);
	if (r >= 0)
		r = cni_result_add_iface(res, x->host_veth, nl_mac_fmt(x->host_mac, m, sizeof(m)),
					 "", err);
	if (r >= 0)
		r = cni_result_add_iface(res, x->a->ifname, nl_mac_fmt(x->ctr_mac, m, sizeof(m)),
					 x->a->netns, err);
	return r < 0 ? r : 0;
}

/* The reference's calcGateways: every IP belongs to the container veth (index 2); isGateway
 * fills a missing gateway with the network's first address; isDefaultGateway adds a default
 * route per family unless IPAM gave one with a gateway. */
static int calc_gateways(const struct podnet_conf *c, struct cni_result *res, struct cni_err *err)
{
	bool have_default[2] = {false, false};
	struct inet_prefix net;
	int r;

	for (size_t i = 0; i < res->n_routes; i++)
		if (res->routes[i].dst.len == 0 && inet_addr_is_set(&res->routes[i].gw))
			have_default[res->routes[i].dst.addr.family == AF_INET6] = true;
	for (size_t i = 0; i < res->n_ips; i++) {
		struct cni_ip *ip = &res->ips[i];
		int v6 = ip->address.addr.family == AF_INET6;

		ip->interface = 2;
		if (!inet_addr_is_set(&ip->gateway) && c->is_gw) {
			inet_prefix_network(&ip->address, &net);
			if (inet_addr_next(&net.addr, &ip->gateway) < 0)
				return cni_err_set(err, CNI_ERR_CONFIG, 0,
						   "no gateway address in %s", "the subnet");
		}
		if (c->is_default_gw && !have_default[v6]) {
			struct inet_prefix any = {.addr = {.family = ip->address.addr.family}};

			r = cni_result_add_route(res, &any, &ip->gateway, err);
			if (r < 0)
				return r;
			have_default[v6] = true;
		}
	}
	return 0;
}

struct ctr_sysctl {
	const char *ifname;
	bool dad, v6;
};

/* The pod's IPv6 settings, before eth0 goes up. IPv6 conf values cannot be set over netlink
 * (arp_notify can: ctr_set_up()). accept_dad is written for IPv4 pods that keep their IPv6
 * link-local address (ipv6LinkLocal) too, as the reference does: without it that address
 * would send a DAD probe, flooded to every port of the bridge (~1.8 ms of softirq at 300
 * ports, see docs/benchmarks.md), later, from a timer. */
static int ctr_sysctl_cb(void *arg, struct cni_err *err)
{
	const struct ctr_sysctl *q = arg;
	char k[96];

	/* IPv6 keys are absent when the kernel has IPv6 disabled: best effort, as the reference. */
	snprintf(k, sizeof(k), "net/ipv6/conf/%s/accept_dad", q->ifname);
	(void)netns_sysctl_set(-1, k, q->dad ? "1" : "0", NULL);
	if (q->dad) {
		snprintf(k, sizeof(k), "net/ipv6/conf/%s/enhanced_dad", q->ifname);
		(void)netns_sysctl_set(-1, k, "1", NULL);
	}
	if (!q->v6)
		return 0;
	if (netns_sysctl_set(-1, "net/ipv6/conf/lo/disable_ipv6", "0", err) < 0)
		return cni_err_wrap(err, "enable IPv6 on lo");
	snprintf(k, sizeof(k), "net/ipv6/conf/%s/disable_ipv6", q->ifname);
	if (netns_sysctl_set(-1, k, "0", err) < 0)
		return cni_err_wrap(err, "enable IPv6 on %s", q->ifname);
	snprintf(k, sizeof(k), "net/ipv6/conf/%s/keep_addr_on_down", q->ifname);
	(void)netns_sysctl_set(-1, k, "1", NULL);
	snprintf(k, sizeof(k), "net/ipv6/conf/%s/ndisc_notify", q->ifname); /* see announce() */
	(void)netns_sysctl_set(-1, k, "1", NULL);
	return 0;
}

static int ctr_arp_notify_cb(void *arg, struct cni_err *err)
{
	char k[96];

	(void)err;
	snprintf(k, sizeof(k), "net/ipv4/conf/%s/arp_notify", (const char *)arg);
	(void)netns_sysctl_set(-1, k, "1", NULL);
	return 0;
}

/* eth0 up, and arp_notify on in the same message (IFLA_AF_SPEC, no /proc/sys). The kernel applies
 * IFLA_AF_SPEC after the flags, so going up sends no gratuitous ARP: it would be lost anyway,
 * the host end's bridge port stays disabled until linkwatch has seen the new carrier. announce()
 * sends the one that reaches the other ports. */
static int ctr_set_up(struct podnet_ctx *x, struct cni_err *err)
{
	static const struct nl_link_change up_notify = {
		.flags = IFF_UP, .change = IFF_UP, .af = {.arp_notify = true}};
	int r = nl_link_change(x->ctr, x->ctr_index, &up_notify, err);

	if (r != -EAFNOSUPPORT && r != -EOPNOTSUPP)
		return r;
	/* A kernel that cannot: up as before, arp_notify through /proc/sys (best effort). */
	cni_err_clear(err);
	r = nl_link_set_up(x->ctr, x->ctr_index, err);
	if (r >= 0)
		(void)netns_exec(x->nsfd, ctr_arp_notify_cb, (void *)x->a->ifname, NULL);
	return r;
}

/* enabledad: wait (bounded) until the addresses leave "tentative", like SettleAddresses. */
static int dad_settle(struct podnet_ctx *x, struct cni_err *err)
{
	struct nl_addr a[16];
	size_t n;
	bool tentative = true;

	for (int ms = 0; tentative && ms < DAD_WAIT_MS; ms += 10) {
		if (nl_addr_list(x->ctr, x->ctr_index, AF_INET6, a, ARRAY_SIZE(a), &n, err) < 0)
			return -EIO;
		tentative = false;
		for (size_t i = 0; i < n && i < ARRAY_SIZE(a); i++) {
			if (a[i].flags & IFA_F_DADFAILED)
				return cni_err_set(err, CNI_ERR_NETLINK, EADDRINUSE,
						   "duplicate address detected on %s",
						   x->a->ifname);
			if (a[i].scope == 0 && (a[i].flags & IFA_F_TENTATIVE))
				tentative = true;
		}
		if (tentative)
			sleep_ms(10);
	}
	return 0;
}

static int ctr_routes(struct podnet_ctx *x, const struct cni_result *res, struct cni_err *err)
{
	struct inet_addr gw[2] = {{0}, {0}};
	struct nl_route rt;
	int r;

	for (size_t i = 0; i < res->n_ips; i++)
		if (inet_addr_is_set(&res->ips[i].gateway))
			gw[res->ips[i].address.addr.family == AF_INET6] = res->ips[i].gateway;
	for (size_t i = 0; i < res->n_routes; i++) {
		const struct cni_route *cr = &res->routes[i];

		nl_route_init(&rt, cr->dst.addr.family);
		inet_prefix_network(&cr->dst, &rt.dst);
		rt.gw = inet_addr_is_set(&cr->gw) ? cr->gw : gw[cr->dst.addr.family == AF_INET6];
		rt.oif = x->ctr_index;
		rt.mtu = cr->mtu > 0 ? (uint32_t)cr->mtu : 0;
		rt.advmss = cr->advmss > 0 ? (uint32_t)cr->advmss : 0;
		rt.metric = cr->priority > 0 ? (uint32_t)cr->priority : 0;
		rt.table = cr->table > 0 ? (uint32_t)cr->table : 0;
		if (cr->scope >= 0)
			rt.scope = cr->scope;
		r = nl_route_add(x->ctr, &rt, err);
		if (r == -EEXIST) /* the same route twice in the IPAM result */
			cni_err_clear(err);
		else if (r < 0)
			return cni_err_wrap(err, "failed to add route in the container");
	}
	return 0;
}

/* An IPv4-only pod's eth0 gets no IPv6 link-local address (unless ipv6LinkLocal): no DAD
 * probe, MLD report or router solicitation from it, each flooded to every port of the bridge,
 * and no /proc/sys write in the pod. Set before eth0 goes up: the address is made then. A link
 * without IPv6 (IPv6 off, MTU < 1280) refuses the setting, and has no link-local anyway. */
static int ctr_no_link_local(struct podnet_ctx *x, struct cni_err *err)
{
	static const struct nl_link_change c = {.af = {.addr_gen_none = true}};
	int r = nl_link_change(x->ctr, x->ctr_index, &c, err);

	if (r != -EAFNOSUPPORT && r != -EOPNOTSUPP && r != -EINVAL)
		return r;
	cni_err_clear(err);
	return 0;
}

/* The reference's ConfigureIface, in the pod netns through its own socket. */
static int ctr_configure(struct podnet_ctx *x, const struct cni_result *res, struct cni_err *err)
{
	struct ctr_sysctl q = {.ifname = x->a->ifname, .dad = x->conf->enable_dad};
	int r;

	for (size_t i = 0; i < res->n_ips; i++)
		q.v6 |= res->ips[i].address.addr.family == AF_INET6;
	if (!q.v6 && !x->conf->ipv6_link_local)
		r = ctr_no_link_local(x, err);
	else
		r = netns_exec(x->nsfd, ctr_sysctl_cb, &q, err);
	for (size_t i = 0; r >= 0 && i < res->n_ips; i++) {
		const struct inet_prefix *p = &res->ips[i].address;
		/* No DAD wait (plugins#680): the pod address is unique by IPAM. */
		uint32_t f = p->addr.family == AF_INET6 && !q.dad ? IFA_F_NODAD : 0;

		r = nl_addr_add(x->ctr, x->ctr_index, p, f, err);
	}
	if (r >= 0)
		r = ctr_set_up(x, err);
	if (r >= 0 && q.v6 && q.dad)
		r = dad_settle(x, err);
	if (r < 0)
		return cni_err_wrap(err, "failed to configure %s", x->a->ifname);
	return ctr_routes(x, res, err);
}

/* Setting a MAC flushes the neighbour table of the device (NETDEV_CHANGEADDR): the reference
 * does it on every ADD. Skip it when the MAC is already fixed (NET_ADDR_SET), which is only
 * visible in sysfs; when sysfs cannot tell, pin like the reference. */
static bool bridge_mac_pinned(const char *bridge)
{
	char path[80], buf[8] = "";
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(path, sizeof(path), "/sys/class/net/%s/addr_assign_type", bridge);
	f = fopen(path, "re");
	return f && fgets(buf, sizeof(buf), f) && atoi(buf) == 3; /* NET_ADDR_SET */
}

/* net.ipv4.ip_forward / net.ipv6.conf.all.forwarding on. Read over netlink (RTM_GETNETCONF);
 * /proc/sys is opened only to turn it on, or when the kernel does not answer. */
static int forwarding_ensure(struct podnet_ctx *x, int family, struct cni_err *err)
{
	const char *key =
		family == AF_INET ? "net/ipv4/ip_forward" : "net/ipv6/conf/all/forwarding";

	if (nl_netconf_get_forwarding(x->host, family, NL_NETCONF_ALL, NULL) == 1)
		return 0;
	if (netns_sysctl_set(-1, key, "1", err) < 0)
		return cni_err_wrap(err, "failed to enable forwarding");
	return 0;
}

/* isGateway: the gateways on the bridge, its MAC pinned, forwarding on. */
static int gateways_apply(struct podnet_ctx *x, struct cni_result *res, struct cni_err *err)
{
	bool fam[2] = {false, false};
	char m[18];
	int r;

	/* Known first, so that podnet_gw_ensure() need not read a pinned bridge again. */
	if (!x->conf->vlan)
		x->br_mac_pinned = bridge_mac_pinned(x->conf->bridge);
	for (size_t i = 0; i < res->n_ips; i++) {
		struct inet_prefix gw = {.addr = res->ips[i].gateway,
					 .len = res->ips[i].address.len};

		if (!inet_addr_is_set(&gw.addr))
			continue;
		r = podnet_gw_ensure(x, &gw, err);
		if (r < 0)
			return r;
		fam[gw.addr.family == AF_INET6] = true;
	}
	if (!fam[0] && !fam[1])
		return 0;
	if (x->conf->vlan) {
		r = cni_result_add_iface(res, x->gw_name, nl_mac_fmt(x->gw_mac, m, sizeof(m)), "",
					 err);
		if (r < 0)
			return r;
	} else if (!x->br_mac_pinned) {
		/* Pins a bridge we did not create (ours are born with a fixed MAC); gw_mac is
		 * its MAC now, with our port in it. */
		if (nl_link_set_mac(x->host, x->br_index, x->gw_mac, err) < 0)
			return cni_err_wrap(err, "could not set bridge's mac");
		x->br_mac_pinned = true;
		memcpy(x->br_mac, x->gw_mac, 6);
	}
	r = 0;
	if (fam[0])
		r = forwarding_ensure(x, AF_INET, err);
	if (r >= 0 && fam[1])
		r = forwarding_ensure(x, AF_INET6, err);
	return r;
}

static int masq_apply(struct podnet_ctx *x, const struct cni_result *res, struct cni_err *err)
{
	struct inet_prefix ips[CNI_MAX_IPS];

	for (size_t i = 0; i < res->n_ips; i++)
		ips[i] = res->ips[i].address;
	return podnet_masq_ensure(x->a->name, ips, res->n_ips, x->conf->masq_exclude,
				  x->conf->n_masq_exclude, err);
}

/* NetworkPolicy: the pod starts with what weft-node compiled for it, agent running or not. */
static int policy_attach(struct podnet_ctx *x, const struct cni_result *res, struct cni_err *err)
{
	struct inet_addr a[CNI_MAX_IPS];

	for (size_t i = 0; i < res->n_ips; i++)
		a[i] = res->ips[i].address.addr;
	return nft_pol_attach(cni_args_get(x->a, "K8S_POD_NAMESPACE"),
			      cni_args_get(x->a, "K8S_POD_NAME"), a, res->n_ips, err);
}

/* The host end goes UP, and its bridge port to forwarding, when the kernel's linkwatch sees
 * the carrier: normally done by now. Polled (1 ms) with the reference's overall bound instead
 * of its fixed sleeps; forwarding is waited for briefly only (a foreign bridge may run STP). */
static int port_wait(struct podnet_ctx *x, struct cni_err *err)
{
	struct nl_link l;

	for (int ms = 0;; ms++) {
		if (nl_link_get_by_index(x->host, x->host_index, &l, err) < 0)
			return -EIO;
		if (l.operstate == IF_OPER_UP &&
		    (l.brport_state == BR_STATE_FORWARDING || ms >= PORT_FWD_WAIT_MS))
			return 0;
		if (ms >= PORT_WAIT_MS)
			return cni_err_set(err, CNI_ERR_NETLINK, EIO,
					   "bridge port in error state: %u", l.operstate);
		sleep_ms(1);
	}
}

/* Whether a neighbour cache may still hold another MAC for one of the pod's addresses: a
 * broadcast announcement costs every port of the bridge a copy to process (~4 ms of softirq
 * per ADD at 1000 ports, see docs/notes.md), so it is sent only when it can correct
 * something. The evidence is the host's own cache on the gateway interface: a pod is reached
 * from the host (kubelet probes, and everything off-subnet goes through the gateway), and the
 * host's entries outlive the pods' the same way. An entry with another MAC, or one still being
 * resolved, says the address was in use: announce. No gateway here (no host cache to ask), a
 * kernel without single-entry RTM_GETNEIGH, or any doubt: announce. */
static bool announce_needed(struct podnet_ctx *x, const struct cni_result *res)
{
	struct nl_neigh n;
	int r;

	if (!x->gw_index)
		return true;
	for (size_t i = 0; i < res->n_ips; i++) {
		r = nl_neigh_get(x->host, x->gw_index, &res->ips[i].address.addr, &n, NULL);
		if (r == -ENOENT)
			continue;
		if (r < 0 || memcmp(n.mac, x->ctr_mac, 6) != 0)
			return true;
	}
	return false;
}

/* Tell the host and the other pods where a reused address lives now, so a stale neighbour
 * entry does not blackhole the pod (plugins#858). Setting the MAC to itself raises
 * NETDEV_CHANGEADDR: with arp_notify=1 the kernel sends a gratuitous ARP per IPv4 address and
 * with ndisc_notify=1 an unsolicited NA. No packet socket: closing one costs an RCU grace
 * period (synchronize_net), ~10-20 ms. This is the IPv4 pod's only announcement, and it must
 * come after port_wait(): one sent while eth0 goes up is dropped by the still disabled port
 * (ctr_set_up() does not ask for that one). */
static void announce(struct podnet_ctx *x, const struct cni_result *res)
{
	struct cni_err e = {0};

	if (res->n_ips && announce_needed(x, res) &&
	    nl_link_set_mac(x->ctr, x->ctr_index, x->ctr_mac, &e) < 0)
		log_warn("announce addresses of %s: %s (%s)", x->a->ifname, e.msg, e.details);
}

static int l3_setup(struct podnet_ctx *x, struct cni_result *res, struct cni_err *err)
{
	int r;

	if (res->n_ips == 0)
		return cni_err_set(err, CNI_ERR_IPAM, 0, "IPAM plugin returned missing IP config");
	r = calc_gateways(x->conf, res, err);
	if (r >= 0)
		r = ctr_configure(x, res, err);
	if (r >= 0 && x->conf->is_gw)
		r = gateways_apply(x, res, err);
	return r;
}

/* A bridge without a fixed MAC takes its lowest port's: report the MAC it has now. A pinned
 * one (isGateway made sure) cannot have changed. */
static int bridge_mac_refresh(struct podnet_ctx *x, struct cni_result *res, struct cni_err *err)
{
	struct nl_link l;

	if (x->br_mac_pinned)
		return 0;
	if (nl_link_get_by_index(x->host, x->br_index, &l, err) < 0)
		return cni_err_wrap(err, "bridge \"%s\"", x->conf->bridge);
	nl_mac_fmt(l.mac, res->ifaces[0].mac, sizeof(res->ifaces[0].mac));
	return 0;
}

static int finish(struct podnet_ctx *x, struct cni_result *res, struct cni_err *err)
{
	const struct podnet_conf *c = x->conf;
	int r;

	r = bridge_mac_refresh(x, res, err);
	if (r < 0)
		return r;

	if (!c->disable_ctr_iface) {
		if (!ipam_enabled(c->ipam)) {
			r = nl_link_set_up(x->ctr, x->ctr_index, err);
			if (r < 0)
				return cni_err_wrap(err, "failed to set \"%s\" up", x->a->ifname);
		}
		r = port_wait(x, err);
		if (r < 0)
			return r;
		announce(x, res);
	}
	if (c->dns) {
		json_decref(res->dns);
		res->dns = json_deep_copy(c->dns);
	}
	return 0;
}

/* Rollback keeps the first error; its own failures are logged, never lost. */
static void undo(int r, struct cni_err *e, const char *what)
{
	if (r < 0)
		log_warn("rollback of %s failed: %s (%s)", what, e->msg, e->details);
	cni_err_clear(e);
}

int podnet_add(const struct cni_args *a, void *conf, struct cni_result *res, struct cni_err *err)
{
	_cleanup_podnet_ctx_ struct podnet_ctx x = {.nsfd = -1, .host_nsfd = -1};
	struct podnet_conf *c = conf;
	struct ipam_empty_hook masq_flush = podnet_masq_flush_hook(a->name);
	bool made_veth = false, made_spoof = false, got_ip = false;
	struct cni_err e = {0};
	int r;

	r = podnet_ctx_open(&x, a, c, true, err);
	if (r >= 0)
		r = podnet_bridge_ensure(&x, err); /* shared: never rolled back */
	if (r >= 0)
		r = podnet_veth_create(&x, err);
	if (r < 0)
		return r;
	made_veth = true;
	r = podnet_port_setup(&x, err);
	if (r >= 0)
		r = result_ifaces(&x, res, err);
	if (r >= 0 && c->macspoofchk) {
		r = nft_macspoof_add(a->name, a->container_id, a->ifname, x.host_veth, x.ctr_mac,
				     err);
		made_spoof = r >= 0;
	}
	if (r >= 0 && ipam_enabled(c->ipam)) {
		r = ipam_add(c->ipam, a, res, err);
		got_ip = r >= 0;
		if (r >= 0)
			r = l3_setup(&x, res, err);
		if (r >= 0 && c->ip_masq)
			r = masq_apply(&x, res, err);
		if (r >= 0)
			r = policy_attach(&x, res, err);
	}
	if (r >= 0)
		r = finish(&x, res, err);
	if (r < 0)
		goto rollback;
	return 0;

rollback:
	/* The network's masquerade is shared: it goes only with the network's last address. */
	if (got_ip)
		undo(ipam_del(c->ipam, a, &masq_flush, &e), &e, "IP release");
	if (made_spoof)
		undo(nft_macspoof_del(a->name, a->container_id, a->ifname, &e), &e, "macspoofchk");
	if (made_veth)
		undo(podnet_veth_del(&x, &e), &e, "veth");
	return r;
}

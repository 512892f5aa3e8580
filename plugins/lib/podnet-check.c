/* SPDX-License-Identifier: Apache-2.0 */
/* CHECK (docs/cni-contract.md §2.5): the kernel still holds what ADD reported. */
#include <errno.h>
#include <string.h>
#include <net/if.h>

#include "plugins/lib/podnet-internal.h"
#include "common/cleanup.h"
#include "common/cni/conf.h"
#include "common/nft/nft.h"
#include "common/nl/addr.h"
#include "common/nl/link.h"
#include "common/nl/route.h"

#define CHECK_FAIL(err, ...) cni_err_set(err, CNI_ERR_INTERNAL, 0, __VA_ARGS__)

static bool mac_matches(const char *want, const uint8_t mac[6])
{
	uint8_t m[6];

	return !want[0] || (conf_parse_mac(want, m) == 0 && memcmp(m, mac, 6) == 0);
}

static const struct cni_iface *find_iface(const struct cni_result *p, const char *name,
					  const char *sandbox)
{
	for (size_t i = 0; i < p->n_ifaces; i++)
		if (strcmp(p->ifaces[i].name, name) == 0 &&
		    (!sandbox || strcmp(p->ifaces[i].sandbox, sandbox) == 0))
			return &p->ifaces[i];
	return NULL;
}

static int check_bridge(struct podnet_ctx *x, const struct cni_result *p, struct cni_err *err)
{
	const struct podnet_conf *c = x->conf;
	const struct cni_iface *br = find_iface(p, c->bridge, NULL);
	struct nl_link l;

	if (!br)
		return CHECK_FAIL(err, "CNI created bridge %s in host namespace was not found",
				  c->bridge);
	if (nl_link_get(x->host, c->bridge, &l, NULL) < 0)
		return CHECK_FAIL(err, "Interface name %s not found", c->bridge);
	if (strcmp(l.kind, "bridge") != 0)
		return CHECK_FAIL(err, "Interface %s does not have link type of bridge", c->bridge);
	if (!mac_matches(br->mac, l.mac))
		return CHECK_FAIL(err, "Bridge interface %s Mac doesn't match: %s", c->bridge,
				  br->mac);
	if (!!(l.flags & IFF_PROMISC) != c->promisc)
		return CHECK_FAIL(err,
				  "Bridge interface %s configured Promisc Mode %s doesn't match "
				  "current state",
				  c->bridge, c->promisc ? "true" : "false");
	x->br_index = l.ifindex;
	return 0;
}

static int check_veths(struct podnet_ctx *x, const struct cni_result *p, struct cni_err *err)
{
	const char *ifname = x->a->ifname;
	const struct cni_iface *ci = find_iface(p, ifname, x->a->netns);
	const struct cni_iface *hi = find_iface(p, x->host_veth, "");
	struct nl_link c, h;

	if (!ci)
		return CHECK_FAIL(err, "CNI created interface in container %s not found", ifname);
	if (nl_link_get(x->ctr, ifname, &c, NULL) < 0)
		return CHECK_FAIL(err, "Interface name %s not found", ifname);
	if (strcmp(c.kind, "veth") != 0)
		return CHECK_FAIL(err, "Error: Container interface %s not of type veth", ifname);
	if (!mac_matches(ci->mac, c.mac))
		return CHECK_FAIL(err, "Interface %s Mac %s doesn't match container Mac", ifname,
				  ci->mac);
	if (!hi || nl_link_get(x->host, x->host_veth, &h, NULL) < 0 || h.ifindex != c.link ||
	    h.link != c.ifindex || h.master != x->br_index || !mac_matches(hi->mac, h.mac) ||
	    !podnet_veth_is_ours(x, &h))
		return CHECK_FAIL(err, "CNI veth created for bridge %s was not found",
				  x->conf->bridge);
	x->ctr_index = c.ifindex;
	return 0;
}

static int check_addrs(struct podnet_ctx *x, const struct cni_result *p, struct cni_err *err)
{
	struct nl_addr a[32];
	char s[INET_PREFIX_STRLEN];
	size_t n;
	bool found;

	if (nl_addr_list(x->ctr, x->ctr_index, AF_UNSPEC, a, ARRAY_SIZE(a), &n, err) < 0)
		return -EIO;
	for (size_t i = 0; i < p->n_ips; i++) {
		found = false;
		for (size_t j = 0; j < n && j < ARRAY_SIZE(a); j++)
			found |= a[j].prefix.len == p->ips[i].address.len &&
				 inet_addr_eq(&a[j].prefix.addr, &p->ips[i].address.addr);
		if (!found)
			return CHECK_FAIL(err, "Failed to match addr %s on interface %s",
					  inet_prefix_fmt(&p->ips[i].address, s, sizeof(s)),
					  x->a->ifname);
	}
	return 0;
}

static bool route_found(const struct nl_route *rt, size_t n, const struct inet_prefix *dst,
			const struct inet_addr *gw)
{
	struct inet_prefix net;

	inet_prefix_network(dst, &net);
	for (size_t i = 0; i < n; i++)
		if (rt[i].dst.addr.family == net.addr.family && rt[i].dst.len == net.len &&
		    inet_addr_eq(&rt[i].dst.addr, &net.addr) &&
		    (!inet_addr_is_set(gw) || inet_addr_eq(&rt[i].gw, gw)))
			return true;
	return false;
}

static int check_routes(struct podnet_ctx *x, const struct cni_result *p, struct cni_err *err)
{
	_cleanup_free_ struct nl_route *rt = calloc(256, sizeof(*rt));
	char s[INET_PREFIX_STRLEN];
	struct inet_addr none = {0};
	size_t n;

	if (!rt)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "check routes");
	if (nl_route_list(x->ctr, AF_UNSPEC, 0, rt, 256, &n, err) < 0)
		return -EIO;
	n = n < 256 ? n : 256;
	for (size_t i = 0; i < p->n_ips; i++)
		if (!route_found(rt, n, &p->ips[i].address, &none))
			return CHECK_FAIL(err, "Route to %s not found",
					  inet_prefix_fmt(&p->ips[i].address, s, sizeof(s)));
	for (size_t i = 0; i < p->n_routes; i++) {
		const struct cni_route *cr = &p->routes[i];

		if (cr->table > 0 && cr->table != 254)
			continue; /* another table: a later plugin's business */
		if (!route_found(rt, n, &cr->dst, &cr->gw))
			return CHECK_FAIL(err, "Route to %s not found",
					  inet_prefix_fmt(&cr->dst, s, sizeof(s)));
	}
	return 0;
}

static int masq_check(const struct cni_args *a, const struct podnet_conf *c,
		      const struct cni_result *p, struct cni_err *err)
{
	struct inet_prefix ips[CNI_MAX_IPS];

	for (size_t i = 0; i < p->n_ips; i++)
		ips[i] = p->ips[i].address;
	return podnet_masq_check(a->name, ips, p->n_ips, c->masq_exclude, c->n_masq_exclude, err);
}

int podnet_check(const struct cni_args *a, void *conf, struct cni_err *err)
{
	_cleanup_podnet_ctx_ struct podnet_ctx x = {.nsfd = -1, .host_nsfd = -1};
	struct podnet_conf *c = conf;
	const struct cni_result *p = a->prev_result;
	int r;

	if (!p)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "Required prevResult missing");
	r = podnet_ctx_open(&x, a, c, true, err);
	if (r >= 0)
		r = ipam_check(c->ipam, a, err);
	if (r >= 0)
		r = check_bridge(&x, p, err);
	if (r >= 0)
		r = check_veths(&x, p, err);
	if (r >= 0)
		r = check_addrs(&x, p, err);
	if (r >= 0)
		r = check_routes(&x, p, err);
	if (r >= 0 && c->ip_masq && ipam_enabled(c->ipam))
		r = masq_check(a, c, p, err);
	if (r >= 0 && c->macspoofchk)
		r = nft_macspoof_check(a->name, a->container_id, a->ifname, err);
	return r < 0 ? r : 0;
}

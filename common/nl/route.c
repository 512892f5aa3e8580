/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include "common/cleanup.h"
#include "common/nl/internal.h"
#include "common/nl/route.h"

static size_t alen(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

void nl_route_init(struct nl_route *r, int family)
{
	memset(r, 0, sizeof(*r));
	r->dst.addr.family = family;
	r->scope = -1;
}

static bool route_put_metrics(struct nlmsghdr *nlh, size_t len, const struct nl_route *r)
{
	struct nlattr *m;

	if (!r->mtu && !r->advmss)
		return true;
	m = mnl_attr_nest_start_check(nlh, len, RTA_METRICS);
	if (!m)
		return false;
	if (r->mtu && !mnl_attr_put_u32_check(nlh, len, RTAX_MTU, r->mtu))
		return false;
	if (r->advmss && !mnl_attr_put_u32_check(nlh, len, RTAX_ADVMSS, r->advmss))
		return false;
	mnl_attr_nest_end(nlh, m);
	return true;
}

static void route_fill_hdr(struct rtmsg *rtm, uint16_t type, const struct nl_route *r)
{
	rtm->rtm_family = (uint8_t)r->dst.addr.family;
	rtm->rtm_dst_len = r->dst.len;
	rtm->rtm_table = r->table && r->table < 256 ? (uint8_t)r->table : RT_TABLE_MAIN;
	if (r->table >= 256)
		rtm->rtm_table = RT_TABLE_UNSPEC; /* the RTA_TABLE attribute carries it */
	rtm->rtm_type = RTN_UNICAST;
	if (type == RTM_DELROUTE) {
		rtm->rtm_scope = RT_SCOPE_NOWHERE; /* "any scope" for deletes */
		rtm->rtm_protocol = r->protocol;   /* 0: any; else only a route of that protocol */
		return;
	}
	rtm->rtm_protocol = r->protocol ? r->protocol : RTPROT_BOOT;
	if (r->scope >= 0)
		rtm->rtm_scope = (uint8_t)r->scope;
	else
		rtm->rtm_scope = inet_addr_is_set(&r->gw) ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	if (r->onlink)
		rtm->rtm_flags |= RTNH_F_ONLINK;
}

struct nlmsghdr *nl_build_route(void *buf, size_t len, uint16_t type, uint16_t flags,
				const struct nl_route *r)
{
	struct rtmsg *rtm;
	struct nlmsghdr *nlh = nl_msg_start(buf, len, type, flags, sizeof(*rtm), (void **)&rtm);
	int fam = r->dst.addr.family;

	route_fill_hdr(rtm, type, r);
	if (r->dst.len && !mnl_attr_put_check(nlh, len, RTA_DST, alen(fam), r->dst.addr.bytes))
		return NULL;
	if (inet_addr_is_set(&r->gw) &&
	    !mnl_attr_put_check(nlh, len, RTA_GATEWAY, alen(r->gw.family), r->gw.bytes))
		return NULL;
	if (inet_addr_is_set(&r->src) &&
	    !mnl_attr_put_check(nlh, len, RTA_PREFSRC, alen(r->src.family), r->src.bytes))
		return NULL;
	if (r->oif && !mnl_attr_put_u32_check(nlh, len, RTA_OIF, (uint32_t)r->oif))
		return NULL;
	if (r->table >= 256 && !mnl_attr_put_u32_check(nlh, len, RTA_TABLE, r->table))
		return NULL;
	if (r->metric && !mnl_attr_put_u32_check(nlh, len, RTA_PRIORITY, r->metric))
		return NULL;
	if (type != RTM_DELROUTE && !route_put_metrics(nlh, len, r))
		return NULL;
	return nlh;
}

static struct nlmsghdr *nl_build_route_dump(void *buf, size_t len, int family)
{
	struct rtmsg *rtm;
	struct nlmsghdr *nlh = nl_msg_start(buf, len, RTM_GETROUTE, 0, sizeof(*rtm), (void **)&rtm);

	rtm->rtm_family = (uint8_t)family;
	return nlh;
}

struct nlmsghdr *nl_build_route_get(void *buf, size_t len, const struct inet_addr *dst)
{
	struct rtmsg *rtm;
	struct nlmsghdr *nlh = nl_msg_start(buf, len, RTM_GETROUTE, 0, sizeof(*rtm), (void **)&rtm);

	rtm->rtm_family = (uint8_t)dst->family;
	rtm->rtm_dst_len = (uint8_t)inet_addr_bits(dst);
	if (!mnl_attr_put_check(nlh, len, RTA_DST, alen(dst->family), dst->bytes))
		return NULL;
	return nlh;
}

static int route_talk(struct nl *nl, uint16_t type, uint16_t flags, const struct nl_route *r,
		      const char *what, struct cni_err *err)
{
	char buf[NL_REQ_SIZE], s[INET_PREFIX_STRLEN];
	struct nlmsghdr *nlh = nl_build_route(buf, sizeof(buf), type, flags, r);

	if (!nlh)
		return cni_err_set(err, CNI_ERR_INTERNAL, EMSGSIZE, "build route");
	if (nl_talk(nl, nlh, NULL, NULL, err) < 0) {
		struct inet_prefix d = r->dst;

		if (d.len == 0)
			return cni_err_wrap(err, "%s default route", what);
		inet_prefix_network(&r->dst, &d);
		return cni_err_wrap(err, "%s route %s", what, inet_prefix_fmt(&d, s, sizeof(s)));
	}
	return 0;
}

int nl_route_add(struct nl *nl, const struct nl_route *r, struct cni_err *err)
{
	return route_talk(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r, "add", err);
}

int nl_route_replace(struct nl *nl, const struct nl_route *r, struct cni_err *err)
{
	return route_talk(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r, "replace", err);
}

int nl_route_del(struct nl *nl, const struct nl_route *r, struct cni_err *err)
{
	return route_talk(nl, RTM_DELROUTE, 0, r, "delete", err);
}

struct route_get {
	struct nl_route *out;
	bool found;
};

static void route_from_tb(const struct rtmsg *rtm, const struct nlattr **tb, struct nl_route *o);

static int route_get_cb(const struct nlmsghdr *nlh, void *data)
{
	static const uint16_t sizes[RTA_MAX + 1] = {[RTA_OIF] = 4, [RTA_TABLE] = 4};
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1];
	struct route_get *g = data;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nl_parse(nlh, sizeof(*rtm), tb, RTA_MAX, sizes) < 0)
		return MNL_CB_ERROR;
	route_from_tb(rtm, tb, g->out);
	g->found = true;
	return MNL_CB_OK;
}

int nl_route_get(struct nl *nl, const struct inet_addr *dst, struct nl_route *ret,
		 struct cni_err *err)
{
	char buf[NL_REQ_SIZE], s[INET6_ADDRSTRLEN];
	struct nlmsghdr *nlh = nl_build_route_get(buf, sizeof(buf), dst);
	struct route_get g = {.out = ret};

	if (!nlh)
		return cni_err_set(err, CNI_ERR_INTERNAL, EMSGSIZE, "build route get");
	if (nl_talk(nl, nlh, route_get_cb, &g, err) < 0)
		return cni_err_wrap(err, "route to %s", inet_addr_fmt(dst, s, sizeof(s)));
	if (!g.found)
		return cni_err_set(err, CNI_ERR_NETLINK, ENETUNREACH, "route to %s: no answer",
				   inet_addr_fmt(dst, s, sizeof(s)));
	return 0;
}

struct route_list {
	uint32_t table;
	struct nl_route *out;
	size_t max, n;
};

static void route_from_tb(const struct rtmsg *rtm, const struct nlattr **tb, struct nl_route *o)
{
	size_t l = alen(rtm->rtm_family);

	nl_route_init(o, rtm->rtm_family);
	o->dst.len = rtm->rtm_dst_len;
	o->scope = rtm->rtm_scope;
	o->protocol = rtm->rtm_protocol;
	o->onlink = rtm->rtm_flags & RTNH_F_ONLINK;
	o->table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (tb[RTA_DST] && mnl_attr_get_payload_len(tb[RTA_DST]) == l)
		memcpy(o->dst.addr.bytes, mnl_attr_get_payload(tb[RTA_DST]), l);
	if (tb[RTA_GATEWAY] && mnl_attr_get_payload_len(tb[RTA_GATEWAY]) == l) {
		o->gw.family = rtm->rtm_family;
		memcpy(o->gw.bytes, mnl_attr_get_payload(tb[RTA_GATEWAY]), l);
	}
	if (tb[RTA_PREFSRC] && mnl_attr_get_payload_len(tb[RTA_PREFSRC]) == l) {
		o->src.family = rtm->rtm_family;
		memcpy(o->src.bytes, mnl_attr_get_payload(tb[RTA_PREFSRC]), l);
	}
	if (tb[RTA_OIF])
		o->oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_PRIORITY])
		o->metric = mnl_attr_get_u32(tb[RTA_PRIORITY]);
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	static const uint16_t sizes[RTA_MAX + 1] = {
		[RTA_OIF] = 4, [RTA_TABLE] = 4, [RTA_PRIORITY] = 4};
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1];
	struct route_list *l = data;
	struct nl_route o;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nl_parse(nlh, sizeof(*rtm), tb, RTA_MAX, sizes) < 0)
		return MNL_CB_ERROR;
	if ((rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) ||
	    rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	route_from_tb(rtm, tb, &o);
	if (o.table != (l->table ? l->table : RT_TABLE_MAIN))
		return MNL_CB_OK;
	if (l->n++ < l->max)
		l->out[l->n - 1] = o;
	return MNL_CB_OK;
}

static void route_reset(void *data)
{
	((struct route_list *)data)->n = 0;
}

int nl_route_list(struct nl *nl, int family, uint32_t table, struct nl_route *ret, size_t max,
		  size_t *ret_n, struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_build_route_dump(buf, sizeof(buf), family);
	struct route_list l = {.table = table, .out = ret, .max = max};

	if (nl_dump(nl, nlh, route_cb, route_reset, &l, err) < 0)
		return cni_err_wrap(err, "list routes");
	*ret_n = l.n;
	return 0;
}

int nl_route_dump(struct nl *nl, int family, uint32_t table, struct nl_route **ret, size_t *ret_n,
		  struct cni_err *err)
{
	_cleanup_free_ struct nl_route *v = NULL;
	size_t max = 64, n = 0;
	int r;

	for (;;) {
		struct nl_route *grown = realloc(v, max * sizeof(*v));

		if (!grown)
			return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "list routes");
		v = grown;
		r = nl_route_list(nl, family, table, v, max, &n, err);
		if (r < 0)
			return r;
		if (n <= max)
			break;
		max = n + 64; /* more than fitted: again, with room for some added meanwhile */
	}
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

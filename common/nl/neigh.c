/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "common/cleanup.h"
#include "common/nl/internal.h"
#include "common/nl/link.h"
#include "common/nl/neigh.h"

static size_t alen(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

struct nlmsghdr *nl_build_neigh(void *buf, size_t len, uint16_t type, uint16_t flags,
				const struct nl_neigh *n)
{
	struct ndmsg *nd;
	struct nlmsghdr *nlh = nl_msg_start(buf, len, type, flags, sizeof(*nd), (void **)&nd);

	nd->ndm_family = (uint8_t)n->ip.family;
	nd->ndm_ifindex = n->ifindex;
	nd->ndm_state = n->state ? n->state : NUD_PERMANENT;
	nd->ndm_type = RTN_UNICAST;
	if (!mnl_attr_put_check(nlh, len, NDA_DST, alen(n->ip.family), n->ip.bytes))
		return NULL;
	if (type == RTM_NEWNEIGH && !mnl_attr_put_check(nlh, len, NDA_LLADDR, 6, n->mac))
		return NULL;
	return nlh;
}

struct nlmsghdr *nl_build_fdb(void *buf, size_t len, uint16_t type, uint16_t flags,
			      const struct nl_fdb *f)
{
	struct ndmsg *nd;
	struct nlmsghdr *nlh = nl_msg_start(buf, len, type, flags, sizeof(*nd), (void **)&nd);

	nd->ndm_family = AF_BRIDGE;
	nd->ndm_ifindex = f->ifindex;
	nd->ndm_state = NUD_PERMANENT | NUD_NOARP;
	nd->ndm_flags = f->master ? NTF_MASTER : NTF_SELF;
	if (!mnl_attr_put_check(nlh, len, NDA_LLADDR, 6, f->mac))
		return NULL;
	if (inet_addr_is_set(&f->dst) &&
	    !mnl_attr_put_check(nlh, len, NDA_DST, alen(f->dst.family), f->dst.bytes))
		return NULL;
	if (f->vlan && !mnl_attr_put_u16_check(nlh, len, NDA_VLAN, f->vlan))
		return NULL;
	return nlh;
}

static int neigh_talk(struct nl *nl, uint16_t type, uint16_t flags, const struct nl_neigh *n,
		      struct cni_err *err)
{
	char buf[NL_REQ_SIZE], s[INET6_ADDRSTRLEN];
	struct nlmsghdr *nlh = nl_build_neigh(buf, sizeof(buf), type, flags, n);

	if (!nlh)
		return cni_err_set(err, CNI_ERR_INTERNAL, EMSGSIZE, "build neighbour");
	if (nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return cni_err_wrap(err, "%s neighbour %s on link #%d",
				    type == RTM_DELNEIGH ? "delete" : "set",
				    inet_addr_fmt(&n->ip, s, sizeof(s)), n->ifindex);
	return 0;
}

static int neigh_get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_neigh *n = data;
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWNEIGH || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*nd)))
		return MNL_CB_OK;
	if (nl_neigh_parse(nlh, n) < 0) { /* no link-layer address yet */
		memset(n->mac, 0, sizeof(n->mac));
		n->state = nd->ndm_state;
	}
	n->ifindex = nd->ndm_ifindex;
	return MNL_CB_OK;
}

int nl_neigh_get(struct nl *nl, int ifindex, const struct inet_addr *ip, struct nl_neigh *ret,
		 struct cni_err *err)
{
	char buf[NL_REQ_SIZE], s[INET6_ADDRSTRLEN];
	struct nl_neigh q = {.ifindex = ifindex, .ip = *ip};
	struct nlmsghdr *nlh = nl_build_neigh(buf, sizeof(buf), RTM_GETNEIGH, 0, &q);
	struct ndmsg *nd;
	int r;

	if (!nlh)
		return cni_err_set(err, CNI_ERR_INTERNAL, EMSGSIZE, "build neighbour");
	nd = mnl_nlmsg_get_payload(nlh);
	nd->ndm_state = 0; /* a get request carries neither (strict checking refuses them) */
	nd->ndm_type = 0;
	*ret = (struct nl_neigh){.ifindex = 0, .ip = *ip};
	r = nl_talk(nl, nlh, neigh_get_cb, ret, err);
	if (r < 0)
		return r == -ENOENT ? r
				    : cni_err_wrap(err, "get neighbour %s on link #%d",
						   inet_addr_fmt(ip, s, sizeof(s)), ifindex);
	return ret->ifindex ? 0 : cni_err_set(err, CNI_ERR_NETLINK, ENOENT, "no neighbour");
}

int nl_neigh_replace(struct nl *nl, const struct nl_neigh *n, struct cni_err *err)
{
	return neigh_talk(nl, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, n, err);
}

int nl_neigh_del(struct nl *nl, const struct nl_neigh *n, struct cni_err *err)
{
	return neigh_talk(nl, RTM_DELNEIGH, 0, n, err);
}

static int fdb_talk(struct nl *nl, uint16_t type, uint16_t flags, const struct nl_fdb *f,
		    struct cni_err *err)
{
	char buf[NL_REQ_SIZE], m[18];
	struct nlmsghdr *nlh = nl_build_fdb(buf, sizeof(buf), type, flags, f);

	if (!nlh)
		return cni_err_set(err, CNI_ERR_INTERNAL, EMSGSIZE, "build fdb entry");
	if (nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return cni_err_wrap(err, "%s fdb entry %s on link #%d",
				    type == RTM_DELNEIGH ? "delete" : "add",
				    nl_mac_fmt(f->mac, m, sizeof(m)), f->ifindex);
	return 0;
}

int nl_fdb_add(struct nl *nl, const struct nl_fdb *f, bool append, struct cni_err *err)
{
	return fdb_talk(nl, RTM_NEWNEIGH, NLM_F_CREATE | (append ? NLM_F_APPEND : NLM_F_REPLACE), f,
			err);
}

int nl_fdb_del(struct nl *nl, const struct nl_fdb *f, struct cni_err *err)
{
	return fdb_talk(nl, RTM_DELNEIGH, 0, f, err);
}

/* The address of an NDA_DST / NDA_LLADDR attribute of the expected length, else unset. */
static void neigh_ip(const struct nlattr *a, struct inet_addr *ret)
{
	size_t n = a ? mnl_attr_get_payload_len(a) : 0;

	memset(ret, 0, sizeof(*ret));
	if (n != 4 && n != 16)
		return;
	ret->family = n == 16 ? AF_INET6 : AF_INET;
	memcpy(ret->bytes, mnl_attr_get_payload(a), n);
}

static const struct ndmsg *neigh_parse_tb(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	if (nlh->nlmsg_type != RTM_NEWNEIGH ||
	    nl_parse(nlh, sizeof(struct ndmsg), tb, NDA_MAX, NULL) < 0)
		return NULL;
	return mnl_nlmsg_get_payload(nlh);
}

int nl_neigh_parse(const struct nlmsghdr *nlh, struct nl_neigh *ret)
{
	const struct nlattr *tb[NDA_MAX + 1];
	const struct ndmsg *nd = neigh_parse_tb(nlh, tb);

	if (!nd || (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6))
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	ret->ifindex = nd->ndm_ifindex;
	ret->state = nd->ndm_state;
	neigh_ip(tb[NDA_DST], &ret->ip);
	if (ret->ip.family != nd->ndm_family)
		return -EINVAL;
	if (tb[NDA_LLADDR] && mnl_attr_get_payload_len(tb[NDA_LLADDR]) == 6)
		memcpy(ret->mac, mnl_attr_get_payload(tb[NDA_LLADDR]), 6);
	return 0;
}

int nl_fdb_parse(const struct nlmsghdr *nlh, struct nl_fdb *ret)
{
	const struct nlattr *tb[NDA_MAX + 1];
	const struct ndmsg *nd = neigh_parse_tb(nlh, tb);

	if (!nd || nd->ndm_family != AF_BRIDGE || !tb[NDA_LLADDR] ||
	    mnl_attr_get_payload_len(tb[NDA_LLADDR]) != 6)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	ret->ifindex = nd->ndm_ifindex;
	ret->state = nd->ndm_state;
	ret->master = nd->ndm_flags & NTF_MASTER;
	memcpy(ret->mac, mnl_attr_get_payload(tb[NDA_LLADDR]), 6);
	neigh_ip(tb[NDA_DST], &ret->dst);
	if (tb[NDA_VLAN] && mnl_attr_get_payload_len(tb[NDA_VLAN]) >= 2)
		ret->vlan = mnl_attr_get_u16(tb[NDA_VLAN]);
	return 0;
}

/* A dump into a caller-sized array: entries of ifindex (0 = all) that parse are kept, up to
 * max; n counts them all, so a caller can size the array and dump again. */
struct neigh_list {
	int ifindex;
	bool fdb;
	void *out;
	size_t max, n;
};

static int neigh_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct neigh_list *l = data;
	struct nl_neigh ne;
	struct nl_fdb f;
	int ifindex;

	if (l->fdb ? nl_fdb_parse(nlh, &f) < 0 : nl_neigh_parse(nlh, &ne) < 0)
		return MNL_CB_OK; /* another family, or a kind of entry we do not keep */
	ifindex = l->fdb ? f.ifindex : ne.ifindex;
	if (l->ifindex && ifindex != l->ifindex)
		return MNL_CB_OK;
	if (l->n < l->max && l->fdb)
		((struct nl_fdb *)l->out)[l->n] = f;
	else if (l->n < l->max)
		((struct nl_neigh *)l->out)[l->n] = ne;
	l->n++;
	return MNL_CB_OK;
}

static void neigh_list_reset(void *data)
{
	((struct neigh_list *)data)->n = 0;
}

/* Dumps family (AF_UNSPEC: ARP and NDP; AF_BRIDGE: FDB) into a malloc'd array, growing it
 * until everything fits. */
static int neigh_dump(struct nl *nl, int family, int ifindex, size_t size, void **ret,
		      size_t *ret_n, struct cni_err *err)
{
	struct neigh_list l = {.ifindex = ifindex, .fdb = family == AF_BRIDGE, .max = 64};
	_cleanup_free_ void *v = NULL;
	char buf[NL_REQ_SIZE];
	struct ndmsg *nd;
	struct nlmsghdr *nlh;

	for (;;) {
		void *grown = realloc(v, l.max * size);

		if (!grown)
			return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "list neighbours");
		v = l.out = grown;
		nlh = nl_msg_start(buf, sizeof(buf), RTM_GETNEIGH, 0, sizeof(*nd), (void **)&nd);
		nd->ndm_family = (uint8_t)family;
		if (nl_dump(nl, nlh, neigh_list_cb, neigh_list_reset, &l, err) < 0)
			return cni_err_wrap(err, "list %s", l.fdb ? "fdb entries" : "neighbours");
		if (l.n <= l.max)
			break;
		l.max = l.n + 64;
		l.n = 0;
	}
	*ret = TAKE_PTR(v);
	*ret_n = l.n;
	return 0;
}

int nl_neigh_list(struct nl *nl, int ifindex, struct nl_neigh **ret, size_t *ret_n,
		  struct cni_err *err)
{
	return neigh_dump(nl, AF_UNSPEC, ifindex, sizeof(**ret), (void **)ret, ret_n, err);
}

int nl_fdb_list(struct nl *nl, int ifindex, struct nl_fdb **ret, size_t *ret_n, struct cni_err *err)
{
	return neigh_dump(nl, AF_BRIDGE, ifindex, sizeof(**ret), (void **)ret, ret_n, err);
}

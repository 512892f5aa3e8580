/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include "common/nl/addr.h"
#include "common/nl/internal.h"

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

struct nlmsghdr *nl_build_addr(void *buf, size_t len, uint16_t type, uint16_t flags, int ifindex,
			       const struct inet_prefix *p, uint32_t ifa_flags)
{
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh = nl_msg_start(buf, len, type, flags, sizeof(*ifa), (void **)&ifa);
	size_t alen = addr_len(p->addr.family);

	ifa->ifa_family = (uint8_t)p->addr.family;
	ifa->ifa_prefixlen = p->len;
	ifa->ifa_flags = (uint8_t)(ifa_flags & 0xff);
	ifa->ifa_index = (uint32_t)ifindex;
	if (!mnl_attr_put_check(nlh, len, IFA_LOCAL, alen, p->addr.bytes) ||
	    !mnl_attr_put_check(nlh, len, IFA_ADDRESS, alen, p->addr.bytes))
		return NULL;
	/* Flags above bit 7 (IFA_F_NOPREFIXROUTE, ...) only exist in IFA_FLAGS. */
	if (ifa_flags > 0xff && !mnl_attr_put_u32_check(nlh, len, IFA_FLAGS, ifa_flags))
		return NULL;
	if (type == RTM_NEWADDR && p->addr.family == AF_INET && p->len < 31) {
		struct inet_addr brd;

		inet_prefix_last(p, &brd);
		if (!mnl_attr_put_check(nlh, len, IFA_BROADCAST, 4, brd.bytes))
			return NULL;
	}
	return nlh;
}

static struct nlmsghdr *nl_build_addr_dump(void *buf, size_t len, int family, int ifindex)
{
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh = nl_msg_start(buf, len, RTM_GETADDR, 0, sizeof(*ifa), (void **)&ifa);

	/* With NETLINK_GET_STRICT_CHK the kernel filters by ifa_index itself. */
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_index = (uint32_t)ifindex;
	return nlh;
}

int nl_addr_add(struct nl *nl, int ifindex, const struct inet_prefix *p, uint32_t flags,
		struct cni_err *err)
{
	char buf[NL_REQ_SIZE], s[INET_PREFIX_STRLEN];
	struct nlmsghdr *nlh = nl_build_addr(buf, sizeof(buf), RTM_NEWADDR,
					     NLM_F_CREATE | NLM_F_EXCL, ifindex, p, flags);

	if (!nlh)
		return cni_err_set(err, CNI_ERR_INTERNAL, EMSGSIZE, "build address");
	if (nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return cni_err_wrap(err, "add address %s to link #%d",
				    inet_prefix_fmt(p, s, sizeof(s)), ifindex);
	return 0;
}

int nl_addr_del(struct nl *nl, int ifindex, const struct inet_prefix *p, struct cni_err *err)
{
	char buf[NL_REQ_SIZE], s[INET_PREFIX_STRLEN];
	struct nlmsghdr *nlh = nl_build_addr(buf, sizeof(buf), RTM_DELADDR, 0, ifindex, p, 0);

	if (!nlh)
		return cni_err_set(err, CNI_ERR_INTERNAL, EMSGSIZE, "build address");
	if (nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return cni_err_wrap(err, "delete address %s from link #%d",
				    inet_prefix_fmt(p, s, sizeof(s)), ifindex);
	return 0;
}

struct addr_list {
	int ifindex;
	struct nl_addr *out;
	size_t max, n;
};

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	static const uint16_t sizes[IFA_MAX + 1] = {[IFA_FLAGS] = 4};
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1], *a;
	struct addr_list *l = data;
	struct nl_addr *o;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWADDR || nl_parse(nlh, sizeof(*ifa), tb, IFA_MAX, sizes) < 0)
		return MNL_CB_ERROR;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return MNL_CB_OK;
	if (l->ifindex && (int)ifa->ifa_index != l->ifindex)
		return MNL_CB_OK; /* old kernels ignore the filter */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	alen = addr_len(ifa->ifa_family);
	if (!a || mnl_attr_get_payload_len(a) != alen)
		return MNL_CB_OK;
	if (l->n++ >= l->max)
		return MNL_CB_OK;
	o = &l->out[l->n - 1];
	memset(o, 0, sizeof(*o));
	o->ifindex = (int)ifa->ifa_index;
	o->prefix.addr.family = ifa->ifa_family;
	memcpy(o->prefix.addr.bytes, mnl_attr_get_payload(a), alen);
	o->prefix.len = ifa->ifa_prefixlen;
	o->flags = tb[IFA_FLAGS] ? mnl_attr_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	o->scope = ifa->ifa_scope;
	return MNL_CB_OK;
}

static void addr_reset(void *data)
{
	((struct addr_list *)data)->n = 0;
}

int nl_addr_list(struct nl *nl, int ifindex, int family, struct nl_addr *ret, size_t max,
		 size_t *ret_n, struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_build_addr_dump(buf, sizeof(buf), family, ifindex);
	struct addr_list l = {.ifindex = ifindex, .out = ret, .max = max};

	if (nl_dump(nl, nlh, addr_cb, addr_reset, &l, err) < 0)
		return cni_err_wrap(err, "list addresses of link #%d", ifindex);
	*ret_n = l.n;
	return 0;
}

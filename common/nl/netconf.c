/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>

#include "common/nl/internal.h"
#include "common/nl/netconf.h"

struct nlmsghdr *nl_build_netconf_get(void *buf, size_t len, int family, int ifindex)
{
	struct netconfmsg *ncm;
	struct nlmsghdr *nlh =
		nl_msg_start(buf, len, RTM_GETNETCONF, 0, sizeof(*ncm), (void **)&ncm);

	/* A get (not a dump) answers one device; NETCONFA_IFINDEX is the only attribute a strict
	 * kernel accepts in it. */
	ncm->ncm_family = (uint8_t)family;
	if (!mnl_attr_put_u32_check(nlh, len, NETCONFA_IFINDEX, (uint32_t)ifindex))
		return NULL;
	return nlh;
}

int nl_netconf_parse_forwarding(const struct nlmsghdr *nlh, int *ret)
{
	const struct nlattr *tb[NETCONFA_MAX + 1];
	static const uint16_t sizes[NETCONFA_MAX + 1] = {
		[NETCONFA_IFINDEX] = 4,
		[NETCONFA_FORWARDING] = 4,
	};

	if (nlh->nlmsg_type != RTM_NEWNETCONF ||
	    nl_parse(nlh, sizeof(struct netconfmsg), tb, NETCONFA_MAX, sizes) < 0)
		return -EINVAL;
	if (!tb[NETCONFA_FORWARDING])
		return -ENODATA;
	*ret = (int)mnl_attr_get_u32(tb[NETCONFA_FORWARDING]);
	return 0;
}

struct netconf_reply {
	int value;
	int r; /* -ENODATA until a reply with the attribute arrives */
};

static int netconf_cb(const struct nlmsghdr *nlh, void *data)
{
	struct netconf_reply *q = data;

	q->r = nl_netconf_parse_forwarding(nlh, &q->value);
	return q->r == -EINVAL ? MNL_CB_ERROR : MNL_CB_OK;
}

int nl_netconf_get_forwarding(struct nl *nl, int family, int ifindex, struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_build_netconf_get(buf, sizeof(buf), family, ifindex);
	struct netconf_reply q = {.r = -ENODATA};
	const char *fam = family == AF_INET6 ? "IPv6" : "IPv4";

	if (!nlh)
		return cni_err_set(err, CNI_ERR_INTERNAL, EMSGSIZE, "build netconf get");
	if (nl_talk(nl, nlh, netconf_cb, &q, err) < 0)
		return cni_err_wrap(err, "read %s forwarding", fam);
	if (q.r < 0)
		return cni_err_set(err, CNI_ERR_NETLINK, -q.r, "read %s forwarding: no answer",
				   fam);
	return q.value;
}

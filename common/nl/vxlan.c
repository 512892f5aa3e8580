/* SPDX-License-Identifier: Apache-2.0 */
/* vxlan devices over rtnetlink: create with every parameter explicit, read them back. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "common/nl/internal.h"
#include "common/nl/link.h"

static bool vxlan_put_info(struct nlmsghdr *nlh, size_t len, const struct nl_vxlan_info *v)
{
	bool v6 = v->local.family == AF_INET6;

	if (!mnl_attr_put_u32_check(nlh, len, IFLA_VXLAN_ID, v->vni) ||
	    !mnl_attr_put_u16_check(nlh, len, IFLA_VXLAN_PORT, htons(v->port)) ||
	    !mnl_attr_put_u8_check(nlh, len, IFLA_VXLAN_LEARNING, v->learning))
		return false;
	if (v->link && !mnl_attr_put_u32_check(nlh, len, IFLA_VXLAN_LINK, (uint32_t)v->link))
		return false;
	if (v->local.family == AF_INET &&
	    !mnl_attr_put_check(nlh, len, IFLA_VXLAN_LOCAL, 4, v->local.bytes))
		return false;
	if (v6 && !mnl_attr_put_check(nlh, len, IFLA_VXLAN_LOCAL6, 16, v->local.bytes))
		return false;
	if (!v6)
		return mnl_attr_put_u8_check(nlh, len, IFLA_VXLAN_UDP_CSUM, v->udp_csum);
	return mnl_attr_put_u8_check(nlh, len, IFLA_VXLAN_UDP_ZERO_CSUM6_TX, !v->udp_csum) &&
	       mnl_attr_put_u8_check(nlh, len, IFLA_VXLAN_UDP_ZERO_CSUM6_RX, !v->udp_csum);
}

struct nlmsghdr *nl_build_link_add_vxlan(void *buf, size_t len, const struct nl_vxlan *vx)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = nl_msg_start(buf, len, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
					    sizeof(*ifi), (void **)&ifi);
	struct nlattr *info, *data;

	ifi->ifi_family = AF_UNSPEC;
	if (vx->up) {
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
	}
	if (!mnl_attr_put_strz_check(nlh, len, IFLA_IFNAME, vx->name))
		return NULL;
	if (vx->mtu && !mnl_attr_put_u32_check(nlh, len, IFLA_MTU, vx->mtu))
		return NULL;
	if (vx->mac && !mnl_attr_put_check(nlh, len, IFLA_ADDRESS, 6, vx->mac))
		return NULL;
	info = mnl_attr_nest_start_check(nlh, len, IFLA_LINKINFO);
	if (!info || !mnl_attr_put_strz_check(nlh, len, IFLA_INFO_KIND, "vxlan"))
		return NULL;
	data = mnl_attr_nest_start_check(nlh, len, IFLA_INFO_DATA);
	if (!data || !vxlan_put_info(nlh, len, &vx->info))
		return NULL;
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nlh;
}

static uint8_t get_u8(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) >= 1 ? mnl_attr_get_u8(a) : 0;
}

void nl_vxlan_parse_info(const struct nlattr *data, struct nl_link *l)
{
	const struct nlattr *tb[IFLA_VXLAN_MAX + 1];
	static const uint16_t sizes[IFLA_VXLAN_MAX + 1] = {
		[IFLA_VXLAN_ID] = 4,	[IFLA_VXLAN_LINK] = 4,	  [IFLA_VXLAN_PORT] = 2,
		[IFLA_VXLAN_LOCAL] = 4, [IFLA_VXLAN_LOCAL6] = 16,
	};
	struct nl_vxlan_info *v = &l->vxlan;

	if (nl_parse_nested(data, tb, IFLA_VXLAN_MAX, sizes) < 0)
		return;
	if (tb[IFLA_VXLAN_ID])
		v->vni = mnl_attr_get_u32(tb[IFLA_VXLAN_ID]);
	if (tb[IFLA_VXLAN_LINK])
		v->link = (int)mnl_attr_get_u32(tb[IFLA_VXLAN_LINK]);
	if (tb[IFLA_VXLAN_PORT])
		v->port = ntohs(mnl_attr_get_u16(tb[IFLA_VXLAN_PORT]));
	v->learning = get_u8(tb[IFLA_VXLAN_LEARNING]);
	if (tb[IFLA_VXLAN_LOCAL]) {
		v->local.family = AF_INET;
		memcpy(v->local.bytes, mnl_attr_get_payload(tb[IFLA_VXLAN_LOCAL]), 4);
		v->udp_csum = get_u8(tb[IFLA_VXLAN_UDP_CSUM]);
	} else if (tb[IFLA_VXLAN_LOCAL6]) {
		v->local.family = AF_INET6;
		memcpy(v->local.bytes, mnl_attr_get_payload(tb[IFLA_VXLAN_LOCAL6]), 16);
		v->udp_csum = !get_u8(tb[IFLA_VXLAN_UDP_ZERO_CSUM6_TX]);
	} else {
		v->udp_csum = get_u8(tb[IFLA_VXLAN_UDP_CSUM]);
	}
}

int nl_link_vxlan_move(struct nl *nl, int ifindex, const struct inet_addr *local,
		       const uint8_t mac[6], struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh =
		nl_msg_start(buf, sizeof(buf), RTM_NEWLINK, 0, sizeof(*ifi), (void **)&ifi);
	bool v6 = local->family == AF_INET6;
	struct nlattr *info, *data;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vxlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put(nlh, v6 ? IFLA_VXLAN_LOCAL6 : IFLA_VXLAN_LOCAL, v6 ? 16 : 4, local->bytes);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	if (nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return cni_err_wrap(err, "move vxlan (ifindex %d) to a new local address", ifindex);
	return 0;
}

int nl_link_add_vxlan(struct nl *nl, const struct nl_vxlan *vx, struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_build_link_add_vxlan(buf, sizeof(buf), vx);

	if (!nlh)
		return cni_err_set(err, CNI_ERR_INTERNAL, EMSGSIZE, "build vxlan");
	if (nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return cni_err_wrap(err, "add vxlan \"%s\" (vni %u)", vx->name, vx->info.vni);
	return 0;
}

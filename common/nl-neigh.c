/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "nl-internal.h"
#include "nl-link.h"
#include "nl-neigh.h"

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

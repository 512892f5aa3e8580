/* SPDX-License-Identifier: Apache-2.0 */
/* The full kernel floor of a bridge ADD, for `make bench`: from one process, exactly the kernel
 * objects and settings weft's bridge plugin makes for a pod, with the fewest requests and no
 * checks, parsing, IPAM, nftables or output:
 *
 *   1. RTM_NEWLINK veth HOSTVETH, its peer "eth0" born in the pod netns (IFLA_NET_NS_FD)
 *   2. RTM_NEWLINK HOSTVETH: master BRIDGE, up, IPv6 addr_gen_mode none (one message)
 *   3. on a socket opened inside the pod netns: RTM_NEWLINK eth0 IPv6 addr_gen_mode none (an
 *      IPv4 pod gets no link-local address), RTM_NEWADDR ADDR on eth0, RTM_NEWLINK eth0 up +
 *      arp_notify, RTM_NEWROUTE default via GW
 *
 * Not done (weft does them, a floor need not): reading the config and the bridge, the IPAM
 * reservation, waiting for the port to forward, the gratuitous ARP, rollback bookkeeping, the
 * result. Each request waits for its ack, as weft's do.
 *
 *   floor BRIDGE HOSTVETH PODNETNS ADDR/LEN GW      (run in the host netns; exit 0 or 1)
 * With FLOOR_IDX=i in the environment (many copies started at once by wrun -P), HOSTVETH and
 * PODNETNS get i appended and ADDR is advanced by i.
 *   floor -d HOSTVETH      deletes HOSTVETH (HOSTVETH<i> with FLOOR_IDX), as `ip link del` does
 * Needs only libmnl. Built by tests/bench/lib.sh. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <libmnl/libmnl.h>

static char buf[8192];
static unsigned seq = 1;

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct nlmsghdr *msg(uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = seq++;
	return nlh;
}

static void talk(struct mnl_socket *nl, struct nlmsghdr *nlh, const char *what)
{
	char rx[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		die(what);
	n = mnl_socket_recvfrom(nl, rx, sizeof(rx));
	if (n < 0 ||
	    mnl_cb_run(rx, (size_t)n, nlh->nlmsg_seq, mnl_socket_get_portid(nl), NULL, NULL) < 0)
		die(what);
}

static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		die("netlink socket");
	return nl;
}

static struct ifinfomsg *link_hdr(struct nlmsghdr *nlh, int ifindex)
{
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_index = ifindex;
	return ifi;
}

static void veth_add(struct mnl_socket *nl, const char *name, int podns)
{
	struct nlmsghdr *nlh = msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *info, *data, *peer;

	link_hdr(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	link_hdr(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)podns);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	talk(nl, nlh, "add veth");
}

/* Up (or not), with an IFLA_AF_SPEC nest: AF_INET arp_notify or AF_INET6 addr_gen_mode none. */
static void link_set(struct mnl_socket *nl, int ifindex, bool up, int master, int af)
{
	struct nlmsghdr *nlh = msg(RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = link_hdr(nlh, ifindex);
	struct nlattr *spec, *fam, *conf;

	ifi->ifi_flags = ifi->ifi_change = up ? IFF_UP : 0;
	if (master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	fam = mnl_attr_nest_start(nlh, (uint16_t)af);
	if (af == AF_INET) {
		conf = mnl_attr_nest_start(nlh, IFLA_INET_CONF);
		mnl_attr_put_u32(nlh, IPV4_DEVCONF_ARP_NOTIFY, 1);
		mnl_attr_nest_end(nlh, conf);
	} else {
		mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	}
	mnl_attr_nest_end(nlh, fam);
	mnl_attr_nest_end(nlh, spec);
	talk(nl, nlh, "set link up");
}

static void addr_add(struct mnl_socket *nl, int ifindex, const struct in_addr *a, int len)
{
	struct nlmsghdr *nlh = msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)len;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, 4, a);
	mnl_attr_put(nlh, IFA_ADDRESS, 4, a);
	talk(nl, nlh, "add address");
}

static void route_default(struct mnl_socket *nl, int ifindex, const struct in_addr *gw)
{
	struct nlmsghdr *nlh = msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, 4, gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	talk(nl, nlh, "add default route");
}

static int link_del(const char *prefix, const char *idx)
{
	struct mnl_socket *nl = nl_open();
	struct nlmsghdr *nlh = msg(RTM_DELLINK, 0);
	char name[IFNAMSIZ];

	snprintf(name, sizeof(name), "%s%s", prefix, idx ? idx : "");
	link_hdr(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	talk(nl, nlh, "delete link");
	mnl_socket_close(nl);
	return 0;
}

int main(int argc, char **argv)
{
	struct mnl_socket *host, *pod;
	struct in_addr addr, gw;
	int podns, self, hostveth, master, eth0, len;
	char *slash, veth[32], nspath[256];
	const char *idx = getenv("FLOOR_IDX");

	if (argc == 3 && !strcmp(argv[1], "-d"))
		return link_del(argv[2], idx);

	if (argc != 6 || !(slash = strchr(argv[4], '/'))) {
		fprintf(stderr, "usage: floor BRIDGE HOSTVETH PODNETNS ADDR/LEN GW\n");
		return 2;
	}
	*slash = '\0';
	len = atoi(slash + 1);
	if (inet_pton(AF_INET, argv[4], &addr) != 1 || inet_pton(AF_INET, argv[5], &gw) != 1)
		return 2;
	snprintf(veth, sizeof(veth), "%s%s", argv[2], idx ? idx : "");
	snprintf(nspath, sizeof(nspath), "%s%s", argv[3], idx ? idx : "");
	if (idx)
		addr.s_addr = htonl(ntohl(addr.s_addr) + (uint32_t)atoi(idx));
	podns = open(nspath, O_RDONLY | O_CLOEXEC);
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (podns < 0 || self < 0)
		die("open netns");
	master = (int)if_nametoindex(argv[1]);
	if (!master)
		die("bridge");

	host = nl_open();
	veth_add(host, veth, podns);
	hostveth = (int)if_nametoindex(veth);
	link_set(host, hostveth, true, master, AF_INET6);

	if (setns(podns, CLONE_NEWNET) < 0)
		die("enter pod netns");
	pod = nl_open();
	eth0 = (int)if_nametoindex("eth0");
	if (setns(self, CLONE_NEWNET) < 0)
		die("return to host netns");
	link_set(pod, eth0, false, 0, AF_INET6);
	addr_add(pod, eth0, &addr, len);
	link_set(pod, eth0, true, 0, AF_INET);
	route_default(pod, eth0, &gw);
	mnl_socket_close(pod);
	mnl_socket_close(host);
	return 0;
}

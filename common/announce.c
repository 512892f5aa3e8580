/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <sys/socket.h>

#include "announce.h"
#include "cleanup.h"
#include "netns.h"

struct garp {
	struct arphdr h;
	uint8_t sha[6], sip[4], tha[6], tip[4];
} __attribute__((packed));

static int send_garp(int ifindex, const uint8_t mac[6], const struct inet_addr *a,
		     struct cni_err *err)
{
	_cleanup_close_ int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ARP),
		.sll_ifindex = ifindex,
		.sll_halen = 6,
		.sll_addr = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	};
	struct garp p = {
		.h = {.ar_hrd = htons(ARPHRD_ETHER), .ar_pro = htons(ETH_P_IP), .ar_hln = 6,
		      .ar_pln = 4, .ar_op = htons(ARPOP_REQUEST)},
	};

	if (fd < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "packet socket");
	/* A gratuitous request: sender and target are both the address. */
	memcpy(p.sha, mac, 6);
	memcpy(p.sip, a->bytes, 4);
	memcpy(p.tip, a->bytes, 4);
	if (sendto(fd, &p, sizeof(p), 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "send gratuitous ARP");
	return 0;
}

struct una {
	struct nd_neighbor_advert na;
	struct nd_opt_hdr opt;
	uint8_t mac[6];
} __attribute__((packed));

static int send_una(int ifindex, const uint8_t mac[6], const struct inet_addr *a,
		    struct cni_err *err)
{
	_cleanup_close_ int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	struct sockaddr_in6 src = {.sin6_family = AF_INET6, .sin6_addr = a->v6};
	struct sockaddr_in6 dst = {.sin6_family = AF_INET6, .sin6_scope_id = (uint32_t)ifindex};
	struct una p = {0};
	int hops = 255;

	if (fd < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "icmpv6 socket");
	inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);
	/* Receivers drop neighbour discovery with a hop limit below 255 (RFC 4861 7.1.2). */
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "icmpv6 socket options");
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "bind to the announced address");
	p.na.nd_na_type = ND_NEIGHBOR_ADVERT;
	p.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
	p.na.nd_na_target = a->v6;
	p.opt.nd_opt_type = ND_OPT_TARGET_LINKADDR;
	p.opt.nd_opt_len = 1; /* units of 8 bytes */
	memcpy(p.mac, mac, 6);
	if (sendto(fd, &p, sizeof(p), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "send neighbour advertisement");
	return 0;
}

struct announce_req {
	int ifindex;
	const uint8_t *mac;
	const struct inet_addr *addrs;
	size_t n;
};

static int announce_cb(void *arg, struct cni_err *err)
{
	struct announce_req *q = arg;
	int r, first = 0;

	for (size_t i = 0; i < q->n; i++) {
		const struct inet_addr *a = &q->addrs[i];

		if (a->family == AF_INET)
			r = send_garp(q->ifindex, q->mac, a, first < 0 ? NULL : err);
		else if (a->family == AF_INET6)
			r = send_una(q->ifindex, q->mac, a, first < 0 ? NULL : err);
		else
			continue;
		if (r < 0 && first == 0)
			first = r; /* keep going: one family failing must not silence the other */
	}
	return first;
}

int announce_addrs(int nsfd, int ifindex, const uint8_t mac[6], const struct inet_addr *addrs,
		   size_t n, struct cni_err *err)
{
	struct announce_req q = {.ifindex = ifindex, .mac = mac, .addrs = addrs, .n = n};

	return netns_exec(nsfd, announce_cb, &q, err);
}

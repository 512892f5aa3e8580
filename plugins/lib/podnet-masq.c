/* SPDX-License-Identifier: Apache-2.0 */
/* The network's masquerade over the life of its attachments (common/nft/nft.h): a pod's ADD
 * ensures the rules of its subnets (read-only when they are there), the network's last DEL or
 * a GC that empties it removes them, under the IPAM store lock. Shared by every plugin with
 * ipMasq. */
#include <errno.h>
#include <string.h>

#include "common/nft/nft.h"
#include "plugins/lib/podnet.h"

static size_t subnets_of(const struct inet_prefix *ips, size_t n_ips, struct inet_prefix *out)
{
	size_t n = 0;

	for (size_t i = 0; i < n_ips && n < NFT_MASQ_SUBNETS_MAX; i++) {
		struct inet_prefix net;
		bool seen = false;

		inet_prefix_network(&ips[i], &net);
		for (size_t k = 0; k < n && !seen; k++)
			seen = net.len == out[k].len && inet_addr_eq(&net.addr, &out[k].addr);
		if (!seen)
			out[n++] = net;
	}
	return n;
}

static void masq_net(const char *network, const struct inet_prefix *subnets, size_t n,
		     const struct inet_prefix *exclude, size_t n_exclude, struct nft_masq_net *m)
{
	*m = (struct nft_masq_net){.network = network,
				   .subnets = subnets,
				   .n_subnets = n,
				   .exclude = exclude,
				   .n_exclude = n_exclude};
}

int podnet_masq_ensure(const char *network, const struct inet_prefix *ips, size_t n_ips,
		       const struct inet_prefix *exclude, size_t n_exclude, struct cni_err *err)
{
	struct inet_prefix subnets[NFT_MASQ_SUBNETS_MAX];
	struct nft_masq_net m;

	masq_net(network, subnets, subnets_of(ips, n_ips, subnets), exclude, n_exclude, &m);
	return nft_masq_ensure(&m, err);
}

int podnet_masq_check(const char *network, const struct inet_prefix *ips, size_t n_ips,
		      const struct inet_prefix *exclude, size_t n_exclude, struct cni_err *err)
{
	struct inet_addr addrs[NFT_MASQ_SUBNETS_MAX];
	size_t n = 0;

	for (size_t i = 0; i < n_ips && n < NFT_MASQ_SUBNETS_MAX; i++)
		addrs[n++] = ips[i].addr;
	return nft_masq_check(network, addrs, n, exclude, n_exclude, err);
}

static int flush_cb(void *ctx, struct cni_err *err)
{
	return nft_masq_flush(ctx, err);
}

struct ipam_empty_hook podnet_masq_flush_hook(const char *network)
{
	return (struct ipam_empty_hook){.fn = flush_cb, .ctx = (void *)network};
}

int podnet_masq_gc(const struct cni_args *a, const struct ipam *ipam, struct cni_err *err)
{
	int r = nft_masq_gc(a->name, a->valid_attachments, a->n_valid_attachments, err);

	/* An IPAM plugin of another type cannot say the network is empty: GC with no valid
	 * attachment is the runtime saying so. */
	if (r >= 0 && a->n_valid_attachments == 0 && ipam_enabled(ipam) &&
	    strcmp(ipam_type(ipam), "host-local") != 0)
		r = nft_masq_flush(a->name, err);
	return r;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* DEL (idempotent, best effort, works without netns and prevResult), CHECK, STATUS, GC. */
#include <errno.h>
#include <string.h>

#include "plugins/lib/podnet-internal.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/naming.h"
#include "common/netns.h"
#include "common/nft/nft.h"
#include "common/nl/addr.h"
#include "common/nl/link.h"
#include "common/nl/route.h"

/* Keeps the first failure in err and logs the later ones: DEL and GC go on past errors. */
static void keep(int r, struct cni_err *tmp, int *first, struct cni_err *err)
{
	if (r >= 0) {
		cni_err_clear(tmp);
		return;
	}
	if (*first == 0) {
		*first = r;
		if (err)
			*err = *tmp;
	} else {
		log_warn("%s (%s)", tmp->msg, tmp->details);
	}
	cni_err_clear(tmp);
}

/* The host end is gone but a pod netns is given: delete our veth there by ifname (the reference
 * deletes whatever has that name; a non-veth is left alone). */
static int ctr_veth_del(struct podnet_ctx *x, struct cni_err *err)
{
	struct nl_link l;
	int r;

	if (!x->a->netns[0])
		return 0;
	r = netns_open(x->a->netns, &x->nsfd, err);
	if (r < 0) { /* the netns is gone: so is the veth */
		cni_err_clear(err);
		return 0;
	}
	r = nl_open(&x->ctr, x->nsfd, err);
	if (r < 0)
		return r;
	r = nl_link_get(x->ctr, x->a->ifname, &l, err);
	if (r == -ENODEV || (r >= 0 && strcmp(l.kind, "veth") != 0)) {
		cni_err_clear(err);
		return 0;
	}
	if (r >= 0)
		r = nl_link_del(x->ctr, l.ifindex, err);
	if (r == -ENODEV) {
		cni_err_clear(err);
		r = 0;
	}
	return r;
}

static int links_del(struct podnet_ctx *x, struct cni_err *err)
{
	struct nl_link l;
	int r;

	/* Found by its deterministic name: works without netns and without prevResult. */
	r = nl_link_get(x->host, x->host_veth, &l, err);
	if (r >= 0 && podnet_veth_is_ours(x, &l))
		return podnet_veth_del(x, err);
	if (r < 0 && r != -ENODEV)
		return r;
	cni_err_clear(err);
	return ctr_veth_del(x, err);
}

int podnet_del(const struct cni_args *a, void *conf, struct cni_err *err)
{
	_cleanup_podnet_ctx_ struct podnet_ctx x = {.nsfd = -1, .host_nsfd = -1};
	struct podnet_conf *c = conf;
	struct ipam_empty_hook masq_flush = podnet_masq_flush_hook(a->name);
	struct cni_err tmp = {0};
	int first = 0;

	keep(podnet_ctx_open(&x, a, c, false, &tmp), &tmp, &first, err);
	if (x.host)
		keep(links_del(&x, &tmp), &tmp, &first, err);
	/* The last address of the network takes its masquerade along (whatever ipMasq says now:
	 * rules of an earlier config go too); no IPs needed, so also without netns (the reference
	 * leaks here, plugins#810). */
	keep(ipam_del(c->ipam, a, &masq_flush, &tmp), &tmp, &first, err);
	if (c->macspoofchk)
		keep(nft_macspoof_del(a->name, a->container_id, a->ifname, &tmp), &tmp, &first,
		     err);
	/* A per-attachment rule of an older weft, by its tag (a dump; a commit only if found). */
	if (c->ip_masq)
		keep(nft_masq_del(a->name, a->container_id, a->ifname, &tmp), &tmp, &first, err);
	return first;
}

int podnet_status(const struct cni_args *a, void *conf, struct cni_err *err)
{
	struct podnet_conf *c = conf;

	return ipam_status(c->ipam, a, err);
}

static bool tag_valid(const struct cni_args *a, const char *tag)
{
	char t[17];

	for (size_t i = 0; i < a->n_valid_attachments; i++) {
		naming_attachment_tag(a->name, a->valid_attachments[i].container_id,
				      a->valid_attachments[i].ifname, t);
		if (strcmp(t, tag) == 0)
			return true;
	}
	return false;
}

/* Host veths whose alias is "weft <this network> <tag>" with a tag no valid attachment has.
 * Links without our alias (foreign, or another network's) are never touched. */
static int veths_gc(const struct cni_args *a, struct cni_err *err)
{
	_cleanup_nl_ struct nl *nl = NULL;
	_cleanup_free_ struct nl_link *l = NULL;
	struct cni_err tmp = {0};
	char prefix[256];
	size_t n = 0, plen;
	int r, first = 0;

	podnet_alias_prefix(a->name, prefix);
	plen = strlen(prefix);
	r = nl_open(&nl, NL_NETNS_SELF, err);
	if (r >= 0)
		r = nl_link_list(nl, &l, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const char *tag = l[i].alias + plen;

		if (strcmp(l[i].kind, "veth") != 0 || strncmp(l[i].alias, prefix, plen) != 0 ||
		    strlen(tag) != 16 || tag_valid(a, tag))
			continue;
		r = nl_link_del(nl, l[i].ifindex, &tmp);
		if (r == -ENODEV) /* its pod netns went away meanwhile */
			r = 0;
		keep(r, &tmp, &first, err);
	}
	return first;
}

int podnet_gc(const struct cni_args *a, void *conf, struct cni_err *err)
{
	struct podnet_conf *c = conf;
	struct ipam_empty_hook masq_flush = podnet_masq_flush_hook(a->name);
	struct cni_err tmp = {0};
	int first = 0;

	/* Always both nft sweeps: rules left by an older config (ipMasq since turned off) go too.
	 */
	keep(podnet_masq_gc(a, c->ipam, &tmp), &tmp, &first, err);
	keep(nft_macspoof_gc(a->name, a->valid_attachments, a->n_valid_attachments, &tmp), &tmp,
	     &first, err);
	keep(ipam_gc(c->ipam, a, &masq_flush, &tmp), &tmp, &first, err);
	keep(veths_gc(a, &tmp), &tmp, &first, err);
	return first;
}

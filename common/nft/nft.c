/* SPDX-License-Identifier: Apache-2.0 */
/* Masquerade and macspoofchk rules in nftables, through libnftnl (see nft.h).
 *
 * Every operation is one "job" on one chain: read the ruleset generation, dump the chain's
 * rules, pick the rules whose comment carries the tag(s) in question, then, unless there is
 * nothing to change, send ONE batch: add table + add chain (idempotent, race-safe), delete the
 * picked rules by handle, add the new rules. The batch carries the generation it was computed
 * from; when another process changed the ruleset in between, the kernel refuses the batch with
 * ERESTART and the job starts over. Rules are only ever found by their weft tag in weft's own
 * chains: nothing outside table inet/bridge weft is read or written. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/naming.h"
#include "common/nft/internal.h"
#include "common/nft/nft.h"

#define NFT_RACE_RETRIES 16

struct nft_job {
	const struct nft_chain_spec *chain;
	bool ensure; /* add table + chain (no-op when present) */
	bool dry;    /* count only (check) */
	/* existing rules to delete (or to count): by their tag */
	bool (*pick)(const char *tag, const void *data);
	const void *pick_data;
	/* new rules, added after the deletions */
	int (*fill)(struct nft_batch *b, const struct nft_chain_spec *c, const void *data,
		    struct cni_err *err);
	const void *fill_data;
	size_t n_picked; /* out */
};

struct pick_state {
	const struct nft_job *job;
	uint64_t *handles;
	size_t n, cap;
};

static int pick_cb(const struct nftnl_rule *r, void *data)
{
	struct pick_state *st = data;
	char comment[NFT_COMMENT_MAX + 1], tag[NFT_TAG_LEN + 1];

	if (!nftnl_rule_is_set(r, NFTNL_RULE_HANDLE))
		return 0;
	nft_rule_comment(r, comment, sizeof(comment));
	if (!nft_comment_tag(comment, tag) || !st->job->pick(tag, st->job->pick_data))
		return 0;
	if (st->n == st->cap) {
		size_t cap = st->cap * 2 + 8;
		uint64_t *p = realloc(st->handles, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		st->handles = p;
		st->cap = cap;
	}
	st->handles[st->n++] = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
	return 0;
}

static int job_batch(struct nft_batch *b, const struct nft_job *job, const struct pick_state *st,
		     struct cni_err *err)
{
	const struct nft_chain_spec *c = job->chain;
	int r = 0;

	if (job->ensure)
		r = nft_batch_add_table(b, c);
	if (r == 0 && job->ensure)
		r = nft_batch_add_chain(b, c);
	for (size_t i = 0; r == 0 && i < st->n; i++)
		r = nft_batch_del_rule(b, c, st->handles[i]);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_NFT, -r, "nftables: build batch");
	return job->fill ? job->fill(b, c, job->fill_data, err) : 0;
}

static int job_try(struct nft_sock *s, struct nft_job *job, struct cni_err *err)
{
	_cleanup_nft_batch_ struct nft_batch *b = NULL;
	struct pick_state st = {.job = job};
	_cleanup_free_ uint64_t *handles = NULL;
	uint32_t gen;
	int r;

	r = nft_gen_get(s, &gen, err);
	if (r < 0)
		return r;
	r = nft_rules_dump(s, job->chain, pick_cb, &st, err);
	handles = st.handles;
	if (r < 0)
		return r;
	job->n_picked = st.n;
	if (job->dry || (!job->ensure && st.n == 0))
		return 0;
	if (nft_batch_new(s, gen, &b) < 0)
		return cni_err_set(err, CNI_ERR_NFT, ENOMEM, "nftables: batch");
	r = job_batch(b, job, &st, err);
	return r < 0 ? r : nft_batch_send(s, b, err);
}

static int job_run(struct nft_job *job, struct cni_err *err)
{
	_cleanup_nft_sock_ struct nft_sock *s = NULL;
	int r = nft_sock_open(&s, err);

	for (int i = 0; r >= 0 && i < NFT_RACE_RETRIES; i++) {
		r = job_try(s, job, err);
		if (r != -ERESTART)
			return r;
		cni_err_clear(err); /* lost a race with another writer: look again */
		r = 0;
		/* spread the contenders out a little: up to (i + 1) ms, different per process */
		usleep((useconds_t)(((unsigned)getpid() * 7919u + (unsigned)i * 104729u) % 1000u) *
		       (useconds_t)(i + 1));
	}
	if (r < 0)
		return r;
	return cni_err_set(err, CNI_ERR_TRY_AGAIN, EAGAIN,
			   "nftables: ruleset kept changing under chain '%s' (%d attempts)",
			   job->chain->name, NFT_RACE_RETRIES);
}

/* ---- picking -------------------------------------------------------------------------------- */

static bool pick_tag(const char *tag, const void *data)
{
	return strcmp(tag, data) == 0;
}

struct valid_tags {
	char (*tags)[NFT_TAG_LEN + 1];
	size_t n;
};

static bool pick_invalid(const char *tag, const void *data)
{
	const struct valid_tags *v = data;

	for (size_t i = 0; i < v->n; i++)
		if (strcmp(tag, v->tags[i]) == 0)
			return false;
	return true;
}

/* Deletes the rules of the chain whose tag belongs to no valid attachment. */
static int gc_run(const struct nft_chain_spec *c, const char *network,
		  const struct cni_attachment *valid, size_t n_valid, struct cni_err *err)
{
	_cleanup_free_ char(*tags)[NFT_TAG_LEN + 1] = calloc(n_valid + 1, sizeof(*tags));
	struct valid_tags v = {.n = n_valid};
	struct nft_job job = {.chain = c, .pick = pick_invalid, .pick_data = &v};

	if (!tags)
		return cni_err_set(err, CNI_ERR_NFT, ENOMEM, "nftables gc");
	for (size_t i = 0; i < n_valid; i++)
		naming_attachment_tag(network, valid[i].container_id, valid[i].ifname, tags[i]);
	v.tags = tags;
	return job_run(&job, err);
}

static bool attachment_ok(const char *network, const char *container_id, const char *ifname)
{
	return network && *network && container_id && ifname;
}

/* ---- masquerade ----------------------------------------------------------------------------- */

static int masq_fill(struct nft_batch *b, const struct nft_chain_spec *c, const void *data,
		     struct cni_err *err)
{
	const struct nft_masq_spec *s = data;
	char comment[NFT_COMMENT_MAX + 1], ip[INET6_ADDRSTRLEN], what[96];
	int r;

	nft_comment_fmt(s->network, s->container_id, s->ifname, comment);
	for (size_t i = 0; i < s->n_ips; i++) {
		_cleanup_nft_rule_ struct nftnl_rule *rule = nft_rule_new(c, comment);

		inet_ntop(s->ips[i].addr.family, s->ips[i].addr.bytes, ip, sizeof(ip));
		snprintf(what, sizeof(what), "masquerade rule for %s", ip);
		r = rule ? nft_masq_rule_fill(rule, &s->ips[i], s->exclude, s->n_exclude) : -ENOMEM;
		if (r == 0)
			r = nft_batch_add_rule(b, c, rule, what);
		if (r < 0)
			return cni_err_set(err, CNI_ERR_NFT, -r, "nftables: build %s", what);
	}
	return 0;
}

static bool prefix_valid(const struct inet_prefix *p)
{
	return (p->addr.family == AF_INET && p->len <= 32) ||
	       (p->addr.family == AF_INET6 && p->len <= 128);
}

static int masq_spec_check(const struct nft_masq_spec *s, struct cni_err *err)
{
	if (!s || !attachment_ok(s->network, s->container_id, s->ifname) || (s->n_ips && !s->ips))
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "ipMasq: incomplete attachment");
	if (s->n_exclude > NFT_EXCLUDE_MAX)
		return cni_err_set(err, CNI_ERR_CONFIG, E2BIG,
				   "ipMasq: %zu excluded prefixes, at most %d are supported",
				   s->n_exclude, NFT_EXCLUDE_MAX);
	for (size_t i = 0; i < s->n_ips; i++)
		if (!prefix_valid(&s->ips[i]))
			return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL,
					   "ipMasq: pod address %zu is not an IP prefix", i);
	for (size_t i = 0; i < s->n_exclude; i++)
		if (!prefix_valid(&s->exclude[i]))
			return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
					   "ipMasq: excluded prefix %zu is not an IP prefix", i);
	return 0;
}

int nft_masq_add(const struct nft_masq_spec *s, struct cni_err *err)
{
	struct nft_chain_spec c;
	char tag[NFT_TAG_LEN + 1];
	struct nft_job job = {.chain = &c,
			      .ensure = true,
			      .pick = pick_tag,
			      .pick_data = tag,
			      .fill = masq_fill,
			      .fill_data = s};
	int r = masq_spec_check(s, err);

	if (r < 0)
		return r;
	nft_masq_chain_spec(s->network, &c);
	naming_attachment_tag(s->network, s->container_id, s->ifname, tag);
	r = job_run(&job, err);
	if (r < 0)
		cni_err_wrap(err, "ipMasq for '%s' (if %s)", s->network, s->ifname);
	return r < 0 ? r : 0;
}

/* Deletes (or with dry, counts into *ret_n) the attachment's rules in chain c. */
static int attachment_job(const struct nft_chain_spec *c, const char *network,
			  const char *container_id, const char *ifname, bool dry, size_t *ret_n,
			  struct cni_err *err)
{
	char tag[NFT_TAG_LEN + 1];
	struct nft_job job = {.chain = c, .dry = dry, .pick = pick_tag, .pick_data = tag};
	int r;

	if (!attachment_ok(network, container_id, ifname))
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL,
				   "nftables: incomplete attachment");
	naming_attachment_tag(network, container_id, ifname, tag);
	r = job_run(&job, err);
	if (r >= 0 && ret_n)
		*ret_n = job.n_picked;
	return r;
}

int nft_masq_del(const char *network, const char *container_id, const char *ifname,
		 struct cni_err *err)
{
	struct nft_chain_spec c;
	int r;

	nft_masq_chain_spec(network, &c);
	r = attachment_job(&c, network, container_id, ifname, false, NULL, err);
	if (r < 0)
		cni_err_wrap(err, "remove ipMasq for '%s' (if %s)", network, ifname);
	return r < 0 ? r : 0;
}

int nft_masq_check(const char *network, const char *container_id, const char *ifname,
		   struct cni_err *err)
{
	struct nft_chain_spec c;
	size_t n = 0;
	int r;

	nft_masq_chain_spec(network, &c);
	r = attachment_job(&c, network, container_id, ifname, true, &n, err);
	if (r < 0) {
		cni_err_wrap(err, "check ipMasq for '%s' (if %s)", network, ifname);
		return r;
	}
	if (n == 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOENT,
				   "ipMasq: no masquerade rule for container '%s' if '%s' in chain "
				   "inet weft %s",
				   container_id, ifname, c.name);
	return 0;
}

int nft_masq_gc(const char *network, const struct cni_attachment *valid, size_t n_valid,
		struct cni_err *err)
{
	struct nft_chain_spec c;
	int r;

	if (!network || !*network || (n_valid && !valid))
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "ipMasq gc: bad arguments");
	nft_masq_chain_spec(network, &c);
	r = gc_run(&c, network, valid, n_valid, err);
	if (r < 0)
		cni_err_wrap(err, "ipMasq gc for '%s'", network);
	return r < 0 ? r : 0;
}

/* ---- macspoofchk ---------------------------------------------------------------------------- */

struct macspoof_data {
	const char *comment, *host_veth;
	const uint8_t *mac;
};

static int macspoof_fill(struct nft_batch *b, const struct nft_chain_spec *c, const void *data,
			 struct cni_err *err)
{
	const struct macspoof_data *d = data;
	_cleanup_nft_rule_ struct nftnl_rule *rule = nft_rule_new(c, d->comment);
	int r = rule ? nft_macspoof_rule_fill(rule, d->host_veth, d->mac) : -ENOMEM;

	if (r == 0)
		r = nft_batch_add_rule(b, c, rule, "macspoofchk rule");
	if (r < 0)
		return cni_err_set(err, CNI_ERR_NFT, -r,
				   "nftables: build macspoofchk rule for '%s'", d->host_veth);
	return 0;
}

int nft_macspoof_add(const char *network, const char *container_id, const char *ifname,
		     const char *host_veth, const uint8_t mac[6], struct cni_err *err)
{
	char tag[NFT_TAG_LEN + 1], comment[NFT_COMMENT_MAX + 1];
	struct macspoof_data d = {.comment = comment, .host_veth = host_veth, .mac = mac};
	struct nft_chain_spec c;
	struct nft_job job = {.chain = &c,
			      .ensure = true,
			      .pick = pick_tag,
			      .pick_data = tag,
			      .fill = macspoof_fill,
			      .fill_data = &d};
	int r;

	if (!attachment_ok(network, container_id, ifname) || !mac || !host_veth || !*host_veth ||
	    strlen(host_veth) >= 16)
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "macspoofchk: bad arguments");
	nft_macspoof_chain_spec(network, &c);
	naming_attachment_tag(network, container_id, ifname, tag);
	nft_comment_fmt(network, container_id, ifname, comment);
	r = job_run(&job, err);
	if (r < 0)
		cni_err_wrap(err, "macspoofchk for '%s' (if %s)", network, ifname);
	return r < 0 ? r : 0;
}

int nft_macspoof_del(const char *network, const char *container_id, const char *ifname,
		     struct cni_err *err)
{
	struct nft_chain_spec c;
	int r;

	nft_macspoof_chain_spec(network, &c);
	r = attachment_job(&c, network, container_id, ifname, false, NULL, err);
	if (r < 0)
		cni_err_wrap(err, "remove macspoofchk for '%s' (if %s)", network, ifname);
	return r < 0 ? r : 0;
}

int nft_macspoof_gc(const char *network, const struct cni_attachment *valid, size_t n_valid,
		    struct cni_err *err)
{
	struct nft_chain_spec c;
	int r;

	if (!network || !*network || (n_valid && !valid))
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "macspoofchk gc: bad arguments");
	nft_macspoof_chain_spec(network, &c);
	r = gc_run(&c, network, valid, n_valid, err);
	if (r < 0)
		cni_err_wrap(err, "macspoofchk gc for '%s'", network);
	return r < 0 ? r : 0;
}

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
	/* existing rules to delete (or to count): by their tag and comment; pick may also
	 * record what it saw in pick_data */
	bool (*pick)(const char *tag, const char *comment, void *data);
	void *pick_data;
	void (*reset)(void *pick_data); /* optional: before each dump (a lost race dumps again) */
	/* new rules, added after the deletions */
	int (*fill)(struct nft_batch *b, const struct nft_chain_spec *c, const void *data,
		    struct cni_err *err);
	const void *fill_data;
	/* Optional, with ensure: after the dump, whether fill has anything to add. A job that
	 * deletes nothing and adds nothing commits nothing. */
	bool (*needed)(const void *fill_data);
	/* Delete the chain too when every rule in it was picked (none of anybody else's left). */
	bool drop_chain;
	size_t n_picked; /* out */
};

struct pick_state {
	const struct nft_job *job;
	uint64_t *handles;
	size_t n, cap;
	size_t n_rules; /* every rule of the chain, picked or not */
};

static int pick_cb(const struct nftnl_rule *r, void *data)
{
	struct pick_state *st = data;
	char comment[NFT_COMMENT_MAX + 1], tag[NFT_TAG_LEN + 1];

	if (!nftnl_rule_is_set(r, NFTNL_RULE_HANDLE))
		return 0;
	st->n_rules++;
	nft_rule_comment(r, comment, sizeof(comment));
	if (!nft_comment_tag(comment, tag) || !st->job->pick(tag, comment, st->job->pick_data))
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
	if (r == 0 && job->drop_chain && st->n == st->n_rules)
		r = nft_batch_del_chain(b, c);
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
	if (job->reset)
		job->reset(job->pick_data);
	r = nft_rules_dump(s, job->chain, pick_cb, &st, err);
	handles = st.handles;
	if (r < 0)
		return r;
	job->n_picked = st.n;
	if (job->dry ||
	    (st.n == 0 && (!job->ensure || (job->needed && !job->needed(job->fill_data)))))
		return 0; /* nothing to change: no commit, no transaction for the close to wait for
			   */
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

static bool pick_tag(const char *tag, const char *comment, void *data)
{
	(void)comment;
	return strcmp(tag, data) == 0;
}

struct valid_tags {
	char (*tags)[NFT_TAG_LEN + 1];
	size_t n;
};

static bool pick_invalid(const char *tag, const char *comment, void *data)
{
	const struct valid_tags *v = data;

	(void)comment;
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(tag, v->tags[i]) == 0)
			return false;
	return true;
}

/* Deletes the rules of the chain whose tag belongs to no valid attachment. */
static int gc_run(const struct nft_chain_spec *c, const char *network,
		  const struct cni_attachment *valid, size_t n_valid,
		  bool (*pick)(const char *tag, const char *comment, void *data),
		  struct cni_err *err)
{
	_cleanup_free_ char(*tags)[NFT_TAG_LEN + 1] = calloc(n_valid + 1, sizeof(*tags));
	struct valid_tags v = {.n = n_valid};
	struct nft_job job = {.chain = c, .pick = pick, .pick_data = &v};

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

/* ---- masquerade, per network ------------------------------------------------------------- */

#define SUBNET_KEY ", subnet: "

/* A per-network rule: "<tag>, subnet: <cidr>, net: <n>"; NULL when the comment is another's
 * (an attachment rule of an older weft). Returns the cidr text (up to the next ',') in buf. */
static const char *comment_subnet(const char *comment, char *buf, size_t len)
{
	const char *p = strstr(comment, SUBNET_KEY);
	size_t n;

	if (!p || p != comment + NFT_TAG_LEN)
		return NULL;
	p += strlen(SUBNET_KEY);
	n = strcspn(p, ",");
	if (n >= len)
		return NULL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

struct masq_state {
	const struct nft_masq_net *m;
	char cidr[NFT_MASQ_SUBNETS_MAX][INET_PREFIX_STRLEN];
	char tag[NFT_MASQ_SUBNETS_MAX][NFT_TAG_LEN + 1];
	bool present[NFT_MASQ_SUBNETS_MAX];
};

/* The tag of a subnet's rule: what it matches, so other exclusions make another rule. */
static void masq_tag(const struct nft_masq_net *m, const char *cidr, char tag[NFT_TAG_LEN + 1])
{
	char ex[NFT_MASQ_EXCLUDE_MAX][INET_PREFIX_STRLEN];
	const char *parts[2 + NFT_MASQ_EXCLUDE_MAX] = {m->network, cidr};
	size_t n = 2;

	for (size_t i = 0; i < m->n_exclude && i < NFT_MASQ_EXCLUDE_MAX; i++)
		parts[n++] = inet_prefix_fmt(&m->exclude[i], ex[i], sizeof(ex[i]));
	snprintf(tag, NFT_TAG_LEN + 1, "%016llx", (unsigned long long)naming_hash(parts, n));
}

static void masq_state_init(struct masq_state *st, const struct nft_masq_net *m)
{
	*st = (struct masq_state){.m = m};
	for (size_t i = 0; i < m->n_subnets; i++) {
		inet_prefix_fmt(&m->subnets[i], st->cidr[i], sizeof(st->cidr[i]));
		masq_tag(m, st->cidr[i], st->tag[i]);
	}
}

/* Ensure/check: a rule of a wanted subnet with the wanted tag is kept (and marked present; a
 * duplicate goes); one of a wanted subnet with another tag (other exclusions) is replaced;
 * rules of other subnets and attachment rules are left alone. */
static bool pick_stale_subnet(const char *tag, const char *comment, void *data)
{
	struct masq_state *st = data;
	char cidr[INET_PREFIX_STRLEN];

	if (!comment_subnet(comment, cidr, sizeof(cidr)))
		return false;
	for (size_t i = 0; i < st->m->n_subnets; i++) {
		if (strcmp(cidr, st->cidr[i]) != 0)
			continue;
		if (strcmp(tag, st->tag[i]) != 0 || st->present[i])
			return true;
		st->present[i] = true;
		return false;
	}
	return false;
}

static void masq_reset(void *data)
{
	struct masq_state *st = data;

	memset(st->present, 0, sizeof(st->present));
}

static bool masq_needed(const void *data)
{
	const struct masq_state *st = data;

	for (size_t i = 0; i < st->m->n_subnets; i++)
		if (!st->present[i])
			return true;
	return false;
}

static int masq_fill(struct nft_batch *b, const struct nft_chain_spec *c, const void *data,
		     struct cni_err *err)
{
	const struct masq_state *st = data;
	const struct nft_masq_net *m = st->m;
	char comment[NFT_COMMENT_MAX + 1], what[96];
	int r;

	for (size_t i = 0; i < m->n_subnets; i++) {
		if (st->present[i])
			continue;
		_cleanup_nft_rule_ struct nftnl_rule *rule = NULL;

		snprintf(comment, sizeof(comment), "%s" SUBNET_KEY "%s, net: %s", st->tag[i],
			 st->cidr[i], m->network);
		snprintf(what, sizeof(what), "masquerade rule for %s", st->cidr[i]);
		rule = nft_rule_new(c, comment);
		r = rule ? nft_masq_rule_fill(rule, &m->subnets[i], m->exclude, m->n_exclude)
			 : -ENOMEM;
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

static int masq_net_check_args(const struct nft_masq_net *m, struct cni_err *err)
{
	if (!m || !m->network || !*m->network || (m->n_subnets && !m->subnets) ||
	    (m->n_exclude && !m->exclude))
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "ipMasq: bad arguments");
	if (m->n_subnets > NFT_MASQ_SUBNETS_MAX)
		return cni_err_set(err, CNI_ERR_CONFIG, E2BIG,
				   "ipMasq: %zu pod subnets, at most %d are supported",
				   m->n_subnets, NFT_MASQ_SUBNETS_MAX);
	if (m->n_exclude > NFT_EXCLUDE_MAX)
		return cni_err_set(err, CNI_ERR_CONFIG, E2BIG,
				   "ipMasq: %zu excluded prefixes, at most %d are supported",
				   m->n_exclude, NFT_EXCLUDE_MAX);
	for (size_t i = 0; i < m->n_subnets; i++)
		if (!prefix_valid(&m->subnets[i]))
			return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL,
					   "ipMasq: pod subnet %zu is not an IP prefix", i);
	for (size_t i = 0; i < m->n_exclude; i++)
		if (!prefix_valid(&m->exclude[i]))
			return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
					   "ipMasq: excluded prefix %zu is not an IP prefix", i);
	return 0;
}

int nft_masq_ensure(const struct nft_masq_net *m, struct cni_err *err)
{
	struct nft_chain_spec c;
	struct masq_state st;
	struct nft_job job = {.chain = &c,
			      .ensure = true,
			      .pick = pick_stale_subnet,
			      .pick_data = &st,
			      .reset = masq_reset,
			      .fill = masq_fill,
			      .fill_data = &st,
			      .needed = masq_needed};
	int r = masq_net_check_args(m, err);

	if (r < 0 || m->n_subnets == 0)
		return r;
	nft_masq_chain_spec(m->network, &c);
	masq_state_init(&st, m);
	r = job_run(&job, err);
	if (r < 0)
		cni_err_wrap(err, "ipMasq for network '%s'", m->network);
	return r < 0 ? r : 0;
}

struct masq_check_state {
	const struct nft_masq_net *m; /* network and exclusions */
	const struct inet_addr *addrs;
	size_t n;
	bool present[NFT_MASQ_SUBNETS_MAX];
};

/* A subnet rule with the wanted exclusions whose subnet holds the address. */
static bool pick_covering(const char *tag, const char *comment, void *data)
{
	struct masq_check_state *st = data;
	char cidr[INET_PREFIX_STRLEN], want[NFT_TAG_LEN + 1];
	struct inet_prefix p;

	if (!comment_subnet(comment, cidr, sizeof(cidr)) || inet_prefix_parse(cidr, &p) < 0)
		return false;
	masq_tag(st->m, cidr, want);
	for (size_t i = 0; i < st->n && strcmp(tag, want) == 0; i++)
		st->present[i] |= inet_prefix_contains(&p, &st->addrs[i]);
	return false;
}

static void check_reset(void *data)
{
	struct masq_check_state *st = data;

	memset(st->present, 0, sizeof(st->present));
}

int nft_masq_check(const char *network, const struct inet_addr *addrs, size_t n,
		   const struct inet_prefix *exclude, size_t n_exclude, struct cni_err *err)
{
	struct nft_masq_net m = {.network = network, .exclude = exclude, .n_exclude = n_exclude};
	struct masq_check_state st = {.m = &m, .addrs = addrs, .n = n};
	struct nft_chain_spec c;
	struct nft_job job = {.chain = &c,
			      .dry = true,
			      .pick = pick_covering,
			      .pick_data = &st,
			      .reset = check_reset};
	char ip[INET6_ADDRSTRLEN];
	int r = masq_net_check_args(&m, err);

	if (r >= 0 && (n > NFT_MASQ_SUBNETS_MAX || (n && !addrs)))
		r = cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "ipMasq check: bad arguments");
	if (r < 0)
		return r;
	nft_masq_chain_spec(network, &c);
	r = job_run(&job, err);
	if (r < 0)
		return cni_err_wrap(err, "check ipMasq for network '%s'", network);
	for (size_t i = 0; i < n; i++)
		if (!st.present[i])
			return cni_err_set(err, CNI_ERR_INTERNAL, ENOENT,
					   "ipMasq: no masquerade rule for %s of network '%s' in "
					   "chain inet weft %s",
					   inet_addr_fmt(&addrs[i], ip, sizeof(ip)), network,
					   c.name);
	return 0;
}

static bool pick_any(const char *tag, const char *comment, void *data)
{
	(void)tag;
	(void)comment;
	(void)data;
	return true;
}

int nft_masq_flush(const char *network, struct cni_err *err)
{
	struct nft_chain_spec c;
	struct nft_job job = {.chain = &c, .pick = pick_any, .drop_chain = true};
	int r;

	if (!network || !*network)
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "ipMasq flush: bad arguments");
	nft_masq_chain_spec(network, &c);
	r = job_run(&job, err);
	if (r < 0)
		cni_err_wrap(err, "remove ipMasq of network '%s'", network);
	return r < 0 ? r : 0;
}

/* Per-attachment rules (older weft): their comment has no subnet. */
static bool pick_attachment_tag(const char *tag, const char *comment, void *data)
{
	char cidr[INET_PREFIX_STRLEN];

	return !comment_subnet(comment, cidr, sizeof(cidr)) && strcmp(tag, data) == 0;
}

static bool pick_invalid_attachment(const char *tag, const char *comment, void *data)
{
	char cidr[INET_PREFIX_STRLEN];

	return !comment_subnet(comment, cidr, sizeof(cidr)) && pick_invalid(tag, comment, data);
}

int nft_masq_del(const char *network, const char *container_id, const char *ifname,
		 struct cni_err *err)
{
	char tag[NFT_TAG_LEN + 1];
	struct nft_chain_spec c;
	struct nft_job job = {.chain = &c, .pick = pick_attachment_tag, .pick_data = tag};
	int r;

	if (!attachment_ok(network, container_id, ifname))
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL,
				   "nftables: incomplete attachment");
	nft_masq_chain_spec(network, &c);
	naming_attachment_tag(network, container_id, ifname, tag);
	r = job_run(&job, err);
	if (r < 0)
		cni_err_wrap(err, "remove ipMasq for '%s' (if %s)", network, ifname);
	return r < 0 ? r : 0;
}

/* GC of a chain: the rules pick selects among those of attachments not in valid[]. */
static int gc_chain(void (*spec)(const char *network, struct nft_chain_spec *ret), const char *what,
		    bool (*pick)(const char *tag, const char *comment, void *data),
		    const char *network, const struct cni_attachment *valid, size_t n_valid,
		    struct cni_err *err)
{
	struct nft_chain_spec c;
	int r;

	if (!network || !*network || (n_valid && !valid))
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "%s gc: bad arguments", what);
	spec(network, &c);
	r = gc_run(&c, network, valid, n_valid, pick, err);
	if (r < 0)
		cni_err_wrap(err, "%s gc for '%s'", what, network);
	return r < 0 ? r : 0;
}

int nft_masq_gc(const char *network, const struct cni_attachment *valid, size_t n_valid,
		struct cni_err *err)
{
	return gc_chain(nft_masq_chain_spec, "ipMasq", pick_invalid_attachment, network, valid,
			n_valid, err);
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

int nft_macspoof_check(const char *network, const char *container_id, const char *ifname,
		       struct cni_err *err)
{
	struct nft_chain_spec c;
	size_t n = 0;
	int r;

	nft_macspoof_chain_spec(network, &c);
	r = attachment_job(&c, network, container_id, ifname, true, &n, err);
	if (r < 0)
		return cni_err_wrap(err, "check macspoofchk for '%s' (if %s)", network, ifname);
	if (n == 0)
		return cni_err_set(
			err, CNI_ERR_INTERNAL, ENOENT,
			"macspoofchk: no rule for container %s (if %s) of network '%s' in "
			"chain bridge weft %s",
			container_id, ifname, network, c.name);
	return 0;
}

int nft_macspoof_gc(const char *network, const struct cni_attachment *valid, size_t n_valid,
		    struct cni_err *err)
{
	return gc_chain(nft_macspoof_chain_spec, "macspoofchk", pick_invalid, network, valid,
			n_valid, err);
}

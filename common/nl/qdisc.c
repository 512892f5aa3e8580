/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "common/nl/internal.h"
#include "common/nl/qdisc.h"

#define U32_MAX_ 0xffffffffu

static uint32_t clamp32(uint64_t v)
{
	return v > U32_MAX_ ? U32_MAX_ : (uint32_t)v;
}

/* TCA_OPTIONS of a tbf: the rate (64-bit when it does not fit the 32-bit field), the burst in
 * bytes (TCA_TBF_BURST: the kernel derives the bucket time from it) and the queue limit. */
static int tbf_options(struct nlmsghdr *nlh, size_t len, const struct nl_tbf *t)
{
	uint64_t rate = t->rate_bps / 8, burst = t->burst_bits / 8;
	struct tc_tbf_qopt q;
	struct nlattr *opts;

	memset(&q, 0, sizeof(q));
	q.rate.rate = clamp32(rate);
	q.rate.linklayer = TC_LINKLAYER_ETHERNET;
	q.limit = clamp32(rate * NL_TBF_LATENCY_MS / 1000 + burst);
	q.buffer = 1; /* replaced by the kernel from TCA_TBF_BURST */
	opts = mnl_attr_nest_start_check(nlh, len, TCA_OPTIONS);
	if (!opts || !mnl_attr_put_check(nlh, len, TCA_TBF_PARMS, sizeof(q), &q) ||
	    !mnl_attr_put_u32_check(nlh, len, TCA_TBF_BURST, clamp32(burst)))
		return -EMSGSIZE;
	if (rate > U32_MAX_ && !mnl_attr_put_check(nlh, len, TCA_TBF_RATE64, sizeof(rate), &rate))
		return -EMSGSIZE;
	mnl_attr_nest_end(nlh, opts);
	return 0;
}

int nl_tbf_replace(struct nl *nl, int ifindex, const struct nl_tbf *t, struct cni_err *err)
{
	char buf[NL_REQ_SIZE];
	struct tcmsg *tc;
	struct nlmsghdr *nlh =
		nl_msg_start(buf, sizeof(buf), RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE,
			     sizeof(*tc), (void **)&tc);

	if (!t->rate_bps || !t->burst_bits)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "tbf needs a rate and a burst");
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = ifindex;
	tc->tcm_parent = TC_H_ROOT;
	if (!mnl_attr_put_strz_check(nlh, sizeof(buf), TCA_KIND, "tbf") ||
	    tbf_options(nlh, sizeof(buf), t) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, EMSGSIZE, "build tbf qdisc");
	if (nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return cni_err_wrap(err, "tbf qdisc (rate %llu bit/s, burst %llu bit) on link #%d",
				    (unsigned long long)t->rate_bps,
				    (unsigned long long)t->burst_bits, ifindex);
	return 0;
}

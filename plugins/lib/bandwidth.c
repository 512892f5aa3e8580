/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdint.h>
#include <strings.h>

#include "plugins/lib/bandwidth.h"

#define BURST_MAX_BITS (8ull * UINT32_MAX) /* TCA_TBF_BURST is a u32 of bytes */

/* The value of key, its case ignored: containerd 1.6 sends "IngressRate" (Go's encoder on a
 * struct without JSON tags), CRI-O and the CNI conventions "ingressRate"; the reference plugin
 * (Go's decoder) takes both. */
static int number(const json_t *bw, const char *key, int64_t *ret, struct cni_err *err)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)bw, k, v)
	{
		if (strcasecmp(k, key) != 0)
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
					   "bandwidth: \"%s\" must be a non-negative integer", k);
		*ret = json_integer_value(v);
		return 0;
	}
	return 0;
}

static int direction(const json_t *bw, const char *rate_key, const char *burst_key,
		     struct nl_tbf *t, struct cni_err *err)
{
	int64_t rate = 0, burst = 0;
	int r = number(bw, rate_key, &rate, err);

	if (r >= 0)
		r = number(bw, burst_key, &burst, err);
	if (r < 0)
		return r;
	if (!rate && burst)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
				   "bandwidth: \"%s\" is set but \"%s\" is not", burst_key,
				   rate_key);
	if (rate && !burst)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
				   "bandwidth: \"%s\" needs \"%s\" (bits) as well", rate_key,
				   burst_key);
	if ((uint64_t)burst > BURST_MAX_BITS)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
				   "bandwidth: \"%s\" %lld is over %llu bits (4 GiB)", burst_key,
				   (long long)burst, BURST_MAX_BITS);
	t->rate_bps = (uint64_t)rate;
	t->burst_bits = (uint64_t)burst;
	return 0;
}

int bandwidth_parse(const json_t *conf, struct bandwidth *bw, struct cni_err *err)
{
	const json_t *v = json_object_get(json_object_get(conf, "runtimeConfig"), "bandwidth");
	int r;

	*bw = (struct bandwidth){0};
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
				   "runtimeConfig.bandwidth must be an object");
	r = direction(v, "ingressRate", "ingressBurst", &bw->ingress, err);
	if (r >= 0)
		r = direction(v, "egressRate", "egressBurst", &bw->egress, err);
	return r;
}

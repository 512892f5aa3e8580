/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/cni/conf.h"
#include "ipam/config.h"
#include "ipam/ipam.h"

static int str_key(const json_t *obj, const char *key, char *buf, size_t len, struct cni_err *err)
{
	int r = conf_str_buf(obj, key, CONF_OPTIONAL, buf, len, err);

	return r < 0 ? cni_err_wrap(err, "ipam") : 0;
}

static int add_set(struct ipam_config *c, const json_t *arr, struct cni_err *err)
{
	int r;

	if (c->n_sets >= IPAM_MAX_SETS)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "too many range sets (max %d)",
				   IPAM_MAX_SETS);
	if (json_is_array(arr) && json_array_size(arr) > IPAM_MAX_RANGES)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "range set %zu: too many ranges (max %d)", c->n_sets,
				   IPAM_MAX_RANGES);
	r = ipam_range_set_parse(arr, &c->sets[c->n_sets], err);
	if (r < 0)
		return cni_err_wrap(err, "invalid range set %zu", c->n_sets);
	c->n_sets++;
	return 0;
}

static int add_sets(struct ipam_config *c, const json_t *list, const char *key, struct cni_err *err)
{
	size_t i;
	json_t *v;
	int r;

	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "%s must be a list of range sets (lists of ranges)", key);
	json_array_foreach(list, i, v)
	{
		r = add_set(c, v, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* runtimeConfig.ipRanges, then the legacy top-level range, then ranges (§3.1). */
static int collect_sets(struct ipam_config *c, const json_t *conf, const json_t *ipam,
			struct cni_err *err)
{
	const json_t *rc = json_object_get(conf, "runtimeConfig");
	const json_t *sub = json_object_get(ipam, "subnet");
	int r;

	r = add_sets(c, json_object_get(rc, "ipRanges"), "runtimeConfig.ipRanges", err);
	if (r >= 0 && sub && !json_is_null(sub)) {
		_cleanup_json_ json_t *legacy = json_array();

		if (!legacy || json_array_append(legacy, (json_t *)ipam) < 0)
			return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
		r = add_set(c, legacy, err);
	}
	if (r >= 0)
		r = add_sets(c, json_object_get(ipam, "ranges"), "ipam.ranges", err);
	return r;
}

static int validate_sets(struct ipam_config *c, struct cni_err *err)
{
	size_t v4 = 0, v6 = 0;
	int r;

	if (c->n_sets == 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "no IP ranges specified");
	for (size_t i = 0; i < c->n_sets; i++) {
		r = ipam_range_set_canonicalize(&c->sets[i], err);
		if (r < 0)
			return cni_err_wrap(err, "invalid range set %zu", i);
		if (ipam_range_set_family(&c->sets[i]) == AF_INET)
			v4++;
		else
			v6++;
	}
	if ((v4 > 1 || v6 > 1) && cni_version_cmp(c->cni_version, "0.3.0") < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "CNI version %s does not support more than 1 address per family",
				   c->cni_version);
	for (size_t i = 0; i + 1 < c->n_sets; i++)
		for (size_t j = i + 1; j < c->n_sets; j++)
			if (ipam_range_set_overlaps(&c->sets[i], &c->sets[j]))
				return cni_err_set(err, CNI_ERR_CONFIG, 0,
						   "range set %zu overlaps with %zu", i, j);
	return 0;
}

static int parse_route(const json_t *o, size_t i, struct cni_route *rt, struct cni_err *err)
{
	static const char *const extra[] = {"mtu", "advmss", "priority", "table", "scope"};
	int *dst_int[] = {&rt->mtu, &rt->advmss, &rt->priority, &rt->table, &rt->scope};
	const char *dst = json_string_value(json_object_get(o, "dst"));
	const json_t *gw = json_object_get(o, "gw");

	*rt = (struct cni_route){.mtu = -1, .advmss = -1, .priority = -1, .table = -1, .scope = -1};
	if (!json_is_object(o) || !dst)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "ipam.routes[%zu]: \"dst\" (a CIDR string) is required", i);
	if (inet_prefix_parse(dst, &rt->dst) < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "ipam.routes[%zu].dst: invalid CIDR address: %s", i, dst);
	if (gw && !json_is_null(gw) &&
	    (!json_is_string(gw) || inet_addr_parse(json_string_value(gw), &rt->gw) < 0 ||
	     rt->gw.family != rt->dst.addr.family))
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "ipam.routes[%zu].gw: invalid IP address for dst %s", i, dst);
	for (size_t k = 0; k < ARRAY_SIZE(extra); k++) {
		const json_t *v = json_object_get(o, extra[k]);

		if (!v || json_is_null(v))
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > INT32_MAX)
			return cni_err_set(err, CNI_ERR_CONFIG, 0,
					   "ipam.routes[%zu].%s must be a non-negative integer", i,
					   extra[k]);
		*dst_int[k] = (int)json_integer_value(v);
	}
	return 0;
}

static int parse_routes(struct ipam_config *c, const json_t *ipam, struct cni_err *err)
{
	const json_t *routes = json_object_get(ipam, "routes");
	size_t i;
	json_t *v;
	int r;

	if (!routes || json_is_null(routes))
		return 0;
	if (!json_is_array(routes))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "ipam.routes must be a list");
	if (json_array_size(routes) > CNI_MAX_ROUTES)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "ipam.routes: too many (max %d)",
				   CNI_MAX_ROUTES);
	json_array_foreach(routes, i, v)
	{
		r = parse_route(v, i, &c->routes[i], err);
		if (r < 0)
			return r;
	}
	c->n_routes = json_array_size(routes);
	return 0;
}

static int add_req(struct ipam_config *c, const char *s, enum cni_code code, const char *where,
		   struct cni_err *err)
{
	struct inet_prefix p;

	/* "ip" or "ip/prefix" (the ips capability); the prefix is ignored like the reference. */
	if (!s || inet_prefix_parse_opt(s, &p) < 0)
		return cni_err_set(err, code, 0, "cannot understand ip: %s: \"%s\"", where,
				   s ? s : "(not a string)");
	for (size_t i = 0; i < c->n_req; i++)
		if (inet_addr_eq(&c->req[i], &p.addr))
			return 0;
	if (c->n_req >= IPAM_MAX_REQUESTED_IPS)
		return cni_err_set(err, code, 0, "%s: too many requested IPs (max %d)", where,
				   IPAM_MAX_REQUESTED_IPS);
	c->req[c->n_req++] = p.addr;
	return 0;
}

static int add_req_list(struct ipam_config *c, const json_t *list, const char *where,
			struct cni_err *err)
{
	size_t i;
	json_t *v;
	int r;

	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "%s must be a list of IPs", where);
	json_array_foreach(list, i, v)
	{
		r = add_req(c, json_string_value(v), CNI_ERR_CONFIG, where, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* CNI_ARGS IP=, args.cni.ips, runtimeConfig.ips: all collected, like the reference. */
static int collect_requested(struct ipam_config *c, const struct cni_args *a, struct cni_err *err)
{
	const char *env_ip = cni_args_get(a, "IP");
	const json_t *args_cni = json_object_get(json_object_get(a->conf, "args"), "cni");
	const json_t *rc = json_object_get(a->conf, "runtimeConfig");
	int r = 0;

	if (env_ip)
		r = add_req(c, env_ip, CNI_ERR_ENV, "CNI_ARGS IP", err);
	if (r >= 0)
		r = add_req_list(c, json_object_get(args_cni, "ips"), "args.cni.ips", err);
	if (r >= 0)
		r = add_req_list(c, json_object_get(rc, "ips"), "runtimeConfig.ips", err);
	return r;
}

/* Everything but dataDir and the name: with `lenient` (DEL, GC), a failure is recorded in
 * c->invalid and the verb still runs on the store. */
static int parse_rest(struct ipam_config *c, const struct cni_args *a, const json_t *ipam,
		      bool lenient, struct cni_err *err)
{
	struct cni_err *e = &c->invalid;
	int r;

	r = str_key(ipam, "resolvConf", c->resolv_conf, sizeof(c->resolv_conf), e);
	if (r >= 0)
		r = parse_routes(c, ipam, e);
	if (r >= 0)
		r = collect_requested(c, a, e);
	if (r >= 0)
		r = collect_sets(c, a->conf, ipam, e);
	if (r >= 0)
		r = validate_sets(c, e);
	c->valid = r >= 0;
	if (r >= 0 || lenient)
		return 0;
	*err = c->invalid;
	return r;
}

int ipam_config_parse(const struct cni_args *a, const json_t *ipam, bool lenient,
		      struct ipam_config **ret, struct cni_err *err)
{
	struct ipam_config *c = NULL;
	int r;

	if (!json_is_object(ipam))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "IPAM config missing 'ipam' key");
	if (!a->name || !cni_valid_id(a->name) || strlen(a->name) >= sizeof(c->name))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "invalid network name \"%s\"",
				   a->name ? a->name : "");
	c = calloc(1, sizeof(*c));
	if (!c)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	snprintf(c->name, sizeof(c->name), "%s", a->name);
	snprintf(c->cni_version, sizeof(c->cni_version), "%s",
		 a->cni_version ? a->cni_version : "0.1.0");
	snprintf(c->data_dir, sizeof(c->data_dir), "%s", IPAM_DEFAULT_DATA_DIR);
	r = str_key(ipam, "dataDir", c->data_dir, sizeof(c->data_dir), err);
	if (r >= 0 && !c->data_dir[0])
		snprintf(c->data_dir, sizeof(c->data_dir), "%s", IPAM_DEFAULT_DATA_DIR);
	if (r >= 0)
		r = parse_rest(c, a, ipam, lenient, err);
	if (r < 0) {
		ipam_config_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void ipam_config_free(struct ipam_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_sets; i++)
		ipam_range_set_free(&c->sets[i]);
	free(c);
}

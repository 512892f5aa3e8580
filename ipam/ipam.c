/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "ipam/config.h"
#include "common/cni/delegate.h"
#include "ipam/hostlocal.h"
#include "ipam/ipam.h"

enum ipam_kind { IPAM_DISABLED, IPAM_HOST_LOCAL, IPAM_DELEGATED };

struct ipam {
	enum ipam_kind kind;
	char type[256];
	struct ipam_config *hl; /* IPAM_HOST_LOCAL */
};

static int open_kind(const struct cni_args *a, const json_t *o, struct ipam *ip,
		     struct cni_err *err)
{
	const json_t *t = json_object_get(o, "type");
	const char *type = json_string_value(t);
	bool lenient = a->command == CNI_CMD_DEL || a->command == CNI_CMD_GC;

	if (!t || json_is_null(t) || (type && !*type))
		return 0; /* L2 only */
	if (!type)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "ipam.type must be a string");
	if ((size_t)snprintf(ip->type, sizeof(ip->type), "%s", type) >= sizeof(ip->type) ||
	    strchr(type, '/'))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "invalid ipam.type \"%.64s\"", type);
	if (strcmp(type, "host-local") != 0) {
		ip->kind = IPAM_DELEGATED;
		return 0;
	}
	ip->kind = IPAM_HOST_LOCAL;
	return ipam_config_parse(a, o, lenient, &ip->hl, err);
}

int ipam_open(const struct cni_args *a, struct ipam **ret, struct cni_err *err)
{
	const json_t *o = json_object_get(a->conf, "ipam");
	struct ipam *ip;
	int r;

	if (o && !json_is_null(o) && !json_is_object(o))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "ipam must be a JSON object");
	ip = calloc(1, sizeof(*ip));
	if (!ip)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	r = json_is_object(o) ? open_kind(a, o, ip, err) : 0;
	if (r < 0) {
		ipam_close(ip);
		return r;
	}
	*ret = ip;
	return 0;
}

void ipam_close(struct ipam *ipam)
{
	if (!ipam)
		return;
	ipam_config_free(ipam->hl);
	free(ipam);
}

bool ipam_enabled(const struct ipam *ipam)
{
	return ipam && ipam->kind != IPAM_DISABLED;
}

const char *ipam_type(const struct ipam *ipam)
{
	return ipam_enabled(ipam) ? ipam->type : NULL;
}

int ipam_subnets(const struct ipam *ipam, struct inet_prefix *ret, size_t max)
{
	size_t n = 0;

	if (!ipam_enabled(ipam))
		return 0;
	if (ipam->kind != IPAM_HOST_LOCAL)
		return -ENOTSUP;
	for (size_t i = 0; i < ipam->hl->n_sets; i++)
		for (size_t k = 0; k < ipam->hl->sets[i].n && n < max; k++)
			ret[n++] = ipam->hl->sets[i].r[k].subnet;
	return (int)n;
}

/* A delegate's result appended to res, like the in-process path does. */
static int add_delegated(struct ipam *ipam, const struct cni_args *a, struct cni_result *res,
			 struct cni_err *err)
{
	_cleanup_result_ struct cni_result *got = cni_result_new();
	int r;

	if (!got)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	r = cni_delegate(a, ipam->type, CNI_CMD_ADD, got, err);
	for (size_t i = 0; r >= 0 && i < got->n_ips; i++)
		r = cni_result_add_ip(res, &got->ips[i].address, &got->ips[i].gateway, -1, err);
	for (size_t i = 0; r >= 0 && i < got->n_routes; i++) {
		r = cni_result_add_route(res, &got->routes[i].dst, &got->routes[i].gw, err);
		if (r >= 0)
			res->routes[r] = got->routes[i];
	}
	if (r >= 0 && got->dns && !res->dns)
		res->dns = TAKE_PTR(got->dns);
	return r < 0 ? r : 0;
}

int ipam_add(struct ipam *ipam, const struct cni_args *a, struct cni_result *res,
	     struct cni_err *err)
{
	switch (ipam ? ipam->kind : IPAM_DISABLED) {
	case IPAM_HOST_LOCAL:
		return ipam_hostlocal_add(ipam->hl, a, res, err);
	case IPAM_DELEGATED:
		return add_delegated(ipam, a, res, err);
	default:
		return 0;
	}
}

int ipam_del(struct ipam *ipam, const struct cni_args *a, const struct ipam_empty_hook *on_empty,
	     struct cni_err *err)
{
	switch (ipam ? ipam->kind : IPAM_DISABLED) {
	case IPAM_HOST_LOCAL:
		return ipam_hostlocal_del(ipam->hl, a, on_empty, err);
	case IPAM_DELEGATED:
		return cni_delegate(a, ipam->type, CNI_CMD_DEL, NULL, err);
	default:
		return 0;
	}
}

int ipam_check(struct ipam *ipam, const struct cni_args *a, struct cni_err *err)
{
	switch (ipam ? ipam->kind : IPAM_DISABLED) {
	case IPAM_HOST_LOCAL:
		return ipam_hostlocal_check(ipam->hl, a, err);
	case IPAM_DELEGATED:
		return cni_delegate(a, ipam->type, CNI_CMD_CHECK, NULL, err);
	default:
		return 0;
	}
}

int ipam_status(struct ipam *ipam, const struct cni_args *a, struct cni_err *err)
{
	switch (ipam ? ipam->kind : IPAM_DISABLED) {
	case IPAM_HOST_LOCAL:
		return ipam_hostlocal_status(ipam->hl, a, err);
	case IPAM_DELEGATED:
		return cni_delegate(a, ipam->type, CNI_CMD_STATUS, NULL, err);
	default:
		return 0;
	}
}

int ipam_gc(struct ipam *ipam, const struct cni_args *a, const struct ipam_empty_hook *on_empty,
	    struct cni_err *err)
{
	switch (ipam ? ipam->kind : IPAM_DISABLED) {
	case IPAM_HOST_LOCAL:
		return ipam_hostlocal_gc(ipam->hl, a, on_empty, err);
	case IPAM_DELEGATED:
		return cni_delegate(a, ipam->type, CNI_CMD_GC, NULL, err);
	default:
		return 0;
	}
}

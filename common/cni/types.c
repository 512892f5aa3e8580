/* SPDX-License-Identifier: Apache-2.0 */
/* CNI versions, the result model and its encoding for every spec version
 * (docs/cni-contract.md §1.5-1.6). Decoding lives in result-decode.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/cni/types.h"

static const char *const supported_versions[] = {CNI_SUPPORTED_VERSIONS};

/* One dot-separated number: 1..4 digits, value below limit. Advances *s. */
static int version_part(const char **s, int limit)
{
	const char *p = *s;
	int v = 0;

	while (*p >= '0' && *p <= '9' && p - *s < 4)
		v = v * 10 + (*p++ - '0');
	if (p == *s || (*p >= '0' && *p <= '9') || v >= limit)
		return -EINVAL;
	*s = p;
	return v;
}

/* Like Go's version.ParseVersion: "M", "M.m" or "M.m.p", missing parts are 0. */
int cni_version_parse(const char *s, int *ret)
{
	int parts[3] = {0, 0, 0};
	int i;

	if (!s || !*s)
		return -EINVAL;
	for (i = 0; i < 3; i++) {
		parts[i] = version_part(&s, i == 0 ? 10000 : 100);
		if (parts[i] < 0)
			return -EINVAL;
		if (*s == '\0')
			break;
		if (*s++ != '.' || i == 2)
			return -EINVAL;
	}
	*ret = CNI_VERSION_NUM(parts[0], parts[1], parts[2]);
	return 0;
}

bool cni_version_supported(const char *s)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(supported_versions); i++)
		if (strcmp(s, supported_versions[i]) == 0)
			return true;
	return false;
}

int cni_version_cmp(const char *a, const char *b)
{
	int va = -1, vb = -1;

	if (cni_version_parse(a, &va) < 0)
		va = -1;
	if (cni_version_parse(b, &vb) < 0)
		vb = -1;
	return (va > vb) - (va < vb);
}

size_t cni_versions_list(const char *const **ret)
{
	*ret = supported_versions;
	return ARRAY_SIZE(supported_versions);
}

/* ---- the model --------------------------------------------------------------------------- */

/* Only the header is set: an entry is initialised when it is added (the arrays are ~80 KiB,
 * mostly a path per interface; zeroing them cost every invocation ~20 page faults and ~100k
 * instructions, a tenth of a plugin's own work). */
static void result_clear(struct cni_result *r)
{
	memset(r->cni_version, 0, sizeof(r->cni_version));
	r->n_ifaces = r->n_ips = r->n_routes = 0;
	r->dns = NULL;
}

struct cni_result *cni_result_new(void)
{
	struct cni_result *r = malloc(sizeof(*r));

	if (r)
		result_clear(r);
	return r;
}

void cni_result_reset(struct cni_result *r)
{
	if (!r)
		return;
	json_decref(r->dns);
	result_clear(r);
}

void cni_result_free(struct cni_result *r)
{
	if (!r)
		return;
	json_decref(r->dns);
	free(r);
}

/* snprintf that reports truncation. */
static bool copy_str(char *dst, size_t len, const char *src)
{
	return (size_t)snprintf(dst, len, "%s", src ? src : "") < len;
}

int cni_result_add_iface(struct cni_result *r, const char *name, const char *mac,
			 const char *sandbox, struct cni_err *err)
{
	struct cni_iface *f;

	if (r->n_ifaces >= CNI_MAX_IFACES)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOSPC,
				   "result: too many interfaces (max %d)", CNI_MAX_IFACES);
	f = &r->ifaces[r->n_ifaces];
	memset(f, 0, sizeof(*f));
	if (!name || !*name || !copy_str(f->name, sizeof(f->name), name) ||
	    !copy_str(f->mac, sizeof(f->mac), mac) ||
	    !copy_str(f->sandbox, sizeof(f->sandbox), sandbox)) {
		memset(f, 0, sizeof(*f));
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL,
				   "result: invalid interface \"%s\" (empty or too long field)",
				   name ? name : "");
	}
	return (int)r->n_ifaces++;
}

int cni_result_add_ip(struct cni_result *r, const struct inet_prefix *address,
		      const struct inet_addr *gateway, int interface, struct cni_err *err)
{
	struct cni_ip *ip;

	if (r->n_ips >= CNI_MAX_IPS)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOSPC, "result: too many IPs (max %d)",
				   CNI_MAX_IPS);
	if (!address || !inet_addr_is_set(&address->addr) || interface < -1 ||
	    (gateway && gateway->family && gateway->family != address->addr.family))
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL,
				   "result: invalid IP entry (address unset, gateway of another "
				   "family or interface index < -1)");
	ip = &r->ips[r->n_ips];
	memset(ip, 0, sizeof(*ip));
	ip->address = *address;
	if (gateway)
		ip->gateway = *gateway;
	ip->interface = interface;
	return (int)r->n_ips++;
}

int cni_result_add_route(struct cni_result *r, const struct inet_prefix *dst,
			 const struct inet_addr *gw, struct cni_err *err)
{
	struct cni_route *rt;

	if (r->n_routes >= CNI_MAX_ROUTES)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOSPC,
				   "result: too many routes (max %d)", CNI_MAX_ROUTES);
	if (!dst || !inet_addr_is_set(&dst->addr))
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "result: route without dst");
	rt = &r->routes[r->n_routes];
	memset(rt, 0, sizeof(*rt));
	rt->dst = *dst;
	if (gw)
		rt->gw = *gw;
	rt->mtu = rt->advmss = rt->priority = rt->table = rt->scope = -1;
	return (int)r->n_routes++;
}

/* ---- encoding ------------------------------------------------------------------------------ */

/* json_object_set_new that also fails on a NULL value (allocation failure upstream). */
static int jset(json_t *o, const char *key, json_t *v)
{
	if (!v)
		return -1;
	return json_object_set_new(o, key, v);
}

static json_t *jaddr(const struct inet_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	return json_string(inet_addr_fmt(a, buf, sizeof(buf)));
}

static json_t *jprefix(const struct inet_prefix *p)
{
	char buf[INET_PREFIX_STRLEN];

	return json_string(inet_prefix_fmt(p, buf, sizeof(buf)));
}

static json_t *enc_route(const struct cni_route *rt, bool extras)
{
	_cleanup_json_ json_t *o = json_object();
	int bad = !o;

	if (bad)
		return NULL;
	bad |= jset(o, "dst", jprefix(&rt->dst));
	if (inet_addr_is_set(&rt->gw))
		bad |= jset(o, "gw", jaddr(&rt->gw));
	if (extras && rt->mtu >= 0)
		bad |= jset(o, "mtu", json_integer(rt->mtu));
	if (extras && rt->advmss >= 0)
		bad |= jset(o, "advmss", json_integer(rt->advmss));
	if (extras && rt->priority >= 0)
		bad |= jset(o, "priority", json_integer(rt->priority));
	if (extras && rt->table >= 0)
		bad |= jset(o, "table", json_integer(rt->table));
	if (extras && rt->scope >= 0)
		bad |= jset(o, "scope", json_integer(rt->scope));
	return bad ? NULL : TAKE_PTR(o);
}

/* Non-empty string array member, copied. */
static int dns_copy_array(json_t *dst, const json_t *src, const char *key)
{
	json_t *v = json_object_get(src, key);

	if (!json_is_array(v) || json_array_size(v) == 0)
		return 0;
	return jset(dst, key, json_deep_copy(v));
}

/* The four DNS keys of r->dns that carry a value; an empty object when none do. */
static json_t *enc_dns(const json_t *dns)
{
	_cleanup_json_ json_t *o = json_object();
	const json_t *domain = json_object_get(dns, "domain");
	int bad = !o;

	if (bad)
		return NULL;
	bad |= dns_copy_array(o, dns, "nameservers");
	if (json_is_string(domain) && json_string_length(domain) > 0)
		bad |= jset(o, "domain", json_deep_copy(domain));
	bad |= dns_copy_array(o, dns, "search");
	bad |= dns_copy_array(o, dns, "options");
	return bad ? NULL : TAKE_PTR(o);
}

/* 0.1.0 / 0.2.0 "ip4" or "ip6" object: {ip, gateway, routes (dst/gw only, same family)}. */
static json_t *enc_020_ipconfig(const struct cni_result *r, const struct cni_ip *ip)
{
	_cleanup_json_ json_t *o = json_object();
	_cleanup_json_ json_t *routes = json_array();
	int bad = !o || !routes;

	if (bad)
		return NULL;
	bad |= jset(o, "ip", jprefix(&ip->address));
	if (inet_addr_is_set(&ip->gateway))
		bad |= jset(o, "gateway", jaddr(&ip->gateway));
	for (size_t i = 0; i < r->n_routes; i++)
		if (r->routes[i].dst.addr.family == ip->address.addr.family)
			bad |= json_array_append_new(routes, enc_route(&r->routes[i], false));
	if (json_array_size(routes) > 0)
		bad |= jset(o, "routes", TAKE_PTR(routes));
	return bad ? NULL : TAKE_PTR(o);
}

static int encode_020(const struct cni_result *r, const char *version, json_t **ret,
		      struct cni_err *err)
{
	_cleanup_json_ json_t *o = json_object();
	const struct cni_ip *ip4 = NULL, *ip6 = NULL;
	int bad = !o;

	for (size_t i = 0; i < r->n_ips; i++) {
		if (!ip4 && r->ips[i].address.addr.family == AF_INET)
			ip4 = &r->ips[i];
		if (!ip6 && r->ips[i].address.addr.family == AF_INET6)
			ip6 = &r->ips[i];
	}
	if (!ip4 && !ip6)
		return cni_err_setd(err, CNI_ERR_INTERNAL, 0,
				    "a 0.1.0/0.2.0 result needs at least one IP address; use "
				    "cniVersion 0.3.0 or later for a result without IPs",
				    "cannot convert: no valid IP addresses");
	if (bad)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "encode result");
	bad |= jset(o, "cniVersion", json_string(version));
	if (ip4)
		bad |= jset(o, "ip4", enc_020_ipconfig(r, ip4));
	if (ip6)
		bad |= jset(o, "ip6", enc_020_ipconfig(r, ip6));
	bad |= jset(o, "dns", enc_dns(r->dns));
	if (bad)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "encode result");
	*ret = TAKE_PTR(o);
	return 0;
}

static json_t *enc_iface(const struct cni_iface *f, int ver)
{
	_cleanup_json_ json_t *o = json_object();
	bool v11 = ver >= CNI_VERSION_NUM(1, 1, 0);
	int bad = !o;

	if (bad)
		return NULL;
	bad |= jset(o, "name", json_string(f->name));
	if (f->mac[0])
		bad |= jset(o, "mac", json_string(f->mac));
	if (v11 && f->mtu > 0)
		bad |= jset(o, "mtu", json_integer(f->mtu));
	if (f->sandbox[0])
		bad |= jset(o, "sandbox", json_string(f->sandbox));
	if (v11 && f->socket_path[0])
		bad |= jset(o, "socketPath", json_string(f->socket_path));
	if (v11 && f->pci_id[0])
		bad |= jset(o, "pciID", json_string(f->pci_id));
	return bad ? NULL : TAKE_PTR(o);
}

static json_t *enc_ip(const struct cni_ip *ip, int ver)
{
	_cleanup_json_ json_t *o = json_object();
	int bad = !o;

	if (bad)
		return NULL;
	if (ver < CNI_VERSION_NUM(1, 0, 0))
		bad |= jset(o, "version",
			    json_string(ip->address.addr.family == AF_INET6 ? "6" : "4"));
	if (ip->interface >= 0)
		bad |= jset(o, "interface", json_integer(ip->interface));
	bad |= jset(o, "address", jprefix(&ip->address));
	if (inet_addr_is_set(&ip->gateway))
		bad |= jset(o, "gateway", jaddr(&ip->gateway));
	return bad ? NULL : TAKE_PTR(o);
}

/* Array of n encoded items; NULL (and *bad set) on allocation failure, NULL when n == 0. */
#define ENC_LIST(items, n, enc, ...)                                                               \
	({                                                                                         \
		json_t *_a = (n) ? json_array() : NULL;                                            \
		for (size_t _i = 0; _a && _i < (n); _i++)                                          \
			if (json_array_append_new(_a, enc(&(items)[_i], __VA_ARGS__)) < 0) {       \
				json_decref(_a);                                                   \
				_a = NULL;                                                         \
			}                                                                          \
		_a;                                                                                \
	})

static int encode_current(const struct cni_result *r, const char *version, int ver, json_t **ret,
			  struct cni_err *err)
{
	_cleanup_json_ json_t *o = json_object();
	_cleanup_json_ json_t *dns = enc_dns(r->dns);
	int bad = !o || !dns;

	if (bad)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "encode result");
	bad |= jset(o, "cniVersion", json_string(version));
	if (r->n_ifaces)
		bad |= jset(o, "interfaces", ENC_LIST(r->ifaces, r->n_ifaces, enc_iface, ver));
	if (r->n_ips)
		bad |= jset(o, "ips", ENC_LIST(r->ips, r->n_ips, enc_ip, ver));
	if (r->n_routes)
		bad |= jset(o, "routes", ENC_LIST(r->routes, r->n_routes, enc_route, true));
	/* Go's types040 always prints "dns" (a struct), types100 drops it when empty. */
	if (ver < CNI_VERSION_NUM(1, 0, 0) || json_object_size(dns) > 0)
		bad |= jset(o, "dns", TAKE_PTR(dns));
	if (bad)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "encode result");
	*ret = TAKE_PTR(o);
	return 0;
}

int cni_result_encode(const struct cni_result *r, const char *version, json_t **ret,
		      struct cni_err *err)
{
	int ver;

	if (!version || !*version)
		version = r->cni_version[0] ? r->cni_version : CNI_VERSION_LATEST;
	if (!cni_version_supported(version) || cni_version_parse(version, &ver) < 0)
		return cni_err_set(err, CNI_ERR_VERSION, 0,
				   "cannot encode result as cniVersion \"%s\": unsupported version",
				   version);
	if (ver < CNI_VERSION_NUM(0, 3, 0))
		return encode_020(r, version, ret, err);
	return encode_current(r, version, ver, ret, err);
}

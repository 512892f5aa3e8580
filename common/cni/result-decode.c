/* SPDX-License-Identifier: Apache-2.0 */
/* Decoding a CNI result of any version (prevResult, a delegated IPAM's answer) into the model.
 * Tolerant where the spec asks runtimes to be (missing "interfaces", "interface": -1 or absent,
 * missing cniVersion); strict about shapes: anything else is code 6 naming the field. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/cni/types.h"

#define DEC_ERR(err, ...) cni_err_set(err, CNI_ERR_DECODE, 0, __VA_ARGS__)

/* Member of obj, NULL when absent or JSON null. */
static json_t *member(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

static int dec_str(const json_t *obj, const char *key, const char *where, bool required, char *buf,
		   size_t len, struct cni_err *err)
{
	const json_t *v = member(obj, key);

	if (!v) {
		if (required)
			return DEC_ERR(err, "%s: missing \"%s\"", where, key);
		return 0;
	}
	if (!json_is_string(v))
		return DEC_ERR(err, "%s.%s: expected a string", where, key);
	if (json_string_length(v) >= len)
		return DEC_ERR(err, "%s.%s: \"%.64s\" is too long (max %zu characters)", where, key,
			       json_string_value(v), len - 1);
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int dec_int(const json_t *obj, const char *key, const char *where, int min, int max,
		   int *ret, struct cni_err *err)
{
	const json_t *v = member(obj, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return DEC_ERR(err, "%s.%s: expected an integer in [%d, %d]", where, key, min, max);
	*ret = (int)json_integer_value(v);
	return 0;
}

/* An address (gateway, gw): absent or "" leaves *ret unset. */
static int dec_addr(const json_t *obj, const char *key, const char *where, struct inet_addr *ret,
		    struct cni_err *err)
{
	char buf[INET6_ADDRSTRLEN + 1] = "";
	int r = dec_str(obj, key, where, false, buf, sizeof(buf), err);

	if (r < 0 || !buf[0])
		return r;
	if (inet_addr_parse(buf, ret) < 0)
		return DEC_ERR(err, "%s.%s: \"%s\" is not an IP address", where, key, buf);
	return 0;
}

static int dec_prefix(const json_t *obj, const char *key, const char *where,
		      struct inet_prefix *ret, struct cni_err *err)
{
	char buf[INET_PREFIX_STRLEN + 1] = "";
	int r = dec_str(obj, key, where, true, buf, sizeof(buf), err);

	if (r < 0)
		return r;
	if (inet_prefix_parse(buf, ret) < 0)
		return DEC_ERR(err, "%s.%s: \"%s\" is not an address/prefix-length", where, key,
			       buf);
	return 0;
}

/* An optional array member: *ret NULL when absent. */
static int dec_array(const json_t *obj, const char *key, const char *where, size_t max,
		     json_t **ret, struct cni_err *err)
{
	json_t *v = member(obj, key);

	*ret = NULL;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return DEC_ERR(err, "%s%s\"%s\" must be an array", where, *where ? ": " : "", key);
	if (json_array_size(v) > max)
		return DEC_ERR(err, "%s%stoo many %s (%zu, max %zu)", where, *where ? ": " : "",
			       key, json_array_size(v), max);
	*ret = v;
	return 0;
}

static int dec_route(const json_t *o, const char *where, struct cni_route *rt, struct cni_err *err)
{
	int r;

	if (!json_is_object(o))
		return DEC_ERR(err, "%s: expected an object", where);
	memset(rt, 0, sizeof(*rt));
	rt->mtu = rt->advmss = rt->priority = rt->table = rt->scope = -1;
	r = dec_prefix(o, "dst", where, &rt->dst, err);
	if (r >= 0)
		r = dec_addr(o, "gw", where, &rt->gw, err);
	if (r >= 0 && rt->gw.family && rt->gw.family != rt->dst.addr.family)
		r = DEC_ERR(err, "%s: gw and dst are of different address families", where);
	if (r >= 0)
		r = dec_int(o, "mtu", where, 0, INT_MAX, &rt->mtu, err);
	if (r >= 0)
		r = dec_int(o, "advmss", where, 0, INT_MAX, &rt->advmss, err);
	if (r >= 0)
		r = dec_int(o, "priority", where, 0, INT_MAX, &rt->priority, err);
	if (r >= 0)
		r = dec_int(o, "table", where, 0, INT_MAX, &rt->table, err);
	if (r >= 0)
		r = dec_int(o, "scope", where, 0, 255, &rt->scope, err);
	return r;
}

/* Appends the routes of array `routes` (may be NULL). */
static int dec_routes(const json_t *routes, const char *where, struct cni_result *res,
		      struct cni_err *err)
{
	char w[64];
	size_t i;
	json_t *o;
	int r;

	json_array_foreach(routes, i, o)
	{
		if (res->n_routes >= CNI_MAX_ROUTES)
			return DEC_ERR(err, "too many routes (max %d)", CNI_MAX_ROUTES);
		snprintf(w, sizeof(w), "%sroutes[%zu]", where, i);
		r = dec_route(o, w, &res->routes[res->n_routes], err);
		if (r < 0)
			return r;
		res->n_routes++;
	}
	return 0;
}

static int dec_iface(const json_t *o, const char *where, struct cni_iface *f, struct cni_err *err)
{
	int r;

	if (!json_is_object(o))
		return DEC_ERR(err, "%s: expected an object", where);
	memset(f, 0, sizeof(*f));
	r = dec_str(o, "name", where, true, f->name, sizeof(f->name), err);
	if (r >= 0)
		r = dec_str(o, "mac", where, false, f->mac, sizeof(f->mac), err);
	if (r >= 0)
		r = dec_int(o, "mtu", where, 0, INT_MAX, &f->mtu, err);
	if (r >= 0)
		r = dec_str(o, "sandbox", where, false, f->sandbox, sizeof(f->sandbox), err);
	if (r >= 0)
		r = dec_str(o, "socketPath", where, false, f->socket_path, sizeof(f->socket_path),
			    err);
	if (r >= 0)
		r = dec_str(o, "pciID", where, false, f->pci_id, sizeof(f->pci_id), err);
	return r;
}

static int dec_ip(const json_t *o, const char *where, size_t n_ifaces, struct cni_ip *ip,
		  struct cni_err *err)
{
	char version[4] = "";
	int r;

	if (!json_is_object(o))
		return DEC_ERR(err, "%s: expected an object", where);
	memset(ip, 0, sizeof(*ip));
	ip->interface = -1;
	r = dec_prefix(o, "address", where, &ip->address, err);
	if (r >= 0)
		r = dec_addr(o, "gateway", where, &ip->gateway, err);
	if (r >= 0 && ip->gateway.family && ip->gateway.family != ip->address.addr.family)
		r = DEC_ERR(err, "%s: gateway and address are of different address families",
			    where);
	if (r >= 0)
		r = dec_int(o, "interface", where, -1, INT_MAX, &ip->interface, err);
	if (r >= 0 && ip->interface >= 0 && (size_t)ip->interface >= n_ifaces)
		r = DEC_ERR(err, "%s.interface: index %d but the result has %zu interface(s)",
			    where, ip->interface, n_ifaces);
	/* "version" (0.3.x/0.4.0) is recomputed from the address when encoding. */
	if (r >= 0)
		r = dec_str(o, "version", where, false, version, sizeof(version), err);
	return r;
}

/* 0.3.0 .. 1.1.0: interfaces, ips, routes. */
static int dec_current(const json_t *j, struct cni_result *res, struct cni_err *err)
{
	json_t *ifaces, *ips, *routes, *o;
	char w[64];
	size_t i;
	int r;

	r = dec_array(j, "interfaces", "", CNI_MAX_IFACES, &ifaces, err);
	if (r >= 0)
		r = dec_array(j, "ips", "", CNI_MAX_IPS, &ips, err);
	if (r >= 0)
		r = dec_array(j, "routes", "", CNI_MAX_ROUTES, &routes, err);
	if (r < 0)
		return r;
	json_array_foreach(ifaces, i, o)
	{
		snprintf(w, sizeof(w), "interfaces[%zu]", i);
		r = dec_iface(o, w, &res->ifaces[i], err);
		if (r < 0)
			return r;
		res->n_ifaces++;
	}
	json_array_foreach(ips, i, o)
	{
		snprintf(w, sizeof(w), "ips[%zu]", i);
		r = dec_ip(o, w, res->n_ifaces, &res->ips[i], err);
		if (r < 0)
			return r;
		res->n_ips++;
	}
	return dec_routes(routes, "", res, err);
}

/* 0.1.0 / 0.2.0: "ip4" / "ip6" = {ip, gateway, routes}. */
static int dec_020_ipconfig(const json_t *j, const char *key, int family, struct cni_result *res,
			    struct cni_err *err)
{
	const json_t *o = member(j, key);
	struct cni_ip *ip = &res->ips[res->n_ips];
	char where[8];
	json_t *routes;
	int r;

	if (!o)
		return 0;
	if (!json_is_object(o))
		return DEC_ERR(err, "\"%s\" must be an object", key);
	memset(ip, 0, sizeof(*ip));
	ip->interface = -1;
	r = dec_prefix(o, "ip", key, &ip->address, err);
	if (r >= 0 && ip->address.addr.family != family)
		r = DEC_ERR(err, "%s.ip: address of the wrong family", key);
	if (r >= 0)
		r = dec_addr(o, "gateway", key, &ip->gateway, err);
	if (r >= 0 && ip->gateway.family && ip->gateway.family != family)
		r = DEC_ERR(err, "%s.gateway: address of the wrong family", key);
	if (r < 0)
		return r;
	res->n_ips++;
	snprintf(where, sizeof(where), "%s.", key);
	r = dec_array(o, "routes", key, CNI_MAX_ROUTES, &routes, err);
	if (r >= 0)
		r = dec_routes(routes, where, res, err);
	return r;
}

static int dec_string_array(const json_t *dns, const char *key, struct cni_err *err)
{
	const json_t *v = member(dns, key), *s;
	size_t i;

	if (!v)
		return 0;
	if (!json_is_array(v))
		return DEC_ERR(err, "dns.%s: expected an array of strings", key);
	json_array_foreach(v, i, s) if (!json_is_string(s)) return DEC_ERR(
		err, "dns.%s[%zu]: expected a string", key, i);
	return 0;
}

static bool dns_is_empty(const json_t *dns)
{
	static const char *const keys[] = {"nameservers", "domain", "search", "options"};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const json_t *v = member(dns, keys[i]);

		if ((json_is_array(v) && json_array_size(v)) ||
		    (json_is_string(v) && json_string_length(v)))
			return false;
	}
	return true;
}

/* Validates the dns object; keeps a copy only when it carries something. */
static int dec_dns(const json_t *j, struct cni_result *res, struct cni_err *err)
{
	const json_t *dns = member(j, "dns"), *domain;
	int r;

	if (!dns)
		return 0;
	if (!json_is_object(dns))
		return DEC_ERR(err, "\"dns\" must be an object");
	domain = member(dns, "domain");
	if (domain && !json_is_string(domain))
		return DEC_ERR(err, "dns.domain: expected a string");
	r = dec_string_array(dns, "nameservers", err);
	if (r >= 0)
		r = dec_string_array(dns, "search", err);
	if (r >= 0)
		r = dec_string_array(dns, "options", err);
	if (r < 0)
		return r;
	if (dns_is_empty(dns))
		return 0;
	res->dns = json_deep_copy(dns);
	if (!res->dns)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "decode result dns");
	return 0;
}

/* The result's version: its own "cniVersion", else the default, else 0.1.0. */
static int dec_version(const json_t *j, const char *default_version, struct cni_result *res,
		       int *ret_ver, struct cni_err *err)
{
	const json_t *v = member(j, "cniVersion");
	const char *s;

	if (v && !json_is_string(v))
		return DEC_ERR(err, "\"cniVersion\" must be a string");
	s = v ? json_string_value(v) : "";
	if (!*s)
		s = default_version && *default_version ? default_version : "0.1.0";
	if (!cni_version_supported(s) || cni_version_parse(s, ret_ver) < 0)
		return DEC_ERR(err, "unsupported result cniVersion \"%.32s\"", s);
	snprintf(res->cni_version, sizeof(res->cni_version), "%s", s);
	return 0;
}

int cni_result_decode(const json_t *j, const char *default_version, struct cni_result *ret,
		      struct cni_err *err)
{
	int ver, r;

	cni_result_reset(ret);
	if (!json_is_object(j))
		return DEC_ERR(err, "a CNI result must be a JSON object");
	r = dec_version(j, default_version, ret, &ver, err);
	if (r >= 0 && ver < CNI_VERSION_NUM(0, 3, 0)) {
		r = dec_020_ipconfig(j, "ip4", AF_INET, ret, err);
		if (r >= 0)
			r = dec_020_ipconfig(j, "ip6", AF_INET6, ret, err);
	} else if (r >= 0) {
		r = dec_current(j, ret, err);
	}
	if (r >= 0)
		r = dec_dns(j, ret, err);
	if (r < 0)
		cni_result_reset(ret);
	return r;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The attachment config (the bridge plugin's, embedded by host-gw and vxlan): every key of
 * the reference bridge with its defaults (docs/cni-contract.md §2.1). Unknown keys are
 * ignored like the reference's plain json.Unmarshal; so are runtimeConfig entries other than
 * "mac". */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "plugins/lib/podnet-internal.h"
#include "common/cni/conf.h"

static int parse_flags(const json_t *j, struct podnet_conf *c, struct cni_err *err)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{"isGateway", offsetof(struct podnet_conf, is_gw)},
		{"isDefaultGateway", offsetof(struct podnet_conf, is_default_gw)},
		{"forceAddress", offsetof(struct podnet_conf, force_address)},
		{"ipMasq", offsetof(struct podnet_conf, ip_masq)},
		{"hairpinMode", offsetof(struct podnet_conf, hairpin)},
		{"promiscMode", offsetof(struct podnet_conf, promisc)},
		{"portIsolation", offsetof(struct podnet_conf, port_isolation)},
		{"enabledad", offsetof(struct podnet_conf, enable_dad)},
		{"macspoofchk", offsetof(struct podnet_conf, macspoofchk)},
		{"disableContainerInterface", offsetof(struct podnet_conf, disable_ctr_iface)},
		{"preserveDefaultVlan", offsetof(struct podnet_conf, preserve_default_vlan)},
		{"ipv6LinkLocal", offsetof(struct podnet_conf, ipv6_link_local)},
	};
	int r;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		r = conf_bool(j, keys[i].key, CONF_OPTIONAL, (bool *)((char *)c + keys[i].off),
			      err);
		if (r < 0)
			return r;
	}
	if (c->is_default_gw)
		c->is_gw = true; /* isDefaultGateway implies isGateway */
	return 0;
}

static int parse_bridge_mtu(const json_t *j, struct podnet_conf *c, struct cni_err *err)
{
	int64_t mtu = 0;
	int r;

	snprintf(c->bridge, sizeof(c->bridge), "%s", PODNET_DEFAULT_BRIDGE);
	r = conf_str_buf(j, "bridge", CONF_OPTIONAL, c->bridge, sizeof(c->bridge), err);
	if (r < 0)
		return r;
	if (!c->bridge[0]) /* "" means the default, as in the reference */
		snprintf(c->bridge, sizeof(c->bridge), "%s", PODNET_DEFAULT_BRIDGE);
	if (!cni_valid_ifname(c->bridge))
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "invalid \"bridge\": \"%s\" is not a "
				   "valid interface name",
				   c->bridge);
	r = conf_int(j, "mtu", CONF_OPTIONAL, 0, 65535, &mtu, err);
	if (r < 0)
		return r;
	if (mtu && mtu < 68)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "invalid \"mtu\": %lld is below the minimum 68", (long long)mtu);
	c->mtu = (uint32_t)mtu;
	return 0;
}

static int trunk_int(const json_t *item, const char *key, bool *has, int *ret, struct cni_err *err)
{
	int64_t v = 0;
	const json_t *x = json_object_get(item, key);
	int r;

	*has = x && !json_is_null(x);
	if (!*has)
		return 0;
	r = conf_int(item, key, CONF_OPTIONAL, INT32_MIN, INT32_MAX, &v, err);
	*ret = (int)v;
	return r;
}

static int trunk_item(const json_t *item, struct podnet_conf *c, struct cni_err *err)
{
	bool has_min, has_max, has_id;
	int lo = 0, hi = 0, id = 0;

	if (!json_is_object(item))
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "invalid \"vlanTrunk\": expected objects");
	if (trunk_int(item, "minID", &has_min, &lo, err) < 0 ||
	    trunk_int(item, "maxID", &has_max, &hi, err) < 0 ||
	    trunk_int(item, "id", &has_id, &id, err) < 0)
		return -EINVAL;
	if (has_min != has_max)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "minID and maxID should be configured simultaneously, %s is "
				   "missing",
				   has_min ? "maxID" : "minID");
	if (has_min) {
		if (lo <= 0 || lo > PODNET_VLAN_MAX)
			return cni_err_set(err, CNI_ERR_CONFIG, 0,
					   "incorrect trunk minID parameter");
		if (hi <= 0 || hi > PODNET_VLAN_MAX)
			return cni_err_set(err, CNI_ERR_CONFIG, 0,
					   "incorrect trunk maxID parameter");
		if (hi < lo)
			return cni_err_set(err, CNI_ERR_CONFIG, 0,
					   "minID is greater than maxID in trunk parameter");
		for (int v = lo; v <= hi; v++)
			c->trunk[v / 8] |= (uint8_t)(1u << (v % 8));
		c->has_trunk = true;
	}
	if (has_id) {
		if (id <= 0 || id > PODNET_VLAN_MAX)
			return cni_err_set(err, CNI_ERR_CONFIG, 0, "incorrect trunk id parameter");
		c->trunk[id / 8] |= (uint8_t)(1u << (id % 8));
		c->has_trunk = true;
	}
	return 0;
}

static int parse_vlans(const json_t *j, struct podnet_conf *c, struct cni_err *err)
{
	json_t *trunk = NULL, *item;
	int64_t vlan = 0;
	size_t i;
	int r;

	r = conf_int(j, "vlan", CONF_OPTIONAL, INT32_MIN, INT32_MAX, &vlan, err);
	if (r < 0)
		return r;
	if (vlan < 0 || vlan > PODNET_VLAN_MAX)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "invalid VLAN ID %lld (must be between 0 and %d)",
				   (long long)vlan, PODNET_VLAN_MAX);
	c->vlan = (int)vlan;
	r = conf_array(j, "vlanTrunk", CONF_OPTIONAL, &trunk, err);
	if (r < 0 || !trunk)
		return r;
	json_array_foreach(trunk, i, item)
	{
		r = trunk_item(item, c, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* CNI_ARGS MAC= < args.cni.mac < runtimeConfig.mac: the later source wins. */
static const char *mac_source(const struct cni_args *a)
{
	const char *mac = cni_args_get(a, "MAC");
	const json_t *args = json_object_get(a->conf, "args");
	const json_t *rc = json_object_get(a->conf, "runtimeConfig");
	const json_t *v = json_object_get(json_object_get(args, "cni"), "mac");

	if (json_is_string(v) && json_string_length(v))
		mac = json_string_value(v);
	v = json_object_get(rc, "mac");
	if (json_is_string(v) && json_string_length(v))
		mac = json_string_value(v);
	return mac && *mac ? mac : NULL;
}

static int parse_mac(const struct cni_args *a, struct podnet_conf *c, struct cni_err *err)
{
	const char *mac = mac_source(a);

	if (!mac)
		return 0;
	if (conf_parse_mac(mac, c->mac) < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "invalid MAC address \"%s\"", mac);
	if (c->mac[0] & 1)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "invalid MAC address \"%s\": a multicast address", mac);
	c->has_mac = true;
	return 0;
}

static int parse_dns(const json_t *j, struct podnet_conf *c, struct cni_err *err)
{
	json_t *dns = NULL;
	const json_t *dom;
	int r = conf_object(j, "dns", CONF_OPTIONAL, &dns, err);

	if (r < 0 || !dns)
		return r;
	/* Like the reference's dnsConfSet(): an empty object does not replace IPAM's DNS. */
	dom = json_object_get(dns, "domain");
	if (json_is_array(json_object_get(dns, "nameservers")) ||
	    json_is_array(json_object_get(dns, "search")) ||
	    json_is_array(json_object_get(dns, "options")) ||
	    (json_is_string(dom) && json_string_length(dom)))
		c->dns = json_incref(dns);
	return 0;
}

static size_t digits(int v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* ADD and CHECK refuse what the reference's cmdAdd refuses; DEL/GC/STATUS of the same config
 * must still clean up. */
static int validate_add(const struct cni_args *a, struct podnet_conf *c, struct cni_err *err)
{
	const char *backend = NULL;
	int r;

	if (c->hairpin && c->promisc)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "cannot set hairpin mode and promiscuous mode at the same time");
	if (ipam_enabled(c->ipam) && c->disable_ctr_iface)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "cannot use IPAM when DisableContainerInterface flag is set");
	/* Refused before any side effect: an L2-only result has no 0.1.0/0.2.0 form. */
	if (!ipam_enabled(c->ipam) && cni_version_cmp(a->cni_version, "0.3.0") < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, 0,
				   "cannot convert: no valid IP addresses");
	r = conf_str(a->conf, "ipMasqBackend", CONF_OPTIONAL, &backend, err);
	if (r < 0)
		return r;
	if (backend && strcmp(backend, "iptables") != 0 && strcmp(backend, "nftables") != 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "unknown ipmasq backend \"%s\"",
				   backend);
	if (c->is_gw && c->vlan && strlen(c->bridge) + 1 + digits(c->vlan) >= IFNAMSIZ)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "bridge name \"%s\" too long for its vlan gateway interface "
				   "\"%s.%d\"",
				   c->bridge, c->bridge, c->vlan);
	return parse_mac(a, c, err);
}

int podnet_parse(const struct cni_args *a, struct podnet_conf *c, struct cni_err *err)
{
	int r;

	r = parse_flags(a->conf, c, err);
	if (r >= 0)
		r = parse_bridge_mtu(a->conf, c, err);
	if (r >= 0)
		r = parse_vlans(a->conf, c, err);
	if (r >= 0)
		r = parse_dns(a->conf, c, err);
	if (r >= 0)
		r = ipam_open(a, &c->ipam, err);
	if (r >= 0 && (a->command == CNI_CMD_ADD || a->command == CNI_CMD_CHECK))
		r = validate_add(a, c, err);
	return r;
}

void podnet_conf_free(struct podnet_conf *c)
{
	json_decref(c->dns);
	c->dns = NULL;
	ipam_close(c->ipam);
	c->ipam = NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* jansson getters for plugin configs. Every failure is code 7 and names the key and, where
 * there is one, the offending value as JSON: `invalid "mtu": 70000 is out of range [68, 65535]`.
 * JSON null counts as absent (like Go's encoding/json). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/cni/conf.h"

/* Compact JSON text of v, cut to fit buf with "..." appended when cut. */
static const char *conf_repr(const json_t *v, char *buf, size_t len)
{
	_cleanup_free_ char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (!s)
		return "?";
	if (strlen(s) < len)
		memcpy(buf, s, strlen(s) + 1);
	else
		snprintf(buf, len, "%.*s...", (int)len - 4, s);
	return buf;
}

static int conf_bad(const char *key, const json_t *v, const char *what, struct cni_err *err)
{
	char buf[72];

	return cni_err_set(err, CNI_ERR_CONFIG, 0, "invalid \"%s\": %s, got %s", key, what,
			   conf_repr(v, buf, sizeof(buf)));
}

/* The member, or NULL when absent (or null). A missing required key is an error. */
static int conf_get(const json_t *obj, const char *key, bool required, const json_t **ret,
		    struct cni_err *err)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	*ret = json_is_null(v) ? NULL : v;
	if (!*ret && required)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "missing required key \"%s\"", key);
	return 0;
}

int conf_bool(const json_t *obj, const char *key, bool required, bool *ret, struct cni_err *err)
{
	const json_t *v;
	int r = conf_get(obj, key, required, &v, err);

	if (r < 0 || !v)
		return r;
	if (json_is_boolean(v)) {
		*ret = json_is_true(v);
		return 0;
	}
	/* libcni's NetConf bools accept the strings too. */
	if (json_is_string(v) && strcasecmp(json_string_value(v), "true") == 0)
		*ret = true;
	else if (json_is_string(v) && strcasecmp(json_string_value(v), "false") == 0)
		*ret = false;
	else
		return conf_bad(key, v, "expected true or false", err);
	return 0;
}

int conf_str(const json_t *obj, const char *key, bool required, const char **ret,
	     struct cni_err *err)
{
	const json_t *v;
	int r = conf_get(obj, key, required, &v, err);

	if (r < 0 || !v)
		return r;
	if (!json_is_string(v))
		return conf_bad(key, v, "expected a string", err);
	if (required && json_string_length(v) == 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "invalid \"%s\": must not be empty",
				   key);
	*ret = json_string_value(v);
	return 0;
}

int conf_str_buf(const json_t *obj, const char *key, bool required, char *buf, size_t len,
		 struct cni_err *err)
{
	const char *s = NULL;
	int r = conf_str(obj, key, required, &s, err);

	if (r < 0 || !s)
		return r;
	if (strlen(s) >= len)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "invalid \"%s\": \"%.64s%s\" is longer than %zu characters", key,
				   s, strlen(s) > 64 ? "..." : "", len - 1);
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

int conf_int(const json_t *obj, const char *key, bool required, int64_t min, int64_t max,
	     int64_t *ret, struct cni_err *err)
{
	const json_t *v;
	int64_t n;
	int r = conf_get(obj, key, required, &v, err);

	if (r < 0 || !v)
		return r;
	if (!json_is_integer(v))
		return conf_bad(key, v, "expected an integer", err);
	n = json_integer_value(v);
	if (n < min || n > max)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "invalid \"%s\": %lld is out of range [%lld, %lld]", key,
				   (long long)n, (long long)min, (long long)max);
	*ret = n;
	return 0;
}

int conf_addr(const json_t *obj, const char *key, bool required, struct inet_addr *ret,
	      struct cni_err *err)
{
	const json_t *v;
	int r = conf_get(obj, key, required, &v, err);

	if (r < 0 || !v)
		return r;
	if (!json_is_string(v) || inet_addr_parse(json_string_value(v), ret) < 0)
		return conf_bad(key, v, "expected an IPv4 or IPv6 address", err);
	return 0;
}

int conf_prefix(const json_t *obj, const char *key, bool required, struct inet_prefix *ret,
		struct cni_err *err)
{
	const json_t *v;
	int r = conf_get(obj, key, required, &v, err);

	if (r < 0 || !v)
		return r;
	if (!json_is_string(v) || inet_prefix_parse(json_string_value(v), ret) < 0)
		return conf_bad(key, v, "expected a CIDR (address/prefix-length)", err);
	return 0;
}

int conf_object(const json_t *obj, const char *key, bool required, json_t **ret,
		struct cni_err *err)
{
	const json_t *v;
	int r = conf_get(obj, key, required, &v, err);

	*ret = NULL;
	if (r < 0 || !v)
		return r;
	if (!json_is_object(v))
		return conf_bad(key, v, "expected an object", err);
	*ret = (json_t *)v;
	return 0;
}

int conf_array(const json_t *obj, const char *key, bool required, json_t **ret, struct cni_err *err)
{
	const json_t *v;
	int r = conf_get(obj, key, required, &v, err);

	*ret = NULL;
	if (r < 0 || !v)
		return r;
	if (!json_is_array(v))
		return conf_bad(key, v, "expected an array", err);
	*ret = (json_t *)v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int conf_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t tmp[6];

	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		tmp[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, tmp, sizeof(tmp));
	return 0;
}

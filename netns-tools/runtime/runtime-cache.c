/* SPDX-License-Identifier: Apache-2.0 */
/* The libcni result cache: <cacheDir>/results/<net>-<containerID>-<ifname>, one JSON object
 * {"kind":"cniCacheV1","containerId","config"(base64),"ifName","networkName","netns",
 *  "cniArgs":[[k,v],..],"capabilityArgs":{..},"result":{..}}, mode 0600. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "netns-tools/runtime/runtime.h"

#define CACHE_KIND "cniCacheV1"
#define CACHE_MAX  (4u << 20)

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *rt_base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = b64[(v >> 18) & 63];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

int rt_base64_decode(const char *s, char **ret, size_t *ret_len)
{
	size_t n = strlen(s), len = 0;
	_cleanup_free_ char *out = NULL;

	if (n % 4)
		return -EINVAL;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		int pad = (s[i + 3] == '=') + (s[i + 2] == '=');

		if (pad && i + 4 != n)
			return -EINVAL;
		for (int k = 0; k < 4; k++) {
			v[k] = k >= 4 - pad ? 0 : b64_value(s[i + k]);
			if (v[k] < 0)
				return -EINVAL;
		}
		if (pad == 1 && s[i + 2] == '=')
			return -EINVAL; /* "x=y=" */
		out[len++] = (char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[len++] = (char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[len++] = (char)((v[2] & 3) << 6 | v[3]);
	}
	out[len] = '\0';
	*ret_len = len;
	*ret = TAKE_PTR(out);
	return 0;
}

static const char *cache_dir(const struct rt *rt)
{
	const char *env = getenv("WEFT_CNI_CACHE_DIR");

	if (rt && rt->cache_dir && *rt->cache_dir)
		return rt->cache_dir;
	return env && *env ? env : RT_DEFAULT_CACHE_DIR;
}

int rt_cache_path(const struct rt *rt, const char *network, const char *container_id,
		  const char *ifname, char *buf, size_t len, struct cni_err *err)
{
	if (!network || !*network || !container_id || !*container_id || !ifname || !*ifname)
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL,
				   "cache file path requires network name (\"%s\"), container ID "
				   "(\"%s\"), and interface name (\"%s\")",
				   network ? network : "", container_id ? container_id : "",
				   ifname ? ifname : "");
	if (snprintf(buf, len, "%s/results/%s-%s-%s", cache_dir(rt), network, container_id,
		     ifname) >= (int)len)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENAMETOOLONG, "cache file path");
	return 0;
}

/* CNI_ARGS "K=V;K=V" -> [["K","V"],...] (libcni RuntimeConf.Args). NULL when empty. */
static json_t *args_pairs(const char *cni_args)
{
	_cleanup_free_ char *copy = NULL;
	json_t *arr;
	char *save = NULL;

	if (!cni_args || !*cni_args)
		return NULL;
	copy = strdup(cni_args);
	arr = json_array();
	if (!copy || !arr) {
		json_decref(arr);
		return NULL;
	}
	for (char *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(tok, '=');

		if (eq)
			*eq = '\0';
		json_array_append_new(arr, json_pack("[ss]", tok, eq ? eq + 1 : ""));
	}
	return arr;
}

static json_t *cache_json(const struct rt_netconf *nc, const struct rt_attach *a,
			  const json_t *result)
{
	_cleanup_free_ char *config = rt_base64_encode(nc->bytes, nc->len);
	json_t *o = json_object(), *pairs = args_pairs(a->cni_args);

	if (!o || !config) {
		json_decref(pairs);
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "kind", json_string(CACHE_KIND));
	json_object_set_new(o, "containerId", json_string(a->container_id));
	json_object_set_new(o, "config", json_string(config));
	json_object_set_new(o, "ifName", json_string(a->ifname));
	json_object_set_new(o, "networkName", json_string(nc->name));
	if (a->netns && *a->netns)
		json_object_set_new(o, "netns", json_string(a->netns));
	if (pairs)
		json_object_set_new(o, "cniArgs", pairs);
	if (a->cap_args && json_object_size(a->cap_args))
		json_object_set(o, "capabilityArgs", (json_t *)a->cap_args);
	if (result)
		json_object_set(o, "result", (json_t *)result);
	return o;
}

int rt_cache_write(const struct rt *rt, const struct rt_netconf *nc, const struct rt_attach *a,
		   const json_t *result, struct cni_err *err)
{
	_cleanup_json_ json_t *o = cache_json(nc, a, result);
	_cleanup_free_ char *s = NULL;
	char path[PATH_MAX], dir[PATH_MAX];
	int r;

	r = rt_cache_path(rt, nc->name, a->container_id, a->ifname, path, sizeof(path), err);
	if (r < 0)
		return r;
	if (!o || !(s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "encode cache entry");
	/* Like libcni (MkdirAll 0700): the cache dir and results/ are private. */
	r = fs_mkdir_p(cache_dir(rt), 0700);
	snprintf(dir, sizeof(dir), "%s/results", cache_dir(rt));
	if (r >= 0)
		r = fs_mkdir_p(dir, 0700);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "create cache dir %s", dir);
	r = fs_write_atomic(path, s, strlen(s), 0600);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "write cache %s", path);
	return 0;
}

void rt_cached_free(struct rt_cached *c)
{
	if (!c)
		return;
	free(c->container_id);
	free(c->ifname);
	free(c->network);
	free(c->netns);
	free(c->cni_args);
	free(c->config);
	json_decref(c->cap_args);
	json_decref(c->result);
	memset(c, 0, sizeof(*c));
}

void rt_cached_list_free(struct rt_cached *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		rt_cached_free(&list[i]);
	free(list);
}

static char *str_member(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return strdup(s ? s : "");
}

/* [["K","V"],..] -> "K=V;K=V" */
static int join_args(const json_t *pairs, char **ret)
{
	size_t i, len = 1;
	const json_t *p;
	char *s;

	*ret = NULL;
	if (!json_is_array(pairs) || !json_array_size(pairs))
		return 0;
	json_array_foreach(pairs, i, p)
	{
		if (!json_is_array(p) || json_array_size(p) != 2 ||
		    !json_is_string(json_array_get(p, 0)) || !json_is_string(json_array_get(p, 1)))
			return -EINVAL;
		len += json_string_length(json_array_get(p, 0)) +
		       json_string_length(json_array_get(p, 1)) + 2;
	}
	s = calloc(1, len);
	if (!s)
		return -ENOMEM;
	json_array_foreach(pairs, i, p)
	{
		if (i)
			strcat(s, ";");
		strcat(s, json_string_value(json_array_get(p, 0)));
		strcat(s, "=");
		strcat(s, json_string_value(json_array_get(p, 1)));
	}
	*ret = s;
	return 0;
}

static int cached_parse(const json_t *o, struct rt_cached *c)
{
	const char *config = json_string_value(json_object_get(o, "config"));
	int r;

	if (!json_is_object(o) ||
	    strcmp(json_string_value(json_object_get(o, "kind")) ?: "", CACHE_KIND) != 0)
		return -EINVAL;
	c->container_id = str_member(o, "containerId");
	c->ifname = str_member(o, "ifName");
	c->network = str_member(o, "networkName");
	c->netns = str_member(o, "netns");
	if (!c->container_id || !c->ifname || !c->network || !c->netns)
		return -ENOMEM;
	r = join_args(json_object_get(o, "cniArgs"), &c->cni_args);
	if (r < 0)
		return r;
	c->cap_args = json_incref(json_object_get(o, "capabilityArgs"));
	c->result = json_incref(json_object_get(o, "result"));
	if (config && rt_base64_decode(config, &c->config, &c->config_len) < 0)
		return -EINVAL;
	return 0;
}

static int read_cached_file(const char *path, struct rt_cached *ret)
{
	_cleanup_json_ json_t *o = NULL;
	struct stat st;
	int r;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > CACHE_MAX)
		return -EINVAL;
	o = json_load_file(path, 0, NULL);
	if (!o)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	r = cached_parse(o, ret);
	if (r < 0)
		rt_cached_free(ret);
	return r;
}

int rt_cache_read(const struct rt *rt, const char *network, const char *container_id,
		  const char *ifname, struct rt_cached *ret, struct cni_err *err)
{
	char path[PATH_MAX];
	int r;

	r = rt_cache_path(rt, network, container_id, ifname, path, sizeof(path), err);
	if (r < 0)
		return r;
	r = read_cached_file(path, ret);
	if (r == -ENOENT)
		return r;
	if (r < 0)
		return cni_err_set(err, CNI_ERR_DECODE, -r,
				   "failed to get network \"%s\" cached result from %s", network,
				   path);
	return 0;
}

int rt_cache_del(const struct rt *rt, const char *network, const char *container_id,
		 const char *ifname)
{
	char path[PATH_MAX];

	if (rt_cache_path(rt, network, container_id, ifname, path, sizeof(path), NULL) < 0)
		return 0;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool cached_wanted(const struct rt_cached *c, const char *network, const char *cid)
{
	if (!*c->ifname || !*c->network)
		return false;
	if (network && strcmp(c->network, network) != 0)
		return false;
	return !cid || strcmp(c->container_id, cid) == 0;
}

/* File names of <dir>, sorted; temp files of writers in flight are skipped. */
static int list_names(const char *dir, char ***ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	char **names = NULL, **tmp;
	struct dirent *de;
	size_t n = 0;

	*ret = NULL;
	*ret_n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp."))
			continue;
		tmp = realloc(names, (n + 1) * sizeof(*names));
		if (!tmp)
			break;
		names = tmp;
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	if (names)
		qsort(names, n, sizeof(*names), name_cmp);
	*ret = names;
	*ret_n = n;
	return 0;
}

int rt_cache_list(const struct rt *rt, const char *network, const char *container_id,
		  struct rt_cached **ret, size_t *ret_n, struct cni_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX * 2], **names = NULL;
	struct rt_cached *list = NULL, *tmp;
	size_t n_names = 0, n = 0;
	int r;

	snprintf(dir, sizeof(dir), "%s/results", cache_dir(rt));
	r = list_names(dir, &names, &n_names);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "read cache dir %s", dir);
	for (size_t i = 0; i < n_names; i++) {
		struct rt_cached c;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		free(names[i]);
		if (read_cached_file(path, &c) < 0)
			continue;
		if (!cached_wanted(&c, network, container_id)) {
			rt_cached_free(&c);
			continue;
		}
		tmp = realloc(list, (n + 1) * sizeof(*list));
		if (!tmp) {
			rt_cached_free(&c);
			continue;
		}
		list = tmp;
		list[n++] = c;
	}
	free(names);
	*ret = list;
	*ret_n = n;
	return 0;
}

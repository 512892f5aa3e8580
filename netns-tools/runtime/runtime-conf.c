/* SPDX-License-Identifier: Apache-2.0 */
/* Network configuration lists, loaded the way libcni's conf.go does (cni-spec.md §1.10). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cni/types.h"
#include "netns-tools/runtime/runtime.h"

/* Config files are small; this bounds what a broken or hostile file can make us read. */
#define RT_CONF_MAX (1u << 20)

void rt_netconf_free(struct rt_netconf *nc)
{
	if (!nc)
		return;
	free(nc->name);
	free(nc->cni_version);
	json_decref(nc->plugins);
	free(nc->bytes);
	free(nc->source);
	free(nc);
}

static int read_file(const char *path, char **ret, size_t *ret_len, struct cni_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return cni_err_set(err, CNI_ERR_IO, errno, "error reading %s", path);
	buf = malloc(RT_CONF_MAX + 1);
	if (!buf)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "error reading %s", path);
	while ((n = read(fd, buf + len, RT_CONF_MAX + 1 - len)) > 0) {
		len += (size_t)n;
		if (len > RT_CONF_MAX)
			return cni_err_set(err, CNI_ERR_IO, EFBIG, "error reading %s", path);
	}
	if (n < 0)
		return cni_err_set(err, CNI_ERR_IO, errno, "error reading %s", path);
	buf[len] = '\0';
	*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

/* libcni readBool: JSON bool, or "true"/"false" in any case. */
static int read_bool(const json_t *list, const char *key, bool *ret, struct cni_err *err)
{
	const json_t *v = json_object_get(list, key);
	const char *s;

	*ret = false;
	if (!v)
		return 0;
	if (json_is_boolean(v)) {
		*ret = json_is_true(v);
		return 0;
	}
	if (!json_is_string(v))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
				   "error parsing configuration list: invalid type for %s", key);
	s = json_string_value(v);
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0) {
		*ret = strcasecmp(s, "true") == 0;
		return 0;
	}
	return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
			   "error parsing configuration list: invalid value \"%s\" for %s", s, key);
}

/* Highest of cniVersion and cniVersions[] not newer than RT_MAX_VERSION. */
static int select_version(const json_t *list, const char *cni_version, char **ret,
			  struct cni_err *err)
{
	const json_t *vs = json_object_get(list, "cniVersions"), *v;
	const char *best = cni_version;
	int max, n, bestn = -1;
	size_t i;

	if (!vs) {
		*ret = strdup(cni_version);
		return *ret ? 0 : cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "cniVersion");
	}
	if (!json_is_array(vs))
		return cni_err_set(
			err, CNI_ERR_CONFIG, EINVAL,
			"error parsing configuration list: invalid type for cniVersions");
	cni_version_parse(RT_MAX_VERSION, &max);
	if (*cni_version) {
		if (cni_version_parse(cni_version, &n) < 0)
			return cni_err_set(
				err, CNI_ERR_CONFIG, EINVAL,
				"error parsing configuration list: invalid cniVersion %s",
				cni_version);
		if (n <= max)
			bestn = n;
		else
			best = "";
	}
	json_array_foreach(vs, i, v)
	{
		if (!json_is_string(v))
			return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
					   "error parsing configuration list: invalid type for "
					   "cniVersions index %zu",
					   i);
		if (cni_version_parse(json_string_value(v), &n) < 0)
			return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
					   "error parsing configuration list: invalid cniVersions "
					   "entry %s at index %zu",
					   json_string_value(v), i);
		if (n <= max && n > bestn) {
			bestn = n;
			best = json_string_value(v);
		}
	}
	/* Like libcni: when every candidate is too new, cniVersion stays as written. */
	*ret = strdup(bestn >= 0 ? best : cni_version);
	return *ret ? 0 : cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "cniVersion");
}

/* What libcni's PluginConf unmarshal insists on: a "type" string, string name/cniVersion,
 * capabilities a map of booleans, ipam an object with a string type. */
static int plugin_validate(const json_t *p, const char *where, struct cni_err *err)
{
	const json_t *type, *caps, *ipam, *v;
	const char *k;

	if (!json_is_object(p))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "%s: not a JSON object", where);
	type = json_object_get(p, "type");
	if (type && !json_is_string(type))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "%s: invalid 'type'", where);
	if (!type || !*json_string_value(type))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
				   "%s: error parsing configuration: missing 'type'", where);
	caps = json_object_get(p, "capabilities");
	if (caps && !json_is_object(caps))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "%s: invalid 'capabilities'",
				   where);
	json_object_foreach((json_t *)caps, k, v) if (!json_is_boolean(v)) return cni_err_set(
		err, CNI_ERR_CONFIG, EINVAL, "%s: capability '%s' is not a boolean", where, k);
	ipam = json_object_get(p, "ipam");
	if (ipam && (!json_is_object(ipam) || (json_object_get(ipam, "type") &&
					       !json_is_string(json_object_get(ipam, "type")))))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "%s: invalid 'ipam'", where);
	return 0;
}

static int list_header(const json_t *j, struct rt_netconf *nc, struct cni_err *err)
{
	const json_t *name = json_object_get(j, "name"), *ver = json_object_get(j, "cniVersion");
	int r;

	if (!json_is_object(j))
		return cni_err_set(err, CNI_ERR_DECODE, EINVAL,
				   "error parsing configuration list: not a JSON object");
	if (!name)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
				   "error parsing configuration list: no name");
	if (!json_is_string(name))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
				   "error parsing configuration list: invalid name type");
	if (ver && !json_is_string(ver))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
				   "error parsing configuration list: invalid cniVersion type");
	nc->name = strdup(json_string_value(name));
	if (!nc->name)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "name");
	r = select_version(j, ver ? json_string_value(ver) : "", &nc->cni_version, err);
	if (r >= 0)
		r = read_bool(j, "disableCheck", &nc->disable_check, err);
	if (r >= 0)
		r = read_bool(j, "disableGC", &nc->disable_gc, err);
	if (r >= 0)
		r = read_bool(j, "loadOnlyInlinedPlugins", &nc->load_only_inlined, err);
	return r;
}

static int list_plugins(const json_t *j, struct rt_netconf *nc, struct cni_err *err)
{
	const json_t *plugins = json_object_get(j, "plugins"), *p;
	char where[48];
	size_t i;
	int r;

	if (!plugins && nc->load_only_inlined)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
				   "error parsing configuration list: `loadOnlyInlinedPlugins` is "
				   "true, and no 'plugins' key");
	if (!plugins)
		return 0;
	if (!json_is_array(plugins))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
				   "error parsing configuration list: invalid 'plugins' type");
	if (json_array_size(plugins) == 0)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
				   "error parsing configuration list: no plugins in list");
	json_array_foreach(plugins, i, p)
	{
		snprintf(where, sizeof(where), "plugin config %zu", i);
		r = plugin_validate(p, where, err);
		if (r < 0)
			return r;
		if (json_array_append(nc->plugins, (json_t *)p) < 0)
			return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "plugins");
	}
	return 0;
}

int rt_netconf_from_bytes(const char *bytes, size_t len, struct rt_netconf **ret,
			  struct cni_err *err)
{
	_cleanup_netconf_ struct rt_netconf *nc = calloc(1, sizeof(*nc));
	_cleanup_json_ json_t *j = NULL;
	json_error_t jerr;
	int r;

	if (!nc)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "netconf");
	j = json_loadb(bytes, len, 0, &jerr);
	if (!j)
		return cni_err_setd(err, CNI_ERR_DECODE, EINVAL, jerr.text,
				    "error parsing configuration list: line %d column %d",
				    jerr.line, jerr.column);
	nc->plugins = json_array();
	nc->bytes = malloc(len + 1);
	if (!nc->plugins || !nc->bytes)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "netconf");
	memcpy(nc->bytes, bytes, len);
	nc->bytes[len] = '\0';
	nc->len = len;
	r = list_header(j, nc, err);
	if (r >= 0)
		r = list_plugins(j, nc, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(nc);
	return 0;
}

int rt_netconf_from_plugin_bytes(const char *bytes, size_t len, struct rt_netconf **ret,
				 struct cni_err *err)
{
	_cleanup_json_ json_t *p = NULL, *list = NULL;
	_cleanup_free_ char *s = NULL;
	const json_t *name, *ver;
	json_error_t jerr;
	int r;

	p = json_loadb(bytes, len, 0, &jerr);
	if (!p)
		return cni_err_setd(err, CNI_ERR_DECODE, EINVAL, jerr.text,
				    "error parsing configuration: line %d column %d", jerr.line,
				    jerr.column);
	r = plugin_validate(p, "network configuration", err);
	if (r < 0)
		return r;
	name = json_object_get(p, "name");
	ver = json_object_get(p, "cniVersion");
	list = json_pack("{s:O?,s:O?,s:[O]}", "name", name, "cniVersion", ver, "plugins", p);
	if (!list)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "wrap configuration");
	/* libcni marshals the wrapper with empty strings for a missing name or version. */
	if (!name)
		json_object_set_new(list, "name", json_string(""));
	if (!ver)
		json_object_set_new(list, "cniVersion", json_string(""));
	s = json_dumps(list, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "wrap configuration");
	return rt_netconf_from_bytes(s, strlen(s), ret, err);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Regular files (and symlinks to them) in dir whose extension is one of exts, sorted.
 * A missing dir is an empty list (libcni ConfFiles). */
static int dir_files(const char *dir, const char *const *exts, size_t n_exts, char ***ret,
		     size_t *ret_n, struct cni_err *err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	char **names = NULL, **tmp, path[PATH_MAX];
	size_t n = 0;
	struct dirent *de;
	struct stat st;

	*ret = NULL;
	*ret_n = 0;
	if (!d)
		return errno == ENOENT ? 0 : cni_err_set(err, CNI_ERR_IO, errno, "read %s", dir);
	while ((de = readdir(d))) {
		const char *ext = strrchr(de->d_name, '.');
		bool match = false;

		for (size_t i = 0; ext && i < n_exts; i++)
			match = match || strcmp(ext, exts[i]) == 0;
		if (!match ||
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (stat(path, &st) < 0 || S_ISDIR(st.st_mode))
			continue;
		tmp = realloc(names, (n + 1) * sizeof(*names));
		if (!tmp || !(tmp[n] = strdup(path))) {
			names_free(tmp ? tmp : names, n);
			return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "read %s", dir);
		}
		names = tmp;
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp); /* names is NULL when n is 0 */
	*ret = names;
	*ret_n = n;
	return 0;
}

int rt_netconf_files(const char *dir, char ***ret, size_t *ret_n, struct cni_err *err)
{
	static const char *const exts[] = {".conflist", ".conf", ".json"};

	return dir_files(dir, exts, ARRAY_SIZE(exts), ret, ret_n, err);
}

void rt_netconf_files_free(char **files, size_t n)
{
	names_free(files, n);
}

/* <dir>/<name>/ *.conf plugin objects, appended to nc->plugins. */
static int load_plugin_dir(const char *dir, struct rt_netconf *nc, struct cni_err *err)
{
	static const char *const exts[] = {".conf"};
	char sub[PATH_MAX], **files = NULL;
	size_t n = 0;
	int r;

	if (snprintf(sub, sizeof(sub), "%s/%s", dir, nc->name) >= (int)sizeof(sub))
		return 0;
	r = dir_files(sub, exts, 1, &files, &n, err);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		_cleanup_free_ char *buf = NULL;
		_cleanup_json_ json_t *p = NULL;
		json_error_t jerr;
		size_t len;

		r = read_file(files[i], &buf, &len, err);
		if (r < 0)
			break;
		p = json_loadb(buf, len, 0, &jerr);
		if (!p) {
			r = cni_err_setd(err, CNI_ERR_DECODE, EINVAL, jerr.text,
					 "error parsing configuration %s", files[i]);
			break;
		}
		r = plugin_validate(p, files[i], err);
		if (r >= 0 && json_array_append(nc->plugins, p) < 0)
			r = cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "plugins");
	}
	names_free(files, n);
	return r;
}

int rt_netconf_from_file(const char *path, struct rt_netconf **ret, struct cni_err *err)
{
	_cleanup_netconf_ struct rt_netconf *nc = NULL;
	_cleanup_free_ char *buf = NULL, *dir = NULL;
	size_t len;
	int r;

	r = read_file(path, &buf, &len, err);
	if (r >= 0)
		r = rt_netconf_from_bytes(buf, len, &nc, err);
	if (r < 0)
		return cni_err_wrap(err, "%s", path);
	dir = strdup(path);
	nc->source = strdup(path);
	if (!dir || !nc->source)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "%s", path);
	if (strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';
	else
		strcpy(dir, ".");
	if (!nc->load_only_inlined) {
		r = load_plugin_dir(dir, nc, err);
		if (r < 0)
			return r;
	}
	if (json_array_size(nc->plugins) == 0)
		return cni_err_set(err, CNI_ERR_CONFIG, ENOENT, "%s: no plugin configs found",
				   path);
	*ret = TAKE_PTR(nc);
	return 0;
}

int rt_netconf_from_plugin_file(const char *path, struct rt_netconf **ret, struct cni_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_file(path, &buf, &len, err);

	if (r >= 0)
		r = rt_netconf_from_plugin_bytes(buf, len, ret, err);
	if (r >= 0 && !((*ret)->source = strdup(path))) {
		rt_netconf_free(*ret);
		*ret = NULL;
		r = cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "%s", path);
	}
	return r < 0 ? cni_err_wrap(err, "%s", path) : 0;
}

static int load_single(const char *dir, const char *name, bool had_lists, struct rt_netconf **ret,
		       struct cni_err *err)
{
	static const char *const exts[] = {".conf", ".json"};
	char **files = NULL;
	size_t n = 0;
	int r;

	r = dir_files(dir, exts, 2, &files, &n, err);
	if (r >= 0 && n == 0 && !had_lists)
		r = cni_err_set(err, CNI_ERR_CONFIG, ENOENT, "no net configurations found in %s",
				dir);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		_cleanup_free_ char *buf = NULL;
		_cleanup_json_ json_t *j = NULL;
		const json_t *jn;
		size_t len;

		r = read_file(files[i], &buf, &len, err);
		if (r < 0)
			break;
		j = json_loadb(buf, len, 0, NULL);
		jn = json_object_get(j, "name");
		if (!j || !json_is_string(jn) || strcmp(json_string_value(jn), name) != 0) {
			if (!j || plugin_validate(j, files[i], err) < 0) {
				r = j ? -EINVAL
				      : cni_err_set(err, CNI_ERR_DECODE, EINVAL,
						    "error parsing configuration %s", files[i]);
				break;
			}
			continue;
		}
		r = rt_netconf_from_plugin_bytes(buf, len, ret, err);
		if (r >= 0 && ((*ret)->source = strdup(files[i])) == NULL)
			r = cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "%s", files[i]);
		if (r < 0)
			cni_err_wrap(err, "%s", files[i]);
		names_free(files, n);
		return r < 0 ? r : 1;
	}
	names_free(files, n);
	return r < 0 ? r : 0;
}

int rt_netconf_load(const char *dir, const char *name, struct rt_netconf **ret, struct cni_err *err)
{
	static const char *const exts[] = {".conflist"};
	char **files = NULL;
	size_t n = 0;
	int r;

	r = dir_files(dir, exts, 1, &files, &n, err);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct rt_netconf *nc = NULL;

		r = rt_netconf_from_file(files[i], &nc, err);
		if (r >= 0 && strcmp(nc->name, name) == 0) {
			names_free(files, n);
			*ret = nc;
			return 0;
		}
		rt_netconf_free(nc);
	}
	names_free(files, n);
	if (r < 0)
		return r;
	r = load_single(dir, name, n > 0, ret, err);
	if (r < 0)
		return r;
	if (r == 0)
		return cni_err_set(err, CNI_ERR_CONFIG, ENOENT,
				   "no net configuration with name \"%s\" in %s", name, dir);
	return 0;
}

/* runtimeConfig: every capability the plugin declares true that cap_args supplies. */
static int inject_runtime_config(json_t *p, const json_t *cap_args, struct cni_err *err)
{
	const json_t *caps = json_object_get(p, "capabilities"), *v;
	_cleanup_json_ json_t *rc = json_object();
	const char *k;

	if (!rc)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "runtimeConfig");
	json_object_foreach((json_t *)caps, k, v)
	{
		const json_t *data = json_object_get(cap_args, k);

		if (json_is_true(v) && data && json_object_set(rc, k, (json_t *)data) < 0)
			return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "runtimeConfig");
	}
	if (json_object_size(rc) && json_object_set(p, "runtimeConfig", rc) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "runtimeConfig");
	return 0;
}

int rt_netconf_plugin_stdin(const struct rt_netconf *nc, size_t i, const json_t *prev_result,
			    const json_t *cap_args, json_t **ret, struct cni_err *err)
{
	_cleanup_json_ json_t *p = json_deep_copy(json_array_get(nc->plugins, i));
	int r = 0;

	if (!p)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "plugin %zu", i);
	if (json_object_set_new(p, "name", json_string(nc->name)) < 0 ||
	    json_object_set_new(p, "cniVersion", json_string(nc->cni_version)) < 0 ||
	    (prev_result && json_object_set(p, "prevResult", (json_t *)prev_result) < 0))
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "plugin %zu", i);
	if (cap_args)
		r = inject_runtime_config(p, cap_args, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	return 0;
}

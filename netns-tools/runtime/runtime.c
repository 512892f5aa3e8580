/* SPDX-License-Identifier: Apache-2.0 */
/* Running a plugin chain as libcni's api.go does (cni-spec.md §1.9, §1.11). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cni/types.h"
#include "common/cni/delegate.h"
#include "netns-tools/runtime/runtime.h"
#include "common/cni/skel.h"

extern char **environ;

#define EXEC_TRIES 6

static const char *const cni_vars[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS",
				       "CNI_ARGS",    "CNI_IFNAME",	 "CNI_PATH"};

static const char *cni_path(const struct rt *rt)
{
	const char *env = getenv("CNI_PATH");

	if (rt && rt->cni_path && *rt->cni_path)
		return rt->cni_path;
	return env && *env ? env : RT_DEFAULT_CNI_PATH;
}

static bool is_cni_var(const char *kv)
{
	for (size_t i = 0; i < ARRAY_SIZE(cni_vars); i++) {
		size_t n = strlen(cni_vars[i]);

		if (strncmp(kv, cni_vars[i], n) == 0 && kv[n] == '=')
			return true;
	}
	return false;
}

static void env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

static void env_freep(char ***env)
{
	env_free(*env);
}

/* Our environment minus any CNI_* of the six, plus the six (libcni Args.AsEnv). */
static char **env_build(const struct rt *rt, const char *command, const struct rt_attach *a)
{
	const char *vals[ARRAY_SIZE(cni_vars)] = {
		command,
		a ? a->container_id : "",
		a && a->netns ? a->netns : "",
		a && a->cni_args ? a->cni_args : "",
		a ? a->ifname : "",
		cni_path(rt),
	};
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + ARRAY_SIZE(cni_vars) + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (is_cni_var(environ[i]))
			continue;
		if (!(env[k++] = strdup(environ[i])))
			goto oom;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cni_vars); i++)
		if (asprintf(&env[k++], "%s=%s", cni_vars[i], vals[i] ? vals[i] : "") < 0) {
			env[k - 1] = NULL;
			goto oom;
		}
	return env;
oom:
	env_free(env);
	return NULL;
}

/* A failed plugin: its CNI error JSON on stdout keeps code, msg and details. */
static int plugin_failed(const char *type, const char *command, const char *out, int status,
			 struct cni_err *err)
{
	_cleanup_json_ json_t *j = out && *out ? json_loads(out, 0, NULL) : NULL;
	const json_t *code = json_object_get(j, "code");

	if (json_is_integer(code) && json_integer_value(code) > 0) {
		const char *msg = json_string_value(json_object_get(j, "msg"));
		const char *details = json_string_value(json_object_get(j, "details"));

		return cni_err_setd(err, (enum cni_code)json_integer_value(code), EIO, details,
				    "plugin type=\"%s\" failed (%s): %s", type, command,
				    msg ? msg : "");
	}
	if (out && *out)
		return cni_err_setd(err, CNI_ERR_DELEGATE, EIO, out,
				    "plugin type=\"%s\" failed (%s): netplugin failed", type,
				    command);
	return cni_err_set(err, CNI_ERR_DELEGATE, EIO,
			   "plugin type=\"%s\" failed (%s) with no error message: exit status %d",
			   type, command, status);
}

static int exec_retry(const char *path, char **env, const char *in, char **out, size_t *out_len,
		      int *status, struct cni_err *err)
{
	int r = 0;

	for (int i = 0; i < EXEC_TRIES; i++) {
		cni_err_clear(err);
		r = cni_exec_capture(path, env, in, strlen(in), out, out_len, status, err);
		if (r != -ETXTBSY && !(err && err->sys_errno == ETXTBSY))
			return r;
		if (i + 1 < EXEC_TRIES)
			sleep(1);
	}
	return r;
}

/* libcni fixupResultVersion: a result without cniVersion is in the config's version. */
static int result_parse(const char *out, const json_t *conf, json_t **ret, struct cni_err *err)
{
	_cleanup_json_ json_t *j = NULL;
	const char *v;
	json_error_t jerr;

	j = json_loads(out ? out : "", 0, &jerr);
	if (j && json_is_null(j)) {
		json_decref(j);
		j = json_object();
	}
	if (!json_is_object(j))
		return cni_err_setd(err, CNI_ERR_DECODE, EINVAL, jerr.text,
				    "failed to unmarshal raw result");
	v = json_string_value(json_object_get(j, "cniVersion"));
	if (!v || !*v)
		json_object_set(j, "cniVersion", json_object_get(conf, "cniVersion"));
	*ret = TAKE_PTR(j);
	return 0;
}

int rt_exec_plugin(const struct rt *rt, const char *type, const char *command,
		   const struct rt_attach *a, const json_t *conf, json_t **ret_result,
		   struct cni_err *err)
{
	__attribute__((cleanup(env_freep))) char **env = NULL;
	_cleanup_free_ char *in = NULL, *out = NULL;
	char path[PATH_MAX];
	size_t out_len = 0;
	int r, status = 0;

	r = cni_find_plugin(cni_path(rt), type, path, sizeof(path), err);
	if (r < 0)
		return r;
	env = env_build(rt, command, a);
	in = json_dumps(conf, JSON_COMPACT);
	if (!env || !in)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "exec %s", type);
	r = exec_retry(path, env, in, &out, &out_len, &status, err);
	if (r < 0)
		return cni_err_wrap(err, "plugin type=\"%s\" (%s)", type, command);
	if (status != 0)
		return plugin_failed(type, command, out, status, err);
	if (ret_result)
		return result_parse(out, conf, ret_result, err);
	return 0;
}

static int validate_attach(const struct rt_netconf *nc, const struct rt_attach *a,
			   struct cni_err *err)
{
	if (!a->container_id || !cni_valid_id(a->container_id))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "invalid container ID \"%s\"",
				   a->container_id ? a->container_id : "");
	if (!cni_valid_id(nc->name))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "invalid network name \"%s\"",
				   nc->name);
	if (!a->ifname || !cni_valid_ifname(a->ifname))
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "invalid interface name \"%s\"",
				   a->ifname ? a->ifname : "");
	return 0;
}

static const char *plugin_type(const struct rt_netconf *nc, size_t i)
{
	return json_string_value(json_object_get(json_array_get(nc->plugins, i), "type"));
}

static int run_one(const struct rt *rt, const struct rt_netconf *nc, size_t i, const char *cmd,
		   const struct rt_attach *a, const json_t *prev, json_t **ret_result,
		   struct cni_err *err)
{
	_cleanup_json_ json_t *conf = NULL;
	int r;

	r = rt_netconf_plugin_stdin(nc, i, prev, a ? a->cap_args : NULL, &conf, err);
	if (r < 0)
		return r;
	return rt_exec_plugin(rt, plugin_type(nc, i), cmd, a, conf, ret_result, err);
}

int rt_add(const struct rt *rt, const struct rt_netconf *nc, const struct rt_attach *a,
	   json_t **ret_result, struct cni_err *err)
{
	_cleanup_json_ json_t *result = NULL;
	int r;

	r = validate_attach(nc, a, err);
	for (size_t i = 0; r >= 0 && i < json_array_size(nc->plugins); i++) {
		json_t *next = NULL;

		r = run_one(rt, nc, i, "ADD", a, result, &next, err);
		json_decref(result);
		result = next;
	}
	if (r < 0)
		return r;
	r = rt_cache_write(rt, nc, a, result, err);
	if (r < 0)
		return cni_err_wrap(err, "failed to set network \"%s\" cached result", nc->name);
	if (ret_result)
		*ret_result = TAKE_PTR(result);
	return 0;
}

/* The cached result in the config's version (libcni getCachedResult + GetAsVersion). */
static int cached_result(const struct rt *rt, const struct rt_netconf *nc,
			 const struct rt_attach *a, json_t **ret, struct cni_err *err)
{
	_cleanup_result_ struct cni_result *res = NULL;
	struct rt_cached c = {0};
	const char *v;
	int r;

	*ret = NULL;
	r = rt_cache_read(rt, nc->name, a->container_id, a->ifname, &c, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	v = json_string_value(json_object_get(c.result, "cniVersion"));
	if (!c.result || !v || strcmp(v, nc->cni_version) == 0 || !*nc->cni_version) {
		*ret = json_incref(c.result);
		rt_cached_free(&c);
		return 0;
	}
	res = cni_result_new();
	r = res ? cni_result_decode(c.result, nc->cni_version, res, err)
		: cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "cached result");
	if (r >= 0)
		r = cni_result_encode(res, nc->cni_version, ret, err);
	rt_cached_free(&c);
	if (r < 0)
		return cni_err_wrap(err,
				    "failed to convert cached result to config version "
				    "\"%s\"",
				    nc->cni_version);
	return 0;
}

static bool version_at_least(const char *v, const char *min)
{
	int a, b;

	if (cni_version_parse(*v ? v : "0.1.0", &a) < 0 || cni_version_parse(min, &b) < 0)
		return false;
	return a >= b;
}

int rt_check(const struct rt *rt, const struct rt_netconf *nc, const struct rt_attach *a,
	     struct cni_err *err)
{
	_cleanup_json_ json_t *prev = NULL;
	int r;

	if (!version_at_least(nc->cni_version, "0.4.0"))
		return cni_err_set(err, CNI_ERR_VERSION, ENOTSUP,
				   "configuration version \"%s\" does not support the CHECK "
				   "command",
				   nc->cni_version);
	if (nc->disable_check)
		return 0;
	r = cached_result(rt, nc, a, &prev, err);
	if (r < 0)
		return cni_err_wrap(err, "failed to get network \"%s\" cached result", nc->name);
	for (size_t i = 0; r >= 0 && i < json_array_size(nc->plugins); i++)
		r = run_one(rt, nc, i, "CHECK", a, prev, NULL, err);
	return r;
}

int rt_del(const struct rt *rt, const struct rt_netconf *nc, const struct rt_attach *a,
	   struct cni_err *err)
{
	_cleanup_json_ json_t *prev = NULL;
	struct cni_err ignored = {0};
	int r = 0;

	if (version_at_least(nc->cni_version, "0.4.0") &&
	    cached_result(rt, nc, a, &prev, &ignored) < 0) {
		/* Newer libcni: an unreadable cache is dropped and DEL goes on without it. */
		(void)rt_cache_del(rt, nc->name, a->container_id, a->ifname);
		prev = NULL;
	}
	for (size_t i = json_array_size(nc->plugins); r >= 0 && i-- > 0;)
		r = run_one(rt, nc, i, "DEL", a, prev, NULL, err);
	if (r < 0)
		return r;
	(void)rt_cache_del(rt, nc->name, a->container_id, a->ifname);
	return 0;
}

int rt_status(const struct rt *rt, const struct rt_netconf *nc, struct cni_err *err)
{
	int r = 0;

	if (!version_at_least(nc->cni_version, "1.1.0"))
		return 0;
	for (size_t i = 0; r >= 0 && i < json_array_size(nc->plugins); i++)
		r = run_one(rt, nc, i, "STATUS", NULL, NULL, NULL, err);
	return r;
}

static bool gc_is_valid(const struct rt_cached *c, const struct rt_gc_attachment *valid, size_t n)
{
	for (size_t i = 0; valid && i < n; i++)
		if (strcmp(valid[i].container_id, c->container_id) == 0 &&
		    strcmp(valid[i].ifname, c->ifname) == 0)
			return true;
	return false;
}

/* Keeps the first error; counts the others into its details. */
static void gc_note(int r, struct cni_err *one, int *first, int *n_errs, struct cni_err *err)
{
	if (r >= 0)
		return;
	if ((*n_errs)++ == 0) {
		*first = r;
		if (err)
			*err = *one;
	}
	cni_err_clear(one);
}

static int gc_stale(const struct rt *rt, const struct rt_netconf *nc,
		    const struct rt_gc_attachment *valid, size_t n_valid, int *first, int *n_errs,
		    struct cni_err *err)
{
	struct rt_cached *list = NULL;
	struct cni_err one = {0};
	size_t n = 0;
	int r;

	r = rt_cache_list(rt, nc->name, NULL, &list, &n, NULL);
	if (r < 0)
		return 0; /* libcni: a cache it cannot read means nothing to delete */
	for (size_t i = 0; i < n; i++) {
		struct rt_attach a = {
			.container_id = list[i].container_id,
			.netns = list[i].netns,
			.ifname = list[i].ifname,
			.cni_args = list[i].cni_args,
			.cap_args = list[i].cap_args,
		};

		if (gc_is_valid(&list[i], valid, n_valid))
			continue;
		r = rt_del(rt, nc, &a, &one);
		if (r < 0)
			cni_err_wrap(&one, "failed to delete stale attachment %s %s",
				     a.container_id, a.ifname);
		gc_note(r, &one, first, n_errs, err);
	}
	rt_cached_list_free(list, n);
	return 0;
}

static json_t *gc_valid_json(const struct rt_gc_attachment *valid, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr,
				      json_pack("{s:s,s:s}", "containerID", valid[i].container_id,
						"ifname", valid[i].ifname));
	return arr;
}

int rt_gc(const struct rt *rt, const struct rt_netconf *nc, bool has_valid,
	  const struct rt_gc_attachment *valid, size_t n_valid, struct cni_err *err)
{
	_cleanup_json_ json_t *vj = has_valid ? gc_valid_json(valid, n_valid) : NULL;
	struct cni_err one = {0};
	int first = 0, n_errs = 0, r;

	if (nc->disable_gc)
		return 0;
	gc_stale(rt, nc, has_valid ? valid : NULL, n_valid, &first, &n_errs, err);
	for (size_t i = 0;
	     version_at_least(nc->cni_version, "1.1.0") && i < json_array_size(nc->plugins); i++) {
		_cleanup_json_ json_t *conf = NULL;

		r = rt_netconf_plugin_stdin(nc, i, NULL, NULL, &conf, &one);
		if (r >= 0 && vj) {
			json_object_set(conf, "cni.dev/valid-attachments", vj);
			json_object_set(conf, "cni.dev/attachments", vj);
		}
		if (r >= 0)
			r = rt_exec_plugin(rt, plugin_type(nc, i), "GC", NULL, conf, NULL, &one);
		if (r < 0)
			cni_err_wrap(&one, "failed to GC plugin %s", plugin_type(nc, i));
		gc_note(r, &one, &first, &n_errs, err);
	}
	if (n_errs > 1)
		cni_err_add_details(err, "and %d more error(s)", n_errs - 1);
	return first;
}

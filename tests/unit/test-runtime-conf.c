/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime side's conflist rules (libcni conf.go, cni-spec.md §1.10) and plugin stdin
 * injection (name, cniVersion, prevResult, runtimeConfig). Pure: no root, no plugins. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns-tools/runtime/runtime.h"
#include "netns-tools/nsrun/ctr.h"

static int parse(const char *s, struct rt_netconf **nc, struct cni_err *err)
{
	return rt_netconf_from_bytes(s, strlen(s), nc, err);
}

static void test_header_and_plugins(void **state)
{
	struct rt_netconf *nc = NULL;
	struct cni_err err = {0};
	const char *s = "{\"cniVersion\":\"1.0.0\",\"name\":\"n1\",\"disableCheck\":true,"
			"\"disableGC\":\"FaLsE\",\"plugins\":[{\"type\":\"a\"},{\"type\":\"b\"}]}";

	(void)state;
	assert_int_equal(parse(s, &nc, &err), 0);
	assert_string_equal(nc->name, "n1");
	assert_string_equal(nc->cni_version, "1.0.0");
	assert_true(nc->disable_check);
	assert_false(nc->disable_gc);
	assert_false(nc->load_only_inlined);
	assert_int_equal(json_array_size(nc->plugins), 2);
	/* the bytes are kept verbatim for the cache's "config" */
	assert_int_equal(nc->len, strlen(s));
	assert_memory_equal(nc->bytes, s, nc->len);
	rt_netconf_free(nc);
}

static void test_cni_versions(void **state)
{
	static const struct {
		const char *conf, *want;
	} cases[] = {
		{"\"cniVersion\":\"1.0.0\",\"cniVersions\":[\"0.4.0\",\"1.1.0\"]", "1.1.0"},
		{"\"cniVersion\":\"1.0.0\",\"cniVersions\":[\"0.4.0\",\"9.9.9\"]", "1.0.0"},
		{"\"cniVersions\":[\"0.3.1\",\"0.4.0\"]", "0.4.0"},
		{"\"cniVersion\":\"0.4.0\"", "0.4.0"},
		{"\"cniVersion\":\"2.0.0\",\"cniVersions\":[\"0.3.1\"]", "0.3.1"},
		{"\"disableGC\":false", ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rt_netconf *nc = NULL;
		char buf[256];

		snprintf(buf, sizeof(buf), "{%s,\"name\":\"n\",\"plugins\":[{\"type\":\"a\"}]}",
			 cases[i].conf);
		assert_int_equal(parse(buf, &nc, NULL), 0);
		assert_string_equal(nc->cni_version, cases[i].want);
		rt_netconf_free(nc);
	}
}

static void test_errors(void **state)
{
	static const struct {
		const char *conf, *msg;
		enum cni_code code;
	} cases[] = {
		{"{", "error parsing configuration list", CNI_ERR_DECODE},
		{"[]", "not a JSON object", CNI_ERR_DECODE},
		{"{\"plugins\":[{\"type\":\"a\"}]}", "no name", CNI_ERR_CONFIG},
		{"{\"name\":1,\"plugins\":[]}", "invalid name type", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"plugins\":[]}", "no plugins in list", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"plugins\":{}}", "invalid 'plugins' type", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"plugins\":[{\"x\":1}]}", "missing 'type'", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"disableGC\":\"yes\",\"plugins\":[{\"type\":\"a\"}]}",
		 "invalid value \"yes\" for disableGC", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"disableCheck\":1,\"plugins\":[{\"type\":\"a\"}]}",
		 "invalid type for disableCheck", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"loadOnlyInlinedPlugins\":true}", "no 'plugins' key",
		 CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"cniVersions\":[1],\"plugins\":[{\"type\":\"a\"}]}",
		 "cniVersions index 0", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"plugins\":[{\"type\":\"a\",\"capabilities\":{\"ips\":\"y\"}}]}",
		 "capability 'ips' is not a boolean", CNI_ERR_CONFIG},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rt_netconf *nc = NULL;
		struct cni_err err = {0};

		assert_true(parse(cases[i].conf, &nc, &err) < 0);
		assert_null(nc);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("%s: got '%s'", cases[i].conf, err.msg);
		assert_int_equal(err.code, cases[i].code);
	}
}

static void test_plugin_stdin(void **state)
{
	struct rt_netconf *nc = NULL;
	json_t *conf = NULL, *prev = json_pack("{s:s}", "cniVersion", "1.0.0");
	json_t *caps = json_pack("{s:[i],s:s,s:s}", "portMappings", 1, "mac", "m", "ips", "x");
	const char *s = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"a\","
			"\"name\":\"other\",\"cniVersion\":\"0.1.0\",\"capabilities\":"
			"{\"portMappings\":true,\"mac\":false}},{\"type\":\"b\"}]}";

	(void)state;
	assert_int_equal(parse(s, &nc, NULL), 0);
	assert_int_equal(rt_netconf_plugin_stdin(nc, 0, prev, caps, &conf, NULL), 0);
	/* name and version are the list's; runtimeConfig only for capabilities declared true */
	assert_string_equal(json_string_value(json_object_get(conf, "name")), "n");
	assert_string_equal(json_string_value(json_object_get(conf, "cniVersion")), "1.0.0");
	assert_true(json_equal(json_object_get(conf, "prevResult"), prev));
	assert_int_equal(json_object_size(json_object_get(conf, "runtimeConfig")), 1);
	assert_non_null(json_object_get(json_object_get(conf, "runtimeConfig"), "portMappings"));
	json_decref(conf);
	/* a plugin with no capabilities gets no runtimeConfig, and no prevResult when none */
	assert_int_equal(rt_netconf_plugin_stdin(nc, 1, NULL, caps, &conf, NULL), 0);
	assert_null(json_object_get(conf, "runtimeConfig"));
	assert_null(json_object_get(conf, "prevResult"));
	json_decref(conf);
	json_decref(prev);
	json_decref(caps);
	rt_netconf_free(nc);
}

static void test_single_conf_wrapped(void **state)
{
	struct rt_netconf *nc = NULL;
	const char *s = "{\"cniVersion\":\"0.4.0\",\"name\":\"one\",\"type\":\"bridge\"}";

	(void)state;
	assert_int_equal(rt_netconf_from_plugin_bytes(s, strlen(s), &nc, NULL), 0);
	assert_string_equal(nc->name, "one");
	assert_string_equal(nc->cni_version, "0.4.0");
	assert_int_equal(json_array_size(nc->plugins), 1);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(nc->plugins, 0), "type")),
		"bridge");
	rt_netconf_free(nc);
}

static char tmp[64];

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_load_dir(void **state)
{
	struct rt_netconf *nc = NULL;
	struct cni_err err = {0};
	char sub[128];

	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/weft-rtconf.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	write_file("20-b.conflist", "{\"name\":\"n\",\"plugins\":[{\"type\":\"second\"}]}");
	write_file("10-a.conflist", "{\"name\":\"n\",\"plugins\":[{\"type\":\"first\"}]}");
	write_file("30-c.conflist", "{\"name\":\"dir\",\"plugins\":[{\"type\":\"inline\"}]}");
	write_file("40-s.json", "{\"name\":\"single\",\"type\":\"s\"}");
	snprintf(sub, sizeof(sub), "%s/dir", tmp);
	assert_int_equal(mkdir(sub, 0755), 0);
	write_file("dir/1.conf", "{\"type\":\"fromdir\"}");
	assert_int_equal(rt_netconf_load(tmp, "n", &nc, &err), 0);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(nc->plugins, 0), "type")),
		"first");
	rt_netconf_free(nc);
	assert_int_equal(rt_netconf_load(tmp, "dir", &nc, &err), 0);
	assert_int_equal(json_array_size(nc->plugins), 2);
	rt_netconf_free(nc);
	assert_int_equal(rt_netconf_load(tmp, "single", &nc, &err), 0);
	rt_netconf_free(nc);
	assert_int_equal(rt_netconf_load(tmp, "none", &nc, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no net configuration with name \"none\""));
	snprintf(sub, sizeof(sub), "rm -rf '%s'", tmp);
	assert_int_equal(system(sub), 0);
}

static void test_more_errors(void **state)
{
	static const struct {
		const char *conf, *msg;
		enum cni_code code;
	} cases[] = {
		{"{\"name\":\"n\",\"plugins\":[{\"type\":1}]}", "plugin config 0: invalid 'type'",
		 CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"plugins\":[{\"type\":\"\"}]}",
		 "plugin config 0: error parsing "
		 "configuration: missing 'type'",
		 CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"plugins\":[{\"type\":\"a\"},\"b\"]}",
		 "plugin config 1: not a JSON object", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"plugins\":[{\"type\":\"a\",\"capabilities\":[]}]}",
		 "plugin config 0: invalid 'capabilities'", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"plugins\":[{\"type\":\"a\",\"ipam\":\"host-local\"}]}",
		 "plugin config 0: invalid 'ipam'", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"plugins\":[{\"type\":\"a\",\"ipam\":{\"type\":7}}]}",
		 "plugin config 0: invalid 'ipam'", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"cniVersion\":1,\"plugins\":[{\"type\":\"a\"}]}",
		 "invalid cniVersion type", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"cniVersion\":\"abc\",\"cniVersions\":[\"1.0.0\"],\"plugins\":"
		 "[{\"type\":\"a\"}]}",
		 "invalid cniVersion abc", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"cniVersions\":\"1.0.0\",\"plugins\":[{\"type\":\"a\"}]}",
		 "invalid type for cniVersions", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"cniVersions\":[\"1.0.0\",\"1.x\"],\"plugins\":[{\"type\":\"a\"}"
		 "]}",
		 "invalid cniVersions entry 1.x at index 1", CNI_ERR_CONFIG},
		{"{\"name\":\"n\",\"loadOnlyInlinedPlugins\":\"maybe\",\"plugins\":[{\"type\":"
		 "\"a\"}]}",
		 "invalid value \"maybe\" for loadOnlyInlinedPlugins", CNI_ERR_CONFIG},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rt_netconf *nc = NULL;
		struct cni_err err = {0};

		assert_int_equal(parse(cases[i].conf, &nc, &err), -EINVAL);
		assert_null(nc);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("%s: got '%s', want '%s'", cases[i].conf, err.msg, cases[i].msg);
		assert_int_equal(err.code, cases[i].code);
	}
}

static void test_bool_strings(void **state)
{
	struct rt_netconf *nc = NULL;
	const char *s = "{\"name\":\"n\",\"disableCheck\":\"TRUE\",\"disableGC\":\"true\","
			"\"loadOnlyInlinedPlugins\":\"True\",\"plugins\":[{\"type\":\"a\"}]}";

	(void)state;
	assert_int_equal(parse(s, &nc, NULL), 0);
	assert_true(nc->disable_check);
	assert_true(nc->disable_gc);
	assert_true(nc->load_only_inlined);
	/* a list without cniVersion keeps "" (libcni: the plugins decide) */
	assert_string_equal(nc->cni_version, "");
	rt_netconf_free(nc);
	/* a list may come without plugins: they can live in <dir>/<name>/ */
	assert_int_equal(parse("{\"name\":\"n\"}", &nc, NULL), 0);
	assert_int_equal(json_array_size(nc->plugins), 0);
	rt_netconf_free(nc);
}

static void test_single_conf_errors(void **state)
{
	struct rt_netconf *nc = NULL;
	struct cni_err err = {0};
	const char *noname = "{\"type\":\"bridge\"}";

	(void)state;
	assert_int_equal(rt_netconf_from_plugin_bytes("{", 1, &nc, &err), -EINVAL);
	assert_int_equal(err.code, CNI_ERR_DECODE);
	assert_non_null(strstr(err.msg, "error parsing configuration: line 1"));
	assert_int_equal(rt_netconf_from_plugin_bytes("{\"name\":\"x\"}", 12, &nc, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "network configuration: error parsing configuration: missing 'type'");
	/* libcni marshals the wrapper with an empty name and version when the file has none */
	assert_int_equal(rt_netconf_from_plugin_bytes(noname, strlen(noname), &nc, NULL), 0);
	assert_string_equal(nc->name, "");
	assert_string_equal(nc->cni_version, "");
	assert_string_equal(nc->bytes, "{\"cniVersion\":\"\",\"name\":\"\",\"plugins\":[{\"type\":"
				       "\"bridge\"}]}");
	rt_netconf_free(nc);
}

static void test_plugin_stdin_copy(void **state)
{
	struct rt_netconf *nc = NULL;
	json_t *conf = NULL;
	const char *s = "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"a\","
			"\"capabilities\":{\"mac\":true},\"nested\":{\"k\":1}}]}";

	(void)state;
	assert_int_equal(parse(s, &nc, NULL), 0);
	assert_int_equal(rt_netconf_plugin_stdin(nc, 0, NULL, NULL, &conf, NULL), 0);
	/* no capability args: no runtimeConfig even for declared capabilities */
	assert_null(json_object_get(conf, "runtimeConfig"));
	/* a deep copy: changing what a plugin gets leaves the list alone */
	json_object_set_new(json_object_get(conf, "nested"), "k", json_integer(2));
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(json_array_get(nc->plugins, 0), "nested"), "k")),
			 1);
	assert_null(json_object_get(json_array_get(nc->plugins, 0), "name"));
	json_decref(conf);
	assert_true(rt_netconf_plugin_stdin(nc, 5, NULL, NULL, &conf, NULL) < 0);
	rt_netconf_free(nc);
}

static void mk_tmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/weft-rtconf.XXXXXX");
	assert_non_null(mkdtemp(tmp));
}

static void rm_tmp(void)
{
	assert_int_equal(ctr_rm_rf(tmp), 0);
}

static void mk_sub(const char *name)
{
	char sub[128];

	snprintf(sub, sizeof(sub), "%s/%s", tmp, name);
	assert_int_equal(mkdir(sub, 0755), 0);
}

static const char *plugin_type(const struct rt_netconf *nc, size_t i)
{
	return json_string_value(json_object_get(json_array_get(nc->plugins, i), "type"));
}

static void test_from_file(void **state)
{
	struct rt_netconf *nc = NULL;
	struct cni_err err = {0};
	char path[128];

	(void)state;
	mk_tmp();
	write_file("a.conflist", "{\"name\":\"n\",\"plugins\":[{\"type\":\"inline\"}]}");
	mk_sub("n");
	write_file("n/2.conf", "{\"type\":\"second\"}");
	write_file("n/1.conf", "{\"type\":\"first\"}");
	write_file("n/3.json", "{\"type\":\"ignored\"}");
	mk_sub("n/4.conf");
	snprintf(path, sizeof(path), "%s/a.conflist", tmp);
	/* inline plugins first, then <dir>/<name>/ *.conf sorted; other files and dirs skipped */
	assert_int_equal(rt_netconf_from_file(path, &nc, &err), 0);
	assert_int_equal(json_array_size(nc->plugins), 3);
	assert_string_equal(plugin_type(nc, 0), "inline");
	assert_string_equal(plugin_type(nc, 1), "first");
	assert_string_equal(plugin_type(nc, 2), "second");
	assert_string_equal(nc->source, path);
	rt_netconf_free(nc);
	/* loadOnlyInlinedPlugins: the directory is not read */
	write_file("a.conflist", "{\"name\":\"n\",\"loadOnlyInlinedPlugins\":true,"
				 "\"plugins\":[{\"type\":\"inline\"}]}");
	assert_int_equal(rt_netconf_from_file(path, &nc, &err), 0);
	assert_int_equal(json_array_size(nc->plugins), 1);
	rt_netconf_free(nc);
	/* a broken plugin file in the directory fails the load, naming the file */
	write_file("a.conflist", "{\"name\":\"n\"}");
	write_file("n/5.conf", "{\"type\":");
	assert_int_equal(rt_netconf_from_file(path, &nc, &err), -EINVAL);
	assert_int_equal(err.code, CNI_ERR_DECODE);
	assert_non_null(strstr(err.msg, "error parsing configuration"));
	assert_non_null(strstr(err.msg, "n/5.conf"));
	/* no plugins anywhere */
	write_file("n/5.conf", "{\"type\":\"fifth\"}");
	write_file("b.conflist", "{\"name\":\"empty\"}");
	snprintf(path, sizeof(path), "%s/b.conflist", tmp);
	assert_int_equal(rt_netconf_from_file(path, &nc, &err), -ENOENT);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "no plugin configs found"));
	/* a parse error is prefixed with the file */
	write_file("c.conflist", "{\"plugins\":[]}");
	snprintf(path, sizeof(path), "%s/c.conflist", tmp);
	assert_int_equal(rt_netconf_from_file(path, &nc, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "c.conflist: error parsing configuration list: no name"));
	/* a missing file is an I/O error */
	snprintf(path, sizeof(path), "%s/missing.conflist", tmp);
	assert_int_equal(rt_netconf_from_file(path, &nc, &err), -ENOENT);
	assert_int_equal(err.code, CNI_ERR_IO);
	assert_non_null(strstr(err.msg, "error reading"));
	rm_tmp();
}

static void test_load_dir_errors(void **state)
{
	struct rt_netconf *nc = NULL;
	struct cni_err err = {0};
	char path[128];

	(void)state;
	mk_tmp();
	/* an empty (or missing) conf dir */
	assert_int_equal(rt_netconf_load(tmp, "n", &nc, &err), -ENOENT);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "no net configurations found in"));
	snprintf(path, sizeof(path), "%s/nowhere", tmp);
	assert_int_equal(rt_netconf_load(path, "n", &nc, &err), -ENOENT);
	/* a conflist that does not parse stops the search, as in libcni, even when a later file
	 * has the network */
	write_file("10-bad.conflist", "{\"name\":");
	write_file("20-good.conflist", "{\"name\":\"n\",\"plugins\":[{\"type\":\"a\"}]}");
	assert_int_equal(rt_netconf_load(tmp, "n", &nc, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "10-bad.conflist"));
	write_file("10-bad.conflist", "{\"name\":\"other\",\"plugins\":[{\"type\":\"o\"}]}");
	assert_int_equal(rt_netconf_load(tmp, "n", &nc, &err), 0);
	assert_non_null(strstr(nc->source, "20-good.conflist"));
	rt_netconf_free(nc);
	/* single-plugin files: first match in lexical order, .conf and .json alike */
	write_file("30-one.json", "{\"cniVersion\":\"0.3.1\",\"name\":\"one\",\"type\":\"x\"}");
	write_file("40-one.conf", "{\"cniVersion\":\"1.0.0\",\"name\":\"one\",\"type\":\"y\"}");
	assert_int_equal(rt_netconf_load(tmp, "one", &nc, &err), 0);
	assert_string_equal(nc->cni_version, "0.3.1");
	assert_string_equal(plugin_type(nc, 0), "x");
	assert_non_null(strstr(nc->source, "30-one.json"));
	rt_netconf_free(nc);
	/* a broken single-plugin file on the way fails the search too */
	write_file("35-broken.conf", "{\"name\":\"zzz\"}");
	assert_int_equal(rt_netconf_load(tmp, "one", &nc, &err), 0); /* 30 comes first */
	rt_netconf_free(nc);
	write_file("25-broken.conf", "{\"name\":\"zzz\"");
	assert_int_equal(rt_netconf_load(tmp, "one", &nc, &err), -EINVAL);
	assert_int_equal(err.code, CNI_ERR_DECODE);
	assert_non_null(strstr(err.msg, "25-broken.conf"));
	rm_tmp();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_and_plugins),
		cmocka_unit_test(test_cni_versions),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_plugin_stdin),
		cmocka_unit_test(test_single_conf_wrapped),
		cmocka_unit_test(test_load_dir),
		cmocka_unit_test(test_more_errors),
		cmocka_unit_test(test_bool_strings),
		cmocka_unit_test(test_single_conf_errors),
		cmocka_unit_test(test_plugin_stdin_copy),
		cmocka_unit_test(test_from_file),
		cmocka_unit_test(test_load_dir_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

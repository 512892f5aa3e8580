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

#include "runtime.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_and_plugins),
		cmocka_unit_test(test_cni_versions),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_plugin_stdin),
		cmocka_unit_test(test_single_conf_wrapped),
		cmocka_unit_test(test_load_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

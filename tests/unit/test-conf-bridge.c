/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge config parser: defaults, every key, and the CNI code of each bad config. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

/* The bridge config is the shared attachment config (plugins/lib/podnet-conf.c, in libpodnet). */
#include "common/cleanup.h"
#include "plugins/lib/podnet-internal.h"

struct fixture {
	struct cni_args a;
	struct podnet_conf c;
	struct cni_err err;
	json_t *j;
	struct cni_kv kv[2];
};

static int parse(struct fixture *f, const char *json, enum cni_cmd cmd, const char *mac_arg)
{
	json_error_t je;

	memset(f, 0, sizeof(*f));
	f->j = json_loads(json, 0, &je);
	assert_non_null(f->j);
	f->a.command = cmd;
	f->a.conf = f->j;
	f->a.name = "net";
	f->a.container_id = "ctr";
	f->a.ifname = "eth0";
	f->a.netns = "";
	f->a.path = "";
	f->a.cni_args = "";
	f->a.cni_version = json_string_value(json_object_get(f->j, "cniVersion"));
	if (!f->a.cni_version)
		f->a.cni_version = "1.0.0";
	if (mac_arg) {
		f->kv[0].key = "MAC";
		f->kv[0].value = (char *)mac_arg;
		f->a.kv = f->kv;
		f->a.n_kv = 1;
	}
	return podnet_parse(&f->a, &f->c, &f->err);
}

static void done(struct fixture *f)
{
	podnet_conf_free(&f->c);
	json_decref(f->j);
}

static void test_defaults(void **state)
{
	struct fixture f;

	(void)state;
	assert_int_equal(parse(&f,
			       "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"type\":\"bridge\"}",
			       CNI_CMD_ADD, NULL),
			 0);
	assert_string_equal(f.c.bridge, "cni0");
	assert_false(f.c.is_gw);
	assert_false(f.c.ip_masq);
	assert_false(f.c.hairpin);
	assert_false(f.c.preserve_default_vlan);
	assert_int_equal(f.c.mtu, 0);
	assert_int_equal(f.c.vlan, 0);
	assert_false(f.c.has_trunk);
	assert_false(f.c.has_mac);
	assert_null(f.c.dns);
	assert_false(ipam_enabled(f.c.ipam)); /* L2 only */
	done(&f);
}

static void test_all_keys(void **state)
{
	struct fixture f;
	const char *j = "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"type\":\"bridge\","
			"\"bridge\":\"br9\",\"isDefaultGateway\":true,\"forceAddress\":\"true\","
			"\"ipMasq\":true,\"ipMasqBackend\":\"nftables\",\"mtu\":1400,"
			"\"hairpinMode\":true,\"vlan\":7,\"vlanTrunk\":[{\"id\":5},"
			"{\"minID\":100,\"maxID\":102}],\"preserveDefaultVlan\":true,"
			"\"enabledad\":true,\"macspoofchk\":true,\"portIsolation\":true,"
			"\"dns\":{\"nameservers\":[\"1.1.1.1\"]},\"someUnknownKey\":{\"x\":1},"
			"\"runtimeConfig\":{\"portMappings\":[],\"mac\":\"02:00:00:00:00:03\"},"
			"\"args\":{\"cni\":{\"mac\":\"02:00:00:00:00:02\"}}}";

	(void)state;
	assert_int_equal(parse(&f, j, CNI_CMD_ADD, "02:00:00:00:00:01"), 0);
	assert_string_equal(f.c.bridge, "br9");
	assert_true(f.c.is_default_gw);
	assert_true(f.c.is_gw); /* implied */
	assert_true(f.c.force_address);
	assert_true(f.c.ip_masq);
	assert_int_equal(f.c.mtu, 1400);
	assert_true(f.c.hairpin);
	assert_int_equal(f.c.vlan, 7);
	assert_true(f.c.has_trunk);
	assert_true(podnet_trunk_has(&f.c, 5));
	assert_true(podnet_trunk_has(&f.c, 101));
	assert_false(podnet_trunk_has(&f.c, 103));
	assert_true(podnet_vlan_filtering(&f.c));
	assert_true(f.c.preserve_default_vlan && f.c.enable_dad && f.c.macspoofchk);
	assert_true(f.c.port_isolation);
	assert_non_null(f.c.dns);
	/* runtimeConfig.mac wins over args.cni.mac, which wins over CNI_ARGS MAC= */
	assert_true(f.c.has_mac);
	assert_int_equal(f.c.mac[5], 3);
	done(&f);
}

static void test_mac_sources(void **state)
{
	struct fixture f;

	(void)state;
	assert_int_equal(parse(&f, "{\"name\":\"net\",\"cniVersion\":\"1.0.0\"}", CNI_CMD_ADD,
			       "02:00:00:00:00:01"),
			 0);
	assert_int_equal(f.c.mac[5], 1);
	done(&f);
	assert_int_equal(parse(&f,
			       "{\"name\":\"net\",\"cniVersion\":\"1.0.0\",\"args\":{\"cni\":"
			       "{\"mac\":\"02:00:00:00:00:02\"}}}",
			       CNI_CMD_ADD, "02:00:00:00:00:01"),
			 0);
	assert_int_equal(f.c.mac[5], 2);
	done(&f);
}

struct bad_case {
	const char *json;
	enum cni_cmd cmd;
	const char *mac_arg;
	int code;
	const char *msg; /* substring */
};

static const struct bad_case bad[] = {
	{"{\"hairpinMode\":true,\"promiscMode\":true}", CNI_CMD_ADD, NULL, 7, "hairpin"},
	{"{\"ipMasq\":true,\"ipMasqBackend\":\"ebtables\"}", CNI_CMD_ADD, NULL, 7,
	 "unknown ipmasq backend"},
	{"{\"disableContainerInterface\":true,\"ipam\":{\"type\":\"host-local\","
	 "\"subnet\":\"10.0.0.0/24\"}}",
	 CNI_CMD_ADD, NULL, 7, "DisableContainerInterface"},
	{"{\"vlan\":4095}", CNI_CMD_DEL, NULL, 7, "invalid VLAN ID 4095"},
	{"{\"vlan\":-1}", CNI_CMD_ADD, NULL, 7, "invalid VLAN ID -1"},
	{"{\"vlanTrunk\":[{\"minID\":5}]}", CNI_CMD_ADD, NULL, 7, "maxID is missing"},
	{"{\"vlanTrunk\":[{\"maxID\":5}]}", CNI_CMD_ADD, NULL, 7, "minID is missing"},
	{"{\"vlanTrunk\":[{\"minID\":9,\"maxID\":5}]}", CNI_CMD_ADD, NULL, 7, "greater than"},
	{"{\"vlanTrunk\":[{\"id\":0}]}", CNI_CMD_ADD, NULL, 7, "incorrect trunk id"},
	{"{\"vlanTrunk\":[{\"minID\":0,\"maxID\":5}]}", CNI_CMD_ADD, NULL, 7, "minID"},
	{"{\"vlanTrunk\":[{\"minID\":1,\"maxID\":4095}]}", CNI_CMD_ADD, NULL, 7, "maxID"},
	{"{\"mtu\":67}", CNI_CMD_ADD, NULL, 7, "mtu"},
	{"{\"mtu\":70000}", CNI_CMD_ADD, NULL, 7, "mtu"},
	{"{\"mtu\":\"1500\"}", CNI_CMD_ADD, NULL, 7, "mtu"},
	{"{\"isGateway\":\"maybe\"}", CNI_CMD_ADD, NULL, 7, "isGateway"},
	{"{\"bridge\":\"a-very-long-bridge-name\"}", CNI_CMD_ADD, NULL, 7, "bridge"},
	{"{\"bridge\":\"br/0\"}", CNI_CMD_ADD, NULL, 7, "bridge"},
	{"{\"bridge\":\"bridge-12345\",\"isGateway\":true,\"vlan\":100}", CNI_CMD_ADD, NULL, 7,
	 "too long"},
	{"{}", CNI_CMD_ADD, "zz:00:00:00:00:01", 7, "invalid MAC"},
	{"{\"runtimeConfig\":{\"mac\":\"01:00:00:00:00:01\"}}", CNI_CMD_ADD, NULL, 7, "multicast"},
	{"{\"cniVersion\":\"0.2.0\"}", CNI_CMD_ADD, NULL, 100, "no valid IP addresses"},
	{"{\"dns\":[1]}", CNI_CMD_ADD, NULL, 7, "dns"},
};

static void test_bad(void **state)
{
	char json[512];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct fixture f;
		json_t *o = json_loads(bad[i].json, 0, NULL);
		char *s;

		assert_non_null(o);
		json_object_set_new(o, "name", json_string("net"));
		if (!json_object_get(o, "cniVersion"))
			json_object_set_new(o, "cniVersion", json_string("1.0.0"));
		s = json_dumps(o, JSON_COMPACT);
		snprintf(json, sizeof(json), "%s", s);
		free(s);
		json_decref(o);
		if (parse(&f, json, bad[i].cmd, bad[i].mac_arg) >= 0)
			fail_msg("case %zu (%s) parsed", i, bad[i].json);
		if ((int)f.err.code != bad[i].code || !strstr(f.err.msg, bad[i].msg))
			fail_msg("case %zu (%s): code %d msg \"%s\"", i, bad[i].json, f.err.code,
				 f.err.msg);
		done(&f);
	}
}

/* DEL of a config ADD would refuse still parses: DEL must be able to clean up. */
static void test_del_is_lenient(void **state)
{
	struct fixture f;

	(void)state;
	assert_int_equal(parse(&f,
			       "{\"name\":\"net\",\"cniVersion\":\"1.0.0\",\"hairpinMode\":true,"
			       "\"promiscMode\":true,\"ipMasqBackend\":\"x\"}",
			       CNI_CMD_DEL, "bad-mac"),
			 0);
	done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),       cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_mac_sources),    cmocka_unit_test(test_bad),
		cmocka_unit_test(test_del_is_lenient),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

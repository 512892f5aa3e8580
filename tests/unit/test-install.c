/* SPDX-License-Identifier: Apache-2.0 */
/* agent/install: the conflist a node gets from net-conf.json, and the file rules (atomic,
 * unchanged files left alone, a foreign conflist refused without --force). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/install/conflist.h"
#include "agent/install/install.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/version.h"

static const struct node_info node = {
	.name = "n1",
	.pod_cidr = {"10.244.1.0/24", "fd00:244:1::/64"},
	.version = "v-test",
	.peers_dir = "/var/lib/cni/weft",
};

static json_t *build(const char *netconf, const struct node_info *n, struct cni_err *err)
{
	_cleanup_json_ json_t *nc = json_loads(netconf, 0, NULL);
	json_t *out = NULL;

	assert_non_null(nc);
	memset(err, 0, sizeof(*err));
	return conflist_build(nc, n, &out, err) < 0 ? NULL : out;
}

static void test_vxlan(void **state)
{
	struct cni_err err;
	_cleanup_json_ json_t *l =
		build("{\"backend\":\"vxlan\",\"clusterCIDR\":\"10.244.0.0/16\"}", &node, &err);
	json_t *p0, *ranges;

	(void)state;
	assert_non_null(l);
	assert_string_equal(json_string_value(json_object_get(l, "name")), "weft");
	assert_true(json_is_object(json_object_get(l, INSTALL_MARK)));
	assert_int_equal(json_array_size(json_object_get(l, "plugins")), 3);
	p0 = json_array_get(json_object_get(l, "plugins"), 0);
	assert_string_equal(json_string_value(json_object_get(p0, "type")), "weft-vxlan");
	assert_string_equal(json_string_value(json_object_get(p0, "nodeName")), "n1");
	assert_string_equal(json_string_value(json_object_get(p0, "peersFile")),
			    "/var/lib/cni/weft/weft-nodes.json");
	assert_int_equal(json_integer_value(json_object_get(p0, "vni")), 1);
	assert_true(json_is_true(json_object_get(p0, "ipMasq")));
	ranges = json_object_get(json_object_get(p0, "ipam"), "ranges");
	assert_int_equal(json_array_size(ranges), 1); /* multi-node: clusterCIDR's family */
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_array_get(ranges, 0), 0), "subnet")),
			    "10.244.1.0/24");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(l, "plugins"), 1), "type")),
			    "portmap");
}

/* ebpf shapes by itself: the bandwidth capability on its own entry, no reference bandwidth. */
static void test_ebpf_shapes_itself(void **state)
{
	struct cni_err err;
	_cleanup_json_ json_t *l =
		build("{\"backend\":\"ebpf\",\"clusterCIDR\":\"10.244.0.0/16\"}", &node, &err);
	json_t *plugins, *p0;

	(void)state;
	assert_non_null(l);
	plugins = json_object_get(l, "plugins");
	assert_int_equal(json_array_size(plugins), 2);
	p0 = json_array_get(plugins, 0);
	assert_string_equal(json_string_value(json_object_get(p0, "type")), "weft-ebpf");
	assert_true(
		json_is_true(json_object_get(json_object_get(p0, "capabilities"), "bandwidth")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(plugins, 1), "type")),
			    "portmap");
}

static void test_bridge_no_chain(void **state)
{
	struct cni_err err;
	_cleanup_json_ json_t *l =
		build("{\"backend\":\"bridge\",\"name\":\"pods\",\"portmap\":false,"
		      "\"bandwidth\":false,\"ipMasq\":false,\"mtu\":1400}",
		      &node, &err);
	json_t *p0;

	(void)state;
	assert_non_null(l);
	assert_int_equal(json_array_size(json_object_get(l, "plugins")), 1);
	p0 = json_array_get(json_object_get(l, "plugins"), 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(p0, "ipam"), "ranges")),
			 2);
	assert_null(json_object_get(p0, "peersFile"));
	assert_true(json_is_false(json_object_get(p0, "ipMasq")));
	assert_int_equal(json_integer_value(json_object_get(p0, "mtu")), 1400);
}

static void expect_error(const char *netconf, const struct node_info *n, const char *needle)
{
	struct cni_err err;
	json_t *l = build(netconf, n, &err);

	assert_null(l);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	if (!strstr(err.msg, needle))
		fail_msg("\"%s\" not in \"%s\"", needle, err.msg);
}

static void test_bad(void **state)
{
	struct node_info none = node;

	(void)state;
	none.pod_cidr[0] = none.pod_cidr[1] = NULL;
	expect_error("{\"backend\":\"flannel\"}", &node, "\"backend\"");
	expect_error("{\"name\":\"x\"}", &node, "backend");
	expect_error("{\"backend\":\"vxlan\"}", &node, "clusterCIDR");
	expect_error("{\"backend\":\"bridge\",\"colour\":1}", &node, "\"colour\"");
	expect_error("{\"backend\":\"bridge\",\"mtu\":70000}", &node, "mtu");
	expect_error("{\"backend\":\"bridge\"}", &none, "no pod CIDR");
	none.pod_cidr[0] = "10.244.1.7/24";
	expect_error("{\"backend\":\"bridge\"}", &none, "not a network prefix");
	none.pod_cidr[0] = "10.99.1.0/24";
	expect_error("{\"backend\":\"host-gw\",\"clusterCIDR\":\"10.244.0.0/16\"}", &none,
		     "outside clusterCIDR");
}

struct dirs {
	char root[64], bin[96], conf[96], src[96];
	struct install_opts o;
};

static int dirs_setup(void **state)
{
	static const char plugin[] = WEFT_VERSION_MARK "v-test"; /* a plugin of this version */
	struct dirs *d = calloc(1, sizeof(*d));

	snprintf(d->root, sizeof(d->root), "/tmp/weft-ut-install.XXXXXX");
	assert_non_null(mkdtemp(d->root));
	snprintf(d->bin, sizeof(d->bin), "%s/bin", d->root);
	snprintf(d->conf, sizeof(d->conf), "%s/conf", d->root);
	snprintf(d->src, sizeof(d->src), "%s/src", d->root);
	assert_int_equal(fs_mkdir_p(d->src, 0755), 0);
	for (size_t i = 0; install_plugins[i]; i++) {
		char p[160];

		snprintf(p, sizeof(p), "%s/%s", d->src, install_plugins[i]);
		assert_int_equal(fs_write_atomic(p, plugin, sizeof(plugin), 0755), 0);
	}
	d->o = (struct install_opts){
		.src_dir = d->src, .bin_dir = d->bin, .conf_dir = d->conf, .version = "v-test"};
	*state = d;
	return 0;
}

static int dirs_teardown(void **state)
{
	struct dirs *d = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->root);
	assert_int_equal(system(cmd), 0);
	free(d);
	return 0;
}

static void test_files(void **state)
{
	struct dirs *d = *state;
	struct cni_err err = {0};
	_cleanup_json_ json_t *l = build("{\"backend\":\"bridge\"}", &node, &err),
			      *l2 = json_deep_copy(l);
	char path[160];
	struct stat st;

	assert_int_equal(install_binaries(&d->o, &err), 4);
	assert_int_equal(install_binaries(&d->o, &err), 0); /* identical: untouched */
	snprintf(path, sizeof(path), "%s/weft-ebpf", d->bin);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_mode & S_IXUSR);
	assert_int_equal(install_conflist(&d->o, l, &err), 1);
	assert_int_equal(install_conflist(&d->o, l, &err), 0);
	json_object_set_new(l2, "name", json_string("other"));
	assert_int_equal(install_conflist(&d->o, l2, &err), 1); /* ours: replaced */
	snprintf(path, sizeof(path), "%s/" INSTALL_CONFLIST, d->conf);
	assert_int_equal(fs_write_atomic(path, "{\"name\":\"x\"}", 12, 0644), 0);
	assert_true(install_conflist(&d->o, l, &err) < 0); /* foreign: refused */
	assert_non_null(strstr(err.msg, "--force"));
	assert_true(install_remove(&d->o, &err) < 0);
	assert_int_equal(access(path, F_OK), 0);
	d->o.force = true;
	assert_int_equal(install_conflist(&d->o, l, &err), 1);
	d->o.force = false;
	assert_int_equal(install_remove(&d->o, &err), 0);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/weft-bridge", d->bin);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_peers_file(void **state)
{
	struct dirs *d = *state;
	struct cni_err err = {0};
	char path[160];
	_cleanup_free_ char *s = NULL;

	snprintf(path, sizeof(path), "%s/p/q/weft-nodes.json", d->root);
	assert_int_equal(install_peers_file(path, &err), 0);
	assert_int_equal(fs_read_file(path, 100, &s, NULL), 0);
	assert_string_equal(s, "[]\n");
	assert_int_equal(fs_write_atomic(path, "[1]", 3, 0644), 0);
	assert_int_equal(install_peers_file(path, &err), 0); /* the agent's: kept */
	free(s);
	s = NULL;
	assert_int_equal(fs_read_file(path, 100, &s, NULL), 0);
	assert_string_equal(s, "[1]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vxlan),
		cmocka_unit_test(test_ebpf_shapes_itself),
		cmocka_unit_test(test_bridge_no_chain),
		cmocka_unit_test(test_bad),
		cmocka_unit_test_setup_teardown(test_files, dirs_setup, dirs_teardown),
		cmocka_unit_test_setup_teardown(test_peers_file, dirs_setup, dirs_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The host-local IPAM plugin: a thin vtable over ipam/hostlocal.h, drop-in compatible with
 * the reference host-local (config, on-disk store, messages). See ipam/README.md. */
#include "ipam/config.h"
#include "ipam/hostlocal.h"
#include "common/cni/skel.h"

struct host_local_conf {
	struct ipam_config *c;
};

static int host_local_parse(const struct cni_args *a, void *conf, struct cni_err *err)
{
	struct host_local_conf *hc = conf;
	/* DEL and GC need only dataDir and the name: a config whose ranges no longer validate
	 * must still release what it allocated. */
	bool lenient = a->command == CNI_CMD_DEL || a->command == CNI_CMD_GC;

	return ipam_config_parse(a, json_object_get(a->conf, "ipam"), lenient, &hc->c, err);
}

static void host_local_free(void *conf)
{
	struct host_local_conf *hc = conf;

	ipam_config_free(hc->c);
}

static int host_local_add(const struct cni_args *a, void *conf, struct cni_result *res,
			  struct cni_err *err)
{
	return ipam_hostlocal_add(((struct host_local_conf *)conf)->c, a, res, err);
}

static int host_local_del(const struct cni_args *a, void *conf, struct cni_err *err)
{
	return ipam_hostlocal_del(((struct host_local_conf *)conf)->c, a, NULL, err);
}

static int host_local_check(const struct cni_args *a, void *conf, struct cni_err *err)
{
	return ipam_hostlocal_check(((struct host_local_conf *)conf)->c, a, err);
}

static int host_local_status(const struct cni_args *a, void *conf, struct cni_err *err)
{
	return ipam_hostlocal_status(((struct host_local_conf *)conf)->c, a, err);
}

static int host_local_gc(const struct cni_args *a, void *conf, struct cni_err *err)
{
	return ipam_hostlocal_gc(((struct host_local_conf *)conf)->c, a, NULL, err);
}

static const char *const host_local_args[] = {"IP", NULL};

static const struct cni_plugin host_local_plugin = {
	.name = "host-local",
	.conf_size = sizeof(struct host_local_conf),
	.known_args = host_local_args,
	.parse = host_local_parse,
	.conf_free = host_local_free,
	.add = host_local_add,
	.del = host_local_del,
	.check = host_local_check,
	.status = host_local_status,
	.gc = host_local_gc,
};

int main(int argc, char **argv)
{
	return cni_plugin_main(&host_local_plugin, argc, argv);
}

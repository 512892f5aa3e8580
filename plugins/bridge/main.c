/* SPDX-License-Identifier: Apache-2.0 */
#include "plugins/bridge/bridge.h"

/* IP= is host-local's (requested address), MAC= the container veth's. */
static const char *const bridge_known_args[] = {"IP", "MAC", NULL};

/* struct bridge_conf starts with its podnet_conf: the shared verbs take it as it is. */
static const struct cni_plugin bridge_plugin = {
	.name = "bridge",
	.conf_size = sizeof(struct bridge_conf),
	.known_args = bridge_known_args,
	.parse = bridge_conf_parse,
	.conf_free = bridge_conf_free,
	.add = podnet_add,
	.del = podnet_del,
	.check = podnet_check,
	.status = podnet_status,
	.gc = podnet_gc,
};

int main(int argc, char **argv)
{
	return cni_plugin_main(&bridge_plugin, argc, argv);
}

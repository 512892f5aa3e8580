/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge plugin's configuration (bridge_conf_parse / bridge_conf_free, with its IPAM part),
 * through the skel with the bridge's CNI_ARGS keys. See fuzz-conf.h.
 * fuzz-sources: plugins/bridge/conf.c */
#include "plugins/bridge/bridge.h"
#include "tests/fuzz/fuzz-conf.h"

/* fuzz-max-len: 16384 */

static const char *const known[] = {"IP", "MAC", NULL};

static const struct cni_plugin bridge = {
	.name = "bridge",
	.conf_size = sizeof(struct bridge_conf),
	.known_args = known,
	.parse = bridge_conf_parse,
	.conf_free = bridge_conf_free,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_conf_run(&bridge, data, size);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The ebpf plugin's configuration (ebpf_conf_parse / ebpf_conf_free, with its IPAM part), through
 * the skel with the plugin's CNI_ARGS keys. See fuzz-conf.h.
 * fuzz-sources: plugins/ebpf/ebpf-conf.c */
#include "plugins/ebpf/ebpf.h"
#include "tests/fuzz/fuzz-conf.h"

/* fuzz-max-len: 16384 */

static const char *const known[] = {"IP", NULL};

static const struct cni_plugin ebpf = {
	.name = "ebpf",
	.conf_size = sizeof(struct ebpf_conf),
	.known_args = known,
	.parse = ebpf_conf_parse,
	.conf_free = ebpf_conf_free,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_conf_run(&ebpf, data, size);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge plugin: a drop-in for the reference bridge (docs/cni-contract.md §2).
 * All of it is the shared pod attachment (plugins/lib/podnet.h); this plugin adds nothing.
 *   conf.c   the config entry points (also what tests/fuzz/fuzz-conf-bridge.c fuzzes)
 *   main.c   the vtable */
#ifndef WEFT_BRIDGE_H
#define WEFT_BRIDGE_H

#include "plugins/lib/podnet.h"

struct bridge_conf {
	struct podnet_conf pod;
};

int bridge_conf_parse(const struct cni_args *a, void *conf, struct cni_err *err);
void bridge_conf_free(void *conf);

#endif

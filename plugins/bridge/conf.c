/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge config is exactly the shared attachment config (plugins/lib/podnet-conf.c). */
#include "plugins/bridge/bridge.h"

int bridge_conf_parse(const struct cni_args *a, void *conf, struct cni_err *err)
{
	struct bridge_conf *c = conf;

	return podnet_parse(a, &c->pod, err);
}

void bridge_conf_free(void *conf)
{
	struct bridge_conf *c = conf;

	podnet_conf_free(&c->pod);
}

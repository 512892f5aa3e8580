/* SPDX-License-Identifier: Apache-2.0 */
#include "plugins/host-gw/hostgw.h"

static const char *const hostgw_known_args[] = {"IP", "MAC", NULL};

static int hostgw_parse(const struct cni_args *a, void *conf, struct cni_err *err)
{
	struct hostgw_conf *c = conf;
	int r = podnet_parse(a, &c->pod, err);

	return r < 0 ? r : overlay_parse(a, &c->ov, &c->pod, err);
}

static void hostgw_conf_free(void *conf)
{
	struct hostgw_conf *c = conf;

	overlay_conf_free(&c->ov);
	podnet_conf_free(&c->pod);
}

/* Node-level routes first: a bad peer set fails the ADD before the pod is touched. */
static int hostgw_add(const struct cni_args *a, void *conf, struct cni_result *res,
		      struct cni_err *err)
{
	struct hostgw_conf *c = conf;
	int r = hostgw_node_ensure(a, c, err);

	return r < 0 ? r : podnet_add(a, &c->pod, res, err);
}

/* The pod, then the node routes applied.json records (not the peers: the peers file may not
 * be readable now, and the node routes were made from what it said then). */
static int hostgw_check(const struct cni_args *a, void *conf, struct cni_err *err)
{
	struct hostgw_conf *c = conf;
	int r = podnet_check(a, &c->pod, err);

	return r < 0 ? r : hostgw_node_check(c, err);
}

/* DEL, STATUS and GC are the attachment's: a pod's DEL never touches node state. */
static const struct cni_plugin hostgw_plugin = {
	.name = "host-gw",
	.conf_size = sizeof(struct hostgw_conf),
	.known_args = hostgw_known_args,
	.parse = hostgw_parse,
	.conf_free = hostgw_conf_free,
	.add = hostgw_add,
	.del = podnet_del,
	.check = hostgw_check,
	.status = podnet_status,
	.gc = podnet_gc,
};

int main(int argc, char **argv)
{
	return cni_plugin_main(&hostgw_plugin, argc, argv);
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "common/cleanup.h"
#include "common/cni/conf.h"
#include "plugins/lib/vxlan.h"

static const char *const vxlan_known_args[] = {"IP", "MAC", NULL};

static int vxlan_parse(const struct cni_args *a, void *conf, struct cni_err *err)
{
	struct vxlan_conf *c = conf;
	int r = podnet_parse(a, &c->pod, err);

	if (r >= 0)
		r = overlay_parse(a, &c->ov, &c->pod, err);
	if (r >= 0)
		r = vxlan_conf_parse_keys(a->conf, c, err);
	return r < 0 ? r : 0;
}

static void vxlan_conf_free(void *conf)
{
	struct vxlan_conf *c = conf;

	overlay_conf_free(&c->ov);
	podnet_conf_free(&c->pod);
}

/* The device and the peers first: a bad peer set or a foreign device fails the ADD before
 * the pod is touched; the pods' MTU follows the device's unless "mtu" is given. */
static int vxlan_add(const struct cni_args *a, void *conf, struct cni_result *res,
		     struct cni_err *err)
{
	struct vxlan_conf *c = conf;
	_cleanup_nl_ struct nl *nl = NULL;
	struct vxlan_dev dev;
	int r;

	r = nl_open(&nl, NL_NETNS_SELF, err);
	if (r >= 0)
		r = vxlan_dev_ensure(nl, a->name, c, &dev, err);
	if (r >= 0)
		r = vxlan_node_ensure(nl, a->name, c, &dev, err);
	if (r < 0)
		return r;
	if (!c->pod.mtu)
		c->pod.mtu = dev.mtu;
	return podnet_add(a, &c->pod, res, err);
}

/* The pod, then the device and the entries applied.json records (not the peers: the peers
 * file may not be readable now, and the entries were made from what it said then). */
static int vxlan_check(const struct cni_args *a, void *conf, struct cni_err *err)
{
	struct vxlan_conf *c = conf;
	_cleanup_nl_ struct nl *nl = NULL;
	struct vxlan_dev dev;
	int r;

	r = podnet_check(a, &c->pod, err);
	if (r >= 0)
		r = nl_open(&nl, NL_NETNS_SELF, err);
	if (r >= 0)
		r = vxlan_dev_check(nl, a->name, c, &dev, err);
	if (r >= 0)
		r = vxlan_node_check(nl, a->name, c, &dev, err);
	return r < 0 ? r : 0;
}

/* DEL, STATUS and GC are the attachment's: a pod's DEL never touches node state. */
static const struct cni_plugin vxlan_plugin = {
	.name = "vxlan",
	.conf_size = sizeof(struct vxlan_conf),
	.known_args = vxlan_known_args,
	.parse = vxlan_parse,
	.conf_free = vxlan_conf_free,
	.add = vxlan_add,
	.del = podnet_del,
	.check = vxlan_check,
	.status = podnet_status,
	.gc = podnet_gc,
};

int main(int argc, char **argv)
{
	return cni_plugin_main(&vxlan_plugin, argc, argv);
}

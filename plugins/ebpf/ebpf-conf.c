/* SPDX-License-Identifier: Apache-2.0 */
/* The ebpf plugin's configuration (README.md lists the keys). Apart from main() so the fuzz
 * target tests/fuzz/fuzz-conf-ebpf.c can link it. */
#include <errno.h>

#include "common/cni/conf.h"
#include "plugins/ebpf/ebpf.h"
#include "ipam/ipam.h"
#include "common/cni/skel.h"

/* "peers" / "peersFile" make the network multi-node, with host-gw's keys (plugins/lib/overlay.h):
 * clusterCIDR (required with ipMasq, never masqueraded), nodeName, stateDir,
 * underlayInterface. */
static int multinode_parse(const struct cni_args *a, struct ebpf_conf *conf, struct cni_err *err)
{
	struct podnet_conf pod = {.ip_masq = conf->ip_masq, .ipam = conf->ipam};

	conf->multinode =
		json_object_get(a->conf, "peers") || json_object_get(a->conf, "peersFile");
	if (!conf->multinode)
		return 0;
	return overlay_parse(a, &conf->ov, &pod, err);
}

int ebpf_conf_parse(const struct cni_args *a, void *c, struct cni_err *err)
{
	struct ebpf_conf *conf = c;
	int64_t mtu = 0;
	int r;

	r = inet_addr_parse(EBPF_ROUTER_DEFAULT, &conf->router);
	if (r >= 0)
		r = inet_addr_parse(EBPF_ROUTER6_DEFAULT, &conf->router6);
	if (r >= 0)
		r = conf_bool(a->conf, "ipMasq", CONF_OPTIONAL, &conf->ip_masq, err);
	if (r >= 0)
		r = conf_bool(a->conf, "bigTCP", CONF_OPTIONAL, &conf->big_tcp, err);
	if (r >= 0)
		r = conf_int(a->conf, "mtu", CONF_OPTIONAL, 0, 65535, &mtu, err);
	if (r >= 0)
		r = conf_str_buf(a->conf, "pinRoot", CONF_OPTIONAL, conf->pin_root,
				 sizeof(conf->pin_root) - 64, err);
	if (r >= 0)
		r = bandwidth_parse(a->conf, &conf->bw, err);
	if (r >= 0)
		r = conf_addr(a->conf, "routerAddress", CONF_OPTIONAL, &conf->router, err);
	if (r >= 0)
		r = conf_addr(a->conf, "routerAddress6", CONF_OPTIONAL, &conf->router6, err);
	if (r < 0)
		return r;
	conf->mtu = (uint32_t)mtu;
	if (conf->mtu && conf->mtu < 68)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "mtu %u is below 68", conf->mtu);
	if (conf->pin_root[0] && conf->pin_root[0] != '/')
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "pinRoot \"%s\" is not absolute",
				   conf->pin_root);
	if (conf->router.family != AF_INET)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "routerAddress must be IPv4");
	if (conf->router6.family != AF_INET6)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "routerAddress6 must be IPv6");
	r = ipam_open(a, &conf->ipam, err);
	if (r < 0)
		return r;
	if (!ipam_enabled(conf->ipam))
		return cni_err_set(
			err, CNI_ERR_CONFIG, EINVAL,
			"ebpf needs an \"ipam\" with a type: pods are routed, not bridged");
	return multinode_parse(a, conf, err);
}

void ebpf_conf_free(void *c)
{
	struct ebpf_conf *conf = c;

	overlay_conf_free(&conf->ov);
	ipam_close(conf->ipam);
}

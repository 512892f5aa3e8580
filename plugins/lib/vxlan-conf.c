/* SPDX-License-Identifier: Apache-2.0 */
/* vxlan's own keys (vni, port, udpChecksum, vxlanDevice), shared by the vxlan plugin, weft-node
 * and the fuzz target tests/fuzz/fuzz-conf-overlay.c. */
#include <stdio.h>

#include "common/cni/conf.h"
#include "plugins/lib/vxlan.h"

int vxlan_conf_parse_keys(const json_t *j, struct vxlan_conf *c, struct cni_err *err)
{
	int64_t vni = VXLAN_DEFAULT_VNI, port = VXLAN_DEFAULT_PORT;
	int r;

	r = conf_int(j, "vni", CONF_OPTIONAL, 1, (1 << 24) - 1, &vni, err);
	if (r >= 0)
		r = conf_int(j, "port", CONF_OPTIONAL, 1, 65535, &port, err);
	if (r >= 0)
		r = conf_bool(j, "udpChecksum", CONF_OPTIONAL, &c->udp_csum, err);
	if (r < 0)
		return r;
	c->vni = (uint32_t)vni;
	c->port = (uint16_t)port;
	snprintf(c->dev, sizeof(c->dev), "weft.%u", c->vni);
	r = conf_str_buf(j, "vxlanDevice", CONF_OPTIONAL, c->dev, sizeof(c->dev), err);
	if (r >= 0 && !cni_valid_ifname(c->dev))
		r = cni_err_set(err, CNI_ERR_CONFIG, 0, "invalid \"vxlanDevice\": \"%s\"", c->dev);
	return r;
}

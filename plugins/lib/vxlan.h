/* SPDX-License-Identifier: Apache-2.0 */
/* The vxlan network: pods attached locally as the bridge plugin does (plugins/lib/podnet.h), and an
 * overlay to the other nodes (plugins/lib/overlay.h): one vxlan device per network and, per other
 * node, one permanent neighbour, one FDB entry and one onlink route (flannel's model, no
 * L2/L3-miss daemon). Shared by the vxlan plugin (plugins/vxlan/main.c: config and verbs) and
 * weft-node (agent/), which applies the same node-level state when the cluster changes.
 *   vxlan-conf.c   vxlan's own keys
 *   vxlan-dev.c    the vxlan device: underlay, MTU, VTEP MAC, create or verify
 *   vxlan-node.c   the per-node entries */
#ifndef WEFT_VXLAN_H
#define WEFT_VXLAN_H

#include <net/if.h>

#include "common/nl/nl.h"
#include "plugins/lib/overlay.h"
#include "plugins/lib/podnet.h"

#define VXLAN_DEFAULT_VNI  1
#define VXLAN_DEFAULT_PORT 4789 /* IANA; the kernel's own default is 8472 */
#define VXLAN_RTPROT	   0x57 /* rtm_protocol of weft's node routes */
#define VXLAN_OVERHEAD_V4  50	/* inner Ethernet 14 + VXLAN 8 + UDP 8 + IPv4 20 */
#define VXLAN_OVERHEAD_V6  70	/* ... + IPv6 40 */

struct vxlan_conf {
	struct podnet_conf pod; /* first: the podnet verbs take the whole conf */
	struct overlay_conf ov;
	uint32_t vni;
	uint16_t port;
	bool udp_csum;
	char dev[IFNAMSIZ]; /* vxlanDevice, default "weft.<vni>" */
	/* weft-node: a device with another local address of the family is moved to this node's
	 * (its InternalIP changed in the API), where a plugin refuses it (code 7) */
	bool move_local;
};

/* conf.c: vni, port, udpChecksum, vxlanDevice of the config object j. Code 7 when bad. */
int vxlan_conf_parse_keys(const json_t *j, struct vxlan_conf *c, struct cni_err *err);

/* What dev.c found or made. */
struct vxlan_dev {
	int ifindex;
	uint32_t mtu;
	struct inet_addr local; /* this node's underlay address */
	uint8_t mac[6];
};

int vxlan_dev_ensure(struct nl *nl, const char *network, const struct vxlan_conf *c,
		     struct vxlan_dev *ret, struct cni_err *err);
int vxlan_node_ensure(struct nl *nl, const char *network, const struct vxlan_conf *c,
		      const struct vxlan_dev *dev, struct cni_err *err);
/* CHECK: the device has the parameters ADD gives it (code 100 naming the one that differs;
 * *ret as vxlan_dev_ensure fills it) ... */
int vxlan_dev_check(struct nl *nl, const char *network, const struct vxlan_conf *c,
		    struct vxlan_dev *ret, struct cni_err *err);
/* ... and the entries of every peer applied.json records are on it (code 100 naming the peer
 * and the missing entry). */
int vxlan_node_check(struct nl *nl, const char *network, const struct vxlan_conf *c,
		     const struct vxlan_dev *dev, struct cni_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* This node's pod CIDRs from its Node object (spec.podCIDRs, else spec.podCIDR), read once with
 * the agent's API client: GET /api/v1/nodes/<name>. */
#ifndef WEFT_INSTALL_NODE_H
#define WEFT_INSTALL_NODE_H

#include <stddef.h>

#include "common/cni-error.h"

#define NODE_CIDR_LEN 64

/* kubeconfig NULL: in-cluster. Fills cidrs[0..1] ("" when absent); code 7 when the node has no
 * pod CIDR, code 5 when the API cannot be reached or answers an error (the status in the
 * message). */
int node_pod_cidrs(const char *kubeconfig, const char *node, char cidrs[2][NODE_CIDR_LEN],
		   struct cni_err *err);

#endif

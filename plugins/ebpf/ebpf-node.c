/* SPDX-License-Identifier: Apache-2.0 */
/* The node level of a multi-node ebpf network: the routes and remote map entries of
 * plugins/lib/overlay-remote.h (weft-node applies the same), reconciled against the peer set
 * under the overlay lock (plugins/lib/overlay.h). */
#include "plugins/ebpf/ebpf.h"
#include "plugins/lib/overlay-remote.h"

int ebpf_node_ensure(const struct ebpf_conf *conf, const struct ebpf_dp *dp, struct cni_err *err)
{
	struct overlay_remote n;
	struct overlay_ops ops;
	char params[160];
	int r = overlay_remote_open(&n, dp->fd[EBPF_PIN_REMOTE], conf->ov.underlay, err);

	if (r < 0)
		return r;
	overlay_remote_params(&n, params, sizeof(params));
	overlay_remote_ops(&n, &conf->ov, &ops);
	r = overlay_reconcile(&conf->ov, params, &ops, err);
	overlay_remote_close(&n);
	if (r < 0)
		return cni_err_wrap(err, "ebpf node routes");
	return 0;
}

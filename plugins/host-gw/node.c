/* SPDX-License-Identifier: Apache-2.0 */
/* host-gw's node-level state: per other node one route "<podCIDR> via <nodeIP> dev
 * <underlay>" (plugins/lib/overlay-routes.h), reconciled against the peer set on ADD and checked
 * against applied.json on CHECK. */
#include "plugins/host-gw/hostgw.h"
#include "plugins/lib/overlay-routes.h"

static int node_open(struct overlay_routes *n, const struct hostgw_conf *c, char *params,
		     size_t len, struct cni_err *err)
{
	int r = overlay_routes_open(n, c->ov.underlay, "host-gw", err);

	if (r >= 0)
		overlay_routes_params(n, params, len);
	return r;
}

int hostgw_node_ensure(const struct cni_args *a, struct hostgw_conf *c, struct cni_err *err)
{
	struct overlay_routes n;
	struct overlay_ops ops;
	char params[64];
	int r;

	(void)a;
	r = node_open(&n, c, params, sizeof(params), err);
	if (r < 0)
		return r;
	overlay_routes_ops(&n, &c->ov, &ops);
	r = overlay_reconcile(&c->ov, params, &ops, err);
	overlay_routes_close(&n);
	if (r < 0)
		return cni_err_wrap(err, "host-gw routes");
	return 0;
}

int hostgw_node_check(const struct hostgw_conf *c, struct cni_err *err)
{
	struct overlay_routes n;
	struct overlay_ops ops = {.ctx = &n, .peer_check = overlay_routes_check};
	char params[64];
	int r;

	r = node_open(&n, c, params, sizeof(params), err);
	if (r < 0)
		return r;
	r = overlay_reconcile_check(&c->ov, params, &ops, err);
	overlay_routes_close(&n);
	if (r < 0)
		return cni_err_wrap(err, "host-gw routes");
	return 0;
}

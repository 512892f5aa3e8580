/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/install/node.h"
#include "agent/kube.h"
#include "common/cleanup.h"

#define NODE_BODY_MAX (4u << 20)

struct body {
	char *buf;
	size_t len;
};

static size_t body_write(char *p, size_t sz, size_t n, void *ud)
{
	struct body *b = ud;
	size_t k = sz * n;
	char *nb;

	if (b->len + k > NODE_BODY_MAX || !(nb = realloc(b->buf, b->len + k + 1)))
		return 0;
	memcpy(nb + b->len, p, k);
	b->buf = nb;
	b->len += k;
	b->buf[b->len] = '\0';
	return k;
}

static int get_node(struct kube *k, const char *node, struct body *b, struct cni_err *err)
{
	char path[512];
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	long status = 0;
	CURLcode rc;
	int r;

	if (!h)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "curl");
	snprintf(path, sizeof(path), "/api/v1/nodes/%s", node);
	r = kube_setup(k, h, path, 30, &hdrs, err);
	if (r >= 0) {
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
		rc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (rc != CURLE_OK)
			r = cni_err_setd(err, CNI_ERR_IO, EIO, curl_easy_strerror(rc), "GET %s",
					 path);
		else if (status != 200)
			r = cni_err_setd(err, CNI_ERR_IO, EIO, b->buf ? b->buf : "",
					 "GET %s: HTTP %ld%s", path, status,
					 status == 401 || status == 403 ? " (credentials / RBAC)"
									: "");
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return r;
}

static int pick_cidrs(const json_t *spec, const char *node, char cidrs[2][NODE_CIDR_LEN],
		      struct cni_err *err)
{
	const json_t *list = json_object_get(spec, "podCIDRs"), *v;
	const char *one = json_string_value(json_object_get(spec, "podCIDR"));
	size_t i, n = 0;

	cidrs[0][0] = cidrs[1][0] = '\0';
	json_array_foreach(list, i, v) if (json_is_string(v) && n < 2)
		snprintf(cidrs[n++], NODE_CIDR_LEN, "%s", json_string_value(v));
	if (!n && one && *one)
		snprintf(cidrs[n++], NODE_CIDR_LEN, "%s", one);
	if (!n)
		return cni_err_set(
			err, CNI_ERR_CONFIG, 0,
			"node %s has no spec.podCIDR yet: is kube-controller-manager run "
			"with --allocate-node-cidrs=true --cluster-cidr=...?",
			node);
	return 0;
}

int node_pod_cidrs(const char *kubeconfig, const char *node, char cidrs[2][NODE_CIDR_LEN],
		   struct cni_err *err)
{
	struct kube_config cfg = {0};
	struct kube k = {0};
	struct body b = {0};
	_cleanup_json_ json_t *j = NULL;
	int r = kubeconfig ? kube_config_load(kubeconfig, &cfg, err)
			   : kube_config_in_cluster(KUBE_SA_DIR, &cfg, err);

	if (r < 0)
		return r;
	r = kube_init(&k, &cfg, err);
	if (r >= 0)
		r = get_node(&k, node, &b, err);
	if (r >= 0 && !(j = json_loads(b.buf, 0, NULL)))
		r = cni_err_set(err, CNI_ERR_DECODE, EINVAL, "node %s: the API answered no JSON",
				node);
	if (r >= 0)
		r = pick_cidrs(json_object_get(j, "spec"), node, cidrs, err);
	free(b.buf);
	kube_fini(&k);
	kube_config_free(&cfg);
	return r;
}

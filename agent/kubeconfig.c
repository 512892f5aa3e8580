/* SPDX-License-Identifier: Apache-2.0 */
/* kubeconfig (libyaml's document API) and the in-cluster configuration. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "agent/kubeconfig.h"
#include "common/cleanup.h"
#include "netns-tools/runtime/runtime.h"

#define KUBECONFIG_MAX (4u << 20)
#define BAD(err, ...)  cni_err_set(err, CNI_ERR_CONFIG, 0, __VA_ARGS__)

void kube_config_free(struct kube_config *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->ca_file);
	free(c->ca_data.data);
	free(c->token);
	free(c->token_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_data.data);
	free(c->key_data.data);
	memset(c, 0, sizeof(*c));
}

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

/* The scalar's text, or NULL (absent, not a scalar, or empty). */
static const char *scalar(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE || !n->data.scalar.length)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* In the sequence root[list] of {name: ..., <field>: {...}}, the <field> of the entry named
 * name (the first entry when name is NULL). */
static yaml_node_t *named(yaml_document_t *d, yaml_node_t *root, const char *list, const char *name,
			  const char *field)
{
	yaml_node_t *seq = map_get(d, root, list);

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
	     i++) {
		yaml_node_t *e = yaml_document_get_node(d, *i);
		const char *n = scalar(map_get(d, e, "name"));

		if (!name || (n && strcmp(n, name) == 0))
			return map_get(d, e, field);
	}
	return NULL;
}

static int dup_path(const char *base_dir, const char *p, char **ret, struct cni_err *err)
{
	int r = p[0] == '/' || !base_dir ? asprintf(ret, "%s", p)
					 : asprintf(ret, "%s/%s", base_dir, p);

	return r < 0 ? cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "kubeconfig") : 0;
}

static int dup_b64(const char *field, const char *s, struct kube_blob *ret, struct cni_err *err)
{
	int r = rt_base64_decode(s, &ret->data, &ret->len);

	return r < 0 ? BAD(err, "kubeconfig: %s is not valid base64", field) : 0;
}

/* A file path field or its -data twin; neither is fine. */
static int file_or_data(yaml_document_t *d, yaml_node_t *m, const char *field, const char *base,
			char **ret_file, struct kube_blob *ret_data, struct cni_err *err)
{
	char data_field[64];
	const char *f = scalar(map_get(d, m, field)), *v;

	snprintf(data_field, sizeof(data_field), "%s-data", field);
	v = scalar(map_get(d, m, data_field));
	if (v)
		return dup_b64(data_field, v, ret_data, err);
	return f ? dup_path(base, f, ret_file, err) : 0;
}

static int parse_cluster(yaml_document_t *d, yaml_node_t *cl, const char *base,
			 struct kube_config *c, struct cni_err *err)
{
	const char *server = scalar(map_get(d, cl, "server")), *ins;
	size_t n;

	if (!server)
		return BAD(err, "kubeconfig: the cluster has no \"server\"");
	if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
		return BAD(err, "kubeconfig: server \"%s\" is not an http(s) URL", server);
	c->server = strdup(server);
	if (!c->server)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "kubeconfig");
	n = strlen(c->server);
	while (n > 8 && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	ins = scalar(map_get(d, cl, "insecure-skip-tls-verify"));
	c->insecure = ins && strcmp(ins, "true") == 0;
	return file_or_data(d, cl, "certificate-authority", base, &c->ca_file, &c->ca_data, err);
}

static int parse_user(yaml_document_t *d, yaml_node_t *u, const char *base, struct kube_config *c,
		      struct cni_err *err)
{
	const char *tok = scalar(map_get(d, u, "token")), *tf = scalar(map_get(d, u, "tokenFile"));
	int r = 0;

	if (tok && !(c->token = strdup(tok)))
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "kubeconfig");
	if (!tok && tf)
		r = dup_path(base, tf, &c->token_file, err);
	if (r >= 0)
		r = file_or_data(d, u, "client-certificate", base, &c->cert_file, &c->cert_data,
				 err);
	if (r >= 0)
		r = file_or_data(d, u, "client-key", base, &c->key_file, &c->key_data, err);
	if (r >= 0 &&
	    (!!(c->cert_file || c->cert_data.data) != !!(c->key_file || c->key_data.data)))
		r = BAD(err, "kubeconfig: a client certificate needs its key (and a key its "
			     "certificate)");
	return r;
}

static int parse_doc(yaml_document_t *d, const char *base, struct kube_config *c,
		     struct cni_err *err)
{
	yaml_node_t *root = yaml_document_get_root_node(d), *ctx, *cl, *u;
	const char *cur = scalar(map_get(d, root, "current-context"));
	const char *cname, *uname;
	int r;

	if (!root || root->type != YAML_MAPPING_NODE)
		return BAD(err, "kubeconfig: not a YAML mapping");
	ctx = named(d, root, "contexts", cur, "context");
	if (!ctx)
		return BAD(err, "kubeconfig: context \"%s\" not found", cur ? cur : "(first)");
	cname = scalar(map_get(d, ctx, "cluster"));
	uname = scalar(map_get(d, ctx, "user"));
	cl = cname ? named(d, root, "clusters", cname, "cluster") : NULL;
	if (!cl)
		return BAD(err, "kubeconfig: cluster \"%s\" not found", cname ? cname : "");
	r = parse_cluster(d, cl, base, c, err);
	if (r < 0 || !uname)
		return r;
	u = named(d, root, "users", uname, "user");
	if (!u)
		return BAD(err, "kubeconfig: user \"%s\" not found", uname);
	return parse_user(d, u, base, c, err);
}

int kube_config_parse(const char *yaml, size_t len, const char *base_dir, struct kube_config *ret,
		      struct cni_err *err)
{
	yaml_parser_t p;
	yaml_document_t d;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!yaml_parser_initialize(&p))
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "kubeconfig");
	yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&p, &d)) {
		r = BAD(err, "kubeconfig: YAML error at line %zu: %s", p.problem_mark.line + 1,
			p.problem ? p.problem : "?");
		yaml_parser_delete(&p);
		return r;
	}
	r = parse_doc(&d, base_dir, ret, err);
	yaml_document_delete(&d);
	yaml_parser_delete(&p);
	if (r < 0)
		kube_config_free(ret);
	return r;
}

static int read_file(const char *path, char **ret, size_t *ret_len, struct cni_err *err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_free_ char *buf = NULL;
	size_t n;

	if (!f)
		return cni_err_set(err, CNI_ERR_CONFIG, errno, "cannot read \"%s\"", path);
	buf = malloc(KUBECONFIG_MAX + 1);
	if (!buf)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "%s", path);
	n = fread(buf, 1, KUBECONFIG_MAX + 1, f);
	if (n > KUBECONFIG_MAX)
		return cni_err_set(err, CNI_ERR_CONFIG, EFBIG, "\"%s\" is larger than %u bytes",
				   path, KUBECONFIG_MAX);
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = n;
	return 0;
}

int kube_config_load(const char *path, struct kube_config *ret, struct cni_err *err)
{
	_cleanup_free_ char *buf = NULL, *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	size_t n = 0;
	int r;

	if (!dir)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "%s", path);
	r = read_file(path, &buf, &n, err);
	if (r < 0)
		return r;
	if (slash)
		*slash = '\0';
	r = kube_config_parse(buf, n, slash ? (dir[0] ? dir : "/") : ".", ret, err);
	return r < 0 ? cni_err_wrap(err, "%s", path) : 0;
}

int kube_config_in_cluster(const char *sa_dir, struct kube_config *ret, struct cni_err *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	bool v6 = host && strchr(host, ':');
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!host || !*host || !port || !*port)
		return BAD(err, "not in a cluster (KUBERNETES_SERVICE_HOST/_PORT unset) and no "
				"--kubeconfig");
	r = asprintf(&ret->server, v6 ? "https://[%s]:%s" : "https://%s:%s", host, port);
	if (r >= 0)
		r = asprintf(&ret->ca_file, "%s/ca.crt", sa_dir);
	if (r >= 0)
		r = asprintf(&ret->token_file, "%s/token", sa_dir);
	if (r < 0) {
		kube_config_free(ret);
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "in-cluster config");
	}
	return 0;
}

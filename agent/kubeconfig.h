/* SPDX-License-Identifier: Apache-2.0 */
/* Where the Kubernetes API is and how to authenticate: a kubeconfig file (YAML, read with
 * libyaml: the current context's cluster server, certificate-authority(-data),
 * insecure-skip-tls-verify, and its user's token, tokenFile, client-certificate(-data) and
 * client-key(-data); relative paths are relative to the file) or the in-cluster service account
 * (KUBERNETES_SERVICE_HOST/_PORT, <sa dir>/ca.crt and <sa dir>/token). A token file is re-read
 * by the client whenever it changes (service account tokens rotate). */
#ifndef WEFT_AGENT_KUBECONFIG_H
#define WEFT_AGENT_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cni-error.h"

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_blob {
	char *data; /* decoded bytes (PEM), NUL-terminated, or NULL */
	size_t len;
};

struct kube_config {
	char *server;		  /* "https://host:port", no trailing slash */
	char *ca_file;		  /* NULL: ca_data or the system's CAs */
	struct kube_blob ca_data; /* certificate-authority-data */
	bool insecure;		  /* insecure-skip-tls-verify */
	char *token;		  /* a static bearer token */
	char *token_file;	  /* re-read when it changes */
	char *cert_file, *key_file;
	struct kube_blob cert_data, key_data;
};

void kube_config_free(struct kube_config *c);

/* Parses kubeconfig YAML (len bytes); base_dir resolves relative paths. Code 7 naming what is
 * missing or wrong. */
int kube_config_parse(const char *yaml, size_t len, const char *base_dir, struct kube_config *ret,
		      struct cni_err *err);
/* Reads and parses a kubeconfig file. */
int kube_config_load(const char *path, struct kube_config *ret, struct cni_err *err);
/* The in-cluster configuration from the environment and sa_dir (KUBE_SA_DIR in a pod). */
int kube_config_in_cluster(const char *sa_dir, struct kube_config *ret, struct cni_err *err);

#endif

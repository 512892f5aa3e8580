/* SPDX-License-Identifier: Apache-2.0 */
/* The libcurl side of the API client (see kube.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/kube.h"
#include "common/cleanup.h"
#include "common/log.h"

int kube_init(struct kube *k, struct kube_config *cfg, struct cni_err *err)
{
	memset(k, 0, sizeof(*k));
	k->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, 0, "libcurl initialisation failed");
	return 0;
}

void kube_fini(struct kube *k)
{
	kube_config_free(&k->cfg);
	free(k->token);
	explicit_bzero(k->auth, sizeof(k->auth));
	k->token = NULL;
}

/* Re-reads the token file when it changed; trailing whitespace dropped. */
static int token_refresh(struct kube *k, struct cni_err *err)
{
	_cleanup_close_ int fd = -1;
	char buf[4096];
	struct stat st;
	ssize_t n;

	if (!k->cfg.token_file)
		return 0;
	fd = open(k->cfg.token_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, errno, "token file \"%s\" is unreadable",
				   k->cfg.token_file);
	if (k->token && st.st_mtim.tv_sec == k->token_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == k->token_mtime.tv_nsec && st.st_size == k->token_size)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, errno, "read token file \"%s\"",
				   k->cfg.token_file);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	free(k->token);
	k->token = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (!k->token)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "token");
	if (k->token_size || k->token_mtime.tv_sec)
		log_info("token file %s changed: using the new token", k->cfg.token_file);
	k->token_mtime = st.st_mtim;
	k->token_size = st.st_size;
	return 0;
}

static int auth_header(struct kube *k, struct curl_slist **hdrs, struct cni_err *err)
{
	struct curl_slist *l;
	int r = token_refresh(k, err);
	const char *tok = k->cfg.token ? k->cfg.token : k->token;
	if (r < 0 || !tok || !*tok)
		return r;
	if (strlen(tok) + 32 > sizeof(k->auth))
		return cni_err_set(err, CNI_ERR_CONFIG, E2BIG, "the bearer token is too long");
	snprintf(k->auth, sizeof(k->auth), "Authorization: Bearer %s", tok);
	l = curl_slist_append(*hdrs, k->auth);
	if (!l)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "headers");
	*hdrs = l;
	return 0;
}

static void blob(CURL *h, CURLoption opt, const struct kube_blob *b)
{
	struct curl_blob cb = {.data = b->data, .len = b->len, .flags = CURL_BLOB_COPY};

	curl_easy_setopt(h, opt, &cb);
}

static void tls(struct kube *k, CURL *h)
{
	const struct kube_config *c = &k->cfg;

	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (c->ca_data.data)
		blob(h, CURLOPT_CAINFO_BLOB, &c->ca_data);
	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->cert_file)
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
	if (c->cert_data.data)
		blob(h, CURLOPT_SSLCERT_BLOB, &c->cert_data);
	if (c->key_file)
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
	if (c->key_data.data)
		blob(h, CURLOPT_SSLKEY_BLOB, &c->key_data);
}

int kube_setup(struct kube *k, CURL *h, const char *path_query, long timeout_s,
	       struct curl_slist **hdrs, struct cni_err *err)
{
	_cleanup_free_ char *url = NULL;
	struct curl_slist *l;
	int r;

	*hdrs = NULL;
	if (asprintf(&url, "%s%s", k->cfg.server, path_query) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "url");
	l = curl_slist_append(NULL, "Accept: application/json");
	if (!l)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "headers");
	*hdrs = l;
	r = auth_header(k, hdrs, err);
	if (r < 0)
		return r;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "weft-node");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
	/* A dead server or path is found by the kernel's keepalive probes, not by a timer of
	 * ours: an idle watch costs no wake-up. */
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
	tls(k, h);
	return 0;
}

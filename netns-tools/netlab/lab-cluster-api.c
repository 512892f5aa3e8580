/* SPDX-License-Identifier: Apache-2.0 */
/* The cluster scenario's API server: tests/kubeapi/kubeapi.py (a test double of the Kubernetes
 * API protocol) run by netlab as a recorded process in the switch's netns, listening on the
 * underlay bridge (CL_API_ADDR:CL_API_PORT, TLS, a bearer token) and on the loopback of that
 * netns for its admin interface, which netlab calls over plain HTTP from a socket opened in
 * there. */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/netns.h"
#include "netns-tools/netlab/lab-cluster.h"

#define ADMIN_TIMEOUT_MS 30000
#define ADMIN_REPLY_MAX	 (1u << 20)

static const char *token(const struct lab *lab, char *buf, size_t len)
{
	snprintf(buf, len, "netlab-%s", lab->id);
	return buf;
}

/* NETLAB_KUBEAPI, else <netlab's dir>/../../tests/kubeapi/kubeapi.py (build/bin of a checkout),
 * resolved into buf (PATH_MAX). */
static int kubeapi_path(const struct lab *lab, char *buf)
{
	const char *env = getenv("NETLAB_KUBEAPI");
	char p[PATH_MAX + 64];

	if (env && *env)
		snprintf(p, sizeof(p), "%s", env);
	else
		snprintf(p, sizeof(p), "%s/../../tests/kubeapi/kubeapi.py", lab->bin_dir);
	if (!realpath(p, buf) || access(buf, R_OK) < 0) {
		fprintf(stderr,
			"netlab: no Kubernetes API test double at %s (--kubeapi PATH: "
			"tests/kubeapi/kubeapi.py of a weft checkout)\n",
			p);
		return -ENOENT;
	}
	return 0;
}

static int make_certs(struct lab *lab, const char *kubeapi)
{
	char mk[PATH_MAX + 16], dir[PATH_MAX], pki[PATH_MAX + 8], bin[PATH_MAX];

	if (!lab_find_bin("openssl", bin, sizeof(bin))) {
		fprintf(stderr, "netlab: cluster needs openssl for the API server's certificates "
				"(apt-get install openssl)\n");
		return -ENOENT;
	}
	snprintf(dir, sizeof(dir), "%s", kubeapi);
	snprintf(mk, sizeof(mk), "%s/mkcerts.sh", dirname(dir));
	snprintf(pki, sizeof(pki), "%s/pki", lab->dir);
	return lab_cmd(lab, mk, pki, "IP:" CL_API_ADDR, NULL);
}

static bool ports_written(const struct lab *lab, int timeout_ms)
{
	char path[PATH_MAX + 8];
	struct timespec ts = {0, 20 * 1000 * 1000};

	snprintf(path, sizeof(path), "%s/ports", lab->dir);
	for (int t = 0; t < timeout_ms; t += 20) {
		if (access(path, F_OK) == 0)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static pid_t spawn_api(struct lab *lab, const struct cl *c, const char *kubeapi, const char *py)
{
	char cert[PATH_MAX + 16], key[PATH_MAX + 16], ports[PATH_MAX + 8], log[PATH_MAX + 16];
	char tok[128];
	char listen[32], admin[32];
	char *const argv[] = {(char *)py,
			      (char *)kubeapi,
			      "--cert",
			      cert,
			      "--key",
			      key,
			      "--token",
			      (char *)token(lab, tok, sizeof(tok)),
			      "--listen",
			      listen,
			      "--admin",
			      admin,
			      "--ports-file",
			      ports,
			      NULL};

	snprintf(cert, sizeof(cert), "%s/pki/server.crt", lab->dir);
	snprintf(key, sizeof(key), "%s/pki/server.key", lab->dir);
	snprintf(ports, sizeof(ports), "%s/ports", lab->dir);
	snprintf(log, sizeof(log), "%s/kubeapi.log", lab->dir);
	snprintf(listen, sizeof(listen), "%s:%d", CL_API_ADDR, CL_API_PORT);
	snprintf(admin, sizeof(admin), "127.0.0.1:%d", CL_ADMIN_PORT);
	return lab_spawn_in(lab, c->sw, argv, log);
}

int cl_api_start(struct lab *lab, const struct cl *c)
{
	char kubeapi[PATH_MAX], py[PATH_MAX];
	pid_t pid;
	int r = kubeapi_path(lab, kubeapi);

	if (r < 0)
		return r;
	if (!lab_find_bin("python3", py, sizeof(py))) {
		fprintf(stderr, "netlab: cluster needs python3 for %s\n", kubeapi);
		return -ENOENT;
	}
	r = make_certs(lab, kubeapi);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", c->sw, "addr", "add", CL_API_ADDR "/24", "dev", "sw0",
			    NULL);
	if (r < 0)
		return r;
	pid = spawn_api(lab, c, kubeapi, py);
	if (pid < 0)
		return (int)pid;
	if (!ports_written(lab, 10000)) {
		fprintf(stderr, "netlab: the API server did not start (%s/kubeapi.log)\n",
			lab->dir);
		return -ETIMEDOUT;
	}
	lab_step(lab, "API server %s (pid %d) on https://%s:%d, admin on 127.0.0.1:%d in %s",
		 kubeapi, (int)pid, CL_API_ADDR, CL_API_PORT, CL_ADMIN_PORT, c->sw);
	return 0;
}

int cl_kubeconfig(const struct lab *lab, const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "we");
	char tok[128];

	if (!f)
		return -errno;
	fprintf(f,
		"apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
		"clusters:\n- name: lab\n  cluster:\n    server: https://%s:%d\n"
		"    certificate-authority: %s/pki/ca.crt\n"
		"contexts:\n- name: lab\n  context:\n    cluster: lab\n    user: node\n"
		"users:\n- name: node\n  user:\n    token: %s\n",
		CL_API_ADDR, CL_API_PORT, lab->dir, token(lab, tok, sizeof(tok)));
	return ferror(f) ? -EIO : 0;
}

static int connect_in(void *arg, struct cni_err *err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(CL_ADMIN_PORT),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int *fd = arg;

	(void)err;
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	if (connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(*fd);
		*fd = -1;
		return r;
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -EIO;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

int cl_admin_send(const struct lab *lab, const char *method, const char *path, const char *body)
{
	char sw[96], ns[PATH_MAX];
	struct cni_err err = {0};
	_cleanup_free_ char *req = NULL;
	int fd = -1, r, n;

	lab_netns_path(lab_name(lab, "sw", sw, sizeof(sw)), ns, sizeof(ns));
	r = netns_exec_path(ns, connect_in, &fd, &err);
	if (r < 0)
		return r;
	n = asprintf(&req,
		     "%s %s HTTP/1.1\r\nHost: kubeapi\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     method, path, body ? strlen(body) : 0, body ? body : "");
	if (n < 0 || write_all(fd, req, (size_t)n) < 0) {
		close(fd);
		return -EIO;
	}
	return fd;
}

static int read_reply(int fd, char *buf, size_t cap)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t len = 0;
	ssize_t k;

	while (len + 1 < cap && poll(&p, 1, ADMIN_TIMEOUT_MS) > 0) {
		k = read(fd, buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	buf[len] = '\0';
	return (int)len;
}

int cl_admin_recv(int fd, char **out)
{
	_cleanup_free_ char *buf = malloc(ADMIN_REPLY_MAX);
	const char *body;
	int code = 0;

	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	read_reply(fd, buf, ADMIN_REPLY_MAX);
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1)
		return -EPROTO;
	body = strstr(buf, "\r\n\r\n");
	if (out)
		*out = strdup(body ? body + 4 : "");
	return code;
}

int cl_admin(const struct lab *lab, const char *method, const char *path, const char *body,
	     char **out)
{
	int fd = cl_admin_send(lab, method, path, body);

	return fd < 0 ? fd : cl_admin_recv(fd, out);
}

json_t *cl_node_json(const char *name, int cidr, const char *ip)
{
	char pod_cidr[32];

	snprintf(pod_cidr, sizeof(pod_cidr), "10.244.%d.0/24", cidr);
	return json_pack("{s:{s:s},s:{s:s,s:[s]},s:{s:[{s:s,s:s},{s:s,s:s}]}}", "metadata", "name",
			 name, "spec", "podCIDR", pod_cidr, "podCIDRs", pod_cidr, "status",
			 "addresses", "type", "Hostname", "address", name, "type", "InternalIP",
			 "address", ip);
}

int cl_node_post(const struct lab *lab, const char *name, int cidr, const char *ip)
{
	_cleanup_json_ json_t *j = cl_node_json(name, cidr, ip);
	_cleanup_free_ char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (!body)
		return -ENOMEM;
	return cl_admin(lab, "POST", "/objects/api/v1/nodes", body, NULL) == 200 ? 0 : -EIO;
}

int cl_node_delete(const struct lab *lab, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/objects/api/v1/nodes/%s", name);
	return cl_admin(lab, "DELETE", path, NULL, NULL) == 200 ? 0 : -EIO;
}

long cl_api_stat(const struct lab *lab, const char *key)
{
	_cleanup_free_ char *out = NULL;
	_cleanup_json_ json_t *j = NULL;

	if (cl_admin(lab, "GET", "/stats", NULL, &out) != 200 || !out)
		return -1;
	j = json_loads(out, 0, NULL);
	return json_is_integer(json_object_get(j, key))
		       ? (long)json_integer_value(json_object_get(j, key))
		       : -1;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The API server of the scenarios with weft-node (lab-kube.h): tests/kubeapi/kubeapi.py (a test
 * double of the Kubernetes API protocol) run by netlab as a recorded process in the switch's
 * netns, listening on the underlay bridge (KUBE_API_ADDR:KUBE_API_PORT, TLS, a bearer token)
 * and on the loopback of that netns for its admin interface, which netlab calls over plain
 * HTTP from a socket opened in there; the agents, one per node netns. */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/netns.h"
#include "netns-tools/netlab/lab-kube.h"

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
	return lab_cmd(lab, mk, pki, "IP:" KUBE_API_ADDR, NULL);
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

static pid_t spawn_api(struct lab *lab, const char *sw, const char *kubeapi, const char *py)
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
	snprintf(listen, sizeof(listen), "%s:%d", KUBE_API_ADDR, KUBE_API_PORT);
	snprintf(admin, sizeof(admin), "127.0.0.1:%d", KUBE_ADMIN_PORT);
	return lab_spawn_in(lab, sw, argv, log);
}

int kube_api_start(struct lab *lab, const char *sw)
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
		r = lab_cmd(lab, "ip", "-n", sw, "addr", "add", KUBE_API_ADDR "/24", "dev", "sw0",
			    NULL);
	if (r < 0)
		return r;
	pid = spawn_api(lab, sw, kubeapi, py);
	if (pid < 0)
		return (int)pid;
	if (!ports_written(lab, 10000)) {
		fprintf(stderr, "netlab: the API server did not start (%s/kubeapi.log)\n",
			lab->dir);
		return -ETIMEDOUT;
	}
	lab_step(lab, "API server %s (pid %d) on https://%s:%d, admin on 127.0.0.1:%d in %s",
		 kubeapi, (int)pid, KUBE_API_ADDR, KUBE_API_PORT, KUBE_ADMIN_PORT, sw);
	return 0;
}

int kube_kubeconfig(const struct lab *lab, const char *path)
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
		KUBE_API_ADDR, KUBE_API_PORT, lab->dir, token(lab, tok, sizeof(tok)));
	return ferror(f) ? -EIO : 0;
}

struct conn {
	int port, fd;
};

static int connect_in(void *arg, struct cni_err *err)
{
	struct conn *c = arg;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)c->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	(void)err;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(c->fd);
		c->fd = -1;
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

static int http_send(const char *netns, int port, const char *method, const char *path,
		     const char *body)
{
	char ns[PATH_MAX];
	struct cni_err err = {0};
	struct conn c = {.port = port, .fd = -1};
	_cleanup_free_ char *req = NULL;
	int r, n;

	r = netns_exec_path(lab_netns_path(netns, ns, sizeof(ns)), connect_in, &c, &err);
	if (r < 0)
		return r;
	n = asprintf(&req,
		     "%s %s HTTP/1.1\r\nHost: kubeapi\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     method, path, body ? strlen(body) : 0, body ? body : "");
	if (n < 0 || write_all(c.fd, req, (size_t)n) < 0) {
		close(c.fd);
		return -EIO;
	}
	return c.fd;
}

int kube_admin_send(const struct lab *lab, const char *method, const char *path, const char *body)
{
	char sw[96];

	return http_send(lab_name(lab, "sw", sw, sizeof(sw)), KUBE_ADMIN_PORT, method, path, body);
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

int kube_admin_recv(int fd, char **out)
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

int kube_http(const char *netns, int port, const char *method, const char *path, const char *body,
	      char **out)
{
	int fd = http_send(netns, port, method, path, body);

	return fd < 0 ? fd : kube_admin_recv(fd, out);
}

int kube_admin(const struct lab *lab, const char *method, const char *path, const char *body,
	       char **out)
{
	int fd = kube_admin_send(lab, method, path, body);

	return fd < 0 ? fd : kube_admin_recv(fd, out);
}

json_t *kube_node_json(const char *name, int cidr, const char *ip)
{
	char pod_cidr[32];

	snprintf(pod_cidr, sizeof(pod_cidr), "10.244.%d.0/24", cidr);
	return json_pack("{s:{s:s},s:{s:s,s:[s]},s:{s:[{s:s,s:s},{s:s,s:s}]}}", "metadata", "name",
			 name, "spec", "podCIDR", pod_cidr, "podCIDRs", pod_cidr, "status",
			 "addresses", "type", "Hostname", "address", name, "type", "InternalIP",
			 "address", ip);
}

int kube_node_post(const struct lab *lab, const char *name, int cidr, const char *ip)
{
	_cleanup_json_ json_t *j = kube_node_json(name, cidr, ip);
	_cleanup_free_ char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (!body)
		return -ENOMEM;
	return kube_admin(lab, "POST", "/objects/api/v1/nodes", body, NULL) == 200 ? 0 : -EIO;
}

int kube_node_delete(const struct lab *lab, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/objects/api/v1/nodes/%s", name);
	return kube_admin(lab, "DELETE", path, NULL, NULL) == 200 ? 0 : -EIO;
}

long kube_api_stat(const struct lab *lab, const char *key)
{
	_cleanup_free_ char *out = NULL;
	_cleanup_json_ json_t *j = NULL;

	if (kube_admin(lab, "GET", "/stats", NULL, &out) != 200 || !out)
		return -1;
	j = json_loads(out, 0, NULL);
	return json_is_integer(json_object_get(j, key))
		       ? (long)json_integer_value(json_object_get(j, key))
		       : -1;
}

int kube_agent_spawn(struct lab *lab, const char *netns, const char *dir, const char *name,
		     bool policy)
{
	char bin[PATH_MAX + 16], kc[PATH_MAX + 16], conf[PATH_MAX + 16], log[PATH_MAX + 16];
	char metrics[32];
	char *argv[16] = {
		bin,  "--kubeconfig",	kc,	 "--node-name", (char *)name, "--cni-conf-dir",
		conf, "--metrics-addr", metrics, NULL};
	pid_t pid;

	if (policy) {
		argv[9] = "--network-policy";
		argv[10] = "on";
		argv[11] = NULL;
	}
	snprintf(bin, sizeof(bin), "%s/weft-node", lab->bin_dir);
	snprintf(kc, sizeof(kc), "%s/kubeconfig", dir);
	snprintf(conf, sizeof(conf), "%s/net.d", dir);
	snprintf(log, sizeof(log), "%s/agent.log", dir);
	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", KUBE_METRICS_PORT);
	pid = lab_spawn_in(lab, netns, argv, log);
	return pid < 0 ? (int)pid : 0;
}

static bool peers_ok(const char *dir, const char *self, int want)
{
	_cleanup_json_ json_t *j = NULL;
	char path[PATH_MAX + 16];
	json_t *p;
	size_t k;

	snprintf(path, sizeof(path), "%s/peers.json", dir);
	j = json_load_file(path, 0, NULL);
	if (!json_is_array(j) || (want >= 0 && json_array_size(j) != (size_t)want))
		return false;
	json_array_foreach(j, k, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));

		if (name && strcmp(name, self) == 0)
			return true;
	}
	return false;
}

static void peers_age(const char *dir)
{
	char path[PATH_MAX + 16];
	struct timespec now;
	struct stat st;

	snprintf(path, sizeof(path), "%s/peers.json", dir);
	clock_gettime(CLOCK_REALTIME, &now);
	if (stat(path, &st) < 0)
		fprintf(stderr, "  (no %s)\n", path);
	else
		fprintf(stderr, "  (%s: %lld bytes, written %.1f s ago)\n", path,
			(long long)st.st_size,
			(double)(now.tv_sec - st.st_mtim.tv_sec) +
				(double)(now.tv_nsec - st.st_mtim.tv_nsec) / 1e9);
}

void kube_agent_log_tail(const char *dir)
{
	char path[PATH_MAX + 16], *line = NULL, *last[16] = {0};
	_cleanup_fclose_ FILE *f = NULL;
	size_t len = 0, k = 0;

	snprintf(path, sizeof(path), "%s/agent.log", dir);
	f = fopen(path, "re");
	while (f && getline(&line, &len, f) > 0) {
		free(last[k % 16]);
		last[k++ % 16] = strdup(line);
	}
	free(line);
	fprintf(stderr, "netlab: the end of %s:\n", path);
	peers_age(dir);
	for (size_t i = k > 16 ? k - 16 : 0; i < k; i++) {
		fprintf(stderr, "  %s", last[i % 16] ? last[i % 16] : "\n");
		free(last[i % 16]);
	}
}

bool kube_peers_wait(const char *dir, const char *self, int want, int timeout_ms)
{
	struct timespec ts = {0, 20 * 1000 * 1000};

	for (int t = 0; t < timeout_ms; t += 20) {
		if (peers_ok(dir, self, want))
			return true;
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "netlab: %s: no peersFile with %d nodes and itself after %d ms\n", self,
		want, timeout_ms);
	kube_agent_log_tail(dir);
	return false;
}

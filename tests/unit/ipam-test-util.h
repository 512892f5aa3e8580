/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the ipam unit tests: a scratch dataDir and host-local requests built
 * the way the skel hands them to the plugin. Header-only (every test is its own binary). */
#ifndef WEFT_IPAM_TEST_UTIL_H
#define WEFT_IPAM_TEST_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipam/config.h"
#include "ipam/hostlocal.h"

static char tu_data[256];   /* the dataDir */
static char tu_net[512];    /* <dataDir>/net */
static const char *tu_ipam; /* ipam object (with @D@ for the dataDir) used by tu_req() */

static inline int tu_setup(void **state)
{
	(void)state;
	snprintf(tu_data, sizeof(tu_data), "/tmp/weft-ipam-test.XXXXXX");
	if (!mkdtemp(tu_data))
		return -1;
	snprintf(tu_net, sizeof(tu_net), "%s/net", tu_data);
	return 0;
}

static inline int tu_teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tu_data);
	return system(cmd) == 0 ? 0 : -1;
}

struct tu_req {
	json_t *conf;
	struct cni_args a;
	struct cni_kv kv;
	struct cni_attachment att[8];
	struct ipam_config *c;
	struct cni_err err;
};

/* Replaces @D@ with the dataDir. */
static inline char *tu_subst(const char *s)
{
	static char out[4096];
	const char *p;
	size_t o = 0;

	while ((p = strstr(s, "@D@"))) {
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%.*s%s", (int)(p - s), s, tu_data);
		s = p + 3;
	}
	snprintf(out + o, sizeof(out) - o, "%s", s);
	return out;
}

/* A request for (cid, "eth0") on network "net" with tu_ipam; extra = more top-level keys. */
static inline struct tu_req *tu_req_full(enum cni_cmd cmd, const char *version, const char *cid,
					 const char *ifname, const char *extra, const char *env_ip)
{
	struct tu_req *q = calloc(1, sizeof(*q));
	char buf[8192];

	snprintf(buf, sizeof(buf), "{\"cniVersion\":\"%s\",\"name\":\"net\",\"ipam\":%s%s}",
		 version, tu_subst(tu_ipam), extra ? extra : "");
	q->conf = json_loads(buf, 0, NULL);
	if (!q->conf) {
		fprintf(stderr, "bad JSON: %s\n", buf);
		abort();
	}
	q->a.command = cmd;
	q->a.conf = q->conf;
	q->a.name = "net";
	q->a.cni_version = version;
	q->a.container_id = cid ? cid : "";
	q->a.ifname = ifname ? ifname : "";
	q->a.netns = "";
	q->a.cni_args = "";
	q->a.path = "";
	q->kv.key = (char *)"IP";
	q->kv.value = (char *)env_ip;
	q->a.kv = &q->kv;
	q->a.n_kv = env_ip ? 1 : 0;
	q->a.valid_attachments = q->att;
	if (ipam_config_parse(&q->a, json_object_get(q->conf, "ipam"),
			      cmd == CNI_CMD_DEL || cmd == CNI_CMD_GC, &q->c, &q->err) < 0) {
		fprintf(stderr, "config: %s\n", q->err.msg);
		abort();
	}
	return q;
}

static inline struct tu_req *tu_req(enum cni_cmd cmd, const char *cid)
{
	return tu_req_full(cmd, "1.1.0", cid, "eth0", NULL, NULL);
}

static inline void tu_req_free(struct tu_req *q)
{
	ipam_config_free(q->c);
	json_decref(q->conf);
	free(q);
}

/* ADD; returns the first address ("10.0.0.2") or the error message prefixed with "ERR <code> ". */
static inline const char *tu_add_full(struct tu_req *q)
{
	static char out[512];
	struct cni_result *res = cni_result_new();

	if (ipam_hostlocal_add(q->c, &q->a, res, &q->err) < 0)
		snprintf(out, sizeof(out), "ERR %d %s", q->err.code, q->err.msg);
	else if (res->n_ips == 0)
		snprintf(out, sizeof(out), "none");
	else
		inet_addr_fmt(&res->ips[0].address.addr, out, sizeof(out));
	cni_result_free(res);
	return out;
}

static inline const char *tu_add(const char *cid)
{
	static char out[512];
	struct tu_req *q = tu_req(CNI_CMD_ADD, cid);

	snprintf(out, sizeof(out), "%s", tu_add_full(q));
	tu_req_free(q);
	return out;
}

static inline int tu_verb(enum cni_cmd cmd, const char *cid, struct cni_err *ret_err)
{
	struct tu_req *q = tu_req(cmd, cid);
	int r = -1;

	switch (cmd) {
	case CNI_CMD_DEL:
		r = ipam_hostlocal_del(q->c, &q->a, NULL, &q->err);
		break;
	case CNI_CMD_CHECK:
		r = ipam_hostlocal_check(q->c, &q->a, &q->err);
		break;
	case CNI_CMD_STATUS:
		r = ipam_hostlocal_status(q->c, &q->a, &q->err);
		break;
	default:
		break;
	}
	if (ret_err)
		*ret_err = q->err;
	tu_req_free(q);
	return r;
}

/* Content of <net>/<name>, "" when missing. */
static inline const char *tu_read(const char *name)
{
	static char buf[512];
	char path[1024];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", tu_net, name);
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static inline void tu_write(const char *name, const char *content)
{
	char path[1024];
	FILE *f;

	mkdir(tu_net, 0755);
	snprintf(path, sizeof(path), "%s/%s", tu_net, name);
	f = fopen(path, "w");
	fputs(content, f);
	fclose(f);
}

static inline bool tu_exists(const char *name)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", tu_net, name);
	return lstat(path, &st) == 0;
}

/* Sorted, space-separated names in <net> (dot files excluded). */
static inline const char *tu_ls(void)
{
	static char out[8192];
	char cmd[1024];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "ls '%s' 2>/dev/null | sort | tr '\\n' ' '", tu_net);
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, p);
	pclose(p);
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return out;
}

#endif

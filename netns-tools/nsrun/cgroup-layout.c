/* SPDX-License-Identifier: Apache-2.0 */
/* Where the cgroup hierarchies are (v1 per controller, the unified v2 tree, or both), and the
 * parsers for nsrun's --memory / --cpus. Pure parsing plus reading mountinfo. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netns-tools/nsrun/cgroup.h"
#include "common/cleanup.h"

bool cgroup_token_in(const char *list, const char *tok)
{
	size_t n = strlen(tok);

	for (const char *p = list; p && *p;) {
		const char *end = strpbrk(p, ", ");
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && strncmp(p, tok, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* v1 super options "rw,cpu,cpuacct,clone_children" -> "cpu,cpuacct" (controllers, name=). */
static void v1_ctrls(const char *superopts, char *buf, size_t len)
{
	static const char *const flags[] = {
		"rw",	       "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode",
		"favordynmods"};
	_cleanup_free_ char *copy = strdup(superopts);
	char *save = NULL;

	buf[0] = '\0';
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
	     t = strtok_r(NULL, ",", &save)) {
		bool flag = strncmp(t, "release_agent=", 14) == 0;

		for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
			flag = flag || strcmp(t, flags[i]) == 0;
		if (flag || strlen(buf) + strlen(t) + 2 > len)
			continue;
		if (buf[0])
			strcat(buf, ",");
		strcat(buf, t);
	}
}

static int parse_line(char *line, struct cg_layout *l)
{
	char *f[6] = {0}, *dash, *save = NULL, *fstype, *superopts;
	struct cg_mount *m;
	size_t i = 0;

	dash = strstr(line, " - ");
	if (!dash)
		return 0;
	*dash = '\0';
	for (char *t = strtok_r(line, " ", &save); t && i < ARRAY_SIZE(f);
	     t = strtok_r(NULL, " ", &save))
		f[i++] = t;
	fstype = strtok_r(dash + 3, " ", &save);
	(void)strtok_r(NULL, " ", &save); /* source */
	superopts = strtok_r(NULL, " \n", &save);
	if (i < 5 || !fstype || (strcmp(fstype, "cgroup") && strcmp(fstype, "cgroup2")))
		return 0;
	if (l->n >= CG_MAX_MOUNTS)
		return -E2BIG;
	m = &l->m[l->n];
	memset(m, 0, sizeof(*m));
	m->version = strcmp(fstype, "cgroup2") == 0 ? 2 : 1;
	snprintf(m->path, sizeof(m->path), "%s", f[4]);
	if (m->version == 1)
		v1_ctrls(superopts ? superopts : "", m->ctrls, sizeof(m->ctrls));
	/* The first mount of a hierarchy wins; later bind mounts of it add nothing. */
	for (size_t k = 0; k < l->n; k++)
		if (l->m[k].version == m->version && strcmp(l->m[k].ctrls, m->ctrls) == 0)
			return 0;
	if (m->version == 2 && l->unified >= 0)
		return 0;
	if (m->version == 2)
		l->unified = (int)l->n;
	l->n++;
	return 0;
}

static void layout_init(struct cg_layout *l)
{
	memset(l, 0, sizeof(*l));
	l->unified = -1;
}

int cgroup_layout_parse(const char *mountinfo, struct cg_layout *ret)
{
	_cleanup_free_ char *copy = strdup(mountinfo);
	char *save = NULL;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	layout_init(ret);
	for (char *line = strtok_r(copy, "\n", &save); line && r >= 0;
	     line = strtok_r(NULL, "\n", &save))
		r = parse_line(line, ret);
	return r;
}

int cg_read_text(const char *path, char *buf, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return (int)n;
}

/* Line by line: a busy node's mountinfo (a mount per pod netns, volume, overlay) has no bound
 * worth guessing, and the cgroup mounts may come last. */
static int layout_stream(const char *path, struct cg_layout *l)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int r = 0;

	if (!f)
		return -errno;
	layout_init(l);
	while (r >= 0 && getline(&line, &cap, f) >= 0)
		r = parse_line(line, l);
	if (r >= 0 && ferror(f))
		r = -EIO;
	return r;
}

int cgroup_layout_read(const char *mountinfo, struct cg_layout *ret, struct cni_err *err)
{
	char path[PATH_MAX + 32];
	int r;

	if (!mountinfo)
		mountinfo = "/proc/self/mountinfo";
	r = layout_stream(mountinfo, ret);
	if (r == -E2BIG)
		return cni_err_set(err, CNI_ERR_INTERNAL, E2BIG,
				   "parse %s: more than %d cgroup mounts", mountinfo,
				   CG_MAX_MOUNTS);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "read %s", mountinfo);
	if (ret->unified >= 0) {
		struct cg_mount *u = &ret->m[ret->unified];

		snprintf(path, sizeof(path), "%s/cgroup.controllers", u->path);
		if (cg_read_text(path, u->ctrls, sizeof(u->ctrls)) < 0)
			u->ctrls[0] = '\0';
	}
	return 0;
}

int cgroup_layout_find(const struct cg_layout *l, const char *ctrl, enum cg_mode mode)
{
	if (mode != CG_MODE_V1 && l->unified >= 0 && cgroup_token_in(l->m[l->unified].ctrls, ctrl))
		return l->unified;
	if (mode == CG_MODE_V2)
		return -1;
	for (size_t i = 0; i < l->n; i++)
		if (l->m[i].version == 1 && cgroup_token_in(l->m[i].ctrls, ctrl))
			return (int)i;
	return -1;
}

const char *cgroup_layout_describe(const struct cg_layout *l, char *buf, size_t len)
{
	bool v1 = false;

	for (size_t i = 0; i < l->n; i++)
		v1 = v1 || l->m[i].version == 1;
	if (v1 && l->unified >= 0)
		snprintf(buf, len, "hybrid (v1 controllers + cgroup2 at %s)",
			 l->m[l->unified].path);
	else if (l->unified >= 0)
		snprintf(buf, len, "v2 (cgroup2 at %s)", l->m[l->unified].path);
	else
		snprintf(buf, len, v1 ? "v1" : "none");
	return buf;
}

int cgroup_parse_size(const char *s, uint64_t *ret)
{
	char *end = NULL;
	unsigned long long v;
	int shift = 0;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return errno ? -errno : -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	}
	if (*end == 'b' || *end == 'B' || (shift && (*end == 'i' && end[1] == 'B' && (end += 1))))
		end++;
	if (*end || v == 0)
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = (uint64_t)v << shift;
	return 0;
}

int cgroup_parse_cpus(const char *s, uint64_t *ret_quota_us, uint64_t *ret_period_us)
{
	const uint64_t period = 100000;
	uint64_t whole = 0, frac = 0, scale = 100000;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (uint64_t)(*p - '0');
		if (whole > 4096)
			return -ERANGE;
	}
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++) {
			scale /= 10;
			frac += (uint64_t)(*p - '0') * scale;
		}
	if (*p || p == s || (p == s + 1 && *s == '.'))
		return -EINVAL;
	*ret_quota_us = whole * period + frac;
	*ret_period_us = period;
	if (*ret_quota_us < 1000)
		return -ERANGE;
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* netlab state: every resource is recorded in the lab's state file before it is made (lab-down.c
 * undoes the record in reverse order), names derived from the lab id, and the check/step
 * output. Calls nothing else of netlab's. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "netns-tools/netlab/lab.h"

const char *lab_name(const struct lab *lab, const char *node, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%s", lab->id, node);
	return buf;
}

const char *lab_netns_path(const char *netns, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", LAB_NETNS_DIR, netns);
	return buf;
}

const char *lab_state_root(const struct lab *lab)
{
	return lab->state_root ? lab->state_root : LAB_STATE_ROOT;
}

static int state_save(const struct lab *lab)
{
	_cleanup_free_ char *text = json_dumps(lab->state, JSON_INDENT(2));
	char path[PATH_MAX + 16];

	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/state.json", lab->dir);
	return fs_write_atomic(path, text, strlen(text), 0644);
}

static bool valid_prefix(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > 24)
		return false;
	for (const char *c = p; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			return false;
	return p[0] != '-';
}

static void find_self(struct lab *lab)
{
	ssize_t n = readlink("/proc/self/exe", lab->self, sizeof(lab->self) - 1);
	char *slash;

	lab->self[n > 0 ? n : 0] = '\0';
	snprintf(lab->bin_dir, sizeof(lab->bin_dir), "%s", lab->self);
	slash = strrchr(lab->bin_dir, '/');
	if (slash)
		*slash = '\0';
}

/* create: a fresh state (EEXIST when the lab is already up); else load the existing one
 * (-ENOENT when the lab is not up). */
int lab_open(struct lab *lab, const struct scenario *sc, const char *prefix, bool create)
{
	char path[PATH_MAX + 16];
	int r;

	lab->sc = sc;
	if (!prefix)
		prefix = LAB_DEFAULT_PREFIX;
	if (!valid_prefix(prefix))
		return -EINVAL;
	snprintf(lab->id, sizeof(lab->id), "%s-%s", prefix, sc->name);
	snprintf(lab->dir, sizeof(lab->dir), "%s/%s", lab_state_root(lab), lab->id);
	snprintf(path, sizeof(path), "%s/state.json", lab->dir);
	find_self(lab);
	if (!lab->cni_path)
		lab->cni_path = lab->bin_dir;
	if (!create) {
		lab->state = json_load_file(path, 0, NULL);
		return lab->state ? 0 : -ENOENT;
	}
	r = fs_mkdir_p(lab_state_root(lab), 0755);
	if (r < 0)
		return r;
	if (mkdir(lab->dir, 0755) < 0)
		return -errno;
	lab->state = json_pack("{s:s,s:s,s:i,s:[]}", "scenario", sc->name, "id", lab->id,
			       "netlabPid", (int)getpid(), "resources");
	if (!lab->state)
		return -ENOMEM;
	return state_save(lab);
}

void lab_close(struct lab *lab)
{
	json_decref(lab->state);
	lab->state = NULL;
}

int lab_record(struct lab *lab, json_t *res)
{
	if (!res)
		return -ENOMEM;
	if (json_array_append_new(json_object_get(lab->state, "resources"), res) < 0)
		return -ENOMEM;
	return state_save(lab);
}

json_t *lab_find(const struct lab *lab, const char *kind, const char *key, const char *value)
{
	json_t *res = json_object_get(lab->state, "resources"), *r;
	size_t i;

	json_array_foreach(res, i, r)
	{
		const char *k = json_string_value(json_object_get(r, "kind"));
		const char *v = json_string_value(json_object_get(r, key));

		if (k && strcmp(k, kind) == 0 && (!value || (v && strcmp(v, value) == 0)))
			return r;
	}
	return NULL;
}

bool lab_check(struct lab *lab, bool ok, const char *fmt, ...)
{
	va_list ap;

	lab->checks++;
	if (!ok)
		lab->failures++;
	printf("  %s  ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return ok;
}

void lab_step(const struct lab *lab, const char *fmt, ...)
{
	va_list ap;

	if (!lab->verbose)
		return;
	fputs("netlab: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

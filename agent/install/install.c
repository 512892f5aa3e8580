/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/install/conflist.h"
#include "agent/install/install.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/version.h"

#define BIN_MAX	     (64u << 20)
#define CONFLIST_MAX (1u << 20)

const char *const install_plugins[] = {"bridge", "host-gw", "vxlan", "ebpf", NULL};

static int path_join(char *buf, size_t len, const char *dir, const char *prefix, const char *name)
{
	int n = snprintf(buf, len, "%s/%s%s", dir, prefix, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* 1 when path holds exactly data, 0 when not (or absent). */
static int same_content(const char *path, const char *data, size_t len)
{
	_cleanup_free_ char *cur = NULL;
	size_t n;

	if (fs_read_file(path, len, &cur, &n) < 0)
		return 0;
	return n == len && memcmp(cur, data, len) == 0;
}

/* Names the version of the plugin just copied, read off its bytes; warns when it is not the
 * version of this weft-install (plugins from another build in --src-dir). */
static void log_installed(const struct install_opts *o, const char *dst, const char *data,
			  size_t len)
{
	char v[WEFT_VERSION_MAX];

	if (weft_version_find(data, len, v) < 0) {
		log_warn("installed %s: not a weft build (no version mark)", dst);
		return;
	}
	log_info("installed %s (weft %s)", dst, v);
	if (o->version && strcmp(v, o->version) != 0)
		log_warn("%s is weft %s, weft-install is %s", dst, v, o->version);
}

static int install_one(const struct install_opts *o, const char *name, struct cni_err *err)
{
	char src[PATH_MAX], dst[PATH_MAX];
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r;

	if (path_join(src, sizeof(src), o->src_dir, "", name) < 0 ||
	    path_join(dst, sizeof(dst), o->bin_dir, INSTALL_PREFIX, name) < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, ENAMETOOLONG, "path of %s", name);
	r = fs_read_file(src, BIN_MAX, &data, &len);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "read plugin %s", src);
	if (same_content(dst, data, len))
		return 0;
	r = fs_write_atomic(dst, data, len, 0755);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "install %s", dst);
	log_installed(o, dst, data, len);
	return 1;
}

int install_binaries(const struct install_opts *o, struct cni_err *err)
{
	int n = 0, r = fs_mkdir_p(o->bin_dir, 0755);

	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "create %s", o->bin_dir);
	for (size_t i = 0; install_plugins[i]; i++) {
		r = install_one(o, install_plugins[i], err);
		if (r < 0)
			return r;
		n += r;
	}
	return n;
}

/* 1 when the file carries weft's mark (or is absent), 0 when it is someone else's. */
static int ours(const char *path)
{
	_cleanup_json_ json_t *j = json_load_file(path, 0, NULL);

	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 1;
	return json_is_object(j) && json_is_object(json_object_get(j, INSTALL_MARK));
}

/* Logs the conflists a runtime would pick before weft's (they sort first). */
static void warn_shadowing(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		const char *dot = strrchr(e->d_name, '.');

		if (!dot ||
		    (strcmp(dot, ".conflist") && strcmp(dot, ".conf") && strcmp(dot, ".json")))
			continue;
		if (strcmp(e->d_name, INSTALL_CONFLIST) < 0)
			log_warn("%s/%s sorts before %s: a runtime that takes the first network "
				 "config will use it, not weft's",
				 dir, e->d_name, INSTALL_CONFLIST);
	}
}

int install_conflist(const struct install_opts *o, const json_t *conflist, struct cni_err *err)
{
	char path[PATH_MAX];
	_cleanup_free_ char *text = json_dumps(conflist, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	size_t len;
	int r;

	if (!text || path_join(path, sizeof(path), o->conf_dir, "", INSTALL_CONFLIST) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "conflist");
	len = strlen(text);
	text[len++] = '\n'; /* json_dumps leaves room: its NUL becomes the newline */
	if (same_content(path, text, len))
		return 0;
	if (!o->force && !ours(path))
		return cni_err_set(err, CNI_ERR_CONFIG, EEXIST,
				   "%s exists and weft did not write it (no \"%s\" key): move it "
				   "away or run with --force",
				   path, INSTALL_MARK);
	r = fs_mkdir_p(o->conf_dir, 0755);
	if (r >= 0)
		r = fs_write_atomic(path, text, len, 0644);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "write %s", path);
	log_info("wrote %s", path);
	warn_shadowing(o->conf_dir);
	return 1;
}

int install_peers_file(const char *path, struct cni_err *err)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	int r;

	if (access(path, F_OK) == 0)
		return 0;
	if (slash && slash != dir) {
		*slash = '\0';
		r = fs_mkdir_p(dir, 0755);
		if (r < 0)
			return cni_err_set(err, CNI_ERR_IO, -r, "create %s", dir);
	}
	r = fs_write_atomic(path, "[]\n", 3, 0644);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "write %s", path);
	log_info("wrote an empty peer list %s (weft-node keeps it current)", path);
	return 0;
}

static int unlink_logged(const char *path, struct cni_err *err)
{
	if (unlink(path) == 0) {
		log_info("removed %s", path);
		return 0;
	}
	return errno == ENOENT ? 0 : cni_err_set(err, CNI_ERR_IO, errno, "remove %s", path);
}

int install_remove(const struct install_opts *o, struct cni_err *err)
{
	char path[PATH_MAX];
	int r;

	if (path_join(path, sizeof(path), o->conf_dir, "", INSTALL_CONFLIST) < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, ENAMETOOLONG, "conf dir");
	if (!o->force && !ours(path))
		return cni_err_set(
			err, CNI_ERR_CONFIG, EEXIST,
			"%s is not weft's (no \"%s\" key): left alone; --force removes it", path,
			INSTALL_MARK);
	r = unlink_logged(path, err);
	for (size_t i = 0; r >= 0 && install_plugins[i]; i++) {
		if (path_join(path, sizeof(path), o->bin_dir, INSTALL_PREFIX, install_plugins[i]) <
		    0)
			return cni_err_set(err, CNI_ERR_CONFIG, ENAMETOOLONG, "bin dir");
		r = unlink_logged(path, err);
	}
	return r;
}

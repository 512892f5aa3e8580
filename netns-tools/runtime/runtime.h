/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime side of CNI, as libcni does it (docs/cni-contract.md §1.9-1.12):
 * load a network configuration list by name from a conf dir, run its plugin chain found in a
 * CNI_PATH (ADD in order with prevResult, DEL in reverse with the cached result, CHECK, STATUS,
 * GC), inject runtimeConfig for declared capabilities, and keep the result cache in libcni's
 * format and place (<cacheDir>/results/<net>-<containerID>-<ifname>, kind cniCacheV1), so
 * cnitool, containerd and weft see the same attachments.
 *
 * Library code: never prints, never exits; returns -errno and fills struct cni_err. A plugin's
 * own CNI error keeps its code, msg and details. */
#ifndef WEFT_RUNTIME_H
#define WEFT_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/cni-error.h"

#define RT_DEFAULT_CONF_DIR  "/etc/cni/net.d"
#define RT_DEFAULT_CACHE_DIR "/var/lib/cni"
#define RT_DEFAULT_CNI_PATH  "/opt/cni/bin"
/* libcni drops cniVersions entries newer than the spec it implements. */
#define RT_MAX_VERSION "1.1.0"

/* A network configuration list as libcni sees it. */
struct rt_netconf {
	char *name;
	char *cni_version; /* the selected version ("" when the file has none) */
	bool disable_check, disable_gc, load_only_inlined;
	json_t *plugins; /* array of plugin objects, inline ones then <dir>/<name>/ *.conf */
	char *bytes;	 /* the list's bytes, as cached in "config" */
	size_t len;
	char *source; /* file it came from, or NULL */
};

void rt_netconf_free(struct rt_netconf *nc);
static inline void rt_netconf_freep(struct rt_netconf **nc)
{
	rt_netconf_free(*nc);
}
#define _cleanup_netconf_ __attribute__((cleanup(rt_netconf_freep)))

/* Parses conflist bytes (libcni NetworkConfFromBytes): name required; cniVersion and
 * cniVersions[] pick the highest version <= RT_MAX_VERSION; disableCheck, disableGC and
 * loadOnlyInlinedPlugins accept JSON booleans and "true"/"false" strings (any case); plugins
 * must be a non-empty array of objects with a "type". A list without plugins is allowed
 * here (plugins may come from a directory). Errors are code 7 (6 for JSON syntax). */
int rt_netconf_from_bytes(const char *bytes, size_t len, struct rt_netconf **ret,
			  struct cni_err *err);
/* Wraps a single-plugin .conf/.json into a list (libcni ConfListFromConf). */
int rt_netconf_from_plugin_bytes(const char *bytes, size_t len, struct rt_netconf **ret,
				 struct cni_err *err);
/* Reads a conflist file; unless loadOnlyInlinedPlugins, appends <dir>/<name>/ *.conf plugin
 * objects (sorted). Zero plugins overall: "no plugin configs found". */
int rt_netconf_from_file(const char *path, struct rt_netconf **ret, struct cni_err *err);
/* The network config files of dir (*.conflist, *.conf, *.json), sorted by name as libcni's
 * ConfFiles; a missing dir is none. Free with rt_netconf_files_free. */
int rt_netconf_files(const char *dir, char ***ret, size_t *ret_n, struct cni_err *err);
void rt_netconf_files_free(char **files, size_t n);
/* Reads a single-plugin .conf/.json file into a list. */
int rt_netconf_from_plugin_file(const char *path, struct rt_netconf **ret, struct cni_err *err);
/* Loads network `name` from dir: *.conflist lexically sorted, first whose name matches (a
 * file that fails to parse is an error, as in libcni); else *.conf / *.json (sorted) wrapped
 * into a list. Not found: -ENOENT, code 7, 'no net configuration with name "x" in dir'. */
int rt_netconf_load(const char *dir, const char *name, struct rt_netconf **ret,
		    struct cni_err *err);
/* Plugin i with name, cniVersion (and prevResult when given, and runtimeConfig for every
 * capability the plugin declares true and cap_args carries) injected. New reference. */
int rt_netconf_plugin_stdin(const struct rt_netconf *nc, size_t i, const json_t *prev_result,
			    const json_t *cap_args, json_t **ret, struct cni_err *err);

/* Where plugins and the cache are. NULL members take the defaults above. */
struct rt {
	const char *cni_path;  /* ':'-separated plugin dirs */
	const char *cache_dir; /* results live in <cache_dir>/results */
};

/* One attachment of a container to a network. */
struct rt_attach {
	const char *container_id;
	const char *netns;	/* path, e.g. /run/netns/x or /proc/<pid>/ns/net; "" on GC DEL */
	const char *ifname;	/* e.g. eth0 */
	const char *cni_args;	/* "K1=V1;K2=V2" or NULL */
	const json_t *cap_args; /* capability args object {"portMappings": [...], ...} or NULL */
};

/* ADD every plugin in order, each given the previous result; caches the final one. The
 * result (as the last plugin printed it, cniVersion filled in) goes to *ret_result. */
int rt_add(const struct rt *rt, const struct rt_netconf *nc, const struct rt_attach *a,
	   json_t **ret_result, struct cni_err *err);
/* CHECK (conf >= 0.4.0; disableCheck: no-op) with the cached result as prevResult. */
int rt_check(const struct rt *rt, const struct rt_netconf *nc, const struct rt_attach *a,
	     struct cni_err *err);
/* DEL in reverse order with the cached result as prevResult (conf >= 0.4.0; an unreadable
 * cache is removed and DEL goes on without it); the cache entry is removed on success. */
int rt_del(const struct rt *rt, const struct rt_netconf *nc, const struct rt_attach *a,
	   struct cni_err *err);
/* STATUS (conf >= 1.1.0, else a no-op): list order, first error returned. */
int rt_status(const struct rt *rt, const struct rt_netconf *nc, struct cni_err *err);

struct rt_gc_attachment {
	const char *container_id, *ifname;
};
/* GC (disableGC: no-op). Cached attachments of this network that are not in valid are DEL'd
 * first (valid == NULL with has_valid false: none is valid, as cnitool gc does); then, conf
 * >= 1.1.0, every plugin gets GC with cni.dev/valid-attachments (and the legacy
 * cni.dev/attachments) when has_valid. Continues past errors; returns the first. */
int rt_gc(const struct rt *rt, const struct rt_netconf *nc, bool has_valid,
	  const struct rt_gc_attachment *valid, size_t n_valid, struct cni_err *err);

/* Runs one plugin verb: the environment is ours plus CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
 * CNI_ARGS, CNI_IFNAME, CNI_PATH (a NULL a: all empty but CNI_PATH). ADD: *ret_result gets the
 * parsed stdout. Exec is retried on ETXTBSY (6 tries, 1 s apart) like libcni. */
int rt_exec_plugin(const struct rt *rt, const char *type, const char *command,
		   const struct rt_attach *a, const json_t *conf, json_t **ret_result,
		   struct cni_err *err);

/* ---- result cache (runtime-cache.c) ------------------------------------------------------ */

/* One cached attachment (libcni cachedInfo). */
struct rt_cached {
	char *container_id, *ifname, *network, *netns;
	char *cni_args;		   /* re-joined "K=V;K=V", or NULL */
	json_t *cap_args, *result; /* owned, may be NULL */
	char *config;		   /* decoded conflist bytes */
	size_t config_len;
};
void rt_cached_free(struct rt_cached *c);
void rt_cached_list_free(struct rt_cached *list, size_t n);

/* <cache_dir>/results/<net>-<cid>-<ifname>; -ENAMETOOLONG when it does not fit. */
int rt_cache_path(const struct rt *rt, const char *network, const char *container_id,
		  const char *ifname, char *buf, size_t len, struct cni_err *err);
/* Atomic write (temp file, fsync, rename), mode 0600, directories 0700. */
int rt_cache_write(const struct rt *rt, const struct rt_netconf *nc, const struct rt_attach *a,
		   const json_t *result, struct cni_err *err);
/* Reads and validates (kind cniCacheV1) one entry. Missing: -ENOENT. */
int rt_cache_read(const struct rt *rt, const char *network, const char *container_id,
		  const char *ifname, struct rt_cached *ret, struct cni_err *err);
/* Removes one entry; a missing one is success. */
int rt_cache_del(const struct rt *rt, const char *network, const char *container_id,
		 const char *ifname);
/* Every valid cniCacheV1 entry (sorted by file name), optionally only those of one network
 * (network != NULL) and/or one container (container_id != NULL). */
int rt_cache_list(const struct rt *rt, const char *network, const char *container_id,
		  struct rt_cached **ret, size_t *ret_n, struct cni_err *err);

/* Standard base64 with padding (Go's encoding of []byte in JSON). Return malloc'd strings. */
char *rt_base64_encode(const void *data, size_t len);
/* -EINVAL on bad input. */
int rt_base64_decode(const char *s, char **ret, size_t *ret_len);

#endif

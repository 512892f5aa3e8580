/* SPDX-License-Identifier: Apache-2.0 */
/* What weft-install does to a node's files: every write is atomic (a temp file in the same
 * directory, fsync, rename), so a kubelet never execs a half-written plugin nor reads a torn
 * conflist, and nothing is rewritten when it is already what it should be. */
#ifndef WEFT_INSTALL_INSTALL_H
#define WEFT_INSTALL_INSTALL_H

#include <stdbool.h>

#include <jansson.h>

#include "common/cni-error.h"

#define INSTALL_CONFLIST "10-weft.conflist"

struct install_opts {
	const char *src_dir;   /* weft's binaries (default: next to weft-install) */
	const char *bin_dir;   /* the CNI bin dir of the host */
	const char *conf_dir;  /* the CNI conf dir of the host */
	const char *peers_dir; /* where multi-node networks' peersFile lives */
	const char *version;
	bool force; /* overwrite / remove a conflist weft did not write */
};

/* The plugins weft-install copies, as INSTALL_PREFIX<name>; NULL-terminated. */
extern const char *const install_plugins[];

/* Copies each plugin atomically; an identical one is left alone. Returns the number copied. */
int install_binaries(const struct install_opts *o, struct cni_err *err);
/* Writes conflist as <conf_dir>/10-weft.conflist when it differs from what is there; refuses a
 * file without the weft mark unless o->force. Returns 1 when written, 0 when unchanged. */
int install_conflist(const struct install_opts *o, const json_t *conflist, struct cni_err *err);
/* Creates an empty peersFile (a JSON []) when there is none, so ADDs work before the agent's
 * first sync. */
int install_peers_file(const char *path, struct cni_err *err);
/* Removes the conflist (only weft's unless o->force) and the installed plugins. */
int install_remove(const struct install_opts *o, struct cni_err *err);

#endif

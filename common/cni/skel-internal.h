/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between skel.c (flow, dispatch, output), skel-env.c (environment, CNI_ARGS, stdin)
 * and skel-request.c (network config, versions, prevResult, GC attachments). Not an API. */
#ifndef WEFT_SKEL_INTERNAL_H
#define WEFT_SKEL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cni/skel.h"

/* VERSION reads at most this much stdin (only to echo its cniVersion) and waits at most
 * SKEL_VERSION_STDIN_WAIT_MS for it: Go's skel ignores it entirely. */
#define SKEL_VERSION_STDIN_MAX	   (64u << 10)
#define SKEL_VERSION_STDIN_WAIT_MS 200

/* Where stdin comes from: a buffer (tests, fuzzing) or a file descriptor. */
struct skel_input {
	const char *buf;
	size_t len;
	int fd; /* used when buf == NULL */
};

/* One request and everything it owns. */
struct skel_req {
	struct cni_args a;
	bool cmd_known;	     /* CNI_COMMAND names a verb */
	const char *cmd_str; /* raw CNI_COMMAND */
	bool version_known;  /* a.cni_version is a supported version (used in error JSON) */
	char *stdin_buf;
	json_t *conf;
	char *args_buf; /* a.kv points into it */
	struct cni_kv *kv;
	struct cni_attachment *attachments;
	struct cni_result *prev_result;
};

/* skel-env.c */
int skel_env_load(struct skel_req *q, const char *(*getenv_fn)(const char *), struct cni_err *err);
int skel_cni_args_parse(struct skel_req *q, const char *const *known, struct cni_err *err);
/* Reads stdin (bounded by max, code 5 beyond). timeout_ms < 0 blocks; otherwise gives up with
 * -ETIMEDOUT when no byte arrives for that long. Result NUL-terminated. */
int skel_stdin_read(int fd, size_t max, int timeout_ms, char **ret, size_t *ret_len,
		    struct cni_err *err);

/* skel-request.c */
int skel_conf_load(struct skel_req *q, struct cni_err *err);
int skel_version_check(struct skel_req *q, struct cni_err *err);
int skel_prev_result_load(struct skel_req *q, struct cni_err *err);
int skel_gc_attachments_load(struct skel_req *q, struct cni_err *err);
int skel_version_print(const char *in, size_t in_len, FILE *out);

#endif

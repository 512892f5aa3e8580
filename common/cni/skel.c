/* SPDX-License-Identifier: Apache-2.0 */
/* One CNI invocation, in the reference evaluation order (docs/cni-contract.md §1.7):
 *   1. environment (code 4)          skel-env.c
 *   2. stdin, bounded (code 5)       VERSION answers here, before reading a config
 *   3. JSON (6), network name (7)    skel-request.c
 *      unknown CNI_COMMAND (4)
 *   4. cniVersion (6, 1), CNI_ARGS (4), prevResult (6), GC attachments (6, 7)
 *   5. plugin parse, then the verb; ADD's result printed in the request's cniVersion.
 * The only place in weft that writes to stdout: one result, or one error JSON with exit 1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/cni/skel-internal.h"
#include "common/version.h"

static void skel_req_free(struct skel_req *q)
{
	cni_result_free(q->prev_result);
	free(q->attachments);
	free(q->kv);
	free(q->args_buf);
	json_decref(q->conf);
	free(q->stdin_buf);
	memset(q, 0, sizeof(*q));
}

static int input_read(const struct skel_input *in, struct skel_req *q, struct cni_err *err)
{
	int r;

	if (in->buf) {
		if (in->len > CNI_STDIN_MAX)
			return cni_err_set(err, CNI_ERR_IO, 0,
					   "error reading from stdin: larger than %u bytes",
					   CNI_STDIN_MAX);
		q->stdin_buf = malloc(in->len + 1);
		if (!q->stdin_buf)
			return cni_err_set(err, CNI_ERR_IO, ENOMEM, "error reading from stdin");
		memcpy(q->stdin_buf, in->buf, in->len);
		q->stdin_buf[in->len] = '\0';
		q->a.stdin_len = in->len;
	} else {
		r = skel_stdin_read(in->fd, CNI_STDIN_MAX, -1, &q->stdin_buf, &q->a.stdin_len, err);
		if (r < 0)
			return r;
	}
	q->a.stdin_data = q->stdin_buf;
	return 0;
}

/* VERSION: stdin only matters for echoing its cniVersion. A terminal or a writer that never
 * closes the pipe must not block the answer, hence the short wait. */
static int version_answer(const struct skel_input *in, FILE *out, struct cni_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	if (in->buf)
		r = skel_version_print(in->buf, in->len, out);
	else if (isatty(in->fd) ||
		 skel_stdin_read(in->fd, SKEL_VERSION_STDIN_MAX, SKEL_VERSION_STDIN_WAIT_MS, &buf,
				 &len, NULL) < 0)
		r = skel_version_print(NULL, 0, out);
	else
		r = skel_version_print(buf, len, out);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IO, -r, "write version info to stdout");
	return 0;
}

static int result_print(const struct skel_req *q, struct cni_result *res, FILE *out,
			struct cni_err *err)
{
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *s = NULL;
	int r;

	snprintf(res->cni_version, sizeof(res->cni_version), "%s", q->a.cni_version);
	r = cni_result_encode(res, q->a.cni_version, &j, err);
	if (r < 0)
		return r;
	s = json_dumps(j, JSON_INDENT(4));
	if (!s)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "encode result");
	if (fprintf(out, "%s\n", s) < 0 || fflush(out) != 0)
		return cni_err_set(err, CNI_ERR_IO, errno ? errno : EIO, "write result to stdout");
	return 0;
}

static int verb_add(const struct cni_plugin *p, struct skel_req *q, void *conf, FILE *out,
		    struct cni_err *err)
{
	_cleanup_result_ struct cni_result *res = NULL;
	int r;

	if (!p->add)
		return 0;
	res = cni_result_new();
	if (!res)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "allocate result");
	r = p->add(&q->a, conf, res, err);
	if (r < 0)
		return r;
	return result_print(q, res, out, err);
}

static int verb_call(const struct cni_plugin *p, struct skel_req *q, void *conf, FILE *out,
		     struct cni_err *err)
{
	int (*fn)(const struct cni_args *, void *, struct cni_err *) = NULL;

	switch (q->a.command) {
	case CNI_CMD_ADD:
		return verb_add(p, q, conf, out, err);
	case CNI_CMD_DEL:
		fn = p->del;
		break;
	case CNI_CMD_CHECK:
		fn = p->check;
		break;
	case CNI_CMD_STATUS:
		fn = p->status;
		break;
	case CNI_CMD_GC:
		fn = p->gc;
		break;
	case CNI_CMD_VERSION:
		break;
	}
	return fn ? fn(&q->a, conf, err) : 0;
}

/* Step 5: the plugin's parse into a zeroed conf, the verb, then conf_free (also after a failed
 * parse, so a half-filled conf is released too). */
static int dispatch(const struct cni_plugin *p, struct skel_req *q, FILE *out, struct cni_err *err)
{
	_cleanup_free_ void *conf = calloc(1, p->conf_size ? p->conf_size : 1);
	int r = 0;

	if (!conf)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "allocate plugin config");
	if (p->parse)
		r = p->parse(&q->a, conf, err);
	if (r >= 0) {
		cni_err_clear(err);
		r = verb_call(p, q, conf, out, err);
	}
	if (p->conf_free)
		p->conf_free(conf);
	return r;
}

static int request_handle(const struct cni_plugin *p, const char *(*getenv_fn)(const char *),
			  const struct skel_input *in, struct skel_req *q, FILE *out,
			  struct cni_err *err)
{
	int r;

	r = skel_env_load(q, getenv_fn, err);
	if (r < 0)
		return r;
	if (q->cmd_known && q->a.command == CNI_CMD_VERSION)
		return version_answer(in, out, err);
	r = input_read(in, q, err);
	if (r >= 0)
		r = skel_conf_load(q, err);
	if (r >= 0 && !q->cmd_known)
		r = cni_err_setd(err, CNI_ERR_ENV, 0, "one of ADD, DEL, CHECK, STATUS, GC, VERSION",
				 "unknown CNI_COMMAND: %.32s", q->cmd_str);
	if (r >= 0)
		r = skel_version_check(q, err);
	if (r >= 0)
		r = skel_cni_args_parse(q, p->known_args, err);
	if (r >= 0)
		r = skel_prev_result_load(q, err);
	if (r >= 0 && q->a.command == CNI_CMD_GC)
		r = skel_gc_attachments_load(q, err);
	if (r >= 0)
		r = dispatch(p, q, out, err);
	return r;
}

/* A plugin that failed without saying how still yields a usable error JSON (code 100). */
static void error_normalize(const struct cni_plugin *p, const struct skel_req *q, int r,
			    struct cni_err *err)
{
	if (err->code != CNI_OK)
		return;
	err->code = CNI_ERR_INTERNAL;
	if (!err->msg[0])
		snprintf(err->msg, sizeof(err->msg), "%s %s failed", p->name ? p->name : "plugin",
			 q->cmd_known ? cni_cmd_name(q->a.command) : "request");
	if (!err->details[0] && r < 0)
		snprintf(err->details, sizeof(err->details), "%s", strerror(-r));
}

static int skel_execute(const struct cni_plugin *p, const char *(*getenv_fn)(const char *),
			const struct skel_input *in, FILE *out)
{
	struct skel_req q = {0};
	struct cni_err err = {0};
	int r, status = 0;

	r = request_handle(p, getenv_fn, in, &q, out, &err);
	if (r < 0) {
		error_normalize(p, &q, r, &err);
		log_debug("%s: code %d: %s%s%s", q.cmd_str ? q.cmd_str : "-", err.code, err.msg,
			  err.details[0] ? ": " : "", err.details);
		if (cni_err_write_json(&err, q.version_known ? q.a.cni_version : NULL, out) < 0)
			log_error("cannot write the error to stdout: %s", err.msg);
		status = 1;
	}
	skel_req_free(&q);
	return status;
}

int cni_plugin_run(const struct cni_plugin *p, const char *(*getenv_fn)(const char *),
		   const char *in, size_t in_len, FILE *out)
{
	struct skel_input input = {.buf = in ? in : "", .len = in ? in_len : 0, .fd = -1};

	return skel_execute(p, getenv_fn, &input, out);
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

void cni_plugin_about(const struct cni_plugin *p, FILE *f)
{
	const char *const *versions;
	size_t n = cni_versions_list(&versions);

	fprintf(f, "weft %s plugin %s\nCNI protocol versions supported: ", p->name, weft_version);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "", versions[i]);
	fputc('\n', f);
}

int cni_plugin_main(const struct cni_plugin *p, int argc, char **argv)
{
	struct skel_input input = {.buf = NULL, .fd = STDIN_FILENO};
	const char *cmd = getenv("CNI_COMMAND");

	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", p->name, weft_version);
		return 0;
	}
	if (!cmd || !*cmd) {
		cni_plugin_about(p, stderr);
		return 0;
	}

	/* jansson would open /dev/urandom for its hash seed; the input is the runtime's, so a
	 * seed from the pid and ASLR does (one open and read less per invocation). */
	json_object_seed((size_t)getpid() ^ (size_t)(uintptr_t)&input);
	log_init(p->name);
	return skel_execute(p, env_get, &input, stdout);
}

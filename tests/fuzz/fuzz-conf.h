/* SPDX-License-Identifier: Apache-2.0 */
/* Config-parse targets: a plugin's real parse (and conf_free) run through the real skel, with
 * every verb left NULL so nothing touches the host. Input: one byte choosing the verb, the
 * CNI_ARGS value, a NUL byte, then the stdin config.
 * Invariants: success prints nothing (no verb ran); failure prints one error JSON whose code is
 * a configuration/input code (1, 2, 4, 5, 6, 7; 100 for "cannot answer in this cniVersion")
 * with a message; no leak, no UB. */
#ifndef WEFT_FUZZ_CONF_H
#define WEFT_FUZZ_CONF_H

#include "common/cleanup.h"
#include "tests/fuzz/fuzz-util.h"
#include "common/cni/skel.h"

static const char *fuzz_conf_cmd = "ADD";
static const char *fuzz_conf_args = "";

static const char *fuzz_conf_getenv(const char *name)
{
	if (strcmp(name, "CNI_COMMAND") == 0)
		return fuzz_conf_cmd;
	if (strcmp(name, "CNI_CONTAINERID") == 0)
		return "ctr1";
	if (strcmp(name, "CNI_IFNAME") == 0)
		return "eth0";
	if (strcmp(name, "CNI_NETNS") == 0)
		return "/run/netns/weft-fuzz-none";
	if (strcmp(name, "CNI_PATH") == 0)
		return "/nonexistent/weft-fuzz";
	if (strcmp(name, "CNI_ARGS") == 0)
		return fuzz_conf_args;
	return NULL;
}

static void fuzz_conf_check(int status, const char *out, size_t len)
{
	_cleanup_json_ json_t *j = NULL;
	json_int_t code;

	FUZZ_ASSERT(status == 0 || status == 1);
	if (status == 0) {
		FUZZ_ASSERT(len == 0);
		return;
	}
	j = json_loadb(out, len, 0, NULL);
	FUZZ_ASSERT(j && json_is_object(j));
	FUZZ_ASSERT(json_is_string(json_object_get(j, "msg")));
	code = json_integer_value(json_object_get(j, "code"));
	if (!(code == 1 || code == 2 || (code >= 4 && code <= 7) || code == 100)) {
		fprintf(stderr, "config error with code %lld: %.*s\n", (long long)code, (int)len,
			out);
		abort();
	}
}

/* Runs p's parse on the input through the skel, verbs removed. */
static int fuzz_conf_run(const struct cni_plugin *real, const uint8_t *data, size_t size)
{
	static const char *const cmds[] = {"ADD", "DEL", "CHECK", "STATUS", "GC", "ADD", "DEL"};
	struct cni_plugin p = {
		.name = real->name,
		.conf_size = real->conf_size,
		.known_args = real->known_args,
		.parse = real->parse,
		.conf_free = real->conf_free,
	};
	struct fuzz_split in;
	char *out = NULL;
	size_t out_len = 0;
	FILE *f;
	int status;

	if (size < 1)
		return 0;
	fuzz_conf_cmd = cmds[data[0] % (sizeof(cmds) / sizeof(cmds[0]))];
	if (!fuzz_split(data + 1, size - 1, &in))
		return 0;
	fuzz_conf_args = in.head;
	f = open_memstream(&out, &out_len);
	if (f) {
		status =
			cni_plugin_run(&p, fuzz_conf_getenv, (const char *)in.tail, in.tail_len, f);
		fclose(f);
		fuzz_conf_check(status, out, out_len);
		free(out);
	}
	fuzz_conf_args = "";
	free(in.head);
	return 0;
}

#endif

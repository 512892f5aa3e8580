/* SPDX-License-Identifier: Apache-2.0 */
/* The plugin side of the CNI protocol: environment + stdin -> request, version checks,
 * dispatch to a plugin vtable, result or error JSON on stdout. Every plugin's main() is
 *	int main(int argc, char **argv) { return cni_plugin_main(&bridge_plugin, argc, argv); }
 * Only skel prints to stdout. */
#ifndef WEFT_SKEL_H
#define WEFT_SKEL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/cni-error.h"
#include "common/cni/types.h"

/* Bound on stdin: configs are small; a runtime sending more is broken or hostile (code 5). */
#define CNI_STDIN_MAX (4u << 20)

enum cni_cmd {
	CNI_CMD_ADD,
	CNI_CMD_DEL,
	CNI_CMD_CHECK,
	CNI_CMD_STATUS,
	CNI_CMD_GC,
	CNI_CMD_VERSION
};

const char *cni_cmd_name(enum cni_cmd cmd); /* "ADD", "DEL", ... */

struct cni_kv {
	char *key, *value;
};

struct cni_attachment {
	const char *container_id;
	const char *ifname;
};

/* One request, as the skel decoded it. Everything is owned by the skel. */
struct cni_args {
	enum cni_cmd command;
	const char *container_id; /* "" when not given (GC, STATUS, VERSION) */
	const char *netns;	  /* "" when not given (DEL may omit it) */
	const char *ifname;	  /* "" when not given */
	const char *cni_args;	  /* raw CNI_ARGS, "" when not given */
	const char *path;	  /* raw CNI_PATH, "" when not given */

	const char *stdin_data; /* the complete stdin bytes (for delegation), NUL-terminated */
	size_t stdin_len;

	json_t *conf;			/* the whole stdin object (borrowed) */
	const char *cni_version;	/* conf's cniVersion ("0.1.0" when absent) */
	const char *name;		/* conf's network name */
	struct cni_result *prev_result; /* decoded prevResult, NULL when absent */

	struct cni_kv *kv; /* CNI_ARGS split into pairs */
	size_t n_kv;

	/* GC: cni.dev/valid-attachments, or the legacy cni.dev/attachments. */
	bool has_valid_attachments;
	struct cni_attachment *valid_attachments;
	size_t n_valid_attachments;
};

/* Value of a CNI_ARGS key (case-sensitive), or NULL. */
const char *cni_args_get(const struct cni_args *a, const char *key);
/* True when (container_id, ifname) is in the GC valid-attachments list. */
bool cni_args_attachment_valid(const struct cni_args *a, const char *container_id,
			       const char *ifname);

struct cni_plugin {
	const char *name; /* for logs and the VERSION banner */
	size_t conf_size; /* bytes of the plugin's conf struct, zeroed before parse */
	/* CNI_ARGS keys the plugin understands (NULL-terminated). Any other key is an error
	 * (code 4, naming it) unless CNI_ARGS has IgnoreUnknown=1|true. IgnoreUnknown and the
	 * K8S_POD_* keys are always accepted. */
	const char *const *known_args;
	/* JSON -> conf; validation only, no side effects. Codes 2/6/7. */
	int (*parse)(const struct cni_args *a, void *conf, struct cni_err *err);
	/* Optional: release what parse allocated. Called whenever parse was called, also after
	 * a failed parse, on the zeroed-then-partly-filled conf. */
	void (*conf_free)(void *conf);
	/* Verbs. A NULL verb is a successful no-op. add fills res (skel encodes and prints it
	 * in the request's cniVersion). */
	int (*add)(const struct cni_args *a, void *conf, struct cni_result *res,
		   struct cni_err *err);
	int (*del)(const struct cni_args *a, void *conf, struct cni_err *err);
	int (*check)(const struct cni_args *a, void *conf, struct cni_err *err);
	int (*status)(const struct cni_args *a, void *conf, struct cni_err *err);
	int (*gc)(const struct cni_args *a, void *conf, struct cni_err *err);
};

/* The process entry. `<plugin> --version` prints "<name> <weft version>" on stdout. Run without
 * CNI_COMMAND (unset or empty: by hand), it prints cni_plugin_about() on stderr and exits 0, as
 * the reference plugins do. Otherwise it runs one invocation from the environment and stdin and
 * returns the process exit status (0, or 1 after printing error JSON). Order
 * (docs/cni-contract.md §1.7): env (4), stdin (5; VERSION answers here), JSON (6), name (7),
 * unknown CNI_COMMAND (4), cniVersion (6 malformed, 1 unsupported or too old for
 * CHECK/GC/STATUS), CNI_ARGS (4), prevResult (6), GC attachments (6/7), parse, verb. A verb
 * failing without a code is reported as code 100. */
int cni_plugin_main(const struct cni_plugin *p, int argc, char **argv);

/* What a plugin is, for a human: "weft <name> plugin <weft version>\nCNI protocol versions
 * supported: 0.1.0, ..., 1.1.0\n". */
void cni_plugin_about(const struct cni_plugin *p, FILE *f);

/* For tests, fuzzing and in-process callers: one invocation, with env taken from an
 * envp-style getter, stdin from a buffer and output to a FILE. No --version and no about text
 * here: a missing CNI_COMMAND is code 4. */
int cni_plugin_run(const struct cni_plugin *p, const char *(*getenv_fn)(const char *),
		   const char *in, size_t in_len, FILE *out);

/* Network names and container IDs: ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ ; ifnames: 1..15 chars, not
 * "." or "..", no '/', ':' or whitespace. */
bool cni_valid_id(const char *s);
bool cni_valid_ifname(const char *s);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Executes another plugin (IPAM, chained) exactly as docs/cni-contract.md §1.8 says:
 * found in CNI_PATH (first regular executable file dir/type; a type with '/' is refused), the
 * same environment but CNI_COMMAND, the complete stdin bytes of this invocation; the
 * delegate's stderr passes through; a CNI error on its stdout keeps its code. */
#ifndef WEFT_DELEGATE_H
#define WEFT_DELEGATE_H

#include "common/cni-error.h"
#include "common/cni/types.h"
#include "common/cni/skel.h"

/* Finds type in the ':'-separated path: the first regular file with execute permission.
 * Writes the full path into buf. -ENOENT when absent (err: code 7 naming the plugin and the
 * path searched; code 4 when path is empty); -EINVAL (code 7) for an empty type, ".", ".."
 * or a type containing '/'. */
int cni_find_plugin(const char *path, const char *type, char *buf, size_t len, struct cni_err *err);

/* Runs `type` with cmd and a's stdin bytes. ADD: ret_res (may be NULL for other verbs)
 * receives the decoded result. A delegate failing without JSON is CNI_ERR_DELEGATE with its
 * stderr-less exit status in details. */
int cni_delegate(const struct cni_args *a, const char *type, enum cni_cmd cmd,
		 struct cni_result *ret_res, struct cni_err *err);

/* Lower level, also used by the runtime side: exec `plugin_path` with env (NULL-terminated,
 * replacing the environment) and stdin bytes; capture stdout (malloc'd, NUL-terminated) and
 * the raw wait status (use WIFEXITED/WEXITSTATUS). Returns 0 when the process ran (whatever
 * its status). Output beyond CNI_STDIN_MAX bytes: the child is killed, code 5. An exec
 * failing with ETXTBSY is retried for about a second, like libcni. */
int cni_exec_capture(const char *plugin_path, char *const envp[], const char *in, size_t in_len,
		     char **ret_out, size_t *ret_out_len, int *ret_status, struct cni_err *err);

#endif

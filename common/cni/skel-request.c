/* SPDX-License-Identifier: Apache-2.0 */
/* The request configuration on stdin: JSON (code 6), network name (code 7), cniVersion and
 * what each verb allows (codes 6 and 1), prevResult, GC's valid attachments, and the VERSION
 * answer. Messages follow Go's skel so that runtime logs read the same. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/cni/skel-internal.h"

/* Step 3: stdin must be a JSON object with a valid "name". */
int skel_conf_load(struct skel_req *q, struct cni_err *err)
{
	json_error_t jerr;
	const json_t *name;

	q->conf = json_loadb(q->a.stdin_data, q->a.stdin_len, 0, &jerr);
	if (!q->conf)
		return cni_err_setd(err, CNI_ERR_DECODE, 0, jerr.text,
				    "error parsing network config from stdin (line %d, column %d)",
				    jerr.line, jerr.column);
	if (!json_is_object(q->conf))
		return cni_err_set(err, CNI_ERR_DECODE, 0,
				   "error parsing network config from stdin: not a JSON object");
	q->a.conf = q->conf;
	name = json_object_get(q->conf, "name");
	if (name && !json_is_null(name) && !json_is_string(name))
		return cni_err_set(err, CNI_ERR_DECODE, 0,
				   "error parsing network config from stdin: \"name\" must be a "
				   "string");
	if (!json_is_string(name) || json_string_length(name) == 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "missing network name");
	q->a.name = json_string_value(name);
	if (!cni_valid_id(q->a.name))
		return cni_err_setd(err, CNI_ERR_CONFIG, 0, q->a.name,
				    "invalid characters found in network name");
	return 0;
}

/* `config is "X", plugin supports ["0.1.0" "0.2.0" ...]` (Go's %q of a []string). */
static void versions_details(const char *config, char *buf, size_t len)
{
	const char *const *all;
	size_t n = cni_versions_list(&all);
	int off = snprintf(buf, len, "config is \"%.32s\", plugin supports [", config);

	for (size_t i = 0; i < n && off > 0 && (size_t)off < len; i++)
		off += snprintf(buf + off, len - (size_t)off, "%s\"%s\"", i ? " " : "", all[i]);
	if (off > 0 && (size_t)off < len)
		snprintf(buf + off, len - (size_t)off, "]");
}

static int version_unsupported(const char *version, struct cni_err *err)
{
	char details[256];

	versions_details(version, details, sizeof(details));
	return cni_err_setd(err, CNI_ERR_VERSION, 0, details, "incompatible CNI versions");
}

/* The oldest config version each verb accepts, 0 for none. */
static int verb_min_version(enum cni_cmd cmd)
{
	switch (cmd) {
	case CNI_CMD_CHECK:
		return CNI_VERSION_NUM(0, 4, 0);
	case CNI_CMD_STATUS:
	case CNI_CMD_GC:
		return CNI_VERSION_NUM(1, 1, 0);
	default:
		return 0;
	}
}

/* Step 4: cniVersion must decode (6), be allowed for the verb and supported (1). */
int skel_version_check(struct skel_req *q, struct cni_err *err)
{
	const json_t *v = json_object_get(q->conf, "cniVersion");
	int ver;

	if (v && !json_is_null(v) && !json_is_string(v))
		return cni_err_set(err, CNI_ERR_DECODE, 0,
				   "decoding version from network config: \"cniVersion\" must be "
				   "a string");
	q->a.cni_version = json_is_string(v) ? json_string_value(v) : "";
	if (!*q->a.cni_version)
		q->a.cni_version = "0.1.0"; /* the spec's default when absent */
	if (cni_version_parse(q->a.cni_version, &ver) < 0)
		return cni_err_setd(err, CNI_ERR_DECODE, 0, "expected MAJOR.MINOR.PATCH",
				    "invalid cniVersion \"%.32s\"", q->a.cni_version);
	if (ver < verb_min_version(q->a.command))
		return cni_err_setd(err, CNI_ERR_VERSION, 0, q->a.cni_version,
				    "config version does not allow %s", cni_cmd_name(q->a.command));
	if (!cni_version_supported(q->a.cni_version))
		return version_unsupported(q->a.cni_version, err);
	q->version_known = true;
	return 0;
}

int skel_prev_result_load(struct skel_req *q, struct cni_err *err)
{
	const json_t *prev = json_object_get(q->conf, "prevResult");
	int r;

	if (!prev || json_is_null(prev))
		return 0;
	q->prev_result = cni_result_new();
	if (!q->prev_result)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "decode prevResult");
	r = cni_result_decode(prev, q->a.cni_version, q->prev_result, err);
	if (r < 0)
		return cni_err_wrap(err, "prevResult");
	q->a.prev_result = q->prev_result;
	return 0;
}

static int attachment_load(const json_t *o, const char *key, size_t i, struct cni_attachment *ret,
			   struct cni_err *err)
{
	const json_t *id = json_object_get(o, "containerID");
	const json_t *ifname = json_object_get(o, "ifname");

	if (!json_is_object(o) || (id && !json_is_string(id)) ||
	    (ifname && !json_is_string(ifname)))
		return cni_err_setd(err, CNI_ERR_DECODE, 0,
				    "expected {\"containerID\": string, \"ifname\": string}",
				    "%s[%zu]: bad shape", key, i);
	if (!id || json_string_length(id) == 0 || !ifname || json_string_length(ifname) == 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "%s[%zu]: \"containerID\" and \"ifname\" are required", key, i);
	ret->container_id = json_string_value(id);
	ret->ifname = json_string_value(ifname);
	return 0;
}

/* GC: cni.dev/valid-attachments, or the legacy cni.dev/attachments that libcni also sets. */
int skel_gc_attachments_load(struct skel_req *q, struct cni_err *err)
{
	const char *key = "cni.dev/valid-attachments";
	const json_t *list = json_object_get(q->conf, key), *o;
	size_t i;
	int r;

	if (!list || json_is_null(list)) {
		key = "cni.dev/attachments";
		list = json_object_get(q->conf, key);
	}
	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return cni_err_set(err, CNI_ERR_DECODE, 0, "\"%s\" must be an array", key);
	q->attachments = calloc(json_array_size(list) + 1, sizeof(*q->attachments));
	if (!q->attachments)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "decode %s", key);
	json_array_foreach(list, i, o)
	{
		r = attachment_load(o, key, i, &q->attachments[i], err);
		if (r < 0)
			return r;
	}
	q->a.has_valid_attachments = true;
	q->a.valid_attachments = q->attachments;
	q->a.n_valid_attachments = json_array_size(list);
	return 0;
}

bool cni_args_attachment_valid(const struct cni_args *a, const char *container_id,
			       const char *ifname)
{
	for (size_t i = 0; i < a->n_valid_attachments; i++)
		if (strcmp(a->valid_attachments[i].container_id, container_id) == 0 &&
		    strcmp(a->valid_attachments[i].ifname, ifname) == 0)
			return true;
	return false;
}

/* {"cniVersion": <stdin's, when it names a supported version, else the latest>,
 *  "supportedVersions": [...]} and a newline, like Go's PluginInfo.Encode. */
int skel_version_print(const char *in, size_t in_len, FILE *out)
{
	_cleanup_json_ json_t *req = in ? json_loadb(in, in_len, 0, NULL) : NULL;
	_cleanup_json_ json_t *o = json_object(), *list = json_array();
	_cleanup_free_ char *s = NULL;
	const char *version = json_string_value(json_object_get(req, "cniVersion"));
	const char *const *all;
	size_t n = cni_versions_list(&all);
	int bad = !o || !list;

	if (!cni_version_supported(version))
		version = CNI_VERSION_LATEST;
	for (size_t i = 0; !bad && i < n; i++)
		bad |= json_array_append_new(list, json_string(all[i]));
	if (!bad)
		bad |= json_object_set_new(o, "cniVersion", json_string(version));
	if (!bad)
		bad |= json_object_set_new(o, "supportedVersions", TAKE_PTR(list));
	s = bad ? NULL : json_dumps(o, JSON_COMPACT);
	if (!s)
		return -ENOMEM;
	if (fprintf(out, "%s\n", s) < 0 || fflush(out) != 0)
		return -EIO;
	return 0;
}

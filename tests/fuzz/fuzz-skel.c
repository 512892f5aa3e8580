/* SPDX-License-Identifier: Apache-2.0 */
/* The skel's whole input surface: environment + stdin -> request -> a plugin vtable -> one
 * result or one error JSON. Input: "KEY=VALUE" lines (the environment), a NUL byte, then the
 * stdin bytes. A fake plugin echoes prevResult (or a fixed result) so every encoder runs.
 * Invariants: exit status 0 or 1; status 1 prints exactly one error JSON object with an
 * integer code > 0 and a msg; ADD success prints a result whose cniVersion is the request's;
 * other verbs print nothing on success; VERSION always answers. */
#include <errno.h>

#include "common/cleanup.h"
#include "tests/fuzz/fuzz-util.h"
#include "common/cni/skel.h"

#define MAX_ENV 32

static struct {
	char *key, *value;
} env[MAX_ENV];
static size_t n_env;

static const char *fake_getenv(const char *name)
{
	for (size_t i = n_env; i-- > 0;)
		if (strcmp(env[i].key, name) == 0)
			return env[i].value;
	return NULL;
}

static void env_load(char *lines)
{
	char *save = lines, *line;

	n_env = 0;
	while ((line = strsep(&save, "\n")) && n_env < MAX_ENV) {
		char *eq = strchr(line, '=');

		if (!eq)
			continue;
		*eq = '\0';
		env[n_env].key = line;
		env[n_env++].value = eq + 1;
	}
}

struct fake_conf {
	int fail_code;
	bool saw_ip, saw_valid;
};

static int fake_parse(const struct cni_args *a, void *c, struct cni_err *err)
{
	struct fake_conf *conf = c;
	json_t *fail = json_object_get(a->conf, "fuzzFail");

	FUZZ_ASSERT(a->conf && a->name && a->cni_version);
	FUZZ_ASSERT(a->stdin_data && strlen(a->stdin_data) <= a->stdin_len);
	conf->saw_ip = cni_args_get(a, "IP") != NULL;
	conf->saw_valid = cni_args_attachment_valid(a, "ctr1", "eth0");
	for (size_t i = 0; i < a->n_valid_attachments; i++)
		FUZZ_ASSERT(a->valid_attachments[i].container_id && a->valid_attachments[i].ifname);
	if (json_is_integer(fail)) {
		conf->fail_code = (int)(json_integer_value(fail) & 0x7f);
		if (json_integer_value(fail) < 0)
			return cni_err_set(err, (enum cni_code)conf->fail_code, EINVAL,
					   "fuzz parse failure");
	}
	return 0;
}

static int copy_prev(const struct cni_result *p, struct cni_result *res, struct cni_err *err)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < p->n_ifaces; i++)
		r = cni_result_add_iface(res, p->ifaces[i].name, p->ifaces[i].mac,
					 p->ifaces[i].sandbox, err);
	for (size_t i = 0; r >= 0 && i < p->n_ips; i++)
		r = cni_result_add_ip(
			res, &p->ips[i].address, &p->ips[i].gateway,
			p->ips[i].interface < (int)res->n_ifaces ? p->ips[i].interface : -1, err);
	for (size_t i = 0; r >= 0 && i < p->n_routes; i++)
		r = cni_result_add_route(res, &p->routes[i].dst, &p->routes[i].gw, err);
	if (r >= 0 && p->dns)
		res->dns = json_deep_copy(p->dns);
	return r;
}

static int fake_add(const struct cni_args *a, void *c, struct cni_result *res, struct cni_err *err)
{
	struct fake_conf *conf = c;
	struct inet_prefix ip;
	struct inet_addr gw;
	int r;

	if (conf->fail_code)
		return cni_err_set(err, (enum cni_code)conf->fail_code, EIO, "fuzz add failure");
	if (a->prev_result)
		return copy_prev(a->prev_result, res, err);
	r = cni_result_add_iface(res, "eth0", "aa:bb:cc:dd:ee:ff", a->netns, err);
	if (r < 0)
		return r;
	if (inet_prefix_parse("10.1.2.3/24", &ip) < 0 || inet_addr_parse("10.1.2.1", &gw) < 0)
		abort();
	return cni_result_add_ip(res, &ip, &gw, r, err);
}

static int fake_verb(const struct cni_args *a, void *c, struct cni_err *err)
{
	struct fake_conf *conf = c;

	if (conf->fail_code)
		return cni_err_set(err, (enum cni_code)conf->fail_code, EIO, "fuzz verb failure");
	return 0;
}

static const char *const known[] = {"IP", "MAC", NULL};

static const struct cni_plugin fake_plugin = {
	.name = "fuzz",
	.conf_size = sizeof(struct fake_conf),
	.known_args = known,
	.parse = fake_parse,
	.add = fake_add,
	.del = fake_verb,
	.check = fake_verb,
	.status = fake_verb,
	.gc = fake_verb,
};

static void check_output(int status, const char *cmd, const char *out, size_t len)
{
	_cleanup_json_ json_t *j = NULL;
	json_error_t jerr;

	FUZZ_ASSERT(status == 0 || status == 1);
	if (status == 0 && cmd && strcmp(cmd, "ADD") != 0 && strcmp(cmd, "VERSION") != 0) {
		FUZZ_ASSERT(len == 0);
		return;
	}
	if (status == 0 && len == 0)
		return; /* ADD of a verb-less plugin would print nothing; ours always answers */
	j = json_loadb(out, len, 0, &jerr);
	FUZZ_ASSERT(j && json_is_object(j));
	if (status == 1) {
		FUZZ_ASSERT(json_is_integer(json_object_get(j, "code")));
		FUZZ_ASSERT(json_integer_value(json_object_get(j, "code")) > 0);
		FUZZ_ASSERT(json_is_string(json_object_get(j, "msg")));
		return;
	}
	FUZZ_ASSERT(json_is_string(json_object_get(j, "cniVersion")));
	if (strcmp(cmd, "VERSION") == 0)
		FUZZ_ASSERT(json_is_array(json_object_get(j, "supportedVersions")));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_split in;
	char *out = NULL;
	size_t out_len = 0;
	FILE *f;
	int status;

	if (!fuzz_split(data, size, &in))
		return 0;
	env_load(in.head);
	f = open_memstream(&out, &out_len);
	if (!f) {
		free(in.head);
		return 0;
	}
	status = cni_plugin_run(&fake_plugin, fake_getenv, (const char *)in.tail, in.tail_len, f);
	fclose(f);
	check_output(status, fake_getenv("CNI_COMMAND"), out, out_len);
	free(out);
	free(in.head);
	return 0;
}

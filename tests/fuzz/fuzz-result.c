/* SPDX-License-Identifier: Apache-2.0 */
/* Result / prevResult decoding and re-encoding for every CNI version.
 * Input: one byte choosing the default version (the config's cniVersion when the result has
 * none), then a JSON document. Invariants: a failed decode sets code 6 (or 1 for a version we do
 * not speak); a decoded result encodes or fails with an error; for every version v, decoding
 * the encoding at v and encoding it again at v gives the same JSON (a fixed point). */
#include "common/cleanup.h"
#include "common/cni/types.h"
#include "tests/fuzz/fuzz-util.h"

/* fuzz-max-len: 8192 */

static void roundtrip(const struct cni_result *r, const char *v)
{
	_cleanup_json_ json_t *a = NULL, *b = NULL;
	_cleanup_result_ struct cni_result *back = cni_result_new();
	struct cni_err err = {0};
	int rc;

	FUZZ_ASSERT(back);
	rc = cni_result_encode(r, v, &a, &err);
	if (rc < 0) {
		fuzz_err_ok(&err);
		return;
	}
	FUZZ_ASSERT(a && json_is_object(a));
	cni_err_clear(&err);
	rc = cni_result_decode(a, v, back, &err);
	if (rc < 0) {
		char *s = json_dumps(a, JSON_COMPACT);

		fprintf(stderr, "encoded at %s but does not decode: %s: %s\n", v, err.msg,
			s ? s : "?");
		free(s);
		abort();
	}
	cni_err_clear(&err);
	rc = cni_result_encode(back, v, &b, &err);
	FUZZ_ASSERT(rc >= 0);
	if (!json_equal(a, b)) {
		char *sa = json_dumps(a, JSON_COMPACT), *sb = json_dumps(b, JSON_COMPACT);

		fprintf(stderr, "not a fixed point at %s:\n  %s\n  %s\n", v, sa ? sa : "?",
			sb ? sb : "?");
		free(sa);
		free(sb);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_result_ struct cni_result *r = NULL;
	_cleanup_json_ json_t *j = NULL;
	const char *const *versions;
	size_t nv = cni_versions_list(&versions);
	const char *def;
	struct cni_err err = {0};

	if (size < 1)
		return 0;
	def = data[0] % (nv + 1) == nv ? NULL : versions[data[0] % (nv + 1)];
	j = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
	if (!j)
		return 0;
	r = cni_result_new();
	FUZZ_ASSERT(r);
	if (cni_result_decode(j, def, r, &err) < 0) {
		fuzz_err_ok(&err);
		FUZZ_ASSERT(err.code == CNI_ERR_DECODE || err.code == CNI_ERR_VERSION);
		return 0;
	}
	FUZZ_ASSERT(r->n_ifaces <= CNI_MAX_IFACES && r->n_ips <= CNI_MAX_IPS &&
		    r->n_routes <= CNI_MAX_ROUTES);
	for (size_t i = 0; i < r->n_ips; i++)
		FUZZ_ASSERT(r->ips[i].interface >= -1);
	for (size_t i = 0; i < nv; i++)
		roundtrip(r, versions[i]);
	return 0;
}

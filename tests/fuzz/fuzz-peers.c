/* SPDX-License-Identifier: Apache-2.0 */
/* peers / peersFile parsing (host-gw, vxlan): a plain list of {name, nodeIP, podCIDR} or a
 * Kubernetes NodeList. Input: a JSON document. Invariants: a failure is code 7 with a message;
 * a parsed set is sorted with unique names, every pod CIDR has no host bits and the node IP's
 * family; peers_find finds every entry; take_self removes exactly one; validate and digest run;
 * the digest is deterministic and the same with self kept apart; the text peers_json_write
 * makes parses back to the same set. */
#include "common/cleanup.h"
#include "tests/fuzz/fuzz-util.h"
#include "plugins/lib/peers.h"

/* fuzz-max-len: 16384 */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static void check_set(const struct peers *p)
{
	for (size_t i = 0; i < p->n; i++) {
		FUZZ_ASSERT(p->v[i].name[0] != '\0');
		FUZZ_ASSERT(memchr(p->v[i].name, '\0', sizeof(p->v[i].name)));
		FUZZ_ASSERT(!inet_prefix_has_host_bits(&p->v[i].pod_cidr));
		FUZZ_ASSERT(i == 0 || strcmp(p->v[i - 1].name, p->v[i].name) < 0);
		FUZZ_ASSERT(peers_find(p, p->v[i].name) == (long)i);
	}
}

/* p (with extra in its place) as text, parsed back: the same peers. */
static void round_trip(const struct peers *p, const struct peer *extra)
{
	_cleanup_free_ char *t = malloc((p->n + 3) * PEER_JSON_MAX);
	_cleanup_json_ json_t *j = NULL;
	struct peers q = {0};

	FUZZ_ASSERT(t);
	peers_json_write(t, p, extra);
	j = json_loads(t, 0, NULL);
	FUZZ_ASSERT(j && peers_parse(j, "text", &q, NULL) == 0);
	FUZZ_ASSERT(q.n == p->n + !!extra);
	for (size_t i = 0, k = 0; i < q.n; i++) {
		const struct peer *want =
			extra && (k == p->n || strcmp(extra->name, p->v[k].name) < 0) ? extra
										      : &p->v[k++];

		FUZZ_ASSERT(peers_eq(&q.v[i], want));
		if (want == extra)
			extra = NULL;
	}
	peers_free(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_json_ json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	struct peers p = {0};
	struct peer self;
	struct inet_prefix local;
	struct cni_err err = {0};
	char d1[17], d2[17];
	size_t n;

	if (!j)
		return 0;
	if (peers_parse(j, "peers", &p, &err) < 0) {
		fuzz_err_ok(&err);
		FUZZ_ASSERT(err.code == CNI_ERR_CONFIG);
		peers_free(&p);
		return 0;
	}
	check_set(&p);
	peers_digest(&p, NULL, "fuzz", d1);
	peers_digest(&p, NULL, "fuzz", d2);
	FUZZ_ASSERT(strcmp(d1, d2) == 0);
	round_trip(&p, NULL);
	n = p.n;
	if (n && peers_take_self(&p, p.v[n / 2].name, &self) == 1) {
		FUZZ_ASSERT(p.n == n - 1);
		check_set(&p);
		peers_digest(&p, &self, "fuzz", d2);
		FUZZ_ASSERT(strcmp(d1, d2) == 0);
		round_trip(&p, &self);
		if (inet_prefix_parse("10.244.1.0/24", &local) == 0)
			(void)peers_validate(&p, &self, &local, 1, &err);
	} else {
		cni_err_clear(&err);
		(void)peers_validate(&p, NULL, NULL, 0, &err);
	}
	peers_free(&p);
	FUZZ_ASSERT(p.n == 0);
	return 0;
}

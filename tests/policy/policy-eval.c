/* SPDX-License-Identifier: Apache-2.0 */
/* policy-eval: weft-node's NetworkPolicy compiler (agent/policy.c) answering probes, for the
 * cross-check against the independent model (tests/policy/test_crosscheck.py).
 *
 * stdin:  {"namespaces": {name: Namespace}, "pods": {"ns/name": Pod}, "policies": {key: NP},
 *          "probes": [{"from": "ns/pod", "to": "ns/pod", "port": N, "protocol": "TCP",
 *                      "family": 4}]}
 * stdout: the probes, each with "allowed" (the source's egress and the destination's ingress
 *         both allow it; a pod always reaches itself). Exit 1 on bad input. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/policy.h"
#include "common/cleanup.h"

static uint8_t proto(const char *s)
{
	if (s && strcmp(s, "UDP") == 0)
		return POL_PROTO_UDP;
	if (s && strcmp(s, "SCTP") == 0)
		return POL_PROTO_SCTP;
	return POL_PROTO_TCP;
}

static const struct inet_addr *addr_of(const struct pol_pod *p, int family)
{
	for (size_t i = 0; i < p->n_ips; i++)
		if (p->ips[i].family == (family == 6 ? AF_INET6 : AF_INET))
			return &p->ips[i];
	return NULL;
}

static int compile(const json_t *in, const char *id, struct pol_pod *ret)
{
	char ns[256], name[256];
	struct cni_err err = {0};

	if (sscanf(id, "%255[^/]/%255s", ns, name) != 2)
		return -1;
	return pol_compile(json_object_get(in, "namespaces"), json_object_get(in, "pods"),
			   json_object_get(in, "policies"), ns, name, ret, &err);
}

static int probe(const json_t *in, json_t *p)
{
	const char *from = json_string_value(json_object_get(p, "from"));
	const char *to = json_string_value(json_object_get(p, "to"));
	int family = (int)json_integer_value(json_object_get(p, "family"));
	uint16_t port = (uint16_t)json_integer_value(json_object_get(p, "port"));
	uint8_t pr = proto(json_string_value(json_object_get(p, "protocol")));
	struct pol_pod s = {0}, d = {0};
	const struct inet_addr *sa, *da;
	bool ok;

	if (!from || !to || compile(in, from, &s) < 0 || compile(in, to, &d) < 0) {
		pol_pod_free(&s);
		return -1;
	}
	sa = addr_of(&s, family ? family : 4);
	da = addr_of(&d, family ? family : 4);
	ok = strcmp(from, to) == 0 || (sa && da && pol_dir_allows(&s.out, da, pr, port) &&
				       pol_dir_allows(&d.in, sa, pr, port));
	json_object_set_new(p, "allowed", sa && da ? json_boolean(ok) : json_null());
	pol_pod_free(&s);
	pol_pod_free(&d);
	return 0;
}

int main(void)
{
	_cleanup_json_ json_t *in = json_loadf(stdin, 0, NULL);
	json_t *probes = json_object_get(in, "probes"), *p;
	size_t i;

	if (!json_is_array(probes)) {
		fputs("policy-eval: stdin needs namespaces, pods, policies and probes\n", stderr);
		return 1;
	}
	json_array_foreach(probes, i, p) if (probe(in, p) < 0)
	{
		fprintf(stderr, "policy-eval: probe %zu names an unknown pod\n", i);
		return 1;
	}
	json_dumpf(probes, stdout, JSON_COMPACT);
	putchar('\n');
	return 0;
}

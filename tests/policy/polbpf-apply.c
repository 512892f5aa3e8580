/* SPDX-License-Identifier: Apache-2.0 */
/* polbpf-apply: what weft-node does for ebpf pods when policies change, for
 * tests/integration/ebpf-policy.bats: compiles pods against caches (agent/policy.c) and writes
 * the result into the network's maps (agent/policy-bpf.c).
 *
 *   polbpf-apply [--pin-root DIR] --network NET NS/NAME... < caches
 *   polbpf-apply [--pin-root DIR] --network NET --forget NS/NAME...
 *   polbpf-apply [--pin-root DIR] --network NET --gc [NS/NAME...]
 *   polbpf-apply [--pin-root DIR] --network NET --default allow|deny
 *
 * caches: {"namespaces": {name: Namespace}, "pods": {"ns/name": Pod}, "policies": {key: NP}},
 * the informers' shape. Each pod's addresses are its status.podIPs (none: a pod not started).
 * --forget: the pods are gone. --gc: every pod but those named is gone (prints how many pods
 * and entries went). --default: weft-node's --policy-default. Errors: the CNI error JSON on
 * stderr, exit 1. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "agent/policy-bpf.h"
#include "common/cleanup.h"
#include "common/naming.h"

struct opts {
	const char *pin_root, *network, *def;
	bool forget, gc;
};

static int pod_key(const char *id, uint64_t *ret, char ns[256], char name[256], struct cni_err *err)
{
	if (sscanf(id, "%255[^/]/%255s", ns, name) != 2)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "'%s' is not NS/NAME", id);
	*ret = naming_pod_hash(ns, name);
	return 0;
}

static int one_pod(const json_t *in, const char *dir, const char *id, struct cni_err *err)
{
	char ns[256], name[256];
	struct pol_pod p = {0};
	uint64_t key = 0;
	int r = pod_key(id, &key, ns, name, err);

	if (r >= 0)
		r = pol_compile(json_object_get(in, "namespaces"), json_object_get(in, "pods"),
				json_object_get(in, "policies"), ns, name, &p, err);
	if (r < 0)
		return r;
	r = polbpf_apply(dir, key, &p, err);
	pol_pod_free(&p);
	return r < 0 ? cni_err_wrap(err, "%s", id) : 0;
}

/* --forget, --gc, --default: no caches */
static int keys_op(const struct opts *o, const char *dir, int argc, char **argv,
		   struct cni_err *err)
{
	uint64_t keep[64];
	size_t n = 0;
	char ns[256], name[256];
	int r = 0;

	if (o->def)
		return polbpf_defaults(dir, strcmp(o->def, "deny") == 0, err);
	for (int i = optind; r >= 0 && i < argc && n < 64; i++)
		if ((r = pod_key(argv[i], &keep[n], ns, name, err)) >= 0 && o->forget)
			r = polbpf_forget(dir, keep[n], err);
		else
			n++;
	if (r >= 0 && o->gc && (r = polbpf_gc(dir, keep, n, err)) >= 0)
		printf("%d\n", r);
	return r < 0 ? r : 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {{"pin-root", required_argument, NULL, 'r'},
					      {"network", required_argument, NULL, 'n'},
					      {"forget", no_argument, NULL, 'f'},
					      {"gc", no_argument, NULL, 'g'},
					      {"default", required_argument, NULL, 'd'},
					      {0}};
	int c;

	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (c == 'r')
			o->pin_root = optarg;
		else if (c == 'n')
			o->network = optarg;
		else if (c == 'f')
			o->forget = true;
		else if (c == 'g')
			o->gc = true;
		else if (c == 'd')
			o->def = optarg;
		else
			return -1;
	}
	return o->network && (o->gc || o->def || optind < argc) ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct cni_err err = {0};
	struct opts o = {0};
	char dir[PATH_MAX];
	int r;

	if (parse(argc, argv, &o) < 0) {
		fputs("usage: polbpf-apply [--pin-root DIR] --network NET "
		      "[--forget | --gc | --default allow|deny] NS/NAME... [< caches]\n",
		      stderr);
		return 2;
	}
	r = polbpf_net_dir(o.pin_root, o.network, dir, sizeof(dir), &err);
	if (r >= 0 && (o.gc || o.forget || o.def)) {
		r = keys_op(&o, dir, argc, argv, &err);
	} else if (r >= 0) {
		_cleanup_json_ json_t *in = json_loadf(stdin, 0, NULL);

		if (!in)
			r = cni_err_set(&err, CNI_ERR_DECODE, EINVAL, "stdin is not JSON");
		for (int i = optind; r >= 0 && i < argc; i++)
			r = one_pod(in, dir, argv[i], &err);
	}
	if (r < 0) {
		cni_err_write_json(&err, NULL, stderr);
		return 1;
	}
	return 0;
}

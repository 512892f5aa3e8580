/* SPDX-License-Identifier: Apache-2.0 */
/* IPAM configuration: ipam_open() (disabled / host-local / delegated), i.e. host-local's
 * parser strict (ADD, CHECK, STATUS) and lenient (DEL, GC), through the skel. See
 * fuzz-conf.h for the input format and invariants. */
#include "ipam/config.h"
#include "tests/fuzz/fuzz-conf.h"
#include "ipam/ipam.h"

/* fuzz-max-len: 16384 */

struct conf {
	struct ipam *ipam;
};

static int parse(const struct cni_args *a, void *c, struct cni_err *err)
{
	struct conf *conf = c;
	int r = ipam_open(a, &conf->ipam, err);

	if (r >= 0) {
		const char *t = ipam_type(conf->ipam);

		FUZZ_ASSERT(ipam_enabled(conf->ipam) == (t != NULL));
		FUZZ_ASSERT(!t || (*t && !strchr(t, '/')));
	}
	return r;
}

static void conf_free(void *c)
{
	struct conf *conf = c;

	ipam_close(conf->ipam);
}

static const char *const known[] = {"IP", NULL};

static const struct cni_plugin ipam_plugin = {
	.name = "host-local",
	.conf_size = sizeof(struct conf),
	.known_args = known,
	.parse = parse,
	.conf_free = conf_free,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_conf_run(&ipam_plugin, data, size);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* nsrun: run a command in new namespaces and a cgroup, with CNI networks attached through
 * the runtime side (netns-tools/runtime/) before it starts and detached when it ends. The
 * command line is parsed by ctr-opts.c, the container run by ctr.c. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "netns-tools/nsrun/ctr.h"
#include "common/version.h"

static void usage_error(const char *msg)
{
	fprintf(stderr, "nsrun: %s\nTry 'nsrun --help' for more information.\n", msg);
}

static int run(struct ctr_opts *o)
{
	struct cni_err err = {0};
	struct ctr c;
	int r;

	if (o->cleanup) {
		r = ctr_cleanup_stale(o->cleanup, &err);
		if (r < 0)
			fprintf(stderr, "nsrun: cleanup %s: %s%s%s\n", o->cleanup, err.msg,
				err.details[0] ? ": " : "", err.details);
		return r < 0 ? 1 : 0;
	}
	r = ctr_start(&c, &o->spec, &err);
	if (r < 0) {
		fprintf(stderr, "nsrun: %s%s%s\n", err.msg, err.details[0] ? ": " : "",
			err.details);
		return c.start_exit ? c.start_exit : CTR_EXIT_ERROR;
	}
	if (o->spec.verbose)
		for (size_t i = 0; i < c.cg.n; i++)
			log_info("cgroup v%d %s", c.cg.dirs[i].version, c.cg.dirs[i].path);
	return ctr_wait(&c);
}

int main(int argc, char **argv)
{
	struct ctr_opts o;
	int r;

	log_init("nsrun");
	if (ctr_opts_parse(&o, argc, argv) < 0) {
		usage_error(o.error);
		ctr_opts_free(&o);
		return CTR_EXIT_ERROR;
	}
	if (o.version) {
		printf("nsrun %s\n", weft_version);
		ctr_opts_free(&o);
		return 0;
	}
	if (o.help) {
		fputs(ctr_usage, stdout);
		ctr_opts_free(&o);
		return 0;
	}
	if (!o.cleanup && geteuid() != 0) {
		usage_error("must run as root (namespaces, cgroups and CNI need CAP_SYS_ADMIN and "
			    "CAP_NET_ADMIN)");
		ctr_opts_free(&o);
		return CTR_EXIT_ERROR;
	}
	if (o.spec.verbose) {
		setenv("WEFT_LOG_LEVEL", "info", 1);
		log_init("nsrun");
	}
	r = run(&o);
	ctr_opts_free(&o);
	return r;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* nsrun's command line: options into a struct ctr_spec, with the same checks and messages
 * nsrun always printed, and nothing run or created (so it can be tested without root). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cni/skel.h"
#include "netns-tools/nsrun/ctr.h"

const char ctr_usage[] =
	"Usage: nsrun [OPTIONS] -- COMMAND [ARG...]\n"
	"\n"
	"Runs COMMAND as PID 1 of new pid, net, mnt, uts, ipc and cgroup namespaces, in a cgroup\n"
	"with optional limits, optionally on its own root filesystem, with CNI networks attached\n"
	"through the CNI runtime side before it starts and detached (DEL) when it ends, also on\n"
	"SIGINT/SIGTERM and when it is killed. nsrun exits with the command's status (128+N when\n"
	"signal N ended it); 125: nsrun itself failed, 126: COMMAND not executable, 127: not "
	"found.\n"
	"\n"
	"Process and namespaces:\n"
	"  -n, --name NAME          container ID: CNI CONTAINERID, cgroup <parent>/NAME and the\n"
	"                           netns pin /run/netns/NAME (default nsrun-<pid>)\n"
	"  -H, --hostname NAME      hostname in the new UTS namespace (default: inherited)\n"
	"  -w, --workdir DIR        working directory of COMMAND (default / with a new root)\n"
	"      --init               a tiny init is PID 1: it reaps orphans and forwards signals\n"
	"                           to COMMAND (then PID 2); without it COMMAND itself is PID 1\n"
	"  -U, --userns             new user namespace: root inside is the caller outside\n"
	"      --map-root-to UID[:GID]\n"
	"                           new user namespace mapping ids 0-65535 to UID.. (GID..)\n"
	"\n"
	"Filesystem:\n"
	"  -r, --rootfs DIR         pivot_root into DIR, with a fresh /proc, /sys (read-only),\n"
	"                           cgroupfs on /sys/fs/cgroup, a minimal /dev and /tmp\n"
	"  -o, --overlay LOWER[:LOWER...]\n"
	"                           root = writable OverlayFS over these read-only layers (first\n"
	"                           is the top; with --rootfs, DIR is the bottom layer); upper\n"
	"                           and work dirs live in /run/weft/nsrun/NAME and are removed\n"
	"                           when the command ends. Without --rootfs/--overlay COMMAND "
	"sees\n"
	"                           the host's files, with its own /proc and /sys.\n"
	"\n"
	"Cgroup (v2, v1, or a v1+v2 hybrid: each controller where the host has it):\n"
	"  -m, --memory SIZE        memory limit, e.g. 64M, 1G (no swap beyond it)\n"
	"  -c, --cpus N             CPU quota in CPUs, e.g. 0.5 (CFS period 100 ms)\n"
	"  -p, --pids N             maximum number of processes\n"
	"      --cgroup-version auto|1|2\n"
	"                           force cgroup v1 or v2 (default auto)\n"
	"      --cgroup-parent PATH cgroups go to <hierarchy>/PATH/NAME (default weft)\n"
	"      --no-cgroup          do not create a cgroup (no limits allowed then)\n"
	"\n"
	"Networks (CNI, as libcni/cnitool run them; results cached in <cache-dir>/results):\n"
	"  -N, --net NAME           attach network NAME (repeatable; in order, DEL in reverse)\n"
	"  -i, --ifname IFNAME      interface for the matching --net (repeatable; default eth<i>)\n"
	"      --confdir DIR        network configs (default $NETCONFPATH or /etc/cni/net.d)\n"
	"      --cni-path PATH      plugin dirs, ':'-separated (default $CNI_PATH or "
	"/opt/cni/bin)\n"
	"      --cache-dir DIR      result cache (default $WEFT_CNI_CACHE_DIR or /var/lib/cni)\n"
	"      --cni-netns NETNS    run the plugins in this netns (a name in /run/netns or a\n"
	"                           path), e.g. a lab's \"host\"; default: nsrun's own\n"
	"      --cni-args ARGS      CNI_ARGS, 'K=V;K=V' (default $CNI_ARGS)\n"
	"      --cap-args JSON      capability args, e.g. '{\"portMappings\":[...]}' (default\n"
	"                           $CAP_ARGS)\n"
	"\n"
	"Other:\n"
	"      --pid-file FILE      write the container's PID 1 (host pid) to FILE\n"
	"      --stop-timeout SEC   SIGKILL the command SEC s after forwarding SIGINT/SIGTERM\n"
	"                           (PID 1 ignores signals it has no handler for; default 5)\n"
	"      --cleanup NAME       undo what a killed nsrun left (state in "
	"/run/weft/nsrun/NAME):\n"
	"                           CNI DEL, netns pin, cgroup, overlay dirs\n"
	"  -v, --verbose            log the CNI results and the cgroup directories\n"
	"  -h, --help               this text\n"
	"      --version            print nsrun's version\n";

enum {
	OPT_INIT = 256,
	OPT_MAP_ROOT,
	OPT_CG_VERSION,
	OPT_CG_PARENT,
	OPT_NO_CGROUP,
	OPT_CONFDIR,
	OPT_CNI_PATH,
	OPT_CACHE_DIR,
	OPT_CNI_NETNS,
	OPT_CNI_ARGS,
	OPT_CAP_ARGS,
	OPT_PID_FILE,
	OPT_STOP_TIMEOUT,
	OPT_CLEANUP,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{"name", required_argument, NULL, 'n'},
	{"hostname", required_argument, NULL, 'H'},
	{"workdir", required_argument, NULL, 'w'},
	{"init", no_argument, NULL, OPT_INIT},
	{"userns", no_argument, NULL, 'U'},
	{"map-root-to", required_argument, NULL, OPT_MAP_ROOT},
	{"rootfs", required_argument, NULL, 'r'},
	{"overlay", required_argument, NULL, 'o'},
	{"memory", required_argument, NULL, 'm'},
	{"cpus", required_argument, NULL, 'c'},
	{"pids", required_argument, NULL, 'p'},
	{"cgroup-version", required_argument, NULL, OPT_CG_VERSION},
	{"cgroup-parent", required_argument, NULL, OPT_CG_PARENT},
	{"no-cgroup", no_argument, NULL, OPT_NO_CGROUP},
	{"net", required_argument, NULL, 'N'},
	{"ifname", required_argument, NULL, 'i'},
	{"confdir", required_argument, NULL, OPT_CONFDIR},
	{"cni-path", required_argument, NULL, OPT_CNI_PATH},
	{"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
	{"cni-netns", required_argument, NULL, OPT_CNI_NETNS},
	{"cni-args", required_argument, NULL, OPT_CNI_ARGS},
	{"cap-args", required_argument, NULL, OPT_CAP_ARGS},
	{"pid-file", required_argument, NULL, OPT_PID_FILE},
	{"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
	{"cleanup", required_argument, NULL, OPT_CLEANUP},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* Records why parsing failed; returns -EINVAL. */
__attribute__((format(printf, 2, 3))) static int bad(struct ctr_opts *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->error, sizeof(o->error), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_uint(struct ctr_opts *o, const char *opt, const char *s, unsigned long long max,
		      unsigned long long *ret)
{
	char *end = NULL;

	errno = 0;
	*ret = strtoull(s, &end, 10);
	if (!*s || *s == '-' || errno || *end || *ret == 0 || *ret > max)
		return bad(o, "invalid %s '%s': expected a number from 1 to %llu", opt, s, max);
	return 0;
}

static int parse_dir(struct ctr_opts *o, const char *opt, const char *s, char *buf)
{
	struct stat st;

	if (!realpath(s, buf))
		return bad(o, "%s '%s': %s", opt, s, strerror(errno));
	if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
		return bad(o, "%s '%s': not a directory", opt, s);
	return 0;
}

static int parse_overlay(struct ctr_opts *o, const char *s)
{
	char *save = NULL;

	free(o->overlay);
	o->overlay = strdup(s);
	o->spec.n_lowers = 0;
	if (!o->overlay || !*s)
		return bad(o, "--overlay needs at least one directory");
	for (char *t = strtok_r(o->overlay, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
		if (o->spec.n_lowers >= CTR_MAX_LOWERS)
			return bad(o, "--overlay: at most %d layers", CTR_MAX_LOWERS);
		if (parse_dir(o, "--overlay layer", t, o->lowers[o->spec.n_lowers]) < 0)
			return -EINVAL;
		o->spec.lowers[o->spec.n_lowers] = o->lowers[o->spec.n_lowers];
		o->spec.n_lowers++;
	}
	return 0;
}

static int parse_map_root(struct ctr_opts *o, const char *v)
{
	struct ctr_spec *s = &o->spec;
	unsigned long long uid, gid;
	char *colon = strchr(v, ':');
	_cleanup_free_ char *u = strndup(v, colon ? (size_t)(colon - v) : strlen(v));

	if (!u || parse_uint(o, "--map-root-to uid", u, 4294901759ULL, &uid) < 0 ||
	    (colon && parse_uint(o, "--map-root-to gid", colon + 1, 4294901759ULL, &gid) < 0))
		return -EINVAL;
	s->userns = true;
	s->map_uid = (uid_t)uid;
	s->map_gid = (gid_t)(colon ? gid : uid);
	s->map_count = 65536;
	return 0;
}

static int parse_netns(struct ctr_opts *o, const char *v)
{
	struct stat st;

	if (!*v || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return bad(o, "invalid --cni-netns '%s'", v);
	snprintf(o->cni_netns, sizeof(o->cni_netns), strchr(v, '/') ? "%s" : CTR_NETNS_DIR "/%s",
		 v);
	if (stat(o->cni_netns, &st) < 0)
		return bad(o, "--cni-netns '%s': %s: %s", v, o->cni_netns, strerror(errno));
	o->spec.cni_netns = o->cni_netns;
	return 0;
}

static int parse_cg_version(struct ctr_opts *o, const char *v)
{
	struct ctr_spec *s = &o->spec;

	if (strcmp(v, "auto") == 0)
		s->cg_mode = CG_MODE_AUTO;
	else if (strcmp(v, "1") == 0 || strcmp(v, "v1") == 0)
		s->cg_mode = CG_MODE_V1;
	else if (strcmp(v, "2") == 0 || strcmp(v, "v2") == 0)
		s->cg_mode = CG_MODE_V2;
	else
		return bad(o, "invalid --cgroup-version '%s': expected auto, 1 or 2", v);
	return 0;
}

static int parse_cap_args(struct ctr_opts *o, const char *v)
{
	struct ctr_spec *s = &o->spec;
	json_error_t jerr;

	json_decref(s->cap_args);
	s->cap_args = json_loads(v, 0, &jerr);
	if (!json_is_object(s->cap_args))
		return bad(o, "invalid --cap-args: %s",
			   s->cap_args ? "not a JSON object" : jerr.text);
	return 0;
}

static int add_list(struct ctr_opts *o, const char **list, size_t *n, const char *v,
		    const char *opt)
{
	if (*n >= CTR_MAX_NETS)
		return bad(o, "%s: at most %d", opt, CTR_MAX_NETS);
	list[(*n)++] = v;
	return 0;
}

static int parse_limit(struct ctr_opts *o, int c, const char *v)
{
	struct ctr_spec *s = &o->spec;
	unsigned long long n;
	int r;

	switch (c) {
	case 'm':
		r = cgroup_parse_size(v, &s->limits.memory);
		if (r < 0 || s->limits.memory < (1u << 20))
			return bad(o,
				   "invalid --memory '%s': expected a size of at least 1M "
				   "(e.g. 64M, 1G)",
				   v);
		return 0;
	case 'c':
		r = cgroup_parse_cpus(v, &s->limits.cpu_quota_us, &s->limits.cpu_period_us);
		if (r < 0)
			return bad(o,
				   "invalid --cpus '%s': expected a number of CPUs >= 0.01 "
				   "(e.g. 0.5, 2)",
				   v);
		return 0;
	default:
		r = parse_uint(o, "--pids", v, 4194304, &n);
		s->limits.pids = n;
		return r;
	}
}

#define NOT_MINE 1

/* Process, namespace and filesystem options. */
static int parse_proc(struct ctr_opts *o, int c, const char *v)
{
	struct ctr_spec *s = &o->spec;

	switch (c) {
	case 'n':
		if (!cni_valid_id(v) || strlen(v) >= sizeof(s->name))
			return bad(o,
				   "invalid --name '%s': letters, digits, '_', '.', '-' (up to "
				   "63, starting with a letter or digit)",
				   v);
		snprintf(s->name, sizeof(s->name), "%s", v);
		return 0;
	case 'H':
		if (!*v || strlen(v) > 64)
			return bad(o, "invalid --hostname '%s': 1 to 64 characters", v);
		s->hostname = v;
		return 0;
	case 'w':
		s->workdir = v;
		return 0;
	case OPT_INIT:
		s->init = true;
		return 0;
	case 'U':
		s->userns = true;
		s->map_uid = getuid();
		s->map_gid = getgid();
		s->map_count = 1;
		return 0;
	case OPT_MAP_ROOT:
		return parse_map_root(o, v);
	case 'r':
		s->rootfs = o->rootfs;
		return parse_dir(o, "--rootfs", v, o->rootfs);
	case 'o':
		return parse_overlay(o, v);
	default:
		return NOT_MINE;
	}
}

static int parse_cgroup(struct ctr_opts *o, int c, const char *v)
{
	struct ctr_spec *s = &o->spec;

	switch (c) {
	case 'm':
	case 'c':
	case 'p':
		return parse_limit(o, c, v);
	case OPT_CG_VERSION:
		return parse_cg_version(o, v);
	case OPT_CG_PARENT:
		if (!*v || v[0] == '/' || strstr(v, ".."))
			return bad(o, "invalid --cgroup-parent '%s': a relative path without '..'",
				   v);
		s->cg_parent = v;
		return 0;
	case OPT_NO_CGROUP:
		s->no_cgroup = true;
		return 0;
	default:
		return NOT_MINE;
	}
}

static int parse_net(struct ctr_opts *o, int c, const char *v)
{
	struct ctr_spec *s = &o->spec;

	switch (c) {
	case 'N':
		if (!cni_valid_id(v))
			return bad(o, "invalid --net '%s': not a CNI network name", v);
		return add_list(o, s->nets, &s->n_nets, v, "--net");
	case 'i':
		if (!cni_valid_ifname(v))
			return bad(o,
				   "invalid --ifname '%s': 1-15 characters, no '/', ':' or spaces",
				   v);
		return add_list(o, s->ifnames, &o->n_ifnames, v, "--ifname");
	case OPT_CONFDIR:
		s->confdir = v;
		return 0;
	case OPT_CNI_PATH:
		s->cni_path = v;
		return 0;
	case OPT_CACHE_DIR:
		s->cache_dir = v;
		return 0;
	case OPT_CNI_NETNS:
		return parse_netns(o, v);
	case OPT_CNI_ARGS:
		s->cni_args = v;
		return 0;
	case OPT_CAP_ARGS:
		return parse_cap_args(o, v);
	default:
		return NOT_MINE;
	}
}

static int parse_one(struct ctr_opts *o, int c, const char *v)
{
	unsigned long long n;
	int r = parse_proc(o, c, v);

	if (r == NOT_MINE)
		r = parse_cgroup(o, c, v);
	if (r == NOT_MINE)
		r = parse_net(o, c, v);
	if (r != NOT_MINE)
		return r;
	switch (c) {
	case OPT_PID_FILE:
		o->spec.pid_file = v;
		return 0;
	case OPT_STOP_TIMEOUT:
		if (parse_uint(o, "--stop-timeout", v, 3600, &n) < 0)
			return -EINVAL;
		o->spec.stop_timeout = (int)n;
		return 0;
	case OPT_CLEANUP:
		o->cleanup = v;
		return 0;
	case 'v':
		o->spec.verbose = true;
		return 0;
	default:
		return bad(o, "unknown option");
	}
}

static int check_cni_args(struct ctr_opts *o, const char *a)
{
	_cleanup_free_ char *copy = strdup(a);
	char *save = NULL;

	for (char *t = copy ? strtok_r(copy, ";", &save) : NULL; t;
	     t = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(t, '=');

		if (!eq || eq == t || !eq[1] || strchr(eq + 1, '='))
			return bad(o, "invalid CNI_ARGS pair \"%s\"", t);
	}
	return 0;
}

/* Cross-option checks and defaults from the environment (as cnitool reads them). */
static int finish(struct ctr_opts *o, int argc, char **argv)
{
	struct ctr_spec *s = &o->spec;
	const char *env;

	if (o->cleanup)
		return 0;
	if (optind >= argc)
		return bad(o, "no command given (nsrun [OPTIONS] -- COMMAND [ARG...])");
	s->argv = argv + optind;
	if (o->n_ifnames > s->n_nets)
		return bad(o, "%zu --ifname for %zu --net", o->n_ifnames, s->n_nets);
	if (s->no_cgroup && (s->limits.memory || s->limits.cpu_quota_us || s->limits.pids))
		return bad(o, "--no-cgroup cannot go with --memory, --cpus or --pids");
	if (!s->confdir && (env = getenv("NETCONFPATH")) && *env)
		s->confdir = env;
	if (!s->cni_args && (env = getenv("CNI_ARGS")) && *env)
		s->cni_args = env;
	if (s->cni_args && check_cni_args(o, s->cni_args) < 0)
		return -EINVAL;
	if (!s->cap_args && (env = getenv("CAP_ARGS")) && *env && parse_cap_args(o, env) < 0)
		return -EINVAL;
	if (!s->name[0])
		snprintf(s->name, sizeof(s->name), "nsrun-%d", (int)getpid());
	return 0;
}

int ctr_opts_parse(struct ctr_opts *o, int argc, char **argv)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->spec.stop_timeout = CTR_STOP_TIMEOUT;
	opterr = 0;
	optind = 0; /* a fresh scan, also when called more than once */
	while ((c = getopt_long(argc, argv, "+:n:H:w:Ur:o:m:c:p:N:i:vh", long_opts, NULL)) != -1) {
		if (c == 'h' || c == OPT_VERSION) {
			o->help = c == 'h';
			o->version = c == OPT_VERSION;
			return 0;
		}
		if (c == '?' || c == ':') {
			if (optopt && optopt < 256)
				return bad(o, "%s -%c",
					   c == ':' ? "missing argument for" : "unknown option",
					   optopt);
			return bad(o, "%s '%s'",
				   c == ':' ? "missing argument for" : "unknown option",
				   argv[optind - 1]);
		}
		if (parse_one(o, c, optarg) < 0)
			return -EINVAL;
	}
	return finish(o, argc, argv);
}

void ctr_opts_free(struct ctr_opts *o)
{
	json_decref(o->spec.cap_args);
	o->spec.cap_args = NULL;
	free(o->overlay);
	o->overlay = NULL;
}

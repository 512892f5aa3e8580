/* SPDX-License-Identifier: Apache-2.0 */
/* `netlab cni add|check|del|gc|status`: the C runtime side from the command line, with
 * cnitool's conventions (NETCONFPATH, CNI_PATH, CNI_ARGS, CAP_ARGS, CNI_IFNAME; container ID
 * "cnitool-" + 20 hex of sha512(netns path)), so an attachment made by one is checked and
 * deleted by the other. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "netns-tools/netlab/lab.h"
#include "netns-tools/runtime/runtime.h"

static const char cni_usage[] =
	"Usage: netlab cni add|check|del NETWORK NETNS [OPTIONS]\n"
	"       netlab cni gc NETWORK [--valid CONTAINERID/IFNAME]... [OPTIONS]\n"
	"       netlab cni status NETWORK [OPTIONS]\n"
	"\n"
	"Runs a network's plugin chain the way libcni does (ADD in order with prevResult, DEL in\n"
	"reverse with the cached result, CHECK, GC, STATUS) and keeps libcni's result cache.\n"
	"Defaults follow cnitool, so both see the same attachments.\n"
	"\n"
	"  --confdir DIR        network configs (default $NETCONFPATH or /etc/cni/net.d)\n"
	"  --cni-path PATH      plugin dirs (default $CNI_PATH or /opt/cni/bin)\n"
	"  --cache-dir DIR      cache (default $WEFT_CNI_CACHE_DIR or /var/lib/cni)\n"
	"  --ifname IFNAME      default $CNI_IFNAME or eth0\n"
	"  --container-id ID    default cnitool-<20 hex of sha512(absolute NETNS path)>\n"
	"  --cni-args ARGS      'K=V;K=V' (default $CNI_ARGS)\n"
	"  --cap-args JSON      capability args object (default $CAP_ARGS)\n"
	"  --valid CID/IFNAME   gc: an attachment that stays (repeatable; none given = none\n"
	"                       valid, as cnitool gc)\n";

struct cni_opts {
	struct rt rt;
	const char *confdir, *ifname, *cid, *cni_args;
	json_t *cap_args;
	struct rt_gc_attachment valid[64];
	char valid_buf[64][160];
	size_t n_valid;
	bool has_valid;
};

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "netlab cni: %s%s%s\n%s", msg, arg ? " " : "", arg ? arg : "", cni_usage);
	return 2;
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static int add_valid(struct cni_opts *o, const char *v)
{
	char *slash;

	if (o->n_valid >= ARRAY_SIZE(o->valid) || strlen(v) >= sizeof(o->valid_buf[0]))
		return usage_error("too many or too long --valid", v);
	snprintf(o->valid_buf[o->n_valid], sizeof(o->valid_buf[0]), "%s", v);
	slash = strchr(o->valid_buf[o->n_valid], '/');
	if (!slash || slash == o->valid_buf[o->n_valid] || !slash[1])
		return usage_error("--valid wants CONTAINERID/IFNAME, got", v);
	*slash = '\0';
	o->valid[o->n_valid].container_id = o->valid_buf[o->n_valid];
	o->valid[o->n_valid].ifname = slash + 1;
	o->n_valid++;
	o->has_valid = true;
	return 0;
}

static int parse_cap(struct cni_opts *o, const char *cap)
{
	json_error_t jerr;

	if (!cap || !*cap)
		return 0;
	o->cap_args = json_loads(cap, 0, &jerr);
	if (!json_is_object(o->cap_args))
		return usage_error("capability args are not a JSON object:", cap);
	return 0;
}

static int parse(struct cni_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{"confdir", required_argument, NULL, 'd'},
		{"cni-path", required_argument, NULL, 'p'},
		{"cache-dir", required_argument, NULL, 'c'},
		{"ifname", required_argument, NULL, 'i'},
		{"container-id", required_argument, NULL, 'I'},
		{"cni-args", required_argument, NULL, 'a'},
		{"cap-args", required_argument, NULL, 'C'},
		{"valid", required_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cap = getenv("CAP_ARGS");
	int c;

	o->confdir = env_or("NETCONFPATH", RT_DEFAULT_CONF_DIR);
	o->ifname = env_or("CNI_IFNAME", "eth0");
	o->cni_args = env_or("CNI_ARGS", NULL);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->confdir = optarg;
			break;
		case 'p':
			o->rt.cni_path = optarg;
			break;
		case 'c':
			o->rt.cache_dir = optarg;
			break;
		case 'i':
			o->ifname = optarg;
			break;
		case 'I':
			o->cid = optarg;
			break;
		case 'a':
			o->cni_args = optarg;
			break;
		case 'C':
			cap = optarg;
			break;
		case 'V':
			if (add_valid(o, optarg))
				return 2;
			break;
		case 'h':
			fputs(cni_usage, stdout);
			exit(0);
		default:
			return usage_error("unknown option", argv[optind - 1]);
		}
	}
	return parse_cap(o, cap);
}

static void print_err(const char *what, const struct cni_err *err)
{
	fprintf(stderr, "%s: %s%s%s\n", what, err->msg, err->details[0] ? ": " : "", err->details);
}

static int attach_cmd(const char *cmd, struct cni_opts *o, struct rt_netconf *nc,
		      const char *netns_arg)
{
	char netns[PATH_MAX], cid[29];
	struct cni_err err = {0};
	struct rt_attach a = {
		.ifname = o->ifname, .cni_args = o->cni_args, .cap_args = o->cap_args};
	int r;

	/* cnitool uses the absolute path, also to derive the ID. */
	if (netns_arg[0] == '/' || !realpath(netns_arg, netns))
		snprintf(netns, sizeof(netns), "%s", netns_arg);
	lab_cnitool_id(netns, cid);
	a.container_id = o->cid ? o->cid : cid;
	a.netns = netns;
	if (strcmp(cmd, "add") == 0) {
		_cleanup_json_ json_t *res = NULL;
		_cleanup_free_ char *s = NULL;

		r = rt_add(&o->rt, nc, &a, &res, &err);
		if (r >= 0 && (s = json_dumps(res, JSON_INDENT(4))))
			printf("%s\n", s);
	} else if (strcmp(cmd, "check") == 0) {
		r = rt_check(&o->rt, nc, &a, &err);
	} else {
		r = rt_del(&o->rt, nc, &a, &err);
	}
	if (r < 0)
		print_err(cmd, &err);
	return r < 0 ? 1 : 0;
}

int lab_cni_main(int argc, char **argv)
{
	_cleanup_netconf_ struct rt_netconf *nc = NULL;
	struct cni_opts o = {0};
	struct cni_err err = {0};
	const char *cmd;
	int r;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(cni_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	r = parse(&o, argc - 1, argv + 1);
	if (r)
		return r;
	argv += optind + 1;
	argc -= optind + 1;
	if (strcmp(cmd, "add") && strcmp(cmd, "check") && strcmp(cmd, "del") && strcmp(cmd, "gc") &&
	    strcmp(cmd, "status"))
		return usage_error("unknown command", cmd);
	if (argc < 1)
		return usage_error("missing NETWORK", NULL);
	if ((!strcmp(cmd, "gc") || !strcmp(cmd, "status")) ? argc != 1 : argc != 2)
		return usage_error("wrong number of arguments for", cmd);
	r = rt_netconf_load(o.confdir, argv[0], &nc, &err);
	if (r < 0) {
		print_err("load", &err);
		r = 1;
	} else if (!strcmp(cmd, "gc")) {
		r = rt_gc(&o.rt, nc, o.has_valid, o.valid, o.n_valid, &err) < 0;
		if (r)
			print_err("gc", &err);
	} else if (!strcmp(cmd, "status")) {
		r = rt_status(&o.rt, nc, &err) < 0;
		if (r)
			print_err("status", &err);
	} else {
		r = attach_cmd(cmd, &o, nc, argv[1]);
	}
	json_decref(o.cap_args);
	return r;
}

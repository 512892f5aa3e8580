/* SPDX-License-Identifier: Apache-2.0 */
/* netlab: classic container networking exercises, reproduced in namespaces netlab creates,
 * verified, pictured and torn down. See netns-tools/README.md. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netns-tools/netlab/lab-cluster.h"   /* lab_cluster */
#include "netns-tools/netlab/lab-multinode.h" /* lab_hostgw, lab_vxlan */
#include "netns-tools/netlab/lab-policy.h"    /* lab_policy */
#include "netns-tools/netlab/lab.h"
#include "common/log.h"
#include "common/version.h"

static const struct scenario *const scenarios[] = {
	&lab_veth,   &lab_namespaces, &lab_cgroups, &lab_container, &lab_overlay, &lab_bridge,
	&lab_hostgw, &lab_vxlan,      &lab_ebpf,    &lab_cluster,   &lab_policy,
};

static const char usage_text[] =
	"Usage: netlab list\n"
	"       netlab up|verify|show|down|run SCENARIO [OPTIONS]\n"
	"       netlab cni add|check|del|gc|status ...   (netlab cni --help)\n"
	"       netlab ping NETNS ADDRESS [--timeout MS]\n"
	"       netlab --version\n"
	"\n"
	"Scenarios reproduce classic container and pod networking exercises (docs/netlab.md)\n"
	"in namespaces netlab creates:\n"
	"  up      build it (every object is recorded first in /run/weft/netlab/<prefix>-<name>)\n"
	"  verify  assert it works (non-zero exit when a check fails)\n"
	"  show    draw it from live kernel state (text; --dot for Graphviz; --svg/--png FILE)\n"
	"  down    tear down everything recorded, also after a crash or Ctrl-C\n"
	"  run     up, verify, show, then down (always, even on failure or Ctrl-C)\n"
	"\n"
	"Options:\n"
	"  --prefix P        name prefix (default nl): namespaces are P-<scenario>-<node>, so "
	"labs\n"
	"                    with different prefixes run side by side\n"
	"  --cni-path PATH   CNI plugin dirs for the plugin scenarios (default: netlab's own dir)\n"
	"  --dot             show: print Graphviz DOT instead of text\n"
	"  --svg FILE, --png FILE\n"
	"                    show/run: also render the picture with graphviz\n"
	"  --nodes N         host-gw/vxlan: number of node namespaces (default 3, 1..16);\n"
	"                    cluster: default 8, 1..32\n"
	"  --pods M          host-gw/vxlan: pods per node (default 2, 1..16); cluster: default 1,\n"
	"                    1..4\n"
	"  --plugin P        cluster: host-gw (default) or vxlan; policy: bridge (default),\n"
	"                    vxlan or ebpf\n"
	"  --case NAME       policy: run this case of the cases dir (repeatable; default all)\n"
	"  --cases DIR       policy: the cases dir (default: the model's dir/cases)\n"
	"  --rounds R        cluster: add/delete rounds of convergence samples (default 5,\n"
	"                    1..50)\n"
	"  --kubeapi PATH    cluster: the API test double (default: netlab's dir/../../tests/\n"
	"                    kubeapi/kubeapi.py)\n"
	"  --keep            run: leave the lab up (tear down later with down)\n"
	"  -v, --verbose     print every command netlab runs\n";

struct opts {
	const char *prefix, *cni_path, *svg, *png;
	bool dot, keep, verbose;
};

static const struct scenario *find_scenario(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++)
		if (strcmp(scenarios[i]->name, name) == 0)
			return scenarios[i];
	return NULL;
}

static int cmd_list(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++)
		printf("%-11s %s\n            from: %s\n", scenarios[i]->name,
		       scenarios[i]->summary, scenarios[i]->origin);
	return 0;
}

static int open_lab(struct lab *lab, const struct scenario *sc, const struct opts *o, bool create)
{
	int r;

	memset(lab, 0, sizeof(*lab));
	lab->verbose = o->verbose;
	lab->cni_path = o->cni_path;
	r = lab_open(lab, sc, o->prefix, create);
	if (r == -EINVAL)
		fprintf(stderr, "netlab: invalid --prefix '%s' (1-24 of [A-Za-z0-9_-])\n",
			o->prefix);
	else if (r == -EEXIST)
		fprintf(stderr, "netlab: %s is already up (netlab down %s%s%s)\n", lab->id,
			sc->name, o->prefix ? " --prefix " : "", o->prefix ? o->prefix : "");
	else if (r == -ENOENT && !create)
		fprintf(stderr, "netlab: %s is not up\n", lab->id);
	else if (r < 0)
		fprintf(stderr, "netlab: %s: %s\n", lab->dir, strerror(-r));
	return r;
}

static int cmd_up(const struct scenario *sc, const struct opts *o)
{
	struct lab lab;
	int r = open_lab(&lab, sc, o, true);

	if (r < 0)
		return 1;
	printf("netlab: bringing up %s (%s)\n", lab.id, sc->summary);
	fflush(stdout);
	r = sc->up(&lab);
	if (r < 0) {
		fprintf(stderr, "netlab: %s: up failed; tearing down what was made\n", lab.id);
		lab_down(&lab);
	} else {
		printf("netlab: %s is up\n", lab.id);
	}
	lab_close(&lab);
	return r < 0 ? 1 : 0;
}

static int cmd_verify(const struct scenario *sc, const struct opts *o)
{
	struct lab lab;

	if (open_lab(&lab, sc, o, false) < 0)
		return 1;
	printf("verify %s:\n", lab.id);
	fflush(stdout);
	sc->verify(&lab);
	printf("%d checks, %d failed\n", lab.checks, lab.failures);
	lab_close(&lab);
	return lab.failures || !lab.checks ? 1 : 0;
}

static int render(const struct topo *t, const char *fmt, const char *path)
{
	int r = lab_topo_render(t, fmt, path);

	if (r == -ENOENT)
		fprintf(stderr,
			"netlab: graphviz 'dot' is not installed (apt-get install "
			"graphviz); no %s written\n",
			fmt);
	else if (r < 0)
		fprintf(stderr, "netlab: dot -T%s -o %s failed\n", fmt, path);
	else
		printf("netlab: picture written to %s\n", path);
	return r < 0 ? 1 : 0;
}

static int cmd_show(const struct scenario *sc, const struct opts *o)
{
	_cleanup_free_ struct topo *t = calloc(1, sizeof(*t));
	struct lab lab;
	int r = 0;

	if (!t || open_lab(&lab, sc, o, false) < 0)
		return 1;
	sc->show(&lab, t);
	if (o->dot)
		lab_topo_print_dot(t, stdout);
	else
		lab_topo_print_text(t, stdout);
	if (o->svg)
		r |= render(t, "svg", o->svg);
	if (o->png)
		r |= render(t, "png", o->png);
	lab_close(&lab);
	return r;
}

static int cmd_down(const struct scenario *sc, const struct opts *o)
{
	struct lab lab;
	int left;

	if (open_lab(&lab, sc, o, false) < 0)
		return 0; /* nothing up: down is idempotent */
	left = lab_down(&lab);
	if (!left)
		printf("netlab: %s is down\n", lab.id);
	lab_close(&lab);
	return left ? 1 : 0;
}

/* The scenario's report, read before the teardown (NULL: none). */
static char *run_report(const struct scenario *sc, const struct opts *o)
{
	struct lab lab;
	char *text;

	memset(&lab, 0, sizeof(lab));
	if (!sc->report || lab_open(&lab, sc, o->prefix, false) < 0)
		return NULL;
	text = sc->report(&lab);
	lab_close(&lab);
	return text;
}

/* run: up, verify and show happen in a child; the parent outlives a crash or a Ctrl-C of it
 * and always brings the lab down. */
static int cmd_run(const struct scenario *sc, const struct opts *o)
{
	_cleanup_free_ char *report = NULL;
	sigset_t set, old;
	int st = 0, rc;
	pid_t pid;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		rc = cmd_up(sc, o);
		if (rc == 0) {
			rc = cmd_verify(sc, o);
			printf("\n");
			rc |= cmd_show(sc, o);
		}
		fflush(NULL);
		_exit(rc);
	}
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);

		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		if (sig > 0 && sig != SIGCHLD)
			kill(pid, sig);
	}
	rc = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	report = run_report(sc, o);
	if (!o->keep && cmd_down(sc, o) != 0)
		rc = rc ? rc : 1;
	if (report)
		printf("\n%s", report);
	return rc;
}

static int cmd_ping(int argc, char **argv)
{
	int timeout = 2000;

	if (argc == 5 && strcmp(argv[3], "--timeout") == 0) {
		timeout = atoi(argv[4]);
		argc -= 2;
	}
	if (argc != 3 || timeout <= 0) {
		fputs("usage: netlab ping NETNS ADDRESS [--timeout MS]\n", stderr);
		return 2;
	}
	if (lab_ping(argv[1], argv[2], timeout)) {
		printf("%s: %s answered\n", argv[1], argv[2]);
		return 0;
	}
	printf("%s: no answer from %s\n", argv[1], argv[2]);
	return 1;
}

/* --nodes, --pods, --rounds: 1..max (the scenario checks its own range), handed to the
 * scenario through NETLAB_NODES, NETLAB_PODS, NETLAB_ROUNDS. */
static int count_opt(const char *opt, const char *env, const char *val, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(val, &end, 10);
	if (errno || end == val || *end || v < 1 || v > max) {
		fprintf(stderr, "netlab: --%s takes a number from 1 to %ld, not '%s'\n", opt, max,
			val);
		return -EINVAL;
	}
	return setenv(env, val, 1);
}

/* --case NAME, repeatable: NETLAB_CASES, comma-separated. */
static int append_case(const char *name)
{
	const char *old = getenv("NETLAB_CASES");
	_cleanup_free_ char *v = NULL;

	if (!*name || strchr(name, ',') || strchr(name, '/')) {
		fprintf(stderr, "netlab: --case takes a case name, not '%s'\n", name);
		return -EINVAL;
	}
	if (asprintf(&v, "%s%s%s", old && *old ? old : "", old && *old ? "," : "", name) < 0)
		return -ENOMEM;
	return setenv("NETLAB_CASES", v, 1);
}

/* The options of one scenario, handed to it through the environment. */
static int scenario_opt(int c, const char *val)
{
	switch (c) {
	case 'n':
		return count_opt("nodes", "NETLAB_NODES", val, CL_MAX_NODES);
	case 'p':
		return count_opt("pods", "NETLAB_PODS", val, MN_MAX_PODS);
	case 'r':
		return count_opt("rounds", "NETLAB_ROUNDS", val, CL_MAX_ROUNDS);
	case 'L':
		if (strcmp(val, "host-gw") && strcmp(val, "vxlan") && strcmp(val, "ebpf") &&
		    strcmp(val, "bridge")) {
			fprintf(stderr,
				"netlab: --plugin is host-gw, vxlan, ebpf or bridge, not '%s'\n",
				val);
			return -EINVAL;
		}
		return setenv("NETLAB_PLUGIN", val, 1);
	case 'c':
		return append_case(val);
	case 'd':
		return setenv("NETLAB_CASES_DIR", val, 1);
	default:
		return setenv("NETLAB_KUBEAPI", val, 1);
	}
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{"prefix", required_argument, NULL, 'P'},
		{"cni-path", required_argument, NULL, 'C'},
		{"dot", no_argument, NULL, 'D'},
		{"svg", required_argument, NULL, 'S'},
		{"png", required_argument, NULL, 'G'},
		{"keep", no_argument, NULL, 'K'},
		{"nodes", required_argument, NULL, 'n'},
		{"pods", required_argument, NULL, 'p'},
		{"rounds", required_argument, NULL, 'r'},
		{"plugin", required_argument, NULL, 'L'},
		{"kubeapi", required_argument, NULL, 'A'},
		{"case", required_argument, NULL, 'c'},
		{"cases", required_argument, NULL, 'd'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			o->prefix = optarg;
			break;
		case 'C':
			o->cni_path = optarg;
			break;
		case 'D':
			o->dot = true;
			break;
		case 'S':
			o->svg = optarg;
			break;
		case 'G':
			o->png = optarg;
			break;
		case 'K':
			o->keep = true;
			break;
		case 'n':
		case 'p':
		case 'r':
		case 'L':
		case 'A':
		case 'c':
		case 'd':
			/* the multi-node scenarios read their options from the environment */
			if (scenario_opt(c, optarg) < 0)
				return -EINVAL;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fprintf(stderr, "netlab: unknown option '%s'\n%s", argv[optind - 1],
				usage_text);
			return -EINVAL;
		}
	}
	return 0;
}

static int dispatch(const char *cmd, const struct scenario *sc, const struct opts *o)
{
	if (strcmp(cmd, "up") == 0)
		return cmd_up(sc, o);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(sc, o);
	if (strcmp(cmd, "show") == 0)
		return cmd_show(sc, o);
	if (strcmp(cmd, "down") == 0)
		return cmd_down(sc, o);
	if (strcmp(cmd, "run") == 0)
		return cmd_run(sc, o);
	fprintf(stderr, "netlab: unknown command '%s'\n%s", cmd, usage_text);
	return 2;
}

int main(int argc, char **argv)
{
	const struct scenario *sc;
	struct opts o = {0};

	log_init("netlab");
	if (argc >= 2 && strncmp(argv[1], "__", 2) == 0 && (sc = find_scenario(argv[1] + 2)) &&
	    sc->helper)
		return sc->helper(argc - 1, argv + 1);
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("netlab %s\n", weft_version);
		return 0;
	}
	if (strcmp(argv[1], "list") == 0)
		return cmd_list();
	if (strcmp(argv[1], "cni") == 0)
		return lab_cni_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "ping") == 0)
		return cmd_ping(argc - 1, argv + 1);
	if (parse_opts(&o, argc - 1, argv + 1) < 0)
		return 2;
	if (optind + 1 >= argc) {
		fprintf(stderr, "netlab: %s needs a scenario (netlab list)\n", argv[1]);
		return 2;
	}
	if (optind + 2 < argc) {
		fprintf(stderr, "netlab: unexpected argument '%s'\n", argv[optind + 2]);
		return 2;
	}
	sc = find_scenario(argv[optind + 1]);
	if (!sc) {
		fprintf(stderr, "netlab: unknown scenario '%s' (netlab list)\n", argv[optind + 1]);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "netlab: must run as root\n");
		return 1;
	}
	return dispatch(argv[1], sc, &o);
}

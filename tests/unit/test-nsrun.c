/* SPDX-License-Identifier: Apache-2.0 */
/* nsrun without running anything: its command line (ctr_opts_parse fills the spec, or says
 * what is wrong in the words nsrun prints), the state file `nsrun --cleanup` reads, and the
 * small process helpers. Temp dirs only: no root, no namespaces. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns-tools/nsrun/ctr.h"

static char tmp[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/weft-nsrun.XXXXXX");
	unsetenv("NETCONFPATH");
	unsetenv("CNI_ARGS");
	unsetenv("CAP_ARGS");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return ctr_rm_rf(tmp);
}

/* Parses "nsrun" + the NULL-terminated arguments. spec.argv points into argv, so it lives
 * until the next parse. */
static int parse_v(struct ctr_opts *o, va_list ap)
{
	static char *argv[64];
	int argc = 1;

	argv[0] = "nsrun";
	while (argc < 63 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	argv[argc] = NULL;
	return ctr_opts_parse(o, argc, argv);
}

/* Parses and expects success; the caller frees the result with opts_free. */
static struct ctr_opts *parse_ok(int dummy, ...)
{
	struct ctr_opts *o = malloc(sizeof(*o));
	va_list ap;
	int r;

	assert_non_null(o);
	va_start(ap, dummy);
	r = parse_v(o, ap);
	va_end(ap);
	if (r != 0)
		fail_msg("parse failed: %s", o->error);
	return o;
}

/* Parses and expects a failure whose message contains want; returns the message. */
static void parse_bad(const char *want, ...)
{
	struct ctr_opts o;
	va_list ap;
	int r;

	va_start(ap, want);
	r = parse_v(&o, ap);
	va_end(ap);
	if (r != -EINVAL || !strstr(o.error, want))
		fail_msg("want an error with '%s', got %d '%s'", want, r, o.error);
	ctr_opts_free(&o);
}

static void opts_free(struct ctr_opts *o)
{
	ctr_opts_free(o);
	free(o);
}

static void test_defaults(void **state)
{
	struct ctr_opts *o = parse_ok(0, "--", "true", "x", NULL);
	char name[64];

	(void)state;
	snprintf(name, sizeof(name), "nsrun-%d", (int)getpid());
	assert_string_equal(o->spec.name, name);
	assert_string_equal(o->spec.argv[0], "true");
	assert_string_equal(o->spec.argv[1], "x");
	assert_null(o->spec.argv[2]);
	assert_int_equal(o->spec.stop_timeout, CTR_STOP_TIMEOUT);
	assert_int_equal(o->spec.cg_mode, CG_MODE_AUTO);
	assert_null(o->spec.cg_parent);
	assert_int_equal(o->spec.n_nets, 0);
	assert_false(o->spec.userns);
	assert_false(o->spec.init);
	assert_false(o->spec.no_cgroup);
	assert_null(o->spec.rootfs);
	assert_null(o->spec.confdir);
	assert_null(o->spec.cni_netns);
	assert_null(o->spec.cap_args);
	assert_null(o->cleanup);
	assert_false(o->help);
	opts_free(o);
	/* the command may follow the options without "--" (the first non-option stops them) */
	o = parse_ok(0, "-H", "box", "sh", "-c", "hostname", NULL);
	assert_string_equal(o->spec.hostname, "box");
	assert_string_equal(o->spec.argv[0], "sh");
	assert_string_equal(o->spec.argv[1], "-c");
	opts_free(o);
}

static void test_every_option(void **state)
{
	struct ctr_opts *o =
		parse_ok(0, "-n", "box1", "--hostname", "h", "-w", "/srv", "--init", "-m", "64M",
			 "--cpus", "0.5", "-p", "64", "--cgroup-version", "v1", "--cgroup-parent",
			 "lab/x", "-N", "net1", "--net", "net2", "-i", "eth7", "--confdir", "/c",
			 "--cni-path", "/p1:/p2", "--cache-dir", "/cache", "--cni-args", "A=1;B=2",
			 "--cap-args", "{\"portMappings\":[]}", "--pid-file", "/run/p.pid",
			 "--stop-timeout", "9", "-v", "--", "cmd", NULL);
	const struct ctr_spec *s = &o->spec;

	(void)state;
	assert_string_equal(s->name, "box1");
	assert_string_equal(s->hostname, "h");
	assert_string_equal(s->workdir, "/srv");
	assert_true(s->init);
	assert_int_equal(s->limits.memory, 64ull << 20);
	assert_int_equal(s->limits.cpu_quota_us, 50000);
	assert_int_equal(s->limits.cpu_period_us, 100000);
	assert_int_equal(s->limits.pids, 64);
	assert_int_equal(s->cg_mode, CG_MODE_V1);
	assert_string_equal(s->cg_parent, "lab/x");
	assert_int_equal(s->n_nets, 2);
	assert_string_equal(s->nets[0], "net1");
	assert_string_equal(s->nets[1], "net2");
	assert_string_equal(s->ifnames[0], "eth7");
	assert_null(s->ifnames[1]); /* eth1 by default, chosen at start */
	assert_string_equal(s->confdir, "/c");
	assert_string_equal(s->cni_path, "/p1:/p2");
	assert_string_equal(s->cache_dir, "/cache");
	assert_string_equal(s->cni_args, "A=1;B=2");
	assert_true(json_is_array(json_object_get(s->cap_args, "portMappings")));
	assert_string_equal(s->pid_file, "/run/p.pid");
	assert_int_equal(s->stop_timeout, 9);
	assert_true(s->verbose);
	assert_string_equal(s->argv[0], "cmd");
	opts_free(o);
	o = parse_ok(0, "--cgroup-version", "2", "--no-cgroup", "true", NULL);
	assert_int_equal(o->spec.cg_mode, CG_MODE_V2);
	assert_true(o->spec.no_cgroup);
	opts_free(o);
}

static void test_user_namespaces(void **state)
{
	struct ctr_opts *o = parse_ok(0, "-U", "true", NULL);

	(void)state;
	assert_true(o->spec.userns);
	assert_int_equal(o->spec.map_uid, getuid());
	assert_int_equal(o->spec.map_gid, getgid());
	assert_int_equal(o->spec.map_count, 1);
	opts_free(o);
	o = parse_ok(0, "--map-root-to", "100000", "true", NULL);
	assert_true(o->spec.userns);
	assert_int_equal(o->spec.map_uid, 100000);
	assert_int_equal(o->spec.map_gid, 100000);
	assert_int_equal(o->spec.map_count, 65536);
	opts_free(o);
	o = parse_ok(0, "--map-root-to", "1000:2000", "true", NULL);
	assert_int_equal(o->spec.map_uid, 1000);
	assert_int_equal(o->spec.map_gid, 2000);
	opts_free(o);
	parse_bad("invalid --map-root-to uid 'x'", "--map-root-to", "x", "true", NULL);
	parse_bad("invalid --map-root-to gid ''", "--map-root-to", "5:", "true", NULL);
	parse_bad("expected a number from 1 to 4294901759", "--map-root-to", "0", "true", NULL);
}

static void test_filesystem_options(void **state)
{
	char a[128], b[128], file[128], with_dots[160], real[PATH_MAX];
	struct ctr_opts *o;
	char ovl[300];

	(void)state;
	snprintf(a, sizeof(a), "%s/a", tmp);
	snprintf(b, sizeof(b), "%s/b", tmp);
	snprintf(file, sizeof(file), "%s/f", tmp);
	assert_int_equal(mkdir(a, 0755), 0);
	assert_int_equal(mkdir(b, 0755), 0);
	fclose(fopen(file, "w"));
	/* --rootfs and the layers are resolved to real paths */
	snprintf(with_dots, sizeof(with_dots), "%s/a/../b/.", tmp);
	snprintf(ovl, sizeof(ovl), "%s:%s", a, with_dots);
	o = parse_ok(0, "--rootfs", with_dots, "-o", ovl, "true", NULL);
	assert_non_null(realpath(b, real));
	assert_string_equal(o->spec.rootfs, real);
	assert_int_equal(o->spec.n_lowers, 2);
	assert_non_null(realpath(a, real));
	assert_string_equal(o->spec.lowers[0], real);
	assert_non_null(realpath(b, real));
	assert_string_equal(o->spec.lowers[1], real);
	opts_free(o);
	/* a later --overlay replaces an earlier one */
	o = parse_ok(0, "-o", ovl, "--overlay", a, "true", NULL);
	assert_int_equal(o->spec.n_lowers, 1);
	opts_free(o);
	parse_bad("--rootfs '/nonexistent': No such file or directory", "--rootfs", "/nonexistent",
		  "true", NULL);
	parse_bad("not a directory", "--rootfs", file, "true", NULL);
	parse_bad("--overlay layer '/nonexistent'", "--overlay", "/nonexistent", "true", NULL);
	parse_bad("--overlay needs at least one directory", "--overlay", "", "true", NULL);
	{
		char many[17 * 130] = "";

		for (int i = 0; i < 17; i++)
			snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s%s",
				 i ? ":" : "", a);
		parse_bad("--overlay: at most 16 layers", "-o", many, "true", NULL);
	}
}

static void test_cni_netns(void **state)
{
	char file[128];
	struct ctr_opts *o;

	(void)state;
	snprintf(file, sizeof(file), "%s/ns", tmp);
	fclose(fopen(file, "w"));
	/* a path is taken as it is (it only has to exist here; entering it is nsrun's job) */
	o = parse_ok(0, "--cni-netns", file, "true", NULL);
	assert_string_equal(o->spec.cni_netns, file);
	opts_free(o);
	/* a bare name is one of `ip netns`'s */
	parse_bad("--cni-netns 'weft-unit-nosuch': /run/netns/weft-unit-nosuch: No such file",
		  "--cni-netns", "weft-unit-nosuch", "true", NULL);
	parse_bad("invalid --cni-netns '..'", "--cni-netns", "..", "true", NULL);
	parse_bad("invalid --cni-netns ''", "--cni-netns", "", "true", NULL);
}

/* The messages nsrun prints after "nsrun: " (tests/integration/nsrun.bats checks the same
 * through the binary, as root). */
static void test_bad_options(void **state)
{
	(void)state;
	parse_bad("unknown option '--bogus'", "--bogus", "--", "true", NULL);
	parse_bad("unknown option -x", "-x", "true", NULL);
	parse_bad("missing argument for -m", "-m", NULL);
	parse_bad("missing argument for '--cgroup-version'", "--cgroup-version", NULL);
	parse_bad("invalid --name 'a/b': letters, digits, '_', '.', '-' (up to 63, starting with "
		  "a letter or digit)",
		  "--name", "a/b", "true", NULL);
	parse_bad("invalid --name", "--name",
		  "a123456789012345678901234567890123456789012345678901234567890123", "true", NULL);
	parse_bad("invalid --hostname '': 1 to 64 characters", "-H", "", "true", NULL);
	parse_bad("invalid --memory 'lots': expected a size of at least 1M (e.g. 64M, 1G)", "-m",
		  "lots", "true", NULL);
	parse_bad("invalid --memory '512k'", "-m", "512k", "true", NULL);
	parse_bad("invalid --cpus '0': expected a number of CPUs >= 0.01 (e.g. 0.5, 2)", "--cpus",
		  "0", "true", NULL);
	parse_bad("invalid --pids '-3': expected a number from 1 to 4194304", "--pids", "-3",
		  "true", NULL);
	parse_bad("invalid --pids '4194305'", "-p", "4194305", "true", NULL);
	parse_bad("invalid --cgroup-version '3': expected auto, 1 or 2", "--cgroup-version", "3",
		  "true", NULL);
	parse_bad("invalid --cgroup-parent '/abs': a relative path without '..'", "--cgroup-parent",
		  "/abs", "true", NULL);
	parse_bad("invalid --cgroup-parent 'a/../b'", "--cgroup-parent", "a/../b", "true", NULL);
	parse_bad("invalid --net 'bad/name': not a CNI network name", "--net", "bad/name", "true",
		  NULL);
	parse_bad("invalid --ifname 'averyveryverylongname': 1-15 characters", "--net", "n1",
		  "--ifname", "averyveryverylongname", "true", NULL);
	parse_bad("1 --ifname for 0 --net", "--ifname", "eth0", "--", "true", NULL);
	parse_bad("--net: at most 8", "-N", "a", "-N", "b", "-N", "c", "-N", "d", "-N", "e", "-N",
		  "f", "-N", "g", "-N", "h", "-N", "i", "true", NULL);
	parse_bad("--no-cgroup cannot go with --memory, --cpus or --pids", "--no-cgroup", "-m",
		  "64M", "true", NULL);
	parse_bad("invalid --cap-args: not a JSON object", "--cap-args", "[1]", "true", NULL);
	parse_bad("invalid --cap-args", "--cap-args", "nojson", "true", NULL);
	parse_bad("invalid --stop-timeout '0'", "--stop-timeout", "0", "true", NULL);
	parse_bad("invalid --stop-timeout '3601'", "--stop-timeout", "3601", "true", NULL);
	parse_bad("no command given (nsrun [OPTIONS] -- COMMAND [ARG...])", NULL);
	parse_bad("no command given", "-n", "x", "--", NULL);
	/* the first error wins */
	parse_bad("invalid --cpus", "--cpus", "x", "--pids", "0", "true", NULL);
}

/* CNI_ARGS pairs must be K=V with a non-empty key and value, as libcni parses them. */
static void test_cni_args(void **state)
{
	struct ctr_opts *o;

	(void)state;
	parse_bad("invalid CNI_ARGS pair \"novalue\"", "--cni-args", "novalue", "true", NULL);
	parse_bad("invalid CNI_ARGS pair \"=v\"", "--cni-args", "A=1;=v", "true", NULL);
	parse_bad("invalid CNI_ARGS pair \"k=\"", "--cni-args", "k=", "true", NULL);
	parse_bad("invalid CNI_ARGS pair \"a=b=c\"", "--cni-args", "a=b=c", "true", NULL);
	o = parse_ok(0, "--cni-args", "IgnoreUnknown=1;K8S_POD_NAME=p;", "true", NULL);
	assert_string_equal(o->spec.cni_args, "IgnoreUnknown=1;K8S_POD_NAME=p;");
	opts_free(o);
	/* from the environment, as cnitool reads it, and checked the same way */
	setenv("CNI_ARGS", "novalue", 1);
	parse_bad("invalid CNI_ARGS pair \"novalue\"", "true", NULL);
	setenv("CNI_ARGS", "A=1", 1);
	o = parse_ok(0, "true", NULL);
	assert_string_equal(o->spec.cni_args, "A=1");
	opts_free(o);
	/* an option beats the environment */
	o = parse_ok(0, "--cni-args", "B=2", "true", NULL);
	assert_string_equal(o->spec.cni_args, "B=2");
	opts_free(o);
	unsetenv("CNI_ARGS");
}

static void test_environment(void **state)
{
	struct ctr_opts *o;

	(void)state;
	setenv("NETCONFPATH", "/etc/weft/net.d", 1);
	setenv("CAP_ARGS", "{\"mac\":\"c2:00:00:00:00:01\"}", 1);
	o = parse_ok(0, "true", NULL);
	assert_string_equal(o->spec.confdir, "/etc/weft/net.d");
	assert_string_equal(json_string_value(json_object_get(o->spec.cap_args, "mac")),
			    "c2:00:00:00:00:01");
	opts_free(o);
	o = parse_ok(0, "--confdir", "/c", "--cap-args", "{}", "true", NULL);
	assert_string_equal(o->spec.confdir, "/c");
	assert_int_equal(json_object_size(o->spec.cap_args), 0);
	opts_free(o);
	setenv("CAP_ARGS", "[]", 1);
	parse_bad("invalid --cap-args: not a JSON object", "true", NULL);
	unsetenv("NETCONFPATH");
	unsetenv("CAP_ARGS");
}

static void test_cleanup_and_help(void **state)
{
	struct ctr_opts *o;

	(void)state;
	/* --cleanup needs no command and skips the cross-option checks */
	o = parse_ok(0, "--cleanup", "box1", NULL);
	assert_string_equal(o->cleanup, "box1");
	opts_free(o);
	o = parse_ok(0, "-h", NULL);
	assert_true(o->help);
	opts_free(o);
	/* --help stops parsing: what follows is not looked at; what precedes is */
	o = parse_ok(0, "--help", "--bogus", NULL);
	assert_true(o->help);
	opts_free(o);
	parse_bad("unknown option '--bogus'", "--bogus", "--help", NULL);
}

/* Every option --help names is one the parser knows (and none it knows is hidden: the
 * integration test greps the option table against --help). */
static void test_usage_matches_parser(void **state)
{
	const char *p = ctr_usage;
	int seen = 0;

	(void)state;
	while ((p = strstr(p, "--"))) {
		char opt[32];
		size_t n = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");
		struct ctr_opts o;
		char *argv[] = {"nsrun", opt, "x", "true", NULL};

		p += 2 + n;
		if (n == 0)
			continue; /* "-- COMMAND" */
		snprintf(opt, sizeof(opt), "--%.*s", (int)n, p - n);
		if (ctr_opts_parse(&o, 4, argv) < 0 && strstr(o.error, "unknown option"))
			fail_msg("--help mentions %s, which nsrun does not accept", opt);
		ctr_opts_free(&o);
		seen++;
	}
	assert_true(seen >= 26);
}

static void test_state_file(void **state)
{
	struct ctr *c = calloc(1, sizeof(*c));
	struct ctr_spec *s = calloc(1, sizeof(*s));
	char path[PATH_MAX];
	struct stat st;
	json_t *j, *n;

	(void)state;
	snprintf(s->name, sizeof(s->name), "box1");
	s->nets[0] = "net1";
	s->nets[1] = "net2";
	s->n_nets = 2;
	s->cni_path = "/opt/cni/bin";
	s->cni_args = "A=1";
	s->cap_args = json_pack("{s:b}", "x", 1);
	c->spec = s;
	c->pid = getpid();
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", tmp);
	snprintf(c->ifnames[0], sizeof(c->ifnames[0]), "eth0");
	snprintf(c->ifnames[1], sizeof(c->ifnames[1]), "eth1");
	c->added[0] = true;
	assert_int_equal(ctr_state_write(c, NULL), 0);
	snprintf(path, sizeof(path), "%s/state.json", tmp);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	j = json_load_file(path, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "box1");
	assert_int_equal(json_integer_value(json_object_get(j, "nsrunPid")), getpid());
	assert_int_equal(json_integer_value(json_object_get(j, "nsrunStart")),
			 ctr_pid_starttime(getpid()));
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), getpid());
	assert_true(json_integer_value(json_object_get(j, "pidStart")) > 0);
	assert_string_equal(json_string_value(json_object_get(j, "netns")), ""); /* not pinned */
	assert_true(json_is_null(json_object_get(j, "cniNetns")));
	assert_string_equal(json_string_value(json_object_get(j, "cniArgs")), "A=1");
	assert_true(json_is_true(json_object_get(json_object_get(j, "capArgs"), "x")));
	assert_null(json_object_get(j, "cgroup")); /* no cgroup made */
	assert_int_equal(json_array_size(json_object_get(j, "nets")), 2);
	n = json_array_get(json_object_get(j, "nets"), 0);
	assert_string_equal(json_string_value(json_object_get(n, "name")), "net1");
	assert_string_equal(json_string_value(json_object_get(n, "ifname")), "eth0");
	assert_string_equal(json_string_value(json_object_get(n, "confDir")), RT_DEFAULT_CONF_DIR);
	assert_string_equal(json_string_value(json_object_get(n, "cniPath")), "/opt/cni/bin");
	assert_true(json_is_true(json_object_get(n, "added")));
	n = json_array_get(json_object_get(j, "nets"), 1);
	assert_false(json_is_true(json_object_get(n, "added")));
	json_decref(j);
	/* rewritten in place once the netns is pinned and a cgroup exists */
	c->pinned = true;
	snprintf(c->netns_path, sizeof(c->netns_path), "/run/netns/box1");
	c->have_cg = true;
	snprintf(c->cg.rel, sizeof(c->cg.rel), "weft/box1");
	snprintf(c->cg.parent, sizeof(c->cg.parent), "weft");
	assert_int_equal(ctr_state_write(c, NULL), 0);
	j = json_load_file(path, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "netns")), "/run/netns/box1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "cgroup"), "rel")),
			    "weft/box1");
	json_decref(j);
	/* an unwritable state dir is an I/O error naming the file */
	{
		struct cni_err err = {0};

		snprintf(c->state_dir, sizeof(c->state_dir), "%s/missing", tmp);
		assert_int_equal(ctr_state_write(c, &err), -ENOENT);
		assert_int_equal(err.code, CNI_ERR_IO);
		assert_non_null(strstr(err.msg, "missing/state.json"));
	}
	json_decref(s->cap_args);
	free(s);
	free(c);
}

static void test_cleanup_unknown(void **state)
{
	struct cni_err err = {0};

	(void)state;
	assert_int_equal(ctr_cleanup_stale("weft-unit-no-such-container", &err), -ENOENT);
	assert_int_equal(err.code, CNI_ERR_NO_CTR);
	assert_string_equal(err.msg, "no container 'weft-unit-no-such-container' "
				     "(" CTR_STATE_ROOT "/weft-unit-no-such-container)");
}

static void test_process_helpers(void **state)
{
	char deep[160], file[200];
	unsigned long long start = ctr_pid_starttime(getpid());
	pid_t pid;

	(void)state;
	assert_true(start > 0);
	assert_int_equal(ctr_pid_starttime(getpid()), start);
	pid = fork();
	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(ctr_pid_starttime(pid), 0); /* gone */
	/* rm -rf */
	snprintf(deep, sizeof(deep), "%s/x", tmp);
	assert_int_equal(mkdir(deep, 0755), 0);
	snprintf(deep, sizeof(deep), "%s/x/y", tmp);
	assert_int_equal(mkdir(deep, 0700), 0);
	snprintf(file, sizeof(file), "%s/f", deep);
	fclose(fopen(file, "w"));
	snprintf(deep, sizeof(deep), "%s/x", tmp);
	assert_int_equal(ctr_rm_rf(deep), 0);
	assert_int_equal(access(deep, F_OK), -1);
	assert_int_equal(ctr_rm_rf(deep), 0); /* already gone */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_user_namespaces),
		cmocka_unit_test_setup_teardown(test_filesystem_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cni_netns, setup, teardown),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_cni_args),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_cleanup_and_help),
		cmocka_unit_test(test_usage_matches_parser),
		cmocka_unit_test_setup_teardown(test_state_file, setup, teardown),
		cmocka_unit_test(test_cleanup_unknown),
		cmocka_unit_test_setup_teardown(test_process_helpers, setup, teardown),
	};

	unsetenv("NETCONFPATH");
	unsetenv("CNI_ARGS");
	unsetenv("CAP_ARGS");
	return cmocka_run_group_tests(tests, NULL, NULL);
}

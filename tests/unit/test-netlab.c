/* SPDX-License-Identifier: Apache-2.0 */
/* netlab without a lab: the pictures (text and DOT from a topology built here), the state file
 * in a temp state root (open, record, find, load) and `down`'s reverse order over resources
 * whose undo runs no command, cnitool's container IDs, and the process runner on harmless
 * commands. No root, no namespaces. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns-tools/nsrun/ctr.h"
#include "netns-tools/netlab/lab.h"

static const struct scenario sc_demo = {.name = "demo", .summary = "a test scenario"};

static char tmp[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/weft-netlab.XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return ctr_rm_rf(tmp);
}

/* ---- pictures ---------------------------------------------------------------------------- */

/* The text or DOT picture of t, as a malloc'd string. */
static char *render(const struct topo *t, bool dot)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (dot)
		lab_topo_print_dot(t, f);
	else
		lab_topo_print_text(t, f);
	fclose(f);
	return buf;
}

/* A bridge lab in miniature: two namespaces, a veth pair, a note. */
static struct topo *small_topo(void)
{
	struct topo *t = calloc(1, sizeof(*t));
	int h, c, br, v, e;

	assert_non_null(t);
	snprintf(t->title, sizeof(t->title), "demo: one container");
	h = lab_topo_group(t, "host", "lab host (netns nl-demo-host)");
	c = lab_topo_group(t, "netns", "c1 (netns nl-demo-c1)");
	assert_int_equal(h, 0);
	assert_int_equal(c, 1);
	br = lab_topo_node(t, h, "cni0", "bridge  10.22.0.1/24  UP");
	v = lab_topo_node(t, h, "veth1", "veth  master cni0  UP");
	e = lab_topo_node(t, c, "eth0", "veth  10.22.0.2/24  UP");
	assert_int_equal(br, 0);
	assert_int_equal(e, 2);
	lab_topo_edge(t, v, e, "veth");
	lab_topo_note(t, "try: ip netns exec %s ip route", "nl-demo-c1");
	return t;
}

static void test_topo_text(void **state)
{
	struct topo *t = small_topo();
	char *out = render(t, false);

	(void)state;
	/* the boxes are as wide as the widest title or line needs (33 + 2 borders here) */
	assert_string_equal(out, "demo: one container\n"
				 "\n"
				 "┌─ lab host (netns nl-demo-host) ─┐\n"
				 "│ cni0   bridge  10.22.0.1/24  UP │\n"
				 "│ veth1  veth  master cni0  UP    │\n"
				 "└─────────────────────────────────┘\n"
				 "┌─ c1 (netns nl-demo-c1) ─────────┐\n"
				 "│ eth0   veth  10.22.0.2/24  UP   │\n"
				 "└─────────────────────────────────┘\n"
				 "\n"
				 "links:\n"
				 "  lab host:veth1 ◄── veth ──► c1:eth0\n"
				 "\n"
				 "  * try: ip netns exec nl-demo-c1 ip route\n");
	free(out);
	free(t);
}

static void test_topo_text_bare(void **state)
{
	struct topo *t = calloc(1, sizeof(*t));
	char *out;
	int g;

	(void)state;
	/* no edges, no notes, an unlabelled edge elsewhere: only what exists is printed; UTF-8
	 * titles count one column per character */
	snprintf(t->title, sizeof(t->title), "t");
	g = lab_topo_group(t, "dir", "réseau");
	lab_topo_node(t, g, "a", "%s", "");
	out = render(t, false);
	assert_string_equal(out, "t\n"
				 "\n"
				 "┌─ réseau ───────────┐\n"
				 "│ a                  │\n"
				 "└────────────────────┘\n");
	free(out);
	lab_topo_node(t, g, "b", "x");
	lab_topo_edge(t, 0, 1, NULL);
	out = render(t, false);
	assert_non_null(strstr(out, "links:\n  réseau:a ◄────► réseau:b\n"));
	free(out);
	free(t);
}

static void test_topo_dot(void **state)
{
	struct topo *t = small_topo();
	char *out;

	(void)state;
	/* quotes and backslashes escaped, " | " becomes a line break */
	lab_topo_node(t, 1, "lo\"q", "a\\b | c");
	out = render(t, true);
	assert_string_equal(
		out, "graph netlab {\n"
		     "\tgraph [fontname=\"Helvetica\", rankdir=LR, label=\"demo: one container\", "
		     "labelloc=t];\n"
		     "\tnode [shape=box, style=\"rounded,filled\", fillcolor=white, "
		     "fontname=\"Helvetica\"];\n"
		     "\tedge [fontname=\"Helvetica\", fontsize=10];\n"
		     "\tsubgraph cluster_0 {\n"
		     "\t\tlabel=\"lab host (netns nl-demo-host)\";\n"
		     "\t\tstyle=\"rounded,filled\"; fillcolor=\"#fde2c8\";\n"
		     "\t\tn0 [label=\"cni0\\nbridge  10.22.0.1/24  UP\"];\n"
		     "\t\tn1 [label=\"veth1\\nveth  master cni0  UP\"];\n"
		     "\t}\n"
		     "\tsubgraph cluster_1 {\n"
		     "\t\tlabel=\"c1 (netns nl-demo-c1)\";\n"
		     "\t\tstyle=\"rounded,filled\"; fillcolor=\"#d9ecf7\";\n"
		     "\t\tn2 [label=\"eth0\\nveth  10.22.0.2/24  UP\"];\n"
		     "\t\tn3 [label=\"lo\\\"q\\na\\\\b\\nc\"];\n"
		     "\t}\n"
		     "\tn1 -- n2 [label=\"veth\"];\n"
		     "\tnotes [shape=note, fillcolor=\"#ffffe0\", label=\"try: ip netns exec "
		     "nl-demo-c1 ip route\"];\n"
		     "}\n");
	free(out);
	free(t);
}

static void test_topo_dot_colors_and_notes(void **state)
{
	static const char *const kinds[] = {"host", "cgroup", "dir", "outside", "netns", "other"};
	static const char *const colors[] = {"#fde2c8", "#e4d9f7", "#f4f1d0",
					     "#e0e0e0", "#d9ecf7", "#d9ecf7"};
	struct topo *t = calloc(1, sizeof(*t));
	char *out, want[128];

	(void)state;
	for (size_t i = 0; i < 6; i++)
		lab_topo_group(t, kinds[i], "g%zu", i);
	lab_topo_note(t, "one");
	lab_topo_note(t, "two");
	out = render(t, true);
	for (size_t i = 0; i < 6; i++) {
		snprintf(want, sizeof(want),
			 "label=\"g%zu\";\n\t\tstyle=\"rounded,filled\"; "
			 "fillcolor=\"%s\";",
			 i, colors[i]);
		assert_non_null(strstr(out, want));
	}
	/* the notes are one node, a line each */
	assert_non_null(strstr(out, "label=\"one\\ntwo\"];\n}\n"));
	free(out);
	free(t);
}

static void test_topo_limits(void **state)
{
	struct topo *t = calloc(1, sizeof(*t));

	(void)state;
	for (int i = 0; i < TOPO_MAX_GROUPS; i++)
		assert_int_equal(lab_topo_group(t, "netns", "g%d", i), i);
	/* a full table hands out the last group again */
	assert_int_equal(lab_topo_group(t, "netns", "one too many"), TOPO_MAX_GROUPS - 1);
	assert_string_equal(t->g[TOPO_MAX_GROUPS - 1].title, "g15");
	for (int i = 0; i < TOPO_MAX_NODES; i++)
		assert_int_equal(lab_topo_node(t, 0, "n", "%d", i), i);
	assert_int_equal(lab_topo_node(t, 0, "n", "full"), -1);
	/* an edge to a node that could not be added is dropped */
	lab_topo_edge(t, 0, -1, "x");
	assert_int_equal(t->ne, 0);
	for (int i = 0; i < TOPO_MAX_EDGES + 3; i++)
		lab_topo_edge(t, 0, 1, NULL);
	assert_int_equal(t->ne, TOPO_MAX_EDGES);
	for (int i = 0; i < TOPO_MAX_NOTES + 3; i++)
		lab_topo_note(t, "note %d", i);
	assert_int_equal(t->nnotes, TOPO_MAX_NOTES);
	/* long labels are cut to the field, not overflowed */
	t->nn = 0;
	lab_topo_node(t, 0, "a-label-much-longer-than-the-forty-eight-bytes-it-gets", "d");
	assert_int_equal(strlen(t->n[0].label), sizeof(t->n[0].label) - 1);
	free(t);
}

/* ---- state --------------------------------------------------------------------------------- */

static void lab_init(struct lab *lab, const char *root)
{
	memset(lab, 0, sizeof(*lab));
	lab->state_root = root;
}

static json_t *state_on_disk(const struct lab *lab)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/state.json", lab->dir);
	return json_load_file(path, 0, NULL);
}

static void test_state_open(void **state)
{
	static const char *const bad[] = {"", "-x", "a b", "a/b", "abcdefghijklmnopqrstuvwxy"};
	struct lab lab, again;
	char root[128], want[160];
	json_t *j;

	(void)state;
	snprintf(root, sizeof(root), "%s/state/netlab", tmp); /* made as needed */
	lab_init(&lab, root);
	assert_string_equal(lab_state_root(&lab), root);
	assert_int_equal(lab_open(&lab, &sc_demo, NULL, true), 0);
	assert_string_equal(lab.id, "nl-demo");
	snprintf(want, sizeof(want), "%s/nl-demo", root);
	assert_string_equal(lab.dir, want);
	assert_string_equal(lab.cni_path, lab.bin_dir); /* the plugins next to netlab */
	j = state_on_disk(&lab);
	assert_string_equal(json_string_value(json_object_get(j, "scenario")), "demo");
	assert_string_equal(json_string_value(json_object_get(j, "id")), "nl-demo");
	assert_int_equal(json_integer_value(json_object_get(j, "netlabPid")), getpid());
	assert_int_equal(json_array_size(json_object_get(j, "resources")), 0);
	json_decref(j);
	/* up twice: EEXIST; a second prefix is a second lab */
	lab_init(&again, root);
	assert_int_equal(lab_open(&again, &sc_demo, NULL, true), -EEXIST);
	lab_close(&again);
	lab_init(&again, root);
	assert_int_equal(lab_open(&again, &sc_demo, "t-2", true), 0);
	assert_string_equal(again.id, "t-2-demo");
	lab_close(&again);
	/* not up: ENOENT; bad prefixes: EINVAL */
	lab_init(&again, root);
	assert_int_equal(lab_open(&again, &sc_demo, "other", false), -ENOENT);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lab_init(&again, root);
		assert_int_equal(lab_open(&again, &sc_demo, bad[i], true), -EINVAL);
	}
	lab_init(&again, root);
	assert_int_equal(lab_open(&again, &sc_demo, "abcdefghijklmnopqrstuvwx", false), -ENOENT);
	lab_close(&lab);
}

static void test_state_record_find(void **state)
{
	struct lab lab, loaded;
	char path[PATH_MAX + 16];
	json_t *j;

	(void)state;
	lab_init(&lab, tmp);
	assert_int_equal(lab_open(&lab, &sc_demo, "p", true), 0);
	assert_int_equal(lab_record(&lab, json_pack("{s:s,s:s}", "kind", "netns", "name", "p-a")),
			 0);
	assert_int_equal(lab_record(&lab, json_pack("{s:s,s:s}", "kind", "netns", "name", "p-b")),
			 0);
	assert_int_equal(lab_record(&lab, json_pack("{s:s,s:s,s:i}", "kind", "proc", "argv0",
						    "/bin/x", "pid", 42)),
			 0);
	assert_int_equal(lab_record(&lab, NULL), -ENOMEM);
	/* each record is on disk at once (a crash right after it still lets down undo it) */
	j = state_on_disk(&lab);
	assert_int_equal(json_array_size(json_object_get(j, "resources")), 3);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "resources"), 1), "name")),
			    "p-b");
	json_decref(j);
	snprintf(path, sizeof(path), "%s/state.json.tmp.%d", lab.dir, (int)getpid());
	assert_int_equal(access(path, F_OK), -1);
	/* another process (verify, down) loads the same */
	lab_init(&loaded, tmp);
	assert_int_equal(lab_open(&loaded, &sc_demo, "p", false), 0);
	assert_string_equal(json_string_value(json_object_get(
				    lab_find(&loaded, "netns", "name", "p-b"), "name")),
			    "p-b");
	assert_null(lab_find(&loaded, "netns", "name", "p-c"));
	assert_int_equal(json_integer_value(
				 json_object_get(lab_find(&loaded, "proc", "argv0", NULL), "pid")),
			 42);
	/* the first of a kind when value is NULL */
	assert_string_equal(json_string_value(json_object_get(
				    lab_find(&loaded, "netns", "name", NULL), "name")),
			    "p-a");
	assert_null(lab_find(&loaded, "cgroup", "what", NULL));
	lab_close(&loaded);
	lab_close(&lab);
}

static void test_names(void **state)
{
	struct lab lab = {0};
	char buf[96];

	(void)state;
	snprintf(lab.id, sizeof(lab.id), "nl-bridge");
	assert_string_equal(lab_name(&lab, "c1", buf, sizeof(buf)), "nl-bridge-c1");
	assert_string_equal(lab_netns_path("nl-bridge-c1", buf, sizeof(buf)),
			    "/run/netns/nl-bridge-c1");
	assert_string_equal(lab_name(&lab, "host", buf, 8), "nl-brid");
	assert_string_equal(lab_state_root(&lab), LAB_STATE_ROOT);
	lab.checks = 0;
	assert_true(lab_check(&lab, true, "fine %d", 1));
	assert_false(lab_check(&lab, false, "broken"));
	assert_int_equal(lab.checks, 2);
	assert_int_equal(lab.failures, 1);
}

/* A child that waits to be killed, as a lab's holder process does. */
static pid_t sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	assert_true(pid > 0);
	return pid;
}

static json_t *proc_res(pid_t pid)
{
	return json_pack("{s:s,s:i,s:I,s:s}", "kind", "proc", "pid", (int)pid, "start",
			 (json_int_t)ctr_pid_starttime(pid), "argv0", "sleeper");
}

/* Runs lab_down with stderr captured into *ret_err (malloc'd). */
static int down_captured(struct lab *lab, char **ret_err)
{
	char path[128];
	int fd, saved, left;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/stderr", tmp);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	left = lab_down(lab);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	f = fopen(path, "r");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*ret_err = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(*ret_err, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	return left;
}

/* Down undoes newest first and goes on past failures; the state stays for another try. */
static void test_down_order(void **state)
{
	struct lab lab;
	char root[128], d1[PATH_MAX], d2[PATH_MAX], *err = NULL, *first, *second;
	pid_t pid = sleeper();

	(void)state;
	snprintf(root, sizeof(root), "%s/root", tmp);
	lab_init(&lab, root);
	assert_int_equal(lab_open(&lab, &sc_demo, NULL, true), 0);
	snprintf(d1, sizeof(d1), "%s/d1", lab.dir);
	snprintf(d2, sizeof(d2), "%s/d2", lab.dir);
	assert_int_equal(mkdir(d1, 0755), 0);
	assert_int_equal(mkdir(d2, 0755), 0);
	/* bad cgroup records cannot be undone: they mark the order in the error output */
	assert_int_equal(lab_record(&lab, json_pack("{s:s,s:s}", "kind", "dir", "path", d1)), 0);
	assert_int_equal(lab_record(&lab, json_pack("{s:s,s:i}", "kind", "cgroup", "mark", 1)), 0);
	assert_int_equal(lab_record(&lab, proc_res(pid)), 0);
	assert_int_equal(lab_record(&lab, json_pack("{s:s,s:i}", "kind", "cgroup", "mark", 2)), 0);
	assert_int_equal(lab_record(&lab, json_pack("{s:s,s:s}", "kind", "dir", "path", d2)), 0);
	/* resources already gone, and kinds whose undo then runs nothing */
	assert_int_equal(lab_record(&lab, json_pack("{s:s,s:s}", "kind", "netns", "name",
						    "weft-unit-no-such-netns")),
			 0);
	assert_int_equal(lab_record(&lab, json_pack("{s:s,s:s,s:i}", "kind", "nsrun", "name",
						    "weft-unit-no-such-ctr", "pid", 0)),
			 0);
	assert_int_equal(lab_record(&lab, json_pack("{s:s,s:s}", "kind", "mount", "path",
						    "/weft-unit/no/such/mount")),
			 0);
	assert_int_equal(lab_record(&lab, json_pack("{s:s}", "kind", "future-kind")), 0);
	assert_int_equal(down_captured(&lab, &err), 2);
	first = strstr(err, "could not undo {\"kind\":\"cgroup\",\"mark\":2}: Invalid argument");
	second = strstr(err, "could not undo {\"kind\":\"cgroup\",\"mark\":1}: Invalid argument");
	if (!first || !second || first > second)
		fail_msg("undo order: %s", err);
	assert_non_null(strstr(err, "netlab: 2 resource(s) left; state kept in"));
	/* everything else was undone: the holder is dead, the dirs are gone */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(access(d1, F_OK), -1);
	assert_int_equal(access(d2, F_OK), -1);
	assert_int_equal(access(lab.dir, F_OK), 0);
	free(err);
	lab_close(&lab);
	/* the kept state is the whole record: down can be run again */
	lab_init(&lab, root);
	assert_int_equal(lab_open(&lab, &sc_demo, NULL, false), 0);
	assert_int_equal(json_array_size(json_object_get(lab.state, "resources")), 9);
	assert_int_equal(down_captured(&lab, &err), 2);
	free(err);
	lab_close(&lab);
}

static void test_down_clean(void **state)
{
	struct lab lab, other;
	char root[128], d[PATH_MAX], *err = NULL;
	pid_t pid = sleeper();
	int st;

	(void)state;
	snprintf(root, sizeof(root), "%s/root", tmp);
	lab_init(&lab, root);
	lab_init(&other, root);
	assert_int_equal(lab_open(&lab, &sc_demo, "a", true), 0);
	assert_int_equal(lab_open(&other, &sc_demo, "b", true), 0);
	snprintf(d, sizeof(d), "%s/work", lab.dir);
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(lab_record(&lab, json_pack("{s:s,s:s}", "kind", "dir", "path", d)), 0);
	assert_int_equal(lab_record(&lab, proc_res(pid)), 0);
	assert_int_equal(down_captured(&lab, &err), 0);
	assert_string_equal(err, "");
	free(err);
	/* the lab dir goes; the root stays while another lab is up */
	assert_int_equal(access(lab.dir, F_OK), -1);
	assert_int_equal(access(root, F_OK), 0);
	assert_int_equal(waitpid(pid, &st, WNOHANG), -1); /* reaped by down */
	assert_int_equal(down_captured(&other, &err), 0);
	free(err);
	assert_int_equal(access(root, F_OK), -1);
	lab_close(&lab);
	lab_close(&other);
}

/* ---- cnitool IDs ----------------------------------------------------------------------------- */

static void test_cnitool_id(void **state)
{
	static const struct {
		size_t len;
		const char *want;
	} xs[] = {
		{0, "cnitool-cf83e1357eefb8bdf154"},   /* sha512("") */
		{111, "cnitool-9a2a120825c231986775"}, /* padding fits the last block */
		{112, "cnitool-a3722b515ef40c910f24"}, /* padding needs one more block */
		{128, "cnitool-e2e22f8422b54b06e35c"}, /* exactly one block of data */
	};
	char id[29], path[256];

	(void)state;
	lab_cnitool_id("abc", id); /* FIPS 180-2 appendix C: ddaf35a1 93617aba cc417349 ... */
	assert_string_equal(id, "cnitool-ddaf35a193617abacc41");
	lab_cnitool_id("/run/netns/x", id);
	assert_string_equal(id, "cnitool-55e2cecc95014b0f7fc4");
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
		memset(path, 'x', xs[i].len);
		path[xs[i].len] = '\0';
		lab_cnitool_id(path, id);
		assert_string_equal(id, xs[i].want);
	}
	snprintf(path, sizeof(path), "/run/netns/%0200d", 0);
	memset(path + 11, 'n', 200);
	lab_cnitool_id(path, id);
	assert_string_equal(id, "cnitool-171cacdcda7c2a11d976");
	assert_int_equal(strlen(id), 28);
}

/* ---- processes ------------------------------------------------------------------------------- */

static void test_run(void **state)
{
	char *const echo[] = {"echo", "hello", "world", NULL};
	char *const fail[] = {"sh", "-c", "echo partial; exit 3", NULL};
	char *const killed[] = {"sh", "-c", "kill -9 $$", NULL};
	char *const missing[] = {"/weft-unit/no/such/binary", NULL};
	char *out = NULL;

	(void)state;
	assert_int_equal(lab_run(NULL, echo, &out, true), 0);
	assert_string_equal(out, "hello world\n");
	free(out);
	out = NULL;
	assert_int_equal(lab_run(NULL, fail, &out, true), 3);
	assert_string_equal(out, "partial\n");
	free(out);
	assert_int_equal(lab_run(NULL, killed, NULL, true), 128 + SIGKILL);
	assert_int_equal(lab_run(NULL, missing, NULL, true), 127);
	/* a namespace that cannot be joined: 125, the command never runs */
	out = NULL;
	assert_int_equal(lab_run_in(NULL, "weft-unit-no-such-netns", echo, &out, true), 125);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(lab_cmd(NULL, "true", NULL), 0);
	assert_int_equal(lab_cmd(NULL, "sh", "-c", "exit 1", NULL), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topo_text),
		cmocka_unit_test(test_topo_text_bare),
		cmocka_unit_test(test_topo_dot),
		cmocka_unit_test(test_topo_dot_colors_and_notes),
		cmocka_unit_test(test_topo_limits),
		cmocka_unit_test_setup_teardown(test_state_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_record_find, setup, teardown),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_down_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_down_clean, setup, teardown),
		cmocka_unit_test(test_cnitool_id),
		cmocka_unit_test(test_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

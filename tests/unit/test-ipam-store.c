/* SPDX-License-Identifier: Apache-2.0 */
/* ipam/store in mkdtemp(): layout and modes, forked children racing, planted symlinks never
 * followed, release through the index and through the scan fallback, legacy id-only files,
 * files written behind our back (the reference plugin) adopted, stale temp files, and index
 * files the reference can never mistake for a reservation. No root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/wait.h>

#include "tests/unit/ipam-test-util.h"
#include "common/cleanup.h"
#include "ipam/store-internal.h"

#define NET24 "{\"type\":\"host-local\",\"dataDir\":\"@D@\",\"subnet\":\"10.0.0.0/24\"}"

static mode_t mode_of(const char *name)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", tu_net, name);
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static void test_layout_and_modes(void **state)
{
	char cmd[1024], out[1024] = "";
	FILE *p;

	(void)state;
	tu_ipam = NET24;
	assert_string_equal(tu_add("a"), "10.0.0.2");
	assert_string_equal(tu_read("10.0.0.2"), "a\r\neth0");
	assert_int_equal(mode_of("10.0.0.2"), 0600);
	assert_int_equal(mode_of("last_reserved_ip.0"), 0600);
	assert_int_equal(mode_of("lock"), 0600);
	assert_int_equal(mode_of("."), 0755);
	assert_int_equal(mode_of(".weft"), 0700);
	/* nothing else: no temp file survives a successful ADD */
	snprintf(cmd, sizeof(cmd), "cd '%s' && find . -maxdepth 1 | sort | tr '\\n' ' '", tu_net);
	p = popen(cmd, "r");
	assert_non_null(fgets(out, sizeof(out), p));
	pclose(p);
	assert_string_equal(out, ". ./.weft ./10.0.0.2 ./last_reserved_ip.0 ./lock ");
}

static int child_add(const char *cid, const char *env_ip)
{
	struct tu_req *q = tu_req_full(CNI_CMD_ADD, "1.0.0", cid, "eth0", NULL, env_ip);
	const char *r = tu_add_full(q);

	return strncmp(r, "ERR", 3) == 0 ? 1 : 0;
}

static void test_forked_race(void **state)
{
	pid_t pids[16];
	int ok = 0, st;
	char cid[16];

	(void)state;
	tu_ipam = NET24;
	for (int i = 0; i < 16; i++) {
		snprintf(cid, sizeof(cid), "c%d", i);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(child_add(cid, NULL));
	}
	for (int i = 0; i < 16; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	/* 16 distinct files .2 .. .17, each owned by exactly one child */
	for (int i = 2; i < 18; i++) {
		char name[32];

		snprintf(name, sizeof(name), "10.0.0.%d", i);
		assert_int_equal(strncmp(tu_read(name), "c", 1), 0);
	}
	assert_false(tu_exists("10.0.0.18"));
	/* two children racing for one requested IP: exactly one wins */
	for (int i = 0; i < 2; i++) {
		snprintf(cid, sizeof(cid), "r%d", i);
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(child_add(cid, "10.0.0.100"));
	}
	for (int i = 0; i < 2; i++) {
		waitpid(pids[i], &st, 0);
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(tu_read("10.0.0.100")[0], 'r');
}

static void test_symlinks_not_followed(void **state)
{
	char victim[512], link[2048];
	struct cni_err err;

	(void)state;
	tu_ipam = NET24;
	snprintf(victim, sizeof(victim), "%s/victim", tu_data);
	tu_write("../victim", "precious");
	mkdir(tu_net, 0755);
	snprintf(link, sizeof(link), "%s/10.0.0.2", tu_net);
	assert_int_equal(symlink(victim, link), 0);
	snprintf(link, sizeof(link), "%s/last_reserved_ip.0", tu_net);
	assert_int_equal(symlink(victim, link), 0);
	assert_string_equal(tu_add("a"), "10.0.0.3"); /* the planted name counts as taken */
	assert_string_equal(tu_read("../victim"), "precious");
	/* DEL never removes what it cannot verify */
	assert_int_equal(tu_verb(CNI_CMD_DEL, "a", NULL), 0);
	assert_true(tu_exists("10.0.0.2") && tu_exists("last_reserved_ip.0"));
	/* a planted lock symlink: refused, not followed */
	snprintf(link, sizeof(link), "%s/lock", tu_net);
	unlink(link);
	assert_int_equal(symlink(victim, link), 0);
	assert_true(strncmp(tu_add("b"), "ERR 5 ", 6) == 0);
	assert_string_equal(tu_read("../victim"), "precious");
	/* the network directory itself a symlink: refused */
	snprintf(link, sizeof(link), "rm -rf '%s' && ln -s /tmp '%s'", tu_net, tu_net);
	assert_int_equal(system(link), 0);
	assert_true(tu_verb(CNI_CMD_DEL, "a", &err) < 0);
	assert_string_equal(err.msg + strlen(err.msg) -
				    strlen("is not a directory (symlinks are "
					   "not followed)"),
			    "is not a directory (symlinks are not followed)");
}

/* Marks the index as covering the directory as it is now (what our own last change does). */
static void restamp_state(void)
{
	char path[1024];
	struct stat st;
	FILE *f;

	assert_int_equal(stat(tu_net, &st), 0);
	snprintf(path, sizeof(path), "%s/.weft/state", tu_net);
	f = fopen(path, "w");
	fprintf(f, "weft host-local state v1\n%llu %lld %ld\n", (unsigned long long)st.st_ino,
		(long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	fclose(f);
}

/* A DEL whose attachment is in the index opens one index file: a matching reservation the
 * index does not list is not even read. A miss scans; and when the directory changed behind
 * our back, the index is rebuilt first, so reservations written by the reference plugin are
 * released too. */
static void test_release_index_and_scan(void **state)
{
	(void)state;
	tu_ipam = NET24;
	assert_string_equal(tu_add("a"), "10.0.0.2");
	tu_write("10.0.0.50", "a\r\neth0");
	restamp_state(); /* white box: pretend the index saw it */
	assert_int_equal(tu_verb(CNI_CMD_DEL, "a", NULL), 0);
	assert_false(tu_exists("10.0.0.2"));
	assert_true(tu_exists("10.0.0.50")); /* proof that DEL did not read every file */
	assert_int_equal(tu_verb(CNI_CMD_DEL, "a", NULL), 0); /* a miss: scanned */
	assert_false(tu_exists("10.0.0.50"));
	tu_write("10.0.0.60", "b\r\neth0"); /* the directory changed: rebuilt before use */
	tu_write("10.0.0.61", "b\r\neth0");
	assert_int_equal(tu_verb(CNI_CMD_DEL, "b", NULL), 0);
	assert_false(tu_exists("10.0.0.60") || tu_exists("10.0.0.61"));
	/* the index is verified: an IP now holding someone else's content is never removed */
	assert_string_equal(tu_add("c"), "10.0.0.3");
	tu_write("10.0.0.3", "x\r\neth0");
	restamp_state();
	assert_int_equal(tu_verb(CNI_CMD_DEL, "c", NULL), 0);
	assert_string_equal(tu_read("10.0.0.3"), "x\r\neth0");
}

/* Without a usable index (.weft is not a directory), every lookup scans, like the reference. */
static void test_no_index_scans(void **state)
{
	(void)state;
	tu_ipam = NET24;
	tu_write(".weft", "not a directory");
	tu_write("10.0.0.9", "z\r\neth0");
	assert_string_equal(tu_add("z"),
			    "ERR 105 failed to allocate for range 0: 10.0.0.9 has "
			    "been allocated to z, duplicate allocation is not allowed");
	assert_string_equal(tu_add("a"), "10.0.0.2");
	assert_int_equal(tu_verb(CNI_CMD_CHECK, "a", NULL), 0);
	assert_int_equal(tu_verb(CNI_CMD_DEL, "a", NULL), 0);
	assert_int_equal(tu_verb(CNI_CMD_DEL, "z", NULL), 0);
	assert_string_equal(tu_ls(), "last_reserved_ip.0 lock");
	assert_string_equal(tu_read(".weft"), "not a directory");
}

static void test_legacy_id_only(void **state)
{
	struct tu_req *q;

	(void)state;
	tu_ipam = NET24;
	tu_write("10.0.0.7", "old\n");
	assert_int_equal(tu_verb(CNI_CMD_CHECK, "old", NULL), 0);
	/* duplicate check honours legacy files too (the index adopted it) */
	assert_string_equal(tu_add("old"), "ERR 105 failed to allocate for range 0: 10.0.0.7 has "
					   "been allocated to old, duplicate allocation is not "
					   "allowed");
	/* legacy files match the container ID whatever the ifname */
	q = tu_req_full(CNI_CMD_DEL, "1.0.0", "old", "eth5", NULL, NULL);
	assert_int_equal(ipam_hostlocal_del(q->c, &q->a, NULL, &q->err), 0);
	tu_req_free(q);
	assert_false(tu_exists("10.0.0.7"));
}

/* Files appearing behind our back (the reference plugin on the same dataDir) are seen by the
 * next ADD: the changed directory mtime triggers a rebuild of the index. */
static void test_foreign_writes_adopted(void **state)
{
	(void)state;
	tu_ipam = NET24;
	assert_string_equal(tu_add("a"), "10.0.0.2");
	tu_write("10.0.0.40", "q\r\neth0");
	assert_string_equal(tu_add("q"),
			    "ERR 105 failed to allocate for range 0: 10.0.0.40 has "
			    "been allocated to q, duplicate allocation is not allowed");
	assert_string_equal(tu_add("b"), "10.0.0.3");
	assert_int_equal(tu_verb(CNI_CMD_DEL, "q", NULL), 0);
	assert_false(tu_exists("10.0.0.40"));
}

static void test_stale_tmp_cleaned(void **state)
{
	(void)state;
	tu_ipam = NET24;
	tu_write(".weft-tmp", "z\r\neth0");
	assert_string_equal(tu_add("a"), "10.0.0.2");
	assert_false(tu_exists(".weft-tmp"));
}

/* The reference deletes/finds any file (recursively) whose trimmed content equals
 * "<id>\r\n<ifname>" or "<id>": ours must never look like that. */
static void test_index_never_matches_reference(void **state)
{
	char cmd[1024], path[1024];
	FILE *p;
	int files = 0;

	(void)state;
	tu_ipam = NET24;
	tu_write("10.0.0.9", "leg");
	assert_string_equal(tu_add("a"), "10.0.0.2");
	assert_string_equal(tu_add("10.0.0.2"), "10.0.0.3"); /* an ID that looks like an IP */
	snprintf(cmd, sizeof(cmd), "find '%s/.weft' -type f", tu_net);
	p = popen(cmd, "r");
	while (fgets(path, sizeof(path), p)) {
		char buf[4096];
		int fd;
		ssize_t n;

		path[strcspn(path, "\n")] = '\0';
		fd = open(path, O_RDONLY);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		assert_true(n > 0);
		buf[n] = '\0';
		assert_null(strchr(buf, '\r'));
		assert_non_null(strchr(buf, ' ')); /* container IDs cannot contain spaces */
		files++;
	}
	pclose(p);
	assert_true(files >= 2 && files <= 4); /* state + the buckets of a, 10.0.0.2, leg */
}

/* The fallback for filesystems without O_TMPFILE: a named temp made under the lock, kept
 * across taken candidates, never left behind. White box: the store is told O_TMPFILE failed. */
static void test_named_temp_fallback(void **state)
{
	struct ipam_store *s = NULL;
	struct cni_err err = {0};
	struct inet_addr a;

	(void)state;
	assert_int_equal(ipam_store_open(tu_data, "net", true, &s, &err), 0);
	s->no_tmpfile = true;
	assert_int_equal(ipam_store_prepare(s, "ctr1", "eth0", 2, &err), 0);
	assert_int_equal(s->n_tmp, 0);
	tu_write(".weft-tmp", "stale\r\neth0"); /* left by a killed process */
	tu_write("10.0.0.3", "other\r\neth0");
	assert_int_equal(ipam_store_lock_adopt(s, &err), 0);
	assert_false(tu_exists(".weft-tmp"));
	assert_int_equal(inet_addr_parse("10.0.0.3", &a), 0);
	assert_int_equal(ipam_store_reserve(s, &a, &err), 0); /* taken */
	assert_true(tu_exists(".weft-tmp"));		      /* kept for the next candidate */
	assert_int_equal(inet_addr_parse("10.0.0.4", &a), 0);
	assert_int_equal(ipam_store_reserve(s, &a, &err), 1);
	assert_false(tu_exists(".weft-tmp"));
	assert_string_equal(tu_read("10.0.0.4"), "ctr1\r\neth0");
	assert_string_equal(tu_read("10.0.0.3"), "other\r\neth0");
	assert_int_equal(inet_addr_parse("10.0.0.5", &a), 0);
	assert_int_equal(ipam_store_reserve(s, &a, &err), 1);
	assert_int_equal(ipam_store_release_ip(s, &a), 1);
	ipam_store_unlock(s);
	ipam_store_close(s);
	assert_string_equal(tu_ls(), "10.0.0.3 10.0.0.4 lock");
}

static ino_t ino_of(const char *name)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", tu_net, name);
	assert_int_equal(lstat(path, &st), 0);
	return st.st_ino;
}

static void gc_all(void)
{
	struct tu_req *q = tu_req(CNI_CMD_GC, "");

	assert_int_equal(ipam_hostlocal_gc(q->c, &q->a, NULL, &q->err), 0);
	tu_req_free(q);
}

/* A released reservation's inode is kept as a spare and the next reservation is that inode,
 * renamed, with the new owner's content: no inode freed or allocated. Spares are capped; a
 * killed plugin's claim is removed by GC, a live process's kept. */
static void test_spares_reuse_inodes(void **state)
{
	char live[64];
	ino_t ino;

	(void)state;
	tu_ipam = NET24;
	assert_string_equal(tu_add("a"), "10.0.0.2");
	ino = ino_of("10.0.0.2");
	assert_int_equal(tu_verb(CNI_CMD_DEL, "a", NULL), 0);
	assert_false(tu_exists("10.0.0.2"));
	assert_true(ino_of(".weft/spare.0") == ino);
	assert_string_equal(tu_add("b"), "10.0.0.3");
	assert_true(ino_of("10.0.0.3") == ino);
	assert_string_equal(tu_read("10.0.0.3"), "b\r\neth0");
	assert_false(tu_exists(".weft/spare.0"));
	/* three released: two spares, the third unlinked */
	assert_string_equal(tu_add("c"), "10.0.0.4");
	assert_string_equal(tu_add("d"), "10.0.0.5");
	assert_int_equal(tu_verb(CNI_CMD_DEL, "b", NULL), 0);
	assert_int_equal(tu_verb(CNI_CMD_DEL, "c", NULL), 0);
	assert_int_equal(tu_verb(CNI_CMD_DEL, "d", NULL), 0);
	assert_true(tu_exists(".weft/spare.0") && tu_exists(".weft/spare.1"));
	assert_false(tu_exists(".weft/spare.2"));
	assert_string_equal(tu_ls(), "last_reserved_ip.0 lock");
	/* a claim of a dead pid is an orphan (GC removes it), one of a live process is not */
	snprintf(live, sizeof(live), ".weft/claim.%ld.0.1f", (long)getpid());
	tu_write(".weft/claim.2147483646.0.2e", "x\r\neth0");
	tu_write(live, "y\r\neth0");
	gc_all();
	assert_false(tu_exists(".weft/claim.2147483646.0.2e"));
	assert_true(tu_exists(live));
	assert_true(tu_exists(".weft/spare.0") && tu_exists(".weft/spare.1"));
}

/* A claim that went before it was used (another process's index rebuild) leaves the slot to
 * the named temp: the reservation is still made, whole. White box. */
static void test_claim_gone_falls_back(void **state)
{
	struct ipam_store *s = NULL;
	struct cni_err err = {0};
	char path[1024], rel[128];
	struct inet_addr a;

	(void)state;
	tu_ipam = NET24;
	assert_string_equal(tu_add("a"), "10.0.0.2");
	assert_int_equal(tu_verb(CNI_CMD_DEL, "a", NULL), 0);
	assert_int_equal(ipam_store_open(tu_data, "net", true, &s, &err), 0);
	assert_int_equal(ipam_store_prepare(s, "ctr1", "eth0", 1, &err), 0);
	assert_int_equal(strncmp(s->claim[0], "claim.", 6), 0);
	snprintf(rel, sizeof(rel), ".weft/%s", s->claim[0]);
	assert_string_equal(tu_read(rel), "ctr1\r\neth0");
	snprintf(path, sizeof(path), "%s/.weft/%s", tu_net, s->claim[0]);
	assert_int_equal(unlink(path), 0); /* gone (an older weft's index rebuild, a hand) */
	assert_int_equal(ipam_store_lock_adopt(s, &err), 0);
	assert_int_equal(inet_addr_parse("10.0.0.7", &a), 0);
	assert_int_equal(ipam_store_reserve(s, &a, &err), 1);
	ipam_store_unlock(s);
	ipam_store_close(s);
	assert_string_equal(tu_read("10.0.0.7"), "ctr1\r\neth0");
	assert_false(tu_exists(".weft-tmp"));
}

/* A rewrite in place leaves exactly the new content: shorter content truncates the rest, equal
 * or longer needs no truncate (and must not keep a stale tail either). */
static void test_write_at_lengths(void **state)
{
	static const char *const seq[] = {"10.1.0.100", "10.1.0.99", "10.1.0.99", "10.1.0.1000",
					  "x"};
	_cleanup_close_ int dir = open(tu_data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char buf[64];
	struct stat st;

	(void)state;
	assert_true(dir >= 0);
	for (size_t i = 0; i < ARRAY_SIZE(seq); i++) {
		assert_int_equal(ipam_store_write_at(dir, "f", seq[i], strlen(seq[i])), 0);
		assert_int_equal(fstatat(dir, "f", &st, 0), 0);
		assert_int_equal(st.st_size, (off_t)strlen(seq[i]));
		assert_int_equal(ipam_store_read_at(dir, "f", buf, sizeof(buf)),
				 (ssize_t)strlen(seq[i]));
		assert_string_equal(buf, seq[i]);
	}
}

static void test_store_open_missing(void **state)
{
	struct ipam_store *s = NULL;
	struct cni_err err = {0};

	(void)state;
	assert_int_equal(ipam_store_open(tu_data, "net", false, &s, &err), -ENOENT);
	assert_null(s);
	assert_int_equal(ipam_store_open(tu_data, "../etc", true, &s, &err), -EINVAL);
	assert_int_equal(err.code, 7);
	assert_int_equal(ipam_store_open(tu_data, "net", true, &s, &err), 0);
	assert_int_equal(ipam_store_prepare(s, "a/b", "eth0", 1, &err), -EINVAL);
	assert_int_equal(ipam_store_prepare(s, "a", "../x", 1, &err), -EINVAL);
	ipam_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout_and_modes, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_spares_reuse_inodes, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_claim_gone_falls_back, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_forked_race, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_symlinks_not_followed, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_release_index_and_scan, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_no_index_scans, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_legacy_id_only, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_foreign_writes_adopted, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_stale_tmp_cleaned, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_index_never_matches_reference, tu_setup,
						tu_teardown),
		cmocka_unit_test_setup_teardown(test_named_temp_fallback, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_store_open_missing, tu_setup, tu_teardown),
		cmocka_unit_test_setup_teardown(test_write_at_lengths, tu_setup, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

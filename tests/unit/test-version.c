/* SPDX-License-Identifier: Apache-2.0 */
/* weft's built-in version: the mark every binary carries, reading it back off a binary's bytes
 * (what weft-install logs), and the about text a plugin run by hand prints. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/cni/skel.h"
#include "common/fsutil.h"
#include "common/version.h"

#define MARK WEFT_VERSION_MARK

static void test_mark(void **state)
{
	assert_true(strncmp(weft_version_mark, MARK, strlen(MARK)) == 0);
	assert_ptr_equal(weft_version, weft_version_mark + strlen(MARK));
	assert_true(weft_version[0] != '\0');
	assert_null(strchr(weft_version, ' '));
	assert_true(strlen(weft_version) < WEFT_VERSION_MAX);
}

/* find(buf, len): weft_version_find's answer, "" when it found none. */
static const char *find(const char *buf, size_t len)
{
	static char v[WEFT_VERSION_MAX];

	memset(v, 'x', sizeof(v));
	if (weft_version_find(buf, len, v) < 0)
		return "";
	return v;
}

/* Test data: M is the mark (no NUL); any other part is copied with its NUL. Returns the
 * length. */
#define M NULL
static size_t join(char *out, size_t n, const char *const *parts)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		const char *s = parts[i] ? parts[i] : MARK;
		size_t l = strlen(s) + (parts[i] ? 1 : 0);

		memcpy(out + len, s, l);
		len += l;
	}
	return len;
}
#define JOIN(buf, ...)                                                                             \
	join(buf, sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *),                          \
	     (const char *[]){__VA_ARGS__})

static void test_find(void **state)
{
	char buf[512], v[WEFT_VERSION_MAX];
	size_t len;

	/* an empty version is skipped, the next mark taken */
	len = JOIN(buf, "ELF junk", M, "", " more ", M, "v1.2-3-gabc-dirty", "tail");
	assert_string_equal(find(buf, len), "v1.2-3-gabc-dirty");
	/* a space, a control character or a non-ASCII byte: not a version */
	len = JOIN(buf, M, "has space", M, "tab\t", M, "\xc3\xa9", M, "ok");
	assert_string_equal(find(buf, len), "ok");
	len = JOIN(buf, "no mark here");
	assert_string_equal(find(buf, len), "");
	len = JOIN(buf, M, "cut");
	assert_string_equal(find(buf, len - 1), ""); /* no NUL before the end */
	len = JOIN(buf, "x", M);
	assert_string_equal(find(buf, len), "");
	assert_int_equal(weft_version_find(NULL, 0, v), -ENOENT);
	assert_int_equal(weft_version_find("", 0, v), -ENOENT);
}

static void test_find_length(void **state)
{
	char buf[sizeof(MARK) + WEFT_VERSION_MAX + 1];
	size_t m = strlen(MARK);

	memcpy(buf, MARK, m);
	memset(buf + m, 'a', WEFT_VERSION_MAX - 1); /* the longest accepted, and its NUL */
	buf[m + WEFT_VERSION_MAX - 1] = '\0';
	assert_int_equal(strlen(find(buf, m + WEFT_VERSION_MAX)), WEFT_VERSION_MAX - 1);
	buf[m + WEFT_VERSION_MAX - 1] = 'a'; /* one more: refused, never overflows */
	buf[m + WEFT_VERSION_MAX] = '\0';
	assert_string_equal(find(buf, m + WEFT_VERSION_MAX + 1), "");
}

/* The mark is really in every weft program (WEFT_TEST_BIN, built with the same version by the
 * same make as this test), and it is the version they print. */
static void assert_binary_version(const char *path)
{
	_cleanup_free_ char *data = NULL;
	char v[WEFT_VERSION_MAX];
	size_t len;

	assert_int_equal(fs_read_file(path, 64u << 20, &data, &len), 0);
	assert_int_equal(weft_version_find(data, len, v), 0);
	assert_string_equal(v, weft_version);
}

static void test_in_binaries(void **state)
{
	static const char *const bins[] = {"bridge", "host-gw",	   "vxlan",
					   "ebpf",   "host-local", "nsrun",
					   "netlab", "weft-node",  "weft-install"};
	const char *dir = getenv("WEFT_TEST_BIN");
	char path[4096];

	if (!dir)
		skip();
	for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, bins[i]);
		assert_binary_version(path);
	}
}

static void test_about(void **state)
{
	static const struct cni_plugin p = {.name = "bridge"};
	_cleanup_free_ char *buf = NULL, *want = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cni_plugin_about(&p, f);
	fclose(f);
	assert_true(
		asprintf(&want,
			 "weft bridge plugin %s\nCNI protocol versions supported: 0.1.0, 0.2.0, "
			 "0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n",
			 weft_version) > 0);
	assert_string_equal(buf, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mark),	    cmocka_unit_test(test_find),
		cmocka_unit_test(test_find_length), cmocka_unit_test(test_in_binaries),
		cmocka_unit_test(test_about),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "common/version.h"

#ifndef WEFT_VERSION
#define WEFT_VERSION "0.1.0-unknown"
#endif
_Static_assert(sizeof(WEFT_VERSION) <= WEFT_VERSION_MAX, "WEFT_VERSION is too long");

/* One object: whatever prints the version keeps the mark in the binary. */
const char weft_version_mark[] = WEFT_VERSION_MARK WEFT_VERSION;
const char *const weft_version = weft_version_mark + sizeof(WEFT_VERSION_MARK) - 1;

/* Length of the version at s (printable, no space, NUL-terminated within end), else 0. */
static size_t version_len(const char *s, const char *end)
{
	size_t n = 0;

	while (s + n < end && n < WEFT_VERSION_MAX && s[n] > ' ' && s[n] < 0x7f)
		n++;
	return s + n < end && s[n] == '\0' && n < WEFT_VERSION_MAX ? n : 0;
}

int weft_version_find(const void *data, size_t len, char *buf)
{
	const size_t mlen = sizeof(WEFT_VERSION_MARK) - 1;
	const char *p = data, *end, *hit;
	size_t n;

	if (!p)
		return -ENOENT;
	end = p + len;

	/* the needle is the mark's own prefix: no second copy of it in the binary to find */
	while ((hit = memmem(p, (size_t)(end - p), weft_version_mark, mlen))) {
		n = version_len(hit + mlen, end);
		if (n) {
			memcpy(buf, hit + mlen, n + 1);
			return 0;
		}
		p = hit + 1;
	}
	return -ENOENT;
}

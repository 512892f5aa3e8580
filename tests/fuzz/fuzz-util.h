/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the libFuzzer targets (tests/fuzz/fuzz-*.c). Header-only: run.sh compiles
 * each target as one translation unit against the project's common/ and ipam/ objects. */
#ifndef WEFT_FUZZ_UTIL_H
#define WEFT_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cni-error.h"

/* A violated invariant is a finding: abort() so libFuzzer saves the input. */
#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Every failure must leave a usable CNI error: a known code and a message. */
static inline void fuzz_err_ok(const struct cni_err *err)
{
	FUZZ_ASSERT(err->code != CNI_OK);
	FUZZ_ASSERT(err->msg[0] != '\0');
	FUZZ_ASSERT(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
	FUZZ_ASSERT(memchr(err->details, '\0', sizeof(err->details)) != NULL);
}

/* The input cut in two at the first NUL byte: head (NUL-terminated copy) and tail. */
struct fuzz_split {
	char *head;
	const uint8_t *tail;
	size_t tail_len;
};

static inline bool fuzz_split(const uint8_t *data, size_t size, struct fuzz_split *ret)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t hlen = nul ? (size_t)(nul - data) : size;

	ret->head = malloc(hlen + 1);
	if (!ret->head)
		return false;
	memcpy(ret->head, data, hlen);
	ret->head[hlen] = '\0';
	ret->tail = nul ? nul + 1 : data + size;
	ret->tail_len = nul ? size - hlen - 1 : 0;
	return true;
}

/* Quiet jansson and the plugins' logs during fuzzing (they go to stderr otherwise). */
static inline void fuzz_quiet(void)
{
	setenv("WEFT_LOG_LEVEL", "error", 1);
}

#endif

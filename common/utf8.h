/* SPDX-License-Identifier: Apache-2.0 */
/* UTF-8 validity, for text that came from outside (env, config) and will be echoed as JSON. */
#ifndef WEFT_UTF8_H
#define WEFT_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence starting at s (1..4), or 0 (invalid or overlong). */
size_t utf8_seq_len(const unsigned char *s);
/* True when the NUL-terminated s is entirely valid UTF-8. */
bool utf8_valid(const char *s);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* weft's version, baked in at build time: `git describe --tags --always --dirty` of the
 * checkout (the Makefile's WEFT_VERSION; "0.1.0-unknown" outside a git checkout). Only
 * common/version.c sees the macro, so a new version recompiles one file. */
#ifndef WEFT_VERSION_H
#define WEFT_VERSION_H

#include <stddef.h>

/* What precedes the version in every weft binary's bytes: "@(#)weft-version <version>\0". */
#define WEFT_VERSION_MARK "@(#)weft-version "
#define WEFT_VERSION_MAX  128 /* the longest version weft_version_find() takes, NUL included */

extern const char weft_version_mark[];
extern const char *const weft_version; /* the version alone, inside weft_version_mark */

/* The version a weft binary was built with, read off its bytes (no need to run it, nor for it
 * to be of this machine's architecture): copied into buf (WEFT_VERSION_MAX bytes) and 0, or
 * -ENOENT when data carries no mark. */
int weft_version_find(const void *data, size_t len, char *buf);

#endif

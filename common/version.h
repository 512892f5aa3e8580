/* SPDX-License-Identifier: Apache-2.0 */
/* weft's version, baked in at build time: `git describe --tags --always --dirty` of the
 * checkout (the Makefile's WEFT_VERSION; "0.1.0-unknown" outside a git checkout). Only
 * common/version.c sees the macro, so a new version recompiles one file. */
#ifndef WEFT_VERSION_H
#define WEFT_VERSION_H

extern const char weft_version[];

#endif

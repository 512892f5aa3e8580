/* SPDX-License-Identifier: Apache-2.0 */
#include "common/version.h"

#ifndef WEFT_VERSION
#define WEFT_VERSION "0.1.0-unknown"
#endif

const char weft_version[] = WEFT_VERSION;

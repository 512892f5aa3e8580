/* SPDX-License-Identifier: Apache-2.0 */
/* Walks over pinned BPF maps of any layout (the caller knows the keys). Prefix bpfmap_. */
#ifndef WEFT_BPF_MAPS_H
#define WEFT_BPF_MAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cni-error.h"

/* Deletes every key of map fd (keys of key_size bytes) for which match(key, ctx) is true and
 * returns how many went. The keys are collected first and deleted after the walk: deleting
 * the key a walk stands on restarts it in a hash map. Keys gone meanwhile are fine. */
int bpfmap_del_if(int fd, size_t key_size, bool (*match)(const void *key, void *ctx), void *ctx,
		  struct cni_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Walks over pinned BPF maps of any layout (the caller knows the keys). Prefix bpfmap_. */
#ifndef WEFT_BPF_MAPS_H
#define WEFT_BPF_MAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cni-error.h"

/* The keys of map fd (key_size bytes each) for which match(key, ctx) is true (match NULL: all)
 * into a malloc'd array *ret of *ret_n keys (NULL when none). Walk first, act after: changing
 * the map a walk stands on restarts it in a hash map. */
int bpfmap_keys(int fd, size_t key_size, bool (*match)(const void *key, void *ctx), void *ctx,
		void **ret, size_t *ret_n, struct cni_err *err);
/* Deletes every key of map fd (keys of key_size bytes) for which match(key, ctx) is true and
 * returns how many went. The keys are collected first and deleted after the walk: deleting
 * the key a walk stands on restarts it in a hash map. Keys gone meanwhile are fine. */
int bpfmap_del_if(int fd, size_t key_size, bool (*match)(const void *key, void *ctx), void *ctx,
		  struct cni_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "common/bpf/maps.h"
#include "common/cleanup.h"

/* Appends key to the array *buf of *n keys (capacity *cap). */
static int keys_push(uint8_t **buf, size_t *n, size_t *cap, const void *key, size_t key_size)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		uint8_t *b = reallocarray(*buf, c, key_size);

		if (!b)
			return -ENOMEM;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *n * key_size, key, key_size);
	(*n)++;
	return 0;
}

int bpfmap_keys(int fd, size_t key_size, bool (*match)(const void *key, void *ctx), void *ctx,
		void **ret, size_t *ret_n, struct cni_err *err)
{
	_cleanup_free_ uint8_t *keys = NULL, *cur = malloc(key_size), *next = malloc(key_size);
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int r;

	if (!cur || !next)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "allocate a map key");
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if ((!match || match(next, ctx)) &&
		    (r = keys_push(&keys, &n, &cap, next, key_size)) < 0)
			return cni_err_set(err, CNI_ERR_INTERNAL, -r, "collect map keys");
		memcpy(cur, next, key_size);
		prev = cur;
	}
	if (errno != ENOENT)
		return cni_err_set(err, CNI_ERR_BPF, errno, "walk a map");
	*ret = TAKE_PTR(keys);
	*ret_n = n;
	return 0;
}

int bpfmap_del_if(int fd, size_t key_size, bool (*match)(const void *key, void *ctx), void *ctx,
		  struct cni_err *err)
{
	_cleanup_free_ void *keys = NULL;
	size_t n = 0;
	int r = bpfmap_keys(fd, key_size, match, ctx, &keys, &n, err), gone = 0;

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (bpf_map_delete_elem(fd, (uint8_t *)keys + i * key_size) == 0)
			gone++;
		else if (errno != ENOENT)
			return cni_err_set(err, CNI_ERR_BPF, errno, "delete a map entry");
	}
	return gone;
}

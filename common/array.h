/* SPDX-License-Identifier: Apache-2.0 */
/* Arrays: the one doubling loop the rest of the tree calls, and a sort that costs one pass
 * when the items come sorted already. */
#ifndef WEFT_ARRAY_H
#define WEFT_ARRAY_H

#include <stddef.h>

/* Room for at least n items of size bytes in *v (capacity *cap, doubled from 16 as needed).
 * 0, or -ENOMEM with *v and *cap unchanged. */
int array_room(void **v, size_t *cap, size_t n, size_t size);
/* qsort of v[0..n), skipped when the items are in order already (one pass of cmp). */
void array_sort(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *));

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Growing arrays: the one doubling loop the rest of the tree calls. */
#ifndef WEFT_ARRAY_H
#define WEFT_ARRAY_H

#include <stddef.h>

/* Room for at least n items of size bytes in *v (capacity *cap, doubled from 16 as needed).
 * 0, or -ENOMEM with *v and *cap unchanged. */
int array_room(void **v, size_t *cap, size_t n, size_t size);

#endif

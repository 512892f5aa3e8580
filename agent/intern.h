/* SPDX-License-Identifier: Apache-2.0 */
/* Equal JSON values held once. The pods of one Deployment carry the same labels and the same
 * container ports: a node's agent holding 5000 pods holds a few hundred distinct values of
 * each, and one object per pod of each would be most of its memory. Held values must not be
 * changed (they are shared); a value no one holds any more is dropped by a later sweep. */
#ifndef WEFT_AGENT_INTERN_H
#define WEFT_AGENT_INTERN_H

#include <stddef.h>

#include <jansson.h>

struct intern;

struct intern *intern_new(void);     /* NULL: no memory */
void intern_free(struct intern *in); /* NULL-safe */
/* The held value equal to v (a new reference), or v itself, now held; steals v. in NULL, or
 * no memory: v as it is. */
json_t *intern_take(struct intern *in, json_t *v);
size_t intern_size(const struct intern *in); /* distinct values held */

#endif

/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include "agent/intern.h"
#include "common/cleanup.h"

struct intern {
	json_t *by_text; /* compact JSON text (keys sorted) -> the value */
	size_t swept;	 /* the count after the last sweep */
};

struct intern *intern_new(void)
{
	struct intern *in = calloc(1, sizeof(*in));

	if (in && !(in->by_text = json_object())) {
		free(in);
		in = NULL;
	}
	return in;
}

void intern_free(struct intern *in)
{
	if (!in)
		return;
	json_decref(in->by_text);
	free(in);
}

size_t intern_size(const struct intern *in)
{
	return in ? json_object_size(in->by_text) : 0;
}

/* Drops the values only the table holds (jansson's json_t carries its reference count). */
static void sweep(struct intern *in)
{
	const char *k;
	json_t *v, *tmp;

	json_object_foreach_safe(in->by_text, tmp, k, v) if (v->refcount == 1)
		json_object_del(in->by_text, k);
	in->swept = json_object_size(in->by_text);
}

json_t *intern_take(struct intern *in, json_t *v)
{
	_cleanup_free_ char *text = NULL;
	json_t *held;

	if (!in || !v || !(text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)))
		return v;
	held = json_object_get(in->by_text, text);
	if (held) {
		json_decref(v);
		return json_incref(held);
	}
	if (json_object_size(in->by_text) >= 2 * in->swept + 64)
		sweep(in);
	json_object_set(in->by_text, text, v);
	return v;
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>

#include "agent/poltable.h"

static const char *const sections[] = {"sets", "chains", "in", "out", "pods"};

int poltable_init(struct poltable *t)
{
	t->doc = json_object();
	t->before = json_object();
	for (size_t i = 0; t->doc && i < sizeof(sections) / sizeof(sections[0]); i++)
		if (json_object_set_new(t->doc, sections[i], json_object()) < 0)
			break;
	if (!t->doc || !t->before ||
	    json_object_size(t->doc) != sizeof(sections) / sizeof(sections[0])) {
		poltable_fini(t);
		return -ENOMEM;
	}
	return 0;
}

void poltable_fini(struct poltable *t)
{
	json_decref(t->doc);
	json_decref(t->before);
	t->doc = t->before = NULL;
}

void poltable_round(struct poltable *t)
{
	json_object_clear(t->before);
}

json_t *poltable_get(const struct poltable *t, const char *section, const char *key)
{
	return json_object_get(json_object_get(t->doc, section), key);
}

size_t poltable_size(const struct poltable *t, const char *section)
{
	return json_object_size(json_object_get(t->doc, section));
}

/* The first change of section/key this round: its value now goes to before. */
static int note(struct poltable *t, const char *section, const char *key)
{
	json_t *b = json_object_get(t->before, section), *now;

	if (!b && (json_object_set_new(t->before, section, json_object()) < 0 ||
		   !(b = json_object_get(t->before, section))))
		return -ENOMEM;
	if (json_object_get(b, key))
		return 0;
	now = poltable_get(t, section, key);
	return json_object_set(b, key, now ? now : json_null()) < 0 ? -ENOMEM : 0;
}

int poltable_set(struct poltable *t, const char *section, const char *key, json_t *v)
{
	json_t *now = poltable_get(t, section, key);

	if (!v)
		return -ENOMEM;
	if (now && (now == v || json_equal(now, v))) {
		json_decref(v);
		return 0;
	}
	if (note(t, section, key) < 0) {
		json_decref(v);
		return -ENOMEM;
	}
	return json_object_set_new(json_object_get(t->doc, section), key, v) < 0 ? -ENOMEM : 0;
}

void poltable_del(struct poltable *t, const char *section, const char *key)
{
	if (!poltable_get(t, section, key) || note(t, section, key) < 0)
		return; /* (no memory to note it: the key stays, and so does the kernel's) */
	json_object_del(json_object_get(t->doc, section), key);
}

void poltable_guard(struct poltable *t, bool on)
{
	if (json_is_true(json_object_get(t->doc, "guard")) == on)
		return;
	json_object_set_new(t->before, "guard", json_boolean(!on));
	if (on)
		json_object_set_new(t->doc, "guard", json_true());
	else
		json_object_del(t->doc, "guard");
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The wanted content of the policy table (common/nft/policy.h's JSON), kept from round to
 * round and changed in place: a round touches only what its changed pods bring or take, and
 * notes, once per key, the value the key had before the round (what the nft layer compares
 * against, nft_pol_apply_touched). A value set equal to the one there leaves it as it is. */
#ifndef WEFT_AGENT_POLTABLE_H
#define WEFT_AGENT_POLTABLE_H

#include <stdbool.h>

#include <jansson.h>

struct poltable {
	json_t *doc; /* {"sets": {}, "chains": {}, "in": {}, "out": {}, "pods": {}} (+ "guard") */
	json_t *before; /* this round: section -> key -> its value before (null: none); "guard" */
};

int poltable_init(struct poltable *t); /* -ENOMEM */
void poltable_fini(struct poltable *t);
void poltable_round(struct poltable *t); /* a new round: nothing touched yet */
json_t *poltable_get(const struct poltable *t, const char *section, const char *key);
/* key of section is v (takes the reference); -ENOMEM. */
int poltable_set(struct poltable *t, const char *section, const char *key, json_t *v);
void poltable_del(struct poltable *t, const char *section, const char *key);
void poltable_guard(struct poltable *t, bool on); /* the "guard" flag */
size_t poltable_size(const struct poltable *t, const char *section);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* jansson getters that map a bad config to CNI codes: wrong type or out-of-range value is
 * code 7 with the key and the value in the message (`invalid "mtu": 70000 is out of range
 * [68, 65535]`); callers add the path with cni_err_wrap(). A missing optional key leaves *ret
 * untouched and returns 0; a missing required key is code 7. JSON null counts as absent. A
 * required string must not be empty. */
#ifndef WEFT_CONF_H
#define WEFT_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/cni-error.h"
#include "common/inet.h"

#define CONF_REQUIRED true
#define CONF_OPTIONAL false

/* Booleans accept JSON true/false and, like libcni, the strings "true"/"false". */
int conf_bool(const json_t *obj, const char *key, bool required, bool *ret, struct cni_err *err);
/* Borrowed pointer into obj. */
int conf_str(const json_t *obj, const char *key, bool required, const char **ret,
	     struct cni_err *err);
/* Copies into buf (size len); too long is code 7. */
int conf_str_buf(const json_t *obj, const char *key, bool required, char *buf, size_t len,
		 struct cni_err *err);
int conf_int(const json_t *obj, const char *key, bool required, int64_t min, int64_t max,
	     int64_t *ret, struct cni_err *err);
int conf_addr(const json_t *obj, const char *key, bool required, struct inet_addr *ret,
	      struct cni_err *err);
/* "a.b.c.d/n"; host bits kept. */
int conf_prefix(const json_t *obj, const char *key, bool required, struct inet_prefix *ret,
		struct cni_err *err);
/* Returns the value (borrowed) if present and of the JSON type, NULL if absent; wrong type is
 * code 7. The caller uses r < 0 to tell them apart. */
int conf_object(const json_t *obj, const char *key, bool required, json_t **ret,
		struct cni_err *err);
int conf_array(const json_t *obj, const char *key, bool required, json_t **ret,
	       struct cni_err *err);

/* "aa:bb:cc:dd:ee:ff" -> 6 bytes; -EINVAL otherwise. */
int conf_parse_mac(const char *s, uint8_t mac[6]);

#endif

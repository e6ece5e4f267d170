/* Small helpers over jansson for the model files (config.json, safetensors headers, the
 * shard index): parsing with line/column errors and typed key lookups whose errors read
 * "<file>: key '<key>' is a string; expected an integer".
 * Does not know any file's schema; callers decide what is required and what is valid. */
#ifndef T2_MODEL_JSON_UTIL_H
#define T2_MODEL_JSON_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* Parses len bytes of text as a JSON object (duplicate keys rejected). Returns a new
 * reference (json_decref), or NULL with err = "<path>: invalid JSON at line L column C:
 * <reason>; expected <expected>" or "<path>: ... is <type>; expected <expected>" when the
 * top level is not an object. */
json_t *t2_json_util_parse_object(const char *text, size_t len, const char *path,
                                  const char *expected, t2_error *err);

/* "an integer", "a string", "an array", ... for messages. */
const char *t2_json_util_type_name(const json_t *value);

/* Typed lookups of obj[key]. Each returns 1 and sets *out when the key holds a value of the
 * type, 0 (leaving *out alone) when the key is absent or null, and -1 with err =
 * "<path>: key '<prefix><key>' is <type>; expected <what>" on any other value. Integers
 * accept integral reals (4096.0); numbers accept integers; strings are borrowed from obj. */
int t2_json_util_get_int(const json_t *obj, const char *key, int64_t *out, const char *path,
                         const char *prefix, t2_error *err);
int t2_json_util_get_number(const json_t *obj, const char *key, double *out, const char *path,
                            const char *prefix, t2_error *err);
int t2_json_util_get_bool(const json_t *obj, const char *key, int *out, const char *path,
                          const char *prefix, t2_error *err);
int t2_json_util_get_string(const json_t *obj, const char *key, const char **out,
                            const char *path, const char *prefix, t2_error *err);

/* An integer value (integral reals accepted): 1 and *out set, or 0 for any other value. */
int t2_json_util_as_int(const json_t *value, int64_t *out);

#endif

/* jansson helpers with the project's one-line errors (see json_util.h). */
#include "model/json_util.h"

#include <math.h>

json_t *t2_json_util_parse_object(const char *text, size_t len, const char *path,
                                  const char *expected, t2_error *err) {
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        t2_error_set(err, "%s: invalid JSON at line %d column %d: %s; expected %s", path,
                     jerr.line, jerr.column, jerr.text, expected);
        return NULL;
    }
    if (!json_is_object(root)) {
        t2_error_set(err, "%s: the JSON text is %s; expected %s", path,
                     t2_json_util_type_name(root), expected);
        json_decref(root);
        return NULL;
    }
    return root;
}

const char *t2_json_util_type_name(const json_t *value) {
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "an unknown JSON value";
}

int t2_json_util_as_int(const json_t *value, int64_t *out) {
    if (json_is_integer(value)) {
        *out = (int64_t)json_integer_value(value);
        return 1;
    }
    if (json_is_real(value)) {
        double v = json_real_value(value);
        if (v == floor(v) && fabs(v) < 9.0e15) { /* exactly representable as an integer */
            *out = (int64_t)v;
            return 1;
        }
    }
    return 0;
}

/* The value at key, NULL when absent or null. */
static const json_t *lookup(const json_t *obj, const char *key) {
    const json_t *value = json_object_get(obj, key);
    return value == NULL || json_is_null(value) ? NULL : value;
}

static int wrong_type(const json_t *value, const char *key, const char *path, const char *prefix,
                      const char *expected, t2_error *err) {
    return t2_error_set(err, "%s: key '%s%s' is %s; expected %s", path, prefix, key,
                        t2_json_util_type_name(value), expected);
}

int t2_json_util_get_int(const json_t *obj, const char *key, int64_t *out, const char *path,
                         const char *prefix, t2_error *err) {
    const json_t *value = lookup(obj, key);
    if (value == NULL) return 0;
    if (!t2_json_util_as_int(value, out))
        return wrong_type(value, key, path, prefix, "an integer", err);
    return 1;
}

int t2_json_util_get_number(const json_t *obj, const char *key, double *out, const char *path,
                            const char *prefix, t2_error *err) {
    const json_t *value = lookup(obj, key);
    if (value == NULL) return 0;
    if (!json_is_number(value)) return wrong_type(value, key, path, prefix, "a number", err);
    *out = json_number_value(value);
    return 1;
}

int t2_json_util_get_bool(const json_t *obj, const char *key, int *out, const char *path,
                          const char *prefix, t2_error *err) {
    const json_t *value = lookup(obj, key);
    if (value == NULL) return 0;
    if (!json_is_boolean(value))
        return wrong_type(value, key, path, prefix, "true or false", err);
    *out = json_is_true(value);
    return 1;
}

int t2_json_util_get_string(const json_t *obj, const char *key, const char **out,
                            const char *path, const char *prefix, t2_error *err) {
    const json_t *value = lookup(obj, key);
    if (value == NULL) return 0;
    if (!json_is_string(value)) return wrong_type(value, key, path, prefix, "a string", err);
    *out = json_string_value(value);
    return 1;
}

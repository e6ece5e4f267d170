/* Settings from libconfig files and command-line flags (see settings.h). */
#include "cmd/settings.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

static const char *type_name(t2_setting_type type) {
    switch (type) {
    case T2_SETTING_INT: return "an integer";
    case T2_SETTING_FLOAT: return "a number";
    case T2_SETTING_BOOL: return "true or false";
    case T2_SETTING_STRING: return "a string";
    }
    return "?";
}

static const t2_setting *find_key(const t2_setting *table, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (strcmp(table[i].key, key) == 0) return &table[i];
    return NULL;
}

static int check_range(const t2_setting *s, double v, const char *where, t2_error *err) {
    if (v < s->min || v > s->max || isnan(v))
        return t2_error_set(err, "%s: %s = %g is out of range; expected %s in [%g, %g]", where,
                            s->key, v, type_name(s->type), s->min, s->max);
    return 0;
}

static void set_string(const t2_setting *s, const char *text) {
    char **slot = s->value;
    t2_free(*slot);
    *slot = t2_strdup(text);
}

/* libconfig 1.5 (Debian 12) reads an integer literal beyond 32 bits written without the L
 * suffix as its low 32 bits, silently ("5000000000" gives 705032704, a CONFIG_TYPE_INT).
 * Such a literal is looked for after "<key> =" (or ':') on the setting's line and refused
 * when it does not fit 32 bits; a value on another line than its key is not checked. */
static int check_int_literal(const char *text, const config_setting_t *item, const char *key,
                             const char *where, t2_error *err) {
    const char *line = text;
    for (int l = config_setting_source_line(item); l > 1 && line != NULL; l--) {
        line = strchr(line, '\n');
        if (line != NULL) line++;
    }
    if (line == NULL) return 0;
    size_t key_len = strlen(key), line_len = strcspn(line, "\n");
    for (const char *k = line; k + key_len <= line + line_len; k++) {
        if (strncmp(k, key, key_len) != 0 || (k > line && (isalnum((unsigned char)k[-1]) ||
                                                           k[-1] == '_' || k[-1] == '-')))
            continue;
        const char *v = k + key_len + strspn(k + key_len, " \t");
        if (*v != '=' && *v != ':') continue;
        v += 1 + strspn(v + 1, " \t");
        const char *digits = v + (*v == '-' || *v == '+');
        int hex = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X');
        char *end = NULL;
        errno = 0;
        long long literal = hex ? (long long)strtoull(v, &end, 16) : strtoll(v, &end, 10);
        if (end == v) continue;
        int beyond = errno == ERANGE || (hex ? (unsigned long long)literal > UINT32_MAX
                                             : literal > INT32_MAX || literal < INT32_MIN);
        if (beyond)
            return t2_error_set(err, "%s: %s = %.*s does not fit the 32-bit integers libconfig "
                                "reads without a suffix; expected it written with an L suffix "
                                "(%.*sL)", where, key, (int)(end - v), v, (int)(end - v), v);
    }
    return 0;
}

/* Stores one libconfig value into its setting, checking the type. */
static int store_config_value(const t2_setting *s, const config_setting_t *item, const char *text,
                              const char *where, t2_error *err) {
    int type = config_setting_type(item);
    if (type == CONFIG_TYPE_INT && check_int_literal(text, item, s->key, where, err) != 0)
        return -1;
    switch (s->type) {
    case T2_SETTING_INT:
        if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) break;
        {
            long long v = config_setting_get_int64(item);
            if (check_range(s, (double)v, where, err) != 0) return -1;
            *(int64_t *)s->value = v;
        }
        return 0;
    case T2_SETTING_FLOAT:
        if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64 && type != CONFIG_TYPE_FLOAT) break;
        {
            double v = type == CONFIG_TYPE_FLOAT ? config_setting_get_float(item)
                                                 : (double)config_setting_get_int64(item);
            if (check_range(s, v, where, err) != 0) return -1;
            *(double *)s->value = v;
        }
        return 0;
    case T2_SETTING_BOOL:
        if (type != CONFIG_TYPE_BOOL) break;
        *(int *)s->value = config_setting_get_bool(item);
        return 0;
    case T2_SETTING_STRING:
        if (type != CONFIG_TYPE_STRING) break;
        set_string(s, config_setting_get_string(item));
        return 0;
    }
    return t2_error_set(err, "%s: key '%s' has the wrong type; expected %s", where, s->key,
                        type_name(s->type));
}

int t2_settings_parse_config(const t2_setting *table, int n, const char *text, const char *path,
                             t2_error *err) {
    config_t cfg;
    config_init(&cfg);
    int status = 0;
    if (config_read_string(&cfg, text) != CONFIG_TRUE) {
        status = t2_error_set(err, "%s:%d: %s; expected a libconfig file (key = value;)", path,
                              config_error_line(&cfg), config_error_text(&cfg));
        config_destroy(&cfg);
        return status;
    }
    config_setting_t *root = config_root_setting(&cfg);
    int count = config_setting_length(root);
    for (int i = 0; i < count && status == 0; i++) {
        config_setting_t *item = config_setting_get_elem(root, (unsigned)i);
        char where[512];
        snprintf(where, sizeof where, "%s:%d", path, config_setting_source_line(item));
        const char *name = config_setting_name(item);
        const t2_setting *s = find_key(table, n, name);
        if (s == NULL) {
            status = t2_error_set(err, "%s: unknown key '%s'; expected one of the keys "
                                  "the command's --help lists", where, name);
            break;
        }
        status = store_config_value(s, item, text, where, err);
    }
    config_destroy(&cfg);
    return status;
}

/* "--max-new-tokens" -> "max_new_tokens" (into buf); returns 1 for a "--no-" prefix. */
static int flag_to_key(const char *flag, char *buf, size_t size) {
    const char *name = flag + 2;
    int negated = strncmp(name, "no-", 3) == 0;
    snprintf(buf, size, "%s", name);
    for (char *c = buf; *c; c++)
        if (*c == '-') *c = '_';
    return negated;
}

int t2_settings_apply_flag(const t2_setting *table, int n, const char *flag, const char *value,
                           t2_error *err) {
    char key[128];
    if (strncmp(flag, "--", 2) != 0) return t2_error_set(err, "unexpected argument '%s'", flag);
    int negated = flag_to_key(flag, key, sizeof key);
    const t2_setting *s = find_key(table, n, key);
    if (s == NULL && negated) {
        s = find_key(table, n, key + 3);
        if (s != NULL && s->type == T2_SETTING_BOOL) {
            *(int *)s->value = 0;
            return 0;
        }
    }
    if (s == NULL) return t2_error_set(err, "unknown option '%s'", flag);
    if (s->type == T2_SETTING_BOOL) {
        *(int *)s->value = 1;
        return 0;
    }
    if (value == NULL) return t2_error_set(err, "%s: missing value; expected %s", flag, type_name(s->type));
    char *end = NULL;
    errno = 0;
    if (s->type == T2_SETTING_STRING) {
        set_string(s, value);
        return 1;
    }
    double v = s->type == T2_SETTING_INT ? (double)strtoll(value, &end, 10) : strtod(value, &end);
    if (errno != 0 || end == value || *end != '\0')
        return t2_error_set(err, "%s: '%s' is not valid; expected %s", flag, value, type_name(s->type));
    if (check_range(s, v, flag, err) != 0) return -1;
    if (s->type == T2_SETTING_INT)
        *(int64_t *)s->value = strtoll(value, NULL, 10);
    else
        *(double *)s->value = v;
    return 1;
}

int t2_settings_check_required(const t2_setting *table, int n, t2_error *err) {
    for (int i = 0; i < n; i++) {
        if (!table[i].required || table[i].type != T2_SETTING_STRING) continue;
        if (*(char **)table[i].value != NULL) continue;
        char flag[128];
        snprintf(flag, sizeof flag, "%s", table[i].key);
        for (char *c = flag; *c; c++)
            if (*c == '_') *c = '-';
        return t2_error_set(err, "missing setting '%s'; expected it in the config file or as --%s",
                            table[i].key, flag);
    }
    return 0;
}

void t2_settings_print_help(const t2_setting *table, int n, void *stream) {
    FILE *out = stream;
    for (int i = 0; i < n; i++) {
        const t2_setting *s = &table[i];
        char flag[128];
        snprintf(flag, sizeof flag, "--%s", s->key);
        for (char *c = flag + 2; *c; c++)
            if (*c == '_') *c = '-';
        const char *arg = s->type == T2_SETTING_BOOL ? "" : s->type == T2_SETTING_STRING ? " S"
                          : s->type == T2_SETTING_INT ? " N" : " X";
        char left[160];
        snprintf(left, sizeof left, "%s%s", flag, arg);
        fprintf(out, "  %-26s %s", left, s->help);
        switch (s->type) {
        case T2_SETTING_INT: fprintf(out, " (default %lld)", (long long)*(int64_t *)s->value); break;
        case T2_SETTING_FLOAT: fprintf(out, " (default %g)", *(double *)s->value); break;
        case T2_SETTING_BOOL: fprintf(out, " (default %s)", *(int *)s->value ? "on" : "off"); break;
        case T2_SETTING_STRING:
            if (*(char **)s->value) fprintf(out, " (default %s)", *(char **)s->value);
            else if (s->required) fprintf(out, " (required)");
            break;
        }
        fputc('\n', out);
    }
}

/* value as a libconfig string literal: quoted, with '"' and '\\' escaped; heap. */
static char *quoted(const char *value) {
    char *out = t2_alloc(2 * strlen(value) + 3), *o = out;
    *o++ = '"';
    for (const char *c = value; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\') *o++ = '\\';
        *o++ = *c;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* x in the fewest significant digits (up to 17) that read back as x; heap. */
static char *shortest(double x) {
    for (int digits = 6;; digits++) {
        char *text = t2_strdup_printf("%.*g", digits, x);
        if (digits == 17 || strtod(text, NULL) == x) return text;
        t2_free(text);
    }
}

char *t2_settings_format_config(const t2_setting *table, int n) {
    char *text = t2_strdup("");
    for (int i = 0; i < n; i++) {
        const t2_setting *t = &table[i];
        char *value = NULL;
        switch (t->type) {
        case T2_SETTING_INT: {
            /* libconfig reads integers beyond 32 bits only with the L suffix */
            long long v = *(int64_t *)t->value;
            value = t2_strdup_printf("%lld%s", v, v > INT32_MAX || v < INT32_MIN ? "L" : "");
            break;
        }
        case T2_SETTING_FLOAT: value = shortest(*(double *)t->value); break;
        case T2_SETTING_BOOL: value = t2_strdup(*(int *)t->value ? "true" : "false"); break;
        case T2_SETTING_STRING: {
            const char *v = *(char **)t->value;
            if (v != NULL) value = quoted(v);
            break;
        }
        }
        if (value == NULL) continue;
        char *longer = t2_strdup_printf("%s%s = %s;\n", text, t->key, value);
        t2_free(value);
        t2_free(text);
        text = longer;
    }
    return text;
}

void t2_settings_free(const t2_setting *table, int n) {
    for (int i = 0; i < n; i++) {
        if (table[i].type != T2_SETTING_STRING) continue;
        char **slot = table[i].value;
        t2_free(*slot);
        *slot = NULL;
    }
}

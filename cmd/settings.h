/* Run settings shared by a config file (libconfig) and command-line flags: one table of
 * settings per command describes every key once — its type, range, default and help — and
 * drives both the config parser and the `--key value` flags, so every flag has a config key
 * and the reverse. Keys are flat names with underscores (`max_new_tokens`); the matching flag
 * swaps underscores for dashes (`--max-new-tokens`). */
#ifndef T2_CMD_SETTINGS_H
#define T2_CMD_SETTINGS_H

#include <stdint.h>

#include "base/error.h"

typedef enum t2_setting_type {
    T2_SETTING_INT = 0,    /* int64_t */
    T2_SETTING_FLOAT = 1,  /* double */
    T2_SETTING_BOOL = 2,   /* int, 0 or 1 */
    T2_SETTING_STRING = 3, /* char *, heap (freed by t2_settings_free) */
} t2_setting_type;

typedef struct t2_setting {
    const char *key;       /* config key; flag is "--" + key with '_' -> '-' */
    t2_setting_type type;
    void *value;           /* int64_t*, double*, int* or char** in the caller's struct */
    double min, max;       /* allowed range for INT and FLOAT (inclusive) */
    int required;          /* STRING only: must be set by the file or a flag */
    const char *help;      /* one line, for --help and docs */
} t2_setting;

/* Parses libconfig text (the file's bytes; `path` for messages) into the table's values.
 * Unknown keys, wrong types, out-of-range values: -1 with err = "<path>:<line>: ...; expected ...".
 * Settings absent from the file keep their current (default) values. */
int t2_settings_parse_config(const t2_setting *table, int n, const char *text, const char *path,
                             t2_error *err);

/* Applies one flag ("--max-new-tokens", value) to the table; -1 with err for an unknown flag or
 * a bad value. Boolean flags take no value: `value` is NULL, and "--no-key" sets 0. Returns 1
 * when the flag consumed `value`, 0 when it did not (booleans). */
int t2_settings_apply_flag(const t2_setting *table, int n, const char *flag, const char *value,
                           t2_error *err);

/* Checks that every required setting has a value; -1 with err naming the key and flag. */
int t2_settings_check_required(const t2_setting *table, int n, t2_error *err);

/* Prints the table as help lines ("  --key VALUE   help (default ...)"). */
void t2_settings_print_help(const t2_setting *table, int n, void *stream);

/* The table's current values as libconfig text, one "key = value;" line each (unset strings
 * left out), that t2_settings_parse_config reads back to the same values; heap (t2_free). */
char *t2_settings_format_config(const t2_setting *table, int n);

/* Frees the heap strings the table's STRING values hold and zeroes those pointers. */
void t2_settings_free(const t2_setting *table, int n);

#endif

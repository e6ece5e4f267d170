/* t2_error: the one-line error a failing call hands back to its caller.
 *
 * Convention (STYLE.md): functions that can fail on input return 0 on success and a negative
 * status on failure, after filling the caller's t2_error with one line of the form
 * "<file or key>: <what is wrong>; expected <what>". Only cmd/ prints it. */
#ifndef T2_BASE_ERROR_H
#define T2_BASE_ERROR_H

#include <stddef.h>

enum { T2_ERROR_MAX = 1024 };

typedef struct t2_error {
    char msg[T2_ERROR_MAX]; /* NUL-terminated; empty when no error was set */
} t2_error;

/* Fills err (may be NULL) with the formatted line and returns -1, so that callers can write
 * `return t2_error_set(err, "...")`. */
int t2_error_set(t2_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes err's existing line with "prefix: " (for adding the file name). Returns -1. */
int t2_error_prefix(t2_error *err, const char *prefix);

#endif

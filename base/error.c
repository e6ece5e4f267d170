/* One-line errors (see error.h). */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int t2_error_set(t2_error *err, const char *fmt, ...) {
    if (err == NULL) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int t2_error_prefix(t2_error *err, const char *prefix) {
    if (err == NULL) return -1;
    char tmp[T2_ERROR_MAX];
    snprintf(tmp, sizeof tmp, "%s: %s", prefix, err->msg);
    memcpy(err->msg, tmp, sizeof tmp);
    return -1;
}

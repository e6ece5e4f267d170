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
    size_t plen = strlen(prefix) + 2, mlen = strlen(err->msg);
    if (plen >= sizeof err->msg) plen = sizeof err->msg - 1;
    if (plen + mlen >= sizeof err->msg) mlen = sizeof err->msg - 1 - plen;
    memmove(err->msg + plen, err->msg, mlen);
    memcpy(err->msg, prefix, plen - 2);
    err->msg[plen - 2] = ':';
    err->msg[plen - 1] = ' ';
    err->msg[plen + mlen] = '\0';
    return -1;
}

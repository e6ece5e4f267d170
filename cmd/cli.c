/* Subcommand error output and flag-value parsing (see cli.h). */
#include "cmd/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void vprint_error(const char *command, const char *fmt, va_list ap) {
    fprintf(stderr, "t2 %s: error: ", command);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int t2_cli_fail(const char *command, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprint_error(command, fmt, ap);
    va_end(ap);
    return T2_EXIT_FAILURE;
}

int t2_cli_fail_error(const char *command, const t2_error *err) {
    return t2_cli_fail(command, "%s", err->msg);
}

int t2_cli_usage(const char *command, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprint_error(command, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 't2 %s --help'.\n", command);
    return T2_EXIT_USAGE;
}

int t2_cli_parse_int(const char *flag, const char *text, int64_t min, int64_t max, int64_t *out,
                     t2_error *err) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return t2_error_set(err, "--%s: '%s' is not valid; expected an integer in [%lld, %lld]",
                            flag, text, (long long)min, (long long)max);
    *out = v;
    return 0;
}

int t2_cli_parse_float(const char *flag, const char *text, double min, double max, double *out,
                       t2_error *err) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v) || v < min || v > max)
        return t2_error_set(err, "--%s: '%s' is not valid; expected a number in [%g, %g]", flag,
                            text, min, max);
    *out = v;
    return 0;
}

/* Shared pieces of the subcommands: error reporting in the one format users see, and
 * checked parsing of numeric flag values. */
#ifndef T2_CMD_CLI_H
#define T2_CMD_CLI_H

#include <stdint.h>

#include "base/error.h"

/* A fourth status, T2_STOP_SIGNAL_EXIT (dist/stop_signal.h), is not an error. */
enum { T2_EXIT_OK = 0, T2_EXIT_FAILURE = 1, T2_EXIT_USAGE = 2 };

/* Prints "t2 <command>: error: <message>" to stderr; returns T2_EXIT_FAILURE. */
int t2_cli_fail(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a filled t2_error. */
int t2_cli_fail_error(const char *command, const t2_error *err);
/* Prints the usage error and a pointer to --help; returns T2_EXIT_USAGE. */
int t2_cli_usage(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a flag's value; on a malformed or out-of-range value fills err with
 * "--<flag>: '<text>' is not ...; expected ..." and returns -1. */
int t2_cli_parse_int(const char *flag, const char *text, int64_t min, int64_t max, int64_t *out,
                     t2_error *err);
int t2_cli_parse_float(const char *flag, const char *text, double min, double max, double *out,
                       t2_error *err);

#endif

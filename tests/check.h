/* Minimal checking for test executables. A failing check prints what it compared (and, for
 * arrays, the first mismatches and the worst error) and marks the test failed; the test's
 * main returns t2_check_exit_code(). */
#ifndef T2_TESTS_CHECK_H
#define T2_TESTS_CHECK_H

#include <stdint.h>

/* Reports a failure when cond is false. A macro so the message carries file:line; behaves as
 * one statement. */
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) t2_check_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                \
    } while (0)

void t2_check_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Compares n floats: passes when |got - want| <= abs_tol + rel_tol * |want| everywhere.
 * Prints the first 5 mismatches and the worst error. Returns 1 when equal within tolerance. */
int t2_check_close(const char *what, const float *got, const float *want, int64_t n,
                   double abs_tol, double rel_tol);
int t2_check_close_double(const char *what, const double *got, const double *want, int64_t n,
                          double abs_tol, double rel_tol);

/* 0 when every check passed, 1 otherwise; prints a summary line. */
int t2_check_exit_code(void);

/* A fresh empty directory under $TMPDIR (or /tmp) for the test's files: heap string (free). */
char *t2_check_temp_dir(const char *tag);

/* Removes dir and everything under it (a temp dir's files at the test's end); 0, or -1 when
 * something could not be removed. */
int t2_check_remove_tree(const char *dir);

/* Path of a file in the source tree ($T2_SOURCE_DIR/rel), heap string (free). */
char *t2_check_source_path(const char *rel);

/* The number of entries of dir other than . and .. (0 when it cannot be read). */
int t2_check_count_entries(const char *dir);

/* A non-blocking TCP server listening on 127.0.0.1 (a program that escaped its sandbox would
 * reach it): its socket, its port in *port; -1 (a failed check) when it cannot be opened. */
int t2_check_local_server(int *port);

/* 1 when a connection reached server since it opened (then closed), else 0; closes server. */
int t2_check_local_server_reached(int server);

#endif

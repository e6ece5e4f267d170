/* Whole-file reading and atomic writing. */
#ifndef T2_BASE_FILE_H
#define T2_BASE_FILE_H

#include <stddef.h>

#include "base/error.h"

/* Reads the whole file at path into a NUL-terminated heap buffer (*out, freed with t2_free) of
 * *len bytes (the NUL not counted). Path "-" reads standard input. On failure returns -1, sets
 * err to "<path>: <reason>" and leaves *out NULL. */
int t2_file_read(const char *path, char **out, size_t *len, t2_error *err);

/* An atomic write: data goes to "<path>.tmp.<pid>", is fsync'ed, then renamed over path.
 * A crash at any point leaves either the old file or the complete new one. */
typedef struct t2_atomic_file {
    void *stream;     /* FILE*, open for writing while in progress */
    char *path;       /* final path */
    char *temp_path;  /* temporary path in the same directory */
} t2_atomic_file;

int t2_atomic_file_open(t2_atomic_file *f, const char *path, t2_error *err);
int t2_atomic_file_write(t2_atomic_file *f, const void *data, size_t len, t2_error *err);
/* Flushes, fsyncs and renames into place. On failure the temp file is removed. */
int t2_atomic_file_commit(t2_atomic_file *f, t2_error *err);
/* Abandons the write: removes the temp file. Safe on a zeroed or committed object. */
void t2_atomic_file_abort(t2_atomic_file *f);

/* Writes len bytes to path atomically in one call. */
int t2_file_write_atomic(const char *path, const void *data, size_t len, t2_error *err);

#endif

/* Whole-file reading, atomic writing, line appending, and the write-failure test hook.
 *
 * Every file t2 writes whole (experts, bundles, checkpoints, models, reports) goes through the
 * atomic writer: the bytes go to "<path>.tmp.<pid>" beside path, are fsync'ed, and the temp
 * file is renamed over path, so path holds either its old content or the complete new one.
 * A writer killed on the way (SIGKILL, a node failure) leaves its temp file behind; such a
 * file is never read as output (readers only open path), and the next write of the same path
 * removes it (t2_file_remove_stale_temps). Metrics lines are appended (t2_append_file): a
 * line is written whole or, when the write fails, the file is cut back to the lines before.
 * Not here: what the files hold (their modules), MPI (one process writes each file). */
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

/* Removes stale temp files of path first (t2_file_remove_stale_temps), then creates this
 * process's. 0, or -1 with err "<path>: cannot write: <reason>" and f zeroed. */
int t2_atomic_file_open(t2_atomic_file *f, const char *path, t2_error *err);
/* 0, or -1 with err "<path>: write failed: <reason>" (the temp file stays until commit or
 * abort). */
int t2_atomic_file_write(t2_atomic_file *f, const void *data, size_t len, t2_error *err);
/* Flushes, fsyncs and renames into place. On failure the temp file is removed and path is
 * untouched. */
int t2_atomic_file_commit(t2_atomic_file *f, t2_error *err);
/* Abandons the write: removes the temp file. Safe on a zeroed or committed object. */
void t2_atomic_file_abort(t2_atomic_file *f);

/* Writes len bytes to path atomically in one call. On failure path is untouched and no temp
 * file is left. */
int t2_file_write_atomic(const char *path, const void *data, size_t len, t2_error *err);

/* Removes the temp files "<path>.tmp.<pid>" of writers that are gone: <pid> all digits, not
 * this process, and no live process with that id on this host (kill(pid, 0) fails with
 * ESRCH, or /proc says it is a zombie).
 * Others are left alone (a live writer's, or one of another host on a shared file system,
 * which is then ignored: nothing reads temp files). Best effort, never fails. */
void t2_file_remove_stale_temps(const char *path);

/* A file of lines that grows by appends (metrics). Each line reaches the file whole or not
 * at all: a failed write cuts the file back to its length before the line. */
typedef struct t2_append_file {
    int fd;      /* valid while path != NULL */
    char *path;  /* NULL when closed */
} t2_append_file;

/* Opens path for appending, created if missing; truncate != 0 empties it first.
 * 0, or -1 with err "<path>: cannot write: <reason>; expected a writable path". */
int t2_append_file_open(t2_append_file *f, const char *path, int truncate, t2_error *err);
/* Appends the len bytes of line (which should end in '\n') with one write. 0, or -1 with err
 * "<path>: cannot append a line: <reason>" and the file as it was before the call. */
int t2_append_file_line(t2_append_file *f, const char *line, size_t len, t2_error *err);
/* Closes; safe on a zeroed or closed file. */
void t2_append_file_close(t2_append_file *f);

/* Test hook: write-failure injection, as a full disk gives. The environment variable
 * T2_FAULT_WRITE_AFTER=<bytes> (read once per process) lets the writers above, and the
 * decomposition store's writer, write that many bytes in all and then fail with ENOSPC ("No
 * space left on device"), after a partial write. T2_FAULT_WRITE_MATCH=<text>, when set,
 * limits the count and the failure to files whose final path contains <text>. Unset or not a
 * number: no effect. For the fault tests (tests/test_faults.sh), not a user setting.
 * Returns how many of the len bytes about to be written to path may be written; when less
 * than len the caller writes those and fails with errno ENOSPC. Thread-safe. */
size_t t2_file_fault_allow(const char *path, size_t len);

#endif

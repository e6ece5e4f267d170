/* Whole-file reading and atomic (temp, fsync, rename) writing. */
#include "base/file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"

int t2_file_read(const char *path, char **out, size_t *len, t2_error *err) {
    *out = NULL;
    *len = 0;
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (f == NULL) return t2_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = t2_realloc(NULL, cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = t2_realloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int failed = ferror(f);
    if (!is_stdin) fclose(f);
    if (failed) {
        t2_free(buf);
        return t2_error_set(err, "%s: read error", path);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int t2_atomic_file_open(t2_atomic_file *f, const char *path, t2_error *err) {
    memset(f, 0, sizeof *f);
    size_t n = strlen(path) + 32;
    f->path = t2_strdup(path);
    f->temp_path = t2_alloc(n);
    snprintf(f->temp_path, n, "%s.tmp.%ld", path, (long)getpid());
    f->stream = fopen(f->temp_path, "wb");
    if (f->stream == NULL) {
        int e = errno;
        t2_atomic_file_abort(f);
        return t2_error_set(err, "%s: cannot write: %s", path, strerror(e));
    }
    return 0;
}

int t2_atomic_file_write(t2_atomic_file *f, const void *data, size_t len, t2_error *err) {
    if (len && fwrite(data, 1, len, f->stream) != len)
        return t2_error_set(err, "%s: write failed: %s", f->path, strerror(errno));
    return 0;
}

int t2_atomic_file_commit(t2_atomic_file *f, t2_error *err) {
    FILE *s = f->stream;
    int ok = fflush(s) == 0 && fsync(fileno(s)) == 0;
    int e = errno;
    ok = (fclose(s) == 0) && ok;
    f->stream = NULL;
    if (ok && rename(f->temp_path, f->path) != 0) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        t2_error_set(err, "%s: write failed: %s", f->path, strerror(e));
        t2_atomic_file_abort(f);
        return -1;
    }
    t2_free(f->path);
    t2_free(f->temp_path);
    memset(f, 0, sizeof *f);
    return 0;
}

void t2_atomic_file_abort(t2_atomic_file *f) {
    if (f->stream != NULL) fclose(f->stream);
    if (f->temp_path != NULL) unlink(f->temp_path);
    t2_free(f->path);
    t2_free(f->temp_path);
    memset(f, 0, sizeof *f);
}

int t2_file_write_atomic(const char *path, const void *data, size_t len, t2_error *err) {
    t2_atomic_file f;
    if (t2_atomic_file_open(&f, path, err) != 0) return -1;
    if (t2_atomic_file_write(&f, data, len, err) != 0) {
        t2_atomic_file_abort(&f);
        return -1;
    }
    return t2_atomic_file_commit(&f, err);
}

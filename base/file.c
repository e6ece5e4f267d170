/* Whole-file reading, atomic (temp, fsync, rename) writing, line appending, the removal of
 * temp files left by killed writers, and the write-failure test hook (see file.h). */
#include "base/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
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

/* ---- the write-failure hook ---- */

static pthread_once_t fault_once = PTHREAD_ONCE_INIT;
static int fault_on;             /* T2_FAULT_WRITE_AFTER is set to a number */
static uint64_t fault_budget;    /* bytes the process may still write to matching files */
static const char *fault_match;  /* T2_FAULT_WRITE_MATCH, or NULL */
static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;

static void fault_read_env(void) {
    const char *text = getenv("T2_FAULT_WRITE_AFTER");
    if (text == NULL || text[0] == '\0') return;
    char *end = NULL;
    errno = 0;
    unsigned long long bytes = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || text[0] == '-') return;
    fault_on = 1;
    fault_budget = bytes;
    const char *match = getenv("T2_FAULT_WRITE_MATCH");
    fault_match = match != NULL && match[0] != '\0' ? match : NULL;
}

size_t t2_file_fault_allow(const char *path, size_t len) {
    pthread_once(&fault_once, fault_read_env);
    if (!fault_on || (fault_match != NULL && strstr(path, fault_match) == NULL)) return len;
    pthread_mutex_lock(&fault_lock);
    size_t allowed = fault_budget < len ? (size_t)fault_budget : len;
    fault_budget -= allowed;
    pthread_mutex_unlock(&fault_lock);
    return allowed;
}

/* fwrite through the hook: 0 when all len bytes were written, else -1 with errno set. */
static int stream_write(FILE *stream, const char *path, const void *data, size_t len) {
    size_t allowed = t2_file_fault_allow(path, len);
    if (allowed > 0 && fwrite(data, 1, allowed, stream) != allowed) return -1;
    if (allowed < len) {
        errno = ENOSPC;
        return -1;
    }
    return 0;
}

/* ---- stale temp files ---- */

/* Whether process pid is gone: no such process, or a zombie (its parent gone and not reaped:
 * a killed MPI rank's orphan, where PID 1 does not reap, still answers kill(pid, 0)). */
static int process_gone(long pid) {
    if (kill((pid_t)pid, 0) != 0) return errno == ESRCH;
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *paren = strrchr(stat, ')'); /* "pid (comm) S ...": comm may hold spaces */
    return paren != NULL && (paren[1] == ' ') && (paren[2] == 'Z' || paren[2] == 'X');
}

void t2_file_remove_stale_temps(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    size_t dir_len = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = dir_len > 0 ? t2_alloc(dir_len + 1) : t2_strdup(".");
    if (dir_len > 0) {
        memcpy(dir, path, dir_len);
        dir[dir_len] = '\0';
    }
    size_t prefix_len = strlen(base) + 5; /* "<base>.tmp." */
    char *prefix = t2_alloc(prefix_len + 1);
    snprintf(prefix, prefix_len + 1, "%s.tmp.", base);
    DIR *d = base[0] != '\0' ? opendir(dir) : NULL;
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        const char *id = e->d_name + prefix_len;
        if (strncmp(e->d_name, prefix, prefix_len) != 0 || id[0] == '\0' ||
            strspn(id, "0123456789") != strlen(id) || strlen(id) > 9)
            continue;
        long pid = strtol(id, NULL, 10);
        if (pid <= 0 || pid == (long)getpid() || !process_gone(pid)) continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *stale = t2_alloc(n);
        snprintf(stale, n, "%s/%s", dir, e->d_name);
        unlink(stale);
        t2_free(stale);
    }
    if (d != NULL) closedir(d);
    t2_free(prefix);
    t2_free(dir);
}

/* ---- atomic files ---- */

int t2_atomic_file_open(t2_atomic_file *f, const char *path, t2_error *err) {
    memset(f, 0, sizeof *f);
    t2_file_remove_stale_temps(path);
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
    if (len && stream_write(f->stream, f->path, data, len) != 0)
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

/* ---- appended lines ---- */

int t2_append_file_open(t2_append_file *f, const char *path, int truncate, t2_error *err) {
    memset(f, 0, sizeof *f);
    f->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0),
                 0666);
    if (f->fd < 0)
        return t2_error_set(err, "%s: cannot write: %s; expected a writable path", path,
                            strerror(errno));
    f->path = t2_strdup(path);
    return 0;
}

int t2_append_file_line(t2_append_file *f, const char *line, size_t len, t2_error *err) {
    struct stat before;
    if (fstat(f->fd, &before) != 0)
        return t2_error_set(err, "%s: cannot append a line: %s", f->path, strerror(errno));
    size_t allowed = t2_file_fault_allow(f->path, len), done = 0;
    int e = 0;
    while (done < allowed) {
        ssize_t n = write(f->fd, line + done, allowed - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            e = n < 0 ? errno : EIO;
            break;
        }
        done += (size_t)n;
    }
    if (e == 0 && done < len) e = ENOSPC;
    if (e == 0) return 0;
    /* no partial line: back to the lines before this one */
    if (done > 0 && ftruncate(f->fd, before.st_size) != 0)
        return t2_error_set(err, "%s: cannot append a line: %s, and cannot remove its first "
                            "%zu bytes: %s", f->path, strerror(e), done, strerror(errno));
    return t2_error_set(err, "%s: cannot append a line: %s", f->path, strerror(e));
}

void t2_append_file_close(t2_append_file *f) {
    if (f->path != NULL) close(f->fd);
    t2_free(f->path);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

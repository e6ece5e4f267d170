/* base/background_flush: data marked while the thread runs is on the file after stop, a
 * failing fdatasync is reported by stop (a pipe, where fdatasync fails with EINVAL), and stop
 * is safe on a never-started value and a second time. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/background_flush.h"
#include "check.h"

enum { CHUNKS = 64, CHUNK = 4096 };

static void check_file(void) {
    char *dir = t2_check_temp_dir("background-flush");
    char *path = t2_strdup_printf("%s/data", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0, "cannot create %s", path);
    t2_background_flush f;
    t2_background_flush_start(&f, fd);
    char block[CHUNK];
    for (int c = 0; c < CHUNKS; c++) {
        memset(block, 'a' + c % 26, sizeof block);
        CHECK(pwrite(fd, block, sizeof block, (off_t)c * CHUNK) == CHUNK, "write %d", c);
        t2_background_flush_mark(&f);
    }
    CHECK(t2_background_flush_stop(&f) == 0, "a flush of a regular file failed");
    CHECK(t2_background_flush_stop(&f) == 0, "a second stop is not a no-op");
    for (int c = 0; c < CHUNKS; c++) {
        CHECK(pread(fd, block, sizeof block, (off_t)c * CHUNK) == CHUNK, "read %d", c);
        CHECK(block[0] == 'a' + c % 26 && block[CHUNK - 1] == 'a' + c % 26, "chunk %d", c);
    }
    close(fd);
    unlink(path);
    rmdir(dir);
    t2_free(path);
    t2_free(dir);
}

static void check_failure(void) {
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    t2_background_flush f;
    t2_background_flush_start(&f, fds[1]);
    CHECK(write(fds[1], "x", 1) == 1, "write to the pipe");
    t2_background_flush_mark(&f);
    /* the thread may not have flushed yet when stop comes: mark until it has */
    for (int tries = 0; tries < 1000; tries++) {
        pthread_mutex_lock(&f.lock);
        int seen = f.error;
        pthread_mutex_unlock(&f.lock);
        if (seen != 0) break;
        usleep(1000);
        t2_background_flush_mark(&f);
    }
    int error = t2_background_flush_stop(&f);
    CHECK(error == EINVAL, "stop returned %d (%s); expected EINVAL from fdatasync on a pipe",
          error, strerror(error));
    close(fds[0]);
    close(fds[1]);
}

int main(void) {
    t2_background_flush never;
    memset(&never, 0, sizeof never);
    CHECK(t2_background_flush_stop(&never) == 0, "stop on a never-started flusher");
    check_file();
    check_failure();
    return t2_check_exit_code();
}

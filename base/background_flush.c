/* The flusher thread (see background_flush.h). */
#include "base/background_flush.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/assert.h"

static void *flush_loop(void *arg) {
    t2_background_flush *f = arg;
    pthread_mutex_lock(&f->lock);
    for (;;) {
        while (!f->dirty && !f->stopping) pthread_cond_wait(&f->wake, &f->lock);
        if (f->stopping) break;
        f->dirty = 0;
        pthread_mutex_unlock(&f->lock);
        int failed = fdatasync(f->fd) != 0 ? errno : 0;
        pthread_mutex_lock(&f->lock);
        if (failed != 0 && f->error == 0) f->error = failed;
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

void t2_background_flush_start(t2_background_flush *f, int fd) {
    memset(f, 0, sizeof *f);
    f->fd = fd;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->wake, NULL);
    T2_ASSERT(pthread_create(&f->thread, NULL, flush_loop, f) == 0);
    f->running = 1;
}

void t2_background_flush_mark(t2_background_flush *f) {
    if (!f->running) return;
    pthread_mutex_lock(&f->lock);
    f->dirty = 1;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

int t2_background_flush_stop(t2_background_flush *f) {
    if (!f->running) return 0;
    pthread_mutex_lock(&f->lock);
    f->stopping = 1;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    int error = f->error;
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->wake);
    memset(f, 0, sizeof *f);
    f->fd = -1;
    return error;
}

/* A thread that makes a file's written data durable while its writer goes on working: after
 * each t2_background_flush_mark it calls fdatasync on the file, so the data reaches the disk
 * in the background and a final fsync finds little left to do. (On this project's VM the
 * fsync of a 9.4 MB store whose writes had merely been started took 13-16 ms; after
 * fdatasyncs every megabyte it took 1 ms.) */
#ifndef T2_BASE_BACKGROUND_FLUSH_H
#define T2_BASE_BACKGROUND_FLUSH_H

#include <pthread.h>

typedef struct t2_background_flush {
    int fd;            /* borrowed; must stay open until t2_background_flush_stop */
    int running;       /* the thread was started */
    int dirty;         /* data written since the thread's last fdatasync began (under lock) */
    int stopping;      /* (under lock) */
    int error;         /* errno of the first failed fdatasync, 0 if none (under lock) */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
} t2_background_flush;

/* Starts the thread for fd. */
void t2_background_flush_start(t2_background_flush *f, int fd);
/* Data was written to fd: flush it soon. Cheap; never blocks on the disk. */
void t2_background_flush_mark(t2_background_flush *f);
/* Stops the thread, after the fdatasync under way if any (what was written after it is left
 * to the caller's own fsync). Returns the errno of the first failed fdatasync, 0 if none.
 * Safe on a zeroed, never-started value, and more than once. */
int t2_background_flush_stop(t2_background_flush *f);

#endif

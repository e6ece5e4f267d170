/* model/worker_pool.h: a run splits [0, n) into the same contiguous parts for every n and
 * thread count, each element once; t2_worker_pool_run_aside runs its function once, on
 * another thread, and the OpenMP workers that thread's regions started are gone when it
 * returns, where regions run on the calling thread leave theirs alive (the check can fail). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "model/worker_pool.h"

enum { N_MAX = 100 };

typedef struct marks {
    int count[N_MAX];
    int part_of[N_MAX];
} marks;

static void mark(void *ctx, int64_t begin, int64_t end, int worker) {
    marks *m = ctx;
    for (int64_t i = begin; i < end; i++) {
        m->count[i]++;
        m->part_of[i] = worker;
    }
}

static void check_split(void) {
    for (int threads = 1; threads <= 3; threads++) {
        t2_worker_pool *p = t2_worker_pool_new(threads);
        for (int64_t n = 0; n <= N_MAX; n += 7) {
            marks m;
            memset(&m, 0, sizeof m);
            t2_worker_pool_run(p, n, mark, &m);
            for (int64_t i = 0; i < n; i++) {
                int want = 0; /* part k holds [n k / threads, n (k + 1) / threads) */
                while (n > 1 && i >= n * (want + 1) / threads) want++;
                CHECK(m.count[i] == 1 && m.part_of[i] == want,
                      "threads %d, n %lld: element %lld ran %d times in part %d; expected once "
                      "in part %d", threads, (long long)n, (long long)i, m.count[i],
                      m.part_of[i], want);
            }
        }
        t2_worker_pool_free(p);
    }
}

/* The process's thread count (/proc/self/status), or -1. */
static int threads_now(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "Threads: %d", &n) == 1) break;
    fclose(f);
    return n;
}

/* Waits up to 5 s for the thread count to fall to at most `most`; the count then. */
static int threads_settle(int most) {
    int n = threads_now();
    for (int i = 0; i < 500 && n > most; i++) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
        n = threads_now();
    }
    return n;
}

typedef struct aside {
    pthread_t caller, ran_on;
    int runs, threads_inside;
} aside;

static void regions(void *ctx) {
    aside *a = ctx;
    a->ran_on = pthread_self();
    a->runs++;
    t2_worker_pool *p = t2_worker_pool_new(2);
    marks m;
    memset(&m, 0, sizeof m);
    t2_worker_pool_run(p, N_MAX, mark, &m); /* an OpenMP region of 2 threads */
    t2_worker_pool_free(p);
    a->threads_inside = threads_now();
}

static void check_aside(void) {
    int before = threads_now();
    CHECK(before >= 1, "/proc/self/status: no Threads line");
    aside a = {.caller = pthread_self()};
    CHECK(t2_worker_pool_run_aside(regions, &a) == 0, "run_aside: returned -1");
    CHECK(a.runs == 1 && !pthread_equal(a.ran_on, a.caller),
          "run_aside: fn ran %d times, %s the calling thread; expected once, on another",
          a.runs, pthread_equal(a.ran_on, a.caller) ? "on" : "not on");
    CHECK(a.threads_inside >= before + 2, "inside: %d threads; expected at least %d (the "
          "thread aside and an OpenMP worker)", a.threads_inside, before + 2);
    int after = threads_settle(before);
    CHECK(after == before, "after run_aside: %d threads; expected the %d before (its OpenMP "
          "workers gone with it)", after, before);
    /* the same regions on this thread leave their worker alive: what run_aside is for */
    regions(&a);
    int kept = threads_now();
    CHECK(kept > before, "regions on the calling thread: %d threads after; expected more than "
          "%d (libgomp keeps this thread's workers)", kept, before);
}

int main(void) {
    check_aside(); /* first: no OpenMP worker of this thread's yet */
    check_split();
    return t2_check_exit_code();
}

/* The trainer's worker threads for the work between GEMMs (elementwise kernels, attention):
 * a fork-join pool of n_threads - 1 pthreads plus the calling thread. Each run splits an
 * index range [0, n) into n_threads contiguous parts, always the same split for the same n
 * and thread count, so results are reproducible. Workers sleep on a condition variable
 * between runs (they never spin, so they do not compete with BLIS's own threads during the
 * GEMMs). Does not: balance load dynamically, or nest runs. */
#include <pthread.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "model/train_impl.h"

struct t2_train_pool {
    int n_threads;
    pthread_t *threads;     /* [n_threads - 1] */
    pthread_mutex_t mutex;
    pthread_cond_t start;   /* a new run (or stop) was posted */
    pthread_cond_t done;    /* the last worker finished its part */
    uint64_t generation;    /* runs posted so far */
    int pending;            /* workers still busy with the current run */
    int stop;
    t2_train_pool_fn fn;    /* the current run */
    void *ctx;
    int64_t n;
};

typedef struct worker_arg {
    t2_train_pool *pool;
    int index; /* 1 .. n_threads - 1; the caller is 0 */
} worker_arg;

static void run_part(t2_train_pool_fn fn, void *ctx, int64_t n, int parts, int index) {
    int64_t begin = n * index / parts, end = n * (index + 1) / parts;
    if (begin < end) fn(ctx, begin, end, index);
}

static void *worker_main(void *arg) {
    worker_arg *w = arg;
    t2_train_pool *p = w->pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mutex);
    for (;;) {
        while (p->generation == seen && !p->stop) pthread_cond_wait(&p->start, &p->mutex);
        if (p->stop) break;
        seen = p->generation;
        t2_train_pool_fn fn = p->fn;
        void *ctx = p->ctx;
        int64_t n = p->n;
        pthread_mutex_unlock(&p->mutex);
        run_part(fn, ctx, n, p->n_threads, w->index);
        pthread_mutex_lock(&p->mutex);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mutex);
    t2_free(w);
    return NULL;
}

t2_train_pool *t2_train_pool_new(int n_threads) {
    T2_ASSERT(n_threads >= 1);
    t2_train_pool *p = t2_alloc_zero(sizeof *p);
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = t2_alloc_array((size_t)n_threads, sizeof *p->threads);
    for (int i = 1; i < n_threads; i++) {
        worker_arg *w = t2_alloc(sizeof *w);
        *w = (worker_arg){p, i};
        T2_ASSERT(pthread_create(&p->threads[i - 1], NULL, worker_main, w) == 0);
    }
    return p;
}

void t2_train_pool_free(t2_train_pool *p) {
    if (p == NULL) return;
    pthread_mutex_lock(&p->mutex);
    p->stop = 1;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mutex);
    for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i - 1], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->start);
    pthread_mutex_destroy(&p->mutex);
    t2_free(p->threads);
    t2_free(p);
}

int t2_train_pool_threads(const t2_train_pool *p) { return p->n_threads; }

void t2_train_pool_run(t2_train_pool *p, int64_t n, t2_train_pool_fn fn, void *ctx) {
    if (p->n_threads == 1 || n <= 1) {
        if (n > 0) fn(ctx, 0, n, 0);
        return;
    }
    pthread_mutex_lock(&p->mutex);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->pending = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mutex);
    run_part(fn, ctx, n, p->n_threads, 0);
    pthread_mutex_lock(&p->mutex);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mutex);
    pthread_mutex_unlock(&p->mutex);
}

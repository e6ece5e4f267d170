/* Worker threads for the work between GEMMs (elementwise kernels, the trainer's attention):
 * OpenMP parallel regions of n_threads threads. OpenMP is the runtime BLIS's own threads run
 * on (Debian's libblis is the OpenMP build), so a region here reuses the very threads that
 * just ran a GEMM — still spinning, they start at once — instead of competing with them for
 * the cores (pthreads of our own measured 15-30 % slower steps on 2 cores for that reason).
 * Each run splits [0, n) into n_threads contiguous parts, always the same split for the same
 * n and thread count, so results do not depend on how OpenMP schedules them; should OpenMP
 * grant fewer threads (a nested region, OMP_THREAD_LIMIT), the parts are shared round-robin.
 * Built with the compiler's OpenMP flag (model/CMakeLists.txt). Does not: balance load
 * dynamically. Also here: t2_worker_pool_run_aside, one-off OpenMP work on a thread that
 * exits, so that its OpenMP workers exit too (worker_pool.h says why). */
#include <omp.h>
#include <pthread.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "model/worker_pool.h"

struct t2_worker_pool {
    int n_threads; /* parts per run, and threads asked of OpenMP */
};

t2_worker_pool *t2_worker_pool_new(int n_threads) {
    T2_ASSERT(n_threads >= 1);
    t2_worker_pool *p = t2_alloc_zero(sizeof *p);
    p->n_threads = n_threads;
    return p;
}

void t2_worker_pool_free(t2_worker_pool *p) { t2_free(p); }

int t2_worker_pool_threads(const t2_worker_pool *p) { return p->n_threads; }

void t2_worker_pool_run(t2_worker_pool *p, int64_t n, t2_worker_pool_fn fn, void *ctx) {
    int parts = p->n_threads;
    if (parts == 1 || n <= 1) {
        if (n > 0) fn(ctx, 0, n, 0);
        return;
    }
#pragma omp parallel num_threads(parts)
    {
        for (int part = omp_get_thread_num(); part < parts; part += omp_get_num_threads()) {
            int64_t begin = n * part / parts, end = n * (part + 1) / parts;
            if (begin < end) fn(ctx, begin, end, part);
        }
    }
}

typedef struct aside_call {
    void (*fn)(void *ctx);
    void *ctx;
} aside_call;

static void *run_aside(void *arg) {
    const aside_call *call = arg;
    call->fn(call->ctx);
    return NULL;
}

int t2_worker_pool_run_aside(void (*fn)(void *ctx), void *ctx) {
    aside_call call = {fn, ctx};
    pthread_t thread;
    if (pthread_create(&thread, NULL, run_aside, &call) != 0) return -1;
    T2_ASSERT(pthread_join(thread, NULL) == 0);
    return 0;
}

/* Worker threads for the work between GEMMs, shared by the trainer (model/train.c) and the
 * inference forward (model/forward.c). */
#ifndef T2_MODEL_WORKER_POOL_H
#define T2_MODEL_WORKER_POOL_H

#include <stdint.h>

/* OpenMP regions of n_threads threads, sharing BLIS's OpenMP threads. A run splits [0, n)
 * into n_threads contiguous parts (the same split for the same n and thread count), calls
 * fn(ctx, begin, end, part) on each, part < n_threads (the index of the part's scratch), and
 * returns when all are done. */
typedef struct t2_worker_pool t2_worker_pool;
typedef void (*t2_worker_pool_fn)(void *ctx, int64_t begin, int64_t end, int worker);
t2_worker_pool *t2_worker_pool_new(int n_threads);
void t2_worker_pool_free(t2_worker_pool *p); /* accepts NULL */
int t2_worker_pool_threads(const t2_worker_pool *p);
void t2_worker_pool_run(t2_worker_pool *p, int64_t n, t2_worker_pool_fn fn, void *ctx);

/* Runs fn(ctx) on a thread of its own and returns when it is done: 0, or -1 when no thread
 * could be started (fn did not run). For OpenMP work (BLIS's GEMMs, pool runs) done once by
 * a thread that is not the one running the steady work afterwards (a server opening its
 * model before its engine thread starts): libgomp keeps a team of workers for every thread
 * that ran a parallel region, for as long as that thread lives; with more of them than
 * cores, every worker sleeps right after each region instead of spinning, and each later
 * region, on any thread, waits for a futex wake (12 -> 64 us a region on 2 cores). The
 * workers of this thread exit with it. */
int t2_worker_pool_run_aside(void (*fn)(void *ctx), void *ctx);

#endif

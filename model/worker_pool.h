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

#endif

/* The attention step of the batched forward (model/forward.h): causal grouped-query
 * attention of a chunk's query rows against the KV cache, on all threads.
 *
 * Each span of a chunk is a run of consecutive query tokens of one sequence.
 *   - Short spans (at most T2_FORWARD_ATTENTION_DECODE_ROWS tokens: decode) go through
 *     linalg/decode_attention.h: every (query token, KV head) pair is cut into blocks of
 *     T2_DECODE_ATTENTION_BLOCK positions; the blocks of all pairs are shared among the
 *     threads, then each pair's blocks are merged in block order. So one sequence decoding
 *     at a long context uses every core, and many sequences at short contexts spread by
 *     (sequence, KV head). Every K and V row is read once per (query token, KV head), for all
 *     query heads sharing that KV head.
 *   - Long spans (prefill) run GEMMs over blocks of 64 query rows, the query heads of a KV
 *     head stacked into one product (scores, masked softmax, weighted values); the
 *     (span, KV head) units are shared among the threads, each unit's GEMMs on one thread
 *     (BLIS with a one-thread runtime).
 * Determinism: how the positions are cut depends on the query's position alone, and each
 * output is merged in a fixed order, so results are bitwise the same for any thread count
 * and any batch the sequence shares.
 * Threads: OpenMP regions of n_threads threads (BLIS's OpenMP runtime: the threads that just
 * ran a GEMM); n_threads starts as t2_blis_threads(). Should OpenMP grant fewer (a nested
 * region), the threads share the same fixed parts round-robin.
 * Memory: allocated at init for max_rows query rows and positions below max_positions;
 * nothing per call. Blocks beyond the parts buffer run in several waves.
 * Does not: write the cache (the forward stores K and V first), apply RoPE or projections.
 * Reference: Hugging Face transformers' LlamaAttention (eager path) for the maths;
 * flash-decoding (Dao et al., 2023) for the split over positions. */
#ifndef T2_MODEL_FORWARD_ATTENTION_H
#define T2_MODEL_FORWARD_ATTENTION_H

#include <stdint.h>

#include "model/config.h"
#include "model/kv_cache.h"
#include "model/worker_pool.h"

/* Spans of at most this many query tokens take the decode kernel. */
enum { T2_FORWARD_ATTENTION_DECODE_ROWS = 8 };

/* A run of consecutive query tokens of one sequence. */
typedef struct t2_forward_attention_span {
    int64_t slot;      /* KV cache slot holding positions [0, first_pos + n) */
    int64_t first_pos; /* position of the first query token */
    int64_t n;         /* query tokens, >= 1 */
    int64_t row;       /* row of the first query token in q and out */
} t2_forward_attention_span;

/* One (query token, KV head) pair of a decode wave (internal bookkeeping). */
typedef struct t2_forward_attention_pair {
    const float *q;     /* group x head_dim query heads */
    const void *k, *v;  /* n_ctx x head_dim cache blocks, in the cache's type */
    float *out;         /* group x head_dim */
    int64_t n_ctx;      /* positions the token sees */
    int64_t first_part; /* its first block's index among the wave's parts */
} t2_forward_attention_pair;

typedef struct t2_forward_attention {
    int64_t n_kv, group, head_dim;  /* KV heads, query heads per KV head, head size */
    int64_t max_rows, max_positions;
    int n_threads;
    int64_t score_rows;             /* query rows per prefill GEMM block */
    float *scores;  /* per thread: a prefill block of a KV head's query heads stacked (Q, O,
                     * scores) */
    int64_t part_floats;            /* floats per part (t2_decode_attention_part_floats) */
    int64_t part_capacity;          /* parts the buffer holds: the largest wave */
    float *parts;                   /* part_capacity x part_floats */
    float *block_scores; /* n_threads x t2_decode_attention_block_scratch_floats(group, head_dim) */
    t2_forward_attention_pair *pairs; /* [max_rows * n_kv]: the current wave */
    int64_t *prefill;                 /* [max_rows]: the indices of the run's prefill spans */
    float *kv_wide; /* n_threads x 2 x max_positions x head_dim: a float16 cache's K and V of
                     * one head, widened for the prefill GEMMs (allocated at first use) */
    t2_worker_pool *pool;           /* the prefill units' threads (and the forward's
                                     * elementwise stages') */
} t2_forward_attention;

/* Prepares the workspace for cfg's heads, chunks of up to max_rows query rows and
 * positions below max_positions, with t2_blis_threads() threads. */
void t2_forward_attention_init(t2_forward_attention *a, const t2_model_config *cfg,
                               int64_t max_rows, int64_t max_positions);
void t2_forward_attention_free(t2_forward_attention *a); /* accepts a zeroed object; may run
                                                          * twice */

/* Sets the thread count (>= 1) of later runs; results do not depend on it. */
void t2_forward_attention_set_threads(t2_forward_attention *a, int n_threads);

/* out = causal attention of the spans' query rows. q: row r's query heads at
 * q + r ld_q (n_kv * group * head_dim values, KV head h's group at h group head_dim); out:
 * the same layout with ld_out, overwritten for the spans' rows only. The cache holds the
 * keys and values of every position the spans see (layer `layer`). Rows below max_rows and
 * positions below max_positions (asserted); the spans' rows must not overlap. */
void t2_forward_attention_run(t2_forward_attention *a, float *out, int64_t ld_out,
                              const float *q, int64_t ld_q, const t2_kv_cache *cache,
                              int64_t layer, const t2_forward_attention_span *spans,
                              int64_t n_spans);

#endif

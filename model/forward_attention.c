/* The forward's attention on all threads (see forward_attention.h): decode pairs cut into
 * blocks shared among OpenMP threads, prefill (span, KV head) units shared among the worker
 * pool's threads, each unit's GEMMs on its own thread.
 * Built with the compiler's OpenMP flag (model/CMakeLists.txt). */
#include "model/forward_attention.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "linalg/blis_setup.h"
#include "linalg/decode_attention.h"
#include "linalg/gemm.h"
#include "linalg/ops.h"
#include "model/worker_pool.h"

/* Query rows per prefill GEMM block; parts buffer size in floats (waves beyond it). */
enum { SCORE_ROWS = 64, PARTS_BUDGET_FLOATS = 1 << 20 };

void t2_forward_attention_init(t2_forward_attention *a, const t2_model_config *cfg,
                               int64_t max_rows, int64_t max_positions) {
    T2_ASSERT(max_rows > 0 && max_positions > 0);
    T2_ASSERT(cfg->num_attention_heads % cfg->num_key_value_heads == 0);
    memset(a, 0, sizeof *a);
    a->n_kv = cfg->num_key_value_heads;
    a->group = cfg->num_attention_heads / a->n_kv;
    a->head_dim = cfg->head_dim;
    a->max_rows = max_rows;
    a->max_positions = max_positions;
    a->score_rows = a->group > SCORE_ROWS ? a->group : SCORE_ROWS;
    a->part_floats = t2_decode_attention_part_floats(a->group, a->head_dim);
    /* the budget, but at least one pair's blocks and at most every pair's */
    int64_t pair_blocks = t2_decode_attention_blocks(max_positions);
    int64_t capacity = PARTS_BUDGET_FLOATS / a->part_floats;
    if (capacity < pair_blocks) capacity = pair_blocks;
    if (capacity > max_rows * a->n_kv * pair_blocks) capacity = max_rows * a->n_kv * pair_blocks;
    a->part_capacity = capacity;
    a->parts = t2_alloc_array((size_t)(capacity * a->part_floats), sizeof(float));
    a->pairs = t2_alloc_array((size_t)(max_rows * a->n_kv), sizeof *a->pairs);
    a->prefill = t2_alloc_array((size_t)max_rows, sizeof *a->prefill);
    int threads = t2_blis_threads();
    t2_forward_attention_set_threads(a, threads > 1 ? threads : 1);
}

void t2_forward_attention_free(t2_forward_attention *a) {
    t2_free(a->scores);
    t2_free(a->parts);
    t2_free(a->block_scores);
    t2_free(a->kv_wide);
    t2_free(a->pairs);
    t2_free(a->prefill);
    t2_worker_pool_free(a->pool);
    a->scores = a->parts = a->block_scores = a->kv_wide = NULL;
    a->pairs = NULL;
    a->prefill = NULL;
    a->pool = NULL;
}

/* One thread's prefill scratch: a block of every head of a group stacked (Q and O, head_dim
 * floats a row) and its scores (max_positions floats a row). */
static int64_t prefill_scratch_floats(const t2_forward_attention *a) {
    return a->group * a->score_rows * (2 * a->head_dim + a->max_positions);
}

void t2_forward_attention_set_threads(t2_forward_attention *a, int n_threads) {
    T2_ASSERT(n_threads >= 1);
    if (a->block_scores != NULL && a->n_threads == n_threads) return;
    t2_free(a->block_scores);
    t2_free(a->scores);
    t2_free(a->kv_wide);
    t2_worker_pool_free(a->pool);
    a->n_threads = n_threads;
    a->block_scores = t2_alloc_array(
        (size_t)(n_threads * t2_decode_attention_block_scratch_floats(a->group, a->head_dim)),
        sizeof(float));
    a->scores = t2_alloc_array((size_t)(n_threads * prefill_scratch_floats(a)), sizeof(float));
    a->kv_wide = NULL;
    a->pool = t2_worker_pool_new(n_threads);
}

/* The wave's parts [begin, end) (a part is a block of a pair), with scores scratch. Pairs'
 * first_part ascend, so the pair of `begin` is found by bisection and the rest follow. */
static void wave_blocks(const t2_forward_attention *a, t2_weight_type kv_type, int64_t n_pairs,
                        int64_t begin, int64_t end, float scale, float *scratch) {
    int64_t lo = 0, hi = n_pairs - 1; /* the last pair whose first_part <= begin */
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (a->pairs[mid].first_part <= begin) lo = mid;
        else hi = mid - 1;
    }
    int64_t hd = a->head_dim, row_bytes = hd * (int64_t)t2_weight_type_size(kv_type);
    for (int64_t p = lo, part = begin; part < end; p++) {
        const t2_forward_attention_pair *pair = &a->pairs[p];
        int64_t n_blocks = t2_decode_attention_blocks(pair->n_ctx);
        for (int64_t b = part - pair->first_part; b < n_blocks && part < end; b++, part++) {
            int64_t j0 = b * T2_DECODE_ATTENTION_BLOCK, n_pos = pair->n_ctx - j0;
            if (n_pos > T2_DECODE_ATTENTION_BLOCK) n_pos = T2_DECODE_ATTENTION_BLOCK;
            /* the K rows of the thread's next part: this pair's next block, or the next
             * pair's first */
            const unsigned char *next_k = NULL;
            int64_t next_n = 0;
            if (b + 1 < n_blocks) {
                next_k = (const unsigned char *)pair->k + (j0 + n_pos) * row_bytes;
                next_n = pair->n_ctx - j0 - n_pos;
            } else if (part + 1 < end) {
                next_k = a->pairs[p + 1].k;
                next_n = a->pairs[p + 1].n_ctx;
            }
            t2_decode_attention_block(a->parts + part * a->part_floats, pair->q,
                                      (const unsigned char *)pair->k + j0 * row_bytes,
                                      (const unsigned char *)pair->v + j0 * row_bytes, kv_type,
                                      a->group, hd, n_pos, scale, scratch, next_k, next_n);
        }
    }
}

/* Merges the parts of pairs [begin, end) into their outputs. */
static void wave_merge(const t2_forward_attention *a, int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; p++) {
        const t2_forward_attention_pair *pair = &a->pairs[p];
        t2_decode_attention_merge(pair->out, a->parts + pair->first_part * a->part_floats,
                                  t2_decode_attention_blocks(pair->n_ctx), a->group,
                                  a->head_dim);
    }
}

/* Runs the n_pairs pairs of a wave holding n_parts parts: the parts split into n_threads
 * contiguous ranges (the same ranges whatever OpenMP grants), then the merges likewise. */
static void wave_run(t2_forward_attention *a, t2_weight_type kv_type, int64_t n_pairs,
                     int64_t n_parts, float scale) {
    if (n_pairs == 0) return;
    int parts = a->n_threads;
    int64_t scratch_floats = t2_decode_attention_block_scratch_floats(a->group, a->head_dim);
    if (parts == 1 || n_parts == 1) {
        wave_blocks(a, kv_type, n_pairs, 0, n_parts, scale, a->block_scores);
        wave_merge(a, 0, n_pairs);
        return;
    }
#pragma omp parallel num_threads(parts)
    {
        int thread = omp_get_thread_num(), n_granted = omp_get_num_threads();
        for (int r = thread; r < parts; r += n_granted) {
            int64_t begin = n_parts * r / parts, end = n_parts * (r + 1) / parts;
            if (begin < end)
                wave_blocks(a, kv_type, n_pairs, begin, end, scale,
                            a->block_scores + r * scratch_floats);
        }
#pragma omp barrier
        for (int r = thread; r < parts; r += n_granted)
            wave_merge(a, n_pairs * r / parts, n_pairs * (r + 1) / parts);
    }
}

/* Causal attention of the query heads of one KV head over n query rows (row t's heads at
 * q + t ld_q, head g at g hd; out likewise with ld_out) at positions first_pos.., as GEMMs on
 * the calling thread over blocks of query rows, the group's heads stacked into one product:
 * S = scale Q Kᵀ, row-wise masked softmax, O = S V. k, v: (first_pos + n) x hd; scratch:
 * t2_forward_attention's per-thread prefill scratch (stacked Q, S, O). */
static void prefill_group(const t2_forward_attention *a, float *scratch, float *out,
                          int64_t ld_out, const float *q, int64_t ld_q, const float *k,
                          const float *v, int64_t n, int64_t first_pos, float scale) {
    int64_t hd = a->head_dim, group = a->group, stacked = group * a->score_rows;
    float *qs = scratch, *os = qs + stacked * hd, *scores = os + stacked * hd;
    for (int64_t r0 = 0; r0 < n; r0 += a->score_rows) {
        int64_t block = n - r0 < a->score_rows ? n - r0 : a->score_rows;
        int64_t n_ctx = first_pos + r0 + block; /* keys the block's last row sees */
        for (int64_t g = 0; g < group; g++) /* row g block + i: head g of query row r0 + i */
            for (int64_t i = 0; i < block; i++)
                memcpy(qs + (g * block + i) * hd, q + (r0 + i) * ld_q + g * hd,
                       (size_t)hd * sizeof(float));
        t2_gemm_strided_serial(scores, n_ctx, qs, hd, 1, k, 1, hd, group * block, n_ctx, hd,
                               scale, 0.0f);
        for (int64_t g = 0; g < group; g++)
            for (int64_t i = 0; i < block; i++)
                t2_softmax_row(scores + (g * block + i) * n_ctx, n_ctx, first_pos + r0 + i + 1);
        t2_gemm_strided_serial(os, hd, scores, n_ctx, 1, v, hd, 1, group * block, hd, n_ctx,
                               1.0f, 0.0f);
        for (int64_t g = 0; g < group; g++)
            for (int64_t i = 0; i < block; i++)
                memcpy(out + (r0 + i) * ld_out + g * hd, os + (g * block + i) * hd,
                       (size_t)hd * sizeof(float));
    }
}

/* What the prefill units of one run read: unit u is (span a->prefill[u / n_kv], KV head
 * u % n_kv). */
typedef struct prefill_run {
    t2_forward_attention *a;
    float *out;
    int64_t ld_out, ld_q;
    const float *q;
    const t2_kv_cache *cache;
    int64_t layer;
    const t2_forward_attention_span *spans;
    float scale;
} prefill_run;

/* Units [begin, end) on one thread, with that thread's scores and widening scratch. */
static void prefill_units(void *ctx, int64_t begin, int64_t end, int worker) {
    const prefill_run *r = ctx;
    t2_forward_attention *a = r->a;
    const t2_kv_cache *cache = r->cache;
    int64_t hd = a->head_dim, group_dim = a->group * hd;
    float *scratch = a->scores + worker * prefill_scratch_floats(a);
    for (int64_t u = begin; u < end; u++) {
        const t2_forward_attention_span *span = &r->spans[a->prefill[u / a->n_kv]];
        int64_t h = u % a->n_kv, n_ctx = span->first_pos + span->n;
        const float *k = t2_kv_cache_k(cache, span->slot, r->layer, h);
        const float *v = t2_kv_cache_v(cache, span->slot, r->layer, h);
        if (cache->type != T2_WEIGHT_F32) { /* the GEMMs read float32 */
            float *kv_wide = a->kv_wide + worker * 2 * a->max_positions * hd;
            t2_kv_cache_widen(cache, span->slot, r->layer, h, n_ctx, kv_wide,
                              kv_wide + n_ctx * hd);
            k = kv_wide;
            v = kv_wide + n_ctx * hd;
        }
        prefill_group(a, scratch, r->out + span->row * r->ld_out + h * group_dim, r->ld_out,
                      r->q + span->row * r->ld_q + h * group_dim, r->ld_q, k, v, span->n,
                      span->first_pos, r->scale);
    }
}

void t2_forward_attention_run(t2_forward_attention *a, float *out, int64_t ld_out,
                              const float *q, int64_t ld_q, const t2_kv_cache *cache,
                              int64_t layer, const t2_forward_attention_span *spans,
                              int64_t n_spans) {
    int64_t hd = a->head_dim, group_dim = a->group * hd;
    float scale = 1.0f / sqrtf((float)hd);
    /* decode spans: waves of (query token, KV head) pairs, as many as the parts buffer holds */
    int64_t n_pairs = 0, n_parts = 0;
    for (int64_t s = 0; s < n_spans; s++) {
        const t2_forward_attention_span *span = &spans[s];
        T2_ASSERT(span->n >= 1 && span->row >= 0 && span->row + span->n <= a->max_rows);
        T2_ASSERT(span->first_pos >= 0 && span->first_pos + span->n <= a->max_positions);
        T2_ASSERT(span->first_pos + span->n <= cache->length[span->slot]);
        if (span->n > T2_FORWARD_ATTENTION_DECODE_ROWS) continue;
        for (int64_t t = 0; t < span->n; t++) {
            int64_t row = span->row + t, n_ctx = span->first_pos + t + 1;
            int64_t n_blocks = t2_decode_attention_blocks(n_ctx);
            for (int64_t h = 0; h < a->n_kv; h++) {
                if (n_parts + n_blocks > a->part_capacity) {
                    wave_run(a, cache->type, n_pairs, n_parts, scale);
                    n_pairs = n_parts = 0;
                }
                a->pairs[n_pairs++] = (t2_forward_attention_pair){
                    q + row * ld_q + h * group_dim,
                    t2_kv_cache_k(cache, span->slot, layer, h),
                    t2_kv_cache_v(cache, span->slot, layer, h),
                    out + row * ld_out + h * group_dim,
                    n_ctx,
                    n_parts,
                };
                n_parts += n_blocks;
            }
        }
    }
    wave_run(a, cache->type, n_pairs, n_parts, scale);
    /* prefill spans: (span, KV head) units over the pool's threads */
    int64_t n_prefill = 0;
    for (int64_t s = 0; s < n_spans; s++)
        if (spans[s].n > T2_FORWARD_ATTENTION_DECODE_ROWS) a->prefill[n_prefill++] = s;
    if (n_prefill == 0) return;
    if (cache->type != T2_WEIGHT_F32 && a->kv_wide == NULL)
        a->kv_wide = t2_alloc_array((size_t)(a->n_threads * 2 * a->max_positions * hd),
                                    sizeof(float));
    prefill_run run = {a, out, ld_out, ld_q, q, cache, layer, spans, scale};
    t2_worker_pool_run(a->pool, n_prefill * a->n_kv, prefill_units, &run);
}

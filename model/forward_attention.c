/* The forward's attention on all threads (see forward_attention.h): decode pairs cut into
 * blocks shared among OpenMP threads, prefill spans as BLIS GEMMs.
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
    a->scores = t2_alloc_array((size_t)(a->score_rows * max_positions), sizeof(float));
    a->part_floats = t2_decode_attention_part_floats(a->group, a->head_dim);
    /* the budget, but at least one pair's blocks and at most every pair's */
    int64_t pair_blocks = t2_decode_attention_blocks(max_positions);
    int64_t capacity = PARTS_BUDGET_FLOATS / a->part_floats;
    if (capacity < pair_blocks) capacity = pair_blocks;
    if (capacity > max_rows * a->n_kv * pair_blocks) capacity = max_rows * a->n_kv * pair_blocks;
    a->part_capacity = capacity;
    a->parts = t2_alloc_array((size_t)(capacity * a->part_floats), sizeof(float));
    a->pairs = t2_alloc_array((size_t)(max_rows * a->n_kv), sizeof *a->pairs);
    int threads = t2_blis_threads();
    t2_forward_attention_set_threads(a, threads > 1 ? threads : 1);
}

void t2_forward_attention_free(t2_forward_attention *a) {
    t2_free(a->scores);
    t2_free(a->parts);
    t2_free(a->block_scores);
    t2_free(a->kv_wide);
    t2_free(a->pairs);
    a->scores = a->parts = a->block_scores = a->kv_wide = NULL;
    a->pairs = NULL;
}

void t2_forward_attention_set_threads(t2_forward_attention *a, int n_threads) {
    T2_ASSERT(n_threads >= 1);
    if (a->block_scores != NULL && a->n_threads == n_threads) return;
    t2_free(a->block_scores);
    a->n_threads = n_threads;
    a->block_scores = t2_alloc_array(
        (size_t)(n_threads * t2_decode_attention_block_scratch_floats(a->group, a->head_dim)),
        sizeof(float));
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
            t2_decode_attention_block(a->parts + part * a->part_floats, pair->q,
                                      (const unsigned char *)pair->k + j0 * row_bytes,
                                      (const unsigned char *)pair->v + j0 * row_bytes, kv_type,
                                      a->group, hd, n_pos, scale, scratch);
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

/* Causal attention of one query head over n query rows (q rows at stride ld_q, output rows
 * at stride ld_out) at positions first_pos.., as GEMMs over blocks of query rows:
 * S = scale Q Kᵀ, row-wise masked softmax, O = S V. k, v: (first_pos + n) x hd. */
static void prefill_head(t2_forward_attention *a, float *out, int64_t ld_out, const float *q,
                         int64_t ld_q, const float *k, const float *v, int64_t n,
                         int64_t first_pos, float scale) {
    int64_t hd = a->head_dim;
    for (int64_t r0 = 0; r0 < n; r0 += a->score_rows) {
        int64_t block = n - r0 < a->score_rows ? n - r0 : a->score_rows;
        int64_t n_ctx = first_pos + r0 + block; /* keys the block's last row sees */
        t2_gemm_strided(a->scores, n_ctx, 1, q + r0 * ld_q, ld_q, 1, k, 1, hd, block, n_ctx, hd,
                        scale, 0.0f);
        for (int64_t i = 0; i < block; i++)
            t2_softmax_row(a->scores + i * n_ctx, n_ctx, first_pos + r0 + i + 1);
        t2_gemm_strided(out + r0 * ld_out, ld_out, 1, a->scores, n_ctx, 1, v, hd, 1, block, hd,
                        n_ctx, 1.0f, 0.0f);
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
    /* prefill spans: per (KV head, query head), GEMMs threaded by BLIS */
    for (int64_t s = 0; s < n_spans; s++) {
        const t2_forward_attention_span *span = &spans[s];
        if (span->n <= T2_FORWARD_ATTENTION_DECODE_ROWS) continue;
        int64_t n_ctx = span->first_pos + span->n;
        for (int64_t h = 0; h < a->n_kv; h++) {
            const float *k = t2_kv_cache_k(cache, span->slot, layer, h);
            const float *v = t2_kv_cache_v(cache, span->slot, layer, h);
            if (cache->type != T2_WEIGHT_F32) { /* the GEMMs read float32 */
                if (a->kv_wide == NULL)
                    a->kv_wide = t2_alloc_array((size_t)(2 * a->max_positions * hd), sizeof(float));
                t2_kv_cache_widen(cache, span->slot, layer, h, n_ctx, a->kv_wide,
                                  a->kv_wide + n_ctx * hd);
                k = a->kv_wide;
                v = a->kv_wide + n_ctx * hd;
            }
            for (int64_t g = 0; g < a->group; g++) {
                int64_t col = h * group_dim + g * hd;
                prefill_head(a, out + span->row * ld_out + col, ld_out,
                             q + span->row * ld_q + col, ld_q, k, v, span->n, span->first_pos,
                             scale);
            }
        }
    }
}

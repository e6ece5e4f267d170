/* Decode attention over blocks of positions, and the merge of the blocks (see
 * decode_attention.h for the maths).
 *
 * Vectorisation as in ops.c (ISO C, no -ffast-math): dot products and sums keep LANES
 * explicit partial sums folded as a tree (linalg/lanes.h), the weighted sums of value rows
 * use fmaf (four rows per pass over the output, in row order), exp is t2_exp_inplace.
 * Where the skinny kernels run AVX-512 and head_dim is a multiple of 16, both passes over
 * the rows (scores, weighted values) run in AVX-512 twins that load each K and V vector
 * once for every head and prefetch the rows ahead; they compute the same bits. A float16
 * block is widened as it is read (a row at a time in the portable loops). */
#include "linalg/decode_attention.h"

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "linalg/clones.h"
#include "linalg/lanes.h"
#include "linalg/lanes_avx512.h"
#include "linalg/ops.h"
#include "linalg/skinny.h"
#include "linalg/weight.h"

/* K rows the scores pass fetches ahead; heads scored together (4 accumulators each). */
enum { PREFETCH_ROWS = 16, SCORE_HEADS = 4 };

int64_t t2_decode_attention_blocks(int64_t n_ctx) {
    T2_ASSERT(n_ctx >= 1);
    return (n_ctx + T2_DECODE_ATTENTION_BLOCK - 1) / T2_DECODE_ATTENTION_BLOCK;
}

int64_t t2_decode_attention_part_floats(int64_t n_group, int64_t head_dim) {
    return n_group * (head_dim + 2);
}

/* sum_i a[i] b[i] in LANES partial sums folded as a tree. Not lanes.h's dot: GCC 12 leaves
 * its fmaf lanes scalar once inlined here (16 scalar FMAs per chunk, 2.3x slower); products
 * and sums written apart vectorise (ISO C does not contract them into FMAs). */
static inline float dot_rows(const float *restrict a, const float *restrict b, int64_t n) {
    float acc[LANES] = {0}, half[LANES / 2], quarter[LANES / 4];
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int64_t l = 0; l < LANES; l++) acc[l] += a[i + l] * b[i + l];
    for (int64_t l = 0; l < LANES / 2; l++) half[l] = acc[l] + acc[l + LANES / 2];
    for (int64_t l = 0; l < LANES / 4; l++) quarter[l] = half[l] + half[l + LANES / 4];
    float sum = (quarter[0] + quarter[2]) + (quarter[1] + quarter[3]);
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

/* y[i] += alpha x[i] */
static inline void axpy(float *restrict y, float alpha, const float *restrict x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = fmaf(alpha, x[i], y[i]);
}

/* y[i] += sum_r alpha[r] x[r n + i] over four rows r of x (n floats each), in row order */
static inline void axpy4(float *restrict y, const float *restrict alpha, const float *restrict x,
                         int64_t n) {
    const float *x0 = x, *x1 = x + n, *x2 = x + 2 * n, *x3 = x + 3 * n;
    float a0 = alpha[0], a1 = alpha[1], a2 = alpha[2], a3 = alpha[3];
    for (int64_t i = 0; i < n; i++)
        y[i] = fmaf(a3, x3[i], fmaf(a2, x2[i], fmaf(a1, x1[i], fmaf(a0, x0[i], y[i]))));
}

/* Fetches the `bytes` at `at` (whole cache lines, inside the block) into L1 (T0) or L2
 * (T1). The builtin, not _mm_prefetch, which GCC 12 drops in the AVX-512 callers (see
 * linalg/skinny_impl.h). */
static inline void prefetch_span(const unsigned char *at, int64_t bytes, int l2) {
    for (int64_t b = 0; b < bytes; b += 64) {
        const void *line = (const void *)((uintptr_t)at + (uintptr_t)b);
        if (l2) __builtin_prefetch(line, 0, 2);
        else __builtin_prefetch(line, 0, 3);
    }
}

/* Elements [i, i + 16) of a K or V row as float32 (float16 widened exactly). */
T2_AVX512 static inline __m512 load16(const unsigned char *row, int64_t i, t2_weight_type type) {
    if (type == T2_WEIGHT_F16)
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(row + 2 * i)));
    return _mm512_loadu_ps((const float *)(const void *)(row + 4 * i));
}

/* scores[g][j] = scale q_g . k_j for all heads g and positions j, head_dim a multiple of
 * 16: four positions at a time, each K vector loaded once for every head, the four dot
 * products of a head folded in one reduce4_avx512. Each dot product is dot_rows's, lane for
 * lane (products then sums, no FMA), so the scores are bitwise those of the portable loop.
 * While scoring four positions it prefetches the K rows PREFETCH_ROWS ahead into L1 and
 * these positions' V rows into L2, for the value pass that follows. */
T2_AVX512 __attribute__((always_inline)) static inline void scores_avx512(
    float *scores, const float *q, const unsigned char *k, const unsigned char *v,
    int64_t n_group, int64_t head_dim, int64_t n_pos, float scale, t2_weight_type type) {
    int64_t row_bytes = head_dim * (int64_t)t2_weight_type_size(type);
    int64_t j = 0;
    for (; j + 4 <= n_pos; j += 4) {
        const unsigned char *k0 = k + j * row_bytes, *k1 = k0 + row_bytes, *k2 = k1 + row_bytes,
                            *k3 = k2 + row_bytes;
        if (j + PREFETCH_ROWS < n_pos) {
            int64_t rows = n_pos - j - PREFETCH_ROWS < 4 ? n_pos - j - PREFETCH_ROWS : 4;
            prefetch_span(k0 + PREFETCH_ROWS * row_bytes, rows * row_bytes, 0);
        }
        prefetch_span(v + j * row_bytes, 4 * row_bytes, 1);
        for (int64_t g0 = 0; g0 < n_group; g0 += SCORE_HEADS) {
            int64_t heads = n_group - g0 < SCORE_HEADS ? n_group - g0 : SCORE_HEADS;
            __m512 acc[SCORE_HEADS][4];
            for (int64_t g = 0; g < heads; g++)
                for (int r = 0; r < 4; r++) acc[g][r] = _mm512_setzero_ps();
            for (int64_t i = 0; i < head_dim; i += 16) {
                __m512 k_vec[4] = {load16(k0, i, type), load16(k1, i, type),
                                   load16(k2, i, type), load16(k3, i, type)};
                for (int64_t g = 0; g < heads; g++) {
                    __m512 q_vec = _mm512_loadu_ps(q + (g0 + g) * head_dim + i);
                    for (int r = 0; r < 4; r++)
                        acc[g][r] = _mm512_add_ps(acc[g][r], _mm512_mul_ps(q_vec, k_vec[r]));
                }
            }
            for (int64_t g = 0; g < heads; g++) {
                __m128 dots = reduce4_avx512(acc[g][0], acc[g][1], acc[g][2], acc[g][3]);
                _mm_storeu_ps(scores + (g0 + g) * T2_DECODE_ATTENTION_BLOCK + j,
                              _mm_mul_ps(_mm_set1_ps(scale), dots));
            }
        }
    }
    for (; j < n_pos; j++) {
        prefetch_span(v + j * row_bytes, row_bytes, 1);
        for (int64_t g = 0; g < n_group; g++) {
            __m512 acc = _mm512_setzero_ps();
            for (int64_t i = 0; i < head_dim; i += 16)
                acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_loadu_ps(q + g * head_dim + i),
                                                       load16(k + j * row_bytes, i, type)));
            scores[g * T2_DECODE_ATTENTION_BLOCK + j] = scale * reduce_avx512(acc);
        }
    }
}

/* a_g += sum_j p[g][j] v_j for all heads g, head_dim a multiple of 16: four V rows at a time,
 * each V vector loaded once for every head; per element the fused multiply-adds of axpy4
 * (rows in order), then axpy's for the last rows, so bitwise the portable pass. With four
 * V rows it fetches four of the next block's K rows into L2 (the first next_n), so that
 * memory works for the next scores pass while this pass computes. */
T2_AVX512 __attribute__((always_inline)) static inline void values_avx512(
    float *part, int64_t stride, const float *p, const unsigned char *v, int64_t n_group,
    int64_t head_dim, int64_t n_pos, t2_weight_type type, const unsigned char *next_k,
    int64_t next_n) {
    int64_t row_bytes = head_dim * (int64_t)t2_weight_type_size(type);
    int64_t j = 0;
    for (; j + 4 <= n_pos; j += 4) {
        if (j < next_n)
            prefetch_span(next_k + j * row_bytes, (next_n - j < 4 ? next_n - j : 4) * row_bytes,
                          1);
        const unsigned char *v0 = v + j * row_bytes, *v1 = v0 + row_bytes, *v2 = v1 + row_bytes,
                            *v3 = v2 + row_bytes;
        for (int64_t i = 0; i < head_dim; i += 16) {
            __m512 x0 = load16(v0, i, type), x1 = load16(v1, i, type),
                   x2 = load16(v2, i, type), x3 = load16(v3, i, type);
            for (int64_t g = 0; g < n_group; g++) {
                const float *p_g = p + g * T2_DECODE_ATTENTION_BLOCK + j;
                float *y = part + g * stride + i;
                __m512 acc = _mm512_loadu_ps(y);
                acc = _mm512_fmadd_ps(_mm512_set1_ps(p_g[0]), x0, acc);
                acc = _mm512_fmadd_ps(_mm512_set1_ps(p_g[1]), x1, acc);
                acc = _mm512_fmadd_ps(_mm512_set1_ps(p_g[2]), x2, acc);
                acc = _mm512_fmadd_ps(_mm512_set1_ps(p_g[3]), x3, acc);
                _mm512_storeu_ps(y, acc);
            }
        }
    }
    for (; j < n_pos; j++) {
        for (int64_t i = 0; i < head_dim; i += 16) {
            __m512 x = load16(v + j * row_bytes, i, type);
            for (int64_t g = 0; g < n_group; g++) {
                float *y = part + g * stride + i;
                __m512 alpha = _mm512_set1_ps(p[g * T2_DECODE_ATTENTION_BLOCK + j]);
                _mm512_storeu_ps(y, _mm512_fmadd_ps(alpha, x, _mm512_loadu_ps(y)));
            }
        }
    }
}

/* The AVX-512 passes for the K/V type (each inlined with the type a constant). Not inlined
 * themselves: they are called from every T2_CLONES version of the block. */
T2_AVX512 __attribute__((noinline)) static void scores_avx512_any(
    float *scores, const float *q, const unsigned char *k, const unsigned char *v,
    int64_t n_group, int64_t head_dim, int64_t n_pos, float scale, t2_weight_type type) {
    if (type == T2_WEIGHT_F16)
        scores_avx512(scores, q, k, v, n_group, head_dim, n_pos, scale, T2_WEIGHT_F16);
    else
        scores_avx512(scores, q, k, v, n_group, head_dim, n_pos, scale, T2_WEIGHT_F32);
}
T2_AVX512 __attribute__((noinline)) static void values_avx512_any(
    float *part, int64_t stride, const float *p, const unsigned char *v, int64_t n_group,
    int64_t head_dim, int64_t n_pos, t2_weight_type type, const unsigned char *next_k,
    int64_t next_n) {
    if (type == T2_WEIGHT_F16)
        values_avx512(part, stride, p, v, n_group, head_dim, n_pos, T2_WEIGHT_F16, next_k,
                      next_n);
    else
        values_avx512(part, stride, p, v, n_group, head_dim, n_pos, T2_WEIGHT_F32, next_k,
                      next_n);
}

/* Rows [j, j + n) of a K or V block as float32: the block's own floats, or float16 rows
 * widened into buf (n x head_dim floats). */
static inline const float *rows_f32(const unsigned char *block, t2_weight_type type, int64_t j,
                                    int64_t n, int64_t head_dim, float *buf) {
    if (type == T2_WEIGHT_F32) return (const float *)(const void *)block + j * head_dim;
    t2_weight w = {{.data = (void *)(uintptr_t)block}, type};
    t2_weight_widen(buf, w, j * head_dim, n * head_dim);
    return buf;
}

int64_t t2_decode_attention_block_scratch_floats(int64_t n_group, int64_t head_dim) {
    return n_group * T2_DECODE_ATTENTION_BLOCK + 4 * head_dim;
}

T2_CLONES
void t2_decode_attention_block(float *part, const float *q, const void *k_block,
                               const void *v_block, t2_weight_type kv_type, int64_t n_group,
                               int64_t head_dim, int64_t n_pos, float scale, float *scratch,
                               const void *next_k, int64_t next_n) {
    T2_ASSERT(n_group >= 1 && head_dim >= 1 && n_pos >= 1 &&
              n_pos <= T2_DECODE_ATTENTION_BLOCK);
    T2_ASSERT(kv_type == T2_WEIGHT_F32 || kv_type == T2_WEIGHT_F16);
    const unsigned char *k = k_block, *v = v_block;
    float *scores = scratch, *rows = scratch + n_group * T2_DECODE_ATTENTION_BLOCK;
    int64_t stride = head_dim + 2; /* floats per head in the part */
    /* AVX-512 when the skinny kernels use it (T2_KERNEL=plain forces the portable loops) */
    int avx512 = head_dim % 16 == 0 && t2_skinny_kernel_runs_avx512(t2_skinny_active_kernel());
    /* scores[g][j] = scale q_g . k_j: one pass over the K rows for all heads */
    if (avx512)
        scores_avx512_any(scores, q, k, v, n_group, head_dim, n_pos, scale, kv_type);
    else
        for (int64_t j = 0; j < n_pos; j++) {
            const float *k_row = rows_f32(k, kv_type, j, 1, head_dim, rows);
            for (int64_t g = 0; g < n_group; g++)
                scores[g * T2_DECODE_ATTENTION_BLOCK + j] =
                    scale * dot_rows(q + g * head_dim, k_row, head_dim);
        }
    /* p[g][j] = exp(s_gj - m_g) in place; l_g = sum_j p[g][j] */
    for (int64_t g = 0; g < n_group; g++) {
        float *p = scores + g * T2_DECODE_ATTENTION_BLOCK, *part_g = part + g * stride;
        float max = p[0];
        for (int64_t j = 1; j < n_pos; j++) max = p[j] > max ? p[j] : max;
        for (int64_t j = 0; j < n_pos; j++) p[j] -= max;
        t2_exp_inplace(p, n_pos);
        part_g[head_dim] = max;
        part_g[head_dim + 1] = sum_lanes(p, n_pos);
        memset(part_g, 0, (size_t)head_dim * sizeof(float));
    }
    /* a_g = sum_j p[g][j] v_j: one pass over the V rows for all heads, four rows at a time */
    if (avx512) {
        values_avx512_any(part, stride, scores, v, n_group, head_dim, n_pos, kv_type, next_k,
                          next_k != NULL ? next_n : 0);
        return;
    }
    int64_t j = 0;
    for (; j + 4 <= n_pos; j += 4) {
        const float *v_rows = rows_f32(v, kv_type, j, 4, head_dim, rows);
        for (int64_t g = 0; g < n_group; g++)
            axpy4(part + g * stride, scores + g * T2_DECODE_ATTENTION_BLOCK + j, v_rows, head_dim);
    }
    for (; j < n_pos; j++) {
        const float *v_row = rows_f32(v, kv_type, j, 1, head_dim, rows);
        for (int64_t g = 0; g < n_group; g++)
            axpy(part + g * stride, scores[g * T2_DECODE_ATTENTION_BLOCK + j], v_row, head_dim);
    }
}

T2_CLONES
void t2_decode_attention_merge(float *out, const float *parts, int64_t n_blocks,
                               int64_t n_group, int64_t head_dim) {
    T2_ASSERT(n_blocks >= 1);
    int64_t stride = head_dim + 2, part_floats = n_group * stride;
    for (int64_t g = 0; g < n_group; g++) {
        const float *first = parts + g * stride;
        float *out_g = out + g * head_dim;
        if (n_blocks == 1) { /* w = 1: the block's own normalisation */
            float inv = 1.0f / first[head_dim + 1];
            for (int64_t i = 0; i < head_dim; i++) out_g[i] = first[i] * inv;
            continue;
        }
        float max = first[head_dim];
        for (int64_t b = 1; b < n_blocks; b++) {
            float m = first[b * part_floats + head_dim];
            max = m > max ? m : max;
        }
        memset(out_g, 0, (size_t)head_dim * sizeof(float));
        float sum = 0.0f;
        for (int64_t b = 0; b < n_blocks; b++) {
            const float *part_g = first + b * part_floats;
            float w = part_g[head_dim] - max;
            t2_exp_inplace(&w, 1);
            sum = fmaf(w, part_g[head_dim + 1], sum);
            axpy(out_g, w, part_g, head_dim);
        }
        float inv = 1.0f / sum;
        for (int64_t i = 0; i < head_dim; i++) out_g[i] *= inv;
    }
}

int64_t t2_decode_attention_scratch_floats(int64_t n_ctx, int64_t n_group, int64_t head_dim) {
    return t2_decode_attention_blocks(n_ctx) * t2_decode_attention_part_floats(n_group, head_dim) +
           t2_decode_attention_block_scratch_floats(n_group, head_dim);
}

void t2_decode_attention_forward(float *out, const float *q, const void *k, const void *v,
                                 t2_weight_type kv_type, int64_t n_group, int64_t head_dim,
                                 int64_t n_ctx, float scale, float *scratch) {
    int64_t n_blocks = t2_decode_attention_blocks(n_ctx);
    int64_t part_floats = t2_decode_attention_part_floats(n_group, head_dim);
    int64_t row_bytes = head_dim * (int64_t)t2_weight_type_size(kv_type);
    float *block_scratch = scratch + n_blocks * part_floats;
    for (int64_t b = 0; b < n_blocks; b++) {
        int64_t j0 = b * T2_DECODE_ATTENTION_BLOCK;
        int64_t n_pos = n_ctx - j0 < T2_DECODE_ATTENTION_BLOCK ? n_ctx - j0
                                                               : T2_DECODE_ATTENTION_BLOCK;
        t2_decode_attention_block(scratch + b * part_floats, q,
                                  (const unsigned char *)k + j0 * row_bytes,
                                  (const unsigned char *)v + j0 * row_bytes, kv_type, n_group,
                                  head_dim, n_pos, scale, block_scratch,
                                  (const unsigned char *)k + (j0 + n_pos) * row_bytes,
                                  n_ctx - j0 - n_pos);
    }
    t2_decode_attention_merge(out, scratch, n_blocks, n_group, head_dim);
}

void t2_decode_attention_forward_ref(float *out, const float *q, const float *k, const float *v,
                                     int64_t n_group, int64_t head_dim, int64_t n_ctx,
                                     float scale) {
    double *acc = t2_alloc_array((size_t)head_dim, sizeof(double));
    for (int64_t g = 0; g < n_group; g++) {
        const float *q_g = q + g * head_dim;
        double max = -INFINITY, sum = 0.0;
        for (int64_t j = 0; j < n_ctx; j++) {
            double s = 0.0;
            for (int64_t i = 0; i < head_dim; i++) s += (double)q_g[i] * k[j * head_dim + i];
            max = s * scale > max ? s * scale : max;
        }
        for (int64_t i = 0; i < head_dim; i++) acc[i] = 0.0;
        for (int64_t j = 0; j < n_ctx; j++) {
            double s = 0.0;
            for (int64_t i = 0; i < head_dim; i++) s += (double)q_g[i] * k[j * head_dim + i];
            double p = exp(s * scale - max);
            sum += p;
            for (int64_t i = 0; i < head_dim; i++) acc[i] += p * v[j * head_dim + i];
        }
        for (int64_t i = 0; i < head_dim; i++) out[g * head_dim + i] = (float)(acc[i] / sum);
    }
    t2_free(acc);
}

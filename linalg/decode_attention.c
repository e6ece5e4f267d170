/* Decode attention over blocks of positions, and the merge of the blocks (see
 * decode_attention.h for the maths).
 *
 * Vectorisation as in ops.c (ISO C, no -ffast-math): dot products and sums keep LANES
 * explicit partial sums folded as a tree (linalg/lanes.h), the weighted sums of value rows
 * use fmaf (four rows per pass over the output, in row order), exp is t2_exp_inplace.
 * Measured on one AVX-512 core (head_dim 128, 2 heads per KV head, cache-resident block):
 * ~47 ns per cached position, 2.6x faster than the lanes.h dot and one row per pass. */
#include "linalg/decode_attention.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "linalg/clones.h"
#include "linalg/lanes.h"
#include "linalg/lanes_avx512.h"
#include "linalg/ops.h"
#include "linalg/skinny.h"

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

/* scores[g][j] = scale q_g . k_j for all heads g and positions j, head_dim a multiple of
 * 16: four positions at a time, whose four dot products fold in one reduce4_avx512. Each
 * dot product is dot_rows's, lane for lane (products then sums, no FMA), so the scores are
 * bitwise those of the portable loop; 1.6x faster at head_dim 128 (bench_attention). */
T2_AVX512 static void scores_avx512(float *scores, const float *q, const float *k,
                                    int64_t n_group, int64_t head_dim, int64_t n_pos,
                                    float scale) {
    int64_t j = 0;
    for (; j + 4 <= n_pos; j += 4) {
        const float *k0 = k + j * head_dim, *k1 = k0 + head_dim, *k2 = k1 + head_dim,
                    *k3 = k2 + head_dim;
        for (int64_t g = 0; g < n_group; g++) {
            const float *q_g = q + g * head_dim;
            __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int64_t i = 0; i < head_dim; i += 16) {
                __m512 q_vec = _mm512_loadu_ps(q_g + i);
                acc0 = _mm512_add_ps(acc0, _mm512_mul_ps(q_vec, _mm512_loadu_ps(k0 + i)));
                acc1 = _mm512_add_ps(acc1, _mm512_mul_ps(q_vec, _mm512_loadu_ps(k1 + i)));
                acc2 = _mm512_add_ps(acc2, _mm512_mul_ps(q_vec, _mm512_loadu_ps(k2 + i)));
                acc3 = _mm512_add_ps(acc3, _mm512_mul_ps(q_vec, _mm512_loadu_ps(k3 + i)));
            }
            __m128 dots = reduce4_avx512(acc0, acc1, acc2, acc3);
            _mm_storeu_ps(scores + g * T2_DECODE_ATTENTION_BLOCK + j,
                          _mm_mul_ps(_mm_set1_ps(scale), dots));
        }
    }
    for (; j < n_pos; j++) {
        for (int64_t g = 0; g < n_group; g++) {
            __m512 acc = _mm512_setzero_ps();
            for (int64_t i = 0; i < head_dim; i += 16)
                acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_loadu_ps(q + g * head_dim + i),
                                                       _mm512_loadu_ps(k + j * head_dim + i)));
            scores[g * T2_DECODE_ATTENTION_BLOCK + j] = scale * reduce_avx512(acc);
        }
    }
}

T2_CLONES
void t2_decode_attention_block(float *part, const float *q, const float *k, const float *v,
                               int64_t n_group, int64_t head_dim, int64_t n_pos, float scale,
                               float *scores) {
    T2_ASSERT(n_group >= 1 && head_dim >= 1 && n_pos >= 1 &&
              n_pos <= T2_DECODE_ATTENTION_BLOCK);
    int64_t stride = head_dim + 2; /* floats per head in the part */
    /* scores[g][j] = scale q_g . k_j: one pass over the K rows for all heads; AVX-512 when
     * the skinny kernels use it (T2_KERNEL=plain forces the portable loop) */
    if (head_dim % 16 == 0 && t2_skinny_active_kernel() == T2_SKINNY_KERNEL_AVX512)
        scores_avx512(scores, q, k, n_group, head_dim, n_pos, scale);
    else
        for (int64_t j = 0; j < n_pos; j++)
            for (int64_t g = 0; g < n_group; g++)
                scores[g * T2_DECODE_ATTENTION_BLOCK + j] =
                    scale * dot_rows(q + g * head_dim, k + j * head_dim, head_dim);
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
    int64_t j = 0;
    for (; j + 4 <= n_pos; j += 4) {
        const float *v_rows = v + j * head_dim;
        for (int64_t g = 0; g < n_group; g++)
            axpy4(part + g * stride, scores + g * T2_DECODE_ATTENTION_BLOCK + j, v_rows, head_dim);
    }
    for (; j < n_pos; j++) {
        const float *v_row = v + j * head_dim;
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
           n_group * T2_DECODE_ATTENTION_BLOCK;
}

void t2_decode_attention_forward(float *out, const float *q, const float *k, const float *v,
                                 int64_t n_group, int64_t head_dim, int64_t n_ctx, float scale,
                                 float *scratch) {
    int64_t n_blocks = t2_decode_attention_blocks(n_ctx);
    int64_t part_floats = t2_decode_attention_part_floats(n_group, head_dim);
    float *scores = scratch + n_blocks * part_floats;
    for (int64_t b = 0; b < n_blocks; b++) {
        int64_t j0 = b * T2_DECODE_ATTENTION_BLOCK;
        int64_t n_pos = n_ctx - j0 < T2_DECODE_ATTENTION_BLOCK ? n_ctx - j0
                                                               : T2_DECODE_ATTENTION_BLOCK;
        t2_decode_attention_block(scratch + b * part_floats, q, k + j0 * head_dim,
                                  v + j0 * head_dim, n_group, head_dim, n_pos, scale, scores);
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

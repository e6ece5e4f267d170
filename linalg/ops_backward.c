/* Backward kernels, attention with log-sum-exp and cross-entropy (see ops_backward.h; the
 * derivations are in docs/training-engine.md).
 *
 * Vectorisation follows linalg/ops.c: ISO C17 without -ffast-math, so reductions keep LANES
 * explicit partial sums, products use fmaf, maxima go through integer keys (GCC does not
 * if-convert float compares under -ftrapping-math), and exp is t2_exp_inplace's polynomial
 * applied to a row at a time. Does not: run GEMMs other than the attention's, or start
 * threads (the attention's GEMMs run on the caller's thread). */
#include "linalg/ops_backward.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "linalg/clones.h"
#include "linalg/gemm.h"
#include "linalg/lanes.h"
#include "linalg/ops.h"

enum {
    QUERY_BLOCK = 32, /* query rows per attention block: scores only for the keys it sees
                       * (32 measured fastest for sequences of 64..256 tokens) */
    EXP_CHUNK = 256   /* values exponentiated at a time in a stack buffer */
};

/* sum_i a[i] b[i] c[i] */
static inline float dot3(const float *restrict a, const float *restrict b,
                         const float *restrict c, int64_t n) {
    float acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int64_t l = 0; l < LANES; l++) acc[l] = fmaf(a[i + l] * b[i + l], c[i + l], acc[l]);
    float sum = reduce_lanes(acc);
    for (; i < n; i++) sum = fmaf(a[i] * b[i], c[i], sum);
    return sum;
}

/* A signed integer that orders like the float (non-NaN values), and back: the maximum
 * runs on these so the loop vectorises (linalg/ops.c does the same). */
static inline int32_t order_key(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return (int32_t)(bits ^ ((0u - (bits >> 31)) & 0x7FFFFFFFu));
}
static inline float key_float(int32_t key) {
    uint32_t k = (uint32_t)key;
    uint32_t bits = k ^ ((0u - (k >> 31)) & 0x7FFFFFFFu);
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* The largest of n >= 1 values. */
T2_CLONES
static float max_of(const float *x, int64_t n) {
    int32_t acc[LANES];
    for (int64_t l = 0; l < LANES; l++) acc[l] = order_key(x[0]);
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        for (int64_t l = 0; l < LANES; l++) {
            int32_t key = order_key(x[i + l]);
            acc[l] = key > acc[l] ? key : acc[l];
        }
    }
    int32_t max = acc[0];
    for (int64_t l = 1; l < LANES; l++) max = acc[l] > max ? acc[l] : max;
    for (; i < n; i++) {
        int32_t key = order_key(x[i]);
        max = key > max ? key : max;
    }
    return key_float(max);
}

/* x[j] <- exp(x[j] - shift), in place. */
static void exp_shifted(float *x, int64_t n, float shift) {
    for (int64_t j = 0; j < n; j++) x[j] -= shift;
    t2_exp_inplace(x, n);
}

T2_CLONES
void t2_rmsnorm_backward(float *dx, float *dweight, const float *dy, const float *x,
                         const float *weight, int64_t rows, int64_t dim, float eps) {
    T2_ASSERT(dim > 0);
    for (int64_t t = 0; t < rows; t++) {
        const float *restrict x_row = x + t * dim, *restrict dy_row = dy + t * dim;
        float *restrict dx_row = dx + t * dim;
        float r = 1.0f / sqrtf(dot(x_row, x_row, dim) / (float)dim + eps); /* as the forward */
        float c = r * r * r * dot3(weight, dy_row, x_row, dim) / (float)dim;
        for (int64_t i = 0; i < dim; i++)
            dx_row[i] += fmaf(r * weight[i], dy_row[i], -x_row[i] * c);
        if (dweight == NULL) continue;
        for (int64_t i = 0; i < dim; i++) dweight[i] = fmaf(dy_row[i] * x_row[i], r, dweight[i]);
    }
}

void t2_rmsnorm_backward_ref(float *dx, float *dweight, const float *dy, const float *x,
                             const float *weight, int64_t rows, int64_t dim, float eps) {
    for (int64_t t = 0; t < rows; t++) {
        double sum_sq = 0.0, g = 0.0;
        for (int64_t i = 0; i < dim; i++) {
            sum_sq += (double)x[t * dim + i] * x[t * dim + i];
            g += (double)weight[i] * dy[t * dim + i] * x[t * dim + i];
        }
        double r = 1.0 / sqrt(sum_sq / (double)dim + eps);
        for (int64_t i = 0; i < dim; i++) {
            double xi = x[t * dim + i], dyi = dy[t * dim + i];
            dx[t * dim + i] += (float)(r * weight[i] * dyi - xi * r * r * r * g / (double)dim);
            if (dweight != NULL) dweight[i] += (float)(dyi * xi * r);
        }
    }
}

/* The SwiGLU backward of m values given e = exp(-g) (see t2_swiglu_backward). */
static void swiglu_backward_chunk(float *restrict dg, float *restrict du, float *restrict h,
                                  const float *restrict dh, const float *restrict g,
                                  const float *restrict u, const float *restrict e, int64_t m) {
    for (int64_t i = 0; i < m; i++) {
        float s = 1.0f / (1.0f + e[i]);
        float silu = g[i] * s;
        h[i] = silu * u[i];
        du[i] = dh[i] * silu;
        dg[i] = dh[i] * u[i] * s * fmaf(g[i], 1.0f - s, 1.0f);
    }
}

T2_CLONES
void t2_swiglu_backward(float *dgu, float *h, const float *dh, const float *gu, int64_t rows,
                        int64_t dim) {
    for (int64_t t = 0; t < rows; t++) {
        const float *restrict g = gu + t * 2 * dim, *restrict u = g + dim;
        const float *restrict dh_row = dh + t * dim;
        float *restrict dg = dgu + t * 2 * dim, *restrict du = dg + dim;
        float *restrict h_row = h + t * dim;
        float e[EXP_CHUNK]; /* exp(-g) of a chunk, kept in L1 */
        for (int64_t i0 = 0; i0 < dim; i0 += EXP_CHUNK) {
            int64_t m = dim - i0 < EXP_CHUNK ? dim - i0 : EXP_CHUNK;
            for (int64_t i = 0; i < m; i++) e[i] = -g[i0 + i];
            t2_exp_inplace(e, m);
            swiglu_backward_chunk(dg + i0, du + i0, h_row + i0, dh_row + i0, g + i0, u + i0, e,
                                  m);
        }
    }
}

void t2_swiglu_backward_ref(float *dgu, float *h, const float *dh, const float *gu,
                            int64_t rows, int64_t dim) {
    for (int64_t t = 0; t < rows; t++) {
        for (int64_t i = 0; i < dim; i++) {
            double g = gu[t * 2 * dim + i], u = gu[t * 2 * dim + dim + i], d = dh[t * dim + i];
            double s = 1.0 / (1.0 + exp(-g));
            h[t * dim + i] = (float)(g * s * u);
            dgu[t * 2 * dim + i] = (float)(d * u * s * (1.0 + g * (1.0 - s)));
            dgu[t * 2 * dim + dim + i] = (float)(d * g * s);
        }
    }
}

void t2_rope_backward(float *dx, int64_t n_heads, int64_t head_dim, const float *cos,
                      const float *sin) {
    T2_ASSERT(head_dim % 2 == 0);
    int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *restrict lo = dx + h * head_dim, *restrict hi = lo + half;
        for (int64_t i = 0; i < half; i++) {
            float a = lo[i], b = hi[i];
            lo[i] = a * cos[i] + b * sin[i];
            hi[i] = b * cos[i] - a * sin[i];
        }
    }
}

int64_t t2_attention_scratch_floats(int64_t n, int64_t n_group, int64_t head_dim) {
    int64_t rows = n_group * (n < QUERY_BLOCK ? n : QUERY_BLOCK);
    return 2 * rows * head_dim + 2 * rows * n + rows + 2 * head_dim * n;
}

/* The scratch of the attention kernels for a block of `rows` stacked query rows. */
typedef struct attention_scratch {
    float *qs;     /* rows x head_dim: the block's queries, head by head */
    float *rows_b; /* rows x head_dim: stacked outputs (forward), dout then dq (backward) */
    float *s;      /* rows x n_keys: scores, then probabilities, then dS */
    float *dp;     /* rows x n_keys: dP (backward) */
    float *d;      /* rows: 1 / softmax sum (forward), D = dout . out (backward) */
    float *kt, *vt; /* head_dim x n: Kᵀ and Vᵀ, so the GEMMs against them read B by rows
                     * (BLIS's small-matrix kernels measured ~1.3x faster so) */
} attention_scratch;

static attention_scratch split_scratch(float *scratch, int64_t n, int64_t n_group,
                                       int64_t head_dim) {
    int64_t rows = n_group * (n < QUERY_BLOCK ? n : QUERY_BLOCK);
    attention_scratch s;
    s.qs = scratch;
    s.rows_b = s.qs + rows * head_dim;
    s.s = s.rows_b + rows * head_dim;
    s.dp = s.s + rows * n;
    s.d = s.dp + rows * n;
    s.kt = s.d + rows;
    s.vt = s.kt + head_dim * n;
    return s;
}

/* xt (head_dim x n, row-major) = the n rows of x (stride ld) transposed. */
static void transpose_rows(float *xt, const float *x, int64_t ld, int64_t n, int64_t head_dim) {
    for (int64_t j = 0; j < n; j++)
        for (int64_t c = 0; c < head_dim; c++) xt[c * n + j] = x[j * ld + c];
}

/* stacked[(g b + i) head_dim + c] = src[(t0 + i) ld + g head_dim + c] for the block's b
 * rows and n_group heads; scatter_heads is the reverse. */
static void gather_heads(float *stacked, const float *src, int64_t ld, int64_t t0, int64_t b,
                         int64_t n_group, int64_t head_dim) {
    for (int64_t g = 0; g < n_group; g++)
        for (int64_t i = 0; i < b; i++)
            memcpy(stacked + (g * b + i) * head_dim, src + (t0 + i) * ld + g * head_dim,
                   (size_t)head_dim * sizeof(float));
}
static void scatter_heads(float *dst, int64_t ld, const float *stacked, int64_t t0, int64_t b,
                          int64_t n_group, int64_t head_dim) {
    for (int64_t g = 0; g < n_group; g++)
        for (int64_t i = 0; i < b; i++)
            memcpy(dst + (t0 + i) * ld + g * head_dim, stacked + (g * b + i) * head_dim,
                   (size_t)head_dim * sizeof(float));
}

T2_CLONES
void t2_attention_lse_forward(float *out, int64_t ld_out, float *lse, int64_t ld_lse,
                              const float *q, int64_t ld_q, const float *k, const float *v,
                              int64_t ld_kv, int64_t n, int64_t n_group, int64_t head_dim,
                              float scale, float *scratch) {
    T2_ASSERT(n >= 1 && n_group >= 1 && head_dim >= 1);
    attention_scratch sc = split_scratch(scratch, n, n_group, head_dim);
    transpose_rows(sc.kt, k, ld_kv, n, head_dim);
    for (int64_t t0 = 0; t0 < n; t0 += QUERY_BLOCK) {
        int64_t b = n - t0 < QUERY_BLOCK ? n - t0 : QUERY_BLOCK;
        int64_t n_keys = t0 + b, rows = n_group * b;
        gather_heads(sc.qs, q, ld_q, t0, b, n_group, head_dim);
        /* S = scale Qs Kᵀ over the keys the block sees */
        t2_gemm_strided_serial(sc.s, n_keys, sc.qs, head_dim, 1, sc.kt, n, 1, rows, n_keys,
                               head_dim, scale, 0.0f);
        for (int64_t g = 0; g < n_group; g++) {
            for (int64_t i = 0; i < b; i++) {
                float *s_row = sc.s + (g * b + i) * n_keys;
                int64_t valid = t0 + i + 1;
                float max = max_of(s_row, valid);
                exp_shifted(s_row, valid, max);
                float sum = sum_lanes(s_row, valid);
                memset(s_row + valid, 0, (size_t)(n_keys - valid) * sizeof(float));
                lse[(t0 + i) * ld_lse + g] = max + logf(sum);
                sc.d[g * b + i] = 1.0f / sum;
            }
        }
        /* O = P V, with the softmax's normalisation applied to the head_dim outputs rather
         * than to the n_keys probabilities */
        t2_gemm_strided_serial(sc.rows_b, head_dim, sc.s, n_keys, 1, v, ld_kv, 1, rows, head_dim,
                               n_keys, 1.0f, 0.0f);
        for (int64_t g = 0; g < n_group; g++) {
            for (int64_t i = 0; i < b; i++) {
                const float *restrict o_row = sc.rows_b + (g * b + i) * head_dim;
                float *restrict dst = out + (t0 + i) * ld_out + g * head_dim;
                float inv = sc.d[g * b + i];
                for (int64_t c = 0; c < head_dim; c++) dst[c] = o_row[c] * inv;
            }
        }
    }
}

T2_CLONES
void t2_attention_backward(float *dq, int64_t ld_dq, float *dk, float *dv, int64_t ld_dkv,
                           const float *dout, int64_t ld_dout, const float *out, int64_t ld_out,
                           const float *lse, int64_t ld_lse, const float *q, int64_t ld_q,
                           const float *k, const float *v, int64_t ld_kv, int64_t n,
                           int64_t n_group, int64_t head_dim, float scale, float *scratch) {
    T2_ASSERT(n >= 1 && n_group >= 1 && head_dim >= 1);
    attention_scratch sc = split_scratch(scratch, n, n_group, head_dim);
    transpose_rows(sc.kt, k, ld_kv, n, head_dim);
    transpose_rows(sc.vt, v, ld_kv, n, head_dim);
    for (int64_t j = 0; j < n; j++) {
        memset(dk + j * ld_dkv, 0, (size_t)head_dim * sizeof(float));
        memset(dv + j * ld_dkv, 0, (size_t)head_dim * sizeof(float));
    }
    for (int64_t t0 = 0; t0 < n; t0 += QUERY_BLOCK) {
        int64_t b = n - t0 < QUERY_BLOCK ? n - t0 : QUERY_BLOCK;
        int64_t n_keys = t0 + b, rows = n_group * b;
        gather_heads(sc.qs, q, ld_q, t0, b, n_group, head_dim);
        gather_heads(sc.rows_b, dout, ld_dout, t0, b, n_group, head_dim);
        for (int64_t g = 0; g < n_group; g++)
            for (int64_t i = 0; i < b; i++)
                sc.d[g * b + i] = dot(dout + (t0 + i) * ld_dout + g * head_dim,
                                      out + (t0 + i) * ld_out + g * head_dim, head_dim);
        /* P = exp(scale Qs Kᵀ - lse), masked */
        t2_gemm_strided_serial(sc.s, n_keys, sc.qs, head_dim, 1, sc.kt, n, 1, rows, n_keys,
                               head_dim, scale, 0.0f);
        for (int64_t g = 0; g < n_group; g++) {
            for (int64_t i = 0; i < b; i++) {
                float *p_row = sc.s + (g * b + i) * n_keys;
                int64_t valid = t0 + i + 1;
                exp_shifted(p_row, valid, lse[(t0 + i) * ld_lse + g]);
                memset(p_row + valid, 0, (size_t)(n_keys - valid) * sizeof(float));
            }
        }
        /* dP = dOs Vᵀ;  dV += Pᵀ dOs */
        t2_gemm_strided_serial(sc.dp, n_keys, sc.rows_b, head_dim, 1, sc.vt, n, 1, rows, n_keys,
                               head_dim, 1.0f, 0.0f);
        t2_gemm_strided_serial(dv, ld_dkv, sc.s, 1, n_keys, sc.rows_b, head_dim, 1, n_keys,
                               head_dim, rows, 1.0f, 1.0f);
        /* dS = P (dP - D), over P in place (masked entries stay 0) */
        for (int64_t r = 0; r < rows; r++) {
            float *restrict p_row = sc.s + r * n_keys;
            const float *restrict dp_row = sc.dp + r * n_keys;
            float d = sc.d[r];
            for (int64_t j = 0; j < n_keys; j++) p_row[j] *= dp_row[j] - d;
        }
        /* dQs = scale dS K (into the dout rows, no longer needed);  dK += scale dSᵀ Qs */
        t2_gemm_strided_serial(sc.rows_b, head_dim, sc.s, n_keys, 1, k, ld_kv, 1, rows, head_dim,
                               n_keys, scale, 0.0f);
        scatter_heads(dq, ld_dq, sc.rows_b, t0, b, n_group, head_dim);
        t2_gemm_strided_serial(dk, ld_dkv, sc.s, 1, n_keys, sc.qs, head_dim, 1, n_keys, head_dim,
                               rows, scale, 1.0f);
    }
}

void t2_attention_backward_ref(float *dq, int64_t ld_dq, float *dk, float *dv, int64_t ld_dkv,
                               const float *dout, int64_t ld_dout, const float *out,
                               int64_t ld_out, const float *lse, int64_t ld_lse, const float *q,
                               int64_t ld_q, const float *k, const float *v, int64_t ld_kv,
                               int64_t n, int64_t n_group, int64_t head_dim, float scale) {
    double *dk_acc = t2_alloc_array((size_t)(n * head_dim), sizeof(double));
    double *dv_acc = t2_alloc_array((size_t)(n * head_dim), sizeof(double));
    double *dq_acc = t2_alloc_array((size_t)head_dim, sizeof(double));
    for (int64_t g = 0; g < n_group; g++) {
        for (int64_t t = 0; t < n; t++) {
            const float *q_row = q + t * ld_q + g * head_dim;
            const float *do_row = dout + t * ld_dout + g * head_dim;
            const float *o_row = out + t * ld_out + g * head_dim;
            double d = 0.0;
            for (int64_t c = 0; c < head_dim; c++) d += (double)do_row[c] * o_row[c];
            for (int64_t c = 0; c < head_dim; c++) dq_acc[c] = 0.0;
            for (int64_t j = 0; j <= t; j++) {
                double s = 0.0, dp = 0.0;
                for (int64_t c = 0; c < head_dim; c++) {
                    s += (double)q_row[c] * k[j * ld_kv + c];
                    dp += (double)do_row[c] * v[j * ld_kv + c];
                }
                double p = exp(s * scale - lse[t * ld_lse + g]);
                double ds = p * (dp - d);
                for (int64_t c = 0; c < head_dim; c++) {
                    dq_acc[c] += scale * ds * k[j * ld_kv + c];
                    dk_acc[j * head_dim + c] += scale * ds * q_row[c];
                    dv_acc[j * head_dim + c] += p * do_row[c];
                }
            }
            for (int64_t c = 0; c < head_dim; c++)
                dq[t * ld_dq + g * head_dim + c] = (float)dq_acc[c];
        }
    }
    for (int64_t j = 0; j < n; j++) {
        for (int64_t c = 0; c < head_dim; c++) {
            dk[j * ld_dkv + c] = (float)dk_acc[j * head_dim + c];
            dv[j * ld_dkv + c] = (float)dv_acc[j * head_dim + c];
        }
    }
    t2_free(dq_acc);
    t2_free(dv_acc);
    t2_free(dk_acc);
}

T2_CLONES
void t2_cross_entropy_forward(float *logprob, float *lse, const float *logits, int64_t ld,
                              const int32_t *targets, int64_t rows, int64_t vocab) {
    T2_ASSERT(vocab >= 1);
    float tmp[EXP_CHUNK];
    for (int64_t t = 0; t < rows; t++) {
        const float *row = logits + t * ld;
        float max = max_of(row, vocab), sum = 0.0f;
        for (int64_t j0 = 0; j0 < vocab; j0 += EXP_CHUNK) {
            int64_t m = vocab - j0 < EXP_CHUNK ? vocab - j0 : EXP_CHUNK;
            memcpy(tmp, row + j0, (size_t)m * sizeof(float));
            exp_shifted(tmp, m, max);
            sum += sum_lanes(tmp, m);
        }
        lse[t] = max + logf(sum);
        int32_t target = targets[t];
        logprob[t] = target >= 0 && target < vocab ? row[target] - lse[t] : 0.0f;
    }
}

void t2_cross_entropy_forward_ref(float *logprob, float *lse, const float *logits, int64_t ld,
                                  const int32_t *targets, int64_t rows, int64_t vocab) {
    for (int64_t t = 0; t < rows; t++) {
        const float *row = logits + t * ld;
        double max = row[0], sum = 0.0;
        for (int64_t j = 1; j < vocab; j++) max = row[j] > max ? row[j] : max;
        for (int64_t j = 0; j < vocab; j++) sum += exp((double)row[j] - max);
        double row_lse = max + log(sum);
        lse[t] = (float)row_lse;
        int32_t target = targets[t];
        logprob[t] = target >= 0 && target < vocab ? (float)(row[target] - row_lse) : 0.0f;
    }
}

T2_CLONES
void t2_cross_entropy_backward(float *dlogits, int64_t ld_d, const float *logits, int64_t ld,
                               const float *lse, const int32_t *targets, const float *weights,
                               int64_t rows, int64_t vocab) {
    for (int64_t t = 0; t < rows; t++) {
        float *restrict d_row = dlogits + t * ld_d;
        float w = weights[t];
        if (w == 0.0f) {
            memset(d_row, 0, (size_t)vocab * sizeof(float));
            continue;
        }
        T2_ASSERT(targets[t] >= 0 && targets[t] < vocab);
        memcpy(d_row, logits + t * ld, (size_t)vocab * sizeof(float));
        exp_shifted(d_row, vocab, lse[t]);
        for (int64_t j = 0; j < vocab; j++) d_row[j] *= w;
        d_row[targets[t]] -= w;
    }
}

void t2_cross_entropy_backward_ref(float *dlogits, int64_t ld_d, const float *logits,
                                   int64_t ld, const float *lse, const int32_t *targets,
                                   const float *weights, int64_t rows, int64_t vocab) {
    for (int64_t t = 0; t < rows; t++) {
        for (int64_t j = 0; j < vocab; j++) {
            double w = weights[t];
            double p = w == 0.0 ? 0.0 : exp((double)logits[t * ld + j] - lse[t]);
            dlogits[t * ld_d + j] = (float)(w * (p - (w != 0.0 && j == targets[t] ? 1.0 : 0.0)));
        }
    }
}

void t2_bias_backward(float *dbias, const float *x, int64_t rows, int64_t n, int64_t ld) {
    for (int64_t t = 0; t < rows; t++) {
        const float *restrict row = x + t * ld;
        for (int64_t j = 0; j < n; j++) dbias[j] += row[j];
    }
}

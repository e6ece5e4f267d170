/* Elementwise transformer kernels and the reference attention (see ops.h).
 *
 * Vectorisation: the project compiles as ISO C17 without -ffast-math, so the compiler neither
 * reassociates float sums nor contracts a*b+c into FMAs by itself. Reductions therefore keep
 * LANES explicit partial sums (which the compiler maps onto one SIMD register), products use
 * fmaf, and exp is the branch-free polynomial below instead of libm's scalar expf. The build
 * targets baseline x86-64, so the kernels whose loops need FMA or wide vectors are T2_CLONES
 * (linalg/clones.h): compiled for AVX-512, AVX2 + FMA and the baseline, picked at load time.
 * Reference: Cephes expf (S. Moshier) for the polynomial and the two-part ln 2. */
#include "linalg/ops.h"

#include "linalg/clones.h"
#include "linalg/lanes.h"

#include <math.h>
#include <string.h>

#include "base/assert.h"


/* The float's bits, and back. */
static inline uint32_t float_bits(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}
static inline float bits_float(uint32_t bits) {
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* A signed integer that orders like the float (for non-NaN values); its own inverse as a bit
 * map. Selects and clamps go through these integers because, with the default
 * -ftrapping-math, GCC will not if-convert float comparisons, which stops vectorisation. */
static inline int32_t order_key(uint32_t bits) {
    return (int32_t)(bits ^ ((0u - (bits >> 31)) & 0x7FFFFFFFu));
}
static inline uint32_t key_bits(int32_t key) {
    uint32_t k = (uint32_t)key;
    return k ^ ((0u - (k >> 31)) & 0x7FFFFFFFu);
}

/* exp(x): x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-7 polynomial, 2^n put into
 * the exponent bits. The rounding of x log2(e) to n uses the 1.5 * 2^23 trick (exact for
 * |n| < 2^22), so no float-to-int conversion is needed. x is clamped to [-87, 88] first;
 * below -87 the result is 0, and NaN stays NaN. */
static inline float exp_poly(float x) {
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    uint32_t bits = float_bits(x);
    int32_t key = order_key(bits), lo = order_key(0xC2AE0000u) /* -87 */,
            hi = order_key(0x42B00000u) /* 88 */;
    int32_t clamped = key < lo ? lo : key;
    clamped = clamped > hi ? hi : clamped;
    float xc = bits_float(key_bits(clamped));
    float shifted = fmaf(xc, 1.44269504088896341f, magic);
    float n = shifted - magic;
    float r = fmaf(n, -0.693359375f, xc);
    r = fmaf(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p, r * r, r) + 1.0f;
    /* the low mantissa bits of `shifted` hold n (two's complement around 0x400000) */
    float scale = bits_float((float_bits(shifted) - 0x4B400000u + 127u) << 23);
    /* masks, not selects: a select would let GCC sink the float work into a branch */
    uint32_t keep = 0u - (uint32_t)(key >= lo);
    uint32_t nan = 0u - (uint32_t)((bits & 0x7FFFFFFFu) > 0x7F800000u);
    uint32_t result = float_bits(p * scale) & keep;
    return bits_float((bits & nan) | (result & ~nan));
}

T2_CLONES
void t2_exp_inplace(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = exp_poly(x[i]);
}

T2_CLONES
void t2_rmsnorm_forward(float *out, const float *x, const float *weight, int64_t rows,
                        int64_t dim, float eps) {
    T2_ASSERT(dim > 0);
    for (int64_t t = 0; t < rows; t++) {
        const float *x_row = x + t * dim;
        float *out_row = out + t * dim;
        float inv_rms = 1.0f / sqrtf(dot(x_row, x_row, dim) / (float)dim + eps);
        for (int64_t i = 0; i < dim; i++) out_row[i] = x_row[i] * inv_rms * weight[i];
    }
}

void t2_rmsnorm_forward_ref(float *out, const float *x, const float *weight, int64_t rows,
                            int64_t dim, float eps) {
    for (int64_t t = 0; t < rows; t++) {
        double sum_sq = 0.0;
        for (int64_t i = 0; i < dim; i++) sum_sq += (double)x[t * dim + i] * x[t * dim + i];
        double inv_rms = 1.0 / sqrt(sum_sq / (double)dim + eps);
        for (int64_t i = 0; i < dim; i++)
            out[t * dim + i] = (float)(x[t * dim + i] * inv_rms * weight[i]);
    }
}

/* The largest of n >= 1 values (through order_key, so the loop vectorises; NaN counts as
 * largest). */
T2_CLONES
static float max_of(const float *x, int64_t n) {
    int32_t acc[LANES];
    for (int64_t l = 0; l < LANES; l++) acc[l] = order_key(float_bits(x[0]));
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        for (int64_t l = 0; l < LANES; l++) {
            int32_t key = order_key(float_bits(x[i + l]));
            acc[l] = key > acc[l] ? key : acc[l];
        }
    }
    int32_t max = acc[0];
    for (int64_t l = 1; l < LANES; l++) max = acc[l] > max ? acc[l] : max;
    for (; i < n; i++) {
        int32_t key = order_key(float_bits(x[i]));
        max = key > max ? key : max;
    }
    return bits_float(key_bits(max));
}

T2_CLONES
void t2_softmax_row(float *x, int64_t n, int64_t valid) {
    T2_ASSERT(valid >= 1 && valid <= n);
    float max = max_of(x, valid);
    for (int64_t j = 0; j < valid; j++) x[j] = exp_poly(x[j] - max);
    float inv = 1.0f / sum_lanes(x, valid);
    for (int64_t j = 0; j < valid; j++) x[j] *= inv;
    for (int64_t j = valid; j < n; j++) x[j] = 0.0f;
}

void t2_softmax_row_ref(float *x, int64_t n, int64_t valid) {
    T2_ASSERT(valid >= 1 && valid <= n);
    double max = x[0], sum = 0.0;
    for (int64_t j = 1; j < valid; j++) max = x[j] > max ? x[j] : max;
    for (int64_t j = 0; j < valid; j++) sum += exp((double)x[j] - max);
    for (int64_t j = 0; j < valid; j++) x[j] = (float)(exp((double)x[j] - max) / sum);
    for (int64_t j = valid; j < n; j++) x[j] = 0.0f;
}

T2_CLONES
void t2_swiglu_forward(float *out, int64_t ld_out, const float *gate, int64_t ld_gate,
                       const float *up, int64_t ld_up, int64_t rows, int64_t dim) {
    for (int64_t t = 0; t < rows; t++) {
        const float *gate_row = gate + t * ld_gate, *up_row = up + t * ld_up;
        float *out_row = out + t * ld_out;
        for (int64_t i = 0; i < dim; i++)
            out_row[i] = gate_row[i] / (1.0f + exp_poly(-gate_row[i])) * up_row[i];
    }
}

void t2_swiglu_forward_ref(float *out, int64_t ld_out, const float *gate, int64_t ld_gate,
                           const float *up, int64_t ld_up, int64_t rows, int64_t dim) {
    for (int64_t t = 0; t < rows; t++) {
        for (int64_t i = 0; i < dim; i++) {
            double g = gate[t * ld_gate + i];
            out[t * ld_out + i] = (float)(g / (1.0 + exp(-g)) * up[t * ld_up + i]);
        }
    }
}

void t2_rope_forward(float *x, int64_t n_heads, int64_t head_dim, const float *cos,
                     const float *sin) {
    T2_ASSERT(head_dim % 2 == 0);
    int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *restrict lo = x + h * head_dim, *restrict hi = lo + half;
        for (int64_t i = 0; i < half; i++) {
            float a = lo[i], b = hi[i];
            lo[i] = a * cos[i] - b * sin[i];
            hi[i] = b * cos[i] + a * sin[i];
        }
    }
}

void t2_add_bias(float *x, const float *bias, int64_t rows, int64_t n, int64_t ld) {
    for (int64_t t = 0; t < rows; t++) {
        float *row = x + t * ld;
        for (int64_t j = 0; j < n; j++) row[j] += bias[j];
    }
}

void t2_attention_forward_ref(float *out, int64_t ld_out, const float *q, int64_t ld_q,
                              const float *k, const float *v, int64_t n_q, int64_t n_group,
                              int64_t head_dim, int64_t first_pos, float scale) {
    for (int64_t t = 0; t < n_q; t++) {
        int64_t valid = first_pos + t + 1;
        for (int64_t g = 0; g < n_group; g++) {
            const float *q_head = q + t * ld_q + g * head_dim;
            double max = -INFINITY, sum = 0.0;
            for (int64_t j = 0; j < valid; j++) {
                double s = 0.0;
                for (int64_t i = 0; i < head_dim; i++) s += (double)q_head[i] * k[j * head_dim + i];
                max = s * scale > max ? s * scale : max;
            }
            for (int64_t i = 0; i < head_dim; i++) {
                double acc = 0.0;
                sum = 0.0;
                for (int64_t j = 0; j < valid; j++) {
                    double s = 0.0;
                    for (int64_t c = 0; c < head_dim; c++)
                        s += (double)q_head[c] * k[j * head_dim + c];
                    double p = exp(s * scale - max);
                    sum += p;
                    acc += p * v[j * head_dim + i];
                }
                out[t * ld_out + g * head_dim + i] = (float)(acc / sum);
            }
        }
    }
}

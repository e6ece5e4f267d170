/* Weight matrices in their storage type (see weight.h): element types, exact widening to
 * float32, and the products, which go to the skinny kernels, to BLIS on widened blocks of
 * W, or straight to t2_gemm for float32. Not here: the kernels themselves (skinny.c).
 * Reference: IEEE 754-2008 binary16; bfloat16 is the top half of a binary32. */
#include "linalg/weight.h"

#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "linalg/blis_setup.h"
#include "linalg/gemm.h"
#include "linalg/skinny.h"

/* Elements from which widening runs on several threads. */
enum { PARALLEL_WIDEN = 1 << 16 };

/* The float32 scratch a block of widened rows of W may take (floats): 8 MB, small beside
 * the products it feeds and big enough that BLIS sees long panels. */
enum { BLOCK_FLOATS = 1 << 21 };

size_t t2_weight_type_size(t2_weight_type type) {
    T2_ASSERT(type == T2_WEIGHT_F32 || type == T2_WEIGHT_BF16 || type == T2_WEIGHT_F16);
    return type == T2_WEIGHT_F32 ? sizeof(float) : sizeof(uint16_t);
}

const char *t2_weight_type_name(t2_weight_type type) {
    static const char *const names[] = {"F32", "BF16", "F16"};
    T2_ASSERT((unsigned)type <= T2_WEIGHT_F16);
    return names[type];
}

t2_weight t2_weight_offset(t2_weight w, int64_t offset) {
    w.data = (unsigned char *)w.data + (size_t)offset * t2_weight_type_size(w.type);
    return w;
}

int t2_weight_follows(t2_weight a, int64_t count, t2_weight b) {
    return a.type == b.type && b.data == t2_weight_offset(a, count).data;
}

static float float_of_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float t2_weight_bf16_to_f32(uint16_t bits) { return float_of_bits((uint32_t)bits << 16); }

float t2_weight_f16_to_f32(uint16_t bits) {
    uint32_t sign = (uint32_t)(bits & 0x8000u) << 16;
    uint32_t exponent = (bits >> 10) & 0x1fu, mantissa = bits & 0x3ffu;
    if (exponent == 0) { /* zero or subnormal: mantissa * 2^-24, exact in float */
        float magnitude = (float)mantissa * (1.0f / 16777216.0f);
        uint32_t magnitude_bits;
        memcpy(&magnitude_bits, &magnitude, sizeof magnitude_bits);
        return float_of_bits(sign | magnitude_bits);
    }
    if (exponent == 31) return float_of_bits(sign | 0x7f800000u | (mantissa << 13)); /* inf, NaN */
    return float_of_bits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

/* out[i] = element i of `half` (count elements) for one half-precision type. */
static void widen_half(float *restrict out, const uint16_t *restrict half, int64_t count,
                       t2_weight_type type) {
    if (type == T2_WEIGHT_BF16) {
        uint32_t *restrict bits = (uint32_t *)(void *)out; /* the same bytes, written as bits */
        for (int64_t i = 0; i < count; i++) bits[i] = (uint32_t)half[i] << 16;
    } else {
        for (int64_t i = 0; i < count; i++) out[i] = t2_weight_f16_to_f32(half[i]);
    }
}

void t2_weight_widen(float *out, t2_weight w, int64_t offset, int64_t count) {
    T2_ASSERT(offset >= 0 && count >= 0);
    if (w.type == T2_WEIGHT_F32) {
        memcpy(out, w.f32 + offset, (size_t)count * sizeof *out);
        return;
    }
    const uint16_t *half = w.half + offset;
    int threads = count >= PARALLEL_WIDEN ? t2_blis_threads() : 1;
    if (threads == 1) {
        widen_half(out, half, count, w.type);
        return;
    }
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int t = 0; t < threads; t++) {
        int64_t first = count * t / threads, last = count * (t + 1) / threads;
        widen_half(out + first, half + first, last - first, w.type);
    }
}

/* Rows of W per widened block: whole rows, at least one. */
static int64_t block_rows(int64_t k) { return k > 0 && k < BLOCK_FLOATS ? BLOCK_FLOATS / k : 1; }

/* The products of a half-precision W on BLIS, a block of W's rows at a time widened into a
 * scratch: C = A Wᵀ (+ C) block by block of C's columns, or with `input` C = A W (+ C) as a
 * sum over blocks of A's columns (the first block applies beta, the others add). */
static void blocked_gemm(float *c, int64_t ldc, const float *a, int64_t lda, t2_weight w,
                         int64_t m, int64_t n, int64_t k, float beta, int input) {
    int64_t rows = block_rows(k);
    if (rows > n) rows = n;
    float *block = t2_alloc_array((size_t)(rows * k), sizeof *block);
    for (int64_t j0 = 0; j0 < n; j0 += rows) {
        int64_t jn = n - j0 < rows ? n - j0 : rows;
        t2_weight_widen(block, w, j0 * k, jn * k);
        if (input)
            t2_gemm(c, ldc, a + j0, lda, 0, block, k, 0, m, k, jn, 1.0f, j0 == 0 ? beta : 1.0f);
        else
            t2_gemm(c + j0, ldc, a, lda, 0, block, k, 1, m, jn, k, 1.0f, beta);
    }
    t2_free(block);
}

void t2_weight_gemm(float *c, int64_t ldc, const float *a, int64_t lda, t2_weight w, int64_t m,
                    int64_t n, int64_t k, float beta) {
    T2_ASSERT(beta == 0.0f || beta == 1.0f);
    if (m == 0 || n == 0) return;
    if (w.type == T2_WEIGHT_F32)
        t2_gemm(c, ldc, a, lda, 0, w.f32, k, 1, m, n, k, 1.0f, beta);
    else if (m <= t2_skinny_max_rows_of(t2_skinny_active_kernel(), w.type))
        t2_skinny_forward_weight(c, ldc, a, lda, w, k, m, n, k, beta);
    else
        blocked_gemm(c, ldc, a, lda, w, m, n, k, beta, 0);
}

void t2_weight_gemm_input(float *c, int64_t ldc, const float *a, int64_t lda, t2_weight w,
                          int64_t m, int64_t n, int64_t k, float beta) {
    T2_ASSERT(beta == 0.0f || beta == 1.0f);
    if (m == 0 || k == 0) return;
    if (w.type == T2_WEIGHT_F32) {
        t2_gemm(c, ldc, a, lda, 0, w.f32, k, 0, m, k, n, 1.0f, beta);
    } else if (n == 0) { /* an empty sum: C = beta C */
        for (int64_t i = 0; beta == 0.0f && i < m; i++)
            memset(c + i * ldc, 0, (size_t)k * sizeof *c);
    } else {
        blocked_gemm(c, ldc, a, lda, w, m, n, k, beta, 1);
    }
}

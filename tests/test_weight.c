/* Weights in their storage type (linalg/weight.h) on the kernel T2_KERNEL names
 * (tests/skinny.cmake runs this once per kernel, as test_skinny):
 *   - exact widening of bfloat16 and float16, special values included (zeros, subnormals,
 *     the largest finite, infinities), against values written down from the formats' specs;
 *   - the skinny kernels on BF16 and F16 matrices equal bit for bit the same kernel on the
 *     matrices' float32 widening, on odd shapes (k tails, m past the tiles), both betas, 1 and
 *     2 threads;
 *   - t2_weight_gemm equals t2_gemm on the widening bit for bit, also past the skinny row
 *     limit where blocks of W are widened for BLIS (a W larger than one block);
 *   - t2_weight_gemm_input (C = A W) against the double-precision reference, and bit for bit
 *     equal to t2_gemm on the widening when W fits one block;
 *   - float32 weights take t2_gemm's path unchanged.
 * On the bfloat16 dot-product kernels (avx512bf16, plainbf16) a bfloat16 W is the exception:
 * there the product equals the other twin's bit for bit (when the CPU has both), for 1 and 2
 * threads, also on subnormal and huge inputs, and is close to a double-precision product of
 * A rounded to bfloat16 and W. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "linalg/gemm.h"
#include "linalg/skinny.h"
#include "linalg/weight.h"
#include "model/safetensors.h"

static void check_widen_specials(void) {
    /* bit patterns and the values IEEE 754 binary16 / bfloat16 give them */
    const struct { uint16_t bits; float f16, bf16; } cases[] = {
        {0x0000, 0.0f, 0.0f},
        {0x8000, -0.0f, -0.0f},
        {0x3c00, 1.0f, 0x1p-7f},
        {0xc000, -2.0f, -2.0f},
        {0x0001, 0x1p-24f, 0x1p-133f}, /* the smallest subnormals */
        {0x03ff, 0x1.ff8p-15f, 0x1.fep-120f},
        {0x0400, 0x1p-14f, 0x1p-119f},
        {0x7bff, 65504.0f, 0x1.fep+120f},
        {0x3f80, 1.875f, 1.0f},
        {0x7c00, INFINITY, 0x1p+121f},
        {0xfc00, -INFINITY, -0x1p+121f},
        {0x7f80, NAN, INFINITY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float f16 = t2_weight_f16_to_f32(cases[i].bits), bf16 = t2_weight_bf16_to_f32(cases[i].bits);
        int f16_ok = isnan(cases[i].f16) ? isnan(f16) && !isinf(f16)
                                          : memcmp(&f16, &cases[i].f16, sizeof f16) == 0;
        CHECK(f16_ok, "F16 0x%04x -> %a; expected %a", cases[i].bits, (double)f16,
              (double)cases[i].f16);
        CHECK(memcmp(&bf16, &cases[i].bf16, sizeof bf16) == 0, "BF16 0x%04x -> %a; expected %a",
              cases[i].bits, (double)bf16, (double)cases[i].bf16);
    }
    /* the threaded widening of a long array equals the one-by-one conversion */
    enum { N = 200003 };
    uint16_t *bits = t2_alloc_array(N, sizeof *bits);
    float *out = t2_alloc_array(N, sizeof *out);
    for (int64_t i = 0; i < N; i++) bits[i] = (uint16_t)(i * 40503u);
    for (int type = T2_WEIGHT_BF16; type <= T2_WEIGHT_F16; type++) {
        t2_weight w = {{.half = bits}, (t2_weight_type)type};
        t2_weight_widen(out, w, 3, N - 3);
        int64_t bad = 0;
        for (int64_t i = 3; i < N; i++) {
            float want = type == T2_WEIGHT_BF16 ? t2_weight_bf16_to_f32(bits[i])
                                                : t2_weight_f16_to_f32(bits[i]);
            bad += memcmp(&out[i - 3], &want, sizeof want) != 0;
        }
        CHECK(bad == 0, "%s widening of %d elements: %lld differ from one-by-one",
              t2_weight_type_name((t2_weight_type)type), N - 3, (long long)bad);
    }
    t2_free(out);
    t2_free(bits);
}

/* W (n x k) as random half-precision bits of `type` and as their float32 widening. */
typedef struct half_matrix {
    int64_t n, k;
    uint16_t *bits;
    float *wide;
    t2_weight w;
} half_matrix;

static half_matrix half_matrix_init(int64_t n, int64_t k, t2_weight_type type, t2_rng *rng) {
    half_matrix h = {n, k, t2_alloc_array((size_t)(n * k + 1), sizeof(uint16_t)),
                     t2_alloc_array((size_t)(n * k + 1), sizeof(float)), {{NULL}, type}};
    for (int64_t i = 0; i < n * k; i++) {
        float x = t2_rng_normal(rng);
        h.bits[i] = type == T2_WEIGHT_BF16 ? t2_dtype_f32_to_bf16(x) : t2_dtype_f32_to_f16(x);
        h.wide[i] = type == T2_WEIGHT_BF16 ? t2_dtype_bf16_to_f32(h.bits[i])
                                           : t2_dtype_f16_to_f32(h.bits[i]);
    }
    h.w.half = h.bits;
    return h;
}

static void half_matrix_free(half_matrix *h) {
    t2_free(h->bits);
    t2_free(h->wide);
}

static float *random_floats(int64_t n, t2_rng *rng) {
    float *x = t2_alloc_array((size_t)n, sizeof *x);
    for (int64_t i = 0; i < n; i++) x[i] = t2_rng_normal(rng);
    return x;
}

static int same_bits(const float *x, const float *y, int64_t n) {
    return memcmp(x, y, (size_t)n * sizeof *x) == 0;
}

/* 1 for the kernels that take bfloat16 dot products on bfloat16 weights. */
static int is_bf16_dot(t2_skinny_kernel kernel) {
    return kernel == T2_SKINNY_KERNEL_AVX512_BF16 || kernel == T2_SKINNY_KERNEL_PLAIN_BF16;
}

/* x rounded to bfloat16 (to nearest even; subnormals to zero, as vcvtne2ps2bf16), widened. */
static float bf16_rounded(float x) {
    if (fpclassify(x) == FP_SUBNORMAL) return copysignf(0.0f, x);
    return t2_dtype_bf16_to_f32(t2_dtype_f32_to_bf16(x));
}

/* C (m x n, ldc) = A_bf16 Wᵀ (+ C) in double, A's elements rounded to bfloat16 first. */
static void bf16_dot_ref(float *c, int64_t ldc, const float *a, const float *w_wide, int64_t m,
                         int64_t n, int64_t k, int beta) {
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            double sum = beta ? c[i * ldc + j] : 0.0;
            for (int64_t p = 0; p < k; p++)
                sum += (double)bf16_rounded(a[i * k + p]) * w_wide[j * k + p];
            c[i * ldc + j] = (float)sum;
        }
    }
}

/* The other twin of a bfloat16 dot-product kernel. */
static t2_skinny_kernel bf16_twin(t2_skinny_kernel kernel) {
    return kernel == T2_SKINNY_KERNEL_AVX512_BF16 ? T2_SKINNY_KERNEL_PLAIN_BF16
                                                  : T2_SKINNY_KERNEL_AVX512_BF16;
}

/* A bfloat16 dot-product kernel on h (bfloat16): the twin's bits (when the CPU runs it) on
 * both betas and 1 and 2 threads, and close to the double reference. */
static void check_bf16_dot(t2_skinny_kernel kernel, const half_matrix *h, int64_t m,
                           const float *a, const float *start) {
    int64_t n = h->n, k = h->k, ldc = n + 1;
    t2_skinny_kernel twin = bf16_twin(kernel);
    float *got = t2_alloc_array((size_t)(m * ldc), sizeof *got);
    float *want = t2_alloc_array((size_t)(m * ldc), sizeof *want);
    for (int beta = 0; beta <= 1; beta++) {
        for (int threads = 1; threads <= 2; threads++) {
            char what[128];
            snprintf(what, sizeof what, "%s kernel, BF16 m=%lld n=%lld k=%lld beta=%d threads=%d",
                     t2_skinny_kernel_name(kernel), (long long)m, (long long)n, (long long)k,
                     beta, threads);
            memcpy(got, start, (size_t)(m * ldc) * sizeof *got);
            t2_skinny_forward_weight_with(kernel, threads, got, ldc, a, k, h->w, k, m, n, k,
                                          (float)beta);
            if (t2_skinny_kernel_supported(twin)) {
                memcpy(want, start, (size_t)(m * ldc) * sizeof *want);
                t2_skinny_forward_weight_with(twin, 3 - threads, want, ldc, a, k, h->w, k, m, n,
                                              k, (float)beta);
                CHECK(same_bits(got, want, m * ldc), "%s: differs from %s", what,
                      t2_skinny_kernel_name(twin));
            }
            memcpy(want, start, (size_t)(m * ldc) * sizeof *want);
            bf16_dot_ref(want, ldc, a, h->wide, m, n, k, beta);
            t2_check_close(what, got, want, m * ldc, 1e-5 * sqrt((double)k) * 8, 1e-5);
        }
    }
    t2_free(got);
    t2_free(want);
}

/* The two twins on bit patterns the instructions treat specially: subnormal and huge
 * elements of A and W, so that products and sums underflow and overflow. */
static void check_bf16_dot_specials(t2_rng *rng) {
    if (!t2_skinny_kernel_supported(T2_SKINNY_KERNEL_AVX512_BF16)) return;
    int64_t m = 3, n = 17, k = 75;
    half_matrix h = half_matrix_init(n, k, T2_WEIGHT_BF16, rng);
    float *a = random_floats(m * k, rng);
    for (int64_t i = 0; i < m * k; i += 3) a[i] *= i % 2 ? 0x1p-130f : 0x1p-110f;
    for (int64_t i = 1; i < n * k; i += 4) h.bits[i] &= 0x807f; /* subnormal */
    for (int64_t i = 2; i < n * k; i += 7) h.bits[i] |= 0x7e00; /* ~2^125 */
    for (int64_t p = 0; p < k; p++) { /* sums that only subnormal inputs or results make */
        a[p] = 0x1p100f * t2_rng_normal(rng);          /* row 0 huge ... */
        h.bits[p] = (uint16_t)(h.bits[p] & 0x807f);     /* ... times W's row 0 subnormal */
        a[k + p] = 0x1p-70f * t2_rng_normal(rng);       /* row 1 tiny ... */
        h.bits[k + p] = t2_dtype_f32_to_bf16(0x1p-60f * t2_rng_normal(rng)); /* ... times tiny */
    }
    float *got = t2_alloc_array((size_t)(m * n), sizeof *got);
    float *want = t2_alloc_array((size_t)(m * n), sizeof *want);
    t2_skinny_forward_weight_with(T2_SKINNY_KERNEL_AVX512_BF16, 1, got, n, a, k, h.w, k, m, n, k,
                                  0.0f);
    t2_skinny_forward_weight_with(T2_SKINNY_KERNEL_PLAIN_BF16, 1, want, n, a, k, h.w, k, m, n, k,
                                  0.0f);
    int64_t differ = 0;
    for (int64_t i = 0; i < m * n; i++)
        differ += memcmp(&got[i], &want[i], sizeof got[i]) != 0 &&
                  !(isnan(got[i]) && isnan(want[i]));
    CHECK(differ == 0, "avx512bf16 and plainbf16 on subnormal and huge inputs: %lld of %lld "
          "differ", (long long)differ, (long long)(m * n));
    t2_free(got);
    t2_free(want);
    t2_free(a);
    half_matrix_free(&h);
}

/* The kernel on h equals the kernel on h's widening (m rows, both betas, 1 and 2 threads). */
static void check_skinny(t2_skinny_kernel kernel, const half_matrix *h, int64_t m, t2_rng *rng) {
    int64_t n = h->n, k = h->k, ldc = n + 1;
    float *a = random_floats(m * k, rng), *start = random_floats(m * ldc, rng);
    if (is_bf16_dot(kernel) && h->w.type == T2_WEIGHT_BF16) {
        check_bf16_dot(kernel, h, m, a, start);
        t2_free(a);
        t2_free(start);
        return;
    }
    float *got = t2_alloc_array((size_t)(m * ldc), sizeof *got);
    float *want = t2_alloc_array((size_t)(m * ldc), sizeof *want);
    for (int beta = 0; beta <= 1; beta++) {
        for (int threads = 1; threads <= 2; threads++) {
            memcpy(got, start, (size_t)(m * ldc) * sizeof *got);
            memcpy(want, start, (size_t)(m * ldc) * sizeof *want);
            t2_skinny_forward_weight_with(kernel, threads, got, ldc, a, k, h->w, k, m, n, k,
                                          (float)beta);
            t2_skinny_forward_with(kernel, threads, want, ldc, a, k, h->wide, k, m, n, k,
                                   (float)beta);
            CHECK(same_bits(got, want, m * ldc), "%s kernel, %s m=%lld n=%lld k=%lld beta=%d "
                  "threads=%d: differs from the float32 widening", t2_skinny_kernel_name(kernel),
                  t2_weight_type_name(h->w.type), (long long)m, (long long)n, (long long)k, beta,
                  threads);
        }
    }
    t2_free(a);
    t2_free(start);
    t2_free(got);
    t2_free(want);
}

/* t2_weight_gemm and t2_weight_gemm_input on h against t2_gemm on the widening (the forward
 * product close to it only where a bfloat16 dot-product kernel takes it). */
static void check_gemms(const half_matrix *h, int64_t m, int exact_input, t2_rng *rng) {
    int64_t n = h->n, k = h->k;
    float *a = random_floats(m * k, rng), *a_input = random_floats(m * n, rng);
    float *got = random_floats(m * (n > k ? n : k), rng);
    float *want = t2_alloc_array((size_t)(m * (n > k ? n : k)), sizeof *want);
    memcpy(want, got, (size_t)(m * (n > k ? n : k)) * sizeof *want);
    const char *type = t2_weight_type_name(h->w.type);
    t2_weight_gemm(got, n, a, k, h->w, m, n, k, 1.0f);
    t2_gemm(want, n, a, k, 0, h->wide, k, 1, m, n, k, 1.0f, 1.0f);
    t2_skinny_kernel active = t2_skinny_active_kernel();
    if (is_bf16_dot(active) && h->w.type == T2_WEIGHT_BF16 &&
        m <= t2_skinny_max_rows_of(active, T2_WEIGHT_BF16))
        t2_check_close("t2_weight_gemm BF16 on bfloat16 dot products", got, want, m * n,
                       1e-2 * sqrt((double)k), 1e-2);
    else
        CHECK(same_bits(got, want, m * n), "t2_weight_gemm %s m=%lld n=%lld k=%lld: differs "
              "from t2_gemm on the widening", type, (long long)m, (long long)n, (long long)k);
    t2_weight_gemm_input(got, k, a_input, n, h->w, m, n, k, 0.0f);
    t2_gemm(want, k, a_input, n, 0, h->wide, k, 0, m, k, n, 1.0f, 0.0f);
    char what[96];
    snprintf(what, sizeof what, "t2_weight_gemm_input %s m=%lld n=%lld k=%lld", type,
             (long long)m, (long long)n, (long long)k);
    if (exact_input)
        CHECK(same_bits(got, want, m * k), "%s: differs from t2_gemm on the widening", what);
    float *ref = t2_alloc_array((size_t)(m * k), sizeof *ref);
    t2_gemm_ref(ref, k, a_input, n, 0, h->wide, k, 0, m, k, n, 1.0f, 0.0f);
    t2_check_close(what, got, ref, m * k, 1e-5 * sqrt((double)n) * 8, 1e-5);
    t2_free(ref);
    t2_free(a);
    t2_free(a_input);
    t2_free(got);
    t2_free(want);
}

/* A float32 weight goes to t2_gemm unchanged. */
static void check_f32_path(t2_rng *rng) {
    int64_t m = 3, n = 40, k = 33;
    float *w = random_floats(n * k, rng), *a = random_floats(m * k, rng);
    float *got = t2_alloc_array((size_t)(m * n), sizeof *got);
    float *want = t2_alloc_array((size_t)(m * n), sizeof *want);
    t2_weight_gemm(got, n, a, k, t2_weight_of_f32(w), m, n, k, 0.0f);
    t2_gemm(want, n, a, k, 0, w, k, 1, m, n, k, 1.0f, 0.0f);
    CHECK(same_bits(got, want, m * n), "t2_weight_gemm F32 differs from t2_gemm");
    t2_free(w);
    t2_free(a);
    t2_free(got);
    t2_free(want);
}

int main(void) {
    t2_blis_setup(2, 1);
    t2_skinny_kernel active = t2_skinny_active_kernel();
    fprintf(stderr, "active kernel: %s\n", t2_skinny_kernel_name(active));
    t2_rng rng;
    t2_rng_init(&rng, 21);
    check_widen_specials();
    check_f32_path(&rng);
    check_bf16_dot_specials(&rng);
    const int64_t ns[] = {1, 9, 33}, ks[] = {1, 15, 16, 17, 47, 100}, ms[] = {1, 2, 3, 7, 13, 40};
    for (int type = T2_WEIGHT_BF16; type <= T2_WEIGHT_F16; type++) {
        for (size_t in = 0; in < sizeof ns / sizeof ns[0]; in++) {
            for (size_t ik = 0; ik < sizeof ks / sizeof ks[0]; ik++) {
                half_matrix h = half_matrix_init(ns[in], ks[ik], (t2_weight_type)type, &rng);
                for (size_t im = 0; active != T2_SKINNY_KERNEL_BLIS && im < 6; im++)
                    check_skinny(active, &h, ms[im], &rng);
                half_matrix_free(&h);
            }
        }
        /* products split over threads (the AVX-512 kernel widens B's blocks once from 28
         * rows on: m = 40), and past the skinny limit into widened blocks */
        half_matrix big = half_matrix_init(301, 1031, (t2_weight_type)type, &rng);
        if (active != T2_SKINNY_KERNEL_BLIS) {
            check_skinny(active, &big, 5, &rng);
            check_skinny(active, &big, 40, &rng);
        }
        /* the bfloat16 dot-product kernels take every row count, in blocks of 128 rows */
        int64_t limit = t2_skinny_max_rows_of(active, (t2_weight_type)type);
        int all_rows = limit == T2_SKINNY_ALL_ROWS;
        if (all_rows) check_skinny(active, &big, 300, &rng);
        check_gemms(&big, 1, 1, &rng);
        check_gemms(&big, all_rows ? 129 : limit + 1, 1, &rng);
        half_matrix_free(&big);
        half_matrix huge = half_matrix_init(700, 4100, (t2_weight_type)type, &rng); /* 2 blocks */
        check_gemms(&huge, all_rows ? 131 : limit + 3, 0, &rng);
        half_matrix_free(&huge);
        /* k past the bfloat16 kernel's slab of 2,048 (with a tail), within one row block and
         * over two: the twin's bits */
        half_matrix long_rows = half_matrix_init(20, 4100, (t2_weight_type)type, &rng);
        if (all_rows) {
            check_skinny(active, &long_rows, 5, &rng);
            check_skinny(active, &long_rows, 131, &rng);
        }
        half_matrix_free(&long_rows);
    }
    return t2_check_exit_code();
}

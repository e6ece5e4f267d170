/* The skinny kernels (linalg/skinny.h) on the kernel T2_KERNEL names (tests/skinny.cmake runs
 * this once per kernel; a kernel the CPU lacks is skipped with a message):
 *   - against the plain-loop t2_skinny_forward_ref on odd shapes: m = 1..40 and around 64,
 *     96 and 128 (the tiles' and the dispatch limits' edges), n and k around the vector
 *     widths, lda > k, ldb > k, ldc > n, beta 0 (over NaNs) and 1; C's padding columns stay
 *     untouched;
 *   - bitwise equal to the plain kernel (every kernel sums in the same lane order);
 *   - bitwise independent of the thread count (1, 2, 3) and of m (a row alone equals the same
 *     row inside a 97-row product);
 *   - t2_gemm sends A Bᵀ with up to t2_skinny_max_rows rows to the active kernel (bitwise its
 *     result) unless T2_KERNEL=blis, and stays correct either way and past the limit.
 * With T2_KERNEL unknown ("bogus" in skinny.cmake), the automatic choice must be active;
 * with T2_SKINNY_STREAMS, one decode row streams that many weight rows at once. */
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

static void fill(float *x, int64_t n, t2_rng *rng) {
    for (int64_t i = 0; i < n; i++) x[i] = t2_rng_normal(rng);
}

/* A random m x k A, n x k B and m x n C, each with padding past its width. */
typedef struct problem {
    int64_t m, n, k, lda, ldb, ldc;
    float *a, *b, *c;
} problem;

static problem problem_init(int64_t m, int64_t n, int64_t k, t2_rng *rng) {
    problem p = {m, n, k, k + 3, k + 5, n + 2, NULL, NULL, NULL};
    p.a = t2_alloc_array((size_t)(m * p.lda), sizeof(float));
    p.b = t2_alloc_array((size_t)(n * p.ldb), sizeof(float));
    p.c = t2_alloc_array((size_t)(m * p.ldc), sizeof(float));
    fill(p.a, m * p.lda, rng);
    fill(p.b, n * p.ldb, rng);
    fill(p.c, m * p.ldc, rng);
    return p;
}

static void problem_free(problem *p) {
    t2_free(p->a);
    t2_free(p->b);
    t2_free(p->c);
}

/* C after the kernel (copy of p->c, or NaNs when beta == 0, to show C is not read). */
static float *run(const problem *p, t2_skinny_kernel kernel, int threads, float beta) {
    float *c = t2_alloc_array((size_t)(p->m * p->ldc), sizeof(float));
    memcpy(c, p->c, (size_t)(p->m * p->ldc) * sizeof(float));
    for (int64_t i = 0; i < p->m && beta == 0.0f; i++)
        for (int64_t j = 0; j < p->n; j++) c[i * p->ldc + j] = NAN;
    t2_skinny_forward_with(kernel, threads, c, p->ldc, p->a, p->lda, p->b, p->ldb, p->m, p->n,
                           p->k, beta);
    return c;
}

static int bitwise_equal(const float *x, const float *y, int64_t n) {
    return memcmp(x, y, (size_t)n * sizeof(float)) == 0;
}

/* The kernel against the reference and the plain kernel on one shape, both betas. */
static void check_shape(t2_skinny_kernel kernel, int64_t m, int64_t n, int64_t k, t2_rng *rng) {
    problem p = problem_init(m, n, k, rng);
    for (int bz = 0; bz < 2; bz++) {
        float beta = bz ? 1.0f : 0.0f;
        float *got = run(&p, kernel, 1, beta), *plain = run(&p, T2_SKINNY_KERNEL_PLAIN, 1, beta);
        float *want = t2_alloc_array((size_t)(m * p.ldc), sizeof(float));
        memcpy(want, p.c, (size_t)(m * p.ldc) * sizeof(float));
        t2_skinny_forward_ref(want, p.ldc, p.a, p.lda, p.b, p.ldb, m, n, k, beta);
        char what[128];
        snprintf(what, sizeof what, "%s m=%lld n=%lld k=%lld beta=%g",
                 t2_skinny_kernel_name(kernel), (long long)m, (long long)n, (long long)k, beta);
        /* float sums of k unit-variance terms: error ~ eps * sqrt(k) * |terms|; the padding
         * columns must come back exactly (want holds them unchanged) */
        t2_check_close(what, got, want, m * p.ldc, 1e-5 * sqrt((double)k) * 8, 1e-5);
        CHECK(bitwise_equal(got, plain, m * p.ldc), "%s: differs from the plain kernel", what);
        t2_free(got);
        t2_free(plain);
        t2_free(want);
    }
    problem_free(&p);
}

/* 1, 2 and 3 threads give the same bits, on a product large enough to be split. */
static void check_threads(t2_skinny_kernel kernel, int64_t m, int64_t n, int64_t k,
                          t2_rng *rng) {
    CHECK(m * n * k >= T2_SKINNY_PARALLEL_MACS, "shape too small to run threaded");
    problem p = problem_init(m, n, k, rng);
    float *one = run(&p, kernel, 1, 1.0f);
    for (int threads = 2; threads <= 3; threads++) {
        float *many = run(&p, kernel, threads, 1.0f);
        CHECK(bitwise_equal(one, many, m * p.ldc), "%s m=%lld n=%lld k=%lld: %d threads differ "
              "from 1", t2_skinny_kernel_name(kernel), (long long)m, (long long)n, (long long)k,
              threads);
        t2_free(many);
    }
    t2_free(one);
    problem_free(&p);
}

/* Each row of a 97-row product equals that row computed alone. */
static void check_rows_independent(t2_skinny_kernel kernel, t2_rng *rng) {
    problem p = problem_init(97, 37, 75, rng);
    float *all = run(&p, kernel, 1, 0.0f);
    float *row = t2_alloc_array((size_t)p.n, sizeof(float));
    for (int64_t i = 0; i < p.m; i++) {
        t2_skinny_forward_with(kernel, 1, row, p.n, p.a + i * p.lda, p.lda, p.b, p.ldb, 1, p.n,
                               p.k, 0.0f);
        CHECK(bitwise_equal(row, all + i * p.ldc, p.n), "%s: row %lld alone differs from the "
              "same row in %lld rows", t2_skinny_kernel_name(kernel), (long long)i,
              (long long)p.m);
    }
    t2_free(row);
    t2_free(all);
    problem_free(&p);
}

/* t2_gemm(A, Bᵀ): the active kernel's bits up to its row limit, else BLIS's; close to the
 * reference either way. */
static void check_gemm_dispatch(t2_skinny_kernel active, t2_rng *rng) {
    int64_t limit = t2_skinny_max_rows(active);
    CHECK(limit >= 0 && (limit == 0) == (active == T2_SKINNY_KERNEL_BLIS),
          "row limit %lld for kernel %s", (long long)limit, t2_skinny_kernel_name(active));
    const int64_t rows[] = {1, 5, limit, limit + 1};
    for (size_t s = 0; s < sizeof rows / sizeof rows[0]; s++) {
        if (rows[s] < 1) continue;
        problem p = problem_init(rows[s], 300, 129, rng);
        for (int bz = 0; bz < 2; bz++) {
            float beta = bz ? 1.0f : 0.0f;
            float *c = t2_alloc_array((size_t)(p.m * p.ldc), sizeof(float));
            float *want = t2_alloc_array((size_t)(p.m * p.ldc), sizeof(float));
            memcpy(c, p.c, (size_t)(p.m * p.ldc) * sizeof(float));
            memcpy(want, p.c, (size_t)(p.m * p.ldc) * sizeof(float));
            t2_gemm(c, p.ldc, p.a, p.lda, 0, p.b, p.ldb, 1, p.m, p.n, p.k, 1.0f, beta);
            t2_skinny_forward_ref(want, p.ldc, p.a, p.lda, p.b, p.ldb, p.m, p.n, p.k, beta);
            t2_check_close("t2_gemm A Bᵀ", c, want, p.m * p.ldc, 1e-5 * sqrt(129.0) * 8, 1e-5);
            if (p.m <= limit) {
                float *kernel = run(&p, active, t2_blis_threads(), beta);
                CHECK(bitwise_equal(c, kernel, p.m * p.ldc), "t2_gemm m=%lld beta=%g did not "
                      "run the %s kernel", (long long)p.m, beta, t2_skinny_kernel_name(active));
                t2_free(kernel);
            }
            t2_free(c);
            t2_free(want);
        }
        problem_free(&p);
    }
}

/* The kernel T2_KERNEL names; -1 when it names none. */
static int requested_kernel(void) {
    const char *env = getenv("T2_KERNEL");
    for (int kernel = T2_SKINNY_KERNEL_BLIS; env && kernel <= T2_SKINNY_KERNEL_PLAIN_BF16;
         kernel++)
        if (strcmp(env, t2_skinny_kernel_name(kernel)) == 0) return kernel;
    return -1;
}

static t2_skinny_kernel automatic_kernel(void) {
    if (t2_skinny_bf16_dot_speedup() >= T2_SKINNY_BF16_MIN_SPEEDUP)
        return T2_SKINNY_KERNEL_AVX512_BF16;
    if (t2_skinny_kernel_supported(T2_SKINNY_KERNEL_AVX512)) return T2_SKINNY_KERNEL_AVX512;
    if (t2_skinny_kernel_supported(T2_SKINNY_KERNEL_AVX2)) return T2_SKINNY_KERNEL_AVX2;
    return T2_SKINNY_KERNEL_BLIS;
}

int main(void) {
    t2_blis_setup(2, 1);
    int requested = requested_kernel();
    if (requested >= 0 && !t2_skinny_kernel_supported(requested)) {
        fprintf(stderr, "skipped: T2_KERNEL=%s, which this CPU cannot run\n",
                t2_skinny_kernel_name(requested));
        return 0;
    }
    t2_skinny_kernel active = t2_skinny_active_kernel();
    t2_skinny_kernel want_active = requested >= 0 ? (t2_skinny_kernel)requested
                                                  : automatic_kernel();
    CHECK(active == want_active, "active kernel %s; expected %s (T2_KERNEL=%s)",
          t2_skinny_kernel_name(active), t2_skinny_kernel_name(want_active),
          getenv("T2_KERNEL") ? getenv("T2_KERNEL") : "(unset)");
    fprintf(stderr, "active kernel: %s\n", t2_skinny_kernel_name(active));
    /* one decode row's weight streams: T2_SKINNY_STREAMS when it names 1 or 8 */
    const char *streams_env = getenv("T2_SKINNY_STREAMS");
    int streams = t2_skinny_single_row_streams();
    fprintf(stderr, "weight streams at one row: %d\n", streams);
    CHECK(streams == 1 || streams == 8, "%d weight streams at one row; expected 1 or 8", streams);
    if (streams_env != NULL)
        CHECK(streams == atoi(streams_env), "%d weight streams at one row; T2_SKINNY_STREAMS=%s",
              streams, streams_env);
    /* the probe behind the automatic choice: 0 without AVX-512-BF16, a plausible ratio with */
    double speedup = t2_skinny_bf16_dot_speedup();
    fprintf(stderr, "vdpbf16ps multiply-adds per second / vfmadd231ps's: %.2f\n", speedup);
    if (t2_skinny_kernel_supported(T2_SKINNY_KERNEL_AVX512_BF16))
        CHECK(speedup > 0.1 && speedup < 10.0, "bf16 dot speedup %g: not a measured ratio",
              speedup);
    else
        CHECK(speedup == 0.0, "bf16 dot speedup %g on a CPU without AVX-512-BF16", speedup);
    t2_rng rng;
    t2_rng_init(&rng, 11);
    /* the kernel under test: the active one, or every SIMD one the CPU has when it is BLIS */
    t2_skinny_kernel kernels[2] = {active, active};
    int n_kernels = 1;
    if (active == T2_SKINNY_KERNEL_BLIS) {
        n_kernels = 0;
        for (int kernel = T2_SKINNY_KERNEL_AVX2; kernel <= T2_SKINNY_KERNEL_AVX512; kernel++)
            if (t2_skinny_kernel_supported(kernel)) kernels[n_kernels++] = kernel;
    }
    const int64_t ns[] = {1, 3, 8, 13, 33}, ks[] = {1, 5, 8, 15, 16, 17, 31, 64, 100};
    for (int u = 0; u < n_kernels; u++) {
        for (int64_t m = 1; m <= 130; m++) {
            if (m > 40 && labs((long)(m % 32) - 16) < 15) continue; /* m = 1..40, 63..65, ... */
            for (size_t in = 0; in < sizeof ns / sizeof ns[0]; in++)
                for (size_t ik = 0; ik < sizeof ks / sizeof ks[0]; ik++)
                    if (m <= 6 || (in + ik + (size_t)m) % 5 == 0) /* every m, a spread of shapes */
                        check_shape(kernels[u], m, ns[in], ks[ik], &rng);
        }
        check_shape(kernels[u], 7, 301, 1031, &rng);
        check_threads(kernels[u], 1, 1000, 301, &rng);
        check_threads(kernels[u], 5, 333, 129, &rng);
        check_threads(kernels[u], 33, 67, 100, &rng);
        check_rows_independent(kernels[u], &rng);
    }
    check_gemm_dispatch(active, &rng);
    return t2_check_exit_code();
}

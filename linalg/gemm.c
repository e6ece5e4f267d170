/* sgemm through BLIS's typed API with row/column strides, and the dispatch of skinny
 * products A Bᵀ to linalg/skinny.h (see gemm.h). */
#define BLIS_DISABLE_BLAS_DEFS
#include <blis.h>

#include "linalg/gemm.h"

#include <limits.h>

#include "base/assert.h"
#include "linalg/skinny.h"

static dim_t to_dim(int64_t v) {
    T2_ASSERT(v >= 0 && v <= INT_MAX);
    return (dim_t)v;
}

void t2_gemm_strided(float *c, int64_t rs_c, int64_t cs_c, const float *a, int64_t rs_a,
                     int64_t cs_a, const float *b, int64_t rs_b, int64_t cs_b, int64_t m,
                     int64_t n, int64_t k, float alpha, float beta) {
    if (m == 0 || n == 0) return;
    bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, to_dim(m), to_dim(n), to_dim(k), &alpha,
              (float *)a, (inc_t)rs_a, (inc_t)cs_a, (float *)b, (inc_t)rs_b, (inc_t)cs_b, &beta,
              c, (inc_t)rs_c, (inc_t)cs_c);
}

void t2_gemm_strided_serial(float *c, int64_t rs_c, const float *a, int64_t rs_a, int64_t cs_a,
                            const float *b, int64_t rs_b, int64_t cs_b, int64_t m, int64_t n,
                            int64_t k, float alpha, float beta) {
    if (m == 0 || n == 0) return;
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(1, &rntm);
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, to_dim(m), to_dim(n), to_dim(k), &alpha,
                 (float *)a, (inc_t)rs_a, (inc_t)cs_a, (float *)b, (inc_t)rs_b, (inc_t)cs_b,
                 &beta, c, (inc_t)rs_c, 1, NULL, &rntm);
}

void t2_gemm(float *c, int64_t ldc, const float *a, int64_t lda, int trans_a, const float *b,
             int64_t ldb, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, float beta) {
    T2_ASSERT(ldc >= n);
    T2_ASSERT(lda >= (trans_a ? m : k));
    T2_ASSERT(ldb >= (trans_b ? k : n));
    if (!trans_a && trans_b && alpha == 1.0f && (beta == 0.0f || beta == 1.0f) && m >= 1 &&
        m <= t2_skinny_max_rows(t2_skinny_active_kernel())) {
        t2_skinny_forward(c, ldc, a, lda, b, ldb, m, n, k, beta);
        return;
    }
    int64_t rs_a = trans_a ? 1 : lda, cs_a = trans_a ? lda : 1;
    int64_t rs_b = trans_b ? 1 : ldb, cs_b = trans_b ? ldb : 1;
    t2_gemm_strided(c, ldc, 1, a, rs_a, cs_a, b, rs_b, cs_b, m, n, k, alpha, beta);
}

void t2_gemm_ref(float *c, int64_t ldc, const float *a, int64_t lda, int trans_a, const float *b,
                 int64_t ldb, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 float beta) {
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            double sum = 0.0;
            for (int64_t p = 0; p < k; p++) {
                double a_ip = trans_a ? a[p * lda + i] : a[i * lda + p];
                double b_pj = trans_b ? b[j * ldb + p] : b[p * ldb + j];
                sum += a_ip * b_pj;
            }
            float *c_ij = &c[i * ldc + j];
            *c_ij = (float)(alpha * sum + (beta == 0.0f ? 0.0 : beta * (double)*c_ij));
        }
    }
}

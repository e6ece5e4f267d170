/* Single-precision matrix products over BLIS.
 *
 * C (m x n) = alpha * op(A) * op(B) + beta * C, row-major with leading dimensions (ldc >= n).
 * op(A) is m x k: A is m x k (lda >= k) when trans_a == 0, else A is k x m (lda >= m).
 * op(B) is k x n: B is k x n (ldb >= n) when trans_b == 0, else B is n x k (ldb >= k).
 * beta == 0 overwrites C (NaNs in C are not propagated); beta == 1 accumulates.
 * t2_gemm sends C = A Bᵀ (+ C) with few rows — trans_a == 0, trans_b == 1, alpha == 1,
 * beta 0 or 1, 1 <= m <= t2_skinny_max_rows(active kernel): decoding's linear layers — to
 * the skinny kernels of linalg/skinny.h, everything else to BLIS; t2_gemm_strided always
 * goes to BLIS. Threading: BLIS's thread count (linalg/blis_setup.h) either way. */
#ifndef T2_LINALG_GEMM_H
#define T2_LINALG_GEMM_H

#include <stdint.h>

void t2_gemm(float *c, int64_t ldc, const float *a, int64_t lda, int trans_a, const float *b,
             int64_t ldb, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, float beta);

/* The same product with explicit row and column strides for each operand (for strided views
 * such as one attention head inside a KV cache row). op() is applied through the strides:
 * element (i, j) of A is a[i * rs_a + j * cs_a] with A already in op() orientation. */
void t2_gemm_strided(float *c, int64_t rs_c, int64_t cs_c, const float *a, int64_t rs_a,
                     int64_t cs_a, const float *b, int64_t rs_b, int64_t cs_b, int64_t m,
                     int64_t n, int64_t k, float alpha, float beta);

/* t2_gemm_strided on the calling thread only (BLIS with a one-thread runtime, c's column
 * stride 1), so that several products can run at once on the threads of a caller without
 * BLIS starting threads of its own inside each. Each element sums over k as the threaded
 * product does. */
void t2_gemm_strided_serial(float *c, int64_t rs_c, const float *a, int64_t rs_a, int64_t cs_a,
                            const float *b, int64_t rs_b, int64_t cs_b, int64_t m, int64_t n,
                            int64_t k, float alpha, float beta);

/* Plain-loop twin of t2_gemm, accumulating in double: the reference for tests. */
void t2_gemm_ref(float *c, int64_t ldc, const float *a, int64_t lda, int trans_a, const float *b,
                 int64_t ldb, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 float beta);

#endif

/* Single-process SVD through LAPACK's ?gesdd, the nominal flop count, and the
 * reconstruction / orthogonality checks of a decomposition (see svd.h).
 * The distributed routines are in svd_dist.c and svd_check_dist.c.
 * Reference: LAPACK 3.11 dgesdd.f (JOBZ = 'S'); Golub & Van Loan 8.6.3 for the count. */
#define BLIS_DISABLE_BLAS_DEFS
#include <blis.h>
#include <lapack.h>

#include "linalg/svd.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

double t2_svd_flops(int64_t rows, int64_t cols) {
    double m = (double)(rows > cols ? rows : cols), n = (double)(rows > cols ? cols : rows);
    return 6.0 * m * n * n + 20.0 * n * n * n;
}

int64_t t2_svd_lapack_bytes(t2_precision p, int64_t rows, int64_t cols) {
    int64_t r = rows < cols ? rows : cols, big = rows > cols ? rows : cols;
    int64_t elements = rows * cols + rows * r + 2 * cols * r + 4 * r * r + 8 * big;
    return elements * (int64_t)t2_precision_size(p) + 8 * r * (int64_t)sizeof(int);
}

/* Copies the m x n column-major src (leading dimension m) into dst as row-major m x n:
 * dst[i][j] = src[i + j m]. */
static void transpose_to_row_major(t2_precision p, void *dst, const void *src, int64_t m,
                                   int64_t n) {
    if (p == T2_PRECISION_DOUBLE) {
        double *d = dst;
        const double *s = src;
        for (int64_t j = 0; j < n; j++)
            for (int64_t i = 0; i < m; i++) d[i * n + j] = s[i + j * m];
    } else {
        float *d = dst;
        const float *s = src;
        for (int64_t j = 0; j < n; j++)
            for (int64_t i = 0; i < m; i++) d[i * n + j] = s[i + j * m];
    }
}

static lapack_int to_lapack_int(int64_t v) {
    T2_ASSERT(v >= 0 && v <= INT_MAX);
    return (lapack_int)v;
}

int t2_svd_lapack(t2_precision p, void *u, void *s, void *v, void *w, int64_t rows,
                  int64_t cols, t2_error *err) {
    /* The row-major W is the column-major A = W^T (cols x rows). ?gesdd gives
     * A = Ua diag(s) VTa, so W = VTa^T diag(s) Ua^T: U = VTa^T, whose row-major form is VTa
     * itself (r x rows, leading dimension r), and V = Ua, transposed into place. */
    int64_t r = rows < cols ? rows : cols;
    lapack_int m = to_lapack_int(cols), n = to_lapack_int(rows), lda = m > 1 ? m : 1;
    lapack_int ldu = lda, ldvt = to_lapack_int(r > 1 ? r : 1), info = 0, query = -1;
    lapack_int *iwork = t2_alloc_array((size_t)(8 * r + 1), sizeof *iwork);
    size_t elem = t2_precision_size(p);
    void *ua = t2_alloc((size_t)(cols * r + 1) * elem);
    if (p == T2_PRECISION_DOUBLE) {
        double size = 0;
        LAPACK_dgesdd("S", &m, &n, w, &lda, s, ua, &ldu, u, &ldvt, &size, &query, iwork, &info);
        lapack_int lwork = to_lapack_int((int64_t)size + 1);
        double *work = t2_alloc((size_t)lwork * sizeof *work);
        LAPACK_dgesdd("S", &m, &n, w, &lda, s, ua, &ldu, u, &ldvt, work, &lwork, iwork, &info);
        t2_free(work);
    } else {
        float size = 0;
        LAPACK_sgesdd("S", &m, &n, w, &lda, s, ua, &ldu, u, &ldvt, &size, &query, iwork, &info);
        lapack_int lwork = to_lapack_int((int64_t)size + 1);
        float *work = t2_alloc((size_t)lwork * sizeof *work);
        LAPACK_sgesdd("S", &m, &n, w, &lda, s, ua, &ldu, u, &ldvt, work, &lwork, iwork, &info);
        t2_free(work);
    }
    if (info == 0) transpose_to_row_major(p, v, ua, cols, r);
    t2_free(ua);
    t2_free(iwork);
    if (info > 0)
        return t2_error_set(err, "%cgesdd: the bidiagonal divide and conquer did not converge "
                            "(info %d) on a %lld x %lld matrix; expected finite input",
                            p == T2_PRECISION_DOUBLE ? 'd' : 's', (int)info, (long long)rows,
                            (long long)cols);
    T2_ASSERT(info == 0); /* negative: an argument was wrong */
    return 0;
}

/* c (m x n, row-major, ldc) = alpha a b + beta c, where a is m x k and b k x n given by row
 * and column strides, in precision p (BLIS). */
static void gemm(t2_precision p, int64_t m, int64_t n, int64_t k, double alpha, const void *a,
                 int64_t rs_a, int64_t cs_a, const void *b, int64_t rs_b, int64_t cs_b,
                 double beta, void *c, int64_t ldc) {
    if (m == 0 || n == 0) return;
    if (p == T2_PRECISION_DOUBLE) {
        bli_dgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n, (dim_t)k, &alpha,
                  (double *)a, rs_a, cs_a, (double *)b, rs_b, cs_b, &beta, c, ldc, 1);
    } else {
        float af = (float)alpha, bf = (float)beta;
        bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n, (dim_t)k, &af,
                  (float *)a, rs_a, cs_a, (float *)b, rs_b, cs_b, &bf, c, ldc, 1);
    }
}

static double get(t2_precision p, const void *x, int64_t i) {
    return p == T2_PRECISION_DOUBLE ? ((const double *)x)[i] : (double)((const float *)x)[i];
}

/* max |X^T X - I| for the row-major n x r matrix X. */
static double orthogonality(t2_precision p, const void *x, int64_t n, int64_t r) {
    size_t elem = t2_precision_size(p);
    void *g = t2_alloc((size_t)(r * r + 1) * elem);
    gemm(p, r, r, n, 1.0, x, 1, r, x, r, 1, 0.0, g, r);
    double worst = 0.0;
    for (int64_t i = 0; i < r; i++)
        for (int64_t j = 0; j < r; j++)
            worst = fmax(worst, fabs(get(p, g, i * r + j) - (i == j ? 1.0 : 0.0)));
    t2_free(g);
    return worst;
}

int t2_svd_descending(t2_precision p, const void *s, int64_t r) {
    for (int64_t k = 0; k < r; k++) {
        double x = get(p, s, k);
        if (!(x >= 0.0) || (k > 0 && x > get(p, s, k - 1))) return 0;
    }
    return 1;
}

void t2_svd_check_local(t2_svd_check *c, t2_precision p, const void *w, const void *u,
                        const void *s, const void *v, int64_t rows, int64_t cols) {
    int64_t r = rows < cols ? rows : cols;
    size_t elem = t2_precision_size(p);
    /* residual = W - (U diag(s)) V^T */
    void *us = t2_alloc((size_t)(rows * r + 1) * elem);
    void *res = t2_alloc((size_t)(rows * cols + 1) * elem);
    memcpy(res, w, (size_t)(rows * cols) * elem);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t k = 0; k < r; k++) {
            double x = get(p, u, i * r + k) * get(p, s, k);
            if (p == T2_PRECISION_DOUBLE) ((double *)us)[i * r + k] = x;
            else ((float *)us)[i * r + k] = (float)x;
        }
    gemm(p, rows, cols, r, -1.0, us, r, 1, v, 1, r, 1.0, res, cols);
    double res_sq = 0.0, w_sq = 0.0;
    for (int64_t i = 0; i < rows * cols; i++) {
        res_sq += get(p, res, i) * get(p, res, i);
        w_sq += get(p, w, i) * get(p, w, i);
    }
    c->residual = w_sq > 0.0 ? sqrt(res_sq / w_sq) : sqrt(res_sq);
    c->u_orth = orthogonality(p, u, rows, r);
    c->v_orth = orthogonality(p, v, cols, r);
    c->descending = t2_svd_descending(p, s, r);
    t2_free(res);
    t2_free(us);
}

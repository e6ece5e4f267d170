/* The single-process SVD (t2_svd_lapack over ?gesdd) and the --verify checks: on matrices
 * with known singular values the values come back to machine precision, the residual and
 * orthogonality are at the level of machine epsilon times the size, in double and float,
 * for tall, wide, square and one-row matrices; and the checks do catch a broken
 * decomposition (a check that could never fail would prove nothing). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "linalg/svd.h"
#include "svd_fixture.h"

static void check_known_spectrum(int64_t rows, int64_t cols, t2_precision p) {
    int64_t r = rows < cols ? rows : cols;
    double *w = svd_fixture_matrix(rows, cols, SVD_FIXTURE_GRADED, 77 + (uint64_t)rows);
    size_t elem = t2_precision_size(p);
    void *wp = t2_alloc((size_t)(rows * cols) * elem), *w0 = t2_alloc((size_t)(rows * cols) * elem);
    for (int64_t i = 0; i < rows * cols; i++) {
        if (p == T2_PRECISION_DOUBLE) ((double *)wp)[i] = w[i];
        else ((float *)wp)[i] = (float)w[i];
    }
    memcpy(w0, wp, (size_t)(rows * cols) * elem);
    void *u = t2_alloc((size_t)(rows * r) * elem), *v = t2_alloc((size_t)(cols * r) * elem);
    void *s = t2_alloc((size_t)r * elem);
    t2_error err = {{0}};
    int status = t2_svd_lapack(p, u, s, v, wp, rows, cols, &err);
    CHECK(status == 0, "%s", err.msg);
    double eps = p == T2_PRECISION_DOUBLE ? DBL_EPSILON : FLT_EPSILON;
    double tol = 64.0 * eps * (double)(rows > cols ? rows : cols);
    double *s_got = t2_alloc((size_t)r * sizeof *s_got),
           *s_want = t2_alloc((size_t)r * sizeof *s_want);
    for (int64_t k = 0; k < r; k++) {
        s_got[k] = p == T2_PRECISION_DOUBLE ? ((double *)s)[k] : ((float *)s)[k];
        s_want[k] = pow(10.0, -3.0 * (double)k / (double)r);
    }
    char what[96];
    snprintf(what, sizeof what, "singular values %lldx%lld %s", (long long)rows,
             (long long)cols, t2_precision_name(p));
    t2_check_close_double(what, s_got, s_want, r, tol, 0.0);
    t2_svd_check c;
    t2_svd_check_local(&c, p, w0, u, s, v, rows, cols);
    CHECK(c.residual <= tol && c.u_orth <= tol && c.v_orth <= tol && c.descending,
          "%s: residual %.3g, |U^T U - I| %.3g, |V^T V - I| %.3g, descending %d (tolerance %.3g)",
          what, c.residual, c.u_orth, c.v_orth, c.descending, tol);

    /* The checks must notice a wrong factor and an unsorted s. */
    if (p == T2_PRECISION_DOUBLE) {
        ((double *)u)[0] += 0.1;
        ((double *)s)[r - 1] = 2.0;
    } else {
        ((float *)u)[0] += 0.1f;
        ((float *)s)[r - 1] = 2.0f;
    }
    t2_svd_check_local(&c, p, w0, u, s, v, rows, cols);
    CHECK(c.residual > 1e-3 && c.u_orth > 1e-3 && (r == 1 || !c.descending),
          "%s: a corrupted decomposition passed: residual %.3g, |U^T U - I| %.3g, descending %d",
          what, c.residual, c.u_orth, c.descending);
    t2_free(s_got);
    t2_free(s_want);
    t2_free(u);
    t2_free(v);
    t2_free(s);
    t2_free(wp);
    t2_free(w0);
    t2_free(w);
}

int main(void) {
    static const int64_t shapes[][2] = {{40, 40}, {64, 20}, {20, 64}, {33, 31}, {1, 9}, {9, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int p = 0; p < 2; p++)
            check_known_spectrum(shapes[i][0], shapes[i][1], (t2_precision)p);
    CHECK(t2_svd_flops(100, 10) == t2_svd_flops(10, 100), "the count depends on orientation");
    CHECK(t2_svd_flops(100, 10) == 6.0 * 100 * 100 + 20.0 * 1000, "R-SVD count: %g",
          t2_svd_flops(100, 10));
    return t2_check_exit_code();
}

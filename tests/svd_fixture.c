/* Test matrices with chosen spectra and SVD comparison up to signs and rotations (see
 * svd_fixture.h). */
#include "svd_fixture.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"

double *svd_fixture_matrix(int64_t rows, int64_t cols, svd_fixture_spectrum spectrum,
                           uint64_t seed) {
    int64_t r = rows < cols ? rows : cols;
    double *w = t2_alloc((size_t)(rows * cols) * sizeof *w);
    t2_rng rng;
    t2_rng_init(&rng, seed);
    for (int64_t i = 0; i < rows * cols; i++) w[i] = (double)t2_rng_normal(&rng);
    if (spectrum == SVD_FIXTURE_GAUSSIAN) return w;
    /* W = U diag(sigma) V^T with the orthonormal U, V of a Gaussian matrix. */
    double *u = t2_alloc((size_t)(rows * r) * sizeof *u),
           *v = t2_alloc((size_t)(cols * r) * sizeof *v);
    double *s = t2_alloc((size_t)r * sizeof *s);
    t2_error err = {{0}};
    int status = t2_svd_lapack(T2_PRECISION_DOUBLE, u, s, v, w, rows, cols, &err);
    CHECK(status == 0, "fixture SVD: %s", err.msg);
    for (int64_t k = 0; k < r; k++) {
        switch (spectrum) {
        case SVD_FIXTURE_GRADED: s[k] = pow(10.0, -3.0 * (double)k / (double)r); break;
        case SVD_FIXTURE_CLUSTERED: s[k] = k < 3 ? 3.0 : k == 3 ? 2.0 : 1.0; break;
        default: s[k] = k == 0 ? 5.0 : k == 1 ? 1.0 : 0.0; break;
        }
    }
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            double sum = 0.0;
            for (int64_t k = 0; k < r; k++) sum += u[i * r + k] * s[k] * v[j * r + k];
            w[i * cols + j] = sum;
        }
    t2_free(u);
    t2_free(v);
    t2_free(s);
    return w;
}

/* max |X_c X_c^T - Y_c Y_c^T| over the columns [k0, k1) of the n x r row-major X, Y. */
static double projector_distance(const double *x, const double *y, int64_t n, int64_t r,
                                 int64_t k0, int64_t k1) {
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double px = 0.0, py = 0.0;
            for (int64_t k = k0; k < k1; k++) {
                px += x[i * r + k] * x[j * r + k];
                py += y[i * r + k] * y[j * r + k];
            }
            worst = fmax(worst, fabs(px - py));
        }
    return worst;
}

int svd_fixture_compare(const char *what, const double *u_got, const double *s_got,
                        const double *v_got, const double *u_ref, const double *s_ref,
                        const double *v_ref, int64_t rows, int64_t cols, double s_tol,
                        double floor_tol, double vec_tol, double cluster_tol) {
    int64_t r = rows < cols ? rows : cols;
    double s_max = s_ref[0] > 0.0 ? s_ref[0] : 1.0;
    for (int64_t k = 0; k < r; k++) {
        double diff = fabs(s_got[k] - s_ref[k]);
        if (!(diff <= s_tol * s_ref[k] + floor_tol * s_max)) {
            CHECK(0, "%s: s[%lld] = %.17g, LAPACK %.17g (difference %.3g)", what, (long long)k,
                  s_got[k], s_ref[k], diff);
            return 0;
        }
    }
    for (int64_t k0 = 0; k0 < r;) {
        int64_t k1 = k0 + 1;
        while (k1 < r && s_ref[k1 - 1] - s_ref[k1] <= cluster_tol * s_max) k1++;
        /* Singular vectors of zero values are not determined where the complement is wider
         * than the cluster; residual and orthogonality checks cover them. */
        if (s_ref[k0] <= floor_tol * s_max) break;
        double gap = s_ref[k1 - 1]; /* to the zero values past r */
        if (k0 > 0) gap = fmin(gap, s_ref[k0 - 1] - s_ref[k0]);
        if (k1 < r) gap = fmin(gap, s_ref[k1 - 1] - s_ref[k1]);
        gap = fmax(gap, cluster_tol * s_max);
        double tol = vec_tol * s_max / gap;
        double du = projector_distance(u_got, u_ref, rows, r, k0, k1);
        double dv = projector_distance(v_got, v_ref, cols, r, k0, k1);
        if (!(du <= tol && dv <= tol)) {
            CHECK(0, "%s: singular vectors %lld..%lld (s = %.6g) differ from LAPACK's: "
                  "projector distance U %.3g, V %.3g; tolerance %.3g", what, (long long)k0,
                  (long long)(k1 - 1), s_ref[k0], du, dv, tol);
            return 0;
        }
        k0 = k1;
    }
    return 1;
}

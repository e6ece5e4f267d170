/* Matrices with chosen singular values for the SVD tests, and the comparison of two
 * decompositions up to the freedom an SVD has: signs of singular-vector pairs, and any
 * rotation inside a cluster of equal singular values (compared through projectors). */
#ifndef T2_TESTS_SVD_FIXTURE_H
#define T2_TESTS_SVD_FIXTURE_H

#include <stdint.h>

#include "linalg/svd.h"

/* The singular values of a test matrix. */
typedef enum svd_fixture_spectrum {
    SVD_FIXTURE_GAUSSIAN = 0,  /* entries N(0, 1): whatever values that gives */
    SVD_FIXTURE_GRADED = 1,    /* 10^(-3 k / r): well separated, condition 1000 */
    SVD_FIXTURE_CLUSTERED = 2, /* 3 (x3), 2, 1 (x rest): repeated values */
    SVD_FIXTURE_RANK2 = 3,     /* 5, 1, then zeros: rank deficient */
} svd_fixture_spectrum;

/* A rows x cols row-major double matrix with that spectrum from seed (heap, t2_free). */
double *svd_fixture_matrix(int64_t rows, int64_t cols, svd_fixture_spectrum spectrum,
                           uint64_t seed);

/* Compares decomposition (u_got, s_got, v_got) against (u_ref, s_ref, v_ref), all in the
 * row-major layout of t2_svd_lapack (u rows x r, v cols x r), in double:
 *   |s_got - s_ref| <= s_tol * s_ref + floor_tol * s_max for every value;
 *   for every cluster of reference values closer than cluster_tol * s_max, the projectors
 *   U_c U_c^T and V_c V_c^T agree within vec_tol * s_max / gap (gap to the neighbouring
 *   values, at least cluster_tol * s_max). Prints the first failure; returns 1 when equal. */
int svd_fixture_compare(const char *what, const double *u_got, const double *s_got,
                        const double *v_got, const double *u_ref, const double *s_ref,
                        const double *v_ref, int64_t rows, int64_t cols, double s_tol,
                        double floor_tol, double vec_tol, double cluster_tol);

#endif

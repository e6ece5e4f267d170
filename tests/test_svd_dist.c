/* The distributed SVDs (t2's route and ScaLAPACK's p?gesvd) against LAPACK's ?gesdd on the
 * same matrices, on however many ranks the test runs (1-4): singular values equal to 1e-6
 * relative in double (1e-4 in float), singular vectors equal up to sign or, for repeated
 * values, rotation (projectors), residuals and orthogonality at machine precision. Shapes:
 * square, tall (through the QR and directly), wide, sizes that are not multiples of the
 * block size, exact multiples, and matrices smaller than the process grid. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "dist/blacs_grid.h"
#include "dist/runtime.h"
#include "linalg/svd.h"
#include "svd_fixture.h"

typedef struct svd_case {
    int64_t rows, cols, nb; /* of the column-major A */
    svd_fixture_spectrum spectrum;
} svd_case;

static const svd_case cases[] = {
    {37, 37, 8, SVD_FIXTURE_GAUSSIAN},   /* square, 37 = 4 blocks + 5 */
    {61, 23, 8, SVD_FIXTURE_GRADED},     /* tall: QR first */
    {40, 30, 8, SVD_FIXTURE_GAUSSIAN},   /* tall, below the QR ratio: bidiagonal directly */
    {23, 61, 8, SVD_FIXTURE_GAUSSIAN},   /* wide: transposed, then QR */
    {30, 41, 4, SVD_FIXTURE_GRADED},     /* wide, direct */
    {32, 16, 8, SVD_FIXTURE_GAUSSIAN},   /* exact multiples of the block */
    {24, 16, 4, SVD_FIXTURE_CLUSTERED},  /* repeated singular values */
    {12, 8, 4, SVD_FIXTURE_RANK2},       /* rank deficient */
    {3, 2, 4, SVD_FIXTURE_GAUSSIAN},     /* one block: smaller than any grid */
    {5, 7, 2, SVD_FIXTURE_GAUSSIAN},     /* a few tiny blocks */
    {1, 6, 4, SVD_FIXTURE_GAUSSIAN},     /* a single row */
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

/* The distributed factors gathered on every rank and turned into t2_svd_lapack's row-major
 * layout for the row-major W = A^T: U_w = VT^T and V_w = U. */
static void gather(const t2_dist_matrix *x, double *full) {
    memset(full, 0, (size_t)(x->rows * x->cols) * sizeof *full);
    if (x->precision == T2_PRECISION_DOUBLE) {
        t2_dist_matrix_add_to_global(x, full, x->rows);
    } else {
        float *f = t2_alloc_zero((size_t)(x->rows * x->cols) * sizeof *f);
        t2_dist_matrix_add_to_global(x, f, x->rows);
        for (int64_t i = 0; i < x->rows * x->cols; i++) full[i] = f[i];
        t2_free(f);
    }
    MPI_Allreduce(MPI_IN_PLACE, full, (int)(x->rows * x->cols), MPI_DOUBLE, MPI_SUM,
                  MPI_COMM_WORLD);
}

static void run_case(const t2_blacs_grid *bg, const svd_case *c, t2_precision p,
                     t2_svd_method method, int rank) {
    int64_t m = c->rows, n = c->cols, r = m < n ? m : n;
    char what[160];
    snprintf(what, sizeof what, "%s %s %lldx%lld nb %lld on %dx%d",
             method == T2_SVD_METHOD_FAST ? "t2" : "p?gesvd", t2_precision_name(p), (long long)m,
             (long long)n, (long long)c->nb, bg->grid.nprow, bg->grid.npcol);
    /* The column-major A (m x n) is the row-major W (n x m) of the same memory. */
    double *a_full = svd_fixture_matrix(n, m, c->spectrum, 1000 + (uint64_t)(m * 131 + n));
    size_t elem = t2_precision_size(p);
    void *a_typed = t2_alloc((size_t)(m * n) * elem);
    for (int64_t i = 0; i < m * n; i++) {
        if (p == T2_PRECISION_DOUBLE) ((double *)a_typed)[i] = a_full[i];
        else ((float *)a_typed)[i] = (float)a_full[i];
    }
    t2_dist_matrix a, a0, u, vt;
    t2_dist_matrix_init(&a, &bg->grid, p, m, n, c->nb, c->nb);
    t2_dist_matrix_init(&a0, &bg->grid, p, m, n, c->nb, c->nb);
    t2_dist_matrix_init(&u, &bg->grid, p, m, r, c->nb, c->nb);
    t2_dist_matrix_init(&vt, &bg->grid, p, r, n, c->nb, c->nb);
    t2_dist_matrix_set_global(&a, 0, 0, m, n, a_typed, m);
    t2_dist_matrix_set_global(&a0, 0, 0, m, n, a_typed, m);
    void *s = t2_alloc_zero((size_t)r * elem);
    t2_error err = {{0}};
    int status = t2_svd_distributed(method, &a, s, &u, &vt, &err);
    CHECK(status == 0, "%s: %s", what, err.msg);

    int is_double = p == T2_PRECISION_DOUBLE;
    t2_svd_check chk;
    t2_svd_check_distributed(&chk, &a0, &u, s, &vt);
    double tol = is_double ? 1e-12 : 2e-5;
    CHECK(chk.residual <= tol && chk.u_orth <= tol && chk.v_orth <= tol && chk.descending,
          "%s: residual %.3g, |U^T U - I| %.3g, |V^T V - I| %.3g, descending %d (tolerance "
          "%.1g)", what, chk.residual, chk.u_orth, chk.v_orth, chk.descending, tol);

    /* LAPACK on the same (rounded) matrix, in double. */
    double *w_ref = t2_alloc((size_t)(m * n) * sizeof *w_ref);
    for (int64_t i = 0; i < m * n; i++)
        w_ref[i] = is_double ? ((double *)a_typed)[i] : (double)((float *)a_typed)[i];
    double *u_ref = t2_alloc((size_t)(n * r) * sizeof *u_ref);
    double *v_ref = t2_alloc((size_t)(m * r) * sizeof *v_ref), *s_ref = t2_alloc((size_t)r * 8);
    status = t2_svd_lapack(T2_PRECISION_DOUBLE, u_ref, s_ref, v_ref, w_ref, n, m, &err);
    CHECK(status == 0, "LAPACK reference: %s", err.msg);

    double *u_full = t2_alloc((size_t)(m * r) * 8), *vt_full = t2_alloc((size_t)(r * n) * 8);
    gather(&u, u_full);
    gather(&vt, vt_full);
    double *u_w = t2_alloc((size_t)(n * r) * 8), *v_w = t2_alloc((size_t)(m * r) * 8);
    double *s_got = t2_alloc((size_t)r * 8);
    for (int64_t k = 0; k < r; k++) {
        s_got[k] = is_double ? ((double *)s)[k] : (double)((float *)s)[k];
        for (int64_t j = 0; j < n; j++) u_w[j * r + k] = vt_full[k + j * r]; /* VT^T */
        for (int64_t i = 0; i < m; i++) v_w[i * r + k] = u_full[i + k * m];  /* U */
    }
    if (is_double)
        svd_fixture_compare(what, u_w, s_got, v_w, u_ref, s_ref, v_ref, n, m, 1e-6, 1e-12,
                            1e-12, 1e-8);
    else
        svd_fixture_compare(what, u_w, s_got, v_w, u_ref, s_ref, v_ref, n, m, 1e-4, 1e-5,
                            1e-5, 1e-3);
    if (rank == 0)
        printf("%-44s residual %.2e  orth %.2e %.2e\n", what, chk.residual, chk.u_orth,
               chk.v_orth);
    t2_free(u_w);
    t2_free(v_w);
    t2_free(s_got);
    t2_free(u_full);
    t2_free(vt_full);
    t2_free(u_ref);
    t2_free(v_ref);
    t2_free(s_ref);
    t2_free(w_ref);
    t2_free(s);
    t2_dist_matrix_free(&a);
    t2_dist_matrix_free(&a0);
    t2_dist_matrix_free(&u);
    t2_dist_matrix_free(&vt);
    t2_free(a_typed);
    t2_free(a_full);
}

int main(int argc, char **argv) {
    t2_runtime rt;
    t2_runtime_init(&rt, &argc, &argv);
    t2_blacs_grid bg;
    t2_blacs_grid_init(&bg, MPI_COMM_WORLD);
    for (int i = 0; i < N_CASES; i++) {
        /* ScaLAPACK's p?gesvd reports "heterogeneity" (info min(M, N) + 1) when some
         * process owns no part of the matrix, so the reference runs only where every
         * process has a block, and in double (its float path is the same code); t2's route
         * runs everywhere in both precisions. */
        const svd_case *c = &cases[i];
        int spans = c->rows > c->nb * (bg.grid.nprow - 1) && c->cols > c->nb * (bg.grid.npcol - 1);
        run_case(&bg, c, T2_PRECISION_DOUBLE, T2_SVD_METHOD_FAST, rt.rank);
        run_case(&bg, c, T2_PRECISION_FLOAT, T2_SVD_METHOD_FAST, rt.rank);
        if (spans) run_case(&bg, c, T2_PRECISION_DOUBLE, T2_SVD_METHOD_PGESVD, rt.rank);
    }
    t2_blacs_grid_free(&bg);
    int local = t2_check_exit_code(), worst = 0;
    MPI_Allreduce(&local, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    t2_runtime_finalize(&rt);
    return worst;
}

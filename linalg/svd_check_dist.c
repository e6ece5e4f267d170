/* The --verify figures of a distributed decomposition A = U diag(s) VT (see svd.h), computed
 * where the factors live: ||A - U diag(s) VT||_F / ||A||_F, max |U^T U - I| and
 * max |VT VT^T - I| through PBLAS p?gemm and ScaLAPACK p?lange, collective over the grid.
 * Does not call MPI. */
#include "linalg/svd.h"

#include <limits.h>

#include "base/alloc.h"
#include "base/assert.h"

static int to_int(int64_t v) {
    T2_ASSERT(v >= 0 && v <= INT_MAX);
    return (int)v;
}

/* c = alpha op(a) op(b) + beta c over the whole matrices (op by transa / transb). */
static void gemm(const char *transa, const char *transb, double alpha, const t2_dist_matrix *a,
                 const t2_dist_matrix *b, double beta, t2_dist_matrix *c) {
    int m = to_int(c->rows), n = to_int(c->cols);
    int k = to_int(transa[0] == 'N' ? a->cols : a->rows), one = 1;
    if (a->precision == T2_PRECISION_DOUBLE) {
        pdgemm_(transa, transb, &m, &n, &k, &alpha, a->data, &one, &one, a->desc, b->data, &one,
                &one, b->desc, &beta, c->data, &one, &one, c->desc, 1, 1);
    } else {
        float af = (float)alpha, bf = (float)beta;
        psgemm_(transa, transb, &m, &n, &k, &af, a->data, &one, &one, a->desc, b->data, &one,
                &one, b->desc, &bf, c->data, &one, &one, c->desc, 1, 1);
    }
}

/* norm "F" (Frobenius) or "M" (largest |entry|) of the whole matrix, on every process. */
static double lange(const char *norm, const t2_dist_matrix *a) {
    int m = to_int(a->rows), n = to_int(a->cols), one = 1;
    if (m == 0 || n == 0) return 0.0;
    if (a->precision == T2_PRECISION_DOUBLE) {
        double work[1];
        return pdlange_(norm, &m, &n, a->data, &one, &one, a->desc, work, 1);
    }
    float work[1];
    return (double)pslange_(norm, &m, &n, a->data, &one, &one, a->desc, work, 1);
}

/* In place on this process's entries: x(i, j) *= scale[j] when scale is not NULL (scale has
 * a's column count, replicated), and x(i, i) -= 1 when minus_identity. */
static void adjust(t2_dist_matrix *a, const void *scale, int minus_identity) {
    const t2_process_grid *g = &a->grid;
    for (int64_t jl = 0; jl < a->local_cols; jl++) {
        int64_t j = t2_block_cyclic_global(jl, a->nb, g->mycol, 0, g->npcol);
        for (int64_t il = 0; il < a->local_rows; il++) {
            int64_t i = t2_block_cyclic_global(il, a->mb, g->myrow, 0, g->nprow);
            int64_t at = il + jl * a->lld;
            if (a->precision == T2_PRECISION_DOUBLE) {
                double *x = (double *)a->data + at;
                if (scale != NULL) *x *= ((const double *)scale)[j];
                if (minus_identity && i == j) *x -= 1.0;
            } else {
                float *x = (float *)a->data + at;
                if (scale != NULL) *x *= ((const float *)scale)[j];
                if (minus_identity && i == j) *x -= 1.0f;
            }
        }
    }
}

/* max |G - I| for the r x r Gram matrix G = x^T x (transpose_first) or x x^T. */
static double orthogonality(const t2_dist_matrix *x, int transpose_first, int64_t r) {
    t2_dist_matrix gram;
    t2_dist_matrix_init(&gram, &x->grid, x->precision, r, r, x->mb, x->nb);
    if (transpose_first) gemm("T", "N", 1.0, x, x, 0.0, &gram);
    else gemm("N", "T", 1.0, x, x, 0.0, &gram);
    adjust(&gram, NULL, 1);
    double worst = lange("M", &gram);
    t2_dist_matrix_free(&gram);
    return worst;
}

void t2_svd_check_distributed(t2_svd_check *c, const t2_dist_matrix *a, const t2_dist_matrix *u,
                              const void *s, const t2_dist_matrix *vt) {
    int64_t r = a->rows < a->cols ? a->rows : a->cols;
    c->residual = c->u_orth = c->v_orth = 0.0;
    c->descending = t2_svd_descending(a->precision, s, r);
    if (!t2_process_grid_member(&a->grid)) return;
    t2_dist_matrix us, res;
    t2_dist_matrix_init(&us, &u->grid, u->precision, u->rows, u->cols, u->mb, u->nb);
    t2_dist_matrix_init(&res, &a->grid, a->precision, a->rows, a->cols, a->mb, a->nb);
    t2_dist_matrix_copy(&us, u, u->grid.context);
    adjust(&us, s, 0);
    t2_dist_matrix_copy(&res, a, a->grid.context);
    gemm("N", "N", -1.0, &us, vt, 1.0, &res);
    double norm_a = lange("F", a), norm_res = lange("F", &res);
    c->residual = norm_a > 0.0 ? norm_res / norm_a : norm_res;
    c->u_orth = orthogonality(u, 1, r);
    c->v_orth = orthogonality(vt, 0, r);
    t2_dist_matrix_free(&us);
    t2_dist_matrix_free(&res);
}

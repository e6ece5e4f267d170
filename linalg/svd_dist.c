/* Distributed SVD over a BLACS grid (see svd.h): ScaLAPACK's p?gesvd as the reference, and
 * t2's route — optional QR (p?geqrf), parallel bidiagonal reduction (p?gebrd), the small
 * bidiagonal problem solved by divide and conquer (?bdsdc) on every process, parallel
 * back-transformations (p?ormbr; p?orgqr and p?gemm for the QR). p?gesvd spends its time in the
 * bidiagonal QR iteration (O(n^2) rotations applied one at a time to the distributed vectors);
 * ?bdsdc replaces it by GEMM-rich merges at a fraction of the cost. Reference: LAPACK dgesdd.f (the
 * same sequence on one process: paths 1-5 with JOBZ = 'S'); ScaLAPACK pdgesvd.f for the argument
 * conventions. Does not call MPI. */
#include <lapack.h>

#include "linalg/svd.h"

#include <limits.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

static const double QR_RATIO = 1.5; /* M >= QR_RATIO * N takes the QR first */

static int to_int(int64_t v) {
    T2_ASSERT(v >= 0 && v <= INT_MAX);
    return (int)v;
}

static int is_double(const t2_dist_matrix *a) { return a->precision == T2_PRECISION_DOUBLE; }

static double get(t2_precision p, const void *x, int64_t i) {
    return p == T2_PRECISION_DOUBLE ? ((const double *)x)[i] : (double)((const float *)x)[i];
}

/* A work array of `count` elements (at least 1) of a's precision. */
static void *alloc_elems(const t2_dist_matrix *a, int64_t count) {
    return t2_alloc_zero((size_t)(count > 0 ? count : 1) * t2_precision_size(a->precision));
}

/* The workspace size a ScaLAPACK query returned in work[0]. */
static int query_size(const t2_dist_matrix *a, const void *work) {
    return to_int((int64_t)get(a->precision, work, 0) + 1);
}

/* ---- typed calls: each forwards to the d or s routine (1-based offsets ia, ja) ---- */

static void laset(t2_dist_matrix *a, double alpha, double beta) {
    int m = to_int(a->rows), n = to_int(a->cols), one = 1;
    float af = (float)alpha, bf = (float)beta;
    if (is_double(a)) pdlaset_("A", &m, &n, &alpha, &beta, a->data, &one, &one, a->desc, 1);
    else pslaset_("A", &m, &n, &af, &bf, a->data, &one, &one, a->desc, 1);
}

/* b(1:m, 1:n) = uplo part of a(1:m, 1:n) */
static void lacpy(const char *uplo, int m, int n, const t2_dist_matrix *a, t2_dist_matrix *b) {
    int one = 1;
    if (is_double(a))
        pdlacpy_(uplo, &m, &n, a->data, &one, &one, a->desc, b->data, &one, &one, b->desc, 1);
    else pslacpy_(uplo, &m, &n, a->data, &one, &one, a->desc, b->data, &one, &one, b->desc, 1);
}

/* c = a^T (c: m x n, a: n x m) */
static void tran(const t2_dist_matrix *a, t2_dist_matrix *c) {
    int m = to_int(c->rows), n = to_int(c->cols), one = 1;
    double alpha = 1.0, beta = 0.0;
    float af = 1.0f, bf = 0.0f;
    if (is_double(a))
        pdtran_(&m, &n, &alpha, a->data, &one, &one, a->desc, &beta, c->data, &one, &one, c->desc);
    else pstran_(&m, &n, &af, a->data, &one, &one, a->desc, &bf, c->data, &one, &one, c->desc);
}

static void geqrf(t2_dist_matrix *a, void *tau, void *work, int lwork, int *info) {
    int m = to_int(a->rows), n = to_int(a->cols), one = 1;
    if (is_double(a)) pdgeqrf_(&m, &n, a->data, &one, &one, a->desc, tau, work, &lwork, info);
    else psgeqrf_(&m, &n, a->data, &one, &one, a->desc, tau, work, &lwork, info);
}

/* a (m x n) = the first n columns of Q from geqrf of a (n reflectors in tau) */
static void orgqr(t2_dist_matrix *a, const void *tau, void *work, int lwork, int *info) {
    int m = to_int(a->rows), n = to_int(a->cols), one = 1;
    if (is_double(a)) pdorgqr_(&m, &n, &n, a->data, &one, &one, a->desc, tau, work, &lwork, info);
    else psorgqr_(&m, &n, &n, a->data, &one, &one, a->desc, tau, work, &lwork, info);
}

/* c = a b (whole matrices) */
static void gemm(const t2_dist_matrix *a, const t2_dist_matrix *b, t2_dist_matrix *c) {
    int m = to_int(c->rows), n = to_int(c->cols), k = to_int(a->cols), one = 1;
    double alpha = 1.0, beta = 0.0;
    float af = 1.0f, bf = 0.0f;
    if (is_double(a))
        pdgemm_("N", "N", &m, &n, &k, &alpha, a->data, &one, &one, a->desc, b->data, &one, &one,
                b->desc, &beta, c->data, &one, &one, c->desc, 1, 1);
    else
        psgemm_("N", "N", &m, &n, &k, &af, a->data, &one, &one, a->desc, b->data, &one, &one,
                b->desc, &bf, c->data, &one, &one, c->desc, 1, 1);
}

static void gebrd(t2_dist_matrix *a, int m, int n, void *d, void *e, void *tauq, void *taup,
                  void *work, int lwork, int *info) {
    int one = 1;
    if (is_double(a))
        pdgebrd_(&m, &n, a->data, &one, &one, a->desc, d, e, tauq, taup, work, &lwork, info);
    else psgebrd_(&m, &n, a->data, &one, &one, a->desc, d, e, tauq, taup, work, &lwork, info);
}

/* c(1:m, 1:n) = Q c (vect "Q", side "L", trans "N") or c P^T (vect "P", side "R", trans
 * "T"), the factors of gebrd of a (k: its rows for P, its columns for Q). */
static void ormbr(const char *vect, const char *side, const char *trans, int m, int n, int k,
                  const t2_dist_matrix *a, const void *tau, t2_dist_matrix *c, void *work,
                  int lwork, int *info) {
    int one = 1;
    if (is_double(a))
        pdormbr_(vect, side, trans, &m, &n, &k, a->data, &one, &one, a->desc, tau, c->data,
                 &one, &one, c->desc, work, &lwork, info, 1, 1, 1);
    else
        psormbr_(vect, side, trans, &m, &n, &k, a->data, &one, &one, a->desc, tau, c->data,
                 &one, &one, c->desc, work, &lwork, info, 1, 1, 1);
}

/* ?bdsdc('U', 'I'): d (n) becomes the singular values (descending), ub and vtb (n x n,
 * column-major) the singular vectors of the upper bidiagonal matrix with diagonal d and
 * superdiagonal e (n - 1). */
static int bdsdc(t2_precision p, int n, void *d, void *e, void *ub, void *vtb) {
    int64_t nn = n;
    int *iwork = t2_alloc_array((size_t)(8 * nn + 1), sizeof *iwork);
    void *work = t2_alloc((size_t)(3 * nn * nn + 4 * nn + 1) * t2_precision_size(p));
    int ld = n > 1 ? n : 1, info = 0;
    if (p == T2_PRECISION_DOUBLE)
        LAPACK_dbdsdc("U", "I", &n, d, e, ub, &ld, vtb, &ld, NULL, NULL, work, iwork, &info);
    else
        LAPACK_sbdsdc("U", "I", &n, d, e, ub, &ld, vtb, &ld, NULL, NULL, work, iwork, &info);
    t2_free(work);
    t2_free(iwork);
    return info;
}

/* ---- the route ---- */

/* Fails with the routine's info on every process (ScaLAPACK returns the same info on all). */
static int fail_info(t2_error *err, const char *routine, int info, const t2_dist_matrix *a) {
    return t2_error_set(err, "%c%s: failed with info %d on a %lld x %lld matrix; expected "
                        "finite input", is_double(a) ? 'd' : 's', routine, info,
                        (long long)a->rows, (long long)a->cols);
}

/* The diagonal d (n) and superdiagonal e (n - 1) of the upper bidiagonal matrix p?gebrd left
 * in a, on every process: each process writes the entries it owns into zeroed arrays and
 * BLACS sums them over the grid. */
static void gather_bidiagonal(const t2_dist_matrix *a, int n, void *d, void *e) {
    const t2_process_grid *g = &a->grid;
    size_t elem = t2_precision_size(a->precision);
    memset(d, 0, (size_t)n * elem);
    memset(e, 0, (size_t)n * elem);
    for (int64_t jl = 0; jl < a->local_cols; jl++) {
        int64_t j = t2_block_cyclic_global(jl, a->nb, g->mycol, 0, g->npcol);
        if (j >= n) continue;
        for (int64_t i = j > 0 ? j - 1 : 0; i <= j; i++) {
            if (t2_block_cyclic_owner(i, a->mb, 0, g->nprow) != g->myrow) continue;
            int64_t il = t2_block_cyclic_local(i, a->mb, g->nprow);
            const char *src = (const char *)a->data + (il + jl * a->lld) * (int64_t)elem;
            char *dst = (char *)(i == j ? d : e) + i * (int64_t)elem;
            memcpy(dst, src, elem);
        }
    }
    if (is_double(a)) {
        Cdgsum2d(g->context, "All", " ", n, 1, d, n, -1, -1);
        Cdgsum2d(g->context, "All", " ", n, 1, e, n, -1, -1);
    } else {
        Csgsum2d(g->context, "All", " ", n, 1, d, n, -1, -1);
        Csgsum2d(g->context, "All", " ", n, 1, e, n, -1, -1);
    }
}

/* SVD of the leading m x n block of a (m >= n, a's blocks square): s (n), u(1:m, 1:n),
 * vt (n x n). u's other entries are left as they are; a is overwritten. */
static int bidiagonal_svd(t2_dist_matrix *a, int m, int n, void *s, t2_dist_matrix *u,
                          t2_dist_matrix *vt, t2_error *err) {
    T2_ASSERT(m >= n && n >= 1);
    t2_precision p = a->precision;
    int64_t local = (a->local_rows > a->local_cols ? a->local_rows : a->local_cols) + a->nb;
    void *d_local = alloc_elems(a, local), *e_local = alloc_elems(a, local);
    void *tauq = alloc_elems(a, local), *taup = alloc_elems(a, local);
    void *query = alloc_elems(a, 1);
    int info = 0, lwork = 1, size;
    gebrd(a, m, n, d_local, e_local, tauq, taup, query, -1, &info);
    size = query_size(a, query);
    lwork = size > lwork ? size : lwork;
    ormbr("Q", "L", "N", m, n, n, a, tauq, u, query, -1, &info);
    size = query_size(a, query);
    lwork = size > lwork ? size : lwork;
    ormbr("P", "R", "T", n, n, m, a, taup, vt, query, -1, &info);
    size = query_size(a, query);
    lwork = size > lwork ? size : lwork;
    void *work = alloc_elems(a, lwork);

    int status = 0;
    gebrd(a, m, n, d_local, e_local, tauq, taup, work, lwork, &info);
    if (info != 0) status = fail_info(err, "gebrd", info, a);
    void *d = NULL, *e = NULL, *ub = NULL, *vtb = NULL;
    if (status == 0) {
        d = alloc_elems(a, n);
        e = alloc_elems(a, n);
        gather_bidiagonal(a, n, d, e);
        ub = alloc_elems(a, (int64_t)n * n);
        vtb = alloc_elems(a, (int64_t)n * n);
        info = bdsdc(p, n, d, e, ub, vtb);
        if (info != 0) status = fail_info(err, "bdsdc", info, a);
    }
    if (status == 0) {
        memcpy(s, d, (size_t)n * t2_precision_size(p));
        t2_dist_matrix_set_global(u, 0, 0, n, n, ub, n);
        t2_dist_matrix_set_global(vt, 0, 0, n, n, vtb, n);
        ormbr("Q", "L", "N", m, n, n, a, tauq, u, work, lwork, &info);
        if (info != 0) status = fail_info(err, "ormbr", info, a);
    }
    if (status == 0) {
        ormbr("P", "R", "T", n, n, m, a, taup, vt, work, lwork, &info);
        if (info != 0) status = fail_info(err, "ormbr", info, a);
    }
    t2_free(d);
    t2_free(e);
    t2_free(ub);
    t2_free(vtb);
    t2_free(work);
    t2_free(query);
    t2_free(d_local);
    t2_free(e_local);
    t2_free(tauq);
    t2_free(taup);
    return status;
}

/* M >= N: QR first when tall enough, A = Q R with R = Ur diag(s) VT and U = Q Ur (LAPACK's
 * ?gesdd path 3: forming Q and one GEMM beat applying the reflectors to [Ur; 0]; measured
 * on a 2816 x 1024 matrix, one process: 0.42-0.52 s of CPU for p?orgqr + p?gemm, 0.7-0.95 s
 * for p?ormqr), then the bidiagonal route on R; otherwise the route on a itself. */
static int svd_tall(t2_dist_matrix *a, void *s, t2_dist_matrix *u, t2_dist_matrix *vt,
                    t2_error *err) {
    int m = to_int(a->rows), n = to_int(a->cols);
    if ((double)m < QR_RATIO * (double)n) {
        laset(u, 0.0, 0.0);
        return bidiagonal_svd(a, m, n, s, u, vt, err);
    }
    void *tau = alloc_elems(a, a->local_cols + a->nb), *query = alloc_elems(a, 1);
    int info = 0, lwork = 1, size;
    geqrf(a, tau, query, -1, &info);
    size = query_size(a, query);
    lwork = size > lwork ? size : lwork;
    orgqr(a, tau, query, -1, &info);
    size = query_size(a, query);
    lwork = size > lwork ? size : lwork;
    void *work = alloc_elems(a, lwork);
    t2_dist_matrix r, ur;
    t2_dist_matrix_init(&r, &a->grid, a->precision, n, n, a->mb, a->nb);
    t2_dist_matrix_init(&ur, &a->grid, a->precision, n, n, a->mb, a->nb);
    int status = 0;
    geqrf(a, tau, work, lwork, &info);
    if (info != 0) status = fail_info(err, "geqrf", info, a);
    if (status == 0) {
        lacpy("U", n, n, a, &r); /* R: the upper triangle of a's leading n x n block */
        status = bidiagonal_svd(&r, n, n, s, &ur, vt, err);
    }
    if (status == 0) {
        orgqr(a, tau, work, lwork, &info);
        if (info != 0) status = fail_info(err, "orgqr", info, a);
    }
    if (status == 0) gemm(a, &ur, u);
    t2_dist_matrix_free(&r);
    t2_dist_matrix_free(&ur);
    t2_free(work);
    t2_free(query);
    t2_free(tau);
    return status;
}

static int svd_fast(t2_dist_matrix *a, void *s, t2_dist_matrix *u, t2_dist_matrix *vt,
                    t2_error *err) {
    if (a->rows >= a->cols) return svd_tall(a, s, u, vt, err);
    /* Wide: A^T = Ub diag(s) VTb, so U = VTb^T and VT = Ub^T. */
    int64_t m = a->rows, n = a->cols;
    t2_dist_matrix at, ub, vtb;
    t2_dist_matrix_init(&at, &a->grid, a->precision, n, m, a->mb, a->nb);
    t2_dist_matrix_init(&ub, &a->grid, a->precision, n, m, a->mb, a->nb);
    t2_dist_matrix_init(&vtb, &a->grid, a->precision, m, m, a->mb, a->nb);
    tran(a, &at);
    int status = svd_tall(&at, s, &ub, &vtb, err);
    if (status == 0) {
        tran(&vtb, u);
        tran(&ub, vt);
    }
    t2_dist_matrix_free(&at);
    t2_dist_matrix_free(&ub);
    t2_dist_matrix_free(&vtb);
    return status;
}

static int svd_pgesvd(t2_dist_matrix *a, void *s, t2_dist_matrix *u, t2_dist_matrix *vt,
                      t2_error *err) {
    int m = to_int(a->rows), n = to_int(a->cols), one = 1, info = 0, lwork = -1;
    void *query = alloc_elems(a, 1);
    for (int pass = 0; pass < 2; pass++) {
        void *work = pass == 0 ? query : alloc_elems(a, lwork);
        if (is_double(a))
            pdgesvd_("V", "V", &m, &n, a->data, &one, &one, a->desc, s, u->data, &one, &one,
                     u->desc, vt->data, &one, &one, vt->desc, work, &lwork, &info, 1, 1);
        else
            psgesvd_("V", "V", &m, &n, a->data, &one, &one, a->desc, s, u->data, &one, &one,
                     u->desc, vt->data, &one, &one, vt->desc, work, &lwork, &info, 1, 1);
        if (pass == 0) lwork = query_size(a, query);
        else t2_free(work);
    }
    t2_free(query);
    if (info != 0) return fail_info(err, "gesvd", info, a);
    return 0;
}

int t2_svd_distributed(t2_svd_method method, t2_dist_matrix *a, void *s, t2_dist_matrix *u,
                       t2_dist_matrix *vt, t2_error *err) {
    int64_t r = a->rows < a->cols ? a->rows : a->cols;
    T2_ASSERT(a->mb == a->nb && r >= 1);
    T2_ASSERT(u->rows == a->rows && u->cols == r && vt->rows == r && vt->cols == a->cols);
    T2_ASSERT(u->precision == a->precision && vt->precision == a->precision);
    T2_ASSERT(u->mb == a->mb && u->nb == a->nb && vt->mb == a->mb && vt->nb == a->nb);
    if (!t2_process_grid_member(&a->grid)) return 0;
    if (method == T2_SVD_METHOD_PGESVD) return svd_pgesvd(a, s, u, vt, err);
    return svd_fast(a, s, u, vt, err);
}

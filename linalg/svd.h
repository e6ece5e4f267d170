/* Singular value decompositions: one process (LAPACK's divide-and-conquer driver ?gesdd) and
 * distributed over a BLACS process grid (ScaLAPACK's p?gesvd as the reference, and t2's
 * faster route), plus the checks `t2 decompose --verify` prints.
 *
 * Conventions. The single-process routines follow t2's store (and the reference
 * implementation's torch.svd): W (rows x cols, row-major) = U diag(s) V^T with r =
 * min(rows, cols), U rows x r and V cols x r row-major, s descending and >= 0. The
 * distributed routines follow ScaLAPACK: A (M x N, column-major, block-cyclic) =
 * U diag(s) VT with U M x r and VT r x N distributed, s replicated on every process.
 * Arrays are of the precision named by a t2_precision (double or float elements).
 *
 * The fast distributed route (t2_svd_distributed with T2_SVD_METHOD_FAST), collective over
 * the grid: a wide A is transposed (p?tran) so that M >= N; a tall one (M >= 1.5 N, the
 * crossover measured in docs/decompose.md) is first reduced by a distributed QR (p?geqrf)
 * to its N x N triangle R. p?gebrd then reduces R (or A) to upper bidiagonal form in
 * parallel; the diagonal and superdiagonal are summed onto every process (BLACS ?gsum2d);
 * every process solves the small bidiagonal SVD with LAPACK's divide and conquer (?bdsdc)
 * and keeps the entries of its singular vectors it owns; the back-transformations run in
 * parallel (p?ormbr, and for the QR, Q formed by p?orgqr times R's vectors by p?gemm).
 * Every step is backward stable, as ?gesdd is. Errors: LAPACK/ScaLAPACK info != 0.
 * Threads: BLIS's thread count. Does not call MPI. */
#ifndef T2_LINALG_SVD_H
#define T2_LINALG_SVD_H

#include <stdint.h>

#include "base/error.h"
#include "linalg/block_cyclic.h"

/* Nominal work of a thin SVD with both singular-vector sets, in flops: the R-SVD count
 * 6 m n^2 + 20 n^3 (m >= n) of Golub & Van Loan, Matrix Computations (4th ed.), 8.6.3. Used
 * for GFLOP/s figures and as the scheduling cost. */
double t2_svd_flops(int64_t rows, int64_t cols);

/* Working memory in bytes of t2_svd_lapack for that shape and precision, the input
 * included. */
int64_t t2_svd_lapack_bytes(t2_precision p, int64_t rows, int64_t cols);

/* Single process: W = U diag(s) V^T as above, through ?gesdd (JOBZ = 'S').
 * w: rows x cols row-major, destroyed; u: rows x r; s: r; v: cols x r (row-major outputs).
 * 0, or -1 with err set ("?gesdd did not converge ..."); the outputs are then unspecified. */
int t2_svd_lapack(t2_precision p, void *u, void *s, void *v, void *w, int64_t rows,
                  int64_t cols, t2_error *err);

typedef enum t2_svd_method {
    T2_SVD_METHOD_FAST = 0,   /* t2's route (above) */
    T2_SVD_METHOD_PGESVD = 1, /* ScaLAPACK's p?gesvd: the reference */
} t2_svd_method;

/* Distributed: A = U diag(s) VT. Collective over a's grid (every process of the grid calls
 * it with the same sizes). a: M x N, overwritten. u: M x r and vt: r x N, initialised by the
 * caller on a's grid with a's square blocks (mb == nb). s: r elements, written on every
 * process. 0, or -1 with err set (the same on every process); outputs then unspecified. */
int t2_svd_distributed(t2_svd_method method, t2_dist_matrix *a, void *s, t2_dist_matrix *u,
                       t2_dist_matrix *vt, t2_error *err);

/* How well a decomposition reconstructs its matrix. */
typedef struct t2_svd_check {
    double residual;   /* ||W - U diag(s) V^T||_F / ||W||_F */
    double u_orth;     /* max |U^T U - I| */
    double v_orth;     /* max |V^T V - I| */
    int descending;    /* 1 when s[0] >= s[1] >= ... >= 0 */
} t2_svd_check;

/* 1 when the r values of s are >= 0 and do not increase (NaN fails). */
int t2_svd_descending(t2_precision p, const void *s, int64_t r);

/* Single process, in the precision p, for the row-major layout of t2_svd_lapack (w is the
 * original matrix). */
void t2_svd_check_local(t2_svd_check *c, t2_precision p, const void *w, const void *u,
                        const void *s, const void *v, int64_t rows, int64_t cols);

/* Distributed, for the layout of t2_svd_distributed (a is the original matrix, untouched).
 * Collective over a's grid; the result is on every process. */
void t2_svd_check_distributed(t2_svd_check *c, const t2_dist_matrix *a, const t2_dist_matrix *u,
                              const void *s, const t2_dist_matrix *vt);

#endif

/* Prototypes of the BLACS, PBLAS and ScaLAPACK routines t2 calls. Debian's
 * libscalapack-openmpi ships no C header, so they are declared here from the reference
 * sources (netlib ScaLAPACK 2.2: BLACS/SRC, PBLAS/SRC, SRC, TOOLS, REDIST/SRC).
 *
 * Conventions: Fortran routines (name_) take every argument by pointer; integers are the
 * 32-bit Fortran INTEGER (int); CHARACTER arguments carry a hidden length (size_t) after the
 * last argument, as gfortran passes them (the C-written PBLAS and REDIST routines ignore the
 * extra arguments). Distributed matrices travel as (A, IA, JA, DESCA): local array, 1-based
 * global offsets and the 9-integer array descriptor
 *   desc = {1 (dense), context, M, N, MB, NB, RSRC, CSRC, LLD}.
 * Matrices are column-major. Only linalg/ calls these, except the BLACS context set-up that
 * dist/ does from an MPI communicator (Csys2blacs_handle, declared when <mpi.h> came first). */
#ifndef T2_LINALG_SCALAPACK_H
#define T2_LINALG_SCALAPACK_H

#include <stddef.h>

enum { T2_DESC_LEN = 9 };

/* BLACS (C interface). */
void Cblacs_pinfo(int *mypnum, int *nprocs);
void Cblacs_get(int context, int what, int *value);
void Cblacs_gridinit(int *context, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int context, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int context);
void Cblacs_barrier(int context, const char *scope);
void Cblacs_exit(int not_done);
void Cfree_blacs_system_handle(int system_handle);
/* Element-wise sum of an m x n column-major block over `scope` ("All", "Row", "Column");
 * rdest = -1 leaves the result on every process of the scope. */
void Cdgsum2d(int context, const char *scope, const char *top, int m, int n, double *a, int lda,
              int rdest, int cdest);
void Csgsum2d(int context, const char *scope, const char *top, int m, int n, float *a, int lda,
              int rdest, int cdest);
#if defined(MPI_VERSION)
/* The BLACS system handle of an MPI communicator, for Cblacs_gridinit. */
int Csys2blacs_handle(MPI_Comm comm);
#endif

/* TOOLS. */
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc,
            const int *nprocs);
int indxg2p_(const int *indxglob, const int *nb, const int *iproc, const int *isrcproc,
             const int *nprocs);
int indxl2g_(const int *indxloc, const int *nb, const int *iproc, const int *isrcproc,
             const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
               const int *irsrc, const int *icsrc, const int *ictxt, const int *lld, int *info);

/* Redistribution between any two block-cyclic layouts; `context` spans both grids. */
void pdgemr2d_(const int *m, const int *n, const double *a, const int *ia, const int *ja,
               const int *desca, double *b, const int *ib, const int *jb, const int *descb,
               const int *context);
void psgemr2d_(const int *m, const int *n, const float *a, const int *ia, const int *ja,
               const int *desca, float *b, const int *ib, const int *jb, const int *descb,
               const int *context);

/* PBLAS: C = alpha op(A) op(B) + beta C; C = beta C + alpha A^T (transpose). */
void pdgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
             const double *alpha, const double *a, const int *ia, const int *ja,
             const int *desca, const double *b, const int *ib, const int *jb, const int *descb,
             const double *beta, double *c, const int *ic, const int *jc, const int *descc,
             size_t, size_t);
void psgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
             const float *alpha, const float *a, const int *ia, const int *ja, const int *desca,
             const float *b, const int *ib, const int *jb, const int *descb, const float *beta,
             float *c, const int *ic, const int *jc, const int *descc, size_t, size_t);
void pdtran_(const int *m, const int *n, const double *alpha, const double *a, const int *ia,
             const int *ja, const int *desca, const double *beta, double *c, const int *ic,
             const int *jc, const int *descc);
void pstran_(const int *m, const int *n, const float *alpha, const float *a, const int *ia,
             const int *ja, const int *desca, const float *beta, float *c, const int *ic,
             const int *jc, const int *descc);

/* ScaLAPACK auxiliaries: set to alpha off the diagonal and beta on it; copy; norms. */
void pdlaset_(const char *uplo, const int *m, const int *n, const double *alpha,
              const double *beta, double *a, const int *ia, const int *ja, const int *desca,
              size_t);
void pslaset_(const char *uplo, const int *m, const int *n, const float *alpha,
              const float *beta, float *a, const int *ia, const int *ja, const int *desca, size_t);
void pdlacpy_(const char *uplo, const int *m, const int *n, const double *a, const int *ia,
              const int *ja, const int *desca, double *b, const int *ib, const int *jb,
              const int *descb, size_t);
void pslacpy_(const char *uplo, const int *m, const int *n, const float *a, const int *ia,
              const int *ja, const int *desca, float *b, const int *ib, const int *jb,
              const int *descb, size_t);
double pdlange_(const char *norm, const int *m, const int *n, const double *a, const int *ia,
                const int *ja, const int *desca, double *work, size_t);
float pslange_(const char *norm, const int *m, const int *n, const float *a, const int *ia,
               const int *ja, const int *desca, float *work, size_t);

/* Factorisations: QR (and its Q made explicit), bidiagonal reduction and applying its
 * orthogonal factors. */
void pdgeqrf_(const int *m, const int *n, double *a, const int *ia, const int *ja,
              const int *desca, double *tau, double *work, const int *lwork, int *info);
void psgeqrf_(const int *m, const int *n, float *a, const int *ia, const int *ja,
              const int *desca, float *tau, float *work, const int *lwork, int *info);
void pdorgqr_(const int *m, const int *n, const int *k, double *a, const int *ia, const int *ja,
              const int *desca, const double *tau, double *work, const int *lwork, int *info);
void psorgqr_(const int *m, const int *n, const int *k, float *a, const int *ia, const int *ja,
              const int *desca, const float *tau, float *work, const int *lwork, int *info);
void pdgebrd_(const int *m, const int *n, double *a, const int *ia, const int *ja,
              const int *desca, double *d, double *e, double *tauq, double *taup, double *work,
              const int *lwork, int *info);
void psgebrd_(const int *m, const int *n, float *a, const int *ia, const int *ja,
              const int *desca, float *d, float *e, float *tauq, float *taup, float *work,
              const int *lwork, int *info);
void pdormbr_(const char *vect, const char *side, const char *trans, const int *m, const int *n,
              const int *k, const double *a, const int *ia, const int *ja, const int *desca,
              const double *tau, double *c, const int *ic, const int *jc, const int *descc,
              double *work, const int *lwork, int *info, size_t, size_t, size_t);
void psormbr_(const char *vect, const char *side, const char *trans, const int *m, const int *n,
              const int *k, const float *a, const int *ia, const int *ja, const int *desca,
              const float *tau, float *c, const int *ic, const int *jc, const int *descc,
              float *work, const int *lwork, int *info, size_t, size_t, size_t);

/* The reference driver: SVD by bidiagonal QR iteration. */
void pdgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a,
              const int *ia, const int *ja, const int *desca, double *s, double *u,
              const int *iu, const int *ju, const int *descu, double *vt, const int *ivt,
              const int *jvt, const int *descvt, double *work, const int *lwork, int *info,
              size_t, size_t);
void psgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, float *a,
              const int *ia, const int *ja, const int *desca, float *s, float *u, const int *iu,
              const int *ju, const int *descu, float *vt, const int *ivt, const int *jvt,
              const int *descvt, float *work, const int *lwork, int *info, size_t, size_t);

#endif

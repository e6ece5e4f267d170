/* The 2-D block-cyclic layout of ScaLAPACK: index helpers and a distributed matrix.
 *
 * A process grid has nprow x npcol processes; global row i (0-based) of a matrix with row
 * block mb lives on process row ((i / mb) + rsrc) mod nprow, as local row
 * (i / (mb * nprow)) * mb + i mod mb; columns likewise with nb and npcol. Each process holds
 * its rows x columns in one column-major local array with leading dimension lld.
 * Reference: ScaLAPACK Users' Guide, section 4.3 (the TOOLS numroc, indxg2p, indxg2l,
 * indxl2g, here 0-based and 64-bit). No communication happens in this file except in
 * t2_dist_matrix_copy (p?gemr2d, collective over the context). */
#ifndef T2_LINALG_BLOCK_CYCLIC_H
#define T2_LINALG_BLOCK_CYCLIC_H

#include <stddef.h>
#include <stdint.h>

#include "linalg/scalapack.h"

/* The floating-point type of a computation. */
typedef enum t2_precision {
    T2_PRECISION_DOUBLE = 0,
    T2_PRECISION_FLOAT = 1,
} t2_precision;

size_t t2_precision_size(t2_precision p);     /* 8 or 4 */
const char *t2_precision_name(t2_precision p); /* "double" or "float" */

/* Number of the n global indices (blocks of nb) that process iproc owns when the first block
 * is on process isrc of nprocs (numroc). */
int64_t t2_block_cyclic_count(int64_t n, int64_t nb, int iproc, int isrc, int nprocs);
/* The process owning global index g (indxg2p). */
int t2_block_cyclic_owner(int64_t g, int64_t nb, int isrc, int nprocs);
/* The local index of global index g on its owner (indxg2l). */
int64_t t2_block_cyclic_local(int64_t g, int64_t nb, int nprocs);
/* The global index of local index l on process iproc (indxl2g). */
int64_t t2_block_cyclic_global(int64_t l, int64_t nb, int iproc, int isrc, int nprocs);

/* A BLACS process grid as seen from one process; myrow = mycol = -1 when the process is not
 * part of it. */
typedef struct t2_process_grid {
    int context;
    int nprow, npcol;
    int myrow, mycol;
} t2_process_grid;

/* Fills g from the BLACS context (Cblacs_gridinfo). */
void t2_process_grid_query(t2_process_grid *g, int context);
/* 1 when this process belongs to the grid. */
int t2_process_grid_member(const t2_process_grid *g);

/* A rows x cols matrix distributed block-cyclically (blocks mb x nb, first block on process
 * (0, 0)) over a grid; this process's part is data (local_rows x local_cols, column-major,
 * leading dimension lld >= 1), owned. Processes outside the grid hold nothing. */
typedef struct t2_dist_matrix {
    t2_process_grid grid;
    t2_precision precision;
    int64_t rows, cols;
    int64_t mb, nb;
    int64_t local_rows, local_cols, lld;
    int desc[T2_DESC_LEN]; /* ScaLAPACK array descriptor */
    void *data;            /* local_rows x local_cols elements of `precision`, zeroed */
} t2_dist_matrix;

/* Allocates this process's zeroed part. Sizes and blocks must fit ScaLAPACK's 32-bit
 * integers (asserted). */
void t2_dist_matrix_init(t2_dist_matrix *a, const t2_process_grid *grid, t2_precision precision,
                         int64_t rows, int64_t cols, int64_t mb, int64_t nb);
void t2_dist_matrix_free(t2_dist_matrix *a); /* accepts a zeroed object; may run twice */

/* a[i0 .. i0+m, j0 .. j0+n) = g, where g is an m x n column-major matrix (leading dimension
 * ldg) of the same precision held in full by every process: each process copies the
 * elements it owns. Local, no communication. */
void t2_dist_matrix_set_global(t2_dist_matrix *a, int64_t i0, int64_t j0, int64_t m, int64_t n,
                               const void *g, int64_t ldg);
/* The reverse: adds the elements this process owns into g (a zeroed rows x cols
 * column-major array, leading dimension ldg), so that summing g over the grid's processes
 * gathers the matrix. Local. */
void t2_dist_matrix_add_to_global(const t2_dist_matrix *a, void *g, int64_t ldg);

/* dst = src (same global size and precision, any layouts) through p?gemr2d. Collective over
 * `context`, which must contain every process of both grids. */
void t2_dist_matrix_copy(t2_dist_matrix *dst, const t2_dist_matrix *src, int context);

#endif

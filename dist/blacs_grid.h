/* BLACS process grids over an MPI communicator, for the distributed SVD in linalg/ (which
 * receives contexts and never calls MPI). One call builds the three layouts a distributed
 * decomposition needs over the same processes:
 *   grid       nprow x npcol, as square as the process count allows (nprow >= npcol), for
 *              the factorisations;
 *   row_strip  P x 1, each process one band of consecutive rows (reading and writing
 *              row-major data in one piece);
 *   col_strip  1 x P, each process one band of consecutive columns.
 * Reference: ScaLAPACK Users' Guide 4.1 (Csys2blacs_handle, Cblacs_gridinit). */
#ifndef T2_DIST_BLACS_GRID_H
#define T2_DIST_BLACS_GRID_H

#include <mpi.h>

#include "linalg/block_cyclic.h"

typedef struct t2_blacs_grid {
    int system_handle;          /* the communicator's BLACS handle, -1 when none */
    int size;                   /* processes (the communicator's size) */
    t2_process_grid grid;
    t2_process_grid row_strip;
    t2_process_grid col_strip;
} t2_blacs_grid;

/* Collective over comm. Always succeeds (BLACS aborts the job on failure). */
void t2_blacs_grid_init(t2_blacs_grid *g, MPI_Comm comm);
/* Collective over the communicator given to init. Accepts a zeroed object; may run twice. */
void t2_blacs_grid_free(t2_blacs_grid *g);

/* nprow x npcol = size with nprow >= npcol and npcol as large as possible. */
void t2_blacs_grid_shape(int size, int *nprow, int *npcol);

#endif

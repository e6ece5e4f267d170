/* One target matrix of `t2 decompose` (internal to dist/decompose*.c): read the part this
 * rank owns from the safetensors, decompose, optionally check, and write the factors into
 * the store at their offsets. */
#ifndef T2_DIST_DECOMPOSE_MATRIX_H
#define T2_DIST_DECOMPOSE_MATRIX_H

#include <mpi.h>

#include "base/error.h"
#include "dist/blacs_grid.h"
#include "dist/decompose.h"
#include "linalg/svd.h"
#include "model/decomposition_store.h"

/* What every matrix job needs (all borrowed). */
typedef struct t2_decompose_work {
    const t2_decompose_options *opts;
    const t2_target_list *targets;
    const t2_decomposition_layout *layout;
    t2_decomposition_writer *writer;
} t2_decompose_work;

typedef struct t2_decompose_outcome {
    double seconds;      /* read, decompose, check and write */
    t2_svd_check check;  /* when opts->verify */
} t2_decompose_outcome;

/* Local: target `target` whole on this rank with LAPACK. 0 or -1 with err. */
int t2_decompose_matrix_local(const t2_decompose_work *work, int target,
                              t2_decompose_outcome *out, t2_error *err);

/* Collective over comm (the group, more than one rank) with its grids bg: the distributed
 * route. Every rank of the group returns the same status and message. */
int t2_decompose_matrix_group(const t2_decompose_work *work, int target, MPI_Comm comm,
                              const t2_blacs_grid *bg, t2_decompose_outcome *out, t2_error *err);

/* Collective over comm: 0 when local_status is 0 on every rank; otherwise -1 on every rank
 * with err set to the message of the lowest failing rank. */
int t2_decompose_agree(MPI_Comm comm, int local_status, t2_error *err);

#endif

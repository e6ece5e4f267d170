/* MPI start-up and shutdown for distributed commands: initialises MPI, tells the log module
 * this process's rank, makes failed asserts abort the whole job (MPI_Abort) instead of
 * leaving peers hanging, and sets BLIS's threads from the ranks sharing this node. */
#include "dist/runtime.h"

#include <mpi.h>

#include "base/assert.h"
#include "base/log.h"
#include "linalg/blis_setup.h"

static void abort_job(void) { MPI_Abort(MPI_COMM_WORLD, 1); }

void t2_runtime_init(t2_runtime *rt, int *argc, char ***argv) {
    int already = 0;
    MPI_Initialized(&already);
    if (!already) MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rt->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &rt->size);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rt->rank, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &rt->ranks_on_node);
    MPI_Comm_free(&node);
    t2_log_set_rank(rt->rank);
    t2_assert_set_abort_hook(abort_job);
    t2_blis_setup(0, rt->ranks_on_node);
}

int t2_runtime_agree(const t2_runtime *rt, int local_ok) {
    (void)rt;
    int all_ok = 0;
    MPI_Allreduce(&local_ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all_ok;
}

void t2_runtime_finalize(t2_runtime *rt) {
    (void)rt;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

/* One shared allocation per node (see node_shared.h): node rank 0 allocates all of it in an
 * MPI shared window, the others allocate nothing and query its address. The window stays in
 * a passive-target epoch (MPI_Win_lock_all) for its life, so MPI_Win_sync can order the
 * ranks' plain loads and stores around the node's barriers (MPI-3.1 §11.7, the separate
 * memory model's "shared memory synchronization" pattern). */
#include "dist/node_shared.h"

#include <string.h>

void t2_node_shared_init(t2_node_shared *s, size_t bytes) {
    memset(s, 0, sizeof *s);
    int world_rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world_rank, MPI_INFO_NULL,
                        &s->node);
    MPI_Comm_rank(s->node, &s->node_rank);
    MPI_Comm_size(s->node, &s->node_size);
    MPI_Aint mine = s->node_rank == 0 ? (MPI_Aint)(bytes > 0 ? bytes : 1) : 0;
    void *local = NULL;
    MPI_Win_allocate_shared(mine, 1, MPI_INFO_NULL, s->node, &local, &s->win);
    MPI_Aint size;
    int unit;
    MPI_Win_shared_query(s->win, 0, &size, &unit, &s->base);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, s->win);
    if (s->node_rank == 0) memset(s->base, 0, bytes);
    t2_node_shared_barrier(s);
}

void t2_node_shared_barrier(const t2_node_shared *s) {
    MPI_Win_sync(s->win);
    MPI_Barrier(s->node);
    MPI_Win_sync(s->win);
}

void t2_node_shared_free(t2_node_shared *s) {
    if (s->base != NULL) {
        MPI_Win_unlock_all(s->win);
        MPI_Win_free(&s->win);
        MPI_Comm_free(&s->node);
    }
    memset(s, 0, sizeof *s);
}

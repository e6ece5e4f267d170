/* Memory shared by the ranks of one node (MPI-3 shared windows): one allocation per node
 * that every rank on it reads and writes directly, e.g. the composed policy weights, which
 * are the same on every rank, so one copy per node suffices and the ranks split the work
 * of composing it. */
#ifndef T2_DIST_NODE_SHARED_H
#define T2_DIST_NODE_SHARED_H

#include <mpi.h>
#include <stddef.h>

typedef struct t2_node_shared {
    MPI_Comm node;  /* the ranks of this node (MPI_COMM_TYPE_SHARED) */
    MPI_Win win;
    void *base;     /* the node's allocation, mapped in this rank */
    int node_rank;  /* this rank among the node's */
    int node_size;  /* ranks on this node */
} t2_node_shared;

/* Collective over MPI_COMM_WORLD: every node gets one zeroed allocation of `bytes`
 * (collective argument), mapped in each of its ranks. */
void t2_node_shared_init(t2_node_shared *s, size_t bytes);
/* Collective over the node: returns when every rank of the node has called it, with every
 * write to the allocation made before the call visible to every rank after it. */
void t2_node_shared_barrier(const t2_node_shared *s);
/* Collective over MPI_COMM_WORLD; accepts a zeroed object. */
void t2_node_shared_free(t2_node_shared *s);

#endif

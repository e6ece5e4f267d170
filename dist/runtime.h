/* The MPI runtime of a distributed command (collective: every call here is made by all ranks
 * of MPI_COMM_WORLD). */
#ifndef T2_DIST_RUNTIME_H
#define T2_DIST_RUNTIME_H

typedef struct t2_runtime {
    int rank;          /* in MPI_COMM_WORLD */
    int size;          /* ranks in the job */
    int ranks_on_node; /* ranks sharing this node's CPUs */
} t2_runtime;

/* Collective. Initialises MPI (once), logging rank, the assert hook and BLIS. */
void t2_runtime_init(t2_runtime *rt, int *argc, char ***argv);
/* Collective agreement point: returns 1 when local_ok is non-zero on every rank. */
int t2_runtime_agree(const t2_runtime *rt, int local_ok);
/* Collective. */
void t2_runtime_finalize(t2_runtime *rt);

#endif

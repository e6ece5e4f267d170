/* The MPI runtime of a distributed command (collective: every call here is made by all ranks
 * of MPI_COMM_WORLD). */
#ifndef T2_DIST_RUNTIME_H
#define T2_DIST_RUNTIME_H

#include "base/error.h"

typedef struct t2_runtime {
    int rank;          /* in MPI_COMM_WORLD */
    int size;          /* ranks in the job */
    int ranks_on_node; /* ranks sharing this node's CPUs */
} t2_runtime;

/* Collective. Initialises MPI (once), logging rank, the assert hook and BLIS. */
void t2_runtime_init(t2_runtime *rt, int *argc, char ***argv);
/* Collective agreement point: returns 1 when local_ok is non-zero on every rank. */
int t2_runtime_agree(const t2_runtime *rt, int local_ok);
/* Collective agreement point on a status: returns 0 when status == 0 on every rank; else -1
 * on every rank, with err on every rank holding the message of the lowest failing rank
 * (prefixed "rank N: " when that is not rank 0), so rank 0 can print the one line. */
int t2_runtime_agree_status(const t2_runtime *rt, int status, t2_error *err);
/* Collective. Rank 0 reads the file at path (collective argument) and every rank receives
 * its bytes: *text is a heap NUL-terminated copy (t2_free), *len its length. Fails on every
 * rank with rank 0's message when rank 0 cannot read it. */
int t2_runtime_broadcast_file(const t2_runtime *rt, const char *path, char **text, size_t *len,
                              t2_error *err);
/* Collective. */
void t2_runtime_finalize(t2_runtime *rt);

#endif

/* The MPI runtime of a distributed command (collective: every call here is made by all ranks
 * of MPI_COMM_WORLD). */
#ifndef T2_DIST_RUNTIME_H
#define T2_DIST_RUNTIME_H

#include <stdint.h>

#include "base/error.h"

/* The parameter rank of expert training (dist/train.c): it holds the experts, the Adam
 * moments, checkpoints and metrics, and hands out work (dist/handout.h); it also runs
 * rollouts like every other rank (the worker role). */
enum { T2_PARAMETER_RANK = 0 };

typedef struct t2_runtime {
    int rank;          /* in MPI_COMM_WORLD */
    int size;          /* ranks in the job */
    int ranks_on_node; /* ranks sharing this node's CPUs */
    int threads_ok;    /* MPI granted MPI_THREAD_SERIALIZED (dist/handout.c needs it) */
} t2_runtime;

/* How a long training job checkpoints, resumes and reports: the settings t2 pretrain and
 * t2 train share. */
typedef struct t2_run_control {
    char *checkpoint_dir;     /* NULL: no checkpoints */
    int64_t checkpoint_every; /* steps between checkpoints */
    int resume;               /* continue from checkpoint_dir's checkpoint when present */
    int64_t stop_after;       /* end this invocation after this step, checkpointed (0: run to
                                 the end), for time-limited jobs that resume later */
    char *metrics;            /* JSON-lines file written by rank 0, NULL: none */
} t2_run_control;

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
/* Collective. Rank 0 logs every rank's RSS, PSS, their file-backed and anonymous parts and
 * the file pages shared with other processes (base/memory.h), and the ranks' total PSS:
 * what the job takes of the machine when all ranks share one node. `when` names the moment,
 * e.g. "after training". */
void t2_runtime_log_memory(const t2_runtime *rt, const char *when);
/* Collective. */
void t2_runtime_finalize(t2_runtime *rt);

#endif

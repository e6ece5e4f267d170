/* `t2 decompose` across ranks: the SVD of every target matrix of a model into one
 * decomposition store (model/decomposition_store.h).
 *
 * Scheduling (t2_decompose_plan, the same on every rank): matrices are ordered largest
 * first by their nominal SVD work. A matrix is "big" when its work exceeds a fair share of
 * one rank (total / ranks) or its single-process working set exceeds the memory budget per
 * rank; big matrices are decomposed in rounds where the ranks split into groups (sizes
 * proportional to the work, at least the memory needs), each group one matrix on its own
 * BLACS grid (linalg/svd.h's distributed route, or LAPACK when a group has one rank). Every
 * other matrix is decomposed whole by one rank with LAPACK's ?gesdd, handed out largest
 * first to whichever rank asks next (the plan's static assignment, longest first to the
 * least loaded rank, is the fallback without a thread-capable MPI). Ranks read only the
 * parts of a tensor they own, straight from the (possibly sharded) safetensors files, and
 * write each factor into the store at its offset as it completes.
 *
 * Collective over MPI_COMM_WORLD unless marked local. Errors on any rank are agreed on: every
 * rank returns -1 with the same message. */
#ifndef T2_DIST_DECOMPOSE_H
#define T2_DIST_DECOMPOSE_H

#include <stdint.h>

#include "base/error.h"
#include "dist/runtime.h"
#include "linalg/svd.h"
#include "model/targets.h"

typedef struct t2_decompose_options {
    const char *model;            /* model folder or .safetensors file */
    const char *out;              /* store path */
    t2_target_selector targets;
    t2_precision precision;       /* of the computation; the store holds float */
    t2_svd_method method;         /* of the distributed groups */
    int64_t block_size;           /* ScaLAPACK block (nb) */
    int64_t memory_per_rank;      /* bytes one rank may use for one matrix; 0: half of this
                                     node's memory divided by its ranks */
    int verify;                   /* print the --verify figures */
    int force;                    /* replace a store that does not match */
} t2_decompose_options;

/* One matrix as rank 0 heard of it. */
typedef struct t2_decompose_report {
    int done;           /* 1 once reported */
    int ok;             /* 1 when decomposed and written */
    int ranks;          /* the group size that decomposed it */
    double seconds;
    t2_svd_check check; /* when verify */
} t2_decompose_report;

/* What a run did. */
typedef struct t2_decompose_result {
    int reused;        /* 1 when a matching store was kept (nothing decomposed) */
    int matrices;      /* targets */
    int grouped;       /* of which planned on groups of more than one rank */
    double seconds;    /* wall time from the first read to the committed store */
    double flops;      /* nominal SVD work of the targets (t2_svd_flops) */
    int64_t store_bytes;
    char fingerprint[17];
    char **names;      /* [matrices] target names (rank 0; NULL elsewhere) */
    int64_t *rows, *cols; /* [matrices] (rank 0) */
    t2_decompose_report *reports; /* [matrices] (rank 0, when something was decomposed) */
} t2_decompose_result;

/* Local. Accepts a zeroed result; may run twice. */
void t2_decompose_result_free(t2_decompose_result *result);

/* Collective. Decomposes per opts (identical on every rank) and writes opts->out, or
 * re-uses a store there whose fingerprint matches. Rank 0 shows progress on stderr
 * (base/progress.h) and gathers the per-matrix reports into result. On failure every rank
 * returns -1 with the same err, the previous store (if any) is untouched and no temporary
 * file is left. result is filled as far as known either way (free it). */
int t2_decompose_run(const t2_runtime *rt, const t2_decompose_options *opts,
                     t2_decompose_result *result, t2_error *err);

/* ---- the plan (local, deterministic; exposed for tests) ---- */

typedef struct t2_decompose_job {
    int target;      /* index in the target list */
    int first_rank;  /* the group is ranks [first_rank, first_rank + ranks) */
    int ranks;
} t2_decompose_job;

typedef struct t2_decompose_plan {
    /* The big matrices, round by round: round k is grouped[round_start[k] ..
     * round_start[k + 1]), and its groups cover every rank once. */
    int n_rounds;
    int *round_start;          /* [n_rounds + 1] */
    t2_decompose_job *grouped; /* [n_grouped] */
    int n_grouped;
    t2_decompose_job *singles; /* [n_singles] every other matrix, one rank each, largest first */
    int n_singles;
} t2_decompose_plan;

/* Plans n matrices of the given shapes over `ranks` ranks with the memory budget in bytes
 * (per rank, for precision p). */
void t2_decompose_plan_make(t2_decompose_plan *plan, const int64_t *rows, const int64_t *cols,
                            int n, int ranks, int64_t memory_per_rank, t2_precision p);
void t2_decompose_plan_free(t2_decompose_plan *plan);

#endif

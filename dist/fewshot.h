/* Few-shot adaptation's search (collective over MPI_COMM_WORLD): the cross-entropy method
 * (rl/cem.h) over the mixture weights α of a bundle's experts, every population member
 * scored on the solved examples (rl/fewshot.h) by one rank — member m by rank m mod size —
 * and the scores shared with MPI_Allreduce, so P members cost P/size evaluations per rank.
 *
 * Every rank runs an identical replica of the CEM (same seed, same scores after the
 * reduction), so no population is sent: the result is bitwise the same on every rank and for
 * any rank count (each member's score is computed on one rank by the same single-process
 * code whichever rank it is).
 *
 * Iteration it scores each member on `batch` of the n examples: positions (it·batch + j) mod n
 * for j < batch, sorted (all n when batch is 0 or >= n). The first population's first K rows
 * are replaced by the single experts (α = e_k on every layer), so the search starts from the
 * best single expert and can only keep it or find better. At the end the kept members
 * (rl/cem.h, options.cem.keep) are re-scored on all n examples — "best member re-evaluated";
 * skipped when every iteration saw all of them — and the best is the search's answer, ties
 * broken by the mean log-likelihood of the worked answers. Only when the best single expert
 * scores better on all n examples (possible when iterations see a batch of them: the kept
 * members won on their batches) is it the answer instead — the fallback, which the result
 * reports, with the search's own score. */
#ifndef T2_DIST_FEWSHOT_H
#define T2_DIST_FEWSHOT_H

#include <stdint.h>

#include "base/error.h"
#include "dist/runtime.h"
#include "rl/cem.h"
#include "rl/fewshot.h"

typedef struct t2_fewshot_options {
    int64_t iterations;  /* CEM iterations, >= 1 */
    int64_t batch;       /* examples per member per iteration; 0: all */
    t2_cem_options cem;  /* population, elites, ... (t2_fewshot_default_options) */
    uint64_t seed;       /* the CEM's random stream */
    const char *log;       /* JSON-lines file rank 0 appends one line per iteration to
                              (t2_fewshot_search below), or NULL; borrowed */
    const char *log_label; /* the lines' "search" value (the task), or NULL; borrowed */
} t2_fewshot_options;

/* Defaults for a search over dim weights of k experts: 8 iterations, every example, the CEM
 * defaults with the first mean 1/k (the uniform mixture of the experts, per layer too). */
t2_fewshot_options t2_fewshot_default_options(int64_t dim, int k);

/* What a user sets for a few-shot search (t2 eval, t2 adapt: the fewshot_* keys). */
typedef struct t2_fewshot_settings {
    int64_t examples;   /* solved examples searched on: the first ones of the split */
    int64_t iterations; /* CEM iterations */
    int64_t population; /* CEM members per iteration */
    int64_t batch;      /* examples per member per iteration; 0: all */
    int per_layer;      /* one weight per (expert, layer) (the adapter must be made so) */
    char *log;          /* fewshot_log: the iterations' JSON-lines file, or NULL (heap; the
                           settings table frees it) */
} t2_fewshot_settings;

/* 32 examples, 8 iterations, population 32, every example each iteration, per expert. */
t2_fewshot_settings t2_fewshot_settings_default(void);

typedef struct t2_fewshot_result {
    double score;           /* the answer's accuracy on all examples, in [0,1] */
    double tiebreak;        /* its mean log-likelihood per worked-answer token */
    double search_score;    /* the search's own answer (its best member, before the
                               fallback): its accuracy on all examples */
    double search_tiebreak; /* and its mean log-likelihood */
    int fallback;           /* 1: the best single expert scored better than the search's
                               answer and is the answer (score, alpha); 0: the search's */
    double best_single;     /* the best single expert's accuracy on all examples */
    int best_single_expert; /* which one (bundle index) */
    int64_t examples;       /* solved examples searched on */
    int64_t evaluations;    /* member scorings, all ranks together */
    double seconds;         /* wall time */
} t2_fewshot_result;

/* What the search maximises: a score (and tiebreak) of a mixture α of K experts on a subset
 * of n examples. The few-shot commands score a bundle's answers (t2_fewshot_score through
 * t2_fewshot_run); tests pass synthetic objectives with a known optimum. */
typedef struct t2_fewshot_objective {
    int experts;     /* K >= 1 */
    int64_t dim;     /* weights: K × layers (expert k, layer l at k·layers + l), >= K */
    int64_t n;       /* examples, >= 1 */
    const char *const *names; /* [K] expert names for the progress notes; NULL: numbers */
    /* Scores alpha (dim values in [0,1]) on examples which[0..m) (positions 0..n-1,
     * increasing; NULL with m = n: all of them); 0, or -1 with err. Local: called on the
     * rank a member is dealt to, with the same result on any rank. */
    int (*score)(void *ctx, const float *alpha, const int64_t *which, int64_t m,
                 double *score, double *tiebreak, t2_error *err);
    void *ctx;
} t2_fewshot_objective;

/* Collective (o and the objective's sizes and results the same on every rank; its ctx
 * local). Writes the answer's α (obj->dim values) to alpha on every rank. 0 on every rank,
 * or -1 on every rank with the same err (an option out of range, a failed scoring, an
 * o->log that cannot be appended to).
 * With o->log, rank 0 appends one JSON line per CEM iteration to it (created if missing, never
 * emptied), in this order: {"search": label, "iteration": 1.., "examples": m, "members": P,
 * "experts": [K names], "best_score", "best_tiebreak", "best_alpha": [dim] (the best member
 * seen so far), "iteration_best", "iteration_mean" (this iteration's members' scores),
 * "mean_alpha": [dim] (the CEM's sampling mean after the iteration)}; α per layer is at
 * k·layers + l. */
int t2_fewshot_search(const t2_runtime *rt, const t2_fewshot_objective *obj,
                      const t2_fewshot_options *o, float *alpha, t2_fewshot_result *result,
                      t2_error *err);

/* Collective: the whole search as the commands run it — a scorer on the first s->examples
 * samples of the task's split (decoded with dec), the options of s with the CEM stream
 * seed (and s->log, labelled source), then t2_fewshot_search. a is local (one per rank,
 * with a bundle); task, s, dec and seed are collective. 0, or -1 on every rank with the same
 * err ("<source>: no solved examples" when the split is empty, naming it by source). */
int t2_fewshot_run(const t2_runtime *rt, t2_adapt *a, const t2_task *task, t2_task_split split,
                   const char *source, const t2_fewshot_settings *s, uint64_t seed,
                   const t2_eval_decoding *dec, float *alpha, t2_fewshot_result *result,
                   t2_error *err);

#endif

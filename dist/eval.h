/* Sharded evaluation (collective over MPI_COMM_WORLD): the accuracy of the base model, one
 * expert, or an adaptation strategy (rl/adapt.h) on one or more tasks, every (task, strategy)
 * pair measured on samples [0, n) of the task's split with greedy decoding.
 *
 * Sharding. A task's n samples are cut into blocks of `batch` consecutive indices,
 * [b·batch, (b+1)·batch) (the last one shorter); with B blocks, rank r takes the contiguous
 * blocks [B·r/size, B·(r+1)/size) and answers them with t2_adapt_run. rl/adapt.h never
 * batches samples of different blocks together, so every sample's completion is the one a
 * 1-rank run produces, whatever the rank count; the per-rank counts are summed as integers,
 * so the reported counts (correct, tokens, routing) equal a 1-rank run's exactly. Ranks
 * without a block take part in the reductions only. Seconds are the slowest rank's.
 *
 * The fewshot strategy first searches its mixture on the task's solved examples with every
 * rank (dist/fewshot.h), then answers the samples with it like any mixture.
 *
 * Checks, all before the first sample, ending every rank with the same one-line error
 * (t2_runtime_agree_status): the split, each task name and level (name@level), each strategy
 * (against the bundle: "expert:<name>" must name one of its experts, "classifier" needs its
 * classifier, any strategy but "base" needs a bundle), the bundle file, the bundle made for
 * this model (rank 0 fingerprints the model, t2_bundle_check_model on every rank), the model
 * folder, and when a strategy uses experts the store (required; made from this model's
 * weights, t2_decomposition_store_check_model on rank 0) and the experts' fit to it. */
#ifndef T2_DIST_EVAL_H
#define T2_DIST_EVAL_H

#include <stdint.h>

#include "base/error.h"
#include "dist/fewshot.h"
#include "dist/runtime.h"
#include "model/decomposition_store.h"
#include "rl/dispatch.h"

typedef struct t2_eval_settings {
    char *model;            /* base model folder */
    char *store;            /* its decomposition store (needed by strategies using experts) */
    char *bundle;           /* expert bundle (rl/bundle.h), or NULL */
    char *strategies;       /* comma list: base, expert:<name>, prompt, classifier */
    char *tasks;            /* comma list of built-in task names, each optionally @level */
    char *split;            /* "test" or "train" */
    int64_t n;              /* samples per task, from the first (fewer when the split is) */
    int64_t batch;          /* samples decoded together: the sharding block */
    int64_t max_new_tokens; /* longest answer */
    int64_t seed;           /* the built-in tasks' generator seed */
    char *kv_cache;         /* "f32" or "f16": the decoding's KV cache */
    /* The fewshot strategy (dist/fewshot.h): its solved examples are the first
     * fewshot.examples samples of the task's train split (disjoint from the test split). */
    t2_fewshot_settings fewshot;
    t2_prompt_settings prompt; /* chat format, BOS/EOS, system message */
} t2_eval_settings;

enum { T2_EVAL_OUTCOMES = 4 }; /* t2_dispatch_outcome values */

/* One (task, strategy) pair; counts summed over ranks. */
typedef struct t2_eval_row {
    char *task;             /* task name (owned) */
    int level;              /* the generator level used */
    char *strategy;         /* as given, e.g. "expert:math" (owned) */
    int routes;             /* a two-pass strategy: the routing fields below are set */
    int64_t n, correct, no_answer;
    int64_t prompt_tokens, new_tokens; /* all passes */
    double seconds;         /* wall time of the slowest rank */
    int64_t route_prompt_tokens, route_new_tokens; /* the routing pass's share of the above */
    int64_t *routed;        /* [n_categories + 1] samples answered by each expert, then by the
                               base model (owned; NULL for one-pass strategies) */
    int64_t outcomes[T2_EVAL_OUTCOMES]; /* routing completions by t2_dispatch_outcome */
    int64_t own_known;      /* samples whose own category (the task's) has an expert */
    int64_t own_routed;     /* of those, routed to that expert */
    /* fewshot only (alpha NULL otherwise): the mixture found and how it was found */
    float *alpha;           /* [alpha_dim] the weights answered with (owned) */
    int64_t alpha_dim;      /* experts, or experts x layers (α[k * layers + l]) */
    int64_t examples;       /* solved examples searched on */
    double example_score;   /* the mixture's accuracy on them */
    double best_single;     /* the best single expert's accuracy on them */
    int best_single_expert; /* which (bundle index) */
    double search_score;    /* the search's own answer's accuracy on them, before the
                               fallback to the best single expert */
    int fallback;           /* 1: the best single expert answered instead (dist/fewshot.h) */
    int64_t evaluations;    /* member scorings of the search */
    double search_seconds;  /* the search's wall time (not in seconds) */
} t2_eval_row;

typedef struct t2_eval_report {
    int n_rows;
    t2_eval_row *rows;      /* [n_rows] task-major, strategies in the given order (owned) */
    int n_categories;       /* the bundle's experts; 0 without a bundle */
    char **categories;      /* [n_categories] their names (owned) */
    char *classifier;       /* the classifier's name, or NULL (owned) */
    char fingerprint[T2_FINGERPRINT_CHARS]; /* the model's, "" when no bundle asked for it */
    int ranks;
} t2_eval_report;

/* Collective. s is collective (the same settings on every rank); out is local (filled on
 * every rank with the same sums). Runs every (task, strategy) pair, task-major. 0 on every
 * rank, or -1 on every rank with the same err (see the checks above; a prompt too long for
 * the model's context) and out zeroed. */
int t2_eval_run(const t2_runtime *rt, const t2_eval_settings *s, t2_eval_report *out,
                t2_error *err);
void t2_eval_report_free(t2_eval_report *r); /* zeroed ok; twice ok */

#endif

/* Few-shot adaptation's score of one mixture (DESIGN.md, Adaptation 3): how well the mixture
 * m' = Σ_k α_k m_k of a bundle's experts (rl/adapt.h) answers a handful of solved examples:
 *   score     the fraction of the examples answered correctly, greedy (the mixture strategy
 *             of t2_adapt_run, in the task's blocks of dec.batch samples);
 *   tiebreak  the mean log-likelihood per token of the examples' worked answers under the
 *             mixture: each example's prompt followed by its worked answer, teacher-forced,
 *             log p of every worked-answer token, averaged over all of them — DESIGN.md's
 *             "ties broken by mean log-likelihood of correct answers".
 * The examples are samples of a task's split (a built-in task's train split, or a dataset
 * file of solved examples). The search over α is dist/fewshot.h; this file scores one α on
 * any subset of the examples. Single-process; no MPI. */
#ifndef T2_RL_FEWSHOT_H
#define T2_RL_FEWSHOT_H

#include <stdint.h>

#include "base/error.h"
#include "model/train.h"
#include "rl/adapt.h"
#include "rl/evaluate.h"
#include "rl/task.h"

typedef struct t2_fewshot_scorer {
    t2_adapt *adapt;         /* borrowed; made with a bundle of svf experts */
    const t2_task *task;     /* borrowed */
    t2_task_split split;
    int64_t n;               /* examples */
    int64_t *indices;        /* [n] their sample indices in the split, increasing (owned) */
    t2_eval_decoding dec;    /* greedy decoding of the answers */
    int64_t seq_len;         /* longest example row: prompt + worked answer - 1 tokens */
    int32_t *tokens;         /* [n x seq_len] inputs of the teacher-forced rows */
    int32_t *targets;        /* [n x seq_len] next tokens */
    float *answer_mask;      /* [n x seq_len] 1 where the target is a worked-answer token */
    int64_t *answer_tokens;  /* [n] worked-answer tokens of each example */
    float *weights;          /* [n x seq_len] scratch: the loss weights of a subset */
    float *logprobs;         /* [n x seq_len] scratch: log p(target) */
    t2_trainer *trainer;     /* forward over adapt->adapted, for the log-likelihoods */
} t2_fewshot_scorer;

/* Prepares scoring on examples indices[0..n) (n >= 1, strictly increasing) of the split.
 * a, task are borrowed and must outlive f. 0, or -1 with err (an example longer than the
 * model's context) and f safe to free. */
int t2_fewshot_scorer_init(t2_fewshot_scorer *f, t2_adapt *a, const t2_task *task,
                           t2_task_split split, const int64_t *indices, int64_t n,
                           const t2_eval_decoding *dec, t2_error *err);
void t2_fewshot_scorer_free(t2_fewshot_scorer *f); /* zeroed ok; twice ok */

/* Scores the mixture alpha (t2_adapt_dim values in [0,1]) on examples which[0..m) (positions
 * 0..n-1 into the examples, strictly increasing; NULL with m = n: all of them): *score in
 * [0,1], *tiebreak <= 0. Leaves the mixture composed in the adapter's weight copy. 0, or -1
 * with err. */
int t2_fewshot_score(t2_fewshot_scorer *f, const float *alpha, const int64_t *which, int64_t m,
                     double *score, double *tiebreak, t2_error *err);

#endif

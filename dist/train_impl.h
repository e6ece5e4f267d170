/* Private to dist/train*.c: the state of one expert-training run on one rank. */
#ifndef T2_DIST_TRAIN_IMPL_H
#define T2_DIST_TRAIN_IMPL_H

#include <stdio.h>

#include "dist/node_shared.h"
#include "dist/train.h"
#include "model/adapter.h"
#include "model/decomposition_store.h"
#include "model/model_dir.h"
#include "rl/expert.h"
#include "rl/rollout.h"
#include "rl/task.h"

/* What one step measured (sums over all ranks where it says so). */
typedef struct t2_train_step_stats {
    double reward_mean, reward_std, accuracy; /* over the batch's rollouts */
    double kl;                                /* mean per-rollout Σ_t k_t (β > 0) */
    double loss;                              /* summed chunk losses */
    double grad_norm;                         /* before clipping */
    int64_t tokens;                           /* prompt + completion tokens, all ranks */
    double seconds_rollout, seconds_backward, seconds_wait, seconds_comm, seconds_update;
} t2_train_step_stats;

typedef struct t2_train_job {
    const t2_runtime *rt;         /* borrowed */
    const t2_train_settings *s;   /* borrowed */
    t2_model_dir model;           /* config, tokenizer and the base weights */
    t2_model_weights policy;      /* the composed weights W' of the current parameters: the
                                   * base's, but for the targets in policy_targets */
    t2_node_shared policy_targets; /* the targets' W', one copy per node */
    t2_decomposition_store store; /* svf only */
    t2_adapter adapter;
    t2_task *task;
    t2_rollout_engine engine;
    t2_rollout_options rollout;
    t2_reward_norm reward_norm;
    char fingerprint[T2_FINGERPRINT_CHARS]; /* of the base model */
    char run_id[T2_FINGERPRINT_CHARS];      /* hash of every setting that changes the result */
    int64_t train_pool;           /* training prompts are drawn from train items [0, pool) */
    int64_t val_first, val_n;     /* validation: train items [val_first, val_first + val_n) */
    int64_t n_chunks;             /* ceil(batch / chunk) */
    float *params;                /* [n_params] every rank: the parameters being trained */
    t2_train_state state;         /* parameter rank: parameters, moments, best, step */
    float *chunk_accum;           /* [n_chunks x accum_size] accumulators (the chunks whose
                                     training pass ran here; zero elsewhere) */
    float *grad;                  /* [n_params] parameter rank */
    t2_rollout *rollouts;         /* [batch]: this rank's chunks, then every chunk (shared) */
    int *own_chunk;               /* [n_chunks] 1 for chunks this rank generated this step */
    float *rewards, *advantages;  /* [batch] */
    double *per_prompt;           /* [batch x 2]: kl, tokens (prompts trained here; then
                                     summed) */
    FILE *metrics;                /* parameter rank; NULL: none */
} t2_train_job;

/* One optimiser step (collective): steps 1-4 of dist/train.h for step `step` (1-based) with
 * job->params composed into job->policy; the parameter rank's state advances. */
int t2_train_step(t2_train_job *job, int64_t step, t2_train_step_stats *stats, t2_error *err);

/* Collective: the parameter rank sends job->state.params as an ExpertSet message; every rank
 * unpacks it into job->params (the caller then composes the policy weights). */
int t2_train_share_params(t2_train_job *job, t2_error *err);

#endif

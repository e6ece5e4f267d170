/* Private to dist/train*.c: the state of one expert-training run on one rank. */
#ifndef T2_DIST_TRAIN_IMPL_H
#define T2_DIST_TRAIN_IMPL_H

#include <stdio.h>

#include "base/file.h"
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

/* The train items a run draws and validates on, and the lengths of their prompts
 * (dist/train_prompts.c). Training draws from the pool, items [0, pool_end); validation uses
 * the items [pool_end, n) that fit. An item fits when its prompt has at most max_len tokens
 * (the model's positions less max_new_tokens); a drawn item that does not is replaced by
 * another draw, so it is skipped. The same on every rank. */
typedef struct t2_train_prompts {
    int64_t n, pool_end;   /* train items; the pool is [0, pool_end) */
    int64_t max_len;       /* the longest prompt that fits, in tokens */
    uint64_t seed;         /* the run's seed: step s draws from (seed, s) */
    int64_t batch;         /* items per step */
    int32_t *length;       /* [n] tokens of each measured item's prompt; < 0: not measured
                              (never drawn by steps 1..steps nor a validation item) */
    int64_t measured;      /* items measured */
    int64_t *val;          /* [n_val] validation items that fit, increasing */
    int64_t n_val;
    int64_t longest;       /* tokens of the longest prompt steps 1..steps draw */
    int64_t longest_item;  /* its train item (the first of equals) */
    int64_t skipped;       /* measured items that do not fit: drawn and replaced, or left out
                              of validation */
    int64_t first_skipped; /* the lowest of them; -1 when none */
} t2_train_prompts;

/* Collective (every argument but p and err the same on every rank): replays the draws of
 * steps 1..steps of a run with seed and batch over train items [0, pool_end) of task and
 * tokenizes, through `prompt`, every prompt they draw and every validation item [pool_end,
 * n) — the ranks share the tokenizing — so p holds the engine's size (longest) and the
 * validation items (1 <= pool_end <= n). 0, or -1 on every rank with err when no training
 * item fits, or validation items exist and none fits. Free p with t2_train_prompts_free
 * either way. */
int t2_train_prompts_measure(t2_train_prompts *p, const t2_runtime *rt, const t2_task *task,
                             const t2_prompt_encoder *prompt, int64_t n, int64_t pool_end,
                             int64_t max_len, uint64_t seed, int64_t batch, int64_t steps,
                             t2_error *err);
/* Step's batch of train items into indices[p->batch] (1 <= step <= the steps measured): the
 * same on every rank and on a resume; with no item skipped, a plain draw with replacement
 * from the pool by (seed, step). */
void t2_train_prompts_draw(const t2_train_prompts *p, int64_t step, int64_t *indices);
void t2_train_prompts_free(t2_train_prompts *p); /* zeroed ok; twice ok */

/* A seed from (seed, a, b): distinct for distinct inputs (the streams of a run's prompt
 * draws, a = 1, and of its chunks' sampling, a = 2 + step). */
uint64_t t2_train_seed(uint64_t seed, uint64_t a, uint64_t b);

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
    t2_train_prompts prompts;     /* the pool training draws from (train items before the
                                     last val_samples) and the validation items (the last
                                     val_samples), both without the items that cannot fit */
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
    t2_append_file metrics;       /* parameter rank; path NULL: none */
} t2_train_job;

/* One optimiser step (collective): steps 1-4 of dist/train.h for step `step` (1-based) with
 * job->params composed into job->policy; the parameter rank's state advances. */
int t2_train_step(t2_train_job *job, int64_t step, t2_train_step_stats *stats, t2_error *err);

/* Collective: the parameter rank sends job->state.params as an ExpertSet message; every rank
 * unpacks it into job->params (the caller then composes the policy weights). */
int t2_train_share_params(t2_train_job *job, t2_error *err);

#endif

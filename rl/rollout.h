/* Rollouts and the REINFORCE / supervised loss of one chunk of prompts (single-process; the
 * distributed loop in dist/train.c hands chunks out and sums their gradients).
 *
 * A chunk is a handful of training prompts processed together. Its result depends only on
 * the chunk (prompt indices, seed, weights), never on which rank or which other chunks run,
 * so a run's experts are the same however the chunks were handed out.
 *
 *   1. t2_rollout_generate: completes each prompt with the current (composed) weights —
 *      sampled at the configured temperature from a stream seeded by (seed, prompt slot) —
 *      and scores it with the task's reward (+1 / -1). With objective sft the completion is
 *      the task's worked answer instead and the reward is +1.
 *   2. the caller turns the rewards of the whole batch into advantages (t2_rollout_advantages:
 *      none / centred / standardised, then clipped).
 *   3. t2_rollout_backward: one training pass over the chunk's rows (prompt + completion)
 *      with loss weights on the completion tokens only (rl/rollout_loss.h):
 *        reinforce:  w_t = (A_p - β R_t) / B,  R_t = Σ_{t' > t} KL_t'
 *        sft:        w_t = 1 / (B · |completion_p|)
 *      and, for reinforce with β > 0, the KL term (β / B) Σ_p Σ_t KL_t added on the logits,
 *      so the loss is -Σ_p A_p Σ_t log π(a_t) / B + β KL — DESIGN.md's REINFORCE loss
 *      averaged over the batch of B prompts — and the adapter's gradient accumulator
 *      (model/adapter.h) receives every target layer's (X, Δ).
 *
 * The KL penalty. KL_t = Σ_v π(v|c_t) (log π(v|c_t) − log π_base(v|c_t)) is the
 * full-vocabulary analytic KL at each visited context c_t (prompt and a_<t), computed exactly
 * from the logits of both models, never estimated from the sampled token alone. Σ_t KL_t over
 * a completion sampled from π is an unbiased estimate of the sequence-level
 * KL(π ‖ π_base) of completions (the chain rule of KL), and its gradient has two parts:
 *   - pathwise: Σ_t ∇KL_t at the fixed contexts, exact — ∂KL_t/∂z_v = π_v ((log π_v −
 *     log π_base_v) − KL_t) on the policy logits z, through the whole backward;
 *   - the contexts' own dependence on the policy (score function): Σ_t R_t ∇ log π(a_t) with
 *     the reward-to-go R_t = Σ_{t' > t} KL_t' (the later positions' KL; earlier ones do not
 *     depend on a_t), held constant, in the weights above.
 * Their sum is an unbiased estimate of ∇ KL(π ‖ π_base) over whole completions
 * (tests/test_rollout_kl.c checks both parts by finite differences, and their expectation
 * against the exact sequence KL of all two-token completions). It costs two forwards per
 * pass besides the training step's (base, then policy, for the KL_t behind R_t).
 * Sampling must then be from π itself: REINFORCE refuses other sampling settings
 * (t2_rollout_check_sampling).
 * Does not: choose prompts, reduce across ranks, or update parameters. */
#ifndef T2_RL_ROLLOUT_H
#define T2_RL_ROLLOUT_H

#include <stdint.h>

#include "base/error.h"
#include "model/adapter.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/sampler.h"
#include "model/prompt_encoder.h"
#include "model/tokenizer.h"
#include "model/train.h"
#include "rl/rollout_loss.h"
#include "rl/task.h"

typedef enum t2_objective {
    T2_OBJECTIVE_REINFORCE = 0,
    T2_OBJECTIVE_SFT = 1,
} t2_objective;

typedef enum t2_reward_norm {
    T2_REWARD_NORM_NONE = 0,        /* A = r */
    T2_REWARD_NORM_CENTER = 1,      /* A = r - mean(r) */
    T2_REWARD_NORM_STANDARDIZE = 2, /* A = (r - mean(r)) / (std(r) + 1e-6) */
} t2_reward_norm;

typedef struct t2_rollout_options {
    t2_objective objective;
    int64_t max_new_tokens;
    t2_sampler_params sampler;  /* rollout sampling (temperature 0: greedy) */
    float kl_beta;              /* β >= 0 */
    int64_t batch_prompts;      /* B: prompts per optimiser step (loss normalisation) */
    int64_t trainer_bytes;      /* activations a training pass may hold (0: the default
                                   T2_ROLLOUT_TRAINER_BYTES) */
    t2_weight_type kv_cache;    /* the generator's KV cache: T2_WEIGHT_F32 (0) or _F16 */
} t2_rollout_options;

/* One prompt of a chunk and what became of it. */
typedef struct t2_rollout {
    int64_t index;        /* sample index in the task's train split */
    int32_t *tokens;      /* [prompt_len + completion_len]: prompt then completion (heap) */
    int64_t prompt_len, completion_len;
    float reward;         /* +1 / -1 (sft: +1) */
    float advantage;      /* set by the caller before t2_rollout_backward */
    double kl;            /* Σ_t KL_t over the completion, the exact KL at each visited
                             context (after t2_rollout_backward; 0 unless reinforce, β > 0) */
} t2_rollout;

/* The workspaces of one rank: a generator (forward + KV cache) and one trainer, which runs
 * over the policy weights, and over the base weights for the KL's reference when β > 0. The
 * trainer holds up to pass_seqs sequences: a chunk goes through it pass_seqs at a time, so
 * that its activations (and, for the KL, the base model's logits at the completion
 * positions) stay within options.trainer_bytes (a whole chunk at once when it fits, as for
 * small models; the gradient is the same sum either way, up to rounding). */
enum { T2_ROLLOUT_TRAINER_BYTES = 1 << 30 };
typedef struct t2_rollout_engine {
    const t2_model_config *cfg;   /* borrowed */
    const t2_prompt_encoder *prompt; /* borrowed: how prompts become ids */
    const t2_task *task;          /* borrowed */
    t2_rollout_options options;
    int64_t max_prompts;          /* chunk size */
    int64_t max_prompt_len;       /* prompts longer than this are an error */
    t2_forward forward;
    t2_kv_cache cache;
    const t2_model_weights *policy_weights, *base_weights; /* borrowed */
    t2_trainer *trainer;          /* pass_seqs sequences of a chunk at a time */
    int64_t pass_seqs;
    int32_t *batch_tokens, *batch_targets; /* max_prompts x row capacity */
    float *batch_weights;                  /* max_prompts x row capacity */
    /* the KL (reinforce with β > 0; else NULL), for one pass of pass_seqs rows: */
    float *base_logits;   /* (pass_seqs · max_new_tokens) x vocab: the base model's logits at
                             the pass's completion positions, in row order */
    int64_t *kl_row;      /* pass_seqs x row capacity: a position's row of base_logits, or -1
                             where nothing is sampled */
    double *kl;           /* pass_seqs x row capacity: KL_t at each completion position */
} t2_rollout_engine;

/* REINFORCE's loss scores completions under π itself (temperature 1, the whole vocabulary),
 * so its rollouts must be sampled from π: 0 when objective is not reinforce or sampler is
 * temperature 1, top_k 0, top_p 1; else -1 with err naming the first setting that is not
 * ("temperature: 0.7 with objective reinforce samples off-policy; expected 1 ..."). */
int t2_rollout_check_sampling(t2_objective objective, const t2_sampler_params *sampler,
                              t2_error *err);

/* Sets up for chunks of up to max_prompts prompts of up to max_prompt_len tokens. policy and
 * base are borrowed weights (base only read when kl_beta > 0); policy is read at every call,
 * so composing new parameters into it between steps is all an update needs. 0, or -1 with
 * err (nothing allocated) when prompt plus completion cannot fit the model's positions or
 * the sampling is off-policy for reinforce (t2_rollout_check_sampling). */
int t2_rollout_engine_init(t2_rollout_engine *e, const t2_model_config *cfg,
                           const t2_model_weights *policy, const t2_model_weights *base,
                           const t2_prompt_encoder *prompt, const t2_task *task,
                           const t2_rollout_options *options, int64_t max_prompts,
                           int64_t max_prompt_len, t2_error *err);
void t2_rollout_engine_free(t2_rollout_engine *e); /* zeroed ok; twice ok */

/* The longest prompt, in tokens, of the first n samples of the split starting at first
 * (to size an engine). */
int64_t t2_rollout_longest_prompt(const t2_task *task, const t2_prompt_encoder *prompt,
                                  t2_task_split split, int64_t first, int64_t n);

/* Step 1 for n <= max_prompts prompts (train-split indices) with sampling seed `seed`:
 * fills out[0..n) (free with t2_rollout_free). 0, or -1 with err (a prompt too long). */
int t2_rollout_generate(t2_rollout_engine *e, const int64_t *indices, int64_t n, uint64_t seed,
                        t2_rollout *out, t2_error *err);

/* Step 2: advantages of a whole batch of n rewards (in batch order) into advantages[n]. */
void t2_rollout_advantages(const float *rewards, int64_t n, t2_reward_norm norm, float clip,
                           float *advantages);

/* Step 3: the training pass over a chunk of n rollouts (advantages set); adds into the
 * gradient accumulator through ctx (model/adapter.h), sets each rollout's kl, and returns
 * the chunk's loss in *loss: Σ_t w_t (−log π(a_t)) + (β / B) Σ_p Σ_t KL_t (the KL term only
 * for reinforce with β > 0). 0, or -1 with err (the accumulator may hold part of the chunk). */
int t2_rollout_backward(t2_rollout_engine *e, t2_rollout *rollouts, int64_t n,
                        t2_adapter_grad_ctx *ctx, double *loss, t2_error *err);

void t2_rollout_free(t2_rollout *r, int64_t n); /* zeroed ok */

/* "reinforce"/"sft", "none"/"center"/"standardize" <-> enums: 0, or -1 for other names. */
int t2_objective_from_name(const char *name, t2_objective *out);
const char *t2_objective_name(t2_objective o);
int t2_reward_norm_from_name(const char *name, t2_reward_norm *out);
const char *t2_reward_norm_name(t2_reward_norm n);

#endif

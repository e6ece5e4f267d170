/* The per-token maths of the rollout loss (rl/rollout.h), as pure functions over arrays, so
 * that tests can check each against values computed by hand:
 *   - the exact KL between the policy's and the base model's next-token distributions at
 *     one context, KL = Σ_v π_v (log π_v − log π_base_v) over the whole vocabulary, and its
 *     gradient with respect to the policy's logits z: ∂KL/∂z_v = π_v ((log π_v − log
 *     π_base_v) − KL);
 *   - the loss weights of one completion: REINFORCE's advantage minus the KL's reward-to-go,
 *     and the supervised objective's mean over the completion.
 * Why this KL and what it leaves out: rl/rollout.h and docs/train.md ("KL penalty").
 * Does not: run a model, or know about chunks, ranks or sampling. */
#ifndef T2_RL_ROLLOUT_LOSS_H
#define T2_RL_ROLLOUT_LOSS_H

#include <stdint.h>

/* KL(π ‖ π_base) at one context, in double: π = softmax(logits), π_base =
 * softmax(base_logits) (each `vocab` floats, the raw logits of the two models). >= 0 up to
 * rounding; 0 when the two rows are equal up to a constant. */
double t2_rollout_loss_kl(const float *logits, const float *base_logits, int64_t vocab);

/* Adds scale · ∂KL/∂z_v = scale · π_v ((log π_v − log π_base_v) − kl) into dlogits[v] for
 * every v (vocab floats, accumulated), kl being t2_rollout_loss_kl of the same two rows. */
void t2_rollout_loss_kl_backward(float *dlogits, const float *logits, const float *base_logits,
                                 int64_t vocab, double kl, double scale);

/* REINFORCE loss weights of one completion of n tokens (w: n floats, overwritten), with B =
 * batch_prompts >= 1:
 *     w_t = (A − β Σ_{t' > t} kl[t']) / B
 * kl[t] being the exact KL at the context of token t (n values); kl NULL or β = 0 gives
 * w_t = A / B. Returns Σ_t kl[t] (0 without kl). */
double t2_rollout_loss_reinforce_weights(float *w, double advantage, double beta,
                                         const double *kl, int64_t n, int64_t batch_prompts);

/* Supervised loss weights of one completion of n >= 1 tokens: w_t = 1 / (B n). */
void t2_rollout_loss_sft_weights(float *w, int64_t n, int64_t batch_prompts);

#endif

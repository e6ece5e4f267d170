/* Training pass of the transformer: a forward over whole sequences that keeps every
 * activation, a weighted next-token loss, and the hand-written backward of every op.
 *
 * The batch is n_seqs rows of seq_len tokens (packed documents; each row attends causally
 * within itself, positions 0..seq_len-1). The loss is a weighted sum over positions:
 *     L = sum_{s,t} w[s][t] * (-log softmax(logits[s][t])[target[s][t]])
 * with w[s][t] = 0 (and target ignored) where nothing is learnt. Pretraining uses w = 1/count,
 * REINFORCE uses w = advantage/batch on completion tokens (rl/rollout.h) (DESIGN.md), supervised fine-tuning
 * w = 1/count on answer tokens. The backward yields, as asked:
 *   - weight gradients, ADDED into a t2_model_weights-shaped gradient (zeroed by the caller
 *     once per step), and/or
 *   - for every linear layer, its input X (T x in) and output gradient Δ = dL/dY (T x out)
 *     handed to a callback, so SVF can form g_i = u_iᵀ (Δᵀ X) v_i without ever building dL/dW.
 * Reference: Hugging Face modeling_llama.py for the forward; the backward is derived by hand
 * and proven by finite differences (tests/test_train_*.c). Single-process; no MPI. */
#ifndef T2_MODEL_TRAIN_H
#define T2_MODEL_TRAIN_H

#include <stdint.h>

#include "base/error.h"
#include "model/config.h"
#include "model/weights.h"

typedef struct t2_train_batch {
    int64_t n_seqs, seq_len;
    const int32_t *tokens;  /* n_seqs x seq_len: inputs */
    const int32_t *targets; /* n_seqs x seq_len: next tokens (any value where weight is 0) */
    const float *weights;   /* n_seqs x seq_len: loss weight per position */
} t2_train_batch;

/* Which linear layer of a block a callback refers to. */
typedef enum t2_linear_kind {
    T2_LINEAR_Q = 0, T2_LINEAR_K, T2_LINEAR_V, T2_LINEAR_O,
    T2_LINEAR_GATE, T2_LINEAR_UP, T2_LINEAR_DOWN,
    T2_LINEAR_COUNT
} t2_linear_kind;

/* Called once per (layer, linear) during the backward with x: rows x in (ld in) and
 * delta: rows x out (ld out), both borrowed for the call's duration. */
typedef void (*t2_linear_grad_fn)(void *ctx, int64_t layer, t2_linear_kind kind,
                                  const float *x, const float *delta, int64_t rows, int64_t in,
                                  int64_t out);

typedef struct t2_train_options {
    t2_model_weights *grads;     /* weight gradients are added here; NULL skips them */
    t2_linear_grad_fn linear_fn; /* NULL: no callback */
    void *linear_ctx;
    float *token_logprobs;       /* optional n_seqs x seq_len out: log p(target) per position */
} t2_train_options;

typedef struct t2_trainer t2_trainer; /* workspace: every activation for max_seqs x seq_len */

/* Allocates a workspace for batches of up to max_seqs rows of up to max_len tokens.
 * cfg and weights are borrowed and must outlive the trainer (weights may change between
 * steps; the trainer reads them at each call). Free with t2_trainer_free. */
t2_trainer *t2_trainer_new(const t2_model_config *cfg, const t2_model_weights *weights,
                           int64_t max_seqs, int64_t max_len);
void t2_trainer_free(t2_trainer *tr); /* accepts NULL */
/* The bytes t2_trainer_new(cfg, w, max_seqs, max_len) allocates for activations: to size
 * batches to a memory budget. */
int64_t t2_trainer_workspace_bytes(const t2_model_config *cfg, int64_t max_seqs,
                                   int64_t max_len);
/* The weights the next calls read (borrowed, as t2_trainer_new's): one workspace serves the
 * policy and the base model in turn (KL against the base). */
void t2_trainer_set_weights(t2_trainer *tr, const t2_model_weights *weights);

/* An extra term of the loss on the logits (the exact KL of rl/rollout.h), for the next
 * steps' backward until set again (fn NULL: none, the default). fn is called during the
 * backward for the batch rows [begin, end) (row r: sequence r / seq_len, position
 * r % seq_len) with their logits ((end - begin) x vocab, borrowed) and dlogits (the same
 * shape), which hold the weighted cross-entropy's dL/dlogits of those rows: fn ADDS its
 * term's gradient, which then flows through the whole backward like the cross-entropy's.
 * The trainer's pool calls fn concurrently on disjoint row ranges. The term's value is not
 * part of the loss the trainer reports. */
typedef void (*t2_logit_grad_fn)(void *ctx, int64_t begin, int64_t end, const float *logits,
                                 float *dlogits, int64_t vocab);
void t2_trainer_set_logit_term(t2_trainer *tr, t2_logit_grad_fn fn, void *ctx);

/* Threads for the work between GEMMs (elementwise kernels over rows, attention over
 * (sequence, KV head) pairs); the GEMMs use BLIS's own threads. t2_trainer_new starts as many
 * as BLIS uses (linalg/blis_setup.h), so one rank per core with one BLIS thread runs
 * everything on the calling thread. The count changes only the rounding of the norm and bias
 * gradients (their sums over rows are split between threads). n_threads >= 1. */
void t2_trainer_set_threads(t2_trainer *tr, int n_threads);

/* Forward, loss and backward over the batch. Returns 0 and the loss L in *loss, or -1 with
 * err set (a token outside the vocabulary, batch larger than the workspace) and nothing
 * added to the gradients. */
int t2_trainer_step(t2_trainer *tr, const t2_train_batch *batch, const t2_train_options *opt,
                    double *loss, t2_error *err);

/* Forward only (no activations kept for backward beyond what the workspace holds): the loss
 * and, if token_logprobs is non-NULL, log p(target) per position. For evaluation and KL. */
int t2_trainer_loss(t2_trainer *tr, const t2_train_batch *batch, float *token_logprobs,
                    double *loss, t2_error *err);

/* Logits of the last forward (n_seqs x seq_len x vocab, borrowed) — for tests against the
 * inference forward. */
const float *t2_trainer_logits(const t2_trainer *tr);

#endif

/* A double-precision, plain-loop forward and loss of a whole model, for finite-difference
 * checks of the training pass (tests/test_train_*.c). Independent of model/train.c: it reads
 * the same weights (mirrored into doubles, so finite differences can perturb them without
 * float rounding) and model/rope.h's cos/sin tables, and follows modeling_llama.py step by
 * step: one sequence and one token at a time. Small models only (it is slow by design). */
#ifndef T2_TESTS_TEST_TRAIN_REFERENCE_H
#define T2_TESTS_TEST_TRAIN_REFERENCE_H

#include <stdint.h>

#include "model/config.h"
#include "model/train.h"
#include "model/weights.h"

typedef struct t2_train_ref {
    const t2_model_config *cfg; /* borrowed */
    const t2_model_weights *w;  /* borrowed: the float model whose slab `slab` mirrors */
    double *slab;               /* w->slab_floats doubles, same layout as w->slab */
} t2_train_ref;

/* Copies w's parameters into doubles. Free with t2_train_ref_free. */
void t2_train_ref_init(t2_train_ref *r, const t2_model_config *cfg, const t2_model_weights *w);
void t2_train_ref_free(t2_train_ref *r);

/* The double twin of the float parameter *p (p inside w's slab): perturb it for a finite
 * difference. */
double *t2_train_ref_param(const t2_train_ref *r, const float *p);

/* The loss of model/train.h, L = sum w (-log softmax(logits)[target]), in double with the
 * current double parameters; logits (rows x vocab) are written when non-NULL. */
double t2_train_ref_loss(const t2_train_ref *r, const t2_train_batch *b, double *logits);

/* Small models for the whole-model checks (d_model 16..32, 2 layers, vocab 50), each with its
 * own seed; weights N(0, 0.3^2), biases N(0, 0.3^2), norm weights 1 + N(0, 0.1^2):
 *   0 llama        grouped-query attention (4 heads, 2 KV heads), untied lm_head
 *   1 llama_bias   attention_bias: q/k/v and o_proj biases
 *   2 qwen2        q/k/v biases, no o_proj bias
 *   3 tied         tie_word_embeddings, multi-head attention (4/4)
 *   4 llama3_rope  rope_scaling llama3 (all three frequency bands occur), multi-query
 *                  attention (4 heads, 1 KV head), head_dim 8 != d_model / heads */
enum { T2_TRAIN_REF_VARIANTS = 5 };
const char *t2_train_ref_variant(int i);
/* cfg and w (initialised here; free w with t2_model_weights_free) of variant i. */
void t2_train_ref_model(t2_model_config *cfg, t2_model_weights *w, int i);

/* A batch of n_seqs x seq_len random tokens and targets; loss weights 1/count except two
 * positions with weight 0 (target -1, out of range) and one negative (as REINFORCE gives). */
typedef struct t2_train_ref_batch {
    t2_train_batch batch; /* views of the arrays below */
    int32_t *tokens, *targets;
    float *weights;
} t2_train_ref_batch;
void t2_train_ref_batch_init(t2_train_ref_batch *b, int64_t n_seqs, int64_t seq_len,
                             int64_t vocab, uint64_t seed);
void t2_train_ref_batch_free(t2_train_ref_batch *b);

#endif

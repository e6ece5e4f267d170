/* Internals of the training pass shared by model/train.c (workspace, forward, loss) and
 * model/train_backward.c (backward through the blocks). Not a public interface: callers use
 * model/train.h.
 *
 * Memory: one slab, carved once in t2_trainer_new for max_rows = max_seqs x max_len rows.
 * A batch of n_seqs x seq_len tokens uses the first rows = n_seqs seq_len rows of every
 * view; row r is token r % seq_len of sequence r / seq_len. Per layer the forward keeps what
 * the backward reads (t2_train_layer_acts); the backward's own buffers are shared by all
 * layers. Nothing is allocated per step.
 * Threads: GEMMs use BLIS's threads; the elementwise kernels (over rows) and attention (over
 * (sequence, KV head) pairs) run on the trainer's pool, one thread per part. */
#ifndef T2_MODEL_TRAIN_IMPL_H
#define T2_MODEL_TRAIN_IMPL_H

#include <stdint.h>

#include "model/rope.h"
#include "model/train.h"
#include "model/worker_pool.h"

/* What one layer's forward leaves for its backward (each rows x width, leading dimension
 * = width). */
typedef struct t2_train_layer_acts {
    float *x;     /* rows x d: residual stream entering the layer */
    float *xn1;   /* rows x d: RMSNorm(x; input_norm), the input of q/k/v_proj */
    float *qkv;   /* rows x qkv_ld: q | k | v after biases, q and k after RoPE */
    float *lse;   /* rows x n_heads: log-sum-exp of each (row, query head)'s scores */
    float *attn;  /* rows x q_dim: attention output, the input of o_proj */
    float *x_mid; /* rows x d: residual stream after the attention block */
    float *xn2;   /* rows x d: RMSNorm(x_mid; post_norm), the input of gate/up_proj */
    float *gu;    /* rows x 2 ffn: gate | up pre-activations */
} t2_train_layer_acts;

struct t2_trainer {
    const t2_model_config *cfg;      /* borrowed */
    const t2_model_weights *weights; /* borrowed */
    t2_logit_grad_fn logit_fn;       /* t2_trainer_set_logit_term (NULL: none) */
    void *logit_ctx;
    int64_t max_seqs, max_len, max_rows;
    int64_t d, ffn, vocab, n_heads, n_kv, head_dim, group; /* group = n_heads / n_kv */
    int64_t q_dim, kv_dim, qkv_ld;  /* n_heads hd, n_kv hd, q_dim + 2 kv_dim */
    int64_t logit_rows;             /* rows of dlogits handled at a time */
    t2_rope rope;                   /* cos/sin for positions < max_len */
    float *slab;                    /* owns every float view below */
    t2_train_layer_acts *layers;    /* [num_hidden_layers] */
    float *x_final;  /* rows x d: residual stream after the last layer */
    float *xn_final; /* rows x d: RMSNorm(x_final; final_norm), the input of lm_head */
    float *logits;   /* rows x vocab */
    float *lse;      /* rows: log-sum-exp of each logits row */
    float *logprob;  /* rows: log p(target), 0 where the target is out of range */
    float *h;        /* rows x ffn: silu(gate) up (forward: down_proj input; backward:
                      * recomputed by the SwiGLU backward) */
    /* backward buffers, shared by all layers */
    float *dx;       /* rows x d: dL/d(residual stream) */
    float *dxn;      /* rows x d: dL/d(normed input) of the current sub-layer */
    float *datt;     /* rows x q_dim: dL/d(attention output) */
    float *dqkv;     /* rows x qkv_ld: dL/d(q | k | v) */
    float *dgu;      /* rows x 2 ffn: dL/d(gate | up) */
    float *dh;       /* rows x ffn: dL/dh */
    float *dlogits;  /* logit_rows x vocab */
    float *delta;    /* rows x max(q_dim, kv_dim, ffn): a contiguous Δ for the callback */
    /* per worker thread (outside the slab: their count follows t2_trainer_set_threads) */
    t2_worker_pool *pool;
    int64_t attn_scratch_floats;  /* t2_attention_scratch_floats(max_len, group, head_dim) */
    float *attn_scratch;          /* n_threads x attn_scratch_floats */
    int64_t partial_width;        /* max(d, qkv_ld): the widest column sum */
    float *partials;              /* n_threads x partial_width: per-worker column sums */
};

/* Backward of the last forward over `batch` (validated, forward run): adds weight gradients
 * into opt->grads when non-NULL and calls opt->linear_fn for every linear layer when set. */
void t2_trainer_backward(t2_trainer *tr, const t2_train_batch *batch,
                         const t2_train_options *opt);

#endif

/* The training pass's workspace, its forward (keeping every activation the backward reads),
 * the weighted next-token loss, and the public entry points of model/train.h.
 * The forward is the maths of model/forward.c (RMSNorm, fused q/k/v and gate/up GEMMs,
 * rotate-half RoPE from model/rope.h's tables, grouped-query causal attention, SwiGLU,
 * q/k/v and o_proj biases, tied lm_head) over whole sequences at positions 0..seq_len-1,
 * without a KV cache. The backward is model/train_backward.c.
 * Reference: Hugging Face modeling_llama.py / modeling_qwen2.py. */
#include "model/train.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "linalg/gemm.h"
#include "linalg/ops.h"
#include "linalg/ops_backward.h"
#include "model/train_impl.h"

enum { DLOGITS_FLOATS = 1 << 22 }; /* dlogits rows at a time: about this many floats */

/* Bump allocator over the slab: every view starts on a 64-byte boundary. */
typedef struct carver {
    float *next;
    int64_t total;  /* floats handed out (pass 1) */
} carver;

static float *carve(carver *c, int64_t floats) {
    int64_t padded = (floats + 15) / 16 * 16;
    float *view = c->next;
    if (c->next != NULL) c->next += padded;
    c->total += padded;
    return view;
}

/* Hands out every view of tr from c (pass 1 with c->next NULL only counts). */
static void carve_views(t2_trainer *tr, carver *c) {
    int64_t rows = tr->max_rows, d = tr->d, ffn = tr->ffn;
    for (int64_t l = 0; l < tr->cfg->num_hidden_layers; l++) {
        t2_train_layer_acts *a = &tr->layers[l];
        a->x = carve(c, rows * d);
        a->xn1 = carve(c, rows * d);
        a->qkv = carve(c, rows * tr->qkv_ld);
        a->lse = carve(c, rows * tr->n_heads);
        a->attn = carve(c, rows * tr->q_dim);
        a->x_mid = carve(c, rows * d);
        a->xn2 = carve(c, rows * d);
        a->gu = carve(c, rows * 2 * ffn);
    }
    int64_t delta_width = tr->q_dim > ffn ? tr->q_dim : ffn;
    tr->x_final = carve(c, rows * d);
    tr->xn_final = carve(c, rows * d);
    tr->logits = carve(c, rows * tr->vocab);
    tr->lse = carve(c, rows);
    tr->logprob = carve(c, rows);
    tr->h = carve(c, rows * ffn);
    tr->dx = carve(c, rows * d);
    tr->dxn = carve(c, rows * d);
    tr->datt = carve(c, rows * tr->q_dim);
    tr->dqkv = carve(c, rows * tr->qkv_ld);
    tr->dgu = carve(c, rows * 2 * ffn);
    tr->dh = carve(c, rows * ffn);
    tr->dlogits = carve(c, tr->logit_rows * tr->vocab);
    tr->delta = carve(c, rows * (delta_width > tr->kv_dim ? delta_width : tr->kv_dim));
    tr->attn_scratch = carve(c, t2_attention_scratch_floats(tr->max_len, tr->group,
                                                            tr->head_dim));
}

t2_trainer *t2_trainer_new(const t2_model_config *cfg, const t2_model_weights *weights,
                           int64_t max_seqs, int64_t max_len) {
    T2_ASSERT(max_seqs > 0 && max_len > 0);
    T2_ASSERT(cfg->num_key_value_heads > 0 &&
              cfg->num_attention_heads % cfg->num_key_value_heads == 0);
    t2_trainer *tr = t2_alloc_zero(sizeof *tr);
    tr->cfg = cfg;
    tr->weights = weights;
    tr->max_seqs = max_seqs;
    tr->max_len = max_len;
    tr->max_rows = max_seqs * max_len;
    tr->d = cfg->hidden_size;
    tr->ffn = cfg->intermediate_size;
    tr->vocab = cfg->vocab_size;
    tr->n_heads = cfg->num_attention_heads;
    tr->n_kv = cfg->num_key_value_heads;
    tr->head_dim = cfg->head_dim;
    tr->group = tr->n_heads / tr->n_kv;
    tr->q_dim = tr->n_heads * tr->head_dim;
    tr->kv_dim = tr->n_kv * tr->head_dim;
    tr->qkv_ld = tr->q_dim + 2 * tr->kv_dim;
    int64_t logit_rows = DLOGITS_FLOATS / tr->vocab;
    tr->logit_rows = logit_rows < 64 ? 64 : logit_rows > tr->max_rows ? tr->max_rows : logit_rows;
    t2_rope_init(&tr->rope, cfg, max_len);
    tr->layers = t2_alloc_array((size_t)cfg->num_hidden_layers, sizeof *tr->layers);
    carver count = {NULL, 0};
    carve_views(tr, &count);
    tr->slab = t2_alloc((size_t)count.total * sizeof(float));
    carver fill = {tr->slab, 0};
    carve_views(tr, &fill);
    return tr;
}

void t2_trainer_free(t2_trainer *tr) {
    if (tr == NULL) return;
    t2_rope_free(&tr->rope);
    t2_free(tr->layers);
    t2_free(tr->slab);
    t2_free(tr);
}

const float *t2_trainer_logits(const t2_trainer *tr) { return tr->logits; }

/* Checks the batch against the workspace and the vocabulary (see t2_trainer_step). */
static int validate(const t2_trainer *tr, const t2_train_batch *b, t2_error *err) {
    if (b->n_seqs < 1 || b->seq_len < 1 || b->n_seqs > tr->max_seqs || b->seq_len > tr->max_len)
        return t2_error_set(err, "training batch: %lld sequences of %lld tokens; expected 1 to "
                            "%lld sequences of 1 to %lld tokens (the trainer's workspace)",
                            (long long)b->n_seqs, (long long)b->seq_len,
                            (long long)tr->max_seqs, (long long)tr->max_len);
    int64_t rows = b->n_seqs * b->seq_len;
    for (int64_t r = 0; r < rows; r++) {
        int64_t s = r / b->seq_len, t = r % b->seq_len;
        if (b->tokens[r] < 0 || b->tokens[r] >= tr->vocab)
            return t2_error_set(err, "training batch: sequence %lld, token %lld: id %d is "
                                "outside the vocabulary; expected 0 <= id < %lld",
                                (long long)s, (long long)t, b->tokens[r], (long long)tr->vocab);
        if (b->weights[r] != 0.0f && (b->targets[r] < 0 || b->targets[r] >= tr->vocab))
            return t2_error_set(err, "training batch: sequence %lld, position %lld: target %d "
                                "is outside the vocabulary; expected 0 <= id < %lld where the "
                                "loss weight is not 0", (long long)s, (long long)t,
                                b->targets[r], (long long)tr->vocab);
    }
    return 0;
}

/* out (rows x n_out, ld_out) = in (rows x n_in, ld_in) Wᵀ + beta out;  W: n_out x n_in. */
static void linear(float *out, int64_t ld_out, const float *in, int64_t ld_in, const float *w,
                   int64_t rows, int64_t n_out, int64_t n_in, float beta) {
    t2_gemm(out, ld_out, in, ld_in, 0, w, n_in, 1, rows, n_out, n_in, 1.0f, beta);
}

/* q | k | v of every row (one GEMM when Wq, Wk, Wv lie back to back), biases, then RoPE on
 * q and k (adjacent in the row, so one call rotates all n_heads + n_kv heads). */
static void qkv_forward(t2_trainer *tr, const t2_layer_weights *lw, t2_train_layer_acts *a,
                        int64_t rows, int64_t seq_len) {
    int64_t d = tr->d, q_dim = tr->q_dim, kv_dim = tr->kv_dim, ld = tr->qkv_ld;
    if (lw->wk == lw->wq + q_dim * d && lw->wv == lw->wk + kv_dim * d) {
        linear(a->qkv, ld, a->xn1, d, lw->wq, rows, ld, d, 0.0f);
    } else {
        linear(a->qkv, ld, a->xn1, d, lw->wq, rows, q_dim, d, 0.0f);
        linear(a->qkv + q_dim, ld, a->xn1, d, lw->wk, rows, kv_dim, d, 0.0f);
        linear(a->qkv + q_dim + kv_dim, ld, a->xn1, d, lw->wv, rows, kv_dim, d, 0.0f);
    }
    if (lw->bq) t2_add_bias(a->qkv, lw->bq, rows, q_dim, ld);
    if (lw->bk) t2_add_bias(a->qkv + q_dim, lw->bk, rows, kv_dim, ld);
    if (lw->bv) t2_add_bias(a->qkv + q_dim + kv_dim, lw->bv, rows, kv_dim, ld);
    for (int64_t r = 0; r < rows; r++) {
        int64_t pos = r % seq_len;
        t2_rope_forward(a->qkv + r * ld, tr->n_heads + tr->n_kv, tr->head_dim,
                        t2_rope_cos(&tr->rope, pos), t2_rope_sin(&tr->rope, pos));
    }
}

/* Causal attention of every (sequence, KV head) into a->attn, keeping a->lse. */
static void attention_forward(t2_trainer *tr, t2_train_layer_acts *a, int64_t n_seqs,
                              int64_t seq_len) {
    int64_t hd = tr->head_dim, ld = tr->qkv_ld;
    float scale = 1.0f / sqrtf((float)hd);
    for (int64_t s = 0; s < n_seqs; s++) {
        int64_t row0 = s * seq_len;
        for (int64_t h = 0; h < tr->n_kv; h++) {
            const float *q = a->qkv + row0 * ld + h * tr->group * hd;
            const float *k = a->qkv + row0 * ld + tr->q_dim + h * hd;
            const float *v = k + tr->kv_dim;
            t2_attention_lse_forward(a->attn + row0 * tr->q_dim + h * tr->group * hd, tr->q_dim,
                                     a->lse + row0 * tr->n_heads + h * tr->group, tr->n_heads,
                                     q, ld, k, v, ld, seq_len, tr->group, hd, scale,
                                     tr->attn_scratch);
        }
    }
}

/* The MLP block: x_out = x_mid + (silu(G) U) Wdᵀ with [G U] = RMSNorm(x_mid) [Wg Wu]ᵀ. */
static void mlp_forward(t2_trainer *tr, const t2_layer_weights *lw, t2_train_layer_acts *a,
                        float *x_out, int64_t rows) {
    int64_t d = tr->d, ffn = tr->ffn;
    t2_rmsnorm_forward(a->xn2, a->x_mid, lw->post_norm, rows, d, tr->cfg->rms_norm_eps);
    if (lw->w_up == lw->w_gate + ffn * d) {
        linear(a->gu, 2 * ffn, a->xn2, d, lw->w_gate, rows, 2 * ffn, d, 0.0f);
    } else {
        linear(a->gu, 2 * ffn, a->xn2, d, lw->w_gate, rows, ffn, d, 0.0f);
        linear(a->gu + ffn, 2 * ffn, a->xn2, d, lw->w_up, rows, ffn, d, 0.0f);
    }
    t2_swiglu_forward(tr->h, ffn, a->gu, 2 * ffn, a->gu + ffn, 2 * ffn, rows, ffn);
    memcpy(x_out, a->x_mid, (size_t)(rows * d) * sizeof(float));
    linear(x_out, d, tr->h, ffn, lw->w_down, rows, d, ffn, 1.0f);
}

/* Every layer, the final norm, lm_head and the per-row log-sum-exp and log p(target). */
static void forward(t2_trainer *tr, const t2_train_batch *b) {
    const t2_model_config *cfg = tr->cfg;
    const t2_model_weights *w = tr->weights;
    int64_t d = tr->d, rows = b->n_seqs * b->seq_len, n_layers = cfg->num_hidden_layers;
    float *x0 = n_layers > 0 ? tr->layers[0].x : tr->x_final;
    for (int64_t r = 0; r < rows; r++)
        memcpy(x0 + r * d, w->embed + (int64_t)b->tokens[r] * d, (size_t)d * sizeof(float));
    for (int64_t l = 0; l < n_layers; l++) {
        const t2_layer_weights *lw = &w->layers[l];
        t2_train_layer_acts *a = &tr->layers[l];
        t2_rmsnorm_forward(a->xn1, a->x, lw->input_norm, rows, d, cfg->rms_norm_eps);
        qkv_forward(tr, lw, a, rows, b->seq_len);
        attention_forward(tr, a, b->n_seqs, b->seq_len);
        memcpy(a->x_mid, a->x, (size_t)(rows * d) * sizeof(float));
        linear(a->x_mid, d, a->attn, tr->q_dim, lw->wo, rows, d, tr->q_dim, 1.0f);
        if (lw->bo) t2_add_bias(a->x_mid, lw->bo, rows, d, d);
        mlp_forward(tr, lw, a, l + 1 < n_layers ? tr->layers[l + 1].x : tr->x_final, rows);
    }
    t2_rmsnorm_forward(tr->xn_final, tr->x_final, w->final_norm, rows, d, cfg->rms_norm_eps);
    linear(tr->logits, tr->vocab, tr->xn_final, d, w->lm_head, rows, tr->vocab, d, 0.0f);
    t2_cross_entropy_forward(tr->logprob, tr->lse, tr->logits, tr->vocab, b->targets, rows,
                             tr->vocab);
}

/* L = sum w (-log p(target)), accumulated in double; copies log p out when asked. */
static double loss_of(const t2_trainer *tr, const t2_train_batch *b, float *token_logprobs) {
    int64_t rows = b->n_seqs * b->seq_len;
    double loss = 0.0;
    for (int64_t r = 0; r < rows; r++)
        if (b->weights[r] != 0.0f) loss -= (double)b->weights[r] * tr->logprob[r];
    if (token_logprobs != NULL)
        memcpy(token_logprobs, tr->logprob, (size_t)rows * sizeof(float));
    return loss;
}

int t2_trainer_step(t2_trainer *tr, const t2_train_batch *batch, const t2_train_options *opt,
                    double *loss, t2_error *err) {
    if (validate(tr, batch, err) != 0) return -1;
    forward(tr, batch);
    *loss = loss_of(tr, batch, opt ? opt->token_logprobs : NULL);
    if (opt != NULL && (opt->grads != NULL || opt->linear_fn != NULL))
        t2_trainer_backward(tr, batch, opt);
    return 0;
}

int t2_trainer_loss(t2_trainer *tr, const t2_train_batch *batch, float *token_logprobs,
                    double *loss, t2_error *err) {
    if (validate(tr, batch, err) != 0) return -1;
    forward(tr, batch);
    *loss = loss_of(tr, batch, token_logprobs);
    return 0;
}

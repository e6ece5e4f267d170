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
#include "linalg/blis_setup.h"
#include "linalg/weight.h"
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
}

/* A trainer with its sizes and views' table but no workspace and no threads yet. */
static t2_trainer *trainer_sized(const t2_model_config *cfg,
                                              const t2_model_weights *weights, int64_t max_seqs,
                                              int64_t max_len) {
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
    tr->layers = t2_alloc_array((size_t)cfg->num_hidden_layers, sizeof *tr->layers);
    return tr;
}

t2_trainer *t2_trainer_new(const t2_model_config *cfg, const t2_model_weights *weights,
                           int64_t max_seqs, int64_t max_len) {
    t2_trainer *tr = trainer_sized(cfg, weights, max_seqs, max_len);
    t2_rope_init(&tr->rope, cfg, max_len);
    carver count = {NULL, 0};
    carve_views(tr, &count);
    tr->slab = t2_alloc((size_t)count.total * sizeof(float));
    carver fill = {tr->slab, 0};
    carve_views(tr, &fill);
    tr->attn_scratch_floats = t2_attention_scratch_floats(max_len, tr->group, tr->head_dim);
    tr->partial_width = tr->qkv_ld > tr->d ? tr->qkv_ld : tr->d;
    int threads = t2_blis_threads();
    t2_trainer_set_threads(tr, threads > 1 ? threads : 1);
    return tr;
}

int64_t t2_trainer_workspace_bytes(const t2_model_config *cfg, int64_t max_seqs,
                                   int64_t max_len) {
    t2_trainer *tr = trainer_sized(cfg, NULL, max_seqs, max_len);
    carver count = {NULL, 0};
    carve_views(tr, &count);
    t2_free(tr->layers);
    t2_free(tr);
    return count.total * (int64_t)sizeof(float);
}

void t2_trainer_set_weights(t2_trainer *tr, const t2_model_weights *weights) {
    tr->weights = weights;
}

void t2_trainer_set_logit_term(t2_trainer *tr, t2_logit_grad_fn fn, void *ctx) {
    tr->logit_fn = fn;
    tr->logit_ctx = ctx;
}

void t2_trainer_set_threads(t2_trainer *tr, int n_threads) {
    T2_ASSERT(n_threads >= 1);
    if (tr->pool != NULL && t2_worker_pool_threads(tr->pool) == n_threads) return;
    t2_worker_pool_free(tr->pool);
    t2_free(tr->attn_scratch);
    t2_free(tr->partials);
    tr->pool = t2_worker_pool_new(n_threads);
    tr->attn_scratch = t2_alloc_array((size_t)(n_threads * tr->attn_scratch_floats),
                                      sizeof(float));
    tr->partials = t2_alloc_array((size_t)(n_threads * tr->partial_width), sizeof(float));
}

void t2_trainer_free(t2_trainer *tr) {
    if (tr == NULL) return;
    t2_worker_pool_free(tr->pool);
    t2_free(tr->attn_scratch);
    t2_free(tr->partials);
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
static void linear(float *out, int64_t ld_out, const float *in, int64_t ld_in, t2_weight w,
                   int64_t rows, int64_t n_out, int64_t n_in, float beta) {
    t2_weight_gemm(out, ld_out, in, ld_in, w, rows, n_out, n_in, beta);
}

/* What the forward's parallel parts read: the step and the layer being run. */
typedef struct forward_ctx {
    t2_trainer *tr;
    const t2_train_batch *b;
    const t2_layer_weights *lw;
    t2_train_layer_acts *a;
    float *x_out; /* the next layer's residual input (or x_final) */
} forward_ctx;

/* Rows [begin, end): xn1 = RMSNorm(x), and x_mid starts as a copy of x (o_proj adds). */
static void rows_attention_input(void *arg, int64_t begin, int64_t end, int worker) {
    forward_ctx *c = arg;
    int64_t d = c->tr->d;
    t2_rmsnorm_forward(c->a->xn1 + begin * d, c->a->x + begin * d, c->lw->input_norm,
                       end - begin, d, c->tr->cfg->rms_norm_eps);
    memcpy(c->a->x_mid + begin * d, c->a->x + begin * d, (size_t)((end - begin) * d) *
           sizeof(float));
}

/* Rows [begin, end) of q | k | v: biases, then RoPE on q and k (adjacent in the row, so one
 * call rotates all n_heads + n_kv heads) at each row's position. */
static void rows_qkv_finish(void *arg, int64_t begin, int64_t end, int worker) {
    forward_ctx *c = arg;
    t2_trainer *tr = c->tr;
    int64_t ld = tr->qkv_ld, q_dim = tr->q_dim, kv_dim = tr->kv_dim, n = end - begin;
    float *qkv = c->a->qkv + begin * ld;
    if (c->lw->bq) t2_add_bias(qkv, c->lw->bq, n, q_dim, ld);
    if (c->lw->bk) t2_add_bias(qkv + q_dim, c->lw->bk, n, kv_dim, ld);
    if (c->lw->bv) t2_add_bias(qkv + q_dim + kv_dim, c->lw->bv, n, kv_dim, ld);
    for (int64_t r = begin; r < end; r++) {
        int64_t pos = r % c->b->seq_len;
        t2_rope_forward(c->a->qkv + r * ld, tr->n_heads + tr->n_kv, tr->head_dim,
                        t2_rope_cos(&tr->rope, pos), t2_rope_sin(&tr->rope, pos));
    }
}

/* (sequence, KV head) pairs [begin, end): causal attention into attn, keeping lse. */
static void pairs_attention(void *arg, int64_t begin, int64_t end, int worker) {
    forward_ctx *c = arg;
    t2_trainer *tr = c->tr;
    int64_t hd = tr->head_dim, ld = tr->qkv_ld, len = c->b->seq_len;
    float scale = 1.0f / sqrtf((float)hd);
    float *scratch = tr->attn_scratch + worker * tr->attn_scratch_floats;
    for (int64_t pair = begin; pair < end; pair++) {
        int64_t row0 = pair / tr->n_kv * len, h = pair % tr->n_kv;
        const float *q = c->a->qkv + row0 * ld + h * tr->group * hd;
        const float *k = c->a->qkv + row0 * ld + tr->q_dim + h * hd;
        t2_attention_lse_forward(c->a->attn + row0 * tr->q_dim + h * tr->group * hd, tr->q_dim,
                                 c->a->lse + row0 * tr->n_heads + h * tr->group, tr->n_heads,
                                 q, ld, k, k + tr->kv_dim, ld, len, tr->group, hd, scale,
                                 scratch);
    }
}

/* Rows [begin, end) after o_proj: its bias, xn2 = RMSNorm(x_mid), and x_out starts as a
 * copy of x_mid (down_proj adds). */
static void rows_mlp_input(void *arg, int64_t begin, int64_t end, int worker) {
    forward_ctx *c = arg;
    int64_t d = c->tr->d, n = end - begin;
    float *x_mid = c->a->x_mid + begin * d;
    if (c->lw->bo) t2_add_bias(x_mid, c->lw->bo, n, d, d);
    t2_rmsnorm_forward(c->a->xn2 + begin * d, x_mid, c->lw->post_norm, n, d,
                       c->tr->cfg->rms_norm_eps);
    memcpy(c->x_out + begin * d, x_mid, (size_t)(n * d) * sizeof(float));
}

/* Rows [begin, end): h = silu(gate) up. */
static void rows_swiglu(void *arg, int64_t begin, int64_t end, int worker) {
    forward_ctx *c = arg;
    int64_t ffn = c->tr->ffn;
    const float *gu = c->a->gu + begin * 2 * ffn;
    t2_swiglu_forward(c->tr->h + begin * ffn, ffn, gu, 2 * ffn, gu + ffn, 2 * ffn, end - begin,
                      ffn);
}

/* Rows [begin, end): the final norm. */
static void rows_final_norm(void *arg, int64_t begin, int64_t end, int worker) {
    forward_ctx *c = arg;
    int64_t d = c->tr->d;
    t2_rmsnorm_forward(c->tr->xn_final + begin * d, c->tr->x_final + begin * d,
                       c->tr->weights->final_norm, end - begin, d, c->tr->cfg->rms_norm_eps);
}

/* Rows [begin, end): log-sum-exp and log p(target) of the logits. */
static void rows_cross_entropy(void *arg, int64_t begin, int64_t end, int worker) {
    forward_ctx *c = arg;
    t2_trainer *tr = c->tr;
    t2_cross_entropy_forward(tr->logprob + begin, tr->lse + begin,
                             tr->logits + begin * tr->vocab, tr->vocab, c->b->targets + begin,
                             end - begin, tr->vocab);
}

/* One layer: attention block then MLP block, from a->x into x_out. The GEMMs run over all
 * rows; the parts between them on the pool. */
static void layer_forward(forward_ctx *c, int64_t rows) {
    t2_trainer *tr = c->tr;
    const t2_layer_weights *lw = c->lw;
    t2_train_layer_acts *a = c->a;
    int64_t d = tr->d, ffn = tr->ffn, q_dim = tr->q_dim, kv_dim = tr->kv_dim;
    t2_worker_pool_run(tr->pool, rows, rows_attention_input, c);
    if (t2_weight_follows(lw->wq, q_dim * d, lw->wk) &&
        t2_weight_follows(lw->wk, kv_dim * d, lw->wv)) {
        linear(a->qkv, tr->qkv_ld, a->xn1, d, lw->wq, rows, tr->qkv_ld, d, 0.0f);
    } else {
        linear(a->qkv, tr->qkv_ld, a->xn1, d, lw->wq, rows, q_dim, d, 0.0f);
        linear(a->qkv + q_dim, tr->qkv_ld, a->xn1, d, lw->wk, rows, kv_dim, d, 0.0f);
        linear(a->qkv + q_dim + kv_dim, tr->qkv_ld, a->xn1, d, lw->wv, rows, kv_dim, d, 0.0f);
    }
    t2_worker_pool_run(tr->pool, rows, rows_qkv_finish, c);
    t2_worker_pool_run(tr->pool, c->b->n_seqs * tr->n_kv, pairs_attention, c);
    linear(a->x_mid, d, a->attn, q_dim, lw->wo, rows, d, q_dim, 1.0f);
    t2_worker_pool_run(tr->pool, rows, rows_mlp_input, c);
    if (t2_weight_follows(lw->w_gate, ffn * d, lw->w_up)) {
        linear(a->gu, 2 * ffn, a->xn2, d, lw->w_gate, rows, 2 * ffn, d, 0.0f);
    } else {
        linear(a->gu, 2 * ffn, a->xn2, d, lw->w_gate, rows, ffn, d, 0.0f);
        linear(a->gu + ffn, 2 * ffn, a->xn2, d, lw->w_up, rows, ffn, d, 0.0f);
    }
    t2_worker_pool_run(tr->pool, rows, rows_swiglu, c);
    linear(c->x_out, d, tr->h, ffn, lw->w_down, rows, d, ffn, 1.0f);
}

/* Every layer, the final norm, lm_head and the per-row log-sum-exp and log p(target). */
static void forward(t2_trainer *tr, const t2_train_batch *b) {
    const t2_model_weights *w = tr->weights;
    int64_t d = tr->d, rows = b->n_seqs * b->seq_len, n_layers = tr->cfg->num_hidden_layers;
    float *x0 = n_layers > 0 ? tr->layers[0].x : tr->x_final;
    for (int64_t r = 0; r < rows; r++)
        t2_weight_widen(x0 + r * d, w->embed, (int64_t)b->tokens[r] * d, d);
    forward_ctx c = {tr, b, NULL, NULL, NULL};
    for (int64_t l = 0; l < n_layers; l++) {
        c.lw = &w->layers[l];
        c.a = &tr->layers[l];
        c.x_out = l + 1 < n_layers ? tr->layers[l + 1].x : tr->x_final;
        layer_forward(&c, rows);
    }
    t2_worker_pool_run(tr->pool, rows, rows_final_norm, &c);
    linear(tr->logits, tr->vocab, tr->xn_final, d, w->lm_head, rows, tr->vocab, d, 0.0f);
    t2_worker_pool_run(tr->pool, rows, rows_cross_entropy, &c);
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

/* The training pass's backward: from the loss through lm_head, the final norm and every
 * block down to the embeddings, reading the activations model/train.c's forward kept.
 *
 * Per linear layer Y = X Wᵀ (+ b) with Δ = dL/dY (rows x out), all rows in one GEMM each:
 *   dX = Δ W,  dW += Δᵀ X,  db += column sums of Δ,  and linear_fn(X, Δ) when set.
 * With opt->grads NULL (SVF training wants only the callback) no dW, bias, norm or embedding
 * gradient is formed, and layer 0 stops at its q/k/v deltas. Callbacks come from the last
 * layer to the first, in each layer in the order down, gate, up, o, q, k, v.
 * The parts between GEMMs run on the trainer's pool: rows for the elementwise kernels,
 * (sequence, KV head) pairs for attention; sums over rows (norm and bias gradients) go
 * through per-worker partial sums added in worker order.
 * The maths of each step is in docs/training-engine.md; tests/test_train_*.c check it by
 * finite differences. Does not: validate the batch or run the forward (train.c). */
#include <math.h>
#include <string.h>

#include "base/assert.h"
#include "linalg/gemm.h"
#include "linalg/weight.h"
#include "linalg/ops_backward.h"
#include "model/train_impl.h"

/* dx (rows x n_in, ld_dx) = delta (rows x n_out, ld_delta) W + beta dx;  W: n_out x n_in. */
static void input_grad(float *dx, int64_t ld_dx, const float *delta, int64_t ld_delta,
                       t2_weight w, int64_t rows, int64_t n_out, int64_t n_in, float beta) {
    t2_weight_gemm_input(dx, ld_dx, delta, ld_delta, w, rows, n_out, n_in, beta);
}

/* dW (n_out x n_in) += deltaᵀ x. The gradients are float32. */
static void weight_grad(t2_weight dw, const float *delta, int64_t ld_delta, const float *x,
                        int64_t ld_x, int64_t rows, int64_t n_out, int64_t n_in) {
    T2_ASSERT(dw.type == T2_WEIGHT_F32);
    t2_gemm(dw.f32, n_in, delta, ld_delta, 1, x, ld_x, 0, n_out, n_in, rows, 1.0f, 1.0f);
}

/* Hands (x, Δ) of one linear to the callback, copying Δ to a dense rows x n_out block first
 * when it sits in a wider matrix (the fused q | k | v and gate | up outputs). */
static void callback(t2_trainer *tr, const t2_train_options *opt, int64_t layer,
                     t2_linear_kind kind, const float *x, const float *delta, int64_t ld_delta,
                     int64_t rows, int64_t n_in, int64_t n_out) {
    if (opt->linear_fn == NULL) return;
    if (ld_delta != n_out) {
        for (int64_t r = 0; r < rows; r++)
            memcpy(tr->delta + r * n_out, delta + r * ld_delta, (size_t)n_out * sizeof(float));
        delta = tr->delta;
    }
    opt->linear_fn(opt->linear_ctx, layer, kind, x, delta, rows, n_in, n_out);
}

/* What the backward's parallel parts read. The fields after `layer` name the operands of
 * the part being run. */
typedef struct backward_ctx {
    t2_trainer *tr;
    const t2_train_batch *b;
    const t2_train_layer_acts *a;
    int64_t r0;           /* first row of the current dlogits chunk */
    float *sum;           /* column sums: the caller's gradient (one thread) or per worker */
    const float *x;       /* RMSNorm input (rows x d) */
    const float *weight;  /* RMSNorm weight (d) */
    const float *cols;    /* bias backward: rows x width at stride ld */
    int64_t width, ld;
} backward_ctx;

/* This worker's column-sum target: the gradient itself on one thread, else its partial. */
static float *sum_target(const backward_ctx *c, int worker) {
    if (t2_worker_pool_threads(c->tr->pool) == 1) return c->sum;
    return c->sum == NULL ? NULL : c->tr->partials + worker * c->tr->partial_width;
}

/* Runs fn over rows with column sums into grad (n values; NULL: none), through per-worker
 * partials added in worker order when there are several threads. */
static void run_with_sums(backward_ctx *c, int64_t rows, t2_worker_pool_fn fn, float *grad,
                          int64_t n) {
    t2_trainer *tr = c->tr;
    int threads = t2_worker_pool_threads(tr->pool);
    c->sum = grad;
    if (grad != NULL && threads > 1)
        memset(tr->partials, 0, (size_t)(threads * tr->partial_width) * sizeof(float));
    t2_worker_pool_run(tr->pool, rows, fn, c);
    if (grad == NULL || threads == 1) return;
    for (int w = 0; w < threads; w++)
        for (int64_t i = 0; i < n; i++) grad[i] += tr->partials[w * tr->partial_width + i];
}

/* Rows [begin, end) of the current chunk: dlogits from the cross-entropy, plus the caller's
 * own term (t2_trainer_set_logit_term) when set. */
static void rows_cross_entropy(void *arg, int64_t begin, int64_t end, int worker) {
    backward_ctx *c = arg;
    t2_trainer *tr = c->tr;
    int64_t r = c->r0 + begin;
    t2_cross_entropy_backward(tr->dlogits + begin * tr->vocab, tr->vocab,
                              tr->logits + r * tr->vocab, tr->vocab, tr->lse + r,
                              c->b->targets + r, c->b->weights + r, end - begin, tr->vocab);
    if (tr->logit_fn != NULL)
        tr->logit_fn(tr->logit_ctx, r, r + end - begin, tr->logits + r * tr->vocab,
                     tr->dlogits + begin * tr->vocab, tr->vocab);
}

/* Rows [begin, end): dx += RMSNorm backward of dxn (x, weight from c), dweight into sums. */
static void rows_rmsnorm(void *arg, int64_t begin, int64_t end, int worker) {
    backward_ctx *c = arg;
    int64_t d = c->tr->d;
    t2_rmsnorm_backward(c->tr->dx + begin * d, sum_target(c, worker), c->tr->dxn + begin * d,
                        c->x + begin * d, c->weight, end - begin, d, c->tr->cfg->rms_norm_eps);
}

/* Rows [begin, end): column sums of c->cols into the bias gradient. */
static void rows_bias(void *arg, int64_t begin, int64_t end, int worker) {
    backward_ctx *c = arg;
    t2_bias_backward(sum_target(c, worker), c->cols + begin * c->ld, end - begin, c->width,
                     c->ld);
}

/* Rows [begin, end): dgate | dup from dh, and h recomputed. */
static void rows_swiglu(void *arg, int64_t begin, int64_t end, int worker) {
    backward_ctx *c = arg;
    int64_t ffn = c->tr->ffn;
    t2_swiglu_backward(c->tr->dgu + begin * 2 * ffn, c->tr->h + begin * ffn,
                       c->tr->dh + begin * ffn, c->a->gu + begin * 2 * ffn, end - begin, ffn);
}

/* (sequence, KV head) pairs [begin, end): attention backward into dq | dk | dv. */
static void pairs_attention(void *arg, int64_t begin, int64_t end, int worker) {
    backward_ctx *c = arg;
    t2_trainer *tr = c->tr;
    int64_t hd = tr->head_dim, ld = tr->qkv_ld, q_dim = tr->q_dim, group = tr->group;
    int64_t len = c->b->seq_len;
    float scale = 1.0f / sqrtf((float)hd);
    float *scratch = tr->attn_scratch + worker * tr->attn_scratch_floats;
    for (int64_t pair = begin; pair < end; pair++) {
        int64_t row0 = pair / tr->n_kv * len, h = pair % tr->n_kv;
        int64_t q_off = row0 * ld + h * group * hd, k_off = row0 * ld + q_dim + h * hd;
        int64_t v_off = k_off + tr->kv_dim, o_off = row0 * q_dim + h * group * hd;
        t2_attention_backward(tr->dqkv + q_off, ld, tr->dqkv + k_off, tr->dqkv + v_off, ld,
                              tr->datt + o_off, q_dim, c->a->attn + o_off, q_dim,
                              c->a->lse + row0 * tr->n_heads + h * group, tr->n_heads,
                              c->a->qkv + q_off, ld, c->a->qkv + k_off, c->a->qkv + v_off, ld,
                              len, group, hd, scale, scratch);
    }
}

/* Rows [begin, end): the RoPE transpose on dq and dk. */
static void rows_rope(void *arg, int64_t begin, int64_t end, int worker) {
    backward_ctx *c = arg;
    t2_trainer *tr = c->tr;
    for (int64_t r = begin; r < end; r++) {
        int64_t pos = r % c->b->seq_len;
        t2_rope_backward(tr->dqkv + r * tr->qkv_ld, tr->n_heads + tr->n_kv, tr->head_dim,
                         t2_rope_cos(&tr->rope, pos), t2_rope_sin(&tr->rope, pos));
    }
}

/* tr->dx += RMSNorm backward of tr->dxn for input x and weight; dweight when non-NULL. */
static void rmsnorm_backward(backward_ctx *c, int64_t rows, const float *x, const float *weight,
                             float *dweight) {
    c->x = x;
    c->weight = weight;
    run_with_sums(c, rows, rows_rmsnorm, dweight, c->tr->d);
}

/* dbias += column sums of rows x width at stride ld. */
static void bias_backward(backward_ctx *c, int64_t rows, float *dbias, const float *cols,
                          int64_t width, int64_t ld) {
    c->cols = cols;
    c->width = width;
    c->ld = ld;
    run_with_sums(c, rows, rows_bias, dbias, width);
}

/* lm_head and the final norm: leaves dL/d(x_final) in tr->dx. dlogits is formed for
 * logit_rows rows at a time so its buffer stays small for large vocabularies. */
static void head_backward(backward_ctx *c, int64_t rows, t2_model_weights *grads) {
    t2_trainer *tr = c->tr;
    const t2_model_weights *w = tr->weights;
    int64_t d = tr->d, vocab = tr->vocab;
    for (c->r0 = 0; c->r0 < rows; c->r0 += tr->logit_rows) {
        int64_t r0 = c->r0, n = rows - r0 < tr->logit_rows ? rows - r0 : tr->logit_rows;
        t2_worker_pool_run(tr->pool, n, rows_cross_entropy, c);
        input_grad(tr->dxn + r0 * d, d, tr->dlogits, vocab, w->lm_head, n, vocab, d, 0.0f);
        if (grads != NULL)
            weight_grad(grads->lm_head, tr->dlogits, vocab, tr->xn_final + r0 * d, d, n, vocab,
                        d);
    }
    memset(tr->dx, 0, (size_t)(rows * d) * sizeof(float));
    rmsnorm_backward(c, rows, tr->x_final, w->final_norm, grads ? grads->final_norm : NULL);
}

/* MLP block of layer l: tr->dx holds dL/d(layer output) and leaves holding dL/d(x_mid). */
static void mlp_backward(backward_ctx *c, int64_t l, int64_t rows, const t2_train_options *opt) {
    t2_trainer *tr = c->tr;
    const t2_layer_weights *lw = &tr->weights->layers[l];
    t2_layer_weights *gw = opt->grads ? &opt->grads->layers[l] : NULL;
    const t2_train_layer_acts *a = c->a;
    int64_t d = tr->d, ffn = tr->ffn;
    /* down_proj: Δ = dx, input h */
    input_grad(tr->dh, ffn, tr->dx, d, lw->w_down, rows, d, ffn, 0.0f);
    t2_worker_pool_run(tr->pool, rows, rows_swiglu, c);
    if (gw) weight_grad(gw->w_down, tr->dx, d, tr->h, ffn, rows, d, ffn);
    callback(tr, opt, l, T2_LINEAR_DOWN, tr->h, tr->dx, d, rows, ffn, d);
    /* gate_proj and up_proj: Δ = dgate | dup, input xn2 */
    if (t2_weight_follows(lw->w_gate, ffn * d, lw->w_up)) {
        input_grad(tr->dxn, d, tr->dgu, 2 * ffn, lw->w_gate, rows, 2 * ffn, d, 0.0f);
    } else {
        input_grad(tr->dxn, d, tr->dgu, 2 * ffn, lw->w_gate, rows, ffn, d, 0.0f);
        input_grad(tr->dxn, d, tr->dgu + ffn, 2 * ffn, lw->w_up, rows, ffn, d, 1.0f);
    }
    if (gw && t2_weight_follows(gw->w_gate, ffn * d, gw->w_up)) {
        weight_grad(gw->w_gate, tr->dgu, 2 * ffn, a->xn2, d, rows, 2 * ffn, d);
    } else if (gw) {
        weight_grad(gw->w_gate, tr->dgu, 2 * ffn, a->xn2, d, rows, ffn, d);
        weight_grad(gw->w_up, tr->dgu + ffn, 2 * ffn, a->xn2, d, rows, ffn, d);
    }
    callback(tr, opt, l, T2_LINEAR_GATE, a->xn2, tr->dgu, 2 * ffn, rows, d, ffn);
    callback(tr, opt, l, T2_LINEAR_UP, a->xn2, tr->dgu + ffn, 2 * ffn, rows, d, ffn);
    rmsnorm_backward(c, rows, a->x_mid, lw->post_norm, gw ? gw->post_norm : NULL);
}

/* Attention block of layer l: tr->dx holds dL/d(x_mid) and leaves holding dL/d(layer
 * input), except for layer 0 without weight gradients, where nothing below needs it. */
static void attention_block_backward(backward_ctx *c, int64_t l, const t2_train_options *opt) {
    t2_trainer *tr = c->tr;
    const t2_layer_weights *lw = &tr->weights->layers[l];
    t2_layer_weights *gw = opt->grads ? &opt->grads->layers[l] : NULL;
    const t2_train_layer_acts *a = c->a;
    int64_t d = tr->d, rows = c->b->n_seqs * c->b->seq_len, q_dim = tr->q_dim;
    int64_t kv_dim = tr->kv_dim, ld = tr->qkv_ld;
    /* o_proj: Δ = dx, input attn */
    input_grad(tr->datt, q_dim, tr->dx, d, lw->wo, rows, d, q_dim, 0.0f);
    if (gw) weight_grad(gw->wo, tr->dx, d, a->attn, q_dim, rows, d, q_dim);
    if (gw && gw->bo) bias_backward(c, rows, gw->bo, tr->dx, d, d);
    callback(tr, opt, l, T2_LINEAR_O, a->attn, tr->dx, d, rows, q_dim, d);

    t2_worker_pool_run(tr->pool, c->b->n_seqs * tr->n_kv, pairs_attention, c);
    t2_worker_pool_run(tr->pool, rows, rows_rope, c);

    /* q/k/v_proj: Δ = dq | dk | dv, input xn1 */
    if (gw && gw->bq) bias_backward(c, rows, gw->bq, tr->dqkv, q_dim, ld);
    if (gw && gw->bk) bias_backward(c, rows, gw->bk, tr->dqkv + q_dim, kv_dim, ld);
    if (gw && gw->bv) bias_backward(c, rows, gw->bv, tr->dqkv + q_dim + kv_dim, kv_dim, ld);
    if (gw && t2_weight_follows(gw->wq, q_dim * d, gw->wk) &&
        t2_weight_follows(gw->wk, kv_dim * d, gw->wv)) {
        weight_grad(gw->wq, tr->dqkv, ld, a->xn1, d, rows, ld, d);
    } else if (gw) {
        weight_grad(gw->wq, tr->dqkv, ld, a->xn1, d, rows, q_dim, d);
        weight_grad(gw->wk, tr->dqkv + q_dim, ld, a->xn1, d, rows, kv_dim, d);
        weight_grad(gw->wv, tr->dqkv + q_dim + kv_dim, ld, a->xn1, d, rows, kv_dim, d);
    }
    callback(tr, opt, l, T2_LINEAR_Q, a->xn1, tr->dqkv, ld, rows, d, q_dim);
    callback(tr, opt, l, T2_LINEAR_K, a->xn1, tr->dqkv + q_dim, ld, rows, d, kv_dim);
    callback(tr, opt, l, T2_LINEAR_V, a->xn1, tr->dqkv + q_dim + kv_dim, ld, rows, d, kv_dim);
    if (l == 0 && gw == NULL) return;
    if (t2_weight_follows(lw->wq, q_dim * d, lw->wk) &&
        t2_weight_follows(lw->wk, kv_dim * d, lw->wv)) {
        input_grad(tr->dxn, d, tr->dqkv, ld, lw->wq, rows, ld, d, 0.0f);
    } else {
        input_grad(tr->dxn, d, tr->dqkv, ld, lw->wq, rows, q_dim, d, 0.0f);
        input_grad(tr->dxn, d, tr->dqkv + q_dim, ld, lw->wk, rows, kv_dim, d, 1.0f);
        input_grad(tr->dxn, d, tr->dqkv + q_dim + kv_dim, ld, lw->wv, rows, kv_dim, d, 1.0f);
    }
    rmsnorm_backward(c, rows, a->x, lw->input_norm, gw ? gw->input_norm : NULL);
}

void t2_trainer_backward(t2_trainer *tr, const t2_train_batch *batch,
                         const t2_train_options *opt) {
    int64_t d = tr->d, rows = batch->n_seqs * batch->seq_len;
    t2_model_weights *grads = opt->grads;
    backward_ctx c = {tr, batch, NULL, 0, NULL, NULL, NULL, NULL, 0, 0};
    head_backward(&c, rows, grads);
    for (int64_t l = tr->cfg->num_hidden_layers - 1; l >= 0; l--) {
        c.a = &tr->layers[l];
        mlp_backward(&c, l, rows, opt);
        attention_block_backward(&c, l, opt);
    }
    if (grads == NULL) return;
    /* embeddings: scatter-add each row's gradient into its token's row */
    for (int64_t r = 0; r < rows; r++) {
        float *restrict g_row = grads->embed.f32 + (int64_t)batch->tokens[r] * d;
        const float *restrict dx_row = tr->dx + r * d;
        for (int64_t i = 0; i < d; i++) g_row[i] += dx_row[i];
    }
}

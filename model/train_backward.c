/* The training pass's backward: from the loss through lm_head, the final norm and every
 * block down to the embeddings, reading the activations model/train.c's forward kept.
 *
 * Per linear layer Y = X Wᵀ (+ b) with Δ = dL/dY (rows x out), all rows in one GEMM each:
 *   dX = Δ W,  dW += Δᵀ X,  db += column sums of Δ,  and linear_fn(X, Δ) when set.
 * With opt->grads NULL (SVF training wants only the callback) no dW, bias, norm or embedding
 * gradient is formed, and layer 0 stops at its q/k/v deltas. Callbacks come from the last
 * layer to the first, in each layer in the order down, gate, up, o, q, k, v.
 * The maths of each step is in docs/training-engine.md; tests/test_train_*.c check it by
 * finite differences. Does not: validate the batch or run the forward (train.c). */
#include <math.h>
#include <string.h>

#include "linalg/gemm.h"
#include "linalg/ops_backward.h"
#include "model/train_impl.h"

/* dx (rows x n_in, ld_dx) = delta (rows x n_out, ld_delta) W + beta dx;  W: n_out x n_in. */
static void input_grad(float *dx, int64_t ld_dx, const float *delta, int64_t ld_delta,
                       const float *w, int64_t rows, int64_t n_out, int64_t n_in, float beta) {
    t2_gemm(dx, ld_dx, delta, ld_delta, 0, w, n_in, 0, rows, n_in, n_out, 1.0f, beta);
}

/* dW (n_out x n_in) += deltaᵀ x. */
static void weight_grad(float *dw, const float *delta, int64_t ld_delta, const float *x,
                        int64_t ld_x, int64_t rows, int64_t n_out, int64_t n_in) {
    t2_gemm(dw, n_in, delta, ld_delta, 1, x, ld_x, 0, n_out, n_in, rows, 1.0f, 1.0f);
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

/* lm_head and the final norm: leaves dL/d(x_final) in tr->dx. dlogits is formed for
 * logit_rows rows at a time so its buffer stays small for large vocabularies. */
static void head_backward(t2_trainer *tr, const t2_train_batch *b, t2_model_weights *grads) {
    const t2_model_weights *w = tr->weights;
    int64_t d = tr->d, vocab = tr->vocab, rows = b->n_seqs * b->seq_len;
    for (int64_t r0 = 0; r0 < rows; r0 += tr->logit_rows) {
        int64_t n = rows - r0 < tr->logit_rows ? rows - r0 : tr->logit_rows;
        t2_cross_entropy_backward(tr->dlogits, vocab, tr->logits + r0 * vocab, vocab,
                                  tr->lse + r0, b->targets + r0, b->weights + r0, n, vocab);
        input_grad(tr->dxn + r0 * d, d, tr->dlogits, vocab, w->lm_head, n, vocab, d, 0.0f);
        if (grads != NULL)
            weight_grad(grads->lm_head, tr->dlogits, vocab, tr->xn_final + r0 * d, d, n, vocab,
                        d);
    }
    memset(tr->dx, 0, (size_t)(rows * d) * sizeof(float));
    t2_rmsnorm_backward(tr->dx, grads ? grads->final_norm : NULL, tr->dxn, tr->x_final,
                        w->final_norm, rows, d, tr->cfg->rms_norm_eps);
}

/* MLP block of layer l: tr->dx holds dL/d(layer output) and leaves holding dL/d(x_mid). */
static void mlp_backward(t2_trainer *tr, int64_t l, int64_t rows, const t2_train_options *opt) {
    const t2_layer_weights *lw = &tr->weights->layers[l];
    t2_layer_weights *gw = opt->grads ? &opt->grads->layers[l] : NULL;
    const t2_train_layer_acts *a = &tr->layers[l];
    int64_t d = tr->d, ffn = tr->ffn;
    /* down_proj: Δ = dx, input h */
    input_grad(tr->dh, ffn, tr->dx, d, lw->w_down, rows, d, ffn, 0.0f);
    t2_swiglu_backward(tr->dgu, tr->h, tr->dh, a->gu, rows, ffn);
    if (gw) weight_grad(gw->w_down, tr->dx, d, tr->h, ffn, rows, d, ffn);
    callback(tr, opt, l, T2_LINEAR_DOWN, tr->h, tr->dx, d, rows, ffn, d);
    /* gate_proj and up_proj: Δ = dgate | dup, input xn2 */
    if (lw->w_up == lw->w_gate + ffn * d) {
        input_grad(tr->dxn, d, tr->dgu, 2 * ffn, lw->w_gate, rows, 2 * ffn, d, 0.0f);
    } else {
        input_grad(tr->dxn, d, tr->dgu, 2 * ffn, lw->w_gate, rows, ffn, d, 0.0f);
        input_grad(tr->dxn, d, tr->dgu + ffn, 2 * ffn, lw->w_up, rows, ffn, d, 1.0f);
    }
    if (gw && gw->w_up == gw->w_gate + ffn * d) {
        weight_grad(gw->w_gate, tr->dgu, 2 * ffn, a->xn2, d, rows, 2 * ffn, d);
    } else if (gw) {
        weight_grad(gw->w_gate, tr->dgu, 2 * ffn, a->xn2, d, rows, ffn, d);
        weight_grad(gw->w_up, tr->dgu + ffn, 2 * ffn, a->xn2, d, rows, ffn, d);
    }
    callback(tr, opt, l, T2_LINEAR_GATE, a->xn2, tr->dgu, 2 * ffn, rows, d, ffn);
    callback(tr, opt, l, T2_LINEAR_UP, a->xn2, tr->dgu + ffn, 2 * ffn, rows, d, ffn);
    t2_rmsnorm_backward(tr->dx, gw ? gw->post_norm : NULL, tr->dxn, a->x_mid, lw->post_norm,
                        rows, d, tr->cfg->rms_norm_eps);
}

/* dL/d(q | k | v) into tr->dqkv from dL/d(attention output) in tr->datt: attention per
 * (sequence, KV head), then the RoPE transpose on q and k. */
static void attention_backward(t2_trainer *tr, const t2_train_layer_acts *a, int64_t n_seqs,
                               int64_t seq_len) {
    int64_t hd = tr->head_dim, ld = tr->qkv_ld, q_dim = tr->q_dim, group = tr->group;
    float scale = 1.0f / sqrtf((float)hd);
    for (int64_t s = 0; s < n_seqs; s++) {
        int64_t row0 = s * seq_len;
        for (int64_t h = 0; h < tr->n_kv; h++) {
            int64_t q_off = row0 * ld + h * group * hd, k_off = row0 * ld + q_dim + h * hd;
            int64_t v_off = k_off + tr->kv_dim, o_off = row0 * q_dim + h * group * hd;
            t2_attention_backward(tr->dqkv + q_off, ld, tr->dqkv + k_off, tr->dqkv + v_off, ld,
                                  tr->datt + o_off, q_dim, a->attn + o_off, q_dim,
                                  a->lse + row0 * tr->n_heads + h * group, tr->n_heads,
                                  a->qkv + q_off, ld, a->qkv + k_off, a->qkv + v_off, ld,
                                  seq_len, group, hd, scale, tr->attn_scratch);
        }
    }
    for (int64_t r = 0; r < n_seqs * seq_len; r++) {
        int64_t pos = r % seq_len;
        t2_rope_backward(tr->dqkv + r * ld, tr->n_heads + tr->n_kv, hd,
                         t2_rope_cos(&tr->rope, pos), t2_rope_sin(&tr->rope, pos));
    }
}

/* Attention block of layer l: tr->dx holds dL/d(x_mid) and leaves holding dL/d(layer
 * input), except for layer 0 without weight gradients, where nothing below needs it. */
static void attention_block_backward(t2_trainer *tr, const t2_train_batch *b, int64_t l,
                                     const t2_train_options *opt) {
    const t2_layer_weights *lw = &tr->weights->layers[l];
    t2_layer_weights *gw = opt->grads ? &opt->grads->layers[l] : NULL;
    const t2_train_layer_acts *a = &tr->layers[l];
    int64_t d = tr->d, rows = b->n_seqs * b->seq_len, q_dim = tr->q_dim, kv_dim = tr->kv_dim;
    int64_t ld = tr->qkv_ld;
    /* o_proj: Δ = dx, input attn */
    input_grad(tr->datt, q_dim, tr->dx, d, lw->wo, rows, d, q_dim, 0.0f);
    if (gw) weight_grad(gw->wo, tr->dx, d, a->attn, q_dim, rows, d, q_dim);
    if (gw && gw->bo) t2_bias_backward(gw->bo, tr->dx, rows, d, d);
    callback(tr, opt, l, T2_LINEAR_O, a->attn, tr->dx, d, rows, q_dim, d);

    attention_backward(tr, a, b->n_seqs, b->seq_len);

    /* q/k/v_proj: Δ = dq | dk | dv, input xn1 */
    if (gw && gw->bq) t2_bias_backward(gw->bq, tr->dqkv, rows, q_dim, ld);
    if (gw && gw->bk) t2_bias_backward(gw->bk, tr->dqkv + q_dim, rows, kv_dim, ld);
    if (gw && gw->bv) t2_bias_backward(gw->bv, tr->dqkv + q_dim + kv_dim, rows, kv_dim, ld);
    if (gw && gw->wk == gw->wq + q_dim * d && gw->wv == gw->wk + kv_dim * d) {
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
    if (lw->wk == lw->wq + q_dim * d && lw->wv == lw->wk + kv_dim * d) {
        input_grad(tr->dxn, d, tr->dqkv, ld, lw->wq, rows, ld, d, 0.0f);
    } else {
        input_grad(tr->dxn, d, tr->dqkv, ld, lw->wq, rows, q_dim, d, 0.0f);
        input_grad(tr->dxn, d, tr->dqkv + q_dim, ld, lw->wk, rows, kv_dim, d, 1.0f);
        input_grad(tr->dxn, d, tr->dqkv + q_dim + kv_dim, ld, lw->wv, rows, kv_dim, d, 1.0f);
    }
    t2_rmsnorm_backward(tr->dx, gw ? gw->input_norm : NULL, tr->dxn, a->x, lw->input_norm,
                        rows, d, tr->cfg->rms_norm_eps);
}

void t2_trainer_backward(t2_trainer *tr, const t2_train_batch *batch,
                         const t2_train_options *opt) {
    int64_t d = tr->d, rows = batch->n_seqs * batch->seq_len;
    t2_model_weights *grads = opt->grads;
    head_backward(tr, batch, grads);
    for (int64_t l = tr->cfg->num_hidden_layers - 1; l >= 0; l--) {
        mlp_backward(tr, l, rows, opt);
        attention_block_backward(tr, batch, l, opt);
    }
    if (grads == NULL) return;
    /* embeddings: scatter-add each row's gradient into its token's row */
    for (int64_t r = 0; r < rows; r++) {
        float *restrict g_row = grads->embed + (int64_t)batch->tokens[r] * d;
        const float *restrict dx_row = tr->dx + r * d;
        for (int64_t i = 0; i < d; i++) g_row[i] += dx_row[i];
    }
}

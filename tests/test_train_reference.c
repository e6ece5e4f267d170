/* The double-precision reference forward and loss (see test_train_reference.h). */
#include "test_train_reference.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/rng.h"
#include "model/rope.h"

void t2_train_ref_init(t2_train_ref *r, const t2_model_config *cfg, const t2_model_weights *w) {
    r->cfg = cfg;
    r->w = w;
    r->slab = t2_alloc_array((size_t)w->slab_floats, sizeof(double));
    for (int64_t i = 0; i < w->slab_floats; i++) r->slab[i] = w->slab[i];
}

void t2_train_ref_free(t2_train_ref *r) {
    t2_free(r->slab);
    r->slab = NULL;
}

double *t2_train_ref_param(const t2_train_ref *r, const float *p) {
    T2_ASSERT(p >= r->w->slab && p < r->w->slab + r->w->slab_floats);
    return r->slab + (p - r->w->slab);
}

/* The double view of a float tensor, or NULL for an absent one (a bias). */
static const double *view(const t2_train_ref *r, const float *p) {
    return p == NULL ? NULL : t2_train_ref_param(r, p);
}

/* y (n_out) = W x (+ b);  W: n_out x n_in. */
static void matvec(double *y, const double *w, const double *b, const double *x, int64_t n_out,
                   int64_t n_in) {
    for (int64_t o = 0; o < n_out; o++) {
        double sum = b ? b[o] : 0.0;
        for (int64_t i = 0; i < n_in; i++) sum += w[o * n_in + i] * x[i];
        y[o] = sum;
    }
}

static void rmsnorm(double *y, const double *x, const double *w, int64_t n, double eps) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += x[i] * x[i];
    double r = 1.0 / sqrt(ss / (double)n + eps);
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * r * w[i];
}

/* Rotate-half RoPE of n_heads heads at one position. */
static void rope(double *x, int64_t n_heads, int64_t hd, const float *cos, const float *sin) {
    int64_t half = hd / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        double *lo = x + h * hd, *hi = lo + half;
        for (int64_t i = 0; i < half; i++) {
            double a = lo[i], b = hi[i];
            lo[i] = a * cos[i] - b * sin[i];
            hi[i] = b * cos[i] + a * sin[i];
        }
    }
}

/* Scratch of one sequence's forward. */
typedef struct seq_state {
    double *x, *xn, *q, *k, *v, *att, *tmp, *g, *u, *scores;
} seq_state;

/* One sequence (n tokens) through the model: logits (n x vocab) out. */
static void sequence_forward(const t2_train_ref *r, const t2_rope *tables, const int32_t *tokens,
                             int64_t n, seq_state *st, double *logits) {
    const t2_model_config *cfg = r->cfg;
    const t2_model_weights *w = r->w;
    int64_t d = cfg->hidden_size, ffn = cfg->intermediate_size, hd = cfg->head_dim;
    int64_t n_heads = cfg->num_attention_heads, n_kv = cfg->num_key_value_heads;
    int64_t q_dim = n_heads * hd, kv_dim = n_kv * hd, group = n_heads / n_kv;
    double eps = cfg->rms_norm_eps;
    for (int64_t t = 0; t < n; t++)
        for (int64_t i = 0; i < d; i++)
            st->x[t * d + i] = view(r, w->embed.f32)[(int64_t)tokens[t] * d + i];
    for (int64_t l = 0; l < cfg->num_hidden_layers; l++) {
        const t2_layer_weights *lw = &w->layers[l];
        for (int64_t t = 0; t < n; t++) {
            rmsnorm(st->xn, st->x + t * d, view(r, lw->input_norm), d, eps);
            matvec(st->q + t * q_dim, view(r, lw->wq.f32), view(r, lw->bq), st->xn, q_dim, d);
            matvec(st->k + t * kv_dim, view(r, lw->wk.f32), view(r, lw->bk), st->xn, kv_dim, d);
            matvec(st->v + t * kv_dim, view(r, lw->wv.f32), view(r, lw->bv), st->xn, kv_dim, d);
            rope(st->q + t * q_dim, n_heads, hd, t2_rope_cos(tables, t), t2_rope_sin(tables, t));
            rope(st->k + t * kv_dim, n_kv, hd, t2_rope_cos(tables, t), t2_rope_sin(tables, t));
        }
        for (int64_t t = 0; t < n; t++) {
            for (int64_t h = 0; h < n_heads; h++) {
                const double *q = st->q + t * q_dim + h * hd;
                int64_t kvh = h / group;
                double max = -INFINITY, sum = 0.0;
                for (int64_t j = 0; j <= t; j++) {
                    double s = 0.0;
                    for (int64_t i = 0; i < hd; i++) s += q[i] * st->k[j * kv_dim + kvh * hd + i];
                    st->scores[j] = s / sqrt((double)hd);
                    max = st->scores[j] > max ? st->scores[j] : max;
                }
                for (int64_t j = 0; j <= t; j++) {
                    st->scores[j] = exp(st->scores[j] - max);
                    sum += st->scores[j];
                }
                for (int64_t i = 0; i < hd; i++) {
                    double o = 0.0;
                    for (int64_t j = 0; j <= t; j++)
                        o += st->scores[j] / sum * st->v[j * kv_dim + kvh * hd + i];
                    st->att[t * q_dim + h * hd + i] = o;
                }
            }
        }
        for (int64_t t = 0; t < n; t++) {
            double *x = st->x + t * d;
            matvec(st->tmp, view(r, lw->wo.f32), view(r, lw->bo), st->att + t * q_dim, d, q_dim);
            for (int64_t i = 0; i < d; i++) x[i] += st->tmp[i];
            rmsnorm(st->xn, x, view(r, lw->post_norm), d, eps);
            matvec(st->g, view(r, lw->w_gate.f32), NULL, st->xn, ffn, d);
            matvec(st->u, view(r, lw->w_up.f32), NULL, st->xn, ffn, d);
            for (int64_t i = 0; i < ffn; i++)
                st->g[i] = st->g[i] / (1.0 + exp(-st->g[i])) * st->u[i]; /* silu(g) u */
            matvec(st->tmp, view(r, lw->w_down.f32), NULL, st->g, d, ffn);
            for (int64_t i = 0; i < d; i++) x[i] += st->tmp[i];
        }
    }
    for (int64_t t = 0; t < n; t++) {
        rmsnorm(st->xn, st->x + t * d, view(r, w->final_norm), d, eps);
        matvec(logits + t * cfg->vocab_size, view(r, w->lm_head.f32), NULL, st->xn, cfg->vocab_size,
               d);
    }
}

double t2_train_ref_loss(const t2_train_ref *r, const t2_train_batch *b, double *logits) {
    const t2_model_config *cfg = r->cfg;
    int64_t n = b->seq_len, d = cfg->hidden_size, ffn = cfg->intermediate_size;
    int64_t vocab = cfg->vocab_size;
    int64_t q_dim = cfg->num_attention_heads * cfg->head_dim;
    int64_t kv_dim = cfg->num_key_value_heads * cfg->head_dim;
    t2_rope tables;
    t2_rope_init(&tables, cfg, n);
    int64_t sizes[10] = {n * d, d, n * q_dim, n * kv_dim, n * kv_dim, n * q_dim, d, ffn, ffn, n};
    double *buffers[10];
    for (int i = 0; i < 10; i++) buffers[i] = t2_alloc_array((size_t)sizes[i], sizeof(double));
    seq_state st = {buffers[0], buffers[1], buffers[2], buffers[3], buffers[4],
                    buffers[5], buffers[6], buffers[7], buffers[8], buffers[9]};
    double *seq_logits = t2_alloc_array((size_t)(n * vocab), sizeof(double));
    double loss = 0.0;
    for (int64_t s = 0; s < b->n_seqs; s++) {
        sequence_forward(r, &tables, b->tokens + s * n, n, &st, seq_logits);
        for (int64_t t = 0; t < n; t++) {
            const double *row = seq_logits + t * vocab;
            float weight = b->weights[s * n + t];
            if (logits != NULL)
                memcpy(logits + (s * n + t) * vocab, row, (size_t)vocab * sizeof(double));
            if (weight == 0.0f) continue;
            double max = row[0], sum = 0.0;
            for (int64_t j = 1; j < vocab; j++) max = row[j] > max ? row[j] : max;
            for (int64_t j = 0; j < vocab; j++) sum += exp(row[j] - max);
            loss -= weight * (row[b->targets[s * n + t]] - max - log(sum));
        }
    }
    t2_free(seq_logits);
    for (int i = 0; i < 10; i++) t2_free(buffers[i]);
    t2_rope_free(&tables);
    return loss;
}

const char *t2_train_ref_variant(int i) {
    static const char *const names[T2_TRAIN_REF_VARIANTS] = {"llama", "llama_bias", "qwen2",
                                                             "tied", "llama3_rope"};
    T2_ASSERT(i >= 0 && i < T2_TRAIN_REF_VARIANTS);
    return names[i];
}

/* Norm weights 1 + N(0, 0.1^2), so a backward that ignored them would show. */
static void jitter_norms(void *ctx, const char *name, int n_dims, const int64_t *shape,
                         float *data) {
    if (n_dims != 1 || strstr(name, "norm") == NULL) return;
    for (int64_t i = 0; i < shape[0]; i++) data[i] = 1.0f + 0.1f * t2_rng_normal(ctx);
}

void t2_train_ref_model(t2_model_config *cfg, t2_model_weights *w, int i) {
    *cfg = t2_model_config_llama(24, 40, 2, 4, 2, 50, 64);
    if (i == 2) snprintf(cfg->model_type, sizeof cfg->model_type, "qwen2");
    cfg->attention_bias = i == 1 || i == 2;
    cfg->tie_word_embeddings = i == 3;
    if (i == 3) cfg->num_key_value_heads = 4;
    if (i == 4) {
        cfg->hidden_size = 16;
        cfg->num_key_value_heads = 1;
        cfg->head_dim = 8;
        cfg->rope_theta = 100.0;
        cfg->rope_scaling_llama3 = 1;
        cfg->rope_factor = 8.0;
        cfg->rope_low_freq_factor = 1.0;
        cfg->rope_high_freq_factor = 4.0;
        cfg->rope_original_max_position_embeddings = 64;
    }
    t2_model_weights_init(w, cfg);
    t2_model_weights_init_random(w, cfg, 100 + (uint64_t)i, 0.3f);
    t2_rng rng;
    t2_rng_init(&rng, 200 + (uint64_t)i);
    t2_model_weights_visit(w, cfg, jitter_norms, &rng);
}

void t2_train_ref_batch_init(t2_train_ref_batch *b, int64_t n_seqs, int64_t seq_len,
                             int64_t vocab, uint64_t seed) {
    int64_t rows = n_seqs * seq_len;
    T2_ASSERT(rows >= 4);
    b->tokens = t2_alloc_array((size_t)rows, sizeof(int32_t));
    b->targets = t2_alloc_array((size_t)rows, sizeof(int32_t));
    b->weights = t2_alloc_array((size_t)rows, sizeof(float));
    t2_rng rng;
    t2_rng_init(&rng, seed);
    for (int64_t r = 0; r < rows; r++) {
        b->tokens[r] = (int32_t)(t2_rng_next(&rng) % (uint64_t)vocab);
        b->targets[r] = (int32_t)(t2_rng_next(&rng) % (uint64_t)vocab);
        b->weights[r] = 1.0f / (float)(rows - 2);
    }
    b->weights[1] = b->weights[rows - 2] = 0.0f;
    b->targets[1] = b->targets[rows - 2] = -1;
    b->weights[2] = -0.5f;
    b->batch = (t2_train_batch){n_seqs, seq_len, b->tokens, b->targets, b->weights};
}

void t2_train_ref_batch_free(t2_train_ref_batch *b) {
    t2_free(b->tokens);
    t2_free(b->targets);
    t2_free(b->weights);
    memset(b, 0, sizeof *b);
}

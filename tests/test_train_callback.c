/* The per-linear callback of the training pass (model/train.h linear_fn), which SVF training
 * uses instead of weight gradients, on the small models of test_train_reference.h:
 *   - it is called once per (layer, linear), last layer first, in the order down, gate, up,
 *     o, q, k, v, with rows = tokens in the batch and the layer's in / out widths;
 *   - Δᵀ X (in double) equals the weight gradient the same step adds for that linear;
 *   - at the largest entry of Δᵀ X and one random entry, it equals the central finite
 *     difference of the double reference loss in that weight (relative error <= 1e-3);
 *   - a step without weight gradients (the cheap SVF path) hands over the same X and Δ and
 *     gives the same loss. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "model/train.h"
#include "test_train_reference.h"

enum { N_SEQS = 2, SEQ_LEN = 6, MAX_LAYERS = 2 };

static const char *const kind_names[T2_LINEAR_COUNT] = {"q", "k", "v", "o", "gate", "up",
                                                        "down"};

/* What the callback saw for one (layer, linear). */
typedef struct seen {
    int calls;
    int order;            /* position among all calls */
    int64_t rows, in, out;
    float *x, *delta;     /* copies */
    double *dw;           /* out x in: Δᵀ X */
} seen;

typedef struct recorder {
    seen items[MAX_LAYERS][T2_LINEAR_COUNT];
    int n_calls;
} recorder;

static void record(void *ctx, int64_t layer, t2_linear_kind kind, const float *x,
                   const float *delta, int64_t rows, int64_t in, int64_t out) {
    recorder *rec = ctx;
    CHECK(layer >= 0 && layer < MAX_LAYERS && kind >= 0 && kind < T2_LINEAR_COUNT,
          "callback for layer %lld kind %d", (long long)layer, (int)kind);
    seen *s = &rec->items[layer][kind];
    s->calls++;
    s->order = rec->n_calls++;
    s->rows = rows;
    s->in = in;
    s->out = out;
    t2_free(s->x);
    t2_free(s->delta);
    t2_free(s->dw);
    s->x = t2_alloc((size_t)(rows * in) * sizeof(float));
    s->delta = t2_alloc((size_t)(rows * out) * sizeof(float));
    memcpy(s->x, x, (size_t)(rows * in) * sizeof(float));
    memcpy(s->delta, delta, (size_t)(rows * out) * sizeof(float));
    s->dw = t2_alloc_array((size_t)(out * in), sizeof(double));
    for (int64_t o = 0; o < out; o++)
        for (int64_t i = 0; i < in; i++)
            for (int64_t r = 0; r < rows; r++)
                s->dw[o * in + i] += (double)delta[r * out + o] * x[r * in + i];
}

static void recorder_free(recorder *rec) {
    for (int l = 0; l < MAX_LAYERS; l++) {
        for (int k = 0; k < T2_LINEAR_COUNT; k++) {
            t2_free(rec->items[l][k].x);
            t2_free(rec->items[l][k].delta);
            t2_free(rec->items[l][k].dw);
        }
    }
}

/* The weight matrix of (layer, kind) in w. */
static float *linear_weight(const t2_model_weights *w, int64_t layer, int kind) {
    t2_layer_weights *lw = &w->layers[layer];
    float *const by_kind[T2_LINEAR_COUNT] = {lw->wq.f32, lw->wk.f32, lw->wv.f32, lw->wo.f32,
                                             lw->w_gate.f32, lw->w_up.f32, lw->w_down.f32};
    return by_kind[kind];
}

static double fd_entry(const t2_train_ref *ref, const t2_train_batch *b, double *p) {
    const double h = 1e-4;
    double keep = *p;
    *p = keep + h;
    double up = t2_train_ref_loss(ref, b, NULL);
    *p = keep - h;
    double down = t2_train_ref_loss(ref, b, NULL);
    *p = keep;
    return (up - down) / (2.0 * h);
}

static void check_variant(int v) {
    const char *variant = t2_train_ref_variant(v);
    t2_model_config cfg;
    t2_model_weights w, grads;
    t2_train_ref_model(&cfg, &w, v);
    t2_model_weights_init(&grads, &cfg);
    t2_train_ref_batch rb;
    t2_train_ref_batch_init(&rb, N_SEQS, SEQ_LEN, cfg.vocab_size, 500 + (uint64_t)v);
    t2_train_ref ref;
    t2_train_ref_init(&ref, &cfg, &w);
    t2_trainer *tr = t2_trainer_new(&cfg, &w, N_SEQS, SEQ_LEN);
    recorder with_grads = {0}, svf = {0};
    t2_train_options opt = {&grads, record, &with_grads, NULL};
    double loss = 0.0, svf_loss = 0.0;
    t2_error err = {{0}};
    CHECK(t2_trainer_step(tr, &rb.batch, &opt, &loss, &err) == 0, "%s: %s", variant, err.msg);
    t2_train_options svf_opt = {NULL, record, &svf, NULL};
    CHECK(t2_trainer_step(tr, &rb.batch, &svf_opt, &svf_loss, &err) == 0, "%s: %s", variant,
          err.msg);
    CHECK(svf_loss == loss, "%s: loss without gradients %.9g; with %.9g", variant, svf_loss, loss);

    int64_t d = cfg.hidden_size, ffn = cfg.intermediate_size;
    int64_t q_dim = cfg.num_attention_heads * cfg.head_dim;
    int64_t kv_dim = cfg.num_key_value_heads * cfg.head_dim;
    const int64_t ins[T2_LINEAR_COUNT] = {d, d, d, q_dim, d, d, ffn};
    const int64_t outs[T2_LINEAR_COUNT] = {q_dim, kv_dim, kv_dim, d, ffn, ffn, d};
    const int order_in_layer[T2_LINEAR_COUNT] = {4, 5, 6, 3, 1, 2, 0};
    t2_rng rng;
    t2_rng_init(&rng, 600 + (uint64_t)v);
    double worst = 0.0;
    char what[160];
    for (int64_t l = 0; l < cfg.num_hidden_layers; l++) {
        for (int k = 0; k < T2_LINEAR_COUNT; k++) {
            const seen *s = &with_grads.items[l][k], *c = &svf.items[l][k];
            int want_order = (int)(cfg.num_hidden_layers - 1 - l) * T2_LINEAR_COUNT +
                             order_in_layer[k];
            CHECK(s->calls == 1 && c->calls == 1, "%s layer %lld %s: %d and %d calls; expected 1",
                  variant, (long long)l, kind_names[k], s->calls, c->calls);
            if (s->calls != 1 || c->calls != 1) continue;
            CHECK(s->order == want_order && c->order == want_order,
                  "%s layer %lld %s: call number %d / %d; expected %d", variant, (long long)l,
                  kind_names[k], s->order, c->order, want_order);
            CHECK(s->rows == N_SEQS * SEQ_LEN && s->in == ins[k] && s->out == outs[k],
                  "%s layer %lld %s: rows %lld in %lld out %lld; expected %d, %lld, %lld",
                  variant, (long long)l, kind_names[k], (long long)s->rows, (long long)s->in,
                  (long long)s->out, N_SEQS * SEQ_LEN, (long long)ins[k], (long long)outs[k]);
            snprintf(what, sizeof what, "%s layer %lld %s: X without gradients", variant,
                     (long long)l, kind_names[k]);
            t2_check_close(what, c->x, s->x, s->rows * s->in, 1e-6, 1e-5);
            snprintf(what, sizeof what, "%s layer %lld %s: Δ without gradients", variant,
                     (long long)l, kind_names[k]);
            t2_check_close(what, c->delta, s->delta, s->rows * s->out, 1e-6, 1e-5);
            /* Δᵀ X against the weight gradient of the same step */
            const float *g = linear_weight(&grads, l, k);
            double *g_double = t2_alloc_array((size_t)(s->out * s->in), sizeof(double));
            double largest = 0.0;
            int64_t arg = 0;
            for (int64_t i = 0; i < s->out * s->in; i++) {
                g_double[i] = g[i];
                if (fabs(s->dw[i]) > largest) {
                    largest = fabs(s->dw[i]);
                    arg = i;
                }
            }
            snprintf(what, sizeof what, "%s layer %lld %s: Δᵀ X vs weight gradient", variant,
                     (long long)l, kind_names[k]);
            t2_check_close_double(what, s->dw, g_double, s->out * s->in, 1e-6 * largest, 1e-5);
            /* Δᵀ X against finite differences of the reference loss in that weight */
            int64_t entries[2] = {arg, (int64_t)(t2_rng_next(&rng) % (uint64_t)(s->out * s->in))};
            for (int e = 0; e < 2; e++) {
                double *p = t2_train_ref_param(&ref, linear_weight(&w, l, k) + entries[e]);
                double fd = fd_entry(&ref, &rb.batch, p);
                double err_rel = fabs(s->dw[entries[e]] - fd) / fmax(fabs(fd), 0.01 * largest);
                worst = fmax(worst, err_rel);
                CHECK(err_rel <= 1e-3, "%s layer %lld %s entry %lld: Δᵀ X %.9g, finite "
                      "difference %.9g", variant, (long long)l, kind_names[k],
                      (long long)entries[e], s->dw[entries[e]], fd);
            }
            t2_free(g_double);
        }
    }
    fprintf(stderr, "%-12s Δᵀ X vs finite differences: worst relative error %.3g\n", variant,
            worst);
    recorder_free(&svf);
    recorder_free(&with_grads);
    t2_trainer_free(tr);
    t2_train_ref_free(&ref);
    t2_train_ref_batch_free(&rb);
    t2_model_weights_free(&grads);
    t2_model_weights_free(&w);
}

int main(void) {
    t2_blis_setup(1, 1);
    for (int v = 0; v < T2_TRAIN_REF_VARIANTS; v++) check_variant(v);
    return t2_check_exit_code();
}

/* Whole-model gradient check of the adapters (model/adapter.h) through the training pass:
 * for svf sigmoid and linear, each with and without renormalisation, and for lora (B
 * nonzero), on small models of test_train_reference.h whose every block linear (attention
 * and MLP) is a target decomposed by a real SVD (test_adapter_fixture.h):
 *   - compose W'(params) into the trainer's weights, run t2_trainer_step without weight
 *     gradients and with linear_fn = t2_adapter_linear_fn, then t2_adapter_gradient;
 *   - the loss it reports equals the double reference loss of the double-composed model;
 *   - ∂L/∂params against central differences of that double reference loss, with W'
 *     recomposed in double loops for params ± h: along a random direction over all
 *     parameters (relative to max(|FD|, |g|)), and at every target's largest entry and two
 *     random ones (relative to max(|FD|, 1 % of the target's largest entry)).
 * Every relative error must be <= 1e-3. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "model/adapter.h"
#include "model/train.h"
#include "test_adapter_fixture.h"
#include "test_train_reference.h"

enum { N_SEQS = 2, SEQ_LEN = 6, N_ENTRIES = 3, N_CONFIGS = 5 };

static const double STEP = 1e-4;

static t2_adapter_options config(int i, const char **label) {
    static const char *const labels[N_CONFIGS] = {"svf sigmoid renorm", "svf sigmoid",
                                                  "svf linear renorm", "svf linear", "lora"};
    *label = labels[i];
    if (i == 4) return (t2_adapter_options){T2_ADAPTER_LORA, T2_SVF_SIGMOID, 0.0f, 0, 2, 4.0f};
    return (t2_adapter_options){T2_ADAPTER_SVF, i < 2 ? T2_SVF_SIGMOID : T2_SVF_LINEAR, 2.0f,
                                i % 2 == 0, 0, 0.0f};
}

/* The double side: the reference model whose target matrices are W'(p) composed in double. */
typedef struct double_side {
    const t2_adapter *a;
    t2_train_ref ref;
    const t2_model_weights *tw; /* the float weights ref mirrors */
    const t2_train_batch *batch;
    double *p;                  /* n_params */
} double_side;

static void set_target(double_side *ds, int i) {
    const t2_adapter_target *t = &ds->a->targets[i];
    double *w = t2_train_ref_param(&ds->ref, t2_adapter_fixture_weight(ds->tw, t->layer, t->kind));
    t2_adapter_fixture_compose(ds->a, t, ds->p + t->offset, w);
}

/* Central difference along dir (n_params) over every target. */
static double fd_direction(double_side *ds, const double *dir) {
    int64_t n = ds->a->n_params;
    double *keep = t2_alloc((size_t)n * sizeof(double));
    memcpy(keep, ds->p, (size_t)n * sizeof(double));
    double loss[2];
    for (int side = 0; side < 2; side++) {
        double sign = side == 0 ? 1.0 : -1.0;
        for (int64_t j = 0; j < n; j++) ds->p[j] = keep[j] + sign * STEP * dir[j];
        for (int i = 0; i < ds->a->n; i++) set_target(ds, i);
        loss[side] = t2_train_ref_loss(&ds->ref, ds->batch, NULL);
    }
    memcpy(ds->p, keep, (size_t)n * sizeof(double));
    for (int i = 0; i < ds->a->n; i++) set_target(ds, i);
    t2_free(keep);
    return (loss[0] - loss[1]) / (2.0 * STEP);
}

/* Central difference in parameter j of target i. */
static double fd_entry(double_side *ds, int i, int64_t j) {
    double keep = ds->p[j], loss[2];
    for (int side = 0; side < 2; side++) {
        ds->p[j] = keep + (side == 0 ? STEP : -STEP);
        set_target(ds, i);
        loss[side] = t2_train_ref_loss(&ds->ref, ds->batch, NULL);
    }
    ds->p[j] = keep;
    set_target(ds, i);
    return (loss[0] - loss[1]) / (2.0 * STEP);
}

static double worst_error = 0.0;

static void report(const char *what, double got, double want, double scale) {
    double err = fabs(got - want) / scale;
    worst_error = fmax(worst_error, err);
    CHECK(err <= 1e-3, "%s: adapter gradient %.9g, finite difference %.9g, relative error %.3g",
          what, got, want, err);
}

static void check_config(const t2_adapter_fixture *f, int variant, int c) {
    const char *label;
    t2_adapter_options o = config(c, &label);
    t2_adapter a;
    t2_error err = {{0}};
    int status = t2_adapter_init(&a, &o, &f->cfg, t2_adapter_fixture_names(f), f->store.n,
                                 &f->store, &f->w, &err);
    CHECK(status == 0, "%s: %s", label, err.msg);
    if (status != 0) return;
    char tag[96];
    snprintf(tag, sizeof tag, "%s %s", t2_train_ref_variant(variant), label);
    float *params = t2_alloc((size_t)a.n_params * sizeof(float));
    t2_adapter_fixture_params(&a, 31 + (uint64_t)c, params);

    /* float side: the trainer over the composed weights */
    t2_model_weights tw;
    t2_model_weights_init(&tw, &f->cfg);
    memcpy(tw.slab, f->w.slab, (size_t)f->w.slab_floats * sizeof(float));
    t2_adapter_compose(&a, params, &tw);
    t2_train_ref_batch rb;
    t2_train_ref_batch_init(&rb, N_SEQS, SEQ_LEN, f->cfg.vocab_size, 800 + (uint64_t)variant);
    t2_trainer *tr = t2_trainer_new(&f->cfg, &tw, N_SEQS, SEQ_LEN);
    float *accum = t2_alloc_array((size_t)a.accum_size, sizeof(float));
    float *grad = t2_alloc((size_t)a.n_params * sizeof(float));
    t2_adapter_grad_ctx ctx = {&a, params, accum};
    t2_train_options opt = {NULL, t2_adapter_linear_fn, &ctx, NULL};
    double loss = 0.0;
    CHECK(t2_trainer_step(tr, &rb.batch, &opt, &loss, &err) == 0, "%s: %s", tag, err.msg);
    t2_adapter_gradient(&a, params, accum, grad);

    /* double side */
    double_side ds = {&a, {0}, &tw, &rb.batch, t2_alloc((size_t)a.n_params * sizeof(double))};
    t2_train_ref_init(&ds.ref, &f->cfg, &tw);
    for (int64_t j = 0; j < a.n_params; j++) ds.p[j] = params[j];
    for (int i = 0; i < a.n; i++) set_target(&ds, i);
    double ref_loss = t2_train_ref_loss(&ds.ref, &rb.batch, NULL);
    CHECK(fabs(loss - ref_loss) <= 1e-5 * fabs(ref_loss) + 1e-6,
          "%s: training loss %.9g; double reference %.9g", tag, loss, ref_loss);

    double before = worst_error;
    worst_error = 0.0;
    t2_rng rng;
    t2_rng_init(&rng, 900 + (uint64_t)c);
    double *dir = t2_alloc((size_t)a.n_params * sizeof(double));
    double predicted = 0.0, norm = 0.0;
    for (int64_t j = 0; j < a.n_params; j++) {
        dir[j] = t2_rng_normal(&rng);
        predicted += grad[j] * dir[j];
        norm += (double)grad[j] * grad[j];
    }
    norm = sqrt(norm);
    CHECK(norm > 0.0, "%s: the gradient is all zero", tag);
    char what[192];
    snprintf(what, sizeof what, "%s random direction", tag);
    double fd_dir = fd_direction(&ds, dir);
    report(what, predicted, fd_dir, fmax(fabs(fd_dir), norm));
    for (int i = 0; i < a.n; i++) {
        const t2_adapter_target *t = &a.targets[i];
        const float *g = grad + t->offset;
        double largest = 0.0;
        int64_t arg = 0;
        for (int64_t j = 0; j < t->n_params; j++) {
            if (fabs(g[j]) > largest) {
                largest = fabs(g[j]);
                arg = j;
            }
        }
        CHECK(largest > 0.0, "%s %s: the gradient is all zero", tag, t->name);
        for (int e = 0; e < N_ENTRIES; e++) {
            int64_t j = e == 0 ? arg : (int64_t)(t2_rng_next(&rng) % (uint64_t)t->n_params);
            double fd = fd_entry(&ds, i, t->offset + j);
            snprintf(what, sizeof what, "%s %s parameter %lld", tag, t->name, (long long)j);
            report(what, g[j], fd, fmax(fabs(fd), 0.01 * largest));
        }
    }
    fprintf(stderr, "%-32s %d targets, %lld parameters: worst relative error %.3g\n", tag, a.n,
            (long long)a.n_params, worst_error);
    worst_error = fmax(worst_error, before);

    t2_free(dir);
    t2_free(ds.p);
    t2_train_ref_free(&ds.ref);
    t2_free(grad);
    t2_free(accum);
    t2_trainer_free(tr);
    t2_train_ref_batch_free(&rb);
    t2_model_weights_free(&tw);
    t2_free(params);
    t2_adapter_free(&a);
}

int main(void) {
    t2_blis_setup(1, 1);
    /* llama (grouped-query attention) with every setting; qwen2 (q/k/v biases) and llama3_rope
     * (multi-query attention, head_dim != d / heads) with the sigmoid default and lora */
    const int variants[] = {0, 2, 4};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        t2_adapter_fixture f;
        t2_adapter_fixture_init(&f, variants[v], 0, T2_TARGET_SET_ALL);
        for (int c = 0; c < N_CONFIGS; c++)
            if (v == 0 || c == 0 || c == 4) check_config(&f, variants[v], c);
        t2_adapter_fixture_free(&f);
    }
    fprintf(stderr, "worst relative error over all adapter gradient checks: %.3g\n", worst_error);
    return t2_check_exit_code();
}

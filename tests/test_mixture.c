/* Mixtures of SVF experts (rl/mixture.h) on a small random model with a real decomposition:
 *   - α = e_k reproduces expert k's own W' (sigmoid, renormalised, composed by its adapter);
 *   - α = (0.3, 0.7) gives W' of the mask 0.3 m_0 + 0.7 m_1 (double loops, renormalised);
 *   - per-layer α mixes each layer with its own weights;
 *   - the mixture saved as an expert composes the same W' through t2_expert_apply's path;
 *   - a lora expert and experts over different targets are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "check.h"
#include "rl/mixture.h"
#include "test_adapter_fixture.h"

static const char *const FINGERPRINT = "0123456789abcdef";

/* An expert of options o over the fixture's targets with parameters drawn from seed. */
static void make_expert(const t2_adapter_fixture *f, const t2_adapter_options *o, uint64_t seed,
                        const char *name, t2_expert *e) {
    t2_adapter a;
    t2_error err = {{0}};
    const char *const *names = t2_adapter_fixture_names(f);
    if (t2_adapter_init(&a, o, &f->cfg, names, f->store.n, &f->store, &f->w, &err) != 0) {
        fprintf(stderr, "adapter: %s\n", err.msg);
        exit(1);
    }
    float *params = t2_alloc_array((size_t)a.n_params, sizeof *params);
    t2_adapter_fixture_params(&a, seed, params);
    t2_expert_from_adapter(e, name, "test", &a, params, FINGERPRINT);
    t2_free(params);
    t2_adapter_free(&a);
}

/* W' of every target of expert e composed by its own adapter into out. */
static void compose_expert(const t2_adapter_fixture *f, const t2_expert *e, t2_model_weights *out) {
    t2_adapter a;
    t2_error err = {{0}};
    CHECK(t2_adapter_init(&a, &e->options, &f->cfg, (const char *const *)e->tensors, e->n,
                          &f->store, &f->w, &err) == 0, "%s", err.msg);
    t2_adapter_compose(&a, e->params, out);
    t2_adapter_free(&a);
}

static void copy_weights(const t2_adapter_fixture *f, t2_model_weights *w) {
    t2_model_weights_init(w, &f->cfg);
    memcpy(w->slab, f->w.slab, sizeof(float) * (size_t)w->slab_floats);
}

int main(void) {
    t2_adapter_fixture f;
    t2_adapter_fixture_init(&f, 0, 0, T2_TARGET_SET_ALL);
    t2_adapter_options sigmoid = {.method = T2_ADAPTER_SVF, .parametrization = T2_SVF_SIGMOID,
                                  .max_mult = 2.0f, .renormalize = 1};
    t2_expert experts[2];
    make_expert(&f, &sigmoid, 1, "math", &experts[0]);
    make_expert(&f, &sigmoid, 2, "code", &experts[1]);
    t2_error err = {{0}};
    t2_mixture m;
    CHECK(t2_mixture_init(&m, experts, 2, 0, &f.cfg, &f.store, &err) == 0, "%s", err.msg);
    CHECK(t2_mixture_dim(&m) == 2, "dim %lld", (long long)t2_mixture_dim(&m));

    t2_model_weights got, want;
    copy_weights(&f, &got);
    copy_weights(&f, &want);
    for (int k = 0; k < 2; k++) { /* α = e_k is expert k */
        float alpha[2] = {k == 0, k == 1};
        t2_mixture_compose(&m, alpha, &got);
        compose_expert(&f, &experts[k], &want);
        t2_check_close(k == 0 ? "alpha e_0 vs expert 0" : "alpha e_1 vs expert 1", got.slab,
                       want.slab, got.slab_floats, 1e-6, 1e-4);
    }

    /* α = (0.3, 0.7): a linear renormalised expert with z = 0.3 m_0 + 0.7 m_1 */
    float alpha[2] = {0.3f, 0.7f};
    t2_mixture_compose(&m, alpha, &got);
    int64_t n = m.adapter.n_params;
    for (int t = 0; t < m.adapter.n; t++) {
        const t2_adapter_target *target = &m.adapter.targets[t];
        double *z = t2_alloc_array((size_t)target->rank, sizeof *z);
        double *w = t2_alloc_array((size_t)(target->rows * target->cols), sizeof *w);
        for (int64_t i = 0; i < target->rank; i++) {
            double m0 = 2.0 / (1.0 + exp(-(double)experts[0].params[target->offset + i]));
            double m1 = 2.0 / (1.0 + exp(-(double)experts[1].params[target->offset + i]));
            z[i] = 0.3 * m0 + 0.7 * m1;
        }
        t2_adapter_fixture_compose(&m.adapter, target, z, w);
        const float *g = t2_adapter_fixture_weight(&got, target->layer, target->kind);
        double worst = 0.0;
        for (int64_t i = 0; i < target->rows * target->cols; i++)
            worst = fmax(worst, fabs(g[i] - w[i]) / (fabs(w[i]) + 1e-3));
        CHECK(worst < 1e-3, "target %s: mixture vs double loops, worst relative error %g",
              target->name, worst);
        t2_free(z);
        t2_free(w);
    }

    /* per layer: layer l uses (l even ? e_0 : e_1) */
    t2_mixture per;
    CHECK(t2_mixture_init(&per, experts, 2, 1, &f.cfg, &f.store, &err) == 0, "%s", err.msg);
    int64_t layers = f.cfg.num_hidden_layers, dim = t2_mixture_dim(&per);
    CHECK(dim == 2 * layers, "per-layer dim %lld", (long long)dim);
    float *pa = t2_alloc_array((size_t)dim, sizeof *pa);
    for (int64_t l = 0; l < layers; l++) {
        pa[0 * layers + l] = l % 2 == 0;
        pa[1 * layers + l] = l % 2 == 1;
    }
    t2_mixture_compose(&per, pa, &got);
    t2_model_weights e0, e1;
    copy_weights(&f, &e0);
    copy_weights(&f, &e1);
    compose_expert(&f, &experts[0], &e0);
    compose_expert(&f, &experts[1], &e1);
    for (int t = 0; t < per.adapter.n; t++) {
        const t2_adapter_target *target = &per.adapter.targets[t];
        const t2_model_weights *src = target->layer % 2 == 0 ? &e0 : &e1;
        t2_check_close(target->name, t2_adapter_fixture_weight(&got, target->layer, target->kind),
                       t2_adapter_fixture_weight(src, target->layer, target->kind),
                       target->rows * target->cols, 1e-6, 1e-4);
    }

    /* saved as an expert: the same W' through its own (linear) adapter */
    t2_expert saved;
    t2_mixture_to_expert(&m, alpha, "mix", "test", FINGERPRINT, &saved);
    CHECK(saved.options.parametrization == T2_SVF_LINEAR && saved.n_params == n,
          "saved mixture: parametrization %d, %lld params", saved.options.parametrization,
          (long long)saved.n_params);
    t2_mixture_compose(&m, alpha, &got);
    compose_expert(&f, &saved, &want);
    t2_check_close("saved mixture vs mixture", got.slab, want.slab, got.slab_floats, 1e-6, 1e-5);

    /* refusals */
    t2_adapter_options lora = {.method = T2_ADAPTER_LORA, .lora_rank = 2, .lora_alpha = 4.0f};
    t2_expert mixed[2];
    mixed[0] = experts[0];
    make_expert(&f, &lora, 3, "lora", &mixed[1]);
    t2_mixture bad;
    CHECK(t2_mixture_init(&bad, mixed, 2, 0, &f.cfg, &f.store, &err) != 0 &&
          strstr(err.msg, "lora: a lora expert cannot be mixed") != NULL, "lora: '%s'", err.msg);
    t2_mixture_free(&bad);
    t2_expert_free(&mixed[1]);
    t2_expert fewer;
    make_expert(&f, &sigmoid, 4, "fewer", &fewer);
    fewer.n -= 1; /* over one target less */
    mixed[1] = fewer;
    CHECK(t2_mixture_init(&bad, mixed, 2, 0, &f.cfg, &f.store, &err) != 0 &&
          strstr(err.msg, "adapts other matrices") != NULL, "targets: '%s'", err.msg);
    fewer.n += 1;
    t2_mixture_free(&bad);

    t2_expert_free(&fewer);
    t2_expert_free(&saved);
    t2_free(pa);
    t2_model_weights_free(&e0);
    t2_model_weights_free(&e1);
    t2_model_weights_free(&got);
    t2_model_weights_free(&want);
    t2_mixture_free(&per);
    t2_mixture_free(&m);
    t2_expert_free(&experts[0]);
    t2_expert_free(&experts[1]);
    t2_adapter_fixture_free(&f);
    return t2_check_exit_code();
}

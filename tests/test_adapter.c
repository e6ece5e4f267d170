/* The adapter layer (model/adapter.h) piece by piece, on small random models with real
 * decomposition stores (test_adapter_fixture.h):
 *   - method and parametrization names both ways;
 *   - init: the parameter layout over the store's targets, find, and every bad input (a name
 *     that is not a block linear, a layer out of range, a duplicate, a name missing from the
 *     store, a store of another shape, bad options): one clear line, the adapter zeroed;
 *   - init_params: reproducible, 0.1 + N(0, 0.01²), 1, A ~ N(0, 1/cols) and B = 0;
 *   - compose against double loops for both methods, with and without renormalisation, only
 *     the targets written; mask 1 and c = 1 give back W (from the stored float factors);
 *   - accumulate against explicit u_iᵀ (Δᵀ X) v_i (svf) and scale Δᵀ X Aᵀ, scale Bᵀ Δᵀ X
 *     (lora), over more rows than one block, adding to what the accumulator held;
 *   - linearity: two halves of the rows accumulate to the whole;
 *   - the linear callback adds for adapted layers only;
 *   - the svf gradient chain against central differences of Σ h_i e_i(p) (double).
 * The whole-model finite-difference check is tests/test_adapter_grad.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "model/adapter.h"
#include "test_adapter_fixture.h"

enum { N_CONFIGS = 5, LORA_RANK = 3, ROWS = 300, SPLIT = 137 };

static const char *const suffixes[T2_LINEAR_COUNT] = {
    "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
    "self_attn.o_proj.weight", "mlp.gate_proj.weight",    "mlp.up_proj.weight",
    "mlp.down_proj.weight"};

/* The five settings every maths check runs: svf sigmoid / linear with and without
 * renormalisation, and lora. */
static t2_adapter_options config(int i, const char **label) {
    static const char *const labels[N_CONFIGS] = {"svf sigmoid renorm", "svf sigmoid",
                                                  "svf linear renorm", "svf linear", "lora"};
    *label = labels[i];
    if (i == 4)
        return (t2_adapter_options){T2_ADAPTER_LORA, T2_SVF_SIGMOID, 0.0f, 0, LORA_RANK, 6.0f};
    return (t2_adapter_options){T2_ADAPTER_SVF, i < 2 ? T2_SVF_SIGMOID : T2_SVF_LINEAR, 2.0f,
                                i % 2 == 0, 0, 0.0f};
}

static void init_or_fail(t2_adapter *a, const t2_adapter_options *o, const t2_adapter_fixture *f,
                         const char *const *names, int n) {
    t2_error err = {{0}};
    int status = t2_adapter_init(a, o, &f->cfg, names, n, &f->store, &f->w, &err);
    CHECK(status == 0, "init: %s", err.msg);
}

static double max_abs_double(const double *x, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

static void random_fill(float *x, int64_t n, t2_rng *rng) {
    for (int64_t i = 0; i < n; i++) x[i] = t2_rng_normal(rng);
}

static void check_names(void) {
    t2_adapter_method m = T2_ADAPTER_LORA;
    t2_svf_parametrization p = T2_SVF_LINEAR;
    CHECK(strcmp(t2_adapter_method_name(T2_ADAPTER_SVF), "svf") == 0 &&
              strcmp(t2_adapter_method_name(T2_ADAPTER_LORA), "lora") == 0, "method names");
    CHECK(t2_adapter_method_from_name("svf", &m) == 0 && m == T2_ADAPTER_SVF, "svf");
    CHECK(t2_adapter_method_from_name("lora", &m) == 0 && m == T2_ADAPTER_LORA, "lora");
    CHECK(t2_adapter_method_from_name("SVF", &m) == -1 && t2_adapter_method_from_name("", &m) == -1,
          "other method names refused");
    CHECK(strcmp(t2_svf_parametrization_name(T2_SVF_SIGMOID), "sigmoid") == 0 &&
              strcmp(t2_svf_parametrization_name(T2_SVF_LINEAR), "linear") == 0,
          "parametrization names");
    CHECK(t2_svf_parametrization_from_name("sigmoid", &p) == 0 && p == T2_SVF_SIGMOID, "sigmoid");
    CHECK(t2_svf_parametrization_from_name("linear", &p) == 0 && p == T2_SVF_LINEAR, "linear");
    CHECK(t2_svf_parametrization_from_name("tanh", &p) == -1, "other parametrizations refused");
}

/* init must fail with a message containing want, leaving the adapter zeroed. */
static void expect_init_error(const char *what, const t2_adapter_options *o,
                              const t2_model_config *cfg, const char *const *names, int n,
                              const t2_adapter_fixture *f, const char *want) {
    t2_adapter a;
    t2_error err = {{0}};
    int status = t2_adapter_init(&a, o, cfg, names, n, &f->store, &f->w, &err);
    CHECK(status == -1, "%s: init returned %d; expected -1", what, status);
    CHECK(strstr(err.msg, want) != NULL, "%s: error '%s'; expected it to contain '%s'", what,
          err.msg, want);
    CHECK(a.n == 0 && a.targets == NULL && a.work == NULL && a.n_params == 0,
          "%s: adapter not zeroed after the failure", what);
    t2_adapter_free(&a);
    t2_adapter_free(&a);
}

static void check_init_errors(const t2_adapter_fixture *all, const t2_adapter_fixture *mlp) {
    const char *label;
    t2_adapter_options svf = config(0, &label), lora = config(4, &label);
    const char *up0 = "model.layers.0.mlp.up_proj.weight";
    const char *norm[] = {up0, "model.layers.1.mlp.down_proj.weight", "model.norm.weight"};
    expect_init_error("model.norm.weight", &svf, &all->cfg, norm, 3, all,
                      "model.norm.weight: not a linear weight of a transformer block; expected "
                      "model.layers.<L>.(self_attn|mlp).<x>_proj.weight");
    expect_init_error("model.norm.weight (lora)", &lora, &all->cfg, norm, 3, all,
                      "model.norm.weight: not a linear weight");
    const char *const not_linear[] = {"lm_head.weight", "model.layers.01.mlp.up_proj.weight",
                                      "model.layers.0.mlp.up_proj.bias",
                                      "model.layers.x.mlp.up_proj.weight",
                                      "model.layers.0.mlp.up_proj.weight.U",
                                      "model.layers.0.self_attn.up_proj.weight",
                                      "model.layers.0.input_layernorm.weight"};
    for (size_t i = 0; i < sizeof not_linear / sizeof not_linear[0]; i++) {
        char want[160];
        snprintf(want, sizeof want, "%s: not a linear weight", not_linear[i]);
        expect_init_error(not_linear[i], &svf, &all->cfg, &not_linear[i], 1, all, want);
    }
    const char *layer2[] = {up0, "model.layers.2.mlp.up_proj.weight"};
    expect_init_error("layer 2", &svf, &all->cfg, layer2, 2, all,
                      "model.layers.2.mlp.up_proj.weight: layer 2 does not exist; expected a "
                      "layer below 2");
    const char *twice[] = {up0, "model.layers.1.mlp.up_proj.weight", up0};
    expect_init_error("duplicate", &lora, &all->cfg, twice, 3, all,
                      "model.layers.0.mlp.up_proj.weight: listed twice");
    /* a store made for the MLP matrices only has no attention factors */
    const char *attn[] = {up0, "model.layers.1.self_attn.q_proj.weight"};
    char want[512];
    snprintf(want, sizeof want, "%s: no decomposition of model.layers.1.self_attn.q_proj.weight; "
             "expected one made with targets covering it", mlp->store_path);
    expect_init_error("missing from the store", &svf, &mlp->cfg, attn, 2, mlp, want);
    /* the store's shapes against another model config */
    t2_model_config wider = all->cfg;
    wider.intermediate_size += 1;
    snprintf(want, sizeof want, "%s: model.layers.0.mlp.up_proj.weight is %lldx%lld; expected "
             "%lldx%lld", all->store_path, (long long)all->cfg.intermediate_size,
             (long long)all->cfg.hidden_size, (long long)wider.intermediate_size,
             (long long)all->cfg.hidden_size);
    expect_init_error("store of another shape", &svf, &wider, &up0, 1, all, want);
    expect_init_error("no targets", &svf, &all->cfg, NULL, 0, all, "targets: none");
    t2_adapter_options bad = lora;
    bad.lora_rank = 0;
    expect_init_error("lora_rank 0", &bad, &all->cfg, &up0, 1, all,
                      "lora_rank: 0; expected >= 1");
    bad = svf;
    bad.max_mult = 0.0f;
    expect_init_error("max_mult 0", &bad, &all->cfg, &up0, 1, all, "max_mult: 0; expected");
}

static void check_layout(const t2_adapter_fixture *f) {
    const char *const *names = t2_adapter_fixture_names(f);
    for (int c = 0; c < N_CONFIGS; c += 4) {
        const char *label;
        t2_adapter_options o = config(c, &label);
        t2_adapter a;
        init_or_fail(&a, &o, f, names, f->store.n);
        CHECK(a.n == f->store.n, "%s: %d targets; expected %d", label, a.n, f->store.n);
        int64_t offset = 0, accum_offset = 0;
        for (int i = 0; i < a.n; i++) {
            const t2_adapter_target *t = &a.targets[i];
            char name[96];
            snprintf(name, sizeof name, "model.layers.%lld.%s", (long long)t->layer,
                     t->kind >= 0 && t->kind < T2_LINEAR_COUNT ? suffixes[t->kind] : "?");
            CHECK(strcmp(name, names[i]) == 0 && strcmp(t->name, names[i]) == 0,
                  "%s: target %d is %s (layer %lld kind %d); expected %s", label, i, t->name,
                  (long long)t->layer, (int)t->kind, names[i]);
            CHECK(t->rows == f->store.rows[i] && t->cols == f->store.cols[i],
                  "%s: %s is %lldx%lld; the store has %lldx%lld", label, t->name,
                  (long long)t->rows, (long long)t->cols, (long long)f->store.rows[i],
                  (long long)f->store.cols[i]);
            int64_t want_rank = o.method == T2_ADAPTER_LORA ? LORA_RANK : f->store.ranks[i];
            int64_t want_n = o.method == T2_ADAPTER_LORA ? LORA_RANK * (t->rows + t->cols)
                                                         : f->store.ranks[i];
            int64_t want_accum = o.method == T2_ADAPTER_LORA ? want_n : want_rank;
            CHECK(t->rank == want_rank && t->n_params == want_n && t->offset == offset &&
                      t->accum_size == want_accum && t->accum_offset == accum_offset,
                  "%s: %s rank %lld, %lld params at %lld, %lld accumulator values at %lld; "
                  "expected %lld, %lld at %lld, %lld at %lld", label, t->name,
                  (long long)t->rank, (long long)t->n_params, (long long)t->offset,
                  (long long)t->accum_size, (long long)t->accum_offset, (long long)want_rank,
                  (long long)want_n, (long long)offset, (long long)want_accum,
                  (long long)accum_offset);
            CHECK(t2_adapter_find(&a, t->layer, t->kind) == i, "%s: find(%s) != %d", label,
                  t->name, i);
            offset += want_n;
            accum_offset += want_accum;
        }
        CHECK(a.n_params == offset && a.accum_size == accum_offset,
              "%s: %lld parameters, %lld accumulator values; expected %lld, %lld", label,
              (long long)a.n_params, (long long)a.accum_size, (long long)offset,
              (long long)accum_offset);
        t2_adapter_free(&a);
        t2_adapter_free(&a);
    }
    /* find on a subset */
    const char *one[] = {"model.layers.1.self_attn.k_proj.weight"};
    const char *label;
    t2_adapter_options o = config(0, &label);
    t2_adapter a;
    init_or_fail(&a, &o, f, one, 1);
    for (int64_t l = 0; l < f->cfg.num_hidden_layers; l++)
        for (int k = 0; k < T2_LINEAR_COUNT; k++)
            CHECK(t2_adapter_find(&a, l, (t2_linear_kind)k) ==
                      (l == 1 && k == T2_LINEAR_K ? 0 : -1),
                  "find(%lld, %d) on an adapter of layer 1's k_proj", (long long)l, k);
    t2_adapter_free(&a);
}

static void check_init_params(const t2_adapter_fixture *f) {
    const char *const *names = t2_adapter_fixture_names(f);
    for (int c = 0; c < N_CONFIGS; c++) {
        const char *label;
        t2_adapter_options o = config(c, &label);
        if (c == 3) continue; /* linear: the same values as c == 2 */
        t2_adapter a;
        init_or_fail(&a, &o, f, names, f->store.n);
        float *p = t2_alloc((size_t)a.n_params * sizeof(float));
        float *q = t2_alloc((size_t)a.n_params * sizeof(float));
        t2_adapter_init_params(&a, 42, p);
        t2_adapter_init_params(&a, 42, q);
        CHECK(memcmp(p, q, (size_t)a.n_params * sizeof(float)) == 0,
              "%s: the same seed gave different parameters", label);
        t2_adapter_init_params(&a, 43, q);
        if (o.method == T2_ADAPTER_SVF && o.parametrization == T2_SVF_LINEAR) {
            int ones = 1;
            for (int64_t i = 0; i < a.n_params; i++) ones &= p[i] == 1.0f && q[i] == 1.0f;
            CHECK(ones, "%s: initial parameters not all 1", label);
        } else {
            CHECK(memcmp(p, q, (size_t)a.n_params * sizeof(float)) != 0,
                  "%s: seeds 42 and 43 gave the same parameters", label);
        }
        if (o.method == T2_ADAPTER_SVF && o.parametrization == T2_SVF_SIGMOID) {
            double sum = 0.0, sum_sq = 0.0;
            for (int64_t i = 0; i < a.n_params; i++) {
                sum += p[i];
                sum_sq += ((double)p[i] - 0.1) * (p[i] - 0.1);
            }
            double mean = sum / (double)a.n_params, std = sqrt(sum_sq / (double)a.n_params);
            /* n ~ 300 draws: the mean is within 0.1 ± 4 σ/√n, the std within 20 % */
            CHECK(fabs(mean - 0.1) < 4.0 * 0.01 / sqrt((double)a.n_params) &&
                      fabs(std - 0.01) < 0.002,
                  "%s: %lld initial values, mean %.5f std %.5f; expected 0.1 and 0.01", label,
                  (long long)a.n_params, mean, std);
        }
        if (o.method == T2_ADAPTER_LORA) {
            double z_sq = 0.0;
            int64_t count = 0, nonzero_b = 0;
            for (int i = 0; i < a.n; i++) {
                const t2_adapter_target *t = &a.targets[i];
                const float *pa = p + t->offset, *pb = pa + t->rank * t->cols;
                for (int64_t j = 0; j < t->rank * t->cols; j++, count++)
                    z_sq += (double)pa[j] * pa[j] * (double)t->cols;
                for (int64_t j = 0; j < t->rank * t->rows; j++) nonzero_b += pb[j] != 0.0f;
            }
            double std = sqrt(z_sq / (double)count);
            CHECK(fabs(std - 1.0) < 0.1 && nonzero_b == 0,
                  "%s: A * sqrt(cols) has std %.4f over %lld values (expected 1), %lld nonzero "
                  "values in B (expected 0)", label, std, (long long)count,
                  (long long)nonzero_b);
        }
        t2_free(p);
        t2_free(q);
        t2_adapter_free(&a);
    }
}

/* compose on all but the first two targets, against double loops; the other matrices keep
 * the base values. */
static void check_compose(const t2_adapter_fixture *f) {
    const char *const *names = t2_adapter_fixture_names(f);
    for (int c = 0; c < N_CONFIGS; c++) {
        const char *label;
        t2_adapter_options o = config(c, &label);
        t2_adapter a;
        init_or_fail(&a, &o, f, names + 2, f->store.n - 2);
        float *params = t2_alloc((size_t)a.n_params * sizeof(float));
        t2_adapter_fixture_params(&a, 7 + (uint64_t)c, params);
        t2_model_weights out;
        t2_model_weights_init(&out, &f->cfg);
        memcpy(out.slab, f->w.slab, (size_t)f->w.slab_floats * sizeof(float));
        float *want = t2_alloc((size_t)f->w.slab_floats * sizeof(float));
        memcpy(want, f->w.slab, (size_t)f->w.slab_floats * sizeof(float));
        t2_adapter_compose(&a, params, &out);
        double worst = 0.0;
        for (int i = 0; i < a.n; i++) {
            const t2_adapter_target *t = &a.targets[i];
            int64_t size = t->rows * t->cols;
            double *pd = t2_alloc((size_t)t->n_params * sizeof(double));
            double *wd = t2_alloc((size_t)size * sizeof(double));
            for (int64_t j = 0; j < t->n_params; j++) pd[j] = params[t->offset + j];
            t2_adapter_fixture_compose(&a, t, pd, wd);
            float *got = t2_adapter_fixture_weight(&out, t->layer, t->kind);
            float *slot = want + (t2_adapter_fixture_weight(&f->w, t->layer, t->kind) - f->w.slab);
            double scale = max_abs_double(wd, size), err = 0.0;
            for (int64_t j = 0; j < size; j++) {
                err = fmax(err, fabs(got[j] - wd[j]) / scale);
                slot[j] = (float)wd[j];
            }
            CHECK(err <= 1e-5, "%s: %s composed vs double loops: max error %.3g of max |W'| %.3g",
                  label, t->name, err, scale);
            worst = fmax(worst, err);
            t2_free(pd);
            t2_free(wd);
        }
        char what[96];
        snprintf(what, sizeof what, "%s: every tensor after compose", label);
        t2_check_close(what, out.slab, want, f->w.slab_floats, 1e-5, 1e-5);
        /* compose overwrites: a second time gives the same */
        float *first = t2_alloc((size_t)out.slab_floats * sizeof(float));
        memcpy(first, out.slab, (size_t)out.slab_floats * sizeof(float));
        t2_adapter_compose(&a, params, &out);
        CHECK(memcmp(first, out.slab, (size_t)out.slab_floats * sizeof(float)) == 0,
              "%s: composing twice changed the weights", label);
        fprintf(stderr, "compose %-19s vs double loops: worst relative error %.3g\n", label,
                worst);
        t2_free(first);
        t2_free(want);
        t2_model_weights_free(&out);
        t2_free(params);
        t2_adapter_free(&a);
    }
}

/* m = 1 and c = 1 (linear z = 1; sigmoid p = 0 with max_mult 2) give back W; so do lora's
 * initial parameters (B = 0), exactly. */
static void check_identity(const t2_adapter_fixture *f) {
    const char *const *names = t2_adapter_fixture_names(f);
    for (int c = 0; c < N_CONFIGS; c++) {
        const char *label;
        t2_adapter_options o = config(c, &label);
        t2_adapter a;
        init_or_fail(&a, &o, f, names, f->store.n);
        float *params = t2_alloc((size_t)a.n_params * sizeof(float));
        for (int64_t j = 0; j < a.n_params; j++) params[j] = c < 2 ? 0.0f : 1.0f;
        if (o.method == T2_ADAPTER_LORA) t2_adapter_init_params(&a, 1, params);
        t2_model_weights out;
        t2_model_weights_init(&out, &f->cfg);
        t2_adapter_compose(&a, params, &out);
        double worst = 0.0;
        for (int i = 0; i < a.n; i++) {
            const t2_adapter_target *t = &a.targets[i];
            const float *got = t2_adapter_fixture_weight(&out, t->layer, t->kind);
            const float *w = t2_adapter_fixture_weight(&f->w, t->layer, t->kind);
            double diff = 0.0, norm = 0.0;
            for (int64_t j = 0; j < t->rows * t->cols; j++) {
                diff += ((double)got[j] - w[j]) * ((double)got[j] - w[j]);
                norm += (double)w[j] * w[j];
            }
            double rel = sqrt(diff / norm);
            worst = fmax(worst, rel);
            double tol = o.method == T2_ADAPTER_LORA ? 0.0 : 1e-5;
            CHECK(rel <= tol, "%s: %s at the identity: |W' - W| / |W| = %.3g; expected <= %g",
                  label, t->name, rel, tol);
        }
        fprintf(stderr, "identity %-19s gives back W: worst |W' - W| / |W| %.3g\n", label, worst);
        t2_free(params);
        t2_model_weights_free(&out);
        t2_adapter_free(&a);
    }
}

/* accumulate over ROWS rows (more than one block) against explicit double loops, every target
 * adding into its own part of one accumulator that starts random; then the two halves of the
 * rows against the whole. */
static void check_accumulate(const t2_adapter_fixture *f) {
    const char *const *names = t2_adapter_fixture_names(f);
    t2_rng rng;
    t2_rng_init(&rng, 99);
    for (int c = 0; c < N_CONFIGS; c += 4) {
        const char *label;
        t2_adapter_options o = config(c, &label);
        t2_adapter a;
        init_or_fail(&a, &o, f, names, f->store.n);
        float *params = t2_alloc((size_t)a.n_params * sizeof(float));
        t2_adapter_fixture_params(&a, 5, params);
        float *start = t2_alloc((size_t)a.accum_size * sizeof(float));
        float *accum = t2_alloc((size_t)a.accum_size * sizeof(float));
        float *want = t2_alloc((size_t)a.accum_size * sizeof(float));
        float *halves = t2_alloc((size_t)a.accum_size * sizeof(float));
        random_fill(start, a.accum_size, &rng);
        memcpy(accum, start, (size_t)a.accum_size * sizeof(float));
        memcpy(halves, start, (size_t)a.accum_size * sizeof(float));
        double worst = 0.0, scale = 0.0;
        for (int i = 0; i < a.n; i++) {
            const t2_adapter_target *t = &a.targets[i];
            int64_t out = t->rows, in = t->cols, r = t->rank;
            float *x = t2_alloc((size_t)(ROWS * in) * sizeof(float));
            float *delta = t2_alloc((size_t)(ROWS * out) * sizeof(float));
            random_fill(x, ROWS * in, &rng);
            random_fill(delta, ROWS * out, &rng);
            double *g = t2_alloc_array((size_t)(out * in), sizeof(double)); /* Δᵀ X */
            for (int64_t row = 0; row < ROWS; row++)
                for (int64_t oi = 0; oi < out; oi++)
                    for (int64_t ii = 0; ii < in; ii++)
                        g[oi * in + ii] += (double)delta[row * out + oi] * x[row * in + ii];
            double *explicit = t2_alloc_array((size_t)t->accum_size, sizeof(double));
            if (o.method == T2_ADAPTER_SVF) {
                for (int64_t k = 0; k < r; k++)
                    for (int64_t oi = 0; oi < out; oi++)
                        for (int64_t ii = 0; ii < in; ii++)
                            explicit[k] += (double)t->u[oi * r + k] * g[oi * in + ii] *
                                           t->v[ii * r + k];
            } else {
                const float *pa = params + t->offset, *pb = pa + r * in;
                double lora_scale = o.lora_alpha / (double)r;
                double *da = explicit, *db = explicit + r * in;
                for (int64_t k = 0; k < r; k++)
                    for (int64_t oi = 0; oi < out; oi++)
                        for (int64_t ii = 0; ii < in; ii++) {
                            da[k * in + ii] += lora_scale * pb[oi * r + k] * g[oi * in + ii];
                            db[oi * r + k] += lora_scale * g[oi * in + ii] * pa[k * in + ii];
                        }
            }
            double target_scale = max_abs_double(explicit, t->accum_size);
            scale = fmax(scale, target_scale);
            t2_adapter_accumulate(&a, i, params, x, delta, ROWS, accum);
            for (int64_t j = 0; j < t->accum_size; j++) {
                int64_t at = t->accum_offset + j;
                want[at] = (float)(start[at] + explicit[j]);
                double diff = (double)accum[at] - start[at] - explicit[j];
                worst = fmax(worst, fabs(diff) / target_scale);
            }
            /* linearity: rows [0, SPLIT) then [SPLIT, ROWS), and an empty call */
            t2_adapter_accumulate(&a, i, params, x, delta, SPLIT, halves);
            t2_adapter_accumulate(&a, i, params, x + SPLIT * in, delta + SPLIT * out,
                                  ROWS - SPLIT, halves);
            t2_adapter_accumulate(&a, i, params, x, delta, 0, halves);
            t2_free(explicit);
            t2_free(g);
            t2_free(x);
            t2_free(delta);
        }
        char what[160];
        snprintf(what, sizeof what, "%s: accumulate of every target over %d rows vs explicit",
                 label, ROWS);
        t2_check_close(what, accum, want, a.accum_size, 1e-5 * scale, 1e-5);
        snprintf(what, sizeof what, "%s: accumulate of two halves of the rows vs all", label);
        t2_check_close(what, halves, accum, a.accum_size, 1e-5 * scale, 1e-5);
        fprintf(stderr, "accumulate %-15s vs explicit loops: worst relative error %.3g\n",
                label, worst);
        t2_free(halves);
        t2_free(want);
        t2_free(accum);
        t2_free(start);
        t2_free(params);
        t2_adapter_free(&a);
    }
}

/* t2_adapter_linear_fn over every (layer, kind) adds exactly what accumulate adds for the
 * adapted ones and nothing for the others. */
static void check_linear_fn(const t2_adapter_fixture *f) {
    const char *some[] = {"model.layers.1.mlp.down_proj.weight",
                          "model.layers.0.self_attn.v_proj.weight",
                          "model.layers.1.mlp.gate_proj.weight"};
    t2_rng rng;
    t2_rng_init(&rng, 17);
    for (int c = 0; c < N_CONFIGS; c += 4) {
        const char *label;
        t2_adapter_options o = config(c, &label);
        t2_adapter a;
        init_or_fail(&a, &o, f, some, 3);
        float *params = t2_alloc((size_t)a.n_params * sizeof(float));
        t2_adapter_fixture_params(&a, 3, params);
        float *via_fn = t2_alloc_array((size_t)a.accum_size, sizeof(float));
        float *direct = t2_alloc_array((size_t)a.accum_size, sizeof(float));
        t2_adapter_grad_ctx ctx = {&a, params, via_fn};
        const int64_t rows = 10, d = f->cfg.hidden_size, ffn = f->cfg.intermediate_size;
        const int64_t q_dim = f->cfg.num_attention_heads * f->cfg.head_dim;
        const int64_t kv_dim = f->cfg.num_key_value_heads * f->cfg.head_dim;
        const int64_t ins[T2_LINEAR_COUNT] = {d, d, d, q_dim, d, d, ffn};
        const int64_t outs[T2_LINEAR_COUNT] = {q_dim, kv_dim, kv_dim, d, ffn, ffn, d};
        for (int64_t l = f->cfg.num_hidden_layers - 1; l >= 0; l--) {
            for (int k = 0; k < T2_LINEAR_COUNT; k++) {
                float *x = t2_alloc((size_t)(rows * ins[k]) * sizeof(float));
                float *delta = t2_alloc((size_t)(rows * outs[k]) * sizeof(float));
                random_fill(x, rows * ins[k], &rng);
                random_fill(delta, rows * outs[k], &rng);
                t2_adapter_linear_fn(&ctx, l, (t2_linear_kind)k, x, delta, rows, ins[k], outs[k]);
                int target = t2_adapter_find(&a, l, (t2_linear_kind)k);
                if (target >= 0) t2_adapter_accumulate(&a, target, params, x, delta, rows, direct);
                t2_free(x);
                t2_free(delta);
            }
        }
        CHECK(memcmp(via_fn, direct, (size_t)a.accum_size * sizeof(float)) == 0,
              "%s: the callback's accumulator differs from accumulate's", label);
        int64_t zeros = 0;
        for (int64_t j = 0; j < a.accum_size; j++) zeros += via_fn[j] == 0.0f;
        CHECK(zeros < a.accum_size / 10, "%s: %lld of %lld accumulator values still zero", label,
              (long long)zeros, (long long)a.accum_size);
        t2_free(via_fn);
        t2_free(direct);
        t2_free(params);
        t2_adapter_free(&a);
    }
}

/* For a fixed h, L(p) = Σ_i h_i e_i(p) has ∂L/∂p = t2_adapter_gradient(p, h): checked by
 * central differences in double on every parameter (svf); lora's gradient is its
 * accumulator. */
static void check_gradient_chain(const t2_adapter_fixture *f) {
    const char *const *names = t2_adapter_fixture_names(f);
    t2_rng rng;
    t2_rng_init(&rng, 23);
    for (int c = 0; c < N_CONFIGS; c++) {
        const char *label;
        t2_adapter_options o = config(c, &label);
        t2_adapter a;
        init_or_fail(&a, &o, f, names, f->store.n);
        float *params = t2_alloc((size_t)a.n_params * sizeof(float));
        float *h = t2_alloc((size_t)a.accum_size * sizeof(float));
        float *grad = t2_alloc((size_t)a.n_params * sizeof(float));
        t2_adapter_fixture_params(&a, 11 + (uint64_t)c, params);
        random_fill(h, a.accum_size, &rng);
        t2_adapter_gradient(&a, params, h, grad);
        if (o.method == T2_ADAPTER_LORA) {
            CHECK(memcmp(grad, h, (size_t)a.n_params * sizeof(float)) == 0,
                  "%s: the gradient is not the accumulator", label);
        } else {
            double worst = 0.0;
            for (int i = 0; i < a.n; i++) {
                const t2_adapter_target *t = &a.targets[i];
                int64_t r = t->rank;
                double *p = t2_alloc((size_t)r * sizeof(double));
                double *e = t2_alloc((size_t)r * sizeof(double));
                double *fd = t2_alloc((size_t)r * sizeof(double));
                for (int64_t j = 0; j < r; j++) p[j] = params[t->offset + j];
                const double step = 1e-5;
                for (int64_t j = 0; j < r; j++) {
                    double keep = p[j], up = 0.0, down = 0.0;
                    p[j] = keep + step;
                    t2_adapter_fixture_effective(&a, t, p, e);
                    for (int64_t k = 0; k < r; k++) up += h[t->accum_offset + k] * e[k];
                    p[j] = keep - step;
                    t2_adapter_fixture_effective(&a, t, p, e);
                    for (int64_t k = 0; k < r; k++) down += h[t->accum_offset + k] * e[k];
                    p[j] = keep;
                    fd[j] = (up - down) / (2.0 * step);
                }
                double scale = max_abs_double(fd, r), err = 0.0;
                for (int64_t j = 0; j < r; j++)
                    err = fmax(err, fabs(grad[t->offset + j] - fd[j]) / scale);
                CHECK(err <= 1e-5, "%s: %s gradient chain vs finite differences: max error "
                      "%.3g of max |∂L/∂p| %.3g", label, t->name, err, scale);
                worst = fmax(worst, err);
                t2_free(p);
                t2_free(e);
                t2_free(fd);
            }
            fprintf(stderr, "gradient chain %-19s vs finite differences: worst %.3g\n", label,
                    worst);
        }
        t2_free(params);
        t2_free(h);
        t2_free(grad);
        t2_adapter_free(&a);
    }
}

int main(void) {
    t2_blis_setup(1, 1);
    check_names();
    t2_adapter_fixture all, mlp, wide;
    t2_adapter_fixture_init(&all, 0, 0, T2_TARGET_SET_ALL);
    t2_adapter_fixture_init(&mlp, 0, 0, T2_TARGET_SET_MLP);
    /* ffn 300: gate and up have 300 rows, so compose works through two blocks of U's rows */
    t2_adapter_fixture_init(&wide, 4, 300, T2_TARGET_SET_ALL);
    check_init_errors(&all, &mlp);
    check_layout(&all);
    check_init_params(&all);
    check_compose(&all);
    check_compose(&wide);
    check_identity(&all);
    check_identity(&wide);
    check_accumulate(&wide);
    check_linear_fn(&all);
    check_gradient_chain(&all);
    t2_adapter_fixture_free(&wide);
    t2_adapter_fixture_free(&mlp);
    t2_adapter_fixture_free(&all);
    return t2_check_exit_code();
}

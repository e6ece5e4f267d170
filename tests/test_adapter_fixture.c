/* The adapter tests' model, store and double reference (test_adapter_fixture.h). The store
 * is written through model/decomposition_store.h's writer like `t2 decompose` on one process;
 * the reference follows DESIGN.md's formulas term by term, independently of model/adapter*.c. */
#include "test_adapter_fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/svd.h"
#include "test_train_reference.h"
#include "model/model_dir.h"

static void fail(const char *what, const t2_error *err) {
    fprintf(stderr, "adapter fixture: %s: %s\n", what, err->msg);
    exit(1);
}

/* Decomposes every target of list (in double) into a store at f->store_path. */
static void write_store(t2_adapter_fixture *f, const t2_target_list *list) {
    t2_error err = {{0}};
    uint64_t *hashes = t2_alloc_array((size_t)list->n, sizeof *hashes);
    for (int i = 0; i < list->n; i++)
        hashes[i] = t2_decomposition_tensor_hash(list->items[i].tensor);
    uint64_t source = t2_decomposition_source_fingerprint(list, hashes);
    t2_decomposition_layout layout;
    t2_decomposition_layout_init(&layout, list, source, "precision=double", f->model_path);
    char *temp = t2_decomposition_temp_path(f->store_path, (long)getpid());
    t2_decomposition_writer writer;
    if (t2_decomposition_writer_create(&writer, f->store_path, temp, &layout, &err) != 0)
        fail("store", &err);
    for (int i = 0; i < list->n; i++) {
        const t2_decomposition_slot *slot = &layout.slots[i];
        int64_t rows = slot->rows, cols = slot->cols, r = slot->rank;
        float *wf = t2_alloc((size_t)(rows * cols) * sizeof(float));
        double *wd = t2_alloc((size_t)(rows * cols) * sizeof(double));
        double *ud = t2_alloc((size_t)(rows * r) * sizeof(double));
        double *sd = t2_alloc((size_t)r * sizeof(double));
        double *vd = t2_alloc((size_t)(cols * r) * sizeof(double));
        float *uf = t2_alloc((size_t)(rows * r) * sizeof(float));
        float *sf = t2_alloc((size_t)r * sizeof(float));
        float *vf = t2_alloc((size_t)(cols * r) * sizeof(float));
        if (t2_safetensors_read_f32(list->items[i].tensor, 0, rows * cols, wf, &err) != 0)
            fail(list->items[i].name, &err);
        for (int64_t j = 0; j < rows * cols; j++) wd[j] = wf[j];
        if (t2_svd_lapack(T2_PRECISION_DOUBLE, ud, sd, vd, wd, rows, cols, &err) != 0)
            fail(list->items[i].name, &err);
        for (int64_t j = 0; j < rows * r; j++) uf[j] = (float)ud[j];
        for (int64_t j = 0; j < r; j++) sf[j] = (float)sd[j];
        for (int64_t j = 0; j < cols * r; j++) vf[j] = (float)vd[j];
        if (t2_decomposition_writer_put(&writer, slot->u_offset, uf, rows * r, &err) != 0 ||
            t2_decomposition_writer_put(&writer, slot->s_offset, sf, r, &err) != 0 ||
            t2_decomposition_writer_put(&writer, slot->v_offset, vf, cols * r, &err) != 0)
            fail("store", &err);
        t2_free(wf);
        t2_free(wd);
        t2_free(ud);
        t2_free(sd);
        t2_free(vd);
        t2_free(uf);
        t2_free(sf);
        t2_free(vf);
    }
    if (t2_decomposition_writer_close(&writer, &err) != 0 ||
        t2_decomposition_writer_commit(&writer, &err) != 0)
        fail("store", &err);
    t2_decomposition_writer_free(&writer);
    t2_free(temp);
    t2_decomposition_layout_free(&layout);
    t2_free(hashes);
}

void t2_adapter_fixture_init(t2_adapter_fixture *f, int variant, int64_t ffn, t2_target_set set) {
    memset(f, 0, sizeof *f);
    t2_train_ref_model(&f->cfg, &f->w, variant);
    if (ffn > 0) {
        f->cfg.intermediate_size = ffn;
        t2_model_weights_free(&f->w);
        t2_model_weights_init(&f->w, &f->cfg);
        t2_model_weights_init_random(&f->w, &f->cfg, 700 + (uint64_t)variant, 0.3f);
    }
    f->dir = t2_check_temp_dir("adapter");
    f->model_path = t2_model_dir_path(f->dir, "model.safetensors");
    f->store_path = t2_model_dir_path(f->dir, "model.store");
    t2_error err = {{0}};
    t2_safetensors_writer writer;
    t2_safetensors_writer_init(&writer);
    t2_model_weights_add_to_writer(&f->w, &f->cfg, &writer, T2_DTYPE_F32);
    if (t2_safetensors_writer_write(&writer, f->model_path, &err) != 0) fail("model", &err);
    t2_safetensors_writer_free(&writer);

    t2_safetensors st;
    if (t2_safetensors_open(&st, f->model_path, &err) != 0) fail("model", &err);
    t2_target_list list = {0};
    t2_target_selector selector = {set, NULL, NULL};
    if (t2_targets_select(&list, &st, f->model_path, &selector, &err) != 0) fail("targets", &err);
    write_store(f, &list);
    t2_target_list_free(&list);
    t2_safetensors_close(&st);
    if (t2_decomposition_store_open(&f->store, f->store_path, &err) != 0) fail("store", &err);
}

void t2_adapter_fixture_free(t2_adapter_fixture *f) {
    t2_decomposition_store_close(&f->store);
    t2_model_weights_free(&f->w);
    if (f->dir != NULL) {
        unlink(f->model_path);
        unlink(f->store_path);
        rmdir(f->dir);
    }
    t2_free(f->model_path);
    t2_free(f->store_path);
    t2_free(f->dir);
    memset(f, 0, sizeof *f);
}

const char *const *t2_adapter_fixture_names(const t2_adapter_fixture *f) {
    return (const char *const *)f->store.names;
}

float *t2_adapter_fixture_weight(const t2_model_weights *w, int64_t layer, t2_linear_kind kind) {
    t2_layer_weights *lw = &w->layers[layer];
    switch (kind) {
    case T2_LINEAR_Q: return lw->wq.f32;
    case T2_LINEAR_K: return lw->wk.f32;
    case T2_LINEAR_V: return lw->wv.f32;
    case T2_LINEAR_O: return lw->wo.f32;
    case T2_LINEAR_GATE: return lw->w_gate.f32;
    case T2_LINEAR_UP: return lw->w_up.f32;
    case T2_LINEAR_DOWN: return lw->w_down.f32;
    default: break;
    }
    fprintf(stderr, "adapter fixture: no linear kind %d\n", (int)kind);
    exit(1);
}

void t2_adapter_fixture_params(const t2_adapter *a, uint64_t seed, float *params) {
    t2_adapter_init_params(a, seed, params);
    t2_rng rng;
    t2_rng_init(&rng, seed + 1000);
    for (int i = 0; i < a->n; i++) {
        const t2_adapter_target *t = &a->targets[i];
        float *p = params + t->offset;
        if (a->options.method == T2_ADAPTER_LORA) {
            float *b = p + t->rank * t->cols;
            for (int64_t j = 0; j < t->rows * t->rank; j++) b[j] = 0.1f * t2_rng_normal(&rng);
        } else {
            float std = a->options.parametrization == T2_SVF_SIGMOID ? 0.5f : 0.3f;
            for (int64_t j = 0; j < t->rank; j++) p[j] += std * t2_rng_normal(&rng);
        }
    }
}

void t2_adapter_fixture_effective(const t2_adapter *a, const t2_adapter_target *t,
                                  const double *p, double *e) {
    const t2_adapter_options *o = &a->options;
    double sum_s = 0.0, sum_sm = 0.0;
    for (int64_t i = 0; i < t->rank; i++) {
        e[i] = o->parametrization == T2_SVF_SIGMOID ? o->max_mult / (1.0 + exp(-p[i])) : p[i];
        sum_s += t->s[i];
        sum_sm += t->s[i] * e[i];
    }
    double c = o->renormalize ? sum_s / sum_sm : 1.0;
    for (int64_t i = 0; i < t->rank; i++) e[i] *= c * t->s[i];
}

void t2_adapter_fixture_compose(const t2_adapter *a, const t2_adapter_target *t,
                                const double *p, double *w) {
    int64_t rows = t->rows, cols = t->cols, r = t->rank;
    if (a->options.method == T2_ADAPTER_LORA) {
        const double *la = p, *lb = p + r * cols;
        double scale = a->options.lora_alpha / (double)r;
        for (int64_t o = 0; o < rows; o++) {
            for (int64_t i = 0; i < cols; i++) {
                double sum = 0.0;
                for (int64_t k = 0; k < r; k++) sum += lb[o * r + k] * la[k * cols + i];
                w[o * cols + i] = t->base.f32[o * cols + i] + scale * sum;
            }
        }
        return;
    }
    double *e = t2_alloc((size_t)r * sizeof(double));
    t2_adapter_fixture_effective(a, t, p, e);
    for (int64_t o = 0; o < rows; o++) {
        for (int64_t i = 0; i < cols; i++) {
            double sum = 0.0;
            for (int64_t k = 0; k < r; k++) sum += (double)t->u[o * r + k] * e[k] * t->v[i * r + k];
            w[o * cols + i] = sum;
        }
    }
    t2_free(e);
}

/* Test experts built field by field (tests/bundle_fixture.h). */
#include "bundle_fixture.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

void t2_bundle_fixture_expert(t2_expert *e, const char *name, const char *fingerprint,
                              const t2_adapter_options *o, const char *task, int n,
                              const char *const *tensors, const int64_t *rows,
                              const int64_t *cols, const float *values) {
    memset(e, 0, sizeof *e);
    e->name = t2_strdup(name);
    e->task = t2_strdup(task);
    e->options = *o;
    snprintf(e->model_fingerprint, sizeof e->model_fingerprint, "%s", fingerprint);
    e->n = n;
    e->tensors = t2_alloc_array((size_t)n, sizeof *e->tensors);
    e->rows = t2_alloc_array((size_t)n, sizeof *e->rows);
    e->cols = t2_alloc_array((size_t)n, sizeof *e->cols);
    e->offsets = t2_alloc_array((size_t)n, sizeof *e->offsets);
    e->lengths = t2_alloc_array((size_t)n, sizeof *e->lengths);
    for (int i = 0; i < n; i++) {
        e->tensors[i] = t2_strdup(tensors[i]);
        e->rows[i] = rows[i];
        e->cols[i] = cols[i];
        int64_t r = rows[i] < cols[i] ? rows[i] : cols[i];
        e->lengths[i] = o->method == T2_ADAPTER_LORA ? o->lora_rank * (rows[i] + cols[i]) : r;
        e->offsets[i] = e->n_params;
        e->n_params += e->lengths[i];
    }
    e->params = t2_alloc_array((size_t)e->n_params, sizeof *e->params);
    memcpy(e->params, values, (size_t)e->n_params * sizeof *e->params);
    e->config = t2_strdup("task = \"math\";\nsteps = 40;\n");
    e->summary = (t2_expert_summary){.steps = 40, .best_step = 30, .best_val_accuracy = 0.75,
                                     .val_samples = 200, .wall_seconds = 12.5,
                                     .tokens = 123456, .ranks = 3};
}

void t2_bundle_fixture_svf(t2_expert *e, const char *name, const char *fingerprint,
                           const float values[T2_BUNDLE_FIXTURE_SVF_PARAMS]) {
    static const char *const tensors[2] = {"model.layers.0.mlp.up_proj.weight",
                                           "model.layers.1.mlp.down_proj.weight"};
    static const int64_t rows[2] = {4, 6}, cols[2] = {6, 3};
    const t2_adapter_options svf = {.method = T2_ADAPTER_SVF,
                                    .parametrization = T2_SVF_SIGMOID, .max_mult = 2,
                                    .renormalize = 1};
    t2_bundle_fixture_expert(e, name, fingerprint, &svf, name, 2, tensors, rows, cols, values);
}

char *t2_bundle_fixture_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = t2_alloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

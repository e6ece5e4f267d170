/* The serve engine's test inputs (serve_inputs.h). */
#include "serve_inputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "bundle_fixture.h"
#include "check.h"
#include "linalg/svd.h"
#include "model/fingerprint.h"
#include "model/model_dir.h"
#include "model/targets.h"
#include "rl/bundle.h"

enum { N_EXPERTS = 3 };
static const char *const expert_names[N_EXPERTS + 1] = {"math", "code", "reasoning", "cls"};

static int fail_err(const char *what, const t2_error *err) {
    CHECK(0, "%s: %s", what, err->msg);
    return -1;
}

/* One target's factors into the writer. */
static int decompose_one(const t2_target *t, const t2_decomposition_slot *slot,
                         t2_decomposition_writer *w) {
    t2_error err = {{0}};
    int64_t rows = slot->rows, cols = slot->cols, r = slot->rank, n = rows * cols;
    int64_t factors = rows * r + r + cols * r; /* u | s | v */
    float *wf = t2_alloc((size_t)(n + factors) * sizeof(float)), *uf = wf + n;
    double *wd = t2_alloc((size_t)(n + factors) * sizeof(double)), *ud = wd + n;
    int status = t2_safetensors_read_f32(t->tensor, 0, n, wf, &err);
    for (int64_t j = 0; j < n; j++) wd[j] = wf[j];
    if (status == 0)
        status = t2_svd_lapack(T2_PRECISION_DOUBLE, ud, ud + rows * r, ud + rows * r + r, wd,
                               rows, cols, &err);
    for (int64_t j = 0; j < factors; j++) uf[j] = (float)ud[j];
    if (status == 0) status = t2_decomposition_writer_put(w, slot->u_offset, uf, rows * r, &err);
    if (status == 0)
        status = t2_decomposition_writer_put(w, slot->s_offset, uf + rows * r, r, &err);
    if (status == 0)
        status = t2_decomposition_writer_put(w, slot->v_offset, uf + rows * r + r, cols * r,
                                             &err);
    if (status != 0) fail_err(t->name, &err);
    t2_free(wf);
    t2_free(wd);
    return status;
}

static int write_store(const t2_target_list *list, const char *model, const char *path) {
    t2_error err = {{0}};
    uint64_t *hashes = t2_alloc_array((size_t)list->n, sizeof *hashes);
    for (int i = 0; i < list->n; i++)
        hashes[i] = t2_decomposition_tensor_hash(list->items[i].tensor);
    t2_decomposition_layout layout;
    t2_decomposition_layout_init(&layout, list, t2_decomposition_source_fingerprint(list, hashes),
                                 "precision=double", model);
    char *temp = t2_decomposition_temp_path(path, (long)getpid());
    t2_decomposition_writer w;
    int status = t2_decomposition_writer_create(&w, path, temp, &layout, &err);
    if (status != 0) fail_err(path, &err);
    for (int i = 0; status == 0 && i < list->n; i++)
        status = decompose_one(&list->items[i], &layout.slots[i], &w);
    if (status == 0 && (t2_decomposition_writer_close(&w, &err) != 0 ||
                        t2_decomposition_writer_commit(&w, &err) != 0))
        status = fail_err(path, &err);
    if (status == 0) t2_decomposition_writer_free(&w);
    else if (layout.n > 0) t2_decomposition_writer_discard(&w);
    t2_free(temp);
    t2_decomposition_layout_free(&layout);
    t2_free(hashes);
    return status;
}

/* Random svf experts (sigmoid, max_mult 2, renormalize; parameters N(0, 0.5²), masks around
 * 1) over every target, the last one the classifier; the bundle written to path. */
static int write_bundle(const t2_target_list *list, const char *fp, const char *path) {
    const t2_adapter_options svf = {.method = T2_ADAPTER_SVF, .parametrization = T2_SVF_SIGMOID,
                                    .max_mult = 2, .renormalize = 1};
    int n = list->n;
    const char **tensors = t2_alloc_array((size_t)n, sizeof *tensors);
    int64_t *rows = t2_alloc_array((size_t)n, sizeof *rows);
    int64_t *cols = t2_alloc_array((size_t)n, sizeof *cols);
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        tensors[i] = list->items[i].name;
        rows[i] = list->items[i].rows;
        cols[i] = list->items[i].cols;
        total += rows[i] < cols[i] ? rows[i] : cols[i];
    }
    float *values = t2_alloc_array((size_t)total, sizeof *values);
    t2_expert e[N_EXPERTS + 1];
    for (int k = 0; k <= N_EXPERTS; k++) {
        t2_rng rng;
        t2_rng_init(&rng, 500 + (uint64_t)k);
        for (int64_t i = 0; i < total; i++) values[i] = 0.5f * t2_rng_normal(&rng);
        t2_bundle_fixture_expert(&e[k], expert_names[k], fp, &svf, expert_names[k], n, tensors,
                                 rows, cols, values);
    }
    t2_bundle b;
    t2_error err = {{0}};
    const char *const paths[N_EXPERTS + 1] = {"math", "code", "reasoning", "cls"};
    int status = t2_bundle_create(&b, e, N_EXPERTS, &e[N_EXPERTS], paths, &err);
    if (status == 0) status = t2_bundle_write(&b, path, &err);
    if (status != 0) fail_err(path, &err);
    t2_bundle_free(&b);
    for (int k = 0; k <= N_EXPERTS; k++) t2_expert_free(&e[k]);
    t2_free(values);
    t2_free(tensors);
    t2_free(rows);
    t2_free(cols);
    return status;
}

/* dir/model.svd and dir/experts.t2b for the model at model. */
int t2_serve_inputs_make(const char *model, const char *dir, char **store, char **bundle) {
    mkdir(dir, 0755);
    *store = t2_bundle_fixture_path(dir, "model.svd");
    *bundle = t2_bundle_fixture_path(dir, "experts.t2b");
    t2_error err = {{0}};
    char fp[T2_FINGERPRINT_CHARS];
    t2_safetensors st = {0};
    t2_target_list list = {0};
    const t2_target_selector mlp = {.set = T2_TARGET_SET_MLP};
    int status = t2_model_fingerprint_dir(model, fp, &err);
    if (status == 0) status = t2_safetensors_open(&st, model, &err);
    if (status == 0) status = t2_targets_select(&list, &st, model, &mlp, &err);
    if (status != 0) fail_err(model, &err);
    if (status == 0) status = write_store(&list, model, *store);
    if (status == 0) status = write_bundle(&list, fp, *bundle);
    t2_target_list_free(&list);
    t2_safetensors_close(&st);
    return status;
}

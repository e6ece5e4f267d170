/* Pretraining checkpoints in safetensors (see checkpoint.h). The moments share the model's
 * layout, so they are written and read through the same per-tensor visit with a prefix. */
#include "rl/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "model/safetensors.h"

typedef struct prefixed_writer {
    t2_safetensors_writer *writer;
    const char *prefix;
    char **names; /* names kept alive until the write */
    int n_names;
} prefixed_writer;

static void add_prefixed(void *ctx, const char *name, int n_dims, const int64_t *shape,
                         float *data) {
    prefixed_writer *pw = ctx;
    size_t n = strlen(pw->prefix) + strlen(name) + 1;
    char *full = t2_alloc(n);
    snprintf(full, n, "%s%s", pw->prefix, name);
    t2_safetensors_writer_add(pw->writer, full, T2_DTYPE_F32, n_dims, shape, data);
    pw->names = t2_realloc(pw->names, sizeof *pw->names * (size_t)(pw->n_names + 1));
    pw->names[pw->n_names++] = full;
}

int t2_checkpoint_write(const char *path, const t2_model_config *cfg,
                        const t2_model_weights *weights, const t2_model_weights *adam_m,
                        const t2_model_weights *adam_v, int64_t step, const char *run,
                        t2_error *err) {
    t2_safetensors_writer writer;
    t2_safetensors_writer_init(&writer);
    prefixed_writer pw = {.writer = &writer};
    const t2_model_weights *parts[3] = {weights, adam_m, adam_v};
    const char *prefixes[3] = {"", "adam_m.", "adam_v."};
    for (int i = 0; i < 3; i++) {
        pw.prefix = prefixes[i];
        t2_model_weights_visit(parts[i], cfg, add_prefixed, &pw);
    }
    char step_text[32];
    snprintf(step_text, sizeof step_text, "%lld", (long long)step);
    t2_safetensors_writer_add_metadata(&writer, "t2_checkpoint", "pretrain");
    t2_safetensors_writer_add_metadata(&writer, "step", step_text);
    t2_safetensors_writer_add_metadata(&writer, "run", run);
    int status = t2_safetensors_writer_write(&writer, path, err);
    t2_safetensors_writer_free(&writer);
    for (int i = 0; i < pw.n_names; i++) t2_free(pw.names[i]);
    t2_free(pw.names);
    return status;
}

typedef struct prefixed_reader {
    const t2_safetensors *st;
    const char *path;
    const char *prefix;
    t2_error *err;
    int status;
} prefixed_reader;

static void read_prefixed(void *ctx, const char *name, int n_dims, const int64_t *shape,
                          float *data) {
    prefixed_reader *pr = ctx;
    if (pr->status != 0) return;
    char full[512];
    snprintf(full, sizeof full, "%s%s", pr->prefix, name);
    const t2_tensor_info *t = t2_safetensors_find(pr->st, full);
    int64_t count = 1;
    for (int d = 0; d < n_dims; d++) count *= shape[d];
    if (t == NULL || t->n_elements != count || t->dtype != T2_DTYPE_F32) {
        pr->status = t2_error_set(pr->err, "%s: tensor '%s' is missing or misshapen; expected "
                                  "F32 with %lld elements", pr->path, full, (long long)count);
        return;
    }
    pr->status = t2_safetensors_read_f32(t, 0, count, data, pr->err);
}

int t2_checkpoint_read(const char *path, const t2_model_config *cfg, t2_model_weights *weights,
                       t2_model_weights *adam_m, t2_model_weights *adam_v, int64_t *step,
                       const char *run, t2_error *err) {
    t2_safetensors st;
    if (t2_safetensors_open(&st, path, err) != 0) {
        t2_safetensors_close(&st);
        return -1;
    }
    int status = 0;
    const char *kind = t2_safetensors_metadata(&st, "t2_checkpoint");
    const char *saved_run = t2_safetensors_metadata(&st, "run");
    const char *step_text = t2_safetensors_metadata(&st, "step");
    if (kind == NULL || strcmp(kind, "pretrain") != 0 || step_text == NULL || saved_run == NULL) {
        status = t2_error_set(err, "%s: not a t2 pretraining checkpoint; expected metadata "
                              "t2_checkpoint, step and run", path);
    } else if (strcmp(saved_run, run) != 0) {
        status = t2_error_set(err, "%s: checkpoint belongs to another run (%s); expected %s",
                              path, saved_run, run);
    } else {
        char *end = NULL;
        errno = 0;
        *step = strtoll(step_text, &end, 10);
        if (errno != 0 || end == step_text || *end != '\0' || *step < 0)
            status = t2_error_set(err, "%s: metadata step '%s' is not a step number", path,
                                  step_text);
    }
    t2_model_weights *parts[3] = {weights, adam_m, adam_v};
    const char *prefixes[3] = {"", "adam_m.", "adam_v."};
    for (int i = 0; i < 3 && status == 0; i++) {
        prefixed_reader pr = {.st = &st, .path = path, .prefix = prefixes[i], .err = err};
        t2_model_weights_visit(parts[i], cfg, read_prefixed, &pr);
        status = pr.status;
    }
    t2_safetensors_close(&st);
    return status;
}

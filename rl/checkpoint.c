/* Pretraining checkpoints in safetensors (see checkpoint.h). The moments share the model's
 * layout, so they are written and read through the same per-tensor visit with a prefix. */
#include "rl/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "model/decomposition_store.h"
#include "model/safetensors.h"

typedef struct prefixed_writer {
    t2_safetensors_writer *writer;
    const char *prefix;
    char **names; /* names kept alive until the write */
    int n_names;
    uint64_t checksum; /* the chain so far (checkpoint.h) */
} prefixed_writer;

/* The checksum chain's start: the step and run as the metadata records them. */
static uint64_t checksum_seed(const char *step_text, const char *run) {
    size_t n = strlen(step_text) + strlen(run) + 2;
    char *text = t2_alloc(n);
    snprintf(text, n, "%s|%s", step_text, run);
    uint64_t seed = t2_decomposition_xxh64(text, n - 1, 0);
    t2_free(text);
    return seed;
}

/* One tensor's link of the chain: its full name, then its F32 bytes. */
static uint64_t checksum_link(uint64_t h, const char *name, const void *data, size_t bytes) {
    return t2_decomposition_xxh64(data, bytes, t2_decomposition_xxh64(name, strlen(name), h));
}

static void add_prefixed(void *ctx, const char *name, int n_dims, const int64_t *shape,
                         float *data) {
    prefixed_writer *pw = ctx;
    size_t n = strlen(pw->prefix) + strlen(name) + 1;
    char *full = t2_alloc(n);
    snprintf(full, n, "%s%s", pw->prefix, name);
    t2_safetensors_writer_add(pw->writer, full, T2_DTYPE_F32, n_dims, shape, data);
    int64_t count = 1;
    for (int d = 0; d < n_dims; d++) count *= shape[d];
    pw->checksum = checksum_link(pw->checksum, full, data, (size_t)count * sizeof *data);
    pw->names = t2_realloc(pw->names, sizeof *pw->names * (size_t)(pw->n_names + 1));
    pw->names[pw->n_names++] = full;
}

int t2_checkpoint_write(const char *path, const t2_model_config *cfg,
                        const t2_model_weights *weights, const t2_model_weights *adam_m,
                        const t2_model_weights *adam_v, int64_t step, const char *run,
                        t2_error *err) {
    t2_safetensors_writer writer;
    t2_safetensors_writer_init(&writer);
    char step_text[32], checksum_text[T2_FINGERPRINT_CHARS];
    snprintf(step_text, sizeof step_text, "%lld", (long long)step);
    prefixed_writer pw = {.writer = &writer, .checksum = checksum_seed(step_text, run)};
    const t2_model_weights *parts[3] = {weights, adam_m, adam_v};
    const char *prefixes[3] = {"", "adam_m.", "adam_v."};
    for (int i = 0; i < 3; i++) {
        pw.prefix = prefixes[i];
        t2_model_weights_visit(parts[i], cfg, add_prefixed, &pw);
    }
    t2_fingerprint_format(pw.checksum, checksum_text);
    t2_safetensors_writer_add_metadata(&writer, "t2_checkpoint", "pretrain");
    t2_safetensors_writer_add_metadata(&writer, "step", step_text);
    t2_safetensors_writer_add_metadata(&writer, "run", run);
    t2_safetensors_writer_add_metadata(&writer, "data_xxh64", checksum_text);
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
    uint64_t checksum; /* the chain so far */
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
    pr->checksum = checksum_link(pr->checksum, full, t->data, t->n_bytes);
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
    const char *recorded = t2_safetensors_metadata(&st, "data_xxh64");
    uint64_t want = 0;
    char *end = NULL;
    if (status == 0 && recorded != NULL) {
        errno = 0;
        want = strtoull(recorded, &end, 16);
        if (strlen(recorded) != 16 || errno != 0 || *end != '\0')
            status = t2_error_set(err, "%s: metadata data_xxh64 '%s' is malformed; expected 16 "
                                  "hex digits", path, recorded);
    }
    t2_model_weights *parts[3] = {weights, adam_m, adam_v};
    const char *prefixes[3] = {"", "adam_m.", "adam_v."};
    prefixed_reader pr = {.st = &st, .path = path, .err = err,
                          .checksum = status == 0 ? checksum_seed(step_text, saved_run) : 0};
    for (int i = 0; i < 3 && status == 0; i++) {
        pr.prefix = prefixes[i];
        t2_model_weights_visit(parts[i], cfg, read_prefixed, &pr);
        status = pr.status;
    }
    if (status == 0 && recorded != NULL && pr.checksum != want) {
        char got[T2_FINGERPRINT_CHARS];
        t2_fingerprint_format(pr.checksum, got);
        status = t2_error_set(err, "%s: checksum %s of the checkpoint differs from the recorded "
                              "%s: the file is corrupt; expected the bytes t2 pretrain wrote "
                              "(remove it to start over)", path, got, recorded);
    }
    t2_safetensors_close(&st);
    return status;
}

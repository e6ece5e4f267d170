/* Expert files (rl/expert.h): building an expert from an adapter, checking it against an
 * adapter and a base model, the ExpertSet message (proto/t2.proto) in both directions with
 * every field validated on the way in, atomic file writes, and the checksum seal and checks
 * shared with rl/train_state.c and rl/bundle.c (rl/expert_impl.h). Does not compose weights
 * or train (model/adapter.h, dist/). */
#include "rl/expert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/file.h"
#include "proto/t2.pb-c.h"
#include "rl/expert_impl.h"

/* Dimensions and LoRA ranks above this are refused on reading, so that parameter counts
 * are computed without overflow (k (rows + cols) < 2^31 * 2^32). */
#define MAX_DIM INT64_C(2147483647)

/* ---- options ---- */

/* x in the fewest significant digits (up to 9) that read back as x. */
static void format_float(char *buf, size_t size, float x) {
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, size, "%.*g", digits, (double)x);
        if (strtof(buf, NULL) == x) return;
    }
}

const char *t2_expert_options_string(const t2_adapter_options *o, char *buf, size_t size) {
    char number[32];
    if (o->method == T2_ADAPTER_LORA) {
        format_float(number, sizeof number, o->lora_alpha);
        snprintf(buf, size, "rank=%lld alpha=%s", (long long)o->lora_rank, number);
    } else if (o->parametrization == T2_SVF_SIGMOID) {
        format_float(number, sizeof number, o->max_mult);
        snprintf(buf, size, "parametrization=sigmoid max_mult=%s renormalize=%s", number,
                 o->renormalize ? "true" : "false");
    } else {
        snprintf(buf, size, "parametrization=linear renormalize=%s",
                 o->renormalize ? "true" : "false");
    }
    return buf;
}

int t2_expert_options_equal(const t2_adapter_options *a, const t2_adapter_options *b) {
    if (a->method != b->method) return 0;
    if (a->method == T2_ADAPTER_LORA)
        return a->lora_rank == b->lora_rank && a->lora_alpha == b->lora_alpha;
    return a->parametrization == b->parametrization && !a->renormalize == !b->renormalize &&
           (a->parametrization != T2_SVF_SIGMOID || a->max_mult == b->max_mult);
}

/* Parameters of one rows x cols target: svf min(rows, cols), lora k (rows + cols). */
static int64_t target_params(const t2_adapter_options *o, int64_t rows, int64_t cols) {
    if (o->method == T2_ADAPTER_LORA) return o->lora_rank * (rows + cols);
    return rows < cols ? rows : cols;
}

int t2_expert_is_fingerprint(const char *s) {
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f'))) return 0;
    return n == T2_FINGERPRINT_CHARS - 1;
}

/* ---- building and checking ---- */

static void alloc_targets(t2_expert *e, int n) {
    e->n = n;
    e->tensors = t2_alloc_array((size_t)n, sizeof *e->tensors);
    e->rows = t2_alloc_array((size_t)n, sizeof *e->rows);
    e->cols = t2_alloc_array((size_t)n, sizeof *e->cols);
    e->offsets = t2_alloc_array((size_t)n, sizeof *e->offsets);
    e->lengths = t2_alloc_array((size_t)n, sizeof *e->lengths);
}

void t2_expert_from_adapter(t2_expert *e, const char *name, const char *task,
                            const t2_adapter *a, const float *params,
                            const char *model_fingerprint) {
    T2_ASSERT(a->n > 0 && t2_expert_is_fingerprint(model_fingerprint));
    memset(e, 0, sizeof *e);
    e->name = t2_strdup(name);
    e->task = t2_strdup(task != NULL ? task : "");
    e->options = a->options;
    e->options.renormalize = a->options.renormalize != 0;
    snprintf(e->model_fingerprint, sizeof e->model_fingerprint, "%s", model_fingerprint);
    alloc_targets(e, a->n);
    int64_t offset = 0;
    for (int i = 0; i < a->n; i++) {
        const t2_adapter_target *t = &a->targets[i];
        /* The file stores each target's values in order and rebuilds the offsets from the
         * lengths: the adapter's layout must be exactly that (model/adapter.h). */
        T2_ASSERT(t->offset == offset &&
                  t->n_params == target_params(&a->options, t->rows, t->cols));
        e->tensors[i] = t2_strdup(t->name);
        e->rows[i] = t->rows;
        e->cols[i] = t->cols;
        e->offsets[i] = t->offset;
        e->lengths[i] = t->n_params;
        offset += t->n_params;
    }
    T2_ASSERT(offset == a->n_params);
    e->n_params = a->n_params;
    e->params = t2_alloc_array((size_t)(e->n_params > 0 ? e->n_params : 1), sizeof *e->params);
    memcpy(e->params, params, (size_t)e->n_params * sizeof *e->params);
    e->config = t2_strdup("");
}

int t2_expert_check_adapter(const t2_expert *e, const t2_adapter *a, const char *path,
                            t2_error *err) {
    if (!t2_expert_options_equal(&e->options, &a->options)) {
        char got[160], want[160];
        return t2_error_set(err, "%s: expert is %s (%s); expected %s (%s) as the adapter", path,
                            t2_adapter_method_name(e->options.method),
                            t2_expert_options_string(&e->options, got, sizeof got),
                            t2_adapter_method_name(a->options.method),
                            t2_expert_options_string(&a->options, want, sizeof want));
    }
    if (e->n != a->n)
        return t2_error_set(err, "%s: expert has %d targets; expected %d (the adapter's)", path,
                            e->n, a->n);
    for (int i = 0; i < e->n; i++) {
        const t2_adapter_target *t = &a->targets[i];
        if (strcmp(e->tensors[i], t->name) != 0)
            return t2_error_set(err, "%s: target %d is '%s'; expected '%s' (the adapter's)",
                                path, i, e->tensors[i], t->name);
        if (e->rows[i] != t->rows || e->cols[i] != t->cols)
            return t2_error_set(err, "%s: target '%s' has shape [%lld, %lld]; expected "
                                "[%lld, %lld] (the adapter's)", path, t->name,
                                (long long)e->rows[i], (long long)e->cols[i],
                                (long long)t->rows, (long long)t->cols);
        if (e->lengths[i] != t->n_params || e->offsets[i] != t->offset)
            return t2_error_set(err, "%s: target '%s' has %lld parameters at offset %lld; "
                                "expected %lld at %lld (the adapter's)", path, t->name,
                                (long long)e->lengths[i], (long long)e->offsets[i],
                                (long long)t->n_params, (long long)t->offset);
    }
    if (e->n_params != a->n_params)
        return t2_error_set(err, "%s: expert has %lld parameters; expected %lld (the adapter's)",
                            path, (long long)e->n_params, (long long)a->n_params);
    return 0;
}

int t2_expert_check_model(const t2_expert *e, const char *fingerprint, const char *model_path,
                          const char *path, t2_error *err) {
    if (strcmp(e->model_fingerprint, fingerprint) == 0) return 0;
    return t2_error_set(err, "%s: expert made for another base model (fingerprint %s); "
                        "expected %s (%s)", path, e->model_fingerprint, fingerprint, model_path);
}

void t2_expert_free(t2_expert *e) {
    for (int i = 0; i < e->n && e->tensors != NULL; i++) t2_free(e->tensors[i]);
    t2_free(e->tensors);
    t2_free(e->rows);
    t2_free(e->cols);
    t2_free(e->offsets);
    t2_free(e->lengths);
    t2_free(e->params);
    t2_free(e->name);
    t2_free(e->task);
    t2_free(e->config);
    memset(e, 0, sizeof *e);
}

/* ---- the checksum seal (expert_impl.h) ---- */

enum { SEAL_KEY0 = 0xC1, SEAL_KEY1 = 0x3E, SEAL_BYTES = 10 }; /* key (1000 << 3) | 1 = 8001 */

void t2_expert_seal(const ProtobufCMessage *m, unsigned char **bytes, size_t *len) {
    size_t body = protobuf_c_message_get_packed_size(m);
    unsigned char *out = t2_alloc(body + SEAL_BYTES);
    size_t packed = protobuf_c_message_pack(m, out);
    T2_ASSERT(packed == body);
    uint64_t sum = t2_decomposition_xxh64(out, body, 0);
    out[body] = SEAL_KEY0;
    out[body + 1] = SEAL_KEY1;
    for (int b = 0; b < 8; b++) out[body + 2 + b] = (unsigned char)(sum >> (8 * b));
    *bytes = out;
    *len = body + SEAL_BYTES;
}

int t2_expert_check_seal(const unsigned char *bytes, size_t len, const char *source,
                         const char *what, t2_error *err) {
    if (len < SEAL_BYTES || bytes[len - SEAL_BYTES] != SEAL_KEY0 ||
        bytes[len - SEAL_BYTES + 1] != SEAL_KEY1)
        return t2_error_set(err, "%s: not a %s (%zu bytes that do not end in a checksum field: "
                            "truncated, or not written by t2); expected a protobuf message "
                            "ending in its checksum", source, what, len);
    uint64_t recorded = 0;
    for (int b = 0; b < 8; b++) recorded |= (uint64_t)bytes[len - 8 + b] << (8 * b);
    uint64_t actual = t2_decomposition_xxh64(bytes, len - SEAL_BYTES, 0);
    if (recorded != actual)
        return t2_error_set(err, "%s: not a %s (checksum %016llx of its contents differs from "
                            "the recorded %016llx: truncated or corrupt); expected the bytes "
                            "t2 wrote", source, what, (unsigned long long)actual,
                            (unsigned long long)recorded);
    return 0;
}

/* ---- ExpertSet ---- */

void t2_expert_pack(const t2_expert *e, unsigned char **bytes, size_t *len) {
    T2_ASSERT(e->n > 0);
    T2__ExpertVector *vectors = t2_alloc_array((size_t)e->n, sizeof *vectors);
    T2__ExpertVector **vector_ptrs = t2_alloc_array((size_t)e->n, sizeof *vector_ptrs);
    for (int i = 0; i < e->n; i++) {
        T2_ASSERT(e->offsets[i] >= 0 && e->offsets[i] + e->lengths[i] <= e->n_params);
        t2__expert_vector__init(&vectors[i]);
        vectors[i].tensor = e->tensors[i];
        vectors[i].rows = e->rows[i];
        vectors[i].cols = e->cols[i];
        vectors[i].n_values = (size_t)e->lengths[i];
        vectors[i].values = e->params + e->offsets[i];
        vector_ptrs[i] = &vectors[i];
    }
    T2__TrainingSummary summary = T2__TRAINING_SUMMARY__INIT;
    summary.steps = e->summary.steps;
    summary.best_step = e->summary.best_step;
    summary.best_val_accuracy = e->summary.best_val_accuracy;
    summary.val_samples = e->summary.val_samples;
    summary.wall_seconds = e->summary.wall_seconds;
    summary.tokens = e->summary.tokens;
    summary.ranks = e->summary.ranks;

    /* protobuf-c's fields are not const; packing only reads them. */
    T2__ExpertSet m = T2__EXPERT_SET__INIT;
    m.format_version = T2_EXPERT_FORMAT_VERSION;
    m.name = e->name;
    m.task = e->task != NULL ? e->task : "";
    m.model_fingerprint = (char *)e->model_fingerprint;
    m.method = (char *)t2_adapter_method_name(e->options.method);
    m.parametrization = (char *)t2_svf_parametrization_name(e->options.parametrization);
    m.max_mult = e->options.max_mult;
    m.renormalize = e->options.renormalize != 0;
    m.lora_rank = e->options.lora_rank;
    m.lora_alpha = e->options.lora_alpha;
    m.n_vectors = (size_t)e->n;
    m.vectors = vector_ptrs;
    m.config = e->config != NULL ? e->config : "";
    m.summary = &summary;
    t2_expert_seal(&m.base, bytes, len);
    t2_free(vector_ptrs);
    t2_free(vectors);
}


/* The method and its settings from m into o: 0, or -1 with err. */
static int options_from_message(t2_adapter_options *o, const T2__ExpertSet *m,
                                const char *source, t2_error *err) {
    memset(o, 0, sizeof *o);
    if (t2_adapter_method_from_name(m->method, &o->method) != 0)
        return t2_error_set(err, "%s: not a t2 expert file (method '%s'); expected svf or lora",
                            source, m->method);
    if (t2_svf_parametrization_from_name(m->parametrization, &o->parametrization) != 0)
        return t2_error_set(err, "%s: not a t2 expert file (parametrization '%s'); expected "
                            "sigmoid or linear", source, m->parametrization);
    o->max_mult = m->max_mult;
    o->renormalize = m->renormalize != 0;
    o->lora_rank = m->lora_rank;
    o->lora_alpha = m->lora_alpha;
    if (o->method == T2_ADAPTER_SVF && o->parametrization == T2_SVF_SIGMOID &&
        !(isfinite(o->max_mult) && o->max_mult > 0))
        return t2_error_set(err, "%s: not a t2 expert file (max_mult %g); expected a positive "
                            "number", source, (double)o->max_mult);
    if (o->method == T2_ADAPTER_LORA && (o->lora_rank < 1 || o->lora_rank > MAX_DIM))
        return t2_error_set(err, "%s: not a t2 expert file (lora_rank %lld); expected 1 to %lld",
                            source, (long long)o->lora_rank, (long long)MAX_DIM);
    if (o->method == T2_ADAPTER_LORA && !isfinite(o->lora_alpha))
        return t2_error_set(err, "%s: not a t2 expert file (lora_alpha %g); expected a finite "
                            "number", source, (double)o->lora_alpha);
    return 0;
}

static int summary_from_message(t2_expert_summary *s, const T2__TrainingSummary *m,
                                 const char *source, t2_error *err) {
    if (m == NULL)
        return t2_error_set(err, "%s: not a t2 expert file (no training summary); expected one",
                            source);
    *s = (t2_expert_summary){.steps = m->steps, .best_step = m->best_step,
                             .best_val_accuracy = m->best_val_accuracy,
                             .val_samples = m->val_samples, .wall_seconds = m->wall_seconds,
                             .tokens = m->tokens, .ranks = m->ranks};
    if (s->steps < 0 || s->best_step < 0 || s->best_step > s->steps || s->val_samples < 0 ||
        s->tokens < 0 || s->ranks < 0)
        return t2_error_set(err, "%s: not a t2 expert file (training summary: steps %lld, best "
                            "step %lld, %lld validation samples, %lld tokens, %lld ranks); "
                            "expected counts >= 0 and best step <= steps", source,
                            (long long)s->steps, (long long)s->best_step,
                            (long long)s->val_samples, (long long)s->tokens,
                            (long long)s->ranks);
    if (!isfinite(s->best_val_accuracy) || !isfinite(s->wall_seconds) || s->wall_seconds < 0)
        return t2_error_set(err, "%s: not a t2 expert file (training summary: validation "
                            "accuracy %g, %g seconds); expected finite numbers, seconds >= 0",
                            source, s->best_val_accuracy, s->wall_seconds);
    return 0;
}

/* Checks vector i of m against the options and the vectors before it; adds its length to
 * *total. */
static int check_vector(const T2__ExpertSet *m, size_t i, const t2_adapter_options *o,
                        int64_t *total, const char *source, t2_error *err) {
    const T2__ExpertVector *v = m->vectors[i];
    if (v->tensor[0] == '\0')
        return t2_error_set(err, "%s: not a t2 expert file (vector %zu has no tensor name); "
                            "expected a Hugging Face tensor name", source, i);
    for (size_t j = 0; j < i; j++)
        if (strcmp(m->vectors[j]->tensor, v->tensor) == 0)
            return t2_error_set(err, "%s: not a t2 expert file (tensor '%s' appears twice, "
                                "vectors %zu and %zu); expected each target once", source,
                                v->tensor, j, i);
    if (v->rows < 1 || v->rows > MAX_DIM || v->cols < 1 || v->cols > MAX_DIM)
        return t2_error_set(err, "%s: not a t2 expert file (tensor '%s' has shape [%lld, "
                            "%lld]); expected rows and cols from 1 to %lld", source, v->tensor,
                            (long long)v->rows, (long long)v->cols, (long long)MAX_DIM);
    int64_t want = target_params(o, v->rows, v->cols);
    if ((uint64_t)want != (uint64_t)v->n_values)
        return t2_error_set(err, "%s: not a t2 expert file (tensor '%s' of shape [%lld, %lld] "
                            "has %zu values); expected %lld (%s)", source, v->tensor,
                            (long long)v->rows, (long long)v->cols, v->n_values,
                            (long long)want,
                            o->method == T2_ADAPTER_LORA ? "lora: rank (rows + cols)"
                                                         : "svf: min(rows, cols)");
    *total += want;
    return 0;
}

/* Validates m and fills e (zeroed by the caller; freed by the caller on failure). */
static int expert_from_message(t2_expert *e, const T2__ExpertSet *m, const char *source,
                               t2_error *err) {
    if (m->format_version != T2_EXPERT_FORMAT_VERSION)
        return t2_error_set(err, "%s: not a t2 expert file (format_version %u); expected %d",
                            source, m->format_version, T2_EXPERT_FORMAT_VERSION);
    if (!t2_expert_is_fingerprint(m->model_fingerprint))
        return t2_error_set(err, "%s: not a t2 expert file (model_fingerprint '%.40s'); "
                            "expected 16 lower-case hex digits", source, m->model_fingerprint);
    t2_adapter_options options;
    if (options_from_message(&options, m, source, err) != 0) return -1;
    if (m->n_vectors < 1 || m->n_vectors > (size_t)1 << 20)
        return t2_error_set(err, "%s: not a t2 expert file (%zu vectors); expected 1 to %d",
                            source, m->n_vectors, 1 << 20);
    int64_t total = 0;
    for (size_t i = 0; i < m->n_vectors; i++)
        if (check_vector(m, i, &options, &total, source, err) != 0) return -1;
    t2_expert_summary summary;
    if (summary_from_message(&summary, m->summary, source, err) != 0) return -1;

    e->name = t2_strdup(m->name);
    e->task = t2_strdup(m->task);
    e->options = options;
    snprintf(e->model_fingerprint, sizeof e->model_fingerprint, "%s", m->model_fingerprint);
    alloc_targets(e, (int)m->n_vectors);
    e->n_params = total;
    e->params = t2_alloc_array((size_t)(total > 0 ? total : 1), sizeof *e->params);
    int64_t offset = 0;
    for (int i = 0; i < e->n; i++) {
        const T2__ExpertVector *v = m->vectors[i];
        e->tensors[i] = t2_strdup(v->tensor);
        e->rows[i] = v->rows;
        e->cols[i] = v->cols;
        e->offsets[i] = offset;
        e->lengths[i] = (int64_t)v->n_values;
        memcpy(e->params + offset, v->values, v->n_values * sizeof *e->params);
        offset += (int64_t)v->n_values;
    }
    e->config = t2_strdup(m->config);
    e->summary = summary;
    return 0;
}

int t2_expert_unpack(t2_expert *e, const unsigned char *bytes, size_t len, const char *source,
                     t2_error *err) {
    memset(e, 0, sizeof *e);
    if (t2_expert_check_seal(bytes, len, source, "t2 expert file", err) != 0) return -1;
    T2__ExpertSet *m = t2__expert_set__unpack(NULL, len, bytes);
    if (m == NULL)
        return t2_error_set(err, "%s: not a t2 expert file (the bytes do not parse as an "
                            "ExpertSet message); expected proto/t2.proto's ExpertSet", source);
    int status = expert_from_message(e, m, source, err);
    t2__expert_set__free_unpacked(m, NULL);
    if (status != 0) t2_expert_free(e);
    return status;
}

int t2_expert_write(const t2_expert *e, const char *path, t2_error *err) {
    unsigned char *bytes;
    size_t len;
    t2_expert_pack(e, &bytes, &len);
    int status = t2_file_write_atomic(path, bytes, len, err);
    t2_free(bytes);
    return status;
}

int t2_expert_read(t2_expert *e, const char *path, t2_error *err) {
    memset(e, 0, sizeof *e);
    char *bytes;
    size_t len;
    if (t2_file_read(path, &bytes, &len, err) != 0) return -1;
    int status = t2_expert_unpack(e, (const unsigned char *)bytes, len, path, err);
    t2_free(bytes);
    return status;
}

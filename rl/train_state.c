/* Training checkpoints (rl/expert.h): the TrainState message (proto/t2.proto), sealed with
 * the checksum of rl/expert_impl.h, written atomically and validated on reading (the run's
 * identity, the parameter count, every array's length). Does not decide when to checkpoint
 * (dist/). */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/file.h"
#include "proto/t2.pb-c.h"
#include "rl/expert.h"
#include "rl/expert_impl.h"

static const char *const what = "t2 training checkpoint";

static float *alloc_params(int64_t n_params) {
    return t2_alloc_array((size_t)(n_params > 0 ? n_params : 1), sizeof(float));
}

void t2_train_state_init(t2_train_state *s, const char *run, int64_t n_params) {
    T2_ASSERT(n_params >= 0 && run[0] != '\0');
    memset(s, 0, sizeof *s);
    s->run = t2_strdup(run);
    s->n_params = n_params;
    s->params = alloc_params(n_params);
    s->adam_m = alloc_params(n_params);
    s->adam_v = alloc_params(n_params);
    s->best_params = alloc_params(n_params);
    s->best_val_accuracy = -1;
}

int t2_train_state_write(const t2_train_state *s, const char *path, t2_error *err) {
    size_t n = (size_t)s->n_params;
    /* protobuf-c's fields are not const; packing only reads them. */
    T2__TrainState m = T2__TRAIN_STATE__INIT;
    m.format_version = T2_TRAIN_STATE_FORMAT_VERSION;
    m.run = s->run;
    m.step = s->step;
    m.n_params = m.n_adam_m = m.n_adam_v = m.n_best_params = n;
    m.params = s->params;
    m.adam_m = s->adam_m;
    m.adam_v = s->adam_v;
    m.best_params = s->best_params;
    m.best_val_accuracy = s->best_val_accuracy;
    m.best_step = s->best_step;
    m.elapsed_seconds = s->elapsed_seconds;
    m.tokens = s->tokens;
    unsigned char *bytes;
    size_t len;
    t2_expert_seal(&m.base, &bytes, &len);
    int status = t2_file_write_atomic(path, bytes, len, err);
    t2_free(bytes);
    return status;
}

/* Validates m against the caller's run and size and fills s (zeroed by the caller). */
static int state_from_message(t2_train_state *s, const T2__TrainState *m, const char *path,
                              const char *run, int64_t n_params, t2_error *err) {
    if (m->format_version != T2_TRAIN_STATE_FORMAT_VERSION)
        return t2_error_set(err, "%s: not a %s (format_version %u); expected %d", path, what,
                            m->format_version, T2_TRAIN_STATE_FORMAT_VERSION);
    if (strcmp(m->run, run) != 0)
        return t2_error_set(err, "%s: checkpoint belongs to another run (%s); expected %s", path,
                            m->run, run);
    if (m->n_params != (size_t)n_params)
        return t2_error_set(err, "%s: checkpoint holds %zu parameters; expected %lld", path,
                            m->n_params, (long long)n_params);
    if (m->n_adam_m != m->n_params || m->n_adam_v != m->n_params ||
        m->n_best_params != m->n_params)
        return t2_error_set(err, "%s: not a %s (%zu parameters but %zu, %zu and %zu Adam first "
                            "moments, second moments and best parameters); expected the same "
                            "count for all four", path, what, m->n_params, m->n_adam_m,
                            m->n_adam_v, m->n_best_params);
    if (m->step < 0 || m->best_step < 0 || m->best_step > m->step || m->tokens < 0)
        return t2_error_set(err, "%s: not a %s (step %lld, best step %lld, %lld tokens); "
                            "expected 0 <= best step <= step and tokens >= 0", path, what,
                            (long long)m->step, (long long)m->best_step, (long long)m->tokens);
    if (!isfinite(m->best_val_accuracy) || !isfinite(m->elapsed_seconds) ||
        m->elapsed_seconds < 0)
        return t2_error_set(err, "%s: not a %s (validation accuracy %g, %g seconds); expected "
                            "finite numbers, seconds >= 0", path, what, m->best_val_accuracy,
                            m->elapsed_seconds);
    t2_train_state_init(s, m->run, n_params);
    size_t bytes = (size_t)n_params * sizeof(float);
    if (bytes > 0) {
        memcpy(s->params, m->params, bytes);
        memcpy(s->adam_m, m->adam_m, bytes);
        memcpy(s->adam_v, m->adam_v, bytes);
        memcpy(s->best_params, m->best_params, bytes);
    }
    s->step = m->step;
    s->best_val_accuracy = m->best_val_accuracy;
    s->best_step = m->best_step;
    s->elapsed_seconds = m->elapsed_seconds;
    s->tokens = m->tokens;
    return 0;
}

int t2_train_state_read(t2_train_state *s, const char *path, const char *run,
                        int64_t n_params, t2_error *err) {
    T2_ASSERT(n_params >= 0 && run[0] != '\0');
    memset(s, 0, sizeof *s);
    char *bytes;
    size_t len;
    if (t2_file_read(path, &bytes, &len, err) != 0) return -1;
    const unsigned char *data = (const unsigned char *)bytes;
    int status = t2_expert_check_seal(data, len, path, what, err);
    T2__TrainState *m = NULL;
    if (status == 0) {
        m = t2__train_state__unpack(NULL, len, data);
        if (m == NULL)
            status = t2_error_set(err, "%s: not a %s (the bytes do not parse as a TrainState "
                                  "message); expected proto/t2.proto's TrainState", path, what);
    }
    if (status == 0) status = state_from_message(s, m, path, run, n_params, err);
    if (m != NULL) t2__train_state__free_unpacked(m, NULL);
    t2_free(bytes);
    if (status != 0) t2_train_state_free(s);
    return status;
}

void t2_train_state_free(t2_train_state *s) {
    t2_free(s->run);
    t2_free(s->params);
    t2_free(s->adam_m);
    t2_free(s->adam_v);
    t2_free(s->best_params);
    memset(s, 0, sizeof *s);
}

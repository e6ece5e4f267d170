/* Fuzz target: training checkpoints, both kinds.
 *   - t2 train's TrainState files (rl/train_state.c t2_train_state_read: the seal, the
 *     message, the run, the parameter count, every array's length and the counters): each
 *     input is tried as it is and resealed (t2_fuzz_try_resealed), read with the run and parameter
 *     count the message itself names (so the checks after them run too); an accepted state
 *     is written and read back, and must come back the same.
 *   - t2 pretrain's checkpoints (rl/checkpoint.c t2_checkpoint_read: a safetensors file with
 *     metadata t2_checkpoint, step and run, and every tensor of the model and its two Adam
 *     moments) for a fixed tiny Llama (1 layer, d 4, ffn 8, vocab 8).
 * Seeds: tests/fuzz/corpus/checkpoint/ (tests/fuzz/make_seeds.c: one of each kind). */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "harness.h"
#include "model/config.h"
#include "model/weights.h"
#include "proto/t2.pb-c.h"
#include "rl/checkpoint.h"
#include "rl/expert.h"
#include "tiny_model.h"

static char *state_path, *trip_path, *pretrain_path;
static t2_model_config cfg;
static t2_model_weights weights, adam_m, adam_v;

static void setup(void) {
    state_path = t2_fuzz_path("state.ckpt");
    trip_path = t2_fuzz_path("trip.ckpt");
    pretrain_path = t2_fuzz_path("pretrain.safetensors");
    t2_fuzz_tiny_config(&cfg);
    t2_model_weights_init(&weights, &cfg);
    t2_model_weights_init(&adam_m, &cfg);
    t2_model_weights_init(&adam_v, &cfg);
}

static int same_floats(const float *a, const float *b, int64_t n) {
    return n == 0 || memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

static void try_state(const unsigned char *bytes, size_t len) {
    char run[256] = "fuzz-run";
    int64_t n_params = 0;
    T2__TrainState *m = t2__train_state__unpack(NULL, len, bytes);
    if (m != NULL) {
        if (m->run[0] != '\0') snprintf(run, sizeof run, "%s", m->run);
        n_params = (int64_t)m->n_params;
        t2__train_state__free_unpacked(m, NULL);
    }
    t2_fuzz_write(state_path, bytes, len);
    t2_error err = {{0}};
    t2_train_state s, back;
    if (t2_train_state_read(&s, state_path, run, n_params, &err) == 0) {
        t2_fuzz_require(t2_train_state_write(&s, trip_path, &err) == 0, err.msg);
        t2_fuzz_require(t2_train_state_read(&back, trip_path, run, n_params, &err) == 0,
                        err.msg);
        t2_fuzz_require(back.step == s.step && back.best_step == s.best_step &&
                        back.tokens == s.tokens && back.elapsed_seconds == s.elapsed_seconds &&
                        same_floats(back.params, s.params, n_params) &&
                        same_floats(back.adam_m, s.adam_m, n_params) &&
                        same_floats(back.adam_v, s.adam_v, n_params) &&
                        same_floats(back.best_params, s.best_params, n_params),
                        "train state written and read back differs");
        t2_train_state_free(&back);
    }
    t2_train_state_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (state_path == NULL) setup();
    try_state(data, size);
    t2_fuzz_try_resealed(data, size, try_state);

    t2_fuzz_write(pretrain_path, data, size);
    t2_error err = {{0}};
    int64_t step = 0;
    t2_checkpoint_read(pretrain_path, &cfg, &weights, &adam_m, &adam_v, &step, "fuzz-run", &err);
    return 0;
}

/* The one-layer, width-4 Llama of the pretraining-checkpoint fuzz target and its seed
 * (tests/fuzz/fuzz_checkpoint.c, tests/fuzz/make_seeds.c): both must name the same shapes,
 * or the seeds would stop at the first tensor check. */
#ifndef T2_TESTS_FUZZ_TINY_MODEL_H
#define T2_TESTS_FUZZ_TINY_MODEL_H

#include "model/config.h"

static inline void t2_fuzz_tiny_config(t2_model_config *cfg) {
    *cfg = t2_model_config_llama(4, 8, 1, 1, 1, 8, 16);
}

#endif

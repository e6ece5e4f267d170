/* The one-layer, width-4 Llama of the pretraining-checkpoint fuzz target and its seed
 * (tests/fuzz/fuzz_checkpoint.c, tests/fuzz/make_seeds.c): both must name the same shapes,
 * or the seeds would stop at the first tensor check. */
#ifndef T2_TESTS_FUZZ_TINY_MODEL_H
#define T2_TESTS_FUZZ_TINY_MODEL_H

#include <stdio.h>
#include <string.h>

#include "model/config.h"

static inline void t2_fuzz_tiny_config(t2_model_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->model_type, sizeof cfg->model_type, "llama");
    cfg->hidden_size = 4;
    cfg->intermediate_size = 8;
    cfg->num_hidden_layers = 1;
    cfg->num_attention_heads = 1;
    cfg->num_key_value_heads = 1;
    cfg->head_dim = 4;
    cfg->vocab_size = 8;
    cfg->max_position_embeddings = 16;
    cfg->rms_norm_eps = 1e-5f;
    cfg->rope_theta = 1e4;
    cfg->bos_token_id = -1;
}

#endif

/* The random Llama-family shapes the benchmarks build in memory: one config maker for
 * bench_forward and bench_attention. Header-only. */
#ifndef T2_BENCH_MODEL_H
#define T2_BENCH_MODEL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "model/config.h"

/* A llama config: d_model d, ffn, layers, heads / kv_heads (head_dim d / heads), vocab,
 * max_positions, tied embeddings when tied; RMSNorm eps 1e-5, RoPE theta 1e4, no BOS. */
static inline t2_model_config bench_model_config(int64_t d, int64_t ffn, int64_t layers,
                                                 int64_t heads, int64_t kv_heads,
                                                 int64_t vocab, int64_t max_positions,
                                                 int tied) {
    t2_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.model_type, sizeof cfg.model_type, "llama");
    cfg.hidden_size = d;
    cfg.intermediate_size = ffn;
    cfg.num_hidden_layers = layers;
    cfg.num_attention_heads = heads;
    cfg.num_key_value_heads = kv_heads;
    cfg.head_dim = d / heads;
    cfg.vocab_size = vocab;
    cfg.max_position_embeddings = max_positions;
    cfg.rms_norm_eps = 1e-5f;
    cfg.rope_theta = 10000.0;
    cfg.bos_token_id = -1;
    cfg.tie_word_embeddings = tied;
    return cfg;
}

#endif

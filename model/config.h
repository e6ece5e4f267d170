/* The model's architecture, read from a Hugging Face folder's config.json (and
 * generation_config.json when present). Llama family: model_type "llama", "mistral", "qwen2". */
#ifndef T2_MODEL_CONFIG_H
#define T2_MODEL_CONFIG_H

#include <stdint.h>

#include "base/error.h"

enum { T2_MAX_EOS_IDS = 8 };

typedef struct t2_model_config {
    char model_type[32];             /* "llama", "mistral" or "qwen2" */
    int64_t hidden_size;             /* d_model */
    int64_t intermediate_size;       /* MLP width */
    int64_t num_hidden_layers;
    int64_t num_attention_heads;
    int64_t num_key_value_heads;     /* defaults to num_attention_heads */
    int64_t head_dim;                /* defaults to hidden_size / num_attention_heads */
    int64_t vocab_size;
    int64_t max_position_embeddings;
    float rms_norm_eps;
    double rope_theta;               /* default 10000 */
    /* rope_scaling of type "llama3" (Llama 3.1+): inv_freq is rescaled by wavelength. */
    int rope_scaling_llama3;         /* 1 when present */
    double rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int64_t rope_original_max_position_embeddings;
    int tie_word_embeddings;         /* lm_head shares embed_tokens */
    int attention_bias;              /* q/k/v projections have biases (qwen2 always) */
    int64_t bos_token_id;            /* -1 when absent */
    int64_t eos_token_ids[T2_MAX_EOS_IDS]; /* from config.json, overridden by generation_config.json */
    int n_eos_token_ids;
} t2_model_config;

/* A llama config of the given sizes (head_dim d / heads, untied, no bias), RMSNorm eps
 * 1e-5, RoPE theta 1e4, no BOS and no EOS: the in-memory models of benchmarks and tests,
 * which set whatever else they need afterwards. */
t2_model_config t2_model_config_llama(int64_t d, int64_t ffn, int64_t layers, int64_t heads,
                                      int64_t kv_heads, int64_t vocab, int64_t max_positions);

/* Reads DIR/config.json and, if present, DIR/generation_config.json. Returns 0, or -1 with
 * err = "<file>: <problem>; expected <...>" (invalid JSON with line:column, missing required
 * key, wrong type, unsupported model_type, inconsistent sizes). cfg is unspecified on error. */
int t2_model_config_load(t2_model_config *cfg, const char *model_dir, t2_error *err);

/* Parses config.json text; `path` is only used in error messages. */
int t2_model_config_parse(t2_model_config *cfg, const char *json_text, const char *path,
                          t2_error *err);

/* Writes cfg as a Hugging Face config.json (atomically). */
int t2_model_config_write(const t2_model_config *cfg, const char *path, t2_error *err);

/* 1 when o_proj has a bias too: model_type llama with attention_bias (transformers'
 * LlamaAttention biases all four projections; Qwen2 biases q/k/v only). */
int t2_model_config_o_proj_bias(const t2_model_config *cfg);

/* Parameter count implied by the config (embeddings, blocks, norm, lm_head unless tied). */
int64_t t2_model_config_param_count(const t2_model_config *cfg);

#endif

/* The transformer's weights in memory: float32, one slab, with named views per layer.
 * Loaded from a t2_safetensors by Hugging Face tensor names, converting F16/BF16 to F32.
 *
 * Names (HF Llama/Mistral/Qwen2):
 *   model.embed_tokens.weight                      vocab x d
 *   model.layers.L.input_layernorm.weight          d
 *   model.layers.L.self_attn.q_proj.weight         (n_heads*head_dim) x d     (+ .bias if attention_bias)
 *   model.layers.L.self_attn.k_proj.weight         (n_kv*head_dim) x d        (+ .bias)
 *   model.layers.L.self_attn.v_proj.weight         (n_kv*head_dim) x d        (+ .bias)
 *   model.layers.L.self_attn.o_proj.weight         d x (n_heads*head_dim)     (+ .bias: llama only)
 *   model.layers.L.post_attention_layernorm.weight d
 *   model.layers.L.mlp.gate_proj.weight            ffn x d
 *   model.layers.L.mlp.up_proj.weight              ffn x d
 *   model.layers.L.mlp.down_proj.weight            d x ffn
 *   model.norm.weight                              d
 *   lm_head.weight                                 vocab x d   (absent when tied)
 * Every matrix is row-major out x in, as on disk: y = W x. */
#ifndef T2_MODEL_WEIGHTS_H
#define T2_MODEL_WEIGHTS_H

#include <stdint.h>

#include "base/error.h"
#include "model/config.h"
#include "model/safetensors.h"

typedef struct t2_layer_weights {
    float *input_norm;   /* d */
    float *wq, *wk, *wv; /* (n_heads*hd) x d, (n_kv*hd) x d, (n_kv*hd) x d */
    float *bq, *bk, *bv; /* biases or NULL */
    float *wo;           /* d x (n_heads*hd) */
    float *bo;           /* d, or NULL: only model_type llama with attention_bias (HF puts the
                          * bias on o_proj too); qwen2 has q/k/v biases only */
    float *post_norm;    /* d */
    float *w_gate, *w_up; /* ffn x d */
    float *w_down;        /* d x ffn */
} t2_layer_weights;

typedef struct t2_model_weights {
    float *slab;              /* owns every array below */
    int64_t slab_floats;
    float *embed;             /* vocab x d */
    t2_layer_weights *layers; /* [num_hidden_layers] */
    float *final_norm;        /* d */
    float *lm_head;           /* vocab x d; == embed when tied (not separately owned) */
} t2_model_weights;

/* Allocates the slab for cfg (zeroed). */
void t2_model_weights_init(t2_model_weights *w, const t2_model_config *cfg);
/* Loads every tensor of cfg from st into an initialised w. Fails (-1, err names the file and
 * tensor) on a missing tensor, a shape that differs from cfg, or an unsupported dtype. */
int t2_model_weights_load(t2_model_weights *w, const t2_model_config *cfg,
                          const t2_safetensors *st, t2_error *err);
/* Checks, without loading data, that st holds every tensor cfg needs with the right shape and
 * a supported dtype. 0, or -1 with err naming the file, the tensor and the problem. */
int t2_model_weights_check(const t2_model_config *cfg, const t2_safetensors *st, t2_error *err);
/* Fills every matrix with N(0, std^2) and every norm weight with 1, biases with N(0, std^2),
 * from a stream seeded by seed (reproducible). */
void t2_model_weights_init_random(t2_model_weights *w, const t2_model_config *cfg,
                                  uint64_t seed, float std);
/* Adds every tensor of w under its HF name to a writer (data borrowed from w). */
void t2_model_weights_add_to_writer(const t2_model_weights *w, const t2_model_config *cfg,
                                    t2_safetensors_writer *writer, t2_dtype dtype);
/* Visits every tensor: its HF name, shape and data in w (for inspection and init). */
typedef void (*t2_weights_visit_fn)(void *ctx, const char *name, int n_dims,
                                    const int64_t *shape, float *data);
void t2_model_weights_visit(const t2_model_weights *w, const t2_model_config *cfg,
                            t2_weights_visit_fn fn, void *ctx);
void t2_model_weights_free(t2_model_weights *w);

#endif

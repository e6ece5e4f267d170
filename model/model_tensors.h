/* The tensors of a model's weights as one list: each with its Hugging Face name, shape and a
 * view of its data in the type it is held in (matrices as t2_weight views, float32 or half;
 * norm weights and biases float32), in the order of a Hugging Face state dict (embeddings,
 * then per layer in module order, final norm, lm_head unless tied). For the writers that save
 * a whole model in another file layout (model/hf_export.h, model/gguf_export.h). Reads no
 * files and copies no data. Reference: transformers' Llama / Mistral / Qwen2 state dicts
 * (the names of model/weights.h). */
#ifndef T2_MODEL_MODEL_TENSORS_H
#define T2_MODEL_MODEL_TENSORS_H

#include <stdint.h>

#include "linalg/weight.h"
#include "model/config.h"
#include "model/weights.h"

typedef struct t2_model_tensor {
    char name[96];    /* HF name, e.g. model.layers.3.self_attn.q_proj.weight */
    int64_t layer;    /* transformer block, -1 for embeddings, final norm and lm_head */
    const char *role; /* the part after "model.layers.L." (or the whole name outside blocks),
                       * static: "self_attn.q_proj.weight", "model.norm.weight", ... */
    int n_dims;       /* 1 (norm weight, bias) or 2 (matrix) */
    int64_t shape[2]; /* rows x cols (out x in) or [n] */
    t2_weight data;   /* borrowed view into the weights: matrices in their type, vectors F32 */
} t2_model_tensor;

/* Lists every tensor cfg implies, viewing w (which must outlive the list's use) into *out, a
 * heap array (t2_free). Returns the count. */
int t2_model_tensors_list(const t2_model_config *cfg, const t2_model_weights *w,
                          t2_model_tensor **out);

/* Bytes of t stored as elements of `element_size` bytes. */
int64_t t2_model_tensor_bytes(const t2_model_tensor *t, int64_t element_size);

#endif

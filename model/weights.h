/* The transformer's weights in memory, with a named view per tensor. Matrices are
 * t2_weight views (linalg/weight.h) in their storage type; norm weights and biases are always
 * float32. The ways to hold them:
 *   _init (+ _load or _init_random): every tensor float32 in one owned slab, converting
 *     F16/BF16/F64 files (pretraining writes these; tests build them);
 *   _map: BF16 / F16 matrices read in place from the memory-mapped safetensors files, shared
 *     through the page cache by every process that maps the same files; F32 (and F64)
 *     matrices and all vectors copied (widened) into an owned float32 slab;
 *   _share / _share_into / _own: the views of other weights, except the matrices named,
 *     which are float32 and changeable (an adapted model: only its target matrices change);
 *   _narrow: another model's matrices rounded to BF16 / F16 (benchmarks, tests).
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
#include "linalg/weight.h"
#include "model/config.h"
#include "model/safetensors.h"

typedef struct t2_layer_weights {
    float *input_norm;       /* d */
    t2_weight wq, wk, wv;    /* (n_heads*hd) x d, (n_kv*hd) x d, (n_kv*hd) x d */
    float *bq, *bk, *bv;     /* biases or NULL */
    t2_weight wo;            /* d x (n_heads*hd) */
    float *bo;               /* d, or NULL: only model_type llama with attention_bias (HF puts
                              * the bias on o_proj too); qwen2 has q/k/v biases only */
    float *post_norm;        /* d */
    t2_weight w_gate, w_up; /* ffn x d */
    t2_weight w_down;       /* d x ffn */
} t2_layer_weights;

typedef struct t2_model_weights {
    float *slab;              /* owned storage of the views that are not borrowed: float32,
                               * or 16-bit elements after _narrow */
    int64_t slab_floats;
    t2_safetensors *files;    /* _map: the mapped files the matrices view (owned), else NULL */
    t2_weight embed;          /* vocab x d */
    t2_layer_weights *layers; /* [num_hidden_layers] */
    float *final_norm;        /* d */
    t2_weight lm_head;        /* vocab x d; == embed when tied (not separately held) */
    struct t2_model_weights *base; /* after _own: the former weights these view (owned) */
} t2_model_weights;

/* Allocates the slab for cfg (zeroed): every tensor float32 and owned. */
void t2_model_weights_init(t2_model_weights *w, const t2_model_config *cfg);
/* Loads every tensor of cfg from st into an initialised w. Fails (-1, err names the file and
 * tensor) on a missing tensor, a shape that differs from cfg, or an unsupported dtype. */
int t2_model_weights_load(t2_model_weights *w, const t2_model_config *cfg,
                          const t2_safetensors *st, t2_error *err);
/* Views every BF16 / F16 matrix of cfg in st's mapping in its file dtype; F32 and F64
 * matrices, and all norm weights and biases, go to an owned float32 slab; takes *st over
 * (w closes it, also when this fails; *st is zeroed). 0, or -1 with err as t2_model_weights_load; w is
 * then safe to free. */
int t2_model_weights_map(t2_model_weights *w, const t2_model_config *cfg, t2_safetensors *st,
                         t2_error *err);
/* dst views every tensor of src (which must outlive dst and not change), except the n matrices
 * named (HF names of matrices cfg has), which dst owns as float32 copies of src's values. */
void t2_model_weights_share(t2_model_weights *dst, const t2_model_weights *src,
                            const t2_model_config *cfg, const char *const *private_names, int n);
/* The same, but the named matrices are float32 views of `storage` (borrowed: it must outlive
 * dst; t2_model_weights_private_floats floats, the matrices one after another in the order
 * named), whose contents are left as they are: several processes can hold one storage (a
 * node's shared memory) and compose into it. */
void t2_model_weights_share_into(t2_model_weights *dst, const t2_model_weights *src,
                                 const t2_model_config *cfg, const char *const *private_names,
                                 int n, float *storage);
/* dst views every tensor of src except the n matrices named, which are absent (data NULL):
 * the weights of a group whose named matrices run only in factored form (model/forward.h
 * T2_FORWARD_FACTORED_ALL), with no copy of them. */
void t2_model_weights_share_absent(t2_model_weights *dst, const t2_model_weights *src,
                                   const t2_model_config *cfg, const char *const *absent_names,
                                   int n);
int64_t t2_model_weights_private_floats(const t2_model_config *cfg,
                                        const char *const *private_names, int n);
/* dst: src's float32 matrices rounded to `type` (BF16 or F16, to nearest even) in storage
 * dst owns, laid out as in src's slab; its vectors are src's (borrowed: src must outlive
 * dst). src must come from _init. For benchmarks and tests of the half-precision paths. */
void t2_model_weights_narrow(t2_model_weights *dst, const t2_model_weights *src,
                             const t2_model_config *cfg, t2_weight_type type);
/* Makes the n named matrices of w its own float32 copies, keeping the rest as they are: w
 * becomes a _share of its former self, which it keeps (and frees) as w->base. Views taken
 * of w before stay valid. */
void t2_model_weights_own(t2_model_weights *w, const t2_model_config *cfg,
                          const char *const *private_names, int n);
/* The view of the matrix with that HF name, or NULL when cfg has no such matrix. */
t2_weight *t2_model_weights_matrix(t2_model_weights *w, const t2_model_config *cfg,
                                   const char *name);
/* The element type of every matrix when they all share one, else -1. */
int t2_model_weights_matrix_type(const t2_model_weights *w, const t2_model_config *cfg);
/* Checks, without loading data, that st holds every tensor cfg needs with the right shape and
 * a supported dtype. 0, or -1 with err naming the file, the tensor and the problem. */
int t2_model_weights_check(const t2_model_config *cfg, const t2_safetensors *st, t2_error *err);
/* Fills every matrix with N(0, std^2) and every norm weight with 1, biases with N(0, std^2),
 * from a stream seeded by seed (reproducible). w must come from _init (float32, owned); so
 * must it for _add_to_writer and _visit. */
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

/* dst (from _init for dst_cfg: src_cfg with num_hidden_layers = n) gets src's embeddings,
 * final norm and lm_head, and as its layer j src's layer layers[j] (j < n; each in
 * [0, src_cfg->num_hidden_layers)): a smaller model that starts from a larger one, e.g. a
 * distillation student (dist/pretrain.h, keep_layers). src must be float32 (_init). */
void t2_model_weights_keep_layers(t2_model_weights *dst, const t2_model_config *dst_cfg,
                                  const t2_model_weights *src, const t2_model_config *src_cfg,
                                  const int64_t *layers);

#endif

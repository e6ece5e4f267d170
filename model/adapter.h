/* Adapters: small trainable parameter vectors that change a base model's target matrices.
 * Two methods behind one interface, so expert training (dist/train.c) runs either:
 *
 *   svf   Singular Value Fine-tuning (DESIGN.md "The method, precisely"). For each target
 *         W = U diag(s) Vᵀ (out x in, r = min(out, in), factors from the decomposition
 *         store) one vector of r values:
 *           sigmoid: p, initialised 0.1 + N(0, 0.01²); m = max_mult · σ(p)
 *           linear:  z, initialised 1;                   m = z
 *         W' = U diag(s ⊙ m) Vᵀ · c,  c = Σ s / Σ (s ⊙ m) when renormalize, else c = 1.
 *         (The reference implementation renormalises with sigmoid; DESIGN.md's linear
 *         parametrization does not, so renormalize is a separate switch.)
 *   lora  rank-k LoRA: for each target two matrices A (k x in, N(0, 1/in)) and B (out x k,
 *         zeros), W' = W + (alpha / k) · B A.
 *
 * Parameters are one flat float array: the targets in order, each target's vector(s)
 * contiguous (svf: r values; lora: A row-major then B row-major).
 *
 * Gradients never build ∂L/∂W' (out x in). During the backward (model/train.h) each target
 * layer hands its input X (T x in) and output gradient Δ (T x out); t2_adapter_accumulate
 * adds what the method needs into an accumulator that is LINEAR in (X, Δ) pairs, so
 * accumulators of different rows, chunks and ranks can simply be summed, then
 * t2_adapter_gradient turns the summed accumulator into ∂L/∂params:
 *   svf:  accumulator h (r per target), h_i += u_iᵀ (Δᵀ X) v_i = rowsum((Δ U) ⊙ (X V))_i;
 *         gradient = h chained through c·s⊙m, the renormalisation and the mask.
 *   lora: accumulator = the gradient itself: dB += scale · Δᵀ (X Aᵀ), dA += scale · (Δ B)ᵀ X.
 * Single-process; no MPI. Reference: DESIGN.md; LoRA as in PEFT (Hu et al. 2021). */
#ifndef T2_MODEL_ADAPTER_H
#define T2_MODEL_ADAPTER_H

#include <stdint.h>

#include "base/error.h"
#include "model/config.h"
#include "model/decomposition_store.h"
#include "model/train.h"
#include "model/weights.h"

typedef enum t2_adapter_method {
    T2_ADAPTER_SVF = 0,
    T2_ADAPTER_LORA = 1,
} t2_adapter_method;

typedef enum t2_svf_parametrization {
    T2_SVF_SIGMOID = 0,
    T2_SVF_LINEAR = 1,
} t2_svf_parametrization;

typedef struct t2_adapter_options {
    t2_adapter_method method;
    t2_svf_parametrization parametrization; /* svf */
    float max_mult;                         /* svf sigmoid: m = max_mult σ(p); reference 2 */
    int renormalize;                        /* svf: keep Σ s (the factor c) */
    int64_t lora_rank;                      /* lora: k >= 1 */
    float lora_alpha;                       /* lora: scale = alpha / k */
} t2_adapter_options;

/* One adapted matrix. */
typedef struct t2_adapter_target {
    char *name;             /* HF tensor name, e.g. model.layers.0.mlp.up_proj.weight (owned) */
    int64_t layer;          /* transformer block */
    t2_linear_kind kind;    /* which linear of the block */
    int64_t rows, cols;     /* out x in */
    int64_t rank;           /* svf: r = min(rows, cols); lora: k */
    int64_t offset;         /* first parameter in the flat array */
    int64_t n_params;       /* svf: r; lora: k (rows + cols) */
    int64_t accum_offset;   /* first accumulator value */
    int64_t accum_size;     /* svf: r; lora: n_params */
    const float *u;         /* svf: rows x r, row-major (borrowed from the store's mapping) */
    const float *s;         /* svf: r, descending (borrowed) */
    const float *v;         /* svf: cols x r, row-major (borrowed) */
    t2_weight base;         /* lora: the base W, rows x cols (borrowed from base weights) */
} t2_adapter_target;

typedef struct t2_adapter {
    t2_adapter_options options;
    int n;                      /* targets */
    t2_adapter_target *targets; /* [n] */
    int64_t n_params;           /* total trainable parameters */
    int64_t accum_size;         /* total accumulator floats */
    struct t2_adapter_work *work; /* private scratch (model/adapter_impl.h), owned: compose and
                                   * accumulate write it, so neither is thread-safe */
} t2_adapter;

/* Builds an adapter over the named targets (each a linear weight of a transformer block of
 * cfg, e.g. model.layers.3.mlp.down_proj.weight).
 *   svf:  views U, s, V of each target in store's mapping (the store must hold it and
 *         outlive the adapter; every process mapping the store shares its pages);
 *   lora: borrows each base matrix from base (which must outlive the adapter).
 * Returns 0, or -1 with err ("<store>: no decomposition of <name>; expected one made with
 * targets covering it", "<name>: not a linear weight of a transformer block; expected
 * model.layers.<L>.(self_attn|mlp).<x>_proj.weight", a layer past cfg's, a name listed twice,
 * a stored shape that differs from cfg, no names, lora_rank < 1, max_mult <= 0) and the adapter freed and zeroed (freeing
 * it again is harmless). store may be NULL for lora, base may be NULL for svf. */
int t2_adapter_init(t2_adapter *a, const t2_adapter_options *options,
                    const t2_model_config *cfg, const char *const *names, int n_names,
                    const t2_decomposition_store *store, const t2_model_weights *base,
                    t2_error *err);
void t2_adapter_free(t2_adapter *a); /* accepts a zeroed or half-built adapter; may run twice */

/* The targets' HF names, in order: a borrowed array of a->n names (t2_free the array only),
 * for t2_model_weights_share. */
const char **t2_adapter_target_names(const t2_adapter *a);

/* The target adapting (layer, kind), or -1 when that matrix is not adapted. */
int t2_adapter_find(const t2_adapter *a, int64_t layer, t2_linear_kind kind);

/* Initial parameters (n_params floats), reproducible from seed: svf sigmoid 0.1 + N(0, 0.01²),
 * svf linear 1, lora A ~ N(0, 1/cols) and B = 0. */
void t2_adapter_init_params(const t2_adapter *a, uint64_t seed, float *params);

/* Writes every target's W' for params into out (a full weights struct of cfg's shapes, whose
 * targets are float32 and its own: t2_model_weights_share with t2_adapter_target_names);
 * matrices that are not targets are left as they are. out must not be base (lora reads
 * base). Each W' is GEMMs: (U · diag(c s m)) Vᵀ, one
 * per block of U's rows (svf), or base + scale B A (lora). Uses the adapter's scratch. */
void t2_adapter_compose(const t2_adapter *a, const float *params, t2_model_weights *out);
/* One of `parts` shares of that work: the targets i with i mod parts == part. The processes
 * of a node that hold one `out` in shared memory (t2_model_weights_share_into) each compose
 * their part; together they compose every target once. */
void t2_adapter_compose_part(const t2_adapter *a, const float *params, t2_model_weights *out,
                             int part, int parts);

/* Adds the contribution of one target layer's (X, Δ) to accum (accum_size floats):
 * x: rows x cols (ld cols), delta: rows x out (ld rows of the target); params are the ones the
 * weights were composed from (lora needs A and B). Works through blocks of rows in the
 * adapter's scratch: not thread-safe (the trainer calls it sequentially). */
void t2_adapter_accumulate(const t2_adapter *a, int target, const float *params,
                           const float *x, const float *delta, int64_t rows, float *accum);

/* A model/train.h linear callback: ctx is a t2_adapter_grad_ctx; calls
 * t2_adapter_accumulate for adapted layers and ignores the others. */
typedef struct t2_adapter_grad_ctx {
    const t2_adapter *adapter;
    const float *params;
    float *accum; /* accum_size floats, added into */
} t2_adapter_grad_ctx;
void t2_adapter_linear_fn(void *ctx, int64_t layer, t2_linear_kind kind, const float *x,
                          const float *delta, int64_t rows, int64_t in, int64_t out);

/* svf only: the masks m (n_params floats, overwritten) of params: max_mult σ(p) (sigmoid)
 * or z (linear). An adapter with the linear parametrization and the same renormalize
 * composes W' from masks directly, which is how a mixture m' = Σ_k α_k m_k of experts
 * (DESIGN.md, few-shot adaptation) and a mapped expert (cross-model transfer) are applied. */
void t2_adapter_masks(const t2_adapter *a, const float *params, float *masks);

/* svf only: target's diagonal e = c s ⊙ m at params (rank floats, overwritten), so that
 * W' = U diag(e) Vᵀ: what t2_adapter_compose multiplies out, for a product in factored form
 * (model/forward.h t2_forward_factor). */
void t2_adapter_svf_diagonal(const t2_adapter *a, int target, const float *params, float *e);

/* ∂L/∂params (n_params floats, overwritten) from the summed accumulator at params. */
void t2_adapter_gradient(const t2_adapter *a, const float *params, const float *accum,
                         float *grad);

/* "svf"/"lora", "sigmoid"/"linear" <-> enums: 0, or -1 for another name. */
const char *t2_adapter_method_name(t2_adapter_method m);
int t2_adapter_method_from_name(const char *name, t2_adapter_method *out);
const char *t2_svf_parametrization_name(t2_svf_parametrization p);
int t2_svf_parametrization_from_name(const char *name, t2_svf_parametrization *out);

#endif

/* Mixtures of SVF experts (DESIGN.md, few-shot adaptation): with the experts' masks m_k
 * (model/adapter.h t2_adapter_masks), the mixture's mask of every target is
 *     m' = Σ_k α_k m_k                 (one weight per expert), or
 *     m' = Σ_k α_{k,l} m_k             (per layer: α_{k,l} for the target's layer l),
 * and W' = U diag(s ⊙ m') Vᵀ · c' with the experts' renormalisation (c' = Σ s / Σ s ⊙ m'
 * when they renormalise). A single expert is the mixture with α = e_k.
 * The experts must be SVF experts over the same targets with the same renormalisation (an
 * expert bundle guarantees it). Single-process; no MPI. */
#ifndef T2_RL_MIXTURE_H
#define T2_RL_MIXTURE_H

#include <stdint.h>

#include "base/error.h"
#include "model/adapter.h"
#include "model/config.h"
#include "model/decomposition_store.h"
#include "model/weights.h"
#include "rl/expert.h"

typedef struct t2_mixture {
    t2_adapter adapter;   /* linear parametrization over the experts' targets */
    int k;                /* experts */
    int64_t n_layers;     /* transformer blocks of the model */
    int per_layer;        /* α has one weight per (expert, layer) */
    float *masks;         /* [k x n_params] each expert's masks */
    float *mixed;         /* [n_params] the current mixture's masks */
} t2_mixture;

/* Builds a mixture of experts[0..k) on the model of cfg with the factors of store (which
 * must hold every target). 0, or -1 with err ("<name>: a lora expert cannot be mixed;
 * expected svf experts", experts over different targets) and m safe to free. */
int t2_mixture_init(t2_mixture *m, const t2_expert *experts, int k, int per_layer,
                    const t2_model_config *cfg, const t2_decomposition_store *store,
                    t2_error *err);
void t2_mixture_free(t2_mixture *m); /* zeroed ok; twice ok */

/* Number of mixture weights: k, or k x n_layers per layer (α[k * n_layers + l]). */
int64_t t2_mixture_dim(const t2_mixture *m);

/* Sets m->mixed from alpha (t2_mixture_dim values) and writes every target's W' into out. */
void t2_mixture_compose(t2_mixture *m, const float *alpha, t2_model_weights *out);

/* The mixture of alpha as an expert of its own (linear parametrization, z = m'), named
 * `name` for task `task`; fingerprint of the base model. */
void t2_mixture_to_expert(t2_mixture *m, const float *alpha, const char *name,
                          const char *task, const char *fingerprint, t2_expert *out);

#endif

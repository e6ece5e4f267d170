/* Private to model/adapter*.c: the adapter's scratch and the per-method halves of compose,
 * accumulate and gradient (adapter_svf.c, adapter_lora.c), which model/adapter.c dispatches
 * to. Not part of the public API. */
#ifndef T2_MODEL_ADAPTER_IMPL_H
#define T2_MODEL_ADAPTER_IMPL_H

#include <stdint.h>

#include "model/adapter.h"

/* Rows of X, Δ (accumulate) or U (compose) handled per pair of GEMMs: bounds the scratch at
 * 2 x T2_ADAPTER_BLOCK x max rank floats whatever the batch or matrix size. */
enum { T2_ADAPTER_BLOCK = 256 };

/* Sized for the largest target rank (max_rank) at init. */
typedef struct t2_adapter_work {
    float *panel_a; /* T2_ADAPTER_BLOCK x max_rank */
    float *panel_b; /* T2_ADAPTER_BLOCK x max_rank */
    double *sums;   /* max_rank: svf row sums (accumulate), c s m (compose) */
} t2_adapter_work;

/* The matrix of (layer, kind) in w: rows x cols row-major (model/weights.h). */
t2_weight t2_adapter_weight(const t2_model_weights *w, int64_t layer, t2_linear_kind kind);

/* svf (adapter_svf.c): p is the target's r parameters, h its r accumulator values. */
void t2_adapter_svf_compose(const t2_adapter *a, const t2_adapter_target *t, const float *p,
                            float *w);
void t2_adapter_svf_accumulate(const t2_adapter *a, const t2_adapter_target *t, const float *x,
                               const float *delta, int64_t rows, float *h);
void t2_adapter_svf_gradient(const t2_adapter *a, const t2_adapter_target *t, const float *p,
                             const float *h, float *grad);
void t2_adapter_svf_masks(const t2_adapter *a, const t2_adapter_target *t, const float *p,
                          float *m);

/* lora (adapter_lora.c): p is the target's A (k x cols) then B (rows x k); acc likewise. */
void t2_adapter_lora_compose(const t2_adapter *a, const t2_adapter_target *t, const float *p,
                             float *w);
void t2_adapter_lora_accumulate(const t2_adapter *a, const t2_adapter_target *t, const float *p,
                                const float *x, const float *delta, int64_t rows, float *acc);

#endif

/* LoRA (Hu et al. 2021, as PEFT implements it): compose W' = W + scale B A and accumulate
 * ∂L/∂A, ∂L/∂B from a layer's (X, Δ). Does not: initialise A and B (adapter.c) or dropout.
 *
 * For one target W (rows x cols) and rank k, parameters A (k x cols) then B (rows x k),
 * row-major, scale = alpha / k:
 *   W' = W + scale B A.
 * A layer computes Y = X W'ᵀ, so with Δ = ∂L/∂Y (T x rows) and G = ∂L/∂W' = Δᵀ X:
 *   ∂L/∂B = scale G Aᵀ = scale Δᵀ (X Aᵀ),     ∂L/∂A = scale Bᵀ G = scale (Δ B)ᵀ X,
 * so neither needs G: per block of rows two thin GEMMs (X Aᵀ and Δ B, n x k) and two
 * accumulating ones. Linear in the (X, Δ) pairs: the accumulator is the gradient itself. */
#include <string.h>

#include "base/assert.h"
#include "linalg/gemm.h"
#include "linalg/weight.h"
#include "model/adapter_impl.h"

/* w (rows x cols) = base + scale B A: a copy and one GEMM. w must not be the base.
 * Threads: BLIS's. */
void t2_adapter_lora_compose(const t2_adapter *a, const t2_adapter_target *t, const float *p,
                             float *w) {
    int64_t k = t->rank, rows = t->rows, cols = t->cols;
    const float *lora_a = p, *lora_b = p + k * cols;
    float scale = a->options.lora_alpha / (float)k;
    T2_ASSERT((void *)w != t->base.data);
    t2_weight_widen(w, t->base, 0, rows * cols);
    t2_gemm(w, cols, lora_b, k, 0, lora_a, cols, 0, rows, cols, k, scale, 1.0f);
}

/* acc (A's k x cols then B's rows x k) += the gradients from the rows of x (rows x cols,
 * ld cols) and delta (rows x t->rows, ld t->rows), a block of rows at a time:
 * panel_a = X Aᵀ, panel_b = Δ B (n x k). Threads: BLIS's; the scratch makes it
 * single-caller. */
void t2_adapter_lora_accumulate(const t2_adapter *a, const t2_adapter_target *t, const float *p,
                                const float *x, const float *delta, int64_t rows, float *acc) {
    t2_adapter_work *work = a->work;
    int64_t k = t->rank, out = t->rows, cols = t->cols;
    const float *lora_a = p, *lora_b = p + k * cols;
    float *grad_a = acc, *grad_b = acc + k * cols;
    float scale = a->options.lora_alpha / (float)k;
    for (int64_t r0 = 0; r0 < rows; r0 += T2_ADAPTER_BLOCK) {
        int64_t n = rows - r0 < T2_ADAPTER_BLOCK ? rows - r0 : T2_ADAPTER_BLOCK;
        const float *x_block = x + r0 * cols, *delta_block = delta + r0 * out;
        t2_gemm(work->panel_a, k, x_block, cols, 0, lora_a, cols, 1, n, k, cols, 1.0f, 0.0f);
        t2_gemm(grad_b, k, delta_block, out, 1, work->panel_a, k, 0, out, k, n, scale, 1.0f);
        t2_gemm(work->panel_b, k, delta_block, out, 0, lora_b, k, 0, n, k, out, 1.0f, 0.0f);
        t2_gemm(grad_a, cols, work->panel_b, k, 1, x_block, cols, 0, k, cols, n, scale, 1.0f);
    }
}

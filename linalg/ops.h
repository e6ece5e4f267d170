/* Row-wise elementwise kernels of the transformer forward. Each works on rows of a row-major
 * matrix, single-threaded, and has a plain-loop `_ref` twin (double accumulation) for tests
 * where the fast version differs in structure. */
#ifndef T2_LINALG_OPS_H
#define T2_LINALG_OPS_H

#include <stdint.h>

/* RMSNorm: out[t][i] = x[t][i] / sqrt(mean_i(x[t]^2) + eps) * weight[i].
 * out, x: rows x dim (may alias); weight: dim. Overwrites out. */
void t2_rmsnorm_forward(float *out, const float *x, const float *weight, int64_t rows,
                        int64_t dim, float eps);
void t2_rmsnorm_forward_ref(float *out, const float *x, const float *weight, int64_t rows,
                            int64_t dim, float eps);

/* In-place softmax of one row of n values; entries at or past `valid` are set to 0 (causal
 * masking of a score row). */
void t2_softmax_row(float *x, int64_t n, int64_t valid);

/* SwiGLU: out[t][i] = silu(gate[t][i]) * up[t][i], silu(g) = g / (1 + exp(-g)).
 * out may alias gate or up. All rows x dim with leading dimension ld (same for all three). */
void t2_swiglu_forward(float *out, const float *gate, const float *up, int64_t rows,
                       int64_t dim, int64_t ld);

/* RoPE, Hugging Face rotate-half convention, in place on one token's heads:
 * x: n_heads x head_dim (contiguous); cos, sin: head_dim/2 values for this token's position.
 * For i < h = head_dim/2: (x_i, x_{i+h}) <- (x_i cos_i - x_{i+h} sin_i, x_{i+h} cos_i + x_i sin_i). */
void t2_rope_forward(float *x, int64_t n_heads, int64_t head_dim, const float *cos,
                     const float *sin);

/* Adds bias (n) to each of rows x n (leading dimension ld). */
void t2_add_bias(float *x, const float *bias, int64_t rows, int64_t n, int64_t ld);

#endif

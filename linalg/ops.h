/* Row-wise elementwise kernels of the transformer forward, and a plain-loop reference of the
 * attention of a few query rows against a dense key/value block. Each works on rows of a row-major matrix,
 * single-threaded, and has a plain-loop `_ref` twin (double accumulation, libm exp) for
 * tests where the fast version differs in structure. The fast versions are written so the
 * compiler vectorises their inner loops: reductions run in 16 float lanes and exp is a
 * branch-free Cephes-style polynomial (relative error below 1e-7 on [-87, 88]). */
#ifndef T2_LINALG_OPS_H
#define T2_LINALG_OPS_H

#include <stdint.h>

/* exp(x) for each of n values, in place: the vectorised exp the kernels below use.
 * Results below e^-87 flush to 0, above e^88 saturate at e^88; NaN stays NaN. */
void t2_exp_inplace(float *x, int64_t n);

/* RMSNorm: out[t][i] = x[t][i] / sqrt(mean_i(x[t]^2) + eps) * weight[i].
 * out, x: rows x dim (may alias); weight: dim. Overwrites out. */
void t2_rmsnorm_forward(float *out, const float *x, const float *weight, int64_t rows,
                        int64_t dim, float eps);
void t2_rmsnorm_forward_ref(float *out, const float *x, const float *weight, int64_t rows,
                            int64_t dim, float eps);

/* In-place softmax of one row of n values; entries at or past `valid` are set to 0 (causal
 * masking of a score row). 1 <= valid <= n. */
void t2_softmax_row(float *x, int64_t n, int64_t valid);
void t2_softmax_row_ref(float *x, int64_t n, int64_t valid);

/* SwiGLU: out[t][i] = silu(gate[t][i]) * up[t][i], silu(g) = g / (1 + exp(-g)).
 * out may alias gate or up. gate, up, out: rows x dim with leading dimensions ld_gate,
 * ld_up, ld_out (so gate and up may be the two halves of one rows x 2dim matrix). */
void t2_swiglu_forward(float *out, int64_t ld_out, const float *gate, int64_t ld_gate,
                       const float *up, int64_t ld_up, int64_t rows, int64_t dim);
void t2_swiglu_forward_ref(float *out, int64_t ld_out, const float *gate, int64_t ld_gate,
                           const float *up, int64_t ld_up, int64_t rows, int64_t dim);

/* RoPE, Hugging Face rotate-half convention, in place on one token's heads:
 * x: n_heads x head_dim (contiguous); cos, sin: head_dim/2 values for this token's position.
 * For i < h = head_dim/2:
 *   (x_i, x_{i+h}) <- (x_i cos_i - x_{i+h} sin_i, x_{i+h} cos_i + x_i sin_i). */
void t2_rope_forward(float *x, int64_t n_heads, int64_t head_dim, const float *cos,
                     const float *sin);

/* Adds bias (n) to each of rows x n (leading dimension ld). */
void t2_add_bias(float *x, const float *bias, int64_t rows, int64_t n, int64_t ld);

/* Causal attention of n_q consecutive query tokens, each with n_group query heads that share
 * one key/value head (grouped-query attention), against that head's dense cache block, in
 * plain loops accumulating in double: the reference of the attention backward's tests (the
 * forward's own kernels are model/forward_attention.h and linalg/decode_attention.h).
 *   query token t (t < n_q) sits at position first_pos + t and sees positions
 *   [0, first_pos + t]; for its head g: out = softmax(scale * K q)ᵀ V over those positions.
 * q:   query (t, g) is q[t * ld_q + g * head_dim .. + head_dim)
 * out: same indexing with ld_out; overwritten. May not alias q.
 * k, v: (first_pos + n_q) x head_dim, row-major, contiguous (the KV cache block). */
void t2_attention_forward_ref(float *out, int64_t ld_out, const float *q, int64_t ld_q,
                              const float *k, const float *v, int64_t n_q, int64_t n_group,
                              int64_t head_dim, int64_t first_pos, float scale);

#endif

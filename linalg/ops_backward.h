/* Backward kernels of the transformer's elementwise ops and attention, and the forward
 * pieces the training pass needs beyond linalg/ops.h (attention keeping its log-sum-exp,
 * cross-entropy). The maths of each is derived in docs/training-engine.md.
 *
 * Conventions: row-major matrices with explicit leading dimensions; every kernel runs on the
 * calling thread only (the attention kernels' GEMMs too: BLIS with one thread), so callers
 * may run several at once on different rows or heads. Gradients of inputs are
 * overwritten unless the comment says "adds"; parameter gradients (RMSNorm weight) add.
 * Kernels whose fast version differs in structure from the maths (lane-wise reductions, the
 * polynomial exp, GEMM blocking) have a plain-loop `_ref` twin accumulating in double, for
 * tests. Reference: Hugging Face modeling_llama.py for the forward these differentiate. */
#ifndef T2_LINALG_OPS_BACKWARD_H
#define T2_LINALG_OPS_BACKWARD_H

#include <stdint.h>

/* RMSNorm backward, for y = x r w with r = 1 / sqrt(mean(x^2) + eps) per row:
 *   dx[t][i] += r w_i dy_i - x_i r^3 / dim * sum_j w_j dy_j x_j
 *   dweight[i] += sum_t dy[t][i] x[t][i] r[t]      (skipped when dweight is NULL)
 * dx, dy, x: rows x dim (contiguous); weight, dweight: dim. dx adds; it may not alias dy. */
void t2_rmsnorm_backward(float *dx, float *dweight, const float *dy, const float *x,
                         const float *weight, int64_t rows, int64_t dim, float eps);
void t2_rmsnorm_backward_ref(float *dx, float *dweight, const float *dy, const float *x,
                             const float *weight, int64_t rows, int64_t dim, float eps);

/* SwiGLU backward, for h = silu(g) u with silu(g) = g s, s = 1 / (1 + exp(-g)):
 *   dgate = dh u s (1 + g (1 - s)),  dup = dh g s,  and h itself (the forward's output,
 *   recomputed here so the forward need not keep it).
 * gate | up: rows x 2dim (ld 2dim: the gate half then the up half of each row, as the fused
 * projection writes them); dgu: the same layout, overwritten with dgate | dup; dh, h: rows x
 * dim (ld dim); h is overwritten and may alias dh. */
void t2_swiglu_backward(float *dgu, float *h, const float *dh, const float *gu, int64_t rows,
                        int64_t dim);
void t2_swiglu_backward_ref(float *dgu, float *h, const float *dh, const float *gu,
                            int64_t rows, int64_t dim);

/* RoPE backward, in place on one token's heads (see t2_rope_forward): the transpose of the
 * rotation, i.e. the rotation by the opposite angle:
 *   (d_i, d_{i+h}) <- (d_i cos_i + d_{i+h} sin_i, d_{i+h} cos_i - d_i sin_i). */
void t2_rope_backward(float *dx, int64_t n_heads, int64_t head_dim, const float *cos,
                      const float *sin);

/* Scratch floats the two attention kernels below need for a sequence of n tokens. */
int64_t t2_attention_scratch_floats(int64_t n, int64_t n_group, int64_t head_dim);

/* Causal attention of one sequence of n tokens for one KV head and the n_group query heads
 * that share it (grouped-query attention), keeping each row's log-sum-exp for the backward:
 *   s_j = scale q_{t,g} . k_j (j <= t),  lse_{t,g} = log sum_{j<=t} exp(s_j),
 *   o_{t,g} = sum_{j<=t} exp(s_j - lse_{t,g}) v_j.
 * q: query (t, g) at q[t ld_q + g head_dim]; k, v: key / value t at k[t ld_kv], v[t ld_kv]
 * (head_dim values each); out: like q with ld_out, overwritten; lse: (t, g) at
 * lse[t ld_lse + g], overwritten. scratch: t2_attention_scratch_floats(n, n_group, head_dim).
 * GEMMs over blocks of query rows (all n_group heads of a block stacked), so a block only
 * computes scores for the keys it can see. */
void t2_attention_lse_forward(float *out, int64_t ld_out, float *lse, int64_t ld_lse,
                              const float *q, int64_t ld_q, const float *k, const float *v,
                              int64_t ld_kv, int64_t n, int64_t n_group, int64_t head_dim,
                              float scale, float *scratch);

/* Backward of t2_attention_lse_forward, given dout = dL/do (layout of out) and the forward's
 * out and lse. With p_j = exp(s_j - lse) and D_{t,g} = dout_{t,g} . o_{t,g}:
 *   dp_j = dout . v_j,  ds_j = p_j (dp_j - D),
 *   dq_{t,g} = scale sum_j ds_j k_j,  dk_j = scale sum_{t,g} ds_j q_{t,g},
 *   dv_j = sum_{t,g} p_j dout_{t,g}.
 * dq: layout of q (ld_dq), overwritten; dk, dv: n rows at stride ld_dkv, overwritten (summed
 * over the n_group heads). scratch as for the forward. */
void t2_attention_backward(float *dq, int64_t ld_dq, float *dk, float *dv, int64_t ld_dkv,
                           const float *dout, int64_t ld_dout, const float *out, int64_t ld_out,
                           const float *lse, int64_t ld_lse, const float *q, int64_t ld_q,
                           const float *k, const float *v, int64_t ld_kv, int64_t n,
                           int64_t n_group, int64_t head_dim, float scale, float *scratch);
/* The same, in plain loops (scores recomputed in double, no blocking, no scratch). */
void t2_attention_backward_ref(float *dq, int64_t ld_dq, float *dk, float *dv, int64_t ld_dkv,
                               const float *dout, int64_t ld_dout, const float *out,
                               int64_t ld_out, const float *lse, int64_t ld_lse, const float *q,
                               int64_t ld_q, const float *k, const float *v, int64_t ld_kv,
                               int64_t n, int64_t n_group, int64_t head_dim, float scale);

/* Log-softmax cross-entropy forward over rows of logits (rows x vocab, ld):
 *   lse[t] = log sum_j exp(logits[t][j]),  logprob[t] = logits[t][target[t]] - lse[t]
 * (logprob[t] = 0 when target[t] is outside [0, vocab): positions nothing is learnt from).
 * lse, logprob: rows, overwritten. */
void t2_cross_entropy_forward(float *logprob, float *lse, const float *logits, int64_t ld,
                              const int32_t *targets, int64_t rows, int64_t vocab);
void t2_cross_entropy_forward_ref(float *logprob, float *lse, const float *logits, int64_t ld,
                                  const int32_t *targets, int64_t rows, int64_t vocab);

/* Its backward for L = sum_t weight[t] (-logprob[t]):
 *   dlogits[t][j] = weight[t] (exp(logits[t][j] - lse[t]) - [j == target[t]])
 * rows with weight 0 get zeros (their target is not read). dlogits: rows x vocab (ld_d),
 * overwritten; may not alias logits. */
void t2_cross_entropy_backward(float *dlogits, int64_t ld_d, const float *logits, int64_t ld,
                               const float *lse, const int32_t *targets, const float *weights,
                               int64_t rows, int64_t vocab);
void t2_cross_entropy_backward_ref(float *dlogits, int64_t ld_d, const float *logits,
                                   int64_t ld, const float *lse, const int32_t *targets,
                                   const float *weights, int64_t rows, int64_t vocab);

/* Column sums added into a vector: bias[j] += sum_t x[t][j], x: rows x n (ld). The gradient
 * of a bias added to every row. */
void t2_bias_backward(float *dbias, const float *x, int64_t rows, int64_t n, int64_t ld);

#endif

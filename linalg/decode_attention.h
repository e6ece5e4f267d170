/* Attention of one query token against a dense key/value block, split over blocks of
 * positions so that several threads can share one long context (flash-decoding).
 *
 * One query token with n_group heads that share one key/value head (grouped-query
 * attention) attends to positions [0, n_ctx):
 *   s_gj = scale q_g . k_j,   out_g = sum_j exp(s_gj) v_j / sum_j exp(s_gj).
 * The positions are cut into blocks of T2_DECODE_ATTENTION_BLOCK (the last one shorter).
 * For each block b, t2_decode_attention_block computes a *part*: per head g its maximum
 * m_bg = max_j s_gj, its sum l_bg = sum_j exp(s_gj - m_bg) and its unnormalised output
 * a_bg = sum_j exp(s_gj - m_bg) v_j. t2_decode_attention_merge then combines the parts in
 * block order: with M = max_b m_bg and w_b = exp(m_bg - M),
 *   out_g = (sum_b w_b a_bg) / (sum_b w_b l_bg).
 * The cut depends on n_ctx alone, so the result depends on nothing else: not on the thread
 * count or on which thread computed which block (callers running blocks on several threads
 * get the bits t2_decode_attention_forward gets on one).
 *
 * Kernels run on the calling thread; inner loops are written for the compiler to vectorise
 * (linalg/lanes.h), with AVX-512 twins of the same bits (decode_attention.c), and exp is
 * t2_exp_inplace's polynomial. Each K and V row of a block is read once for all n_group
 * heads. K and V may be float32 or float16 (a float16 KV cache). Does not: handle several query tokens at once (callers
 * loop), causal masking (the caller passes the positions the token sees), or threads.
 * Reference: Dao et al., "Flash-Decoding for long-context inference" (2023), and the online
 * softmax of Milakov & Gimelshein (2018). */
#ifndef T2_LINALG_DECODE_ATTENTION_H
#define T2_LINALG_DECODE_ATTENTION_H

#include <stdint.h>

#include "linalg/weight.h"

/* Positions per block. */
enum { T2_DECODE_ATTENTION_BLOCK = 512 };

/* Blocks n_ctx >= 1 positions are cut into. */
int64_t t2_decode_attention_blocks(int64_t n_ctx);

/* Floats of one part: per head, head_dim output sums then the maximum and the sum. */
int64_t t2_decode_attention_part_floats(int64_t n_group, int64_t head_dim);

/* Scratch floats t2_decode_attention_block needs: scores, and rows widened from float16. */
int64_t t2_decode_attention_block_scratch_floats(int64_t n_group, int64_t head_dim);

/* The part of one block of n_pos positions (1 <= n_pos <= T2_DECODE_ATTENTION_BLOCK):
 * q: n_group x head_dim (head g at q + g head_dim); k, v: n_pos x head_dim row-major, the
 * block's first row first, of kv_type T2_WEIGHT_F32 or T2_WEIGHT_F16 (widened exactly as
 * read: the result is that of the float32 widening, bit for bit); part:
 * t2_decode_attention_part_floats(n_group, head_dim) floats, overwritten (head g at
 * part + g (head_dim + 2): a_g[head_dim], m_g, l_g).
 * scratch: t2_decode_attention_block_scratch_floats(n_group, head_dim) floats.
 * next_k, next_n: the K rows the caller reads next (NULL, 0: none), of which up to n_pos are
 * fetched into L2 while this block's values are summed; they change no result. */
void t2_decode_attention_block(float *part, const float *q, const void *k, const void *v,
                               t2_weight_type kv_type, int64_t n_group, int64_t head_dim,
                               int64_t n_pos, float scale, float *scratch, const void *next_k,
                               int64_t next_n);

/* out (n_group x head_dim, head g at out + g head_dim; overwritten) from the n_blocks parts
 * stored one after the other in parts (block order). */
void t2_decode_attention_merge(float *out, const float *parts, int64_t n_blocks,
                               int64_t n_group, int64_t head_dim);

/* Scratch floats t2_decode_attention_forward needs for n_ctx positions. */
int64_t t2_decode_attention_scratch_floats(int64_t n_ctx, int64_t n_group, int64_t head_dim);

/* The whole attention on the calling thread: every block, then the merge. Shapes and types
 * as above, k and v n_ctx x head_dim; scratch: t2_decode_attention_scratch_floats(...)
 * floats. */
void t2_decode_attention_forward(float *out, const float *q, const void *k, const void *v,
                                 t2_weight_type kv_type, int64_t n_group, int64_t head_dim,
                                 int64_t n_ctx, float scale, float *scratch);

/* Plain-loop twin of t2_decode_attention_forward (double accumulation, libm exp, no
 * blocks): the reference for tests. */
void t2_decode_attention_forward_ref(float *out, const float *q, const float *k, const float *v,
                                     int64_t n_group, int64_t head_dim, int64_t n_ctx,
                                     float scale);

#endif

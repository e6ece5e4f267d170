/* Rotary position embeddings (RoPE): the inverse frequencies of a model and the cos/sin
 * tables the forward reads for each position.
 *
 * Follows Hugging Face transformers (modeling_rope_utils.py):
 *   default:  inv_freq[i] = 1 / theta^(2i / head_dim), i < head_dim/2, computed in float32
 *             as torch does (exponent and power in float32);
 *   llama3:   _compute_llama3_parameters: with wavelen = 2*pi / inv_freq,
 *             low_wavelen = orig_max / low_freq_factor, high_wavelen = orig_max / high_freq_factor,
 *             wavelen < high_wavelen       -> inv_freq unchanged,
 *             wavelen > low_wavelen        -> inv_freq / factor,
 *             otherwise (medium)           -> (1 - s) * inv_freq / factor + s * inv_freq,
 *                                             s = (orig_max / wavelen - low) / (high - low),
 *             all in float32 in the same order of operations.
 * The angle for position p is (float)p * inv_freq[i] rounded to float32 (HF's float32
 * matmul of inv_freq and position ids); cos and sin of that angle are rounded to float32.
 * The attention scaling factor is 1 for both types. Other rope_scaling types are rejected by
 * config loading. */
#ifndef T2_MODEL_ROPE_H
#define T2_MODEL_ROPE_H

#include <stdint.h>

#include "model/config.h"

/* inv_freq: head_dim/2 values for cfg (rope_theta, head_dim, llama3 scaling when set). */
void t2_rope_inv_freq(float *inv_freq, const t2_model_config *cfg);

/* Precomputed cos/sin for positions [0, n_positions). */
typedef struct t2_rope {
    int64_t half;         /* head_dim / 2 */
    int64_t n_positions;
    float *cos;           /* n_positions x half: cos(angle(p, i)) */
    float *sin;           /* n_positions x half */
} t2_rope;

/* Builds the tables for cfg. Allocates; free with t2_rope_free. */
void t2_rope_init(t2_rope *rope, const t2_model_config *cfg, int64_t n_positions);
void t2_rope_free(t2_rope *rope); /* accepts a zeroed object; may run twice */

/* Rows of cos / sin (half values each) for position p < n_positions. */
static inline const float *t2_rope_cos(const t2_rope *rope, int64_t p) {
    return rope->cos + p * rope->half;
}
static inline const float *t2_rope_sin(const t2_rope *rope, int64_t p) {
    return rope->sin + p * rope->half;
}

#endif

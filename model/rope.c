/* RoPE inverse frequencies and cos/sin tables (see rope.h). Every step mirrors the float32
 * arithmetic of Hugging Face's _compute_default_rope_parameters and
 * _compute_llama3_parameters, including torch's `scalar / tensor` = reciprocal(tensor) *
 * scalar, so the tables equal HF's to the last bit in all but rare rounding cases. */
#include "model/rope.h"

#include <math.h>

#include "base/alloc.h"
#include "base/assert.h"

/* torch's `scalar / tensor` for float32: reciprocal first, then the scalar as float32. */
static float rdiv(double scalar, float x) { return (1.0f / x) * (float)scalar; }

void t2_rope_inv_freq(float *inv_freq, const t2_model_config *cfg) {
    int64_t dim = cfg->head_dim, half = dim / 2;
    T2_ASSERT(dim > 0 && dim % 2 == 0);
    float base = (float)cfg->rope_theta;
    for (int64_t i = 0; i < half; i++) {
        float exponent = (float)(2 * i) / (float)dim;
        inv_freq[i] = rdiv(1.0, powf(base, exponent));
    }
    if (!cfg->rope_scaling_llama3) return;

    float factor = (float)cfg->rope_factor;
    double low = cfg->rope_low_freq_factor, high = cfg->rope_high_freq_factor;
    double old_len = (double)cfg->rope_original_max_position_embeddings;
    float low_wavelen = (float)(old_len / low), high_wavelen = (float)(old_len / high);
    for (int64_t i = 0; i < half; i++) {
        float wavelen = rdiv(2.0 * M_PI, inv_freq[i]);
        float scaled = wavelen > low_wavelen ? inv_freq[i] / factor : inv_freq[i];
        int is_medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
        if (is_medium) {
            float smooth = (rdiv(old_len, wavelen) - (float)low) / (float)(high - low);
            scaled = (1.0f - smooth) * scaled / factor + smooth * scaled;
        }
        inv_freq[i] = scaled;
    }
}

void t2_rope_init(t2_rope *rope, const t2_model_config *cfg, int64_t n_positions) {
    T2_ASSERT(n_positions > 0);
    int64_t half = cfg->head_dim / 2;
    rope->half = half;
    rope->n_positions = n_positions;
    rope->cos = t2_alloc_array((size_t)(n_positions * half), sizeof(float));
    rope->sin = t2_alloc_array((size_t)(n_positions * half), sizeof(float));
    float *inv_freq = t2_alloc_array((size_t)half, sizeof(float));
    t2_rope_inv_freq(inv_freq, cfg);
    for (int64_t p = 0; p < n_positions; p++) {
        for (int64_t i = 0; i < half; i++) {
            float angle = (float)p * inv_freq[i];
            rope->cos[p * half + i] = (float)cos((double)angle);
            rope->sin[p * half + i] = (float)sin((double)angle);
        }
    }
    t2_free(inv_freq);
}

void t2_rope_free(t2_rope *rope) {
    t2_free(rope->cos);
    t2_free(rope->sin);
    rope->cos = rope->sin = NULL;
    rope->n_positions = 0;
}

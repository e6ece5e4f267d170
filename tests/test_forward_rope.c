/* RoPE inverse frequencies and tables (model/rope.h):
 *   - default: theta 10000, head_dim 8 gives 10^0, 10^-1, 10^-2, 10^-3 (by hand);
 *   - llama3 scaling: values printed by transformers' _compute_llama3_parameters (torch
 *     float32), copied from this script, run with /usr/bin/python3:
 *       def default(base, dim):
 *           return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
 *       <_compute_llama3_parameters' body on default(...)>
 *     for (theta 100, head_dim 16, factor 8, low 1, high 4, original 64) — all three bands —
 *     and for Llama 3.1 8B's (theta 500000, head_dim 128, factor 8, low 1, high 4, 8192);
 *   - the tables: cos/sin of position * inv_freq. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "model/rope.h"

static t2_model_config base_config(double theta, int64_t head_dim) {
    t2_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.rope_theta = theta;
    cfg.head_dim = head_dim;
    return cfg;
}

static void set_llama3(t2_model_config *cfg, double factor, double low, double high,
                       int64_t original) {
    cfg->rope_scaling_llama3 = 1;
    cfg->rope_factor = factor;
    cfg->rope_low_freq_factor = low;
    cfg->rope_high_freq_factor = high;
    cfg->rope_original_max_position_embeddings = original;
}

int main(void) {
    t2_model_config cfg = base_config(10000.0, 8);
    float inv[64];
    t2_rope_inv_freq(inv, &cfg);
    float want_default[4] = {1.0f, 0.1f, 0.01f, 0.001f};
    t2_check_close("default inv_freq, theta 1e4, head_dim 8", inv, want_default, 4, 0.0, 1e-7);

    cfg = base_config(100.0, 16);
    set_llama3(&cfg, 8.0, 1.0, 4.0, 64);
    t2_rope_inv_freq(inv, &cfg);
    /* wavelengths 6.3, 11.2 (kept), 19.9, 35.3, 62.8 (smoothed), 112, 199, 353 (/8) */
    float want_small[8] = {1.0f,          0.5623413324356079f,   0.24438458681106567f,
                           0.06430987268686295f, 0.013042256236076355f, 0.007029266096651554f,
                           0.0039528473280370235f, 0.002222849288955331f};
    t2_check_close("llama3 inv_freq, theta 100, head_dim 16", inv, want_small, 8, 0.0, 2e-7);

    cfg = base_config(500000.0, 128);
    set_llama3(&cfg, 8.0, 1.0, 4.0, 8192);
    t2_rope_inv_freq(inv, &cfg);
    const int index[8] = {0, 20, 40, 44, 46, 48, 50, 63};
    float want_31[8] = {1.0f,
                        0.016560440883040428f,
                        3.428102354519069e-05f,
                        1.5096217794052791e-05f,
                        1.0017868589784484e-05f,
                        6.647869668086059e-06f,
                        4.411534519022098e-06f,
                        3.068925877869333e-07f};
    float got_31[8];
    for (int i = 0; i < 8; i++) got_31[i] = inv[index[i]];
    t2_check_close("llama3 inv_freq, Llama 3.1 8B", got_31, want_31, 8, 0.0, 2e-7);

    cfg = base_config(10000.0, 8);
    t2_rope rope;
    t2_rope_init(&rope, &cfg, 50);
    float want_cos[4], want_sin[4];
    for (int i = 0; i < 4; i++) {
        want_cos[i] = (float)cos(37.0 * want_default[i]);
        want_sin[i] = (float)sin(37.0 * want_default[i]);
    }
    t2_check_close("cos table at position 37", t2_rope_cos(&rope, 37), want_cos, 4, 2e-6, 0.0);
    t2_check_close("sin table at position 37", t2_rope_sin(&rope, 37), want_sin, 4, 2e-6, 0.0);
    CHECK(t2_rope_cos(&rope, 0)[3] == 1.0f && t2_rope_sin(&rope, 0)[3] == 0.0f,
          "position 0 is not the identity");
    t2_rope_free(&rope);
    t2_rope_free(&rope);
    return t2_check_exit_code();
}

/* AdamW, learning-rate schedule and gradient clipping (see optim.h; PyTorch semantics). */
#include "rl/optim.h"

#include <math.h>

void t2_adamw_step(const t2_adamw_config *cfg, int64_t step, float lr, int decay, float *p,
                   const float *g, float *m, float *v, int64_t n) {
    const float b1 = cfg->beta1, b2 = cfg->beta2;
    const float bias1 = 1.0f - powf(b1, (float)step);
    const float bias2_sqrt = sqrtf(1.0f - powf(b2, (float)step));
    const float step_size = lr / bias1;
    const float shrink = decay ? 1.0f - lr * cfg->weight_decay : 1.0f;
    for (int64_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        float denom = sqrtf(v[i]) / bias2_sqrt + cfg->eps;
        p[i] = p[i] * shrink - step_size * m[i] / denom;
    }
}

float t2_lr_schedule(float lr, float min_lr, int64_t warmup, int64_t total, int64_t step) {
    if (warmup > 0 && step <= warmup) return lr * (float)step / (float)warmup;
    if (step >= total || total <= warmup) return min_lr;
    double progress = (double)(step - warmup) / (double)(total - warmup);
    return (float)(min_lr + 0.5 * (lr - min_lr) * (1.0 + cos(M_PI * progress)));
}

double t2_sum_squares(const float *x, int64_t n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)x[i] * x[i];
    return sum;
}

float t2_clip_factor(double global_norm, float max_norm) {
    if (max_norm <= 0.0f) return 1.0f;
    double factor = max_norm / (global_norm + 1e-6);
    return factor < 1.0 ? (float)factor : 1.0f;
}

/* log Σ_v exp(z_v / τ) of a row of logits, in double and shifted by the row's maximum: the
 * normaliser of softmax(z / τ) that the per-token losses share (rl/rollout_loss.c: τ = 1;
 * rl/distill_loss.c). Header-only. */
#ifndef T2_RL_LOG_SUM_EXP_H
#define T2_RL_LOG_SUM_EXP_H

#include <math.h>
#include <stdint.h>

/* z: n >= 1 floats; temperature > 0 (1: the plain log-sum-exp, each z_v taken exactly). */
static inline double t2_log_sum_exp(const float *z, int64_t n, double temperature) {
    double max = -INFINITY;
    for (int64_t v = 0; v < n; v++) max = fmax(max, (double)z[v] / temperature);
    double sum = 0.0;
    for (int64_t v = 0; v < n; v++) sum += exp((double)z[v] / temperature - max);
    return max + log(sum);
}

#endif

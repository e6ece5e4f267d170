/* The per-token maths of the rollout loss: exact KL at a context, its logit gradient, and
 * the loss weights of a completion (see rollout_loss.h). Everything accumulates in double. */
#include "rl/rollout_loss.h"

#include <math.h>
#include <stddef.h>

#include "base/assert.h"
#include "rl/log_sum_exp.h"

double t2_rollout_loss_kl(const float *logits, const float *base_logits, int64_t vocab) {
    T2_ASSERT(vocab >= 1);
    double lse = t2_log_sum_exp(logits, vocab, 1.0);
    double base_lse = t2_log_sum_exp(base_logits, vocab, 1.0);
    double kl = 0.0;
    for (int64_t v = 0; v < vocab; v++) {
        double logp = (double)logits[v] - lse;
        double log_ratio = logp - ((double)base_logits[v] - base_lse);
        kl += exp(logp) * log_ratio;
    }
    return kl;
}

void t2_rollout_loss_kl_backward(float *dlogits, const float *logits, const float *base_logits,
                                 int64_t vocab, double kl, double scale) {
    T2_ASSERT(vocab >= 1);
    double lse = t2_log_sum_exp(logits, vocab, 1.0);
    double base_lse = t2_log_sum_exp(base_logits, vocab, 1.0);
    for (int64_t v = 0; v < vocab; v++) {
        double logp = (double)logits[v] - lse;
        double log_ratio = logp - ((double)base_logits[v] - base_lse);
        dlogits[v] += (float)(scale * exp(logp) * (log_ratio - kl));
    }
}

double t2_rollout_loss_reinforce_weights(float *w, double advantage, double beta,
                                         const double *kl, int64_t n, int64_t batch_prompts) {
    T2_ASSERT(n >= 0 && batch_prompts >= 1);
    double inv_batch = 1.0 / (double)batch_prompts;
    double to_go = 0.0; /* Σ_{t' > t} kl[t'], built from the end */
    for (int64_t t = n - 1; t >= 0; t--) {
        double penalty = kl != NULL && beta != 0.0 ? beta * to_go : 0.0;
        w[t] = (float)((advantage - penalty) * inv_batch);
        if (kl != NULL) to_go += kl[t];
    }
    return to_go;
}

void t2_rollout_loss_sft_weights(float *w, int64_t n, int64_t batch_prompts) {
    T2_ASSERT(n >= 1 && batch_prompts >= 1);
    float weight = (float)(1.0 / ((double)batch_prompts * (double)n));
    for (int64_t t = 0; t < n; t++) w[t] = weight;
}

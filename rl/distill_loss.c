/* The distillation term (see distill_loss.h). */
#include "rl/distill_loss.h"

#include <math.h>
#include <stddef.h>

#include "base/assert.h"
#include "rl/log_sum_exp.h"

/* D, and when dlogits is non-NULL scale · τ (q − p) added into it. */
static double distill(float *dlogits, const float *student, const float *teacher, int64_t vocab,
                      double temperature, double scale) {
    T2_ASSERT(vocab >= 1 && temperature > 0.0);
    double lse_p = t2_log_sum_exp(teacher, vocab, temperature);
    double lse_q = t2_log_sum_exp(student, vocab, temperature);
    double kl = 0.0;
    for (int64_t v = 0; v < vocab; v++) {
        double log_p = (double)teacher[v] / temperature - lse_p;
        double log_q = (double)student[v] / temperature - lse_q;
        double p = exp(log_p);
        kl += p * (log_p - log_q);
        if (dlogits != NULL)
            dlogits[v] += (float)(scale * temperature * (exp(log_q) - p));
    }
    return temperature * temperature * kl;
}

double t2_distill_loss(const float *student, const float *teacher, int64_t vocab,
                       double temperature) {
    return distill(NULL, student, teacher, vocab, temperature, 0.0);
}

double t2_distill_loss_backward(float *dlogits, const float *student, const float *teacher,
                                int64_t vocab, double temperature, double scale) {
    return distill(dlogits, student, teacher, vocab, temperature, scale);
}

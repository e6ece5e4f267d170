/* The distillation term (rl/distill_loss.h):
 *   - by hand: equal rows give D = 0 and a zero gradient; a two-token case against its closed
 *     form;
 *   - D >= 0 and the gradient against central finite differences of D (double steps on the
 *     float logits' double copies), for temperatures 0.5, 1 and 4, vocabularies 2, 7 and 300,
 *     logits spread over a few units and over tens of units;
 *   - the backward accumulates (adds scale · gradient to what dlogits holds). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "rl/distill_loss.h"

static void test_by_hand(void) {
    float z[3] = {0.5f, -1.0f, 2.0f}, d[3] = {0, 0, 0}, zero[3] = {0, 0, 0};
    CHECK(fabs(t2_distill_loss(z, z, 3, 1.0)) < 1e-12, "equal rows: D != 0");
    t2_distill_loss_backward(d, z, z, 3, 2.0, 1.0);
    t2_check_close("equal rows: gradient", d, zero, 3, 1e-7, 0.0);
    /* p = (1/2, 1/2), q = softmax(0, ln 3) = (1/4, 3/4): D = 1/2 ln 2 + 1/2 ln(2/3) */
    float student[2] = {0.0f, (float)log(3.0)}, teacher[2] = {1.0f, 1.0f};
    double want = 0.5 * log(2.0) + 0.5 * log(2.0 / 3.0);
    CHECK(fabs(t2_distill_loss(student, teacher, 2, 1.0) - want) < 1e-7,
          "two tokens: D = %.9g; expected %.9g", t2_distill_loss(student, teacher, 2, 1.0), want);
    float grad[2] = {0, 0}, want_grad[2] = {0.25f - 0.5f, 0.75f - 0.5f};
    t2_distill_loss_backward(grad, student, teacher, 2, 1.0, 1.0);
    t2_check_close("two tokens: gradient q - p", grad, want_grad, 2, 1e-7, 0.0);
}

static void test_finite_differences(void) {
    t2_rng rng;
    t2_rng_init(&rng, 41);
    const int64_t vocabs[3] = {2, 7, 300};
    const double temperatures[3] = {0.5, 1.0, 4.0}, spreads[2] = {2.0, 20.0};
    for (int vi = 0; vi < 3; vi++)
        for (int ti = 0; ti < 3; ti++)
            for (int si = 0; si < 2; si++) {
                int64_t vocab = vocabs[vi];
                double tau = temperatures[ti];
                float *s = t2_alloc_array((size_t)vocab, sizeof(float));
                float *t = t2_alloc_array((size_t)vocab, sizeof(float));
                float *grad = t2_alloc_array((size_t)vocab, sizeof(float));
                float *fd = t2_alloc_array((size_t)vocab, sizeof(float));
                for (int64_t v = 0; v < vocab; v++) {
                    s[v] = (float)(spreads[si] * t2_rng_normal(&rng));
                    t[v] = (float)(spreads[si] * t2_rng_normal(&rng));
                }
                double d = t2_distill_loss_backward(grad, s, t, vocab, tau, 1.0);
                CHECK(d >= -1e-9, "D = %g < 0", d);
                CHECK(fabs(d - t2_distill_loss(s, t, vocab, tau)) < 1e-12,
                      "the backward's D differs from the forward's");
                /* steps on one logit at a time; a float logit moved by h exactly */
                for (int64_t v = 0; v < vocab; v++) {
                    float keep = s[v], h = 1e-2f * (float)tau;
                    s[v] = keep + h;
                    double up = t2_distill_loss(s, t, vocab, tau);
                    s[v] = keep - h;
                    double down = t2_distill_loss(s, t, vocab, tau);
                    s[v] = keep;
                    fd[v] = (float)((up - down) / (2.0 * (double)h));
                }
                char what[128];
                snprintf(what, sizeof what, "gradient vs finite differences: vocab %lld, "
                         "temperature %g, spread %g", (long long)vocab, tau, spreads[si]);
                t2_check_close(what, grad, fd, vocab, 2e-4, 2e-3);
                t2_free(s);
                t2_free(t);
                t2_free(grad);
                t2_free(fd);
            }
}

static void test_accumulates(void) {
    float s[4] = {1, 2, 3, 4}, t[4] = {4, 3, 2, 1}, once[4] = {0, 0, 0, 0}, twice[4];
    t2_distill_loss_backward(once, s, t, 4, 1.0, 0.5);
    for (int v = 0; v < 4; v++) twice[v] = 10.0f + once[v];
    float got[4] = {10, 10, 10, 10};
    t2_distill_loss_backward(got, s, t, 4, 1.0, 0.5);
    t2_check_close("the backward adds into dlogits", got, twice, 4, 1e-6, 0.0);
}

int main(void) {
    test_by_hand();
    test_finite_differences();
    test_accumulates();
    return t2_check_exit_code();
}

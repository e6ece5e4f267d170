/* AdamW, clipping and the schedule against values computed by PyTorch 1.13 (torch.optim.AdamW,
 * clip_grad_norm_; the generator is in the comment of each block) and by hand. */
#include <math.h>

#include "check.h"
#include "rl/optim.h"

static void check_adamw(void) {
    /* torch: p = [0.5,-1,2,0.1]; AdamW(lr=0.01, betas=(0.9,0.999), eps=1e-8, wd=0.1);
     * three steps with the grads below; printed p, exp_avg, exp_avg_sq. */
    float p[4] = {0.5f, -1.0f, 2.0f, 0.1f}, m[4] = {0}, v[4] = {0};
    const float grads[3][4] = {{0.1f, -0.2f, 0.3f, 0.0f}, {1.0f, 0.5f, -0.5f, 2.0f},
                               {-0.3f, 0.3f, 0.1f, -1.0f}};
    t2_adamw_config cfg = {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                           .weight_decay = 0.1f};
    for (int step = 1; step <= 3; step++) t2_adamw_step(&cfg, step, cfg.lr, 1, p, grads[step - 1], m, v, 4);
    const float want_p[4] = {0.476308912f, -0.997536838f, 1.98811495f, 0.0899799764f};
    const float want_m[4] = {0.0680999979f, 0.0588000007f, -0.0106999995f, 0.0799999908f};
    const float want_v[4] = {0.00109897996f, 0.000379670062f, 0.000349570124f, 0.00499600032f};
    t2_check_close("adamw p", p, want_p, 4, 1e-6, 1e-5);
    t2_check_close("adamw m", m, want_m, 4, 1e-8, 1e-5);
    /* v differs from torch in the last bits (torch fuses (1 - b2) g g in addcmul) */
    t2_check_close("adamw v", v, want_v, 4, 1e-10, 3e-5);

    /* decay = 0: the same step without the shrink term, by hand for one step from m = v = 0:
     * m = 0.1 g, v = 0.001 g^2, update = lr * g / (|g| + eps') = lr * sign(g). */
    float q[2] = {1.0f, 1.0f}, mq[2] = {0}, vq[2] = {0};
    const float gq[2] = {0.5f, -2.0f};
    t2_adamw_step(&cfg, 1, 0.01f, 0, q, gq, mq, vq, 2);
    const float want_q[2] = {0.99f, 1.01f};
    t2_check_close("adam (no decay) first step", q, want_q, 2, 1e-6, 0);
}

static void check_clip_and_schedule(void) {
    /* torch: clip_grad_norm_([w], 1.0) with grad [3,4,0] -> norm 5, grad * 0.2 */
    float g[3] = {3.0f, 4.0f, 0.0f};
    double norm = sqrt(t2_sum_squares(g, 3));
    CHECK(fabs(norm - 5.0) < 1e-12, "norm %g", norm);
    float factor = t2_clip_factor(norm, 1.0f);
    CHECK(fabsf(factor - 0.2f) < 1e-6f, "clip factor %g, want 0.2", factor);
    CHECK(t2_clip_factor(0.5, 1.0f) == 1.0f, "no clipping below the threshold");
    CHECK(t2_clip_factor(100.0, 0.0f) == 1.0f, "max_norm 0 turns clipping off");

    /* lr 1e-3, min 1e-4, warm-up 10, total 110 (by hand: cosine halfway is the midpoint). */
    const int64_t steps[7] = {1, 5, 10, 11, 60, 110, 200};
    const float want[7] = {1e-4f, 5e-4f, 1e-3f, 0.0009997779521645793f, 5.5e-4f, 1e-4f, 1e-4f};
    float got[7];
    for (int i = 0; i < 7; i++) got[i] = t2_lr_schedule(1e-3f, 1e-4f, 10, 110, steps[i]);
    t2_check_close("lr schedule", got, want, 7, 1e-9, 1e-6);
}

int main(void) {
    check_adamw();
    check_clip_and_schedule();
    return t2_check_exit_code();
}

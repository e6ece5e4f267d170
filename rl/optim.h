/* Optimisation primitives shared by pretraining and expert training: AdamW (Adam when
 * weight_decay = 0), the warm-up + cosine learning-rate schedule, and global gradient-norm
 * clipping. Semantics follow PyTorch's torch.optim.AdamW and torch.nn.utils.clip_grad_norm_.
 * Single-process: callers reduce gradients across ranks before calling these. */
#ifndef T2_RL_OPTIM_H
#define T2_RL_OPTIM_H

#include <stdint.h>

typedef struct t2_adamw_config {
    float lr;           /* peak learning rate */
    float beta1, beta2; /* default 0.9, 0.999 */
    float eps;          /* default 1e-8 */
    float weight_decay; /* decoupled; 0 gives Adam */
} t2_adamw_config;

/* One AdamW step on n parameters, moments m and v (n each, zeroed before step 1), at step
 * number `step` (1-based, for bias correction) with learning rate lr (the schedule's value):
 *   p <- p (1 - lr wd);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
 *   p <- p - lr (m / (1 - b1^step)) / (sqrt(v / (1 - b2^step)) + eps)
 * `decay` = 0 skips weight decay for this array (norm weights, biases). Overwrites p, m, v. */
void t2_adamw_step(const t2_adamw_config *cfg, int64_t step, float lr, int decay, float *p,
                   const float *g, float *m, float *v, int64_t n);

/* Learning rate at step (1-based): linear warm-up from lr/warmup to lr over `warmup` steps,
 * then cosine decay to min_lr at step `total`; min_lr after that. */
float t2_lr_schedule(float lr, float min_lr, int64_t warmup, int64_t total, int64_t step);

/* Sum of squares of n values, accumulated in double (for a global norm over many arrays). */
double t2_sum_squares(const float *x, int64_t n);

/* The factor that clip_grad_norm_ multiplies every gradient by: min(1, max_norm / (norm +
 * 1e-6)); 1 when max_norm <= 0 (clipping off). */
float t2_clip_factor(double global_norm, float max_norm);

#endif

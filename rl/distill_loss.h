/* The distillation term of pretraining (dist/pretrain.h, `teacher`): a student learns the
 * teacher's next-token distributions at temperature τ (Hinton, Vinyals & Dean, "Distilling
 * the Knowledge in a Neural Network", 2015):
 *     p = softmax(z_teacher / τ),  q = softmax(z_student / τ),
 *     D = τ² KL(p ‖ q) = τ² Σ_v p_v (log p_v − log q_v),
 *     ∂D/∂z_student,v = τ (q_v − p_v).
 * The τ² keeps the gradient's size independent of τ (as in the paper). Computed in double
 * per row, stored in float. Does not: run a model, or weigh rows (the caller scales). */
#ifndef T2_RL_DISTILL_LOSS_H
#define T2_RL_DISTILL_LOSS_H

#include <stdint.h>

/* D of one position: student and teacher logits, `vocab` floats each; temperature > 0. */
double t2_distill_loss(const float *student, const float *teacher, int64_t vocab,
                       double temperature);

/* Adds scale · ∂D/∂z_student into dlogits (vocab floats, accumulated) and returns D. */
double t2_distill_loss_backward(float *dlogits, const float *student, const float *teacher,
                                int64_t vocab, double temperature, double scale);

#endif

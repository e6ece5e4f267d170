/* Cross-model transfer of expert bundles (DESIGN.md "Experts transfer between models"): the
 * SVF experts (and the classifier) of a bundle made for one base model, mapped onto another
 * base model by relative depth and relative rank, as a new bundle made for that model.
 *
 * Source. The bundle's experts adapt model.layers.<l>.<rest> for a set of <rest> (e.g.
 * mlp.up_proj.weight) on every layer l = 0 .. L-1, each <rest> on each of those layers: the
 * source's layer count L is 1 + the highest layer its targets name (a bundle carries no
 * config of its model, and a transfer maps whole layers). Each target's mask m (r values,
 * r = min(rows, cols)) is t2_adapter_masks of its parameters: max_mult σ(p) or z.
 *
 * Target. The model of cfg (L' = num_hidden_layers) whose tensors st holds: the new experts
 * adapt model.layers.<l'>.<rest> for the same <rest> set on every layer l' < L', with st's
 * shapes (rows' x cols', r' = min(rows', cols')), listed in name order (strcmp), the order
 * `t2 train` gives its targets.
 *
 * Mapping, for every <rest>, target layer l' and singular value j' < r':
 *   p = l' (L - 1) / (L' - 1)   (p = 0 when L' = 1)    a = ⌊p⌋, b = ⌈p⌉, t = p - a
 *   for each source layer x ∈ {a, b}, with its mask m_x of r_x values:
 *     q = j' (r_x - 1) / (r' - 1)   (q = 0 when r' = 1)    i = ⌊q⌋, k = ⌈q⌉, u = q - i
 *     v_x = (1 - u) m_x[i] + u m_x[k]
 *   z[j'] = (1 - t) v_a + t v_b
 * in double, stored as float. The positions are exact rationals (integer numerator and
 * denominator), and an integer position copies the value without arithmetic, so the same
 * layer count and ranks give the source's masks bit for bit (the paper's same-shape case).
 * The new experts are SVF with the linear parametrization, z = the mapped mask, the source's
 * renormalize setting (and max_mult, which linear ignores), the target's fingerprint, and the
 * source's names, tasks, config text and training summary. The new bundle carries the
 * transfer record: source fingerprint, L, L' and a note saying how the masks were mapped.
 *
 * Refused: LoRA experts; a bundle that already carries a transfer record (mapping a mapped
 * bundle again would compound two interpolations under a record naming only one model;
 * transfer the original bundle instead); a bundle already made for the target model; targets
 * that are not on a transformer block or do not cover every layer 0 .. L-1; a target model
 * without one of the <rest> matrices on some layer. Single-process; no MPI; no I/O. */
#ifndef T2_RL_TRANSFER_H
#define T2_RL_TRANSFER_H

#include <stdint.h>

#include "base/error.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "rl/bundle.h"

/* The model experts are mapped to; everything borrowed. */
typedef struct t2_transfer_target {
    const char *path;           /* the model folder: names it in errors */
    const t2_model_config *cfg; /* its layer count L' = cfg->num_hidden_layers (>= 1) */
    const t2_safetensors *st;   /* its tensors: the shape of each model.layers.<l'>.<rest> */
    const char *fingerprint;    /* t2_model_fingerprint of st */
} t2_transfer_target;

/* Maps every member of src (read from src_path, which names it in errors) onto target as
 * described above, into out. 0, or -1 with err, e.g.
 *   "<src_path>: expert 'math' is lora (rank=8 alpha=16) and cannot be transferred;
 *    expected svf experts",
 *   "<target->path>: no tensor model.layers.1.mlp.up_proj.weight; expected every matrix the
 *    bundle adapts (mlp.up_proj.weight) on every layer",
 * and out zeroed (freeing it is harmless). src is not changed. */
int t2_transfer_bundle(t2_bundle *out, const t2_bundle *src, const char *src_path,
                       const t2_transfer_target *target, t2_error *err);

/* Resamples one mask by relative rank: out[j'] for j' < n_out is in at position
 * q = j' (n_in - 1) / (n_out - 1) (0 when n_out = 1), linearly interpolated between ⌊q⌋ and
 * ⌈q⌉; an integer q copies in[q]. n_in, n_out >= 1. */
void t2_transfer_resample(double *out, int64_t n_out, const float *in, int64_t n_in);

#endif

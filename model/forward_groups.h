/* The forward's weights groups (model/forward.h t2_forward_set_groups), for forward.c: which
 * rows of a chunk use which matrix, and the factored form. Not a public header. */
#ifndef T2_MODEL_FORWARD_GROUPS_H
#define T2_MODEL_FORWARD_GROUPS_H

#include "model/forward.h"

void t2_forward_groups_free(t2_forward *f); /* what set_groups allocated; zeroed ok */

/* f->runs from the chunk's pieces: the rows of each piece (last_only: row p, one row, for
 * the p-th piece) merged while consecutive pieces share a group. No-op without groups. */
void t2_forward_groups_runs(t2_forward *f, const t2_forward_piece *pieces, int64_t n_pieces,
                            int last_only);

/* The layer weights of `group` (f->weights without groups). */
const t2_layer_weights *t2_forward_group_layer(const t2_forward *f, int group, int64_t layer);

/* 1 when every group holds the same matrices kinds [first, first + count) of the layer
 * (always without groups): they run as one GEMM over all rows. */
int t2_forward_groups_share(const t2_forward *f, int64_t layer, t2_linear_kind first,
                            int count);

/* out (rows x n_out) = in (rows x n_in) W_gᵀ (+ out, beta 1) with each row's group's matrix
 * (layer, kind): one GEMM when shared, factored over the factored runs (model/forward.h
 * t2_forward_form) when f->form is factored and a factor exists, else one GEMM per run of
 * rows of one group. */
void t2_forward_groups_linear(t2_forward *f, int64_t layer, t2_linear_kind kind, float *out,
                              int64_t ld_out, const float *in, int64_t ld_in, int64_t rows,
                              int64_t n_out, int64_t n_in, float beta);

#endif

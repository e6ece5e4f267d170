/* Weights groups of the batched forward (see forward.h t2_forward_set_groups): which rows
 * use which matrix, and the factored form Y = ((X V) ⊙ scale_g) Uᵀ. */
#include "model/forward_groups.h"

#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

static t2_weight layer_matrix(const t2_layer_weights *lw, t2_linear_kind kind) {
    const t2_weight by_kind[T2_LINEAR_COUNT] = {lw->wq, lw->wk,     lw->wv,   lw->wo,
                                                lw->w_gate, lw->w_up, lw->w_down};
    T2_ASSERT(kind >= 0 && kind < T2_LINEAR_COUNT);
    return by_kind[kind];
}

/* Everything but the blocks' linear matrices must be group 0's (norms, biases, embeddings,
 * lm_head): the forward reads those once for all rows. */
static void check_group_shares(const t2_model_config *cfg, const t2_model_weights *first,
                               const t2_model_weights *w) {
    T2_ASSERT(w->embed.data == first->embed.data && w->lm_head.data == first->lm_head.data &&
              w->final_norm == first->final_norm);
    for (int64_t l = 0; l < cfg->num_hidden_layers; l++) {
        const t2_layer_weights *a = &first->layers[l], *b = &w->layers[l];
        T2_ASSERT(a->input_norm == b->input_norm && a->post_norm == b->post_norm &&
                  a->bq == b->bq && a->bk == b->bk && a->bv == b->bv && a->bo == b->bo);
    }
}

void t2_forward_set_groups(t2_forward *f, const t2_model_weights *const *groups, int n_groups,
                           const t2_forward_factor *factors, int n_factors) {
    T2_ASSERT(f->n_groups == 0 && n_groups >= 1 && (n_factors == 0 || factors != NULL));
    const t2_model_config *cfg = f->cfg;
    for (int g = 0; g < n_groups; g++) check_group_shares(cfg, groups[0], groups[g]);
    f->n_groups = n_groups;
    f->groups = groups;
    f->weights = groups[0];
    int64_t slots = cfg->num_hidden_layers * T2_LINEAR_COUNT, max_rank = 0;
    f->factor_of = t2_alloc_zero((size_t)slots * sizeof *f->factor_of);
    for (int i = 0; i < n_factors; i++) {
        const t2_forward_factor *fac = &factors[i];
        T2_ASSERT(fac->layer >= 0 && fac->layer < cfg->num_hidden_layers && fac->rank >= 1 &&
                  fac->kind >= 0 && fac->kind < T2_LINEAR_COUNT);
        T2_ASSERT(f->factor_of[fac->layer * T2_LINEAR_COUNT + fac->kind] == NULL);
        f->factor_of[fac->layer * T2_LINEAR_COUNT + fac->kind] = fac;
        if (fac->rank > max_rank) max_rank = fac->rank;
    }
    f->factor_work = t2_alloc_array((size_t)(f->max_rows * (max_rank > 0 ? max_rank : 1)),
                                    sizeof *f->factor_work);
    f->runs = t2_alloc_array((size_t)f->max_rows, sizeof *f->runs);
}

void t2_forward_set_form(t2_forward *f, t2_forward_form form) {
    T2_ASSERT(form >= T2_FORWARD_COMPOSED && form <= T2_FORWARD_FACTORED_ALL);
    f->form = form;
}

void t2_forward_groups_free(t2_forward *f) {
    t2_free(f->factor_of);
    t2_free(f->factor_work);
    t2_free(f->runs);
    f->factor_of = NULL;
    f->factor_work = NULL;
    f->runs = NULL;
    f->n_groups = 0;
}

void t2_forward_groups_runs(t2_forward *f, const t2_forward_piece *pieces, int64_t n_pieces,
                            int last_only) {
    if (f->n_groups == 0) return;
    f->n_runs = 0;
    for (int64_t p = 0; p < n_pieces; p++) {
        int64_t row = last_only ? p : pieces[p].row, n = last_only ? 1 : pieces[p].n;
        int factored = f->form == T2_FORWARD_FACTORED_ALL ||
                       (f->form == T2_FORWARD_FACTORED_DECODE &&
                        n <= T2_FORWARD_FACTORED_PIECE_ROWS);
        t2_forward_run_span *last = f->n_runs > 0 ? &f->runs[f->n_runs - 1] : NULL;
        if (last != NULL && last->group == pieces[p].group && last->factored == factored &&
            last->row + last->n == row)
            last->n += n;
        else
            f->runs[f->n_runs++] = (t2_forward_run_span){pieces[p].group, row, n, factored};
    }
}

const t2_layer_weights *t2_forward_group_layer(const t2_forward *f, int group, int64_t layer) {
    const t2_model_weights *w = f->n_groups > 0 ? f->groups[group] : f->weights;
    return &w->layers[layer];
}

int t2_forward_groups_share(const t2_forward *f, int64_t layer, t2_linear_kind first,
                            int count) {
    for (int g = 1; g < f->n_groups; g++)
        for (int k = (int)first; k < (int)first + count; k++)
            if (layer_matrix(&f->groups[g]->layers[layer], (t2_linear_kind)k).data !=
                layer_matrix(&f->groups[0]->layers[layer], (t2_linear_kind)k).data)
                return 0;
    return 1;
}

/* Runs [first, end) of f->runs (factored, consecutive rows): out = ((in V) ⊙ each row's
 * group's diagonal) Uᵀ (+ out) on their rows. */
static void factored_linear(t2_forward *f, const t2_forward_factor *fac, int64_t first,
                            int64_t end, float *out, int64_t ld_out, const float *in,
                            int64_t ld_in, int64_t n_out, int64_t n_in, float beta) {
    int64_t r = fac->rank, row0 = f->runs[first].row;
    int64_t rows = f->runs[end - 1].row + f->runs[end - 1].n - row0;
    float *t = f->factor_work;
    t2_weight_gemm(t, r, in + row0 * ld_in, ld_in, fac->vt, rows, r, n_in, 0.0f);
    for (int64_t i = first; i < end; i++) {
        const t2_forward_run_span *run = &f->runs[i];
        const float *scale = fac->scale + (int64_t)run->group * r;
        for (int64_t row = run->row - row0; row < run->row - row0 + run->n; row++)
            for (int64_t j = 0; j < r; j++) t[row * r + j] *= scale[j];
    }
    t2_weight_gemm(out + row0 * ld_out, ld_out, t, r, fac->u, rows, n_out, r, beta);
}

void t2_forward_groups_linear(t2_forward *f, int64_t layer, t2_linear_kind kind, float *out,
                              int64_t ld_out, const float *in, int64_t ld_in, int64_t rows,
                              int64_t n_out, int64_t n_in, float beta) {
    if (t2_forward_groups_share(f, layer, kind, 1)) {
        t2_weight_gemm(out, ld_out, in, ld_in,
                       layer_matrix(t2_forward_group_layer(f, 0, layer), kind), rows, n_out,
                       n_in, beta);
        return;
    }
    const t2_forward_factor *fac =
        f->form != T2_FORWARD_COMPOSED ? f->factor_of[layer * T2_LINEAR_COUNT + kind] : NULL;
    for (int64_t i = 0; i < f->n_runs;) {
        const t2_forward_run_span *run = &f->runs[i];
        if (fac != NULL && run->factored) { /* the stretch of factored runs from i */
            int64_t end = i + 1;
            while (end < f->n_runs && f->runs[end].factored &&
                   f->runs[end].row == f->runs[end - 1].row + f->runs[end - 1].n)
                end++;
            factored_linear(f, fac, i, end, out, ld_out, in, ld_in, n_out, n_in, beta);
            i = end;
            continue;
        }
        t2_weight w = layer_matrix(t2_forward_group_layer(f, run->group, layer), kind);
        T2_ASSERT(w.data != NULL); /* an absent matrix runs only in factored form */
        t2_weight_gemm(out + run->row * ld_out, ld_out, in + run->row * ld_in, ld_in, w, run->n,
                       n_out, n_in, beta);
        i++;
    }
}

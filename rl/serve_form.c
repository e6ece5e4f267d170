/* How the serve engine runs the experts' target matrices in a step that mixes experts
 * (see serve_engine.h t2_serve_form):
 *   composed  each group's own W' (composed once at open) over that group's rows: the
 *             shared matrices once per step, the targets once per group present;
 *   factored  W'_g x = U (e_g ⊙ (Vᵀ x)) over the rows of every group at once: U and Vᵀ
 *             are read once whatever the number of groups, at (out + in) r / (out in) the
 *             FLOPs of one W' (1.3-2x), each row scaled by its group's diagonal e_g (base:
 *             s; expert k: c s ⊙ m_k, model/adapter.h t2_adapter_svf_diagonal). Forced
 *             (expert_form factored), every step runs it on every row, prompts included,
 *             and no W' copy exists; under auto it runs the decode rows (prompt pieces
 *             longer than T2_FORWARD_FACTORED_PIECE_ROWS run composed).
 * auto measures: the forward's seconds per row of each form are kept per bucket of
 * (groups present, rows rounded down to a power of two) as moving averages; each form runs
 * twice in a bucket before the faster is taken; then the slower runs again after 16 steps of
 * the bucket, and after twice as many each time it is still the slower (up to 512), so a
 * change of load is seen without paying for the slower form often (the gap is back to 16
 * when the faster changes). U is read from the store's mapping: its pages are touched at
 * open, so a first factored step is not charged with their page faults. A step with one
 * group present always runs composed under auto: the factored form does more arithmetic on
 * the same rows and cannot read fewer bytes. The two forms give the same products up to
 * float32 rounding, so under auto a sampled token may depend on the form its step took.
 * Engine thread, except prepare / free (open and close). */
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "rl/serve_impl.h"

enum { FIRST_GAP = 16, MAX_GAP = 512, FIRST_RUNS = 2 };

static const char *const form_names[3] = {"auto", "composed", "factored"};

const char *t2_serve_form_name(t2_serve_form form) {
    T2_ASSERT(form >= T2_SERVE_FORM_AUTO && form <= T2_SERVE_FORM_FACTORED);
    return form_names[form];
}

int t2_serve_form_from_name(const char *name, t2_serve_form *out) {
    for (int i = 0; i < 3; i++)
        if (strcmp(name, form_names[i]) == 0) {
            *out = (t2_serve_form)i;
            return 0;
        }
    return -1;
}

/* Number of floats the factors need: each target's Vᵀ (r x in) and n_groups diagonals. */
static int64_t factor_floats(const t2_adapter *a, int n_groups) {
    int64_t total = 0;
    for (int t = 0; t < a->n; t++)
        total += a->targets[t].rank * (a->targets[t].cols + n_groups);
    return total;
}

static void build_factors(t2_serve_engine *e) {
    const t2_adapter *a = &e->mixture.adapter;
    int members = e->mixture.k;
    e->n_factors = a->n;
    e->factors = t2_alloc_array((size_t)a->n, sizeof *e->factors);
    e->factor_data = t2_alloc_array((size_t)factor_floats(a, e->n_groups), sizeof(float));
    float *next = e->factor_data;
    for (int t = 0; t < a->n; t++) {
        const t2_adapter_target *target = &a->targets[t];
        int64_t r = target->rank, in = target->cols;
        float *vt = next, *scale = next + r * in;
        next += r * (in + e->n_groups);
        for (int64_t i = 0; i < in; i++) /* V is in x r, row-major */
            for (int64_t j = 0; j < r; j++) vt[j * in + i] = target->v[i * r + j];
        memcpy(scale, target->s, (size_t)r * sizeof(float)); /* the base model: W = U s Vᵀ */
        /* groups 1.. are the mixture's members in order: experts, then the classifier */
        T2_ASSERT(e->n_groups == 1 + members);
        for (int k = 0; k < members; k++)
            t2_adapter_svf_diagonal(a, t, e->mixture.masks + (int64_t)k * a->n_params,
                                    scale + (int64_t)(1 + k) * r);
        volatile float touch = 0.0f; /* fault the mapped U in now, not in a timed step */
        for (int64_t i = 0; i < target->rows * r; i += 1024) touch += target->u[i];
        (void)touch;
        e->factors[t] = (t2_forward_factor){target->layer, target->kind, r,
                                            t2_weight_of_f32((float *)target->u),
                                            t2_weight_of_f32(vt), scale};
    }
}

void t2_serve_form_prepare(t2_serve_engine *e) {
    if (e->n_experts > 0 && e->form != T2_SERVE_FORM_COMPOSED) build_factors(e);
    t2_forward_set_groups(&e->forward, e->weights, e->n_groups, e->factors, e->n_factors);
}

void t2_serve_form_free(t2_serve_engine *e) {
    t2_free(e->factors);
    t2_free(e->factor_data);
    e->factors = NULL;
    e->factor_data = NULL;
    e->n_factors = 0;
}

static t2_serve_form_timing *bucket(t2_serve_engine *e, int groups, int64_t rows) {
    int g = groups < T2_SERVE_FORM_GROUPS ? groups : T2_SERVE_FORM_GROUPS;
    int b = 0;
    while (b + 1 < T2_SERVE_FORM_ROW_BUCKETS && (rows >> (b + 1)) > 0) b++;
    return &e->timing[g - 1][b];
}

/* The measured form: composed, or factored over the decode rows. */
static t2_forward_form measured(int factored) {
    return factored ? T2_FORWARD_FACTORED_DECODE : T2_FORWARD_COMPOSED;
}

t2_forward_form t2_serve_form_pick(t2_serve_engine *e, int groups, int64_t rows) {
    if (e->n_factors == 0 || e->form == T2_SERVE_FORM_COMPOSED) return T2_FORWARD_COMPOSED;
    if (e->form == T2_SERVE_FORM_FACTORED) return T2_FORWARD_FACTORED_ALL; /* no W' copies */
    if (groups < 2) return T2_FORWARD_COMPOSED;
    t2_serve_form_timing *t = bucket(e, groups, rows);
    if (t->runs[0] < FIRST_RUNS || t->runs[1] < FIRST_RUNS)
        return measured(t->runs[1] < t->runs[0]);
    int faster = t->seconds_per_row[1] < t->seconds_per_row[0];
    int64_t steps = t->runs[0] + t->runs[1];
    if (t->gap == 0 || faster != t->faster) { /* first choice, or the faster changed */
        t->gap = FIRST_GAP;
        t->next_probe = steps + t->gap;
        t->faster = faster;
    }
    if (steps < t->next_probe) return measured(faster);
    if (t->gap < MAX_GAP) t->gap *= 2;
    t->next_probe = steps + t->gap;
    return measured(!faster);
}

void t2_serve_form_record(t2_serve_engine *e, int factored, int groups, int64_t rows,
                          double seconds) {
    if (groups < 1 || rows < 1) return;
    t2_serve_form_timing *t = bucket(e, groups, rows);
    double per_row = seconds / (double)rows;
    t->seconds_per_row[factored] =
        t->runs[factored] == 0 ? per_row : 0.5 * t->seconds_per_row[factored] + 0.5 * per_row;
    t->runs[factored]++;
}

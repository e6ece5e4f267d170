/* The forward with weights groups (model/forward.h t2_forward_set_groups): sequences with
 * different weights in one call give the logits of each sequence run alone with its own
 * weights, in composed form, in factored form (decode rows), and with every row factored
 * while groups 1.. have no target matrices at all (T2_FORWARD_FACTORED_ALL, serve's
 * expert_form factored: reading an absent matrix fails an assertion).
 *
 * Fixture: each variant's random model; five target matrices (layer 0 q_proj and down_proj,
 * layer 1 q_proj, v_proj and gate_proj, so both the fused [q k v] and [gate up] products break
 * up, and the last layer's queries, which a prefill with last logits projects for the last
 * rows only, differ by group)
 * get random factors U (out x r), Vᵀ (r x in) and a random positive diagonal per group,
 * and every group's target is W_g = U diag(scale_g) Vᵀ, composed here in double. The
 * reference runs a sequence alone through a forward on its group's weights (no groups);
 * the batch mixes groups out of order, prefill (all or last logits) and decode, and chunks
 * (max_rows 8 cuts
 * through sequences and groups; with max_rows 32 the 12-token prefill is one piece longer
 * than T2_FORWARD_FACTORED_PIECE_ROWS, so the decode-factored call runs it composed and
 * the all-factored call factored). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "model/forward.h"
#include "model_fixture.h"

enum { GROUPS = 3, N_TARGETS = 5, N_SEQS = 5, PREFIX = 12, CAPACITY = 32, MAX_ROWS = 8 };

static const int64_t target_layer[N_TARGETS] = {0, 0, 1, 1, 1};
static const t2_linear_kind target_kind[N_TARGETS] = {T2_LINEAR_Q, T2_LINEAR_DOWN, T2_LINEAR_Q,
                                                      T2_LINEAR_V, T2_LINEAR_GATE};
static const char *const target_names[N_TARGETS] = {
    "model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.down_proj.weight",
    "model.layers.1.self_attn.q_proj.weight", "model.layers.1.self_attn.v_proj.weight",
    "model.layers.1.mlp.gate_proj.weight"};

typedef struct fixture {
    t2_model_config cfg;
    t2_model_weights base, groups[GROUPS];
    const t2_model_weights *group_ptrs[GROUPS];
    /* group 0, then groups 1.. without their target matrices (absent: factored form only) */
    t2_model_weights absent[GROUPS];
    const t2_model_weights *absent_ptrs[GROUPS];
    t2_forward_factor factors[N_TARGETS];
    float *u[N_TARGETS], *vt[N_TARGETS], *scale[N_TARGETS];
} fixture;

static void target_shape(const t2_model_config *cfg, t2_linear_kind kind, int64_t *out,
                         int64_t *in) {
    int64_t d = cfg->hidden_size, q = cfg->num_attention_heads * cfg->head_dim;
    int64_t kv = cfg->num_key_value_heads * cfg->head_dim, ffn = cfg->intermediate_size;
    const int64_t outs[T2_LINEAR_COUNT] = {q, kv, kv, d, ffn, ffn, d};
    const int64_t ins[T2_LINEAR_COUNT] = {d, d, d, q, d, d, ffn};
    *out = outs[kind];
    *in = ins[kind];
}

static void fixture_make(fixture *fx, const char *variant, t2_rng *rng) {
    CHECK(t2_model_fixture_config(&fx->cfg, variant) == 0, "variant %s", variant);
    t2_model_fixture_weights(&fx->base, &fx->cfg, variant);
    for (int g = 0; g < GROUPS; g++) {
        t2_model_weights_share(&fx->groups[g], &fx->base, &fx->cfg, target_names, N_TARGETS);
        fx->group_ptrs[g] = &fx->groups[g];
        if (g > 0)
            t2_model_weights_share_absent(&fx->absent[g], &fx->base, &fx->cfg, target_names,
                                          N_TARGETS);
        fx->absent_ptrs[g] = g > 0 ? &fx->absent[g] : &fx->groups[0];
    }
    for (int t = 0; t < N_TARGETS; t++) {
        int64_t out, in;
        target_shape(&fx->cfg, target_kind[t], &out, &in);
        int64_t r = out < in ? out : in;
        fx->u[t] = t2_alloc_array((size_t)(out * r), sizeof(float));
        fx->vt[t] = t2_alloc_array((size_t)(r * in), sizeof(float));
        fx->scale[t] = t2_alloc_array((size_t)(GROUPS * r), sizeof(float));
        for (int64_t i = 0; i < out * r; i++) fx->u[t][i] = (float)t2_rng_normal(rng) * 0.3f;
        for (int64_t i = 0; i < r * in; i++) fx->vt[t][i] = (float)t2_rng_normal(rng) * 0.3f;
        for (int64_t i = 0; i < GROUPS * r; i++)
            fx->scale[t][i] = 0.5f + (float)t2_rng_uniform(rng);
        fx->factors[t] = (t2_forward_factor){target_layer[t], target_kind[t], r,
                                             t2_weight_of_f32(fx->u[t]),
                                             t2_weight_of_f32(fx->vt[t]), fx->scale[t]};
        for (int g = 0; g < GROUPS; g++) {
            float *w = t2_model_weights_matrix(&fx->groups[g], &fx->cfg, target_names[t])->f32;
            for (int64_t o = 0; o < out; o++)
                for (int64_t i = 0; i < in; i++) {
                    double sum = 0.0;
                    for (int64_t j = 0; j < r; j++)
                        sum += (double)fx->u[t][o * r + j] * fx->scale[t][g * r + j] *
                               fx->vt[t][j * in + i];
                    w[o * in + i] = (float)sum;
                }
        }
    }
}

static void fixture_free(fixture *fx) {
    for (int t = 0; t < N_TARGETS; t++) {
        t2_free(fx->u[t]);
        t2_free(fx->vt[t]);
        t2_free(fx->scale[t]);
    }
    for (int g = 0; g < GROUPS; g++) t2_model_weights_free(&fx->groups[g]);
    for (int g = 1; g < GROUPS; g++) t2_model_weights_free(&fx->absent[g]);
    t2_model_weights_free(&fx->base);
}

/* Logits of every token of one sequence run alone with weights w. */
static void alone(const fixture *fx, const t2_model_weights *w, const int32_t *tokens,
                  int64_t n, float *logits) {
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, &fx->cfg, w, CAPACITY, CAPACITY);
    t2_kv_cache_init(&cache, &fx->cfg, 1, CAPACITY);
    t2_forward_seq seq = {0, n, tokens, 0};
    t2_error err = {{0}};
    CHECK(t2_forward_run(&f, &cache, &seq, 1, T2_FORWARD_LOGITS_ALL, logits, &err) == 0, "%s",
          err.msg);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
}

/* Largest |a - b| over n values, relative to the largest |b| (at least 1). */
static double worst_relative(const float *a, const float *b, int64_t n) {
    double diff = 0.0, scale = 1.0;
    for (int64_t i = 0; i < n; i++) {
        if (fabs((double)a[i] - b[i]) > diff) diff = fabs((double)a[i] - b[i]);
        if (fabs((double)b[i]) > scale) scale = fabs((double)b[i]);
    }
    return diff / scale;
}

static const char *const form_names[] = {"composed", "factored", "all-factored"};

/* One prefill call (`prefill` logits: all, or each sequence's last) then two decode calls
 * (last logits), every sequence with its group, against each sequence alone. Under
 * T2_FORWARD_FACTORED_ALL, groups 1.. have no target matrices (fx->absent_ptrs): the
 * prefill must run factored too. */
static void test_groups(fixture *fx, const char *variant, t2_forward_form form,
                        int64_t max_rows, t2_forward_logits prefill, t2_rng *rng) {
    static const int seq_group[N_SEQS] = {1, 0, 2, 2, 1};
    static const int64_t prefix[N_SEQS] = {PREFIX, 3, 6, 1, 5};
    int64_t vocab = fx->cfg.vocab_size;
    int32_t tokens[N_SEQS][PREFIX + 2];
    for (int s = 0; s < N_SEQS; s++)
        for (int64_t t = 0; t < PREFIX + 2; t++)
            tokens[s][t] = (int32_t)(t2_rng_next(rng) % (uint64_t)vocab);

    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, &fx->cfg, &fx->base, max_rows, CAPACITY);
    t2_forward_set_groups(&f, form == T2_FORWARD_FACTORED_ALL ? fx->absent_ptrs : fx->group_ptrs,
                          GROUPS, fx->factors, N_TARGETS);
    t2_forward_set_form(&f, form);
    t2_kv_cache_init(&cache, &fx->cfg, N_SEQS, CAPACITY);
    float *got = t2_alloc_array((size_t)((N_SEQS * (PREFIX + 2)) * vocab), sizeof(float));
    float *want = t2_alloc_array((size_t)((PREFIX + 2) * vocab), sizeof(float));
    t2_forward_seq batch[N_SEQS];
    t2_error err = {{0}};
    /* slots in reverse, so slot order differs from batch order */
    for (int s = 0; s < N_SEQS; s++)
        batch[s] = (t2_forward_seq){N_SEQS - 1 - s, prefix[s], tokens[s], seq_group[s]};
    CHECK(t2_forward_run(&f, &cache, batch, N_SEQS, prefill, got, &err) == 0, "%s", err.msg);
    int all = prefill == T2_FORWARD_LOGITS_ALL;
    double tolerance = form != T2_FORWARD_COMPOSED ? 1e-4 : 1e-5, worst = 0.0;
    int64_t row = 0;
    for (int s = 0; s < N_SEQS; s++) {
        alone(fx, &fx->groups[seq_group[s]], tokens[s], prefix[s], want);
        double e = all ? worst_relative(got + row * vocab, want, prefix[s] * vocab)
                       : worst_relative(got + s * vocab, want + (prefix[s] - 1) * vocab, vocab);
        if (e > worst) worst = e;
        row += prefix[s];
    }
    for (int step = 0; step < 2; step++) {
        for (int s = 0; s < N_SEQS; s++)
            batch[s] = (t2_forward_seq){N_SEQS - 1 - s, 1, &tokens[s][prefix[s] + step],
                                        seq_group[s]};
        CHECK(t2_forward_run(&f, &cache, batch, N_SEQS, T2_FORWARD_LOGITS_LAST, got, &err) == 0,
              "%s", err.msg);
        for (int s = 0; s < N_SEQS; s++) {
            int64_t n = prefix[s] + step + 1;
            alone(fx, &fx->groups[seq_group[s]], tokens[s], n, want);
            double e = worst_relative(got + s * vocab, want + (n - 1) * vocab, vocab);
            if (e > worst) worst = e;
        }
    }
    CHECK(worst <= tolerance, "%s, %s form, prefill with %s logits: logits differ from each "
          "sequence alone by %.2e (relative); expected at most %.0e", variant,
          form_names[form], all ? "all" : "last", worst, tolerance);
    printf("%-12s %-12s max_rows %2lld, prefill %-4s logits: worst relative difference %.2e\n",
           variant, form_names[form], (long long)max_rows, all ? "all" : "last", worst);
    t2_free(got);
    t2_free(want);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
}

/* The factored form reads the factors, not the groups' matrices: with group 1's scales
 * replaced by group 2's in the factors, a group 1 sequence run factored gives the logits of
 * group 2's weights. */
static void test_factored_reads_factors(fixture *fx, t2_rng *rng) {
    enum { N = 6 };
    int64_t vocab = fx->cfg.vocab_size;
    int32_t tokens[N];
    for (int t = 0; t < N; t++) tokens[t] = (int32_t)(t2_rng_next(rng) % (uint64_t)vocab);
    t2_forward_factor swapped[N_TARGETS];
    float *scales[N_TARGETS];
    for (int t = 0; t < N_TARGETS; t++) {
        int64_t r = fx->factors[t].rank;
        scales[t] = t2_alloc_array((size_t)(GROUPS * r), sizeof(float));
        memcpy(scales[t], fx->scale[t], (size_t)(GROUPS * r) * sizeof(float));
        memcpy(scales[t] + r, fx->scale[t] + 2 * r, (size_t)r * sizeof(float));
        swapped[t] = fx->factors[t];
        swapped[t].scale = scales[t];
    }
    float *got = t2_alloc_array((size_t)(N * vocab), sizeof(float));
    float *want = t2_alloc_array((size_t)(N * vocab), sizeof(float));
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, &fx->cfg, &fx->base, MAX_ROWS, CAPACITY);
    t2_forward_set_groups(&f, fx->group_ptrs, GROUPS, swapped, N_TARGETS);
    t2_forward_set_form(&f, T2_FORWARD_FACTORED_DECODE);
    t2_kv_cache_init(&cache, &fx->cfg, 1, CAPACITY);
    t2_forward_seq seq = {0, N, tokens, 1};
    t2_error err = {{0}};
    CHECK(t2_forward_run(&f, &cache, &seq, 1, T2_FORWARD_LOGITS_ALL, got, &err) == 0, "%s",
          err.msg);
    alone(fx, &fx->groups[2], tokens, N, want);
    double e = worst_relative(got, want, N * vocab);
    CHECK(e <= 1e-4, "factored with group 2's scales: differs from group 2's weights by %.2e",
          e);
    alone(fx, &fx->groups[1], tokens, N, want);
    e = worst_relative(got, want, N * vocab);
    CHECK(e > 1e-3, "factored with group 2's scales: equals group 1's weights (%.2e)", e);
    for (int t = 0; t < N_TARGETS; t++) t2_free(scales[t]);
    t2_free(got);
    t2_free(want);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
}

int main(void) {
    static const char *const variants[] = {"llama", "qwen2", "mistral_tied", "llama_bias"};
    t2_blis_setup(0, 1);
    t2_rng rng;
    t2_rng_init(&rng, 11);
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        fixture fx;
        memset(&fx, 0, sizeof fx);
        fixture_make(&fx, variants[v], &rng);
        for (int form = T2_FORWARD_COMPOSED; form <= T2_FORWARD_FACTORED_ALL; form++)
            for (int last = 0; last < 2; last++) {
                t2_forward_logits prefill = last ? T2_FORWARD_LOGITS_LAST : T2_FORWARD_LOGITS_ALL;
                test_groups(&fx, variants[v], (t2_forward_form)form, MAX_ROWS, prefill, &rng);
                test_groups(&fx, variants[v], (t2_forward_form)form, CAPACITY, prefill, &rng);
            }
        if (v == 0) test_factored_reads_factors(&fx, &rng);
        fixture_free(&fx);
    }
    return t2_check_exit_code();
}

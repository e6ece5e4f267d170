/* The rollout maths against values computed by hand (each derivation is in the comments):
 *   - t2_rollout_advantages: none / center / standardize, with and without clipping, and a
 *     batch of equal rewards;
 *   - the loss weights of rl/rollout_loss.h: REINFORCE (advantage minus the KL's
 *     reward-to-go) and sft;
 *   - the exact KL at one context and its gradient on the logits;
 *   - t2_rollout_check_sampling and the engine's refusal of off-policy sampling;
 *   - t2_rollout_backward on a hand-built model whose next-token distributions are known
 *     exactly: its loss and each rollout's kl for reinforce (β = 0 and β > 0, one pass and one
 *     sequence a pass) and for sft.
 * The gradient of the KL through the model is checked by finite differences in
 * tests/test_rollout_kl.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "model/adapter.h"
#include "model_fixture.h"
#include "rl/rollout.h"

static const double LN2 = 0.69314718055994531, LN3 = 1.0986122886681098;

static void close_to(const char *what, double got, double want, double tol) {
    CHECK(fabs(got - want) <= tol, "%s: %.9g; expected %.9g (by hand)", what, got, want);
}

static void check_floats(const char *what, const float *got, const double *want, int64_t n) {
    float *w = t2_alloc_array((size_t)n, sizeof *w);
    for (int64_t i = 0; i < n; i++) w[i] = (float)want[i];
    t2_check_close(what, got, w, n, 1e-6, 1e-6);
    t2_free(w);
}

static void advantages(void) {
    /* rewards 1, -1, 1, 1: mean 0.5; deviations 0.5, -1.5, 0.5, 0.5; population variance
     * (0.25 + 2.25 + 0.25 + 0.25) / 4 = 3/4, std √3/2 */
    const float r[4] = {1, -1, 1, 1};
    float a[4];
    double s = sqrt(3.0) / 2.0 + 1e-6;
    t2_rollout_advantages(r, 4, T2_REWARD_NORM_NONE, 0.0f, a);
    check_floats("none", a, (const double[]){1, -1, 1, 1}, 4);
    t2_rollout_advantages(r, 4, T2_REWARD_NORM_NONE, 0.5f, a);
    check_floats("none, clip 0.5", a, (const double[]){0.5, -0.5, 0.5, 0.5}, 4);
    t2_rollout_advantages(r, 4, T2_REWARD_NORM_CENTER, 0.0f, a);
    check_floats("center", a, (const double[]){0.5, -1.5, 0.5, 0.5}, 4);
    t2_rollout_advantages(r, 4, T2_REWARD_NORM_CENTER, 1.0f, a);
    check_floats("center, clip 1", a, (const double[]){0.5, -1.0, 0.5, 0.5}, 4);
    /* 0.5 / (√3/2 + 1e-6) ≈ 0.577350, -1.5 / (√3/2 + 1e-6) ≈ -1.732049 */
    t2_rollout_advantages(r, 4, T2_REWARD_NORM_STANDARDIZE, 0.0f, a);
    check_floats("standardize", a, (const double[]){0.5 / s, -1.5 / s, 0.5 / s, 0.5 / s}, 4);
    t2_rollout_advantages(r, 4, T2_REWARD_NORM_STANDARDIZE, 1.0f, a);
    check_floats("standardize, clip 1", a, (const double[]){0.5 / s, -1.0, 0.5 / s, 0.5 / s}, 4);
    /* equal rewards: every deviation is 0, so every advantage is 0 (std 0 + 1e-6) */
    const float same[3] = {-1, -1, -1};
    t2_rollout_advantages(same, 3, T2_REWARD_NORM_STANDARDIZE, 0.0f, a);
    check_floats("standardize, equal rewards", a, (const double[]){0, 0, 0}, 3);
    t2_rollout_advantages(same, 3, T2_REWARD_NORM_CENTER, 0.0f, a);
    check_floats("center, equal rewards", a, (const double[]){0, 0, 0}, 3);
}

static void weights(void) {
    /* A = 0.5, β = 0.1, B = 4, KL = 0.2, 0.4, 0.1: reward-to-go R = 0.5, 0.1, 0, so
     * w = (0.5 - 0.05) / 4, (0.5 - 0.01) / 4, 0.5 / 4 = 0.1125, 0.1225, 0.125; Σ KL = 0.7 */
    const double kl[3] = {0.2, 0.4, 0.1};
    float w[5];
    double sum = t2_rollout_loss_reinforce_weights(w, 0.5, 0.1, kl, 3, 4);
    check_floats("reinforce weights", w, (const double[]){0.1125, 0.1225, 0.125}, 3);
    close_to("reinforce weights: Σ KL", sum, 0.7, 1e-12);
    /* without the KL: A / B everywhere */
    sum = t2_rollout_loss_reinforce_weights(w, -1.0, 0.1, NULL, 3, 4);
    check_floats("reinforce weights, no KL", w, (const double[]){-0.25, -0.25, -0.25}, 3);
    close_to("reinforce weights, no KL: Σ KL", sum, 0.0, 0.0);
    sum = t2_rollout_loss_reinforce_weights(w, 1.0, 0.0, kl, 3, 2);
    check_floats("reinforce weights, β = 0", w, (const double[]){0.5, 0.5, 0.5}, 3);
    close_to("reinforce weights, β = 0: Σ KL", sum, 0.7, 1e-12);
    /* sft: 5 tokens, B = 4: 1 / 20 each */
    t2_rollout_loss_sft_weights(w, 5, 4);
    check_floats("sft weights", w, (const double[]){0.05, 0.05, 0.05, 0.05, 0.05}, 5);
}

static void exact_kl(void) {
    /* logits 0, ln 2, 0: π = 1/4, 1/2, 1/4; base logits all equal (here 5): π_base = 1/3.
     * KL = Σ π ln(3π) = 1/2 ln(3/4) + 1/2 ln(3/2) = ln 3 - 3/2 ln 2 ≈ 0.058892.
     * ∂KL/∂z_v = π_v (ln(3π_v) - KL): v = 0, 2: 1/4 (ln 3 - 2 ln 2 - ln 3 + 3/2 ln 2) = -ln 2 / 8;
     * v = 1: 1/2 (ln 3 - ln 2 - ln 3 + 3/2 ln 2) = ln 2 / 4. */
    const float z[3] = {0.0f, (float)LN2, 0.0f}, base[3] = {5.0f, 5.0f, 5.0f};
    double kl = t2_rollout_loss_kl(z, base, 3);
    close_to("KL(1/4, 1/2, 1/4 ‖ uniform)", kl, LN3 - 1.5 * LN2, 1e-7);
    float d[3] = {1.0f, 2.0f, 3.0f}; /* accumulated into: the scale is 2 */
    t2_rollout_loss_kl_backward(d, z, base, 3, kl, 2.0);
    check_floats("∂KL/∂z, scale 2, added to 1, 2, 3", d,
                 (const double[]){1 - LN2 / 4, 2 + LN2 / 2, 3 - LN2 / 4}, 3);
    /* the same distribution: KL 0 and no gradient */
    const float shifted[3] = {3.0f, 3.0f + (float)LN2, 3.0f};
    close_to("KL(π ‖ π)", t2_rollout_loss_kl(z, shifted, 3), 0.0, 1e-7);
    float zero[3] = {0, 0, 0};
    t2_rollout_loss_kl_backward(zero, z, shifted, 3, 0.0, 1.0);
    check_floats("∂KL/∂z at π = π_base", zero, (const double[]){0, 0, 0}, 3);
}

static void sampling(void) {
    t2_error err = {{0}};
    const struct {
        t2_sampler_params s;
        const char *msg;
    } bad[] = {
        {{0.7f, 0, 1.0f}, "temperature: 0.7 with objective reinforce samples off-policy; "
                          "expected 1"},
        {{0.0f, 0, 1.0f}, "temperature: 0 with objective reinforce samples off-policy; "
                          "expected 1"},
        {{1.0f, 40, 1.0f}, "top_k: 40 with objective reinforce samples off-policy; expected 0"},
        {{1.0f, 0, 0.9f}, "top_p: 0.9 with objective reinforce samples off-policy; expected 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = '\0';
        CHECK(t2_rollout_check_sampling(T2_OBJECTIVE_REINFORCE, &bad[i].s, &err) == -1,
              "case %zu accepted", i);
        CHECK(strncmp(err.msg, bad[i].msg, strlen(bad[i].msg)) == 0, "message '%s'; expected '%s'",
              err.msg, bad[i].msg);
        CHECK(t2_rollout_check_sampling(T2_OBJECTIVE_SFT, &bad[i].s, &err) == 0,
              "sft refused case %zu", i);
    }
    t2_sampler_params on = {1.0f, 0, 1.0f};
    CHECK(t2_rollout_check_sampling(T2_OBJECTIVE_REINFORCE, &on, &err) == 0,
          "temperature 1, top_k 0, top_p 1 refused: %s", err.msg);
}

/* A model whose every next-token distribution is known: the llama fixture's shapes with a
 * vocabulary of 3, every block matrix 0 (attention and MLP add nothing to the residual
 * stream), norms 1, every embedding row all ones (so the final RMSNorm gives all ones, with
 * rms_norm_eps 1e-12), and lm_head row v = z_v / d: the logits are z at every position. */
static void hand_model(t2_model_config *cfg, t2_model_weights *w, double z1) {
    int64_t d = cfg->hidden_size;
    t2_model_weights_init(w, cfg);
    for (int64_t l = 0; l < cfg->num_hidden_layers; l++)
        for (int64_t i = 0; i < d; i++)
            w->layers[l].input_norm[i] = w->layers[l].post_norm[i] = 1.0f;
    for (int64_t i = 0; i < d; i++) w->final_norm[i] = 1.0f;
    for (int64_t i = 0; i < cfg->vocab_size * d; i++) w->embed.f32[i] = 1.0f;
    for (int64_t i = 0; i < d; i++) w->lm_head.f32[1 * d + i] = (float)(z1 / (double)d);
}

/* t2_rollout_backward on the hand model: returns the loss, sets kl[0..3). */
static double run_backward(const t2_model_config *cfg, const t2_model_weights *policy,
                           const t2_model_weights *base, t2_objective objective, float beta,
                           int64_t trainer_bytes, double kl[3]) {
    /* a LoRA adapter on one matrix: its accumulator takes the backward's (X, Δ) */
    const char *names[] = {"model.layers.0.mlp.down_proj.weight"};
    t2_adapter_options ao = {T2_ADAPTER_LORA, T2_SVF_SIGMOID, 0.0f, 0, 1, 1.0f};
    t2_adapter a;
    t2_error err = {{0}};
    CHECK(t2_adapter_init(&a, &ao, cfg, names, 1, NULL, policy, &err) == 0, "lora: %s", err.msg);
    float *params = t2_alloc_array((size_t)a.n_params, sizeof(float));
    float *accum = t2_alloc_zero((size_t)a.accum_size * sizeof(float));
    t2_adapter_init_params(&a, 1, params);
    t2_rollout_options o = {.objective = objective, .max_new_tokens = 3,
                            .sampler = {1.0f, 0, 1.0f}, .kl_beta = beta, .batch_prompts = 4,
                            .trainer_bytes = trainer_bytes};
    t2_rollout_engine e;
    CHECK(t2_rollout_engine_init(&e, cfg, policy, base, NULL, NULL, &o, 3, 2, &err) == 0,
          "engine: %s", err.msg);
    /* rollout 0: prompt 0 2, completion 1 0 1, A = 0.5; rollout 1: prompt 1, completion 1 2,
     * A = -1; rollout 2: prompt 2, empty completion (weighs nothing) */
    int32_t t0[] = {0, 2, 1, 0, 1}, t1[] = {1, 1, 2}, t2[] = {2};
    t2_rollout r[3] = {
        {.tokens = t0, .prompt_len = 2, .completion_len = 3, .advantage = 0.5f, .kl = -9},
        {.tokens = t1, .prompt_len = 1, .completion_len = 2, .advantage = -1.0f, .kl = -9},
        {.tokens = t2, .prompt_len = 1, .completion_len = 0, .advantage = 1.0f, .kl = -9},
    };
    t2_adapter_grad_ctx ctx = {&a, params, accum};
    double loss = 0.0;
    CHECK(t2_rollout_backward(&e, r, 3, &ctx, &loss, &err) == 0, "backward: %s", err.msg);
    for (int i = 0; i < 3; i++) kl[i] = r[i].kl;
    t2_rollout_engine_free(&e);
    t2_free(accum);
    t2_free(params);
    t2_adapter_free(&a);
    return loss;
}

static void backward(void) {
    t2_model_config cfg;
    CHECK(t2_model_fixture_config(&cfg, "llama") == 0, "no llama fixture");
    cfg.vocab_size = 3;
    cfg.rms_norm_eps = 1e-12f;
    t2_model_weights policy, base;
    hand_model(&cfg, &policy, LN2); /* π = 1/4, 1/2, 1/4 everywhere */
    hand_model(&cfg, &base, 0.0);   /* π_base = 1/3 everywhere */
    /* -log π(a): ln 2 for token 1, 2 ln 2 for tokens 0 and 2; K = KL at every context =
     * ln 3 - 3/2 ln 2 (exact_kl). B = 4. */
    double K = LN3 - 1.5 * LN2, kl[3];
    /* reinforce, β = 0: w = A / B.
     * rollout 0: 0.5/4 (ln 2 + 2 ln 2 + ln 2) = 0.5 ln 2; rollout 1: -1/4 (ln 2 + 2 ln 2) =
     * -0.75 ln 2; total -0.25 ln 2; no KL. */
    double loss = run_backward(&cfg, &policy, &base, T2_OBJECTIVE_REINFORCE, 0.0f, 0, kl);
    close_to("reinforce, β = 0: loss", loss, -0.25 * LN2, 1e-6);
    for (int i = 0; i < 3; i++) close_to("reinforce, β = 0: kl", kl[i], 0.0, 0.0);
    /* reinforce, β = 0.1: w_t = (A - 0.1 R_t) / 4 with reward-to-go R = 2K, K, 0 (rollout 0)
     * and K, 0 (rollout 1):
     *   rollout 0: [(0.5 - 0.2K) ln 2 + (0.5 - 0.1K) 2 ln 2 + 0.5 ln 2] / 4 = (0.5 - 0.1K) ln 2
     *   rollout 1: [(-1 - 0.1K) ln 2 + (-1) 2 ln 2] / 4 = -0.75 ln 2 - 0.025K ln 2
     *   KL term: β/B Σ KL_t = 0.1/4 · 5K = 0.125K
     * total: -0.25 ln 2 - 0.125K ln 2 + 0.125K; kl = 3K, 2K, 0 */
    double want = -0.25 * LN2 - 0.125 * K * LN2 + 0.125 * K;
    for (int pass = 0; pass < 2; pass++) {
        /* trainer_bytes 1: one sequence a training pass; 0: the whole chunk at once */
        loss = run_backward(&cfg, &policy, &base, T2_OBJECTIVE_REINFORCE, 0.1f, pass ? 1 : 0, kl);
        close_to(pass ? "reinforce, β = 0.1, a pass per sequence: loss"
                      : "reinforce, β = 0.1: loss", loss, want, 1e-6);
        close_to("reinforce, β = 0.1: kl of rollout 0", kl[0], 3 * K, 1e-6);
        close_to("reinforce, β = 0.1: kl of rollout 1", kl[1], 2 * K, 1e-6);
        close_to("reinforce, β = 0.1: kl of the empty rollout", kl[2], 0.0, 0.0);
    }
    /* sft (β ignored): w = 1 / (B n): rollout 0: (ln 2 + 2 ln 2 + ln 2) / 12 = ln 2 / 3;
     * rollout 1: (ln 2 + 2 ln 2) / 8 = 3/8 ln 2; total 17/24 ln 2; no KL */
    loss = run_backward(&cfg, &policy, &base, T2_OBJECTIVE_SFT, 0.1f, 0, kl);
    close_to("sft: loss", loss, 17.0 / 24.0 * LN2, 1e-6);
    for (int i = 0; i < 3; i++) close_to("sft: kl", kl[i], 0.0, 0.0);

    /* the engine refuses off-policy sampling for reinforce, not for sft */
    t2_rollout_options o = {.objective = T2_OBJECTIVE_REINFORCE, .max_new_tokens = 3,
                            .sampler = {0.7f, 0, 1.0f}, .batch_prompts = 4};
    t2_rollout_engine e;
    t2_error err = {{0}};
    CHECK(t2_rollout_engine_init(&e, &cfg, &policy, &base, NULL, NULL, &o, 3, 2, &err) == -1,
          "the engine accepted temperature 0.7 for reinforce");
    CHECK(strstr(err.msg, "temperature: 0.7") != NULL, "message '%s'", err.msg);
    t2_rollout_engine_free(&e);
    o.objective = T2_OBJECTIVE_SFT;
    CHECK(t2_rollout_engine_init(&e, &cfg, &policy, &base, NULL, NULL, &o, 3, 2, &err) == 0,
          "sft at temperature 0.7: %s", err.msg);
    t2_rollout_engine_free(&e);
    t2_model_weights_free(&policy);
    t2_model_weights_free(&base);
}

int main(void) {
    t2_blis_setup(1, 1);
    advantages();
    weights();
    exact_kl();
    sampling();
    backward();
    return t2_check_exit_code();
}

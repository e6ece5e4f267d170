/* The KL penalty of the rollout loss (rl/rollout.h) against finite differences, through the
 * whole engine (t2_rollout_backward: base and policy forwards, the KL's logit term inside the
 * training backward, the adapter's accumulator), on a small model whose MLP matrices carry an
 * SVF expert away from its initial point (test_adapter_fixture.h), the base model being the
 * un-adapted one. Advantages are 0, so the gradient is the KL part alone.
 *
 *   1. Fixed completions (two rollouts of different lengths): the engine's gradient must be
 *      the gradient of the KL surrogate, computed here independently in double from the
 *      logits of both models (tests/test_train_reference.h):
 *        f(θ) = (β / B) Σ_p Σ_t [ KL_t(θ) + R̄_t log π_θ(a_t) ],
 *        KL_t = Σ_v π(v|c_t) (log π(v|c_t) − log π_base(v|c_t)),  R̄_t = Σ_{t' > t} KL_t'(θ0)
 *      (R̄ held at the current parameters: the reward-to-go the engine puts in the weights);
 *      its loss must be f(θ0), each rollout's kl Σ_t KL_t.
 *   2. The whole sequence-level KL: for completions of two tokens after a fixed prompt,
 *        KL_seq(θ) = KL_1(c_1) + Σ_{a_1} π(a_1|c_1) KL_2(c_1 a_1)
 *      is the exact KL(π ‖ π_base) of the two-token completions (the chain rule; the last
 *      step summed analytically). The engine's gradient for the rollout (prompt, a_1, any
 *      a_2), weighted by π(a_1|c_1) and summed over every a_1 of the vocabulary, is the
 *      expectation of its estimate, and must equal ∂KL_seq/∂θ by central differences.
 * The old per-token k1 estimate (k_t = log π(a_t) − log π_base(a_t), stop-gradient) fails
 * both. Every relative error must be <= 1e-3. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "model/adapter.h"
#include "rl/rollout.h"
#include "test_adapter_fixture.h"
#include "test_train_reference.h"

enum { N_ENTRIES = 3, PROMPT_LEN = 3, MAX_NEW = 4 };
static const double STEP = 1e-4;

/* The double side: policy logits of W'(p) composed in double, base logits fixed. */
typedef struct double_side {
    const t2_adapter *a;
    t2_train_ref ref;           /* the policy, targets recomposed from p */
    const t2_model_weights *tw; /* the float weights ref mirrors */
    double *p;                  /* n_params */
} double_side;

static void set_target(double_side *ds, int i) {
    const t2_adapter_target *t = &ds->a->targets[i];
    double *w = t2_train_ref_param(&ds->ref, t2_adapter_fixture_weight(ds->tw, t->layer, t->kind));
    t2_adapter_fixture_compose(ds->a, t, ds->p + t->offset, w);
}

static void set_all(double_side *ds) {
    for (int i = 0; i < ds->a->n; i++) set_target(ds, i);
}

/* log softmax of a row of n doubles into out. */
static void log_softmax(double *out, const double *z, int64_t n) {
    double top = z[0], sum = 0.0;
    for (int64_t v = 1; v < n; v++) top = z[v] > top ? z[v] : top;
    for (int64_t v = 0; v < n; v++) sum += exp(z[v] - top);
    for (int64_t v = 0; v < n; v++) out[v] = z[v] - top - log(sum);
}

/* KL(softmax(z) ‖ softmax(zb)) in double; *logp_target = log softmax(z)[target] if asked. */
static double kl_row(const double *z, const double *zb, int64_t vocab, int32_t target,
                     double *logp_target) {
    double lp[256], lb[256];
    T2_ASSERT(vocab <= 256);
    log_softmax(lp, z, vocab);
    log_softmax(lb, zb, vocab);
    double kl = 0.0;
    for (int64_t v = 0; v < vocab; v++) kl += exp(lp[v]) * (lp[v] - lb[v]);
    if (logp_target != NULL) *logp_target = lp[target];
    return kl;
}

/* A batch view of rollouts: inputs tokens[0..L-1], targets tokens[1..L] (weights unused). */
typedef struct rows {
    t2_train_batch batch;
    int32_t *tokens, *targets;
    float *weights;
} rows;

static void rows_init(rows *r, const t2_rollout *ro, int64_t n) {
    int64_t len = 1;
    for (int64_t p = 0; p < n; p++)
        if (ro[p].prompt_len + ro[p].completion_len - 1 > len)
            len = ro[p].prompt_len + ro[p].completion_len - 1;
    r->tokens = t2_alloc_array((size_t)(n * len), sizeof(int32_t));
    r->targets = t2_alloc_array((size_t)(n * len), sizeof(int32_t));
    r->weights = t2_alloc_zero((size_t)(n * len) * sizeof(float));
    for (int64_t p = 0; p < n; p++) {
        int64_t total = ro[p].prompt_len + ro[p].completion_len;
        for (int64_t t = 0; t < len; t++) {
            r->tokens[p * len + t] = t < total ? ro[p].tokens[t] : 0;
            r->targets[p * len + t] = t + 1 < total ? ro[p].tokens[t + 1] : 0;
        }
    }
    r->batch = (t2_train_batch){n, len, r->tokens, r->targets, r->weights};
}

static void rows_free(rows *r) {
    t2_free(r->tokens);
    t2_free(r->targets);
    t2_free(r->weights);
}

/* Part 1's surrogate f (see the top) at the double side's parameters; base_logits are the
 * base model's over the same rows; to_go (one per row cell) is R̄, filled when fill_to_go;
 * kl_out[p] = Σ_t KL_t of rollout p when non-NULL. */
static double surrogate(double_side *ds, const rows *r, const t2_rollout *ro, int64_t n,
                        const double *base_logits, double scale, double *to_go, int fill_to_go,
                        double *kl_out) {
    int64_t vocab = ds->ref.cfg->vocab_size, len = r->batch.seq_len;
    double *logits = t2_alloc_array((size_t)(n * len * vocab), sizeof(double));
    t2_train_ref_loss(&ds->ref, &r->batch, logits);
    double f = 0.0;
    for (int64_t p = 0; p < n; p++) {
        int64_t first = ro[p].prompt_len - 1, last = first + ro[p].completion_len - 1;
        double later = 0.0, sum = 0.0;
        for (int64_t t = last; t >= first; t--) {
            int64_t cell = p * len + t;
            double logp;
            double kl = kl_row(logits + cell * vocab, base_logits + cell * vocab, vocab,
                               r->targets[cell], &logp);
            if (fill_to_go) to_go[cell] = later;
            f += kl + to_go[cell] * logp;
            later += kl;
            sum += kl;
        }
        if (kl_out != NULL) kl_out[p] = sum;
    }
    t2_free(logits);
    return scale * f;
}

/* Part 2's KL_seq at the double side's parameters: rows are the V sequences (prompt, a_1). */
static double sequence_kl(double_side *ds, const rows *r, const double *base_logits,
                          double *first_probs) {
    int64_t vocab = ds->ref.cfg->vocab_size, len = r->batch.seq_len;
    double *logits = t2_alloc_array((size_t)(vocab * len * vocab), sizeof(double));
    t2_train_ref_loss(&ds->ref, &r->batch, logits);
    /* c_1 is the prompt: the same row PROMPT_LEN - 1 in every sequence */
    const double *z1 = logits + (PROMPT_LEN - 1) * vocab;
    const double *b1 = base_logits + (PROMPT_LEN - 1) * vocab;
    double lp[256];
    log_softmax(lp, z1, vocab);
    double kl = kl_row(z1, b1, vocab, 0, NULL);
    for (int64_t a = 0; a < vocab; a++) {
        int64_t cell = a * len + PROMPT_LEN;
        kl += exp(lp[a]) *
              kl_row(logits + cell * vocab, base_logits + cell * vocab, vocab, 0, NULL);
        if (first_probs != NULL) first_probs[a] = exp(lp[a]);
    }
    t2_free(logits);
    return kl;
}

static double worst_error = 0.0;

static void report(const char *what, double got, double want, double scale) {
    double err = fabs(got - want) / scale;
    worst_error = fmax(worst_error, err);
    CHECK(err <= 1e-3, "%s: engine gradient %.9g, finite difference %.9g, relative error %.3g",
          what, got, want, err);
}

/* What both parts share: the fixture, its adapter, parameters, policy and engine. */
typedef struct setup {
    t2_adapter_fixture f;
    t2_adapter a;
    float *params;
    t2_model_weights tw; /* the policy: base with W'(params) */
    t2_rollout_engine e;
    double_side ds;
    t2_train_ref base;   /* the base model in double */
} setup;

static void setup_init(setup *s, float beta, int64_t batch_prompts, int64_t max_prompts) {
    t2_adapter_fixture_init(&s->f, 0, 0, T2_TARGET_SET_MLP);
    t2_adapter_options o = {T2_ADAPTER_SVF, T2_SVF_SIGMOID, 2.0f, 1, 0, 0.0f};
    t2_error err = {{0}};
    int status = t2_adapter_init(&s->a, &o, &s->f.cfg, t2_adapter_fixture_names(&s->f),
                                 s->f.store.n, &s->f.store, &s->f.w, &err);
    CHECK(status == 0, "adapter: %s", err.msg);
    s->params = t2_alloc((size_t)s->a.n_params * sizeof(float));
    t2_adapter_fixture_params(&s->a, 5, s->params);
    t2_model_weights_init(&s->tw, &s->f.cfg);
    memcpy(s->tw.slab, s->f.w.slab, (size_t)s->f.w.slab_floats * sizeof(float));
    t2_adapter_compose(&s->a, s->params, &s->tw);
    t2_rollout_options ro = {.objective = T2_OBJECTIVE_REINFORCE, .max_new_tokens = MAX_NEW,
                             .sampler = {1.0f, 0, 1.0f}, .kl_beta = beta,
                             .batch_prompts = batch_prompts};
    status = t2_rollout_engine_init(&s->e, &s->f.cfg, &s->tw, &s->f.w, NULL, NULL, &ro,
                                    max_prompts, PROMPT_LEN, &err);
    CHECK(status == 0, "engine: %s", err.msg);
    s->ds = (double_side){&s->a, {0}, &s->tw, t2_alloc((size_t)s->a.n_params * sizeof(double))};
    t2_train_ref_init(&s->ds.ref, &s->f.cfg, &s->tw);
    for (int64_t j = 0; j < s->a.n_params; j++) s->ds.p[j] = s->params[j];
    set_all(&s->ds);
    t2_train_ref_init(&s->base, &s->f.cfg, &s->f.w);
}

static void setup_free(setup *s) {
    t2_train_ref_free(&s->base);
    t2_train_ref_free(&s->ds.ref);
    t2_free(s->ds.p);
    t2_rollout_engine_free(&s->e);
    t2_model_weights_free(&s->tw);
    t2_free(s->params);
    t2_adapter_free(&s->a);
    t2_adapter_fixture_free(&s->f);
}

/* The engine's gradient for rollouts ro[0..n) into grad (n_params); its loss returned. */
static double engine_gradient(setup *s, t2_rollout *ro, int64_t n, float *accum, float *grad) {
    memset(accum, 0, (size_t)s->a.accum_size * sizeof(float));
    t2_adapter_grad_ctx ctx = {&s->a, s->params, accum};
    t2_error err = {{0}};
    double loss = 0.0;
    CHECK(t2_rollout_backward(&s->e, ro, n, &ctx, &loss, &err) == 0, "backward: %s", err.msg);
    if (grad != NULL) t2_adapter_gradient(&s->a, s->params, accum, grad);
    return loss;
}

/* Checks grad (n_params) against central differences of fn along a random direction and at
 * each target's largest entry and two random ones. */
typedef double (*objective_fn)(setup *s, void *arg);

static double central(setup *s, objective_fn fn, void *arg, const double *dir, int64_t entry) {
    int64_t n = s->a.n_params;
    double *keep = t2_alloc((size_t)n * sizeof(double));
    memcpy(keep, s->ds.p, (size_t)n * sizeof(double));
    double value[2];
    for (int side = 0; side < 2; side++) {
        double h = side == 0 ? STEP : -STEP;
        if (dir != NULL)
            for (int64_t j = 0; j < n; j++) s->ds.p[j] = keep[j] + h * dir[j];
        else
            s->ds.p[entry] = keep[entry] + h;
        set_all(&s->ds);
        value[side] = fn(s, arg);
    }
    memcpy(s->ds.p, keep, (size_t)n * sizeof(double));
    set_all(&s->ds);
    t2_free(keep);
    return (value[0] - value[1]) / (2.0 * STEP);
}

static void check_gradient(setup *s, const char *tag, const float *grad, objective_fn fn,
                           void *arg, uint64_t seed) {
    t2_rng rng;
    t2_rng_init(&rng, seed);
    int64_t n = s->a.n_params;
    double *dir = t2_alloc((size_t)n * sizeof(double));
    double predicted = 0.0, norm = 0.0;
    for (int64_t j = 0; j < n; j++) {
        dir[j] = t2_rng_normal(&rng);
        predicted += grad[j] * dir[j];
        norm += (double)grad[j] * grad[j];
    }
    norm = sqrt(norm);
    CHECK(norm > 0.0, "%s: the gradient is all zero", tag);
    char what[160];
    snprintf(what, sizeof what, "%s, random direction", tag);
    double fd = central(s, fn, arg, dir, 0);
    report(what, predicted, fd, fmax(fabs(fd), norm));
    for (int i = 0; i < s->a.n; i++) {
        const t2_adapter_target *t = &s->a.targets[i];
        const float *g = grad + t->offset;
        double largest = 0.0;
        int64_t arg_max = 0;
        for (int64_t j = 0; j < t->n_params; j++) {
            if (fabs(g[j]) > largest) {
                largest = fabs(g[j]);
                arg_max = j;
            }
        }
        CHECK(largest > 0.0, "%s %s: the gradient is all zero", tag, t->name);
        for (int k = 0; k < N_ENTRIES; k++) {
            int64_t j = k == 0 ? arg_max : (int64_t)(t2_rng_next(&rng) % (uint64_t)t->n_params);
            fd = central(s, fn, arg, NULL, t->offset + j);
            snprintf(what, sizeof what, "%s, %s parameter %lld", tag, t->name, (long long)j);
            report(what, g[j], fd, fmax(fabs(fd), 0.01 * largest));
        }
    }
    t2_free(dir);
}

/* ---- part 1 ---- */
typedef struct part1 {
    rows r;
    const t2_rollout *ro;
    int64_t n;
    double *base_logits, *to_go, scale;
} part1;

static double part1_value(setup *s, void *arg) {
    part1 *p = arg;
    return surrogate(&s->ds, &p->r, p->ro, p->n, p->base_logits, p->scale, p->to_go, 0, NULL);
}

static void fixed_completions(void) {
    enum { B = 3 };
    const float beta = 0.5f;
    setup s;
    setup_init(&s, beta, B, 2);
    int64_t vocab = s.f.cfg.vocab_size;
    /* two "sampled" rollouts: fixed tokens, completions of 4 and 2 tokens */
    int32_t seq0[] = {7, 3, 41, 12, 0, 33, 9}, seq1[] = {25, 2, 18, 48, 30};
    t2_rollout ro[2] = {
        {.tokens = seq0, .prompt_len = 3, .completion_len = 4},
        {.tokens = seq1, .prompt_len = 3, .completion_len = 2},
    };
    part1 p = {.ro = ro, .n = 2, .scale = beta / (double)B};
    rows_init(&p.r, ro, 2);
    int64_t cells = 2 * p.r.batch.seq_len;
    p.base_logits = t2_alloc_array((size_t)(cells * vocab), sizeof(double));
    p.to_go = t2_alloc_zero((size_t)cells * sizeof(double));
    t2_train_ref_loss(&s.base, &p.r.batch, p.base_logits);
    double kl_want[2];
    double f0 = surrogate(&s.ds, &p.r, ro, 2, p.base_logits, p.scale, p.to_go, 1, kl_want);

    float *accum = t2_alloc_array((size_t)s.a.accum_size, sizeof(float));
    float *grad = t2_alloc_array((size_t)s.a.n_params, sizeof(float));
    double loss = engine_gradient(&s, ro, 2, accum, grad);
    CHECK(fabs(loss - f0) <= 1e-5 * fabs(f0) + 1e-7,
          "fixed completions: loss %.9g; double surrogate %.9g", loss, f0);
    for (int p_i = 0; p_i < 2; p_i++)
        CHECK(fabs(ro[p_i].kl - kl_want[p_i]) <= 1e-5 * kl_want[p_i] + 1e-7,
              "rollout %d: kl %.9g; double Σ_t KL_t %.9g", p_i, ro[p_i].kl, kl_want[p_i]);
    CHECK(kl_want[0] > 1e-3 && kl_want[1] > 1e-3,
          "the expert hardly moves the model (KL %.3g, %.3g): the check would be weak",
          kl_want[0], kl_want[1]);
    fprintf(stderr, "fixed completions: loss %.9g (double %.9g), KL %.6g and %.6g\n", loss, f0,
            ro[0].kl, ro[1].kl);
    check_gradient(&s, "fixed completions", grad, part1_value, &p, 77);

    /* one sequence per training pass: the same gradient, up to rounding */
    t2_rollout_engine one;
    t2_rollout_options o1 = s.e.options;
    o1.trainer_bytes = 1;
    t2_error err = {{0}};
    CHECK(t2_rollout_engine_init(&one, &s.f.cfg, &s.tw, &s.f.w, NULL, NULL, &o1, 2, PROMPT_LEN,
                                 &err) == 0, "engine: %s", err.msg);
    CHECK(one.pass_seqs == 1, "pass_seqs %lld; expected 1", (long long)one.pass_seqs);
    t2_rollout_engine keep = s.e;
    s.e = one;
    float *grad1 = t2_alloc_array((size_t)s.a.n_params, sizeof(float));
    double loss1 = engine_gradient(&s, ro, 2, accum, grad1);
    s.e = keep;
    CHECK(fabs(loss1 - loss) <= 1e-6 * fabs(loss), "one sequence a pass: loss %.9g; %.9g", loss1,
          loss);
    t2_check_close("one sequence a pass: gradient", grad1, grad, s.a.n_params, 1e-6, 1e-4);
    t2_rollout_engine_free(&one);

    t2_free(grad1);
    t2_free(grad);
    t2_free(accum);
    t2_free(p.to_go);
    t2_free(p.base_logits);
    rows_free(&p.r);
    setup_free(&s);
}

/* ---- part 2 ---- */
typedef struct part2 {
    rows r;              /* the V sequences (prompt, a_1) */
    double *base_logits;
} part2;

static double part2_value(setup *s, void *arg) {
    part2 *p = arg;
    return sequence_kl(&s->ds, &p->r, p->base_logits, NULL);
}

static void sequence_level(void) {
    setup s;
    setup_init(&s, 1.0f, 1, 1);
    int64_t vocab = s.f.cfg.vocab_size;
    const int32_t prompt[PROMPT_LEN] = {11, 4, 29};
    /* the double side's rows: every (prompt, a_1), a_1 in the vocabulary */
    t2_rollout *pairs = t2_alloc_zero((size_t)vocab * sizeof *pairs);
    int32_t *tokens = t2_alloc_array((size_t)(vocab * (PROMPT_LEN + 2)), sizeof(int32_t));
    for (int64_t a = 0; a < vocab; a++) {
        int32_t *seq = tokens + a * (PROMPT_LEN + 2);
        memcpy(seq, prompt, sizeof prompt);
        seq[PROMPT_LEN] = (int32_t)a;
        seq[PROMPT_LEN + 1] = (int32_t)((a * 7 + 3) % vocab); /* a_2: any token */
        pairs[a] = (t2_rollout){.tokens = seq, .prompt_len = PROMPT_LEN, .completion_len = 2};
    }
    part2 p;
    /* rows of PROMPT_LEN + 1 tokens: inputs prompt, a_1 (the target a_2 is never read) */
    rows_init(&p.r, pairs, vocab);
    int64_t cells = vocab * p.r.batch.seq_len;
    p.base_logits = t2_alloc_array((size_t)(cells * vocab), sizeof(double));
    t2_train_ref_loss(&s.base, &p.r.batch, p.base_logits);
    double *probs = t2_alloc_array((size_t)vocab, sizeof(double));
    double kl_seq = sequence_kl(&s.ds, &p.r, p.base_logits, probs);

    /* E over a_1 of the engine's estimate: Σ_a π(a|c_1) · accumulator(prompt, a, a_2) (the
     * accumulator and the gradient are linear) */
    float *accum = t2_alloc_array((size_t)s.a.accum_size, sizeof(float));
    double *expected = t2_alloc_zero((size_t)s.a.accum_size * sizeof(double));
    double kl_mean = 0.0;
    for (int64_t a = 0; a < vocab; a++) {
        engine_gradient(&s, &pairs[a], 1, accum, NULL);
        for (int64_t i = 0; i < s.a.accum_size; i++) expected[i] += probs[a] * accum[i];
        kl_mean += probs[a] * pairs[a].kl;
    }
    float *accum_f = t2_alloc_array((size_t)s.a.accum_size, sizeof(float));
    for (int64_t i = 0; i < s.a.accum_size; i++) accum_f[i] = (float)expected[i];
    float *grad = t2_alloc_array((size_t)s.a.n_params, sizeof(float));
    t2_adapter_gradient(&s.a, s.params, accum_f, grad);
    fprintf(stderr, "sequence level: KL of two-token completions %.9g, E[Σ_t KL_t] %.9g\n",
            kl_seq, kl_mean);
    CHECK(fabs(kl_mean - kl_seq) <= 1e-5 * kl_seq,
          "E over a_1 of the rollouts' kl %.9g; exact sequence KL %.9g", kl_mean, kl_seq);
    check_gradient(&s, "sequence-level KL", grad, part2_value, &p, 78);

    t2_free(grad);
    t2_free(accum_f);
    t2_free(expected);
    t2_free(accum);
    t2_free(probs);
    t2_free(p.base_logits);
    rows_free(&p.r);
    t2_free(tokens);
    t2_free(pairs);
    setup_free(&s);
}

int main(void) {
    t2_blis_setup(1, 1);
    fixed_completions();
    sequence_level();
    fprintf(stderr, "worst relative error over the KL gradient checks: %.3g\n", worst_error);
    return t2_check_exit_code();
}

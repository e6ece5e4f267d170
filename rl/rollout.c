/* Rollouts of a chunk and its REINFORCE / supervised training pass (see rollout.h). */
#include "rl/rollout.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "model/generate.h"
#include "rl/evaluate.h"

enum { ROLLOUT_PREFILL_ROWS = 512 };

static int64_t row_capacity(const t2_rollout_engine *e) {
    return e->max_prompt_len + e->options.max_new_tokens;
}

/* 1 when the training pass carries the KL term. */
static int uses_kl(const t2_rollout_options *o) {
    return o->objective == T2_OBJECTIVE_REINFORCE && o->kl_beta > 0;
}

int t2_rollout_check_sampling(t2_objective objective, const t2_sampler_params *sampler,
                              t2_error *err) {
    if (objective != T2_OBJECTIVE_REINFORCE) return 0;
    const char *why = "with objective reinforce samples off-policy; expected";
    const char *because = "(REINFORCE scores completions under the policy itself: temperature "
                          "1, the whole vocabulary)";
    if (sampler->temperature != 1.0f)
        return t2_error_set(err, "temperature: %g %s 1 %s", (double)sampler->temperature, why,
                            because);
    if (sampler->top_k != 0)
        return t2_error_set(err, "top_k: %lld %s 0 %s", (long long)sampler->top_k, why, because);
    if (sampler->top_p != 1.0f)
        return t2_error_set(err, "top_p: %g %s 1 %s", (double)sampler->top_p, why, because);
    return 0;
}

int t2_rollout_engine_init(t2_rollout_engine *e, const t2_model_config *cfg,
                           const t2_model_weights *policy, const t2_model_weights *base,
                           const t2_prompt_encoder *prompt, const t2_task *task,
                           const t2_rollout_options *options, int64_t max_prompts,
                           int64_t max_prompt_len, t2_error *err) {
    T2_ASSERT(max_prompts >= 1 && max_prompt_len >= 1 && options->batch_prompts >= 1);
    memset(e, 0, sizeof *e);
    if (t2_rollout_check_sampling(options->objective, &options->sampler, err) != 0) return -1;
    e->cfg = cfg;
    e->prompt = prompt;
    e->task = task;
    e->options = *options;
    e->max_prompts = max_prompts;
    e->max_prompt_len = max_prompt_len;
    int64_t capacity = row_capacity(e);
    if (capacity > cfg->max_position_embeddings)
        return t2_error_set(err, "max_new_tokens: prompts of up to %lld tokens plus %lld new "
                            "ones exceed the model's %lld positions; expected fewer new tokens",
                            (long long)max_prompt_len, (long long)options->max_new_tokens,
                            (long long)cfg->max_position_embeddings);
    t2_forward_init(&e->forward, cfg, policy, ROLLOUT_PREFILL_ROWS, capacity);
    t2_kv_cache_init_typed(&e->cache, cfg, max_prompts, capacity, options->kv_cache);
    e->policy_weights = policy;
    e->base_weights = base;
    int64_t per_seq = t2_trainer_workspace_bytes(cfg, 1, capacity);
    int64_t kl_rows = options->max_new_tokens; /* base logits kept per sequence */
    if (uses_kl(options)) per_seq += kl_rows * cfg->vocab_size * (int64_t)sizeof(float);
    int64_t budget = options->trainer_bytes > 0 ? options->trainer_bytes : T2_ROLLOUT_TRAINER_BYTES;
    e->pass_seqs = budget / per_seq;
    if (e->pass_seqs > max_prompts) e->pass_seqs = max_prompts;
    if (e->pass_seqs < 1) e->pass_seqs = 1;
    e->trainer = t2_trainer_new(cfg, policy, e->pass_seqs, capacity);
    size_t cells = (size_t)(max_prompts * capacity);
    e->batch_tokens = t2_alloc_array(cells, sizeof *e->batch_tokens);
    e->batch_targets = t2_alloc_array(cells, sizeof *e->batch_targets);
    e->batch_weights = t2_alloc_array(cells, sizeof *e->batch_weights);
    if (uses_kl(options)) {
        size_t pass_cells = (size_t)(e->pass_seqs * capacity);
        e->base_logits = t2_alloc_array((size_t)(e->pass_seqs * kl_rows * cfg->vocab_size),
                                        sizeof *e->base_logits);
        e->kl_row = t2_alloc_array(pass_cells, sizeof *e->kl_row);
        e->kl = t2_alloc_array(pass_cells, sizeof *e->kl);
    }
    return 0;
}

void t2_rollout_engine_free(t2_rollout_engine *e) {
    t2_forward_free(&e->forward);
    t2_kv_cache_free(&e->cache);
    t2_trainer_free(e->trainer);
    t2_free(e->batch_tokens);
    t2_free(e->batch_targets);
    t2_free(e->batch_weights);
    t2_free(e->base_logits);
    t2_free(e->kl_row);
    t2_free(e->kl);
    memset(e, 0, sizeof *e);
}

int64_t t2_rollout_longest_prompt(const t2_task *task, const t2_prompt_encoder *prompt,
                                  t2_task_split split, int64_t first, int64_t n) {
    int64_t longest = 1;
    for (int64_t i = 0; i < n; i++) {
        t2_task_sample sample = {0};
        t2_task_get(task, split, first + i, &sample);
        int32_t *ids = NULL;
        int64_t len = t2_prompt_encoder_encode(prompt, sample.prompt, &ids);
        if (len > longest) longest = len;
        t2_free(ids);
        t2_task_sample_free(&sample);
    }
    return longest;
}

void t2_rollout_free(t2_rollout *r, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        t2_free(r[i].tokens);
        memset(&r[i], 0, sizeof r[i]);
    }
}

/* prompt then completion as one heap array */
static int32_t *join(const int32_t *a, int64_t na, const int32_t *b, int64_t nb) {
    int32_t *out = t2_alloc_array((size_t)(na + nb > 0 ? na + nb : 1), sizeof *out);
    memcpy(out, a, (size_t)na * sizeof *out);
    if (nb > 0) memcpy(out + na, b, (size_t)nb * sizeof *out);
    return out;
}

int t2_rollout_generate(t2_rollout_engine *e, const int64_t *indices, int64_t n, uint64_t seed,
                        t2_rollout *out, t2_error *err) {
    T2_ASSERT(n >= 1 && n <= e->max_prompts);
    memset(out, 0, (size_t)n * sizeof *out);
    t2_task_sample *samples = t2_alloc_array((size_t)n, sizeof *samples);
    int32_t **prompts = t2_alloc_array((size_t)n, sizeof *prompts);
    int64_t *lens = t2_alloc_array((size_t)n, sizeof *lens);
    int status = 0;
    for (int64_t i = 0; i < n; i++) {
        t2_task_get(e->task, T2_TASK_SPLIT_TRAIN, indices[i], &samples[i]);
        lens[i] = t2_prompt_encoder_encode(e->prompt, samples[i].prompt, &prompts[i]);
        if (lens[i] > e->max_prompt_len && status == 0)
            status = t2_error_set(err, "task %s, train sample %lld: prompt of %lld tokens; "
                                  "expected at most %lld", t2_task_info_of(e->task)->name,
                                  (long long)indices[i], (long long)lens[i],
                                  (long long)e->max_prompt_len);
    }
    if (status == 0 && e->options.objective == T2_OBJECTIVE_SFT) {
        for (int64_t i = 0; i < n; i++) {
            int32_t *answer = NULL;
            const char *worked = samples[i].worked;
            int64_t len = t2_tokenizer_encode(e->prompt->tok, worked, strlen(worked), &answer);
            if (len > e->options.max_new_tokens) len = e->options.max_new_tokens;
            out[i] = (t2_rollout){.index = indices[i], .prompt_len = lens[i],
                                  .completion_len = len, .reward = 1.0f};
            out[i].tokens = join(prompts[i], lens[i], answer, len);
            t2_free(answer);
        }
    } else if (status == 0) {
        const char *stops[T2_PROMPT_ENCODER_MAX_STOPS + 1];
        int n_stops = t2_evaluate_stop_strings(e->prompt, t2_task_terminator(e->task), stops);
        t2_generate_params params = {
            .max_new_tokens = e->options.max_new_tokens,
            .sampler = e->options.sampler,
            .seed = seed,
            .eos_ids = e->cfg->eos_token_ids,
            .n_eos_ids = e->cfg->n_eos_token_ids,
            .stop_strings = stops,
            .n_stop_strings = n_stops,
        };
        t2_generation *gens = t2_alloc_array((size_t)n, sizeof *gens);
        status = t2_generate_run(&e->forward, &e->cache, e->prompt->tok,
                                 (const int32_t *const *)prompts, lens, n, &params, gens, NULL,
                                 NULL, err);
        /* every reward of the chunk at once: mbpp runs its programs concurrently */
        int *rewards = t2_alloc_array((size_t)n, sizeof *rewards);
        const char **texts = t2_alloc_array((size_t)n, sizeof *texts);
        for (int64_t i = 0; status == 0 && i < n; i++) texts[i] = gens[i].text;
        if (status == 0) t2_task_rewards(samples, texts, n, rewards);
        for (int64_t i = 0; status == 0 && i < n; i++) {
            out[i] = (t2_rollout){.index = indices[i], .prompt_len = lens[i],
                                  .completion_len = gens[i].n_tokens};
            out[i].reward = (float)rewards[i];
            out[i].tokens = join(prompts[i], lens[i], gens[i].tokens, gens[i].n_tokens);
        }
        if (status == 0) t2_generate_free(gens, n);
        t2_free(texts);
        t2_free(rewards);
        t2_free(gens);
    }
    for (int64_t i = 0; i < n; i++) {
        t2_task_sample_free(&samples[i]);
        t2_free(prompts[i]);
    }
    t2_free(samples);
    t2_free(prompts);
    t2_free(lens);
    if (status != 0) t2_rollout_free(out, n);
    return status;
}

void t2_rollout_advantages(const float *rewards, int64_t n, t2_reward_norm norm, float clip,
                           float *advantages) {
    double mean = 0.0, var = 0.0;
    for (int64_t i = 0; i < n; i++) mean += rewards[i];
    mean /= (double)(n > 0 ? n : 1);
    for (int64_t i = 0; i < n; i++) var += (rewards[i] - mean) * (rewards[i] - mean);
    double std = sqrt(var / (double)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        double a = rewards[i];
        if (norm == T2_REWARD_NORM_CENTER) a = rewards[i] - mean;
        if (norm == T2_REWARD_NORM_STANDARDIZE) a = (rewards[i] - mean) / (std + 1e-6);
        if (clip > 0 && a > clip) a = clip;
        if (clip > 0 && a < -clip) a = -clip;
        advantages[i] = (float)a;
    }
}

/* Lays the chunk out as training rows: inputs tokens[0..L-1], targets tokens[1..L], loss
 * weight w(p, t) on positions whose target is a completion token; returns L. */
static int64_t fill_rows(t2_rollout_engine *e, const t2_rollout *r, int64_t n) {
    int64_t len = 1;
    for (int64_t p = 0; p < n; p++) {
        int64_t total = r[p].prompt_len + r[p].completion_len;
        if (total - 1 > len) len = total - 1;
    }
    for (int64_t p = 0; p < n; p++) {
        int32_t *tokens = e->batch_tokens + p * len, *targets = e->batch_targets + p * len;
        int64_t total = r[p].prompt_len + r[p].completion_len;
        for (int64_t t = 0; t < len; t++) {
            tokens[t] = t < total ? r[p].tokens[t] : 0;
            targets[t] = t + 1 < total ? r[p].tokens[t + 1] : 0;
        }
    }
    return len;
}

/* 1 where position t of row p predicts a completion token. */
static int is_completion(const t2_rollout *r, int64_t t) {
    return t + 1 >= r->prompt_len && t + 1 < r->prompt_len + r->completion_len;
}

/* The KL of one pass (rollouts r[0..pn), rows of len tokens; the batch's weights are 0):
 * numbers the completion positions (kl_row), keeps the base model's logits there
 * (base_logits), then sets KL_t at each from the policy's logits (kl). Two forwards. */
static int kl_pass(t2_rollout_engine *e, const t2_rollout *r, int64_t pn, int64_t len,
                   const t2_train_batch *batch, t2_error *err) {
    int64_t vocab = e->cfg->vocab_size, cells = pn * len, rows = 0;
    for (int64_t i = 0; i < cells; i++) {
        e->kl_row[i] = is_completion(&r[i / len], i % len) ? rows++ : -1;
        e->kl[i] = 0.0;
    }
    T2_ASSERT(rows <= e->pass_seqs * e->options.max_new_tokens);
    double ignored = 0.0;
    t2_trainer_set_weights(e->trainer, e->base_weights);
    int status = t2_trainer_loss(e->trainer, batch, NULL, &ignored, err);
    t2_trainer_set_weights(e->trainer, e->policy_weights);
    if (status != 0) return -1;
    const float *logits = t2_trainer_logits(e->trainer);
    for (int64_t i = 0; i < cells; i++)
        if (e->kl_row[i] >= 0)
            memcpy(e->base_logits + e->kl_row[i] * vocab, logits + i * vocab,
                   (size_t)vocab * sizeof *logits);
    if (t2_trainer_loss(e->trainer, batch, NULL, &ignored, err) != 0) return -1;
    logits = t2_trainer_logits(e->trainer);
    for (int64_t i = 0; i < cells; i++)
        if (e->kl_row[i] >= 0)
            e->kl[i] = t2_rollout_loss_kl(logits + i * vocab,
                                          e->base_logits + e->kl_row[i] * vocab, vocab);
    return 0;
}

/* The KL term of the training step on the logits (model/train.h t2_logit_grad_fn): adds
 * scale · ∂KL_t/∂z at every completion position of the pass. Rows are the pass's cells. The
 * step's forward runs the policy on the same batch as kl_pass's second forward, so KL_t is
 * kl_pass's value (e->kl), not computed again over the vocabulary. */
typedef struct kl_term {
    const t2_rollout_engine *e;
    double scale; /* β / B */
} kl_term;

static void kl_logit_grad(void *ctx, int64_t begin, int64_t end, const float *logits,
                          float *dlogits, int64_t vocab) {
    const kl_term *k = ctx;
    for (int64_t i = begin; i < end; i++) {
        int64_t row = k->e->kl_row[i];
        if (row < 0) continue;
        const float *z = logits + (i - begin) * vocab, *base = k->e->base_logits + row * vocab;
        t2_rollout_loss_kl_backward(dlogits + (i - begin) * vocab, z, base, vocab, k->e->kl[i],
                                    k->scale);
    }
}

int t2_rollout_backward(t2_rollout_engine *e, t2_rollout *rollouts, int64_t n,
                        t2_adapter_grad_ctx *ctx, double *loss, t2_error *err) {
    T2_ASSERT(n >= 1 && n <= e->max_prompts);
    int64_t len = fill_rows(e, rollouts, n), batch_prompts = e->options.batch_prompts;
    float *w = e->batch_weights;
    int with_kl = uses_kl(&e->options);
    double beta = e->options.kl_beta;
    kl_term term = {e, beta / (double)batch_prompts};
    t2_train_options opt = {.linear_fn = t2_adapter_linear_fn, .linear_ctx = ctx};
    *loss = 0.0;
    for (int64_t p0 = 0; p0 < n; p0 += e->pass_seqs) {
        int64_t pn = n - p0 < e->pass_seqs ? n - p0 : e->pass_seqs, first = p0 * len;
        t2_train_batch batch = {.n_seqs = pn, .seq_len = len, .tokens = e->batch_tokens + first,
                                .targets = e->batch_targets + first, .weights = w + first};
        memset(w + first, 0, (size_t)(pn * len) * sizeof *w);
        if (with_kl && kl_pass(e, rollouts + p0, pn, len, &batch, err) != 0) return -1;
        double kl_sum = 0.0;
        for (int64_t p = p0; p < p0 + pn; p++) {
            t2_rollout *r = &rollouts[p];
            r->kl = 0.0;
            if (r->completion_len == 0) continue;
            int64_t at = (p - p0) * len + r->prompt_len - 1; /* the pass's cell of a_1 */
            if (e->options.objective == T2_OBJECTIVE_SFT)
                t2_rollout_loss_sft_weights(w + first + at, r->completion_len, batch_prompts);
            else
                r->kl = t2_rollout_loss_reinforce_weights(w + first + at, r->advantage, beta,
                                                          with_kl ? e->kl + at : NULL,
                                                          r->completion_len, batch_prompts);
            kl_sum += r->kl;
        }
        double pass_loss = 0.0;
        t2_trainer_set_logit_term(e->trainer, with_kl ? kl_logit_grad : NULL, &term);
        int status = t2_trainer_step(e->trainer, &batch, &opt, &pass_loss, err);
        t2_trainer_set_logit_term(e->trainer, NULL, NULL);
        if (status != 0) return -1;
        *loss += pass_loss + term.scale * kl_sum;
    }
    return 0;
}

int t2_objective_from_name(const char *name, t2_objective *out) {
    if (strcmp(name, "reinforce") == 0) *out = T2_OBJECTIVE_REINFORCE;
    else if (strcmp(name, "sft") == 0) *out = T2_OBJECTIVE_SFT;
    else return -1;
    return 0;
}

const char *t2_objective_name(t2_objective o) {
    return o == T2_OBJECTIVE_SFT ? "sft" : "reinforce";
}

int t2_reward_norm_from_name(const char *name, t2_reward_norm *out) {
    if (strcmp(name, "none") == 0) *out = T2_REWARD_NORM_NONE;
    else if (strcmp(name, "center") == 0) *out = T2_REWARD_NORM_CENTER;
    else if (strcmp(name, "standardize") == 0) *out = T2_REWARD_NORM_STANDARDIZE;
    else return -1;
    return 0;
}

const char *t2_reward_norm_name(t2_reward_norm n) {
    static const char *const names[] = {"none", "center", "standardize"};
    return names[n];
}

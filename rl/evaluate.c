/* Task accuracy through batched generation (see evaluate.h). */
#include "rl/evaluate.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "model/forward.h"
#include "model/kv_cache.h"

enum { EVAL_PREFILL_ROWS = 512 };

void t2_eval_result_free(t2_eval_result *r) {
    if (r->completions != NULL)
        for (int64_t i = 0; i < r->n; i++) t2_free(r->completions[i]);
    t2_free(r->completions);
    memset(r, 0, sizeof *r);
}

void t2_eval_interval(int64_t correct, int64_t n, double *lo, double *hi) {
    if (n == 0) {
        *lo = 0.0;
        *hi = 1.0;
        return;
    }
    const double z = 1.959963984540054;
    double p = (double)correct / (double)n, nn = (double)n;
    double denom = 1.0 + z * z / nn;
    double centre = (p + z * z / (2.0 * nn)) / denom;
    double half = z * sqrt(p * (1.0 - p) / nn + z * z / (4.0 * nn * nn)) / denom;
    *lo = centre - half;
    *hi = centre + half;
}

int t2_evaluate_use_prompt(t2_model_dir *model, const t2_prompt_settings *settings,
                           const t2_task *task, t2_error *err) {
    t2_prompt_settings p = *settings;
    if (p.system == NULL || p.system[0] == '\0') p.system = (char *)t2_task_default_system(task);
    return t2_model_dir_set_prompt(model, &p, err);
}

int t2_evaluate_stop_strings(const t2_prompt_encoder *e, const char *terminator,
                             const char **stops) {
    if (!t2_prompt_encoder_is_chat(e)) {
        stops[0] = terminator != NULL ? terminator : T2_TASK_TERMINATOR;
        return 1;
    }
    int n = 0;
    while (e->stops[n] != NULL) {
        stops[n] = e->stops[n];
        n++;
    }
    return n;
}

int t2_evaluate_prompts(const t2_model_dir *model, const char *const *prompts, int64_t n,
                        const t2_eval_decoding *dec, t2_generation *gens,
                        int64_t *prompt_tokens, t2_error *err) {
    T2_ASSERT(n >= 0 && dec->batch >= 1 && dec->max_new_tokens >= 0);
    memset(gens, 0, (size_t)n * sizeof *gens);
    if (n == 0) return 0;
    int32_t **ids = t2_alloc_array((size_t)n, sizeof *ids);
    int64_t longest = 1;
    for (int64_t i = 0; i < n; i++) {
        prompt_tokens[i] = t2_prompt_encoder_encode(&model->prompt, prompts[i], &ids[i]);
        if (prompt_tokens[i] > longest) longest = prompt_tokens[i];
    }
    int64_t capacity = longest + dec->max_new_tokens;
    int status = 0;
    if (capacity > model->cfg.max_position_embeddings) {
        status = t2_error_set(err, "task prompts: %lld tokens plus %lld new ones exceed the "
                              "model's %lld positions; expected shorter prompts or fewer new "
                              "tokens", (long long)longest, (long long)dec->max_new_tokens,
                              (long long)model->cfg.max_position_embeddings);
    } else {
        t2_forward f;
        t2_kv_cache cache;
        int64_t slots = dec->batch < n ? dec->batch : n;
        t2_forward_init(&f, &model->cfg, &model->weights, EVAL_PREFILL_ROWS, capacity);
        t2_kv_cache_init_typed(&cache, &model->cfg, slots, capacity, dec->kv_cache);
        const char *stops[T2_PROMPT_ENCODER_MAX_STOPS + 1];
        int n_stops = t2_evaluate_stop_strings(&model->prompt, dec->terminator, stops);
        t2_generate_params params = {
            .max_new_tokens = dec->max_new_tokens,
            .sampler = dec->sampler,
            .seed = dec->seed,
            .eos_ids = model->cfg.eos_token_ids,
            .n_eos_ids = model->cfg.n_eos_token_ids,
            .stop_strings = stops,
            .n_stop_strings = n_stops,
        };
        status = t2_generate_run(&f, &cache, model->tok, (const int32_t *const *)ids,
                                 prompt_tokens, n, &params, gens, NULL, NULL, err);
        t2_kv_cache_free(&cache);
        t2_forward_free(&f);
    }
    for (int64_t i = 0; i < n; i++) t2_free(ids[i]);
    t2_free(ids);
    return status;
}

int t2_evaluate_task(const t2_model_dir *model, const t2_task *task, t2_task_split split,
                     const t2_eval_options *opt, int keep_completions, t2_eval_result *out,
                     t2_error *err) {
    memset(out, 0, sizeof *out);
    int64_t n = opt->n;
    t2_task_sample *samples = t2_alloc_array((size_t)n, sizeof *samples);
    const char **prompts = t2_alloc_array((size_t)n, sizeof *prompts);
    int64_t *lens = t2_alloc_array((size_t)n, sizeof *lens);
    for (int64_t i = 0; i < n; i++) {
        t2_task_get(task, split, opt->first + i, &samples[i]);
        prompts[i] = samples[i].prompt;
    }
    t2_eval_decoding dec = {.batch = opt->batch, .max_new_tokens = opt->max_new_tokens,
                            .terminator = t2_task_terminator(task),
                            .sampler = opt->sampler, .seed = opt->seed,
                            .kv_cache = opt->kv_cache};
    t2_generation *gens = t2_alloc_array((size_t)n, sizeof *gens);
    int status = t2_evaluate_prompts(model, prompts, n, &dec, gens, lens, err);
    if (status == 0) {
        out->n = n;
        if (keep_completions) out->completions = t2_alloc_array((size_t)n, sizeof(char *));
        /* every reward at once: mbpp runs its programs concurrently */
        int *rewards = t2_alloc_array((size_t)n, sizeof *rewards);
        const char **texts = t2_alloc_array((size_t)n, sizeof *texts);
        for (int64_t i = 0; i < n; i++) texts[i] = gens[i].text;
        t2_task_rewards(samples, texts, n, rewards);
        for (int64_t i = 0; i < n; i++) {
            out->prompt_tokens += lens[i];
            out->new_tokens += gens[i].n_tokens;
            if (rewards[i] > 0) out->correct++;
            char answer[T2_ANSWER_MAX];
            if (!t2_task_answer(&samples[i], gens[i].text, answer)) out->no_answer++;
            if (keep_completions) out->completions[i] = t2_strdup(gens[i].text);
        }
        t2_free(texts);
        t2_free(rewards);
        t2_generate_free(gens, n);
    }
    for (int64_t i = 0; i < n; i++) t2_task_sample_free(&samples[i]);
    t2_free(gens);
    t2_free(samples);
    t2_free(prompts);
    t2_free(lens);
    return status;
}

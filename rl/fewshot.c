/* Few-shot scoring of one mixture on solved examples (see fewshot.h): greedy answers through
 * rl/adapt.h, then one teacher-forced forward over the examples' worked answers for the
 * tiebreak. Does not search (dist/fewshot.c). */
#include "rl/fewshot.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

void t2_fewshot_scorer_free(t2_fewshot_scorer *f) {
    t2_trainer_free(f->trainer);
    t2_free(f->indices);
    t2_free(f->tokens);
    t2_free(f->targets);
    t2_free(f->answer_mask);
    t2_free(f->answer_tokens);
    t2_free(f->weights);
    t2_free(f->logprobs);
    memset(f, 0, sizeof *f);
}

/* Example i's tokens, prompt then worked answer, into *ids (heap); returns the count and the
 * prompt's share in *prompt_len. */
static int64_t example_tokens(const t2_fewshot_scorer *f, int64_t i, int32_t **ids,
                              int64_t *prompt_len) {
    const t2_prompt_encoder *encoder = &f->adapt->model->prompt;
    t2_task_sample s;
    memset(&s, 0, sizeof s);
    t2_task_get(f->task, f->split, f->indices[i], &s);
    int32_t *prompt = NULL, *answer = NULL;
    int64_t np = t2_prompt_encoder_encode(encoder, s.prompt, &prompt);
    int64_t na = t2_tokenizer_encode(encoder->tok, s.worked, strlen(s.worked), &answer);
    *ids = t2_alloc_array((size_t)(np + na), sizeof **ids);
    if (np > 0) memcpy(*ids, prompt, (size_t)np * sizeof **ids);
    if (na > 0) memcpy(*ids + np, answer, (size_t)na * sizeof **ids);
    *prompt_len = np;
    t2_free(prompt);
    t2_free(answer);
    t2_task_sample_free(&s);
    return np + na;
}

int t2_fewshot_scorer_init(t2_fewshot_scorer *f, t2_adapt *a, const t2_task *task,
                           t2_task_split split, const int64_t *indices, int64_t n,
                           const t2_eval_decoding *dec, t2_error *err) {
    T2_ASSERT(n >= 1 && a->bundle != NULL);
    memset(f, 0, sizeof *f);
    f->adapt = a;
    f->task = task;
    f->split = split;
    f->n = n;
    f->dec = *dec;
    f->indices = t2_alloc_array((size_t)n, sizeof *f->indices);
    memcpy(f->indices, indices, (size_t)n * sizeof *indices);
    for (int64_t i = 1; i < n; i++) T2_ASSERT(indices[i] > indices[i - 1]);

    int32_t **ids = t2_alloc_array((size_t)n, sizeof *ids);
    int64_t *lens = t2_alloc_array((size_t)n, sizeof *lens);
    int64_t *prompt_lens = t2_alloc_array((size_t)n, sizeof *prompt_lens);
    int64_t limit = a->model->cfg.max_position_embeddings, longest = 2;
    int status = 0;
    for (int64_t i = 0; i < n; i++) {
        lens[i] = example_tokens(f, i, &ids[i], &prompt_lens[i]);
        if (lens[i] > longest) longest = lens[i];
        if (lens[i] > limit && status == 0)
            status = t2_error_set(err, "task %s, example %lld: %lld tokens with its worked "
                                  "answer; expected at most the model's %lld positions",
                                  t2_task_info_of(task)->name, (long long)indices[i],
                                  (long long)lens[i], (long long)limit);
    }
    if (status == 0) {
        int64_t len = longest - 1, cells = n * len;
        f->seq_len = len;
        f->tokens = t2_alloc_array((size_t)cells, sizeof *f->tokens);
        f->targets = t2_alloc_array((size_t)cells, sizeof *f->targets);
        f->answer_mask = t2_alloc_array((size_t)cells, sizeof *f->answer_mask);
        f->weights = t2_alloc_array((size_t)cells, sizeof *f->weights);
        f->logprobs = t2_alloc_array((size_t)cells, sizeof *f->logprobs);
        f->answer_tokens = t2_alloc_array((size_t)n, sizeof *f->answer_tokens);
        for (int64_t i = 0; i < n; i++) {
            int32_t *in = f->tokens + i * len, *next = f->targets + i * len;
            float *mask = f->answer_mask + i * len;
            for (int64_t t = 0; t < len; t++) {
                in[t] = t < lens[i] ? ids[i][t] : 0;
                next[t] = t + 1 < lens[i] ? ids[i][t + 1] : 0;
                mask[t] = t + 1 >= prompt_lens[i] && t + 1 < lens[i] ? 1.0f : 0.0f;
            }
            f->answer_tokens[i] = lens[i] - prompt_lens[i];
        }
        f->trainer = t2_trainer_new(&a->model->cfg, &a->adapted, n, len);
    }
    for (int64_t i = 0; i < n; i++) t2_free(ids[i]);
    t2_free(ids);
    t2_free(lens);
    t2_free(prompt_lens);
    if (status != 0) t2_fewshot_scorer_free(f);
    return status;
}

/* Mean log p per worked-answer token of the chosen examples, with the weights the adapter's
 * copy holds now. The rows of other examples get weight 0 (their logits are computed but not
 * counted: one forward over all n keeps every call the same shape). */
static int answer_likelihood(t2_fewshot_scorer *f, const int64_t *pos, int64_t m,
                             double *mean, t2_error *err) {
    int64_t len = f->seq_len, tokens = 0;
    memset(f->weights, 0, (size_t)(f->n * len) * sizeof *f->weights);
    for (int64_t j = 0; j < m; j++) {
        int64_t i = pos[j];
        memcpy(f->weights + i * len, f->answer_mask + i * len, (size_t)len * sizeof *f->weights);
        tokens += f->answer_tokens[i];
    }
    t2_train_batch batch = {.n_seqs = f->n, .seq_len = len, .tokens = f->tokens,
                            .targets = f->targets, .weights = f->weights};
    double loss = 0.0;
    if (t2_trainer_loss(f->trainer, &batch, f->logprobs, &loss, err) != 0) return -1;
    double sum = 0.0;
    for (int64_t j = 0; j < m; j++) {
        const float *lp = f->logprobs + pos[j] * len, *mask = f->answer_mask + pos[j] * len;
        for (int64_t t = 0; t < len; t++) sum += mask[t] * lp[t];
    }
    *mean = tokens > 0 ? sum / (double)tokens : 0.0;
    return 0;
}

int t2_fewshot_score(t2_fewshot_scorer *f, const float *alpha, const int64_t *which, int64_t m,
                     double *score, double *tiebreak, t2_error *err) {
    T2_ASSERT(m >= 1 && m <= f->n && (which != NULL || m == f->n));
    int64_t *pos = t2_alloc_array((size_t)m, sizeof *pos);
    int64_t *indices = t2_alloc_array((size_t)m, sizeof *indices);
    for (int64_t j = 0; j < m; j++) {
        pos[j] = which != NULL ? which[j] : j;
        T2_ASSERT(pos[j] >= 0 && pos[j] < f->n && (j == 0 || pos[j] > pos[j - 1]));
        indices[j] = f->indices[pos[j]];
    }
    t2_adapt_sample *out = t2_alloc_array((size_t)m, sizeof *out);
    t2_adapt_strategy s = {.kind = T2_ADAPT_MIXTURE, .alpha = alpha};
    int status = t2_adapt_run(f->adapt, f->task, f->split, indices, m, &s, &f->dec, out, err);
    if (status == 0) {
        int64_t correct = 0;
        for (int64_t j = 0; j < m; j++) correct += out[j].correct;
        *score = (double)correct / (double)m;
        status = answer_likelihood(f, pos, m, tiebreak, err);
    }
    t2_free(out);
    t2_free(indices);
    t2_free(pos);
    return status;
}

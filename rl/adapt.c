/* The adaptation strategies: parsing their names, composing the bundle's experts into a
 * weight copy, and the one- and two-pass answering of a list of samples in blocks (see
 * adapt.h). Does not shard over ranks (dist/eval.c) or report (cmd/eval.c). */
#include "rl/adapt.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

static const char STRATEGIES[] = "base, expert:<name>, prompt, classifier or fewshot";
static const char EXPERT_PREFIX[] = "expert:";

/* 1 when a and b are equal in any ASCII letter case. */
static int equal_nocase(const char *a, const char *b) {
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (x != y) return 0;
    }
    return *a == *b;
}

/* 0 when the bundle's categories suit t2_dispatch_parse: none reads as "other", no two
 * alike in another letter case. */
static int check_routable(const t2_bundle *b, const char *text, const char *bundle_path,
                          t2_error *err) {
    for (int k = 0; k < b->n; k++) {
        if (equal_nocase(b->categories[k], "other"))
            return t2_error_set(err, "%s: %s has an expert named '%s', which reads as the base "
                                "model's category 'other'; expected other category names",
                                text, bundle_path, b->categories[k]);
        for (int j = 0; j < k; j++)
            if (equal_nocase(b->categories[j], b->categories[k]))
                return t2_error_set(err, "%s: %s has experts '%s' and '%s', named alike in "
                                    "another letter case; expected names a completion tells "
                                    "apart", text, bundle_path, b->categories[j],
                                    b->categories[k]);
    }
    return 0;
}

int t2_adapt_strategy_parse(t2_adapt_strategy *s, const char *text, const t2_bundle *bundle,
                            const char *bundle_path, t2_error *err) {
    memset(s, 0, sizeof *s);
    size_t prefix = sizeof EXPERT_PREFIX - 1;
    if (strcmp(text, "base") == 0) s->kind = T2_ADAPT_BASE;
    else if (strcmp(text, "prompt") == 0) s->kind = T2_ADAPT_PROMPT;
    else if (strcmp(text, "classifier") == 0) s->kind = T2_ADAPT_CLASSIFIER;
    else if (strcmp(text, "fewshot") == 0) s->kind = T2_ADAPT_FEWSHOT;
    else if (strncmp(text, EXPERT_PREFIX, prefix) == 0 && text[prefix] != '\0')
        s->kind = T2_ADAPT_EXPERT;
    else
        return t2_error_set(err, "%s: not a strategy; expected %s", text, STRATEGIES);
    if (s->kind == T2_ADAPT_BASE) return 0;
    if (bundle == NULL)
        return t2_error_set(err, "%s: needs an expert bundle; expected the bundle setting", text);
    if (s->kind == T2_ADAPT_EXPERT) {
        s->expert = t2_bundle_find(bundle, text + prefix);
        if (s->expert >= 0) return 0;
        char known[T2_ERROR_MAX / 2] = "";
        for (int k = 0; k < bundle->n; k++) {
            size_t used = strlen(known);
            snprintf(known + used, sizeof known - used, "%s%s", k > 0 ? ", " : "",
                     bundle->categories[k]);
        }
        return t2_error_set(err, "%s: %s has no expert '%s'; expected one of %s", text,
                            bundle_path, text + prefix, known);
    }
    if (s->kind == T2_ADAPT_CLASSIFIER && !bundle->has_classifier)
        return t2_error_set(err, "%s: %s has no classifier; expected a bundle made with a "
                            "classifier (t2 bundle create --classifier)", text, bundle_path);
    return check_routable(bundle, text, bundle_path, err);
}

const char *t2_adapt_strategy_name(const t2_adapt_strategy *s, const t2_bundle *bundle,
                                   char *buf, size_t size) {
    switch (s->kind) {
    case T2_ADAPT_BASE: snprintf(buf, size, "base"); break;
    case T2_ADAPT_EXPERT:
        snprintf(buf, size, "%s%s", EXPERT_PREFIX, bundle->categories[s->expert]);
        break;
    case T2_ADAPT_MIXTURE: snprintf(buf, size, "mixture"); break;
    case T2_ADAPT_PROMPT: snprintf(buf, size, "prompt"); break;
    case T2_ADAPT_CLASSIFIER: snprintf(buf, size, "classifier"); break;
    case T2_ADAPT_FEWSHOT: snprintf(buf, size, "fewshot"); break;
    }
    return buf;
}

int t2_adapt_strategy_routes(const t2_adapt_strategy *s) {
    return s->kind == T2_ADAPT_PROMPT || s->kind == T2_ADAPT_CLASSIFIER;
}

void t2_adapt_free(t2_adapt *a) {
    t2_mixture_free(&a->mixture);
    if (a->adapted.slab != NULL) t2_model_weights_free(&a->adapted);
    t2_free(a->alpha);
    memset(a, 0, sizeof *a);
}

int t2_adapt_init(t2_adapt *a, const t2_model_dir *model, const t2_bundle *bundle,
                  const t2_decomposition_store *store, int per_layer, t2_error *err) {
    memset(a, 0, sizeof *a);
    a->model = model;
    a->bundle = bundle;
    a->composed = -1;
    if (bundle == NULL) return 0;
    T2_ASSERT(store != NULL);
    /* the mixture wants the members side by side: shallow copies, borrowed */
    int members = bundle->n + (bundle->has_classifier ? 1 : 0);
    t2_expert *all = t2_alloc_array((size_t)members, sizeof *all);
    memcpy(all, bundle->experts, (size_t)bundle->n * sizeof *all);
    if (bundle->has_classifier) all[bundle->n] = bundle->classifier;
    int status = t2_mixture_init(&a->mixture, all, members, per_layer, &model->cfg, store, err);
    t2_free(all);
    if (status != 0) {
        t2_adapt_free(a);
        return -1;
    }
    const char **names = t2_adapter_target_names(&a->mixture.adapter);
    t2_model_weights_share(&a->adapted, &model->weights, &model->cfg, names,
                           a->mixture.adapter.n);
    t2_free(names);
    a->alpha = t2_alloc_array((size_t)t2_mixture_dim(&a->mixture), sizeof *a->alpha);
    return 0;
}

int64_t t2_adapt_dim(const t2_adapt *a) {
    if (a->bundle == NULL) return 0;
    return a->mixture.per_layer ? a->bundle->n * a->mixture.n_layers : a->bundle->n;
}

/* Composes member k (an expert, or the classifier at bundle->n) alone: α = e_k, on every
 * layer when the weights are per layer. Nothing to do when the copy holds it already. */
static void compose_member(t2_adapt *a, int k) {
    if (a->composed == k) return;
    int64_t dim = t2_mixture_dim(&a->mixture);
    int64_t layers = a->mixture.per_layer ? a->mixture.n_layers : 1;
    memset(a->alpha, 0, (size_t)dim * sizeof *a->alpha);
    for (int64_t l = 0; l < layers; l++) a->alpha[k * layers + l] = 1.0f;
    t2_mixture_compose(&a->mixture, a->alpha, &a->adapted);
    a->composed = k;
}

/* Composes the mixture of the bundle's experts with alpha (t2_adapt_dim values); the
 * classifier, when the mixture holds one, gets weight 0 (its weights come last). */
static void compose_mixture(t2_adapt *a, const float *alpha) {
    int64_t dim = t2_mixture_dim(&a->mixture), own = t2_adapt_dim(a);
    memset(a->alpha, 0, (size_t)dim * sizeof *a->alpha);
    memcpy(a->alpha, alpha, (size_t)own * sizeof *a->alpha);
    t2_mixture_compose(&a->mixture, a->alpha, &a->adapted);
    a->composed = -1;
}

/* The model running with the copy's weights (a view: everything else borrowed). */
static t2_model_dir adapted_view(const t2_adapt *a) {
    t2_model_dir view = *a->model;
    view.weights = a->adapted;
    return view;
}

/* Generates for the listed samples i with member == NULL or member[i] == want, one
 * t2_evaluate_prompts call per block of indices (see adapt.h), into gens[i] and lens[i]. */
static int generate_blocks(const t2_model_dir *model, const char *const *prompts,
                           const int64_t *indices, const int *member, int want, int64_t n,
                           const t2_eval_decoding *dec, t2_generation *gens, int64_t *lens,
                           t2_error *err) {
    const char **chosen = t2_alloc_array((size_t)dec->batch, sizeof *chosen);
    int64_t *where = t2_alloc_array((size_t)dec->batch, sizeof *where);
    int64_t *block_lens = t2_alloc_array((size_t)dec->batch, sizeof *block_lens);
    t2_generation *block_gens = t2_alloc_array((size_t)dec->batch, sizeof *block_gens);
    int status = 0;
    for (int64_t first = 0; status == 0 && first < n;) {
        int64_t block = indices[first] / dec->batch, end = first, m = 0;
        for (; end < n && indices[end] / dec->batch == block; end++) {
            if (member != NULL && member[end] != want) continue;
            chosen[m] = prompts[end];
            where[m++] = end;
        }
        t2_eval_decoding block_dec = *dec;
        block_dec.seed = t2_generate_seed(dec->seed, block);
        status = t2_evaluate_prompts(model, chosen, m, &block_dec, block_gens, block_lens, err);
        for (int64_t j = 0; status == 0 && j < m; j++) {
            gens[where[j]] = block_gens[j];
            lens[where[j]] = block_lens[j];
        }
        first = end;
    }
    t2_free(block_gens);
    t2_free(block_lens);
    t2_free(where);
    t2_free(chosen);
    return status;
}

/* The cls prompt of a sample: "Question: Classify: <question>\nAnswer:" (heap, t2_free). */
static char *classify_prompt(const char *prompt) {
    static const char head[] = "Question: ", tail[] = "\nAnswer:";
    size_t len = strlen(prompt), nh = sizeof head - 1, nt = sizeof tail - 1;
    T2_ASSERT(len >= nh + nt && memcmp(prompt, head, nh) == 0 &&
              memcmp(prompt + len - nt, tail, nt) == 0);
    size_t nq = len - nh - nt;
    char *question = t2_alloc(nq + sizeof "Classify: ");
    snprintf(question, nq + sizeof "Classify: ", "Classify: %.*s", (int)nq, prompt + nh);
    char *out = t2_task_prompt_make(question);
    t2_free(question);
    return out;
}

/* Pass 1: each sample's route and outcome from the classification completions. */
static int route_samples(t2_adapt *a, const t2_adapt_strategy *s, const char *const *queries,
                         const int64_t *indices, int64_t n, const t2_eval_decoding *dec,
                         t2_adapt_sample *out, int *route, t2_error *err) {
    const t2_bundle *b = a->bundle;
    char **prompts = t2_alloc_array((size_t)n, sizeof *prompts);
    for (int64_t i = 0; i < n; i++) prompts[i] = classify_prompt(queries[i]);
    t2_model_dir view = *a->model;
    if (s->kind == T2_ADAPT_CLASSIFIER && n > 0) {
        compose_member(a, b->n);
        view = adapted_view(a);
    }
    t2_eval_decoding route_dec = *dec;
    route_dec.terminator = NULL; /* a category is one line, whatever the task's answers are */
    if (route_dec.max_new_tokens > T2_ADAPT_ROUTE_TOKENS)
        route_dec.max_new_tokens = T2_ADAPT_ROUTE_TOKENS;
    t2_generation *gens = t2_alloc_array((size_t)n, sizeof *gens);
    int64_t *lens = t2_alloc_array((size_t)n, sizeof *lens);
    int status = generate_blocks(&view, (const char *const *)prompts, indices, NULL, 0, n,
                                 &route_dec, gens, lens, err);
    for (int64_t i = 0; status == 0 && i < n; i++) {
        route[i] = t2_dispatch_parse(gens[i].text, gens[i].text_len,
                                     (const char *const *)b->categories, b->n,
                                     &out[i].outcome);
        out[i].route = route[i];
        out[i].route_prompt_tokens = lens[i];
        out[i].route_new_tokens = gens[i].n_tokens;
    }
    t2_generate_free(gens, n);
    for (int64_t i = 0; i < n; i++) t2_free(prompts[i]);
    t2_free(lens);
    t2_free(gens);
    t2_free(prompts);
    return status;
}

/* Pass 2 of a two-pass strategy: each routed expert composed once, then the base model. */
static int answer_routed(t2_adapt *a, const char *const *prompts, const int64_t *indices,
                         const int *route, int64_t n, const t2_eval_decoding *dec,
                         t2_generation *gens, int64_t *lens, t2_error *err) {
    int status = 0;
    for (int k = 0; status == 0 && k < a->bundle->n; k++) {
        int used = 0;
        for (int64_t i = 0; !used && i < n; i++) used = route[i] == k;
        if (!used) continue;
        compose_member(a, k);
        t2_model_dir view = adapted_view(a);
        status = generate_blocks(&view, prompts, indices, route, k, n, dec, gens, lens, err);
    }
    if (status == 0)
        status = generate_blocks(a->model, prompts, indices, route, -1, n, dec, gens, lens,
                                 err);
    return status;
}

/* Both passes of strategy s over prompts[0..n) (sample i in block indices[i] / batch):
 * completions into gens[n], the answering prompts' lengths into lens[n], routes and routing
 * counts into out[n] (route -1 for one pass). */
static int answer_prompts(t2_adapt *a, const t2_adapt_strategy *s, const char *const *prompts,
                          const int64_t *indices, int64_t n, const t2_eval_decoding *dec,
                          t2_adapt_sample *out, t2_generation *gens, int64_t *lens,
                          t2_error *err) {
    T2_ASSERT(n >= 0 && (s->kind == T2_ADAPT_BASE || a->bundle != NULL));
    T2_ASSERT(s->kind != T2_ADAPT_FEWSHOT); /* searched first: answered as its mixture */
    for (int64_t i = 1; i < n; i++) T2_ASSERT(indices[i] > indices[i - 1]);
    int *route = t2_alloc_array((size_t)n, sizeof *route);
    for (int64_t i = 0; i < n; i++) {
        route[i] = -1;
        out[i].route = -1;
    }
    t2_model_dir view = *a->model;
    int status = 0;
    switch (s->kind) {
    case T2_ADAPT_BASE:
        status = generate_blocks(a->model, prompts, indices, NULL, 0, n, dec, gens, lens, err);
        break;
    case T2_ADAPT_EXPERT:
    case T2_ADAPT_MIXTURE:
        if (n == 0) break;
        if (s->kind == T2_ADAPT_EXPERT) compose_member(a, s->expert);
        else compose_mixture(a, s->alpha);
        view = adapted_view(a);
        status = generate_blocks(&view, prompts, indices, NULL, 0, n, dec, gens, lens, err);
        break;
    case T2_ADAPT_PROMPT:
    case T2_ADAPT_CLASSIFIER:
        status = route_samples(a, s, prompts, indices, n, dec, out, route, err);
        if (status == 0)
            status = answer_routed(a, prompts, indices, route, n, dec, gens, lens, err);
        break;
    case T2_ADAPT_FEWSHOT:
        break;
    }
    t2_free(route);
    return status;
}

int t2_adapt_run(t2_adapt *a, const t2_task *task, t2_task_split split,
                 const int64_t *indices, int64_t n, const t2_adapt_strategy *s,
                 const t2_eval_decoding *dec, t2_adapt_sample *out, t2_error *err) {
    const t2_bundle *b = a->bundle;
    t2_task_sample *samples = t2_alloc_array((size_t)n, sizeof *samples);
    const char **prompts = t2_alloc_array((size_t)n, sizeof *prompts);
    memset(out, 0, (size_t)n * sizeof *out);
    for (int64_t i = 0; i < n; i++) {
        t2_task_get(task, split, indices[i], &samples[i]);
        prompts[i] = samples[i].prompt;
        out[i].category = b != NULL && samples[i].category != NULL ?
                              t2_bundle_find(b, samples[i].category) : -1;
    }
    t2_generation *gens = t2_alloc_array((size_t)n, sizeof *gens);
    int64_t *lens = t2_alloc_array((size_t)n, sizeof *lens);
    t2_eval_decoding task_dec = *dec;
    task_dec.terminator = t2_task_terminator(task);
    int status = answer_prompts(a, s, prompts, indices, n, &task_dec, out, gens, lens, err);
    /* every reward at once: mbpp runs its programs concurrently */
    int *rewards = t2_alloc_array((size_t)n, sizeof *rewards);
    const char **texts = t2_alloc_array((size_t)n, sizeof *texts);
    for (int64_t i = 0; status == 0 && i < n; i++) texts[i] = gens[i].text;
    if (status == 0) t2_task_rewards(samples, texts, n, rewards);
    for (int64_t i = 0; status == 0 && i < n; i++) {
        char answer[T2_ANSWER_MAX];
        out[i].correct = rewards[i] > 0;
        out[i].answered = t2_task_answer(&samples[i], gens[i].text, answer);
        out[i].prompt_tokens = lens[i];
        out[i].new_tokens = gens[i].n_tokens;
    }
    t2_free(texts);
    t2_free(rewards);
    t2_generate_free(gens, n);
    for (int64_t i = 0; i < n; i++) t2_task_sample_free(&samples[i]);
    t2_free(lens);
    t2_free(gens);
    t2_free(prompts);
    t2_free(samples);
    return status;
}

int t2_adapt_answer(t2_adapt *a, const char *const *prompts, int64_t n,
                    const t2_adapt_strategy *s, const t2_eval_decoding *dec,
                    t2_adapt_sample *out, char **completions, t2_error *err) {
    int64_t *indices = t2_alloc_array((size_t)n, sizeof *indices);
    for (int64_t i = 0; i < n; i++) indices[i] = i;
    memset(out, 0, (size_t)n * sizeof *out);
    t2_generation *gens = t2_alloc_array((size_t)n, sizeof *gens);
    int64_t *lens = t2_alloc_array((size_t)n, sizeof *lens);
    int status = answer_prompts(a, s, prompts, indices, n, dec, out, gens, lens, err);
    for (int64_t i = 0; status == 0 && i < n; i++) {
        out[i].category = -1;
        out[i].prompt_tokens = lens[i];
        out[i].new_tokens = gens[i].n_tokens;
        completions[i] = t2_alloc((size_t)gens[i].text_len + 1);
        memcpy(completions[i], gens[i].text, (size_t)gens[i].text_len);
        completions[i][gens[i].text_len] = '\0';
    }
    t2_generate_free(gens, n);
    t2_free(lens);
    t2_free(gens);
    t2_free(indices);
    return status;
}

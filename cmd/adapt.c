/* `t2 adapt [CONFIG] [--key value ...]`: answers queries with an adaptation strategy of an
 * expert bundle — the two-pass mechanism (prompt, classifier), one expert, the base model, or
 * few-shot: a mixture of the experts searched with the cross-entropy method on a file of
 * solved examples (or a built-in task's train split), the population scored across all ranks
 * (dist/fewshot.h), optionally saved as an expert file. Rank 0 answers the queries and prints
 * them (docs/adapt.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/run_config.h"
#include "cmd/settings.h"
#include "dist/adapt_session.h"
#include "dist/fewshot.h"
#include "dist/runtime.h"
#include "rl/task.h"

enum { ADAPT_MAX_SETTINGS = 32 };

typedef struct adapt_settings {
    char *model, *store, *bundle, *strategy;
    char *query, *queries;            /* one question; a file of questions, one per line */
    char *examples, *examples_format; /* few-shot: a dataset file of solved examples */
    char *examples_task;              /* few-shot: or a built-in task's train split */
    char *prompt_template;            /* few-shot: the dataset examples' prompt */
    t2_fewshot_settings fewshot;
    t2_prompt_settings prompt;        /* chat format, BOS/EOS, system message */
    char *save_expert, *expert_name;  /* few-shot: write the mixture as an expert file */
    char *kv_cache;                   /* "f32" or "f16" */
    int64_t batch, max_new_tokens, seed;
} adapt_settings;

static int make_table(t2_setting *table, adapt_settings *s) {
    memset(s, 0, sizeof *s);
    s->examples_format = t2_strdup("qa");
    s->expert_name = t2_strdup("fewshot");
    s->fewshot = t2_fewshot_settings_default();
    s->prompt = t2_run_config_prompt_defaults();
    s->batch = 32;
    s->max_new_tokens = 96;
    s->seed = 1;
    s->kv_cache = t2_strdup("f32");
    const t2_setting entries[] = {
        {"model", T2_SETTING_STRING, &s->model, 0, 0, 1, "base model folder"},
        {"store", T2_SETTING_STRING, &s->store, 0, 0, 0, "decomposition store of the model (t2 decompose); needed by every strategy but base"},
        {"bundle", T2_SETTING_STRING, &s->bundle, 0, 0, 1, "expert bundle (t2 bundle create), made or transferred for the model"},
        {"strategy", T2_SETTING_STRING, &s->strategy, 0, 0, 1, "prompt, classifier, fewshot, expert:<name> or base"},
        {"query", T2_SETTING_STRING, &s->query, 0, 0, 0, "a question to answer"},
        {"queries", T2_SETTING_STRING, &s->queries, 0, 0, 0, "a text file of questions, one per line"},
        {"examples", T2_SETTING_STRING, &s->examples, 0, 0, 0, "fewshot: JSON-lines file of solved examples"},
        {"examples_format", T2_SETTING_STRING, &s->examples_format, 0, 0, 0, "fewshot: qa, gsm8k or arc (docs/tasks.md)"},
        {"prompt_template", T2_SETTING_STRING, &s->prompt_template, 0, 0, 0, "fewshot: the prompt of the dataset examples, with {question} (default: the format's)"},
        {"examples_task", T2_SETTING_STRING, &s->examples_task, 0, 0, 0, "fewshot: take the examples from this built-in task's train split instead"},
        {"save_expert", T2_SETTING_STRING, &s->save_expert, 0, 0, 0, "fewshot: write the mixture found as an expert file"},
        {"expert_name", T2_SETTING_STRING, &s->expert_name, 0, 0, 0, "fewshot: the saved expert's name"},
        {"batch", T2_SETTING_INT, &s->batch, 1, 4096, 0, "queries decoded together"},
        {"max_new_tokens", T2_SETTING_INT, &s->max_new_tokens, 1, 1e6, 0, "longest answer"},
        {"kv_cache", T2_SETTING_STRING, &s->kv_cache, 0, 0, 0, "the attention cache: f32, or f16 (half the memory and the bytes a decode step reads; keys and values rounded)"},
        {"seed", T2_SETTING_INT, &s->seed, 0, 9e18, 0, "seed of the few-shot search (and of a built-in examples_task)"},
    };
    int n = (int)(sizeof entries / sizeof entries[0]);
    memcpy(table, entries, sizeof entries);
    n += t2_run_config_fewshot_settings(table + n, &s->fewshot);
    return n + t2_run_config_prompt_settings(table + n, &s->prompt);
}

static void print_usage(const t2_setting *table, int n) {
    printf("usage: [mpirun -n N] t2 adapt [CONFIG] --model DIR --bundle FILE --strategy S "
           "[--key value ...]\n\n"
           "Answers queries (--query, --queries) with an expert bundle: prompt and classifier\n"
           "pick an expert in a first pass, then answer with it; fewshot searches a mixture of\n"
           "the experts on solved examples (--examples or --examples_task) with the\n"
           "cross-entropy method across all ranks and can save it (--save_expert). CONFIG is a\n"
           "libconfig file with the keys below (flags override it); see docs/adapt.md.\n\n");
    t2_settings_print_help(table, n, stdout);
}

/* The queries as prompts "Question: <q>\nAnswer:" (heap), from --query then --queries. */
static int read_queries(const adapt_settings *s, char ***prompts, int64_t *n, t2_error *err) {
    *prompts = NULL;
    *n = 0;
    char *text = NULL;
    size_t len = 0;
    if (s->queries != NULL && t2_file_read(s->queries, &text, &len, err) != 0) return -1;
    int64_t cap = 1 + (int64_t)len;
    *prompts = t2_alloc_array((size_t)cap, sizeof **prompts);
    if (s->query != NULL) (*prompts)[(*n)++] = t2_task_prompt_make(s->query);
    for (char *line = text, *next; line != NULL && line < text + len; line = next) {
        next = memchr(line, '\n', (size_t)(text + len - line));
        if (next != NULL) *next++ = '\0';
        size_t l = strlen(line);
        if (l > 0 && line[l - 1] == '\r') line[--l] = '\0';
        if (l > 0) (*prompts)[(*n)++] = t2_task_prompt_make(line);
    }
    t2_free(text);
    if (*n == 0 && s->save_expert == NULL)
        return t2_error_set(err, "%s: no questions; expected a --query or a file of questions "
                            "(or save_expert with the fewshot strategy)",
                            s->queries != NULL ? s->queries : "query");
    return 0;
}

static t2_task *open_examples(const adapt_settings *s, t2_task_split *split, t2_error *err) {
    if ((s->examples == NULL) == (s->examples_task == NULL)) {
        t2_error_set(err, "examples: %s; expected either a file of solved examples "
                     "(examples) or a built-in task (examples_task) for the fewshot strategy",
                     s->examples == NULL ? "not set" : "set together with examples_task");
        return NULL;
    }
    *split = T2_TASK_SPLIT_TRAIN;
    t2_task_options o = {.data_path = s->examples, .seed = (uint64_t)s->seed};
    if (s->examples_task != NULL) return t2_task_open(s->examples_task, &o, err);
    o.prompt_template = s->prompt_template;
    const t2_task_info *info = t2_task_find(s->examples_format);
    if (info == NULL || !info->is_dataset) {
        t2_error_set(err, "examples_format: '%s'; expected qa, gsm8k or arc",
                     s->examples_format);
        return NULL;
    }
    return t2_task_open(s->examples_format, &o, err);
}

/* Rank 0: the mixture alpha as an expert file (the classifier, when the bundle has one,
 * gets weight 0). */
static int save_mixture(t2_adapt_session *ss, const adapt_settings *s, const float *alpha,
                        t2_error *err) {
    t2_adapt *a = &ss->adapt;
    int64_t own = t2_adapt_dim(a), all = t2_mixture_dim(&a->mixture);
    float *padded = t2_alloc_array((size_t)all, sizeof *padded);
    memcpy(padded, alpha, (size_t)own * sizeof *padded);
    t2_expert e;
    t2_mixture_to_expert(&a->mixture, padded, s->expert_name,
                         s->examples_task != NULL ? s->examples_task : "", ss->fingerprint, &e);
    int status = t2_expert_write(&e, s->save_expert, err);
    t2_expert_free(&e);
    t2_free(padded);
    return status;
}

/* Collective: the few-shot search on the examples; the mixture found into alpha. */
static int search(const t2_runtime *rt, t2_adapt_session *ss, const adapt_settings *s,
                  const t2_eval_decoding *dec, float *alpha, t2_error *err) {
    t2_task_split split;
    t2_task *task = open_examples(s, &split, err);
    if (t2_runtime_agree_status(rt, task != NULL ? 0 : -1, err) != 0) return -1;
    t2_fewshot_result res;
    int status = t2_fewshot_run(rt, &ss->adapt, task, split,
                                s->examples != NULL ? s->examples : s->examples_task,
                                &s->fewshot, (uint64_t)s->seed, dec, alpha, &res, err);
    if (status == 0 && rt->rank == 0) {
        fprintf(stderr, "t2 adapt: few-shot mixture scores %.3f on %lld examples (the search's "
                "own %.3f%s; best single expert %s: %.3f), %lld evaluations in %.1f s; α =",
                res.score, (long long)res.examples, res.search_score,
                res.fallback ? ", so the best single expert answers" : "",
                ss->bundle.categories[res.best_single_expert], res.best_single,
                (long long)res.evaluations, res.seconds);
        for (int64_t i = 0; i < t2_adapt_dim(&ss->adapt); i++) fprintf(stderr, " %.3f", alpha[i]);
        fprintf(stderr, "\n");
    }
    t2_task_free(task);
    if (t2_runtime_agree(rt, status == 0)) t2_runtime_log_memory(rt, "after the few-shot search");
    return status;
}

/* Rank 0: answers and prints every query. */
static int answer_queries(t2_adapt_session *ss, const t2_adapt_strategy *strategy,
                          char **prompts, int64_t n, const t2_eval_decoding *dec,
                          t2_error *err) {
    t2_adapt_sample *out = t2_alloc_array((size_t)(n > 0 ? n : 1), sizeof *out);
    char **completions = t2_alloc_array((size_t)(n > 0 ? n : 1), sizeof *completions);
    int status = t2_adapt_answer(&ss->adapt, (const char *const *)prompts, n, strategy, dec,
                                 out, completions, err);
    char name[64];
    t2_adapt_strategy_name(strategy, &ss->bundle, name, sizeof name);
    for (int64_t i = 0; status == 0 && i < n; i++) {
        const char *by = name;
        if (t2_adapt_strategy_routes(strategy))
            by = out[i].route >= 0 ? ss->bundle.categories[out[i].route] : "base";
        printf("== query %lld (answered by %s)\n%s%s\n", (long long)(i + 1), by, prompts[i],
               completions[i]);
        t2_free(completions[i]);
    }
    fflush(stdout);
    t2_free(completions);
    t2_free(out);
    return status;
}

static int run(const t2_runtime *rt, const adapt_settings *s, t2_error *err) {
    t2_adapt_session ss;
    char **prompts = NULL;
    int64_t n = 0;
    t2_adapt_strategy strategy;
    t2_weight_type kv_cache = T2_WEIGHT_F32;
    int status = t2_adapt_session_read_bundle(rt, &ss, s->bundle, err);
    if (status == 0) status = t2_kv_cache_type_parse("kv_cache", s->kv_cache, &kv_cache, err);
    if (status == 0) {
        status = t2_adapt_strategy_parse(&strategy, s->strategy, &ss.bundle, s->bundle, err);
        if (status != 0) t2_error_prefix(err, "strategy");
        if (status == 0 && strategy.kind != T2_ADAPT_BASE)
            status = t2_adapt_session_check_svf(&ss, s->bundle, err);
        if (status == 0 && s->save_expert != NULL && strategy.kind != T2_ADAPT_FEWSHOT)
            status = t2_error_set(err, "save_expert: set with strategy %s; expected the "
                                  "fewshot strategy, whose mixture it saves", s->strategy);
        if (status == 0) status = read_queries(s, &prompts, &n, err);
        status = t2_runtime_agree_status(rt, status, err);
    }
    if (status == 0)
        status = t2_adapt_session_open(rt, &ss, s->model, s->store, s->bundle,
                                       strategy.kind != T2_ADAPT_BASE, s->fewshot.per_layer,
                                       &s->prompt, err);
    t2_eval_decoding dec = {.batch = s->batch, .max_new_tokens = s->max_new_tokens,
                            .sampler = {.temperature = 0.0f, .top_p = 1.0f},
                            .seed = (uint64_t)s->seed, .kv_cache = kv_cache};
    float *alpha = NULL;
    if (status == 0 && strategy.kind == T2_ADAPT_FEWSHOT) {
        alpha = t2_alloc_array((size_t)t2_adapt_dim(&ss.adapt), sizeof *alpha);
        status = search(rt, &ss, s, &dec, alpha, err);
        strategy = (t2_adapt_strategy){.kind = T2_ADAPT_MIXTURE, .alpha = alpha};
        if (status == 0 && s->save_expert != NULL)
            status = t2_runtime_agree_status(rt, rt->rank == 0 ? save_mixture(&ss, s, alpha,
                                                                              err) : 0, err);
    }
    if (status == 0)
        status = t2_runtime_agree_status(
            rt, rt->rank == 0 ? answer_queries(&ss, &strategy, prompts, n, &dec, err) : 0,
            err);
    for (int64_t i = 0; i < n; i++) t2_free(prompts[i]);
    t2_free(prompts);
    t2_free(alpha);
    t2_adapt_session_free(&ss);
    return status;
}

static int run_command(const t2_runtime *rt, void *settings, const char *config_text,
                       t2_error *err) {
    (void)config_text;
    return run(rt, settings, err) == 0 ? T2_EXIT_OK : T2_EXIT_FAILURE;
}

int t2_cmd_adapt(int argc, char **argv) {
    t2_setting table[ADAPT_MAX_SETTINGS];
    adapt_settings s;
    int n = make_table(table, &s);
    t2_run_config_command c = {"adapt", table, n, print_usage, run_command, &s};
    return t2_run_config_main(&c, argc, argv);
}

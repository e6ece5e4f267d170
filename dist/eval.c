/* Sharded evaluation of strategies on tasks (see eval.h): checks every input on every rank,
 * hands each rank its blocks of samples, runs rl/adapt.h on them and sums the counts.
 * Does not format or write the report (cmd/eval.c). */
#include "dist/eval.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/progress.h"
#include "dist/adapt_session.h"
#include "dist/fewshot.h"
#include "rl/adapt.h"
#include "rl/task.h"

/* Counts summed over ranks, in this order, then the routed counts per expert and base. */
enum {
    COUNT_CORRECT,
    COUNT_NO_ANSWER,
    COUNT_PROMPT_TOKENS,
    COUNT_NEW_TOKENS,
    COUNT_ROUTE_PROMPT_TOKENS,
    COUNT_ROUTE_NEW_TOKENS,
    COUNT_OWN_KNOWN,
    COUNT_OWN_ROUTED,
    COUNT_OUTCOMES,
    COUNT_ROUTED = COUNT_OUTCOMES + T2_EVAL_OUTCOMES,
};

typedef struct eval_job {
    const t2_runtime *rt;
    const t2_eval_settings *s;
    t2_task_split split;
    t2_weight_type kv_cache;
    int n_tasks;
    char **task_texts;         /* [n_tasks] as given, "name" or "name@level" */
    t2_task **tasks;           /* [n_tasks] */
    int n_strategies;
    char **strategy_texts;     /* [n_strategies] as given */
    t2_adapt_strategy *strategies; /* [n_strategies] */
    int needs_experts;         /* some strategy uses the bundle's experts */
    t2_adapt_session session;  /* the model, bundle, store and adapter */
} eval_job;

static void free_list(char **items, int n) {
    for (int i = 0; items != NULL && i < n; i++) t2_free(items[i]);
    t2_free(items);
}

static void job_free(eval_job *job) {
    for (int i = 0; job->tasks != NULL && i < job->n_tasks; i++) t2_task_free(job->tasks[i]);
    t2_free(job->tasks);
    free_list(job->task_texts, job->n_tasks);
    free_list(job->strategy_texts, job->n_strategies);
    t2_free(job->strategies);
    t2_adapt_session_free(&job->session);
    memset(job, 0, sizeof *job);
}

/* Splits a comma list into trimmed heap strings: 0, or -1 with err for an empty item. */
static int split_list(const char *key, const char *text, char ***items, int *n, t2_error *err) {
    *n = 1;
    for (const char *c = text; *c != '\0'; c++) *n += *c == ',';
    *items = t2_alloc_array((size_t)*n, sizeof **items);
    const char *start = text;
    for (int i = 0; i < *n; i++) {
        const char *end = strchr(start, ',');
        if (end == NULL) end = start + strlen(start);
        const char *a = start, *b = end;
        while (a < b && (*a == ' ' || *a == '\t')) a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t')) b--;
        if (a == b)
            return t2_error_set(err, "%s: empty item in '%s'; expected a comma-separated list "
                                "of names", key, text);
        (*items)[i] = t2_alloc((size_t)(b - a) + 1);
        memcpy((*items)[i], a, (size_t)(b - a));
        (*items)[i][b - a] = '\0';
        start = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* Opens "name" or "name@level" as a built-in task with the settings' seed. */
static t2_task *open_task(const char *text, int64_t seed, t2_error *err) {
    char *name = t2_strdup(text);
    char *at = strchr(name, '@');
    long long level = 0;
    int ok = 1;
    if (at != NULL) {
        *at = '\0';
        char *end = NULL;
        level = strtoll(at + 1, &end, 10);
        ok = at[1] >= '0' && at[1] <= '9' && *end == '\0' && level >= 1;
    }
    t2_task *task = NULL;
    if (!ok) {
        t2_error_set(err, "tasks: '%s': level '%s' is not a level; expected name@1 to name@%d",
                     text, at + 1, T2_TASK_LEVEL_MAX);
    } else {
        t2_task_options options = {.level = (int)level, .seed = (uint64_t)seed};
        task = t2_task_open(name, &options, err);
        if (task == NULL) t2_error_prefix(err, "tasks");
    }
    t2_free(name);
    return task;
}

/* The split and the tasks (opened). Local. */
static int parse_tasks(eval_job *job, t2_error *err) {
    const t2_eval_settings *s = job->s;
    if (strcmp(s->split, "test") == 0) job->split = T2_TASK_SPLIT_TEST;
    else if (strcmp(s->split, "train") == 0) job->split = T2_TASK_SPLIT_TRAIN;
    else return t2_error_set(err, "split: '%s'; expected test or train", s->split);
    if (t2_kv_cache_type_parse("kv_cache", s->kv_cache, &job->kv_cache, err) != 0) return -1;
    if (split_list("tasks", s->tasks, &job->task_texts, &job->n_tasks, err) != 0) return -1;
    job->tasks = t2_alloc_array((size_t)job->n_tasks, sizeof *job->tasks);
    for (int t = 0; t < job->n_tasks; t++) {
        job->tasks[t] = open_task(job->task_texts[t], s->seed, err);
        if (job->tasks[t] == NULL) return -1;
    }
    return 0;
}

/* The strategies, against the bundle when there is one. Local. */
static int parse_strategies(eval_job *job, t2_error *err) {
    const t2_eval_settings *s = job->s;
    if (split_list("strategies", s->strategies, &job->strategy_texts, &job->n_strategies,
                   err) != 0)
        return -1;
    job->strategies = t2_alloc_array((size_t)job->n_strategies, sizeof *job->strategies);
    for (int k = 0; k < job->n_strategies; k++) {
        if (t2_adapt_strategy_parse(&job->strategies[k], job->strategy_texts[k],
                                    job->session.has_bundle ? &job->session.bundle : NULL, s->bundle, err) != 0)
            return t2_error_prefix(err, "strategies");
        if (job->strategies[k].kind != T2_ADAPT_BASE) job->needs_experts = 1;
    }
    return job->needs_experts ? t2_adapt_session_check_svf(&job->session, s->bundle, err) : 0;
}

/* Collective: every check of eval.h, in order, each agreed by all ranks. */
static int job_setup(eval_job *job, t2_error *err) {
    const t2_runtime *rt = job->rt;
    const t2_eval_settings *s = job->s;
    if (t2_runtime_agree_status(rt, parse_tasks(job, err), err) != 0) return -1;
    if (t2_adapt_session_read_bundle(rt, &job->session, s->bundle, err) != 0) return -1;
    if (t2_runtime_agree_status(rt, parse_strategies(job, err), err) != 0) return -1;
    return t2_adapt_session_open(rt, &job->session, s->model, s->store, s->bundle,
                                 job->needs_experts, s->fewshot.per_layer, &s->prompt, err);
}

/* Local: adds one rank's samples into counts (COUNT_ROUTED + categories + 1 values). */
static void count_samples(const t2_adapt_sample *out, int64_t n, int categories,
                          int64_t *counts) {
    for (int64_t i = 0; i < n; i++) {
        const t2_adapt_sample *a = &out[i];
        counts[COUNT_CORRECT] += a->correct;
        counts[COUNT_NO_ANSWER] += !a->answered;
        counts[COUNT_PROMPT_TOKENS] += a->prompt_tokens + a->route_prompt_tokens;
        counts[COUNT_NEW_TOKENS] += a->new_tokens + a->route_new_tokens;
        counts[COUNT_ROUTE_PROMPT_TOKENS] += a->route_prompt_tokens;
        counts[COUNT_ROUTE_NEW_TOKENS] += a->route_new_tokens;
        counts[COUNT_OWN_KNOWN] += a->category >= 0;
        counts[COUNT_OWN_ROUTED] += a->category >= 0 && a->route == a->category;
        counts[COUNT_OUTCOMES + a->outcome]++;
        counts[COUNT_ROUTED + (a->route >= 0 ? a->route : categories)]++;
    }
}

/* Collective: the fewshot search on task t's solved examples (the first fewshot.examples of
 * its train split); the mixture found goes into row->alpha and *mixture. */
static int search_mixture(eval_job *job, int t, const t2_eval_decoding *dec,
                          t2_adapt_strategy *mixture, t2_eval_row *row, t2_error *err) {
    const t2_eval_settings *s = job->s;
    row->alpha_dim = t2_adapt_dim(&job->session.adapt);
    row->alpha = t2_alloc_array((size_t)row->alpha_dim, sizeof *row->alpha);
    t2_fewshot_result res;
    if (t2_fewshot_run(job->rt, &job->session.adapt, job->tasks[t], T2_TASK_SPLIT_TRAIN,
                       job->task_texts[t], &s->fewshot, (uint64_t)s->seed, dec, row->alpha,
                       &res, err) != 0)
        return -1;
    row->examples = res.examples;
    row->example_score = res.score;
    row->best_single = res.best_single;
    row->best_single_expert = res.best_single_expert;
    row->search_score = res.search_score;
    row->fallback = res.fallback;
    row->evaluations = res.evaluations;
    row->search_seconds = res.seconds;
    *mixture = (t2_adapt_strategy){.kind = T2_ADAPT_MIXTURE, .alpha = row->alpha};
    return 0;
}

/* Collective: one (task, strategy) pair over every rank's blocks into row. */
static int run_pair(eval_job *job, int t, int k, t2_eval_row *row, t2_error *err) {
    const t2_runtime *rt = job->rt;
    const t2_eval_settings *s = job->s;
    const t2_adapt_strategy *strategy = &job->strategies[k];
    t2_eval_decoding dec = {.batch = s->batch, .max_new_tokens = s->max_new_tokens,
                            .sampler = {.temperature = 0.0f, .top_p = 1.0f},
                            .seed = (uint64_t)s->seed, .kv_cache = job->kv_cache};
    t2_adapt_strategy mixture;
    if (strategy->kind == T2_ADAPT_FEWSHOT) {
        if (search_mixture(job, t, &dec, &mixture, row, err) != 0) return -1;
        strategy = &mixture;
    }
    int64_t size = t2_task_size(job->tasks[t], job->split);
    int64_t n = s->n < size ? s->n : size;
    int64_t blocks = (n + s->batch - 1) / s->batch;
    int64_t lo = blocks * rt->rank / rt->size * s->batch;
    int64_t hi = blocks * (rt->rank + 1) / rt->size * s->batch;
    if (hi > n) hi = n;
    int64_t mine = hi > lo ? hi - lo : 0;
    int64_t *indices = t2_alloc_array((size_t)mine, sizeof *indices);
    for (int64_t i = 0; i < mine; i++) indices[i] = lo + i;
    t2_adapt_sample *out = t2_alloc_array((size_t)mine, sizeof *out);
    double start = t2_time_now();
    int status = t2_adapt_run(&job->session.adapt, job->tasks[t], job->split, indices, mine, strategy,
                              &dec, out, err);
    double seconds = t2_time_now() - start;
    int categories = job->session.has_bundle ? job->session.bundle.n : 0;
    int n_counts = COUNT_ROUTED + categories + 1;
    int64_t *counts = t2_alloc_array((size_t)n_counts, sizeof *counts);
    if (status == 0) count_samples(out, mine, categories, counts);
    t2_free(out);
    t2_free(indices);
    if (t2_runtime_agree_status(rt, status, err) != 0) {
        t2_free(counts);
        return -1;
    }
    MPI_Allreduce(MPI_IN_PLACE, counts, n_counts, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    row->task = t2_strdup(t2_task_info_of(job->tasks[t])->name);
    row->level = t2_task_level(job->tasks[t]);
    row->strategy = t2_strdup(job->strategy_texts[k]);
    row->routes = t2_adapt_strategy_routes(strategy);
    row->n = n;
    row->correct = counts[COUNT_CORRECT];
    row->no_answer = counts[COUNT_NO_ANSWER];
    row->prompt_tokens = counts[COUNT_PROMPT_TOKENS];
    row->new_tokens = counts[COUNT_NEW_TOKENS];
    row->seconds = seconds;
    if (row->routes) {
        row->route_prompt_tokens = counts[COUNT_ROUTE_PROMPT_TOKENS];
        row->route_new_tokens = counts[COUNT_ROUTE_NEW_TOKENS];
        row->own_known = counts[COUNT_OWN_KNOWN];
        row->own_routed = counts[COUNT_OWN_ROUTED];
        memcpy(row->outcomes, counts + COUNT_OUTCOMES, sizeof row->outcomes);
        row->routed = t2_alloc_array((size_t)categories + 1, sizeof *row->routed);
        memcpy(row->routed, counts + COUNT_ROUTED, sizeof(int64_t) * ((size_t)categories + 1));
    }
    t2_free(counts);
    return 0;
}

static void report_bundle(const eval_job *job, t2_eval_report *out) {
    if (!job->session.has_bundle) return;
    out->n_categories = job->session.bundle.n;
    out->categories = t2_alloc_array((size_t)job->session.bundle.n, sizeof *out->categories);
    for (int c = 0; c < job->session.bundle.n; c++)
        out->categories[c] = t2_strdup(job->session.bundle.categories[c]);
    if (job->session.bundle.has_classifier) out->classifier = t2_strdup(job->session.bundle.classifier.name);
    memcpy(out->fingerprint, job->session.fingerprint, sizeof out->fingerprint);
}

int t2_eval_run(const t2_runtime *rt, const t2_eval_settings *s, t2_eval_report *out,
                t2_error *err) {
    memset(out, 0, sizeof *out);
    eval_job job;
    memset(&job, 0, sizeof job);
    job.rt = rt;
    job.s = s;
    if (job_setup(&job, err) != 0) {
        job_free(&job);
        return -1;
    }
    out->ranks = rt->size;
    report_bundle(&job, out);
    out->rows = t2_alloc_array((size_t)(job.n_tasks * job.n_strategies), sizeof *out->rows);
    int status = 0;
    for (int t = 0; status == 0 && t < job.n_tasks; t++) {
        for (int k = 0; status == 0 && k < job.n_strategies; k++) {
            t2_eval_row *row = &out->rows[out->n_rows];
            status = run_pair(&job, t, k, row, err);
            if (status != 0) {
                t2_free(row->alpha); /* the only part of a failed row that may be set */
                break;
            }
            out->n_rows++;
            t2_log(T2_LOG_INFO, "eval: %s@%d %s: accuracy %.4f (%lld of %lld), %.1f s",
                   row->task, row->level, row->strategy,
                   row->n > 0 ? (double)row->correct / (double)row->n : 0.0,
                   (long long)row->correct, (long long)row->n, row->seconds);
        }
    }
    if (t2_runtime_agree(rt, status == 0)) t2_runtime_log_memory(rt, "after evaluation");
    job_free(&job);
    if (status != 0) t2_eval_report_free(out);
    return status;
}

void t2_eval_report_free(t2_eval_report *r) {
    for (int i = 0; r->rows != NULL && i < r->n_rows; i++) {
        t2_free(r->rows[i].task);
        t2_free(r->rows[i].strategy);
        t2_free(r->rows[i].routed);
        t2_free(r->rows[i].alpha);
    }
    t2_free(r->rows);
    free_list(r->categories, r->n_categories);
    t2_free(r->classifier);
    memset(r, 0, sizeof *r);
}

/* `t2 eval [CONFIG] [--key value ...]`: the accuracy of the base model, one expert, or an
 * adaptation strategy on one or more tasks, the samples sharded over the ranks
 * (dist/eval.h). Rank 0 prints a markdown table (accuracy with a 95 % Wilson interval, n,
 * tokens, seconds, routing) and writes it, and a JSON report, atomically when asked
 * (docs/eval.md gives both formats). The output files are opened before the evaluation, so
 * an unwritable path fails at once rather than after the run. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/run_config.h"
#include "cmd/settings.h"
#include "dist/eval.h"
#include "dist/runtime.h"
#include "rl/evaluate.h"

enum { EVAL_MAX_SETTINGS = 24 };

typedef struct eval_outputs {
    char *report, *table;        /* paths, or NULL (the settings' strings, borrowed) */
    t2_atomic_file report_file, table_file;
} eval_outputs;

static int make_table(t2_setting *table, t2_eval_settings *s, eval_outputs *o) {
    memset(s, 0, sizeof *s);
    memset(o, 0, sizeof *o);
    s->strategies = t2_strdup("base");
    s->split = t2_strdup("test");
    s->n = 200;
    s->batch = 32;
    s->max_new_tokens = 96;
    s->seed = 1;
    s->fewshot_examples = 32;
    s->fewshot_iterations = 8;
    s->fewshot_population = 32;
    const t2_setting entries[] = {
        {"model", T2_SETTING_STRING, &s->model, 0, 0, 1, "base model folder"},
        {"store", T2_SETTING_STRING, &s->store, 0, 0, 0, "decomposition store of the model (t2 decompose), for strategies using experts"},
        {"bundle", T2_SETTING_STRING, &s->bundle, 0, 0, 0, "expert bundle (t2 bundle create), for strategies using experts"},
        {"strategies", T2_SETTING_STRING, &s->strategies, 0, 0, 0, "comma list of base, expert:<name>, prompt, classifier, fewshot"},
        {"tasks", T2_SETTING_STRING, &s->tasks, 0, 0, 1, "comma list of built-in tasks (t2 task list), each optionally name@level"},
        {"split", T2_SETTING_STRING, &s->split, 0, 0, 0, "test or train"},
        {"n", T2_SETTING_INT, &s->n, 1, 1e9, 0, "samples per task, from the first (fewer if the split has fewer)"},
        {"batch", T2_SETTING_INT, &s->batch, 1, 4096, 0, "samples decoded together; blocks of this many are shared out to the ranks"},
        {"max_new_tokens", T2_SETTING_INT, &s->max_new_tokens, 1, 1e6, 0, "longest answer"},
        {"report", T2_SETTING_STRING, &o->report, 0, 0, 0, "JSON report to write (none if unset)"},
        {"table", T2_SETTING_STRING, &o->table, 0, 0, 0, "markdown table to write (printed either way)"},
        {"seed", T2_SETTING_INT, &s->seed, 0, 9e18, 0, "seed of the built-in tasks' generators (and of the few-shot search)"},
        {"fewshot_examples", T2_SETTING_INT, &s->fewshot_examples, 1, 1e6, 0, "fewshot: solved examples, the first of each task's train split"},
        {"fewshot_iterations", T2_SETTING_INT, &s->fewshot_iterations, 1, 1e6, 0, "fewshot: CEM iterations"},
        {"fewshot_population", T2_SETTING_INT, &s->fewshot_population, 2, 1e6, 0, "fewshot: CEM members per iteration (shared out to the ranks)"},
        {"fewshot_batch", T2_SETTING_INT, &s->fewshot_batch, 0, 1e6, 0, "fewshot: examples each member is scored on per iteration (0: all; the best members are re-scored on all)"},
        {"fewshot_per_layer", T2_SETTING_BOOL, &s->fewshot_per_layer, 0, 1, 0, "fewshot: one weight per expert and layer"},
    };
    int n = (int)(sizeof entries / sizeof entries[0]);
    memcpy(table, entries, sizeof entries);
    return n;
}

static void print_usage(const t2_setting *table, int n) {
    printf("usage: [mpirun -n N] t2 eval [CONFIG] [--key value ...]\n\n"
           "Measures the greedy accuracy of the base model, one expert of a bundle\n"
           "(expert:<name>), or an adaptation strategy (prompt: the base model names the\n"
           "query's category; classifier: the bundle's classifier does; fewshot: a mixture\n"
           "of the experts searched on the task's solved examples) on each task, the\n"
           "samples shared out to the ranks in blocks; a 1-rank run gives the same counts.\n"
           "Prints a markdown table; writes it and a JSON report when asked. CONFIG is a\n"
           "libconfig file with the keys below (flags override it); see docs/eval.md.\n\n");
    t2_settings_print_help(table, n, stdout);
}

/* "math@2" */
static void task_label(const t2_eval_row *row, char *buf, size_t size) {
    if (row->level > 0) snprintf(buf, size, "%s@%d", row->task, row->level);
    else snprintf(buf, size, "%s", row->task);
}

static double share(int64_t part, int64_t whole) {
    return whole > 0 ? (double)part / (double)whole : 0.0;
}

static json_t *routing_json(const t2_eval_report *r, const t2_eval_row *row) {
    json_t *counts = json_object(), *shares = json_object(), *outcomes = json_object();
    for (int c = 0; c <= r->n_categories; c++) {
        const char *name = c < r->n_categories ? r->categories[c] : "base";
        json_object_set_new(counts, name, json_integer(row->routed[c]));
        json_object_set_new(shares, name, json_real(share(row->routed[c], row->n)));
    }
    for (int o = 0; o < T2_EVAL_OUTCOMES; o++)
        json_object_set_new(outcomes, t2_dispatch_outcome_name((t2_dispatch_outcome)o),
                            json_integer(row->outcomes[o]));
    return json_pack("{s:I, s:I, s:o, s:o, s:o, s:{s:I, s:I}}",
                     "prompt_tokens", (json_int_t)row->route_prompt_tokens,
                     "new_tokens", (json_int_t)row->route_new_tokens,
                     "routed", counts, "share", shares, "outcomes", outcomes,
                     "own_category", "samples", (json_int_t)row->own_known,
                     "routed_to_it", (json_int_t)row->own_routed);
}

static json_t *fewshot_json(const t2_eval_report *r, const t2_eval_row *row) {
    json_t *alpha = json_array();
    for (int64_t i = 0; i < row->alpha_dim; i++)
        json_array_append_new(alpha, json_real(row->alpha[i]));
    return json_pack("{s:o, s:I, s:f, s:f, s:s, s:I, s:f}", "alpha", alpha,
                     "examples", (json_int_t)row->examples,
                     "example_accuracy", row->example_score,
                     "best_single_accuracy", row->best_single,
                     "best_single_expert", r->categories[row->best_single_expert],
                     "evaluations", (json_int_t)row->evaluations,
                     "search_seconds", row->search_seconds);
}

static json_t *row_json(const t2_eval_report *r, const t2_eval_row *row) {
    double lo, hi;
    t2_eval_interval(row->correct, row->n, &lo, &hi);
    json_t *o = json_pack("{s:s, s:i, s:s, s:I, s:I, s:I, s:f, s:{s:f, s:f}, s:I, s:I, s:f}",
                          "task", row->task, "level", row->level, "strategy", row->strategy,
                          "n", (json_int_t)row->n, "correct", (json_int_t)row->correct,
                          "no_answer", (json_int_t)row->no_answer,
                          "accuracy", share(row->correct, row->n),
                          "interval95", "low", lo, "high", hi,
                          "prompt_tokens", (json_int_t)row->prompt_tokens,
                          "new_tokens", (json_int_t)row->new_tokens, "seconds", row->seconds);
    json_object_set_new(o, "routing", row->routes ? routing_json(r, row) : json_null());
    json_object_set_new(o, "fewshot", row->alpha != NULL ? fewshot_json(r, row) : json_null());
    return o;
}

static json_t *nullable(const char *s) { return s != NULL ? json_string(s) : json_null(); }

static char *report_json(const t2_eval_settings *s, const t2_eval_report *r) {
    json_t *categories = json_array(), *rows = json_array();
    for (int c = 0; c < r->n_categories; c++)
        json_array_append_new(categories, json_string(r->categories[c]));
    for (int i = 0; i < r->n_rows; i++) json_array_append_new(rows, row_json(r, &r->rows[i]));
    json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:I, s:I, s:I, s:I, s:s, "
                          "s:i, s:o}",
                          "command", "eval", "model", s->model, "store", nullable(s->store),
                          "bundle", nullable(s->bundle),
                          "model_fingerprint", nullable(r->fingerprint[0] ? r->fingerprint : NULL),
                          "categories", categories, "classifier", nullable(r->classifier),
                          "split", s->split, "samples_per_task", (json_int_t)s->n,
                          "batch", (json_int_t)s->batch,
                          "max_new_tokens", (json_int_t)s->max_new_tokens,
                          "seed", (json_int_t)s->seed, "decoding", "greedy",
                          "ranks", r->ranks, "results", rows);
    json_object_set_new(o, "fewshot_search",
                        json_pack("{s:I, s:I, s:I, s:I, s:b}",
                                  "examples", (json_int_t)s->fewshot_examples,
                                  "iterations", (json_int_t)s->fewshot_iterations,
                                  "population", (json_int_t)s->fewshot_population,
                                  "batch", (json_int_t)s->fewshot_batch,
                                  "per_layer", s->fewshot_per_layer));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

/* Appends formatted text to a growing heap string. */
static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int need = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if ((size_t)need < *cap - *len) {
            *len += (size_t)need;
            return;
        }
        *cap = 2 * (*cap + (size_t)need);
        *buf = t2_realloc(*buf, *cap);
    }
}

static char *report_markdown(const t2_eval_report *r, size_t *len) {
    size_t cap = 1024;
    char *md = t2_alloc(cap);
    *len = 0;
    md[0] = '\0';
    append(&md, len, &cap, "| task | strategy | accuracy | 95 %% interval | n | prompt tokens "
           "| new tokens | seconds | routed to / mixture |\n"
           "|---|---|---:|---|---:|---:|---:|---:|---|\n");
    for (int i = 0; i < r->n_rows; i++) {
        const t2_eval_row *row = &r->rows[i];
        char task[128];
        double lo, hi;
        task_label(row, task, sizeof task);
        t2_eval_interval(row->correct, row->n, &lo, &hi);
        append(&md, len, &cap, "| %s | %s | %.1f %% | %.1f – %.1f %% | %lld | %lld | %lld | "
               "%.1f | ", task, row->strategy, 100.0 * share(row->correct, row->n),
               100.0 * lo, 100.0 * hi, (long long)row->n, (long long)row->prompt_tokens,
               (long long)row->new_tokens, row->seconds);
        if (row->alpha != NULL) append(&md, len, &cap, "α");
        for (int64_t i = 0; row->alpha != NULL && i < row->alpha_dim; i++)
            append(&md, len, &cap, "%s%.2f", i > 0 ? ", " : " ", row->alpha[i]);
        if (!row->routes && row->alpha == NULL) append(&md, len, &cap, "—");
        for (int c = 0; row->routes && c <= r->n_categories; c++)
            append(&md, len, &cap, "%s%s %.1f %%", c > 0 ? ", " : "",
                   c < r->n_categories ? r->categories[c] : "base",
                   100.0 * share(row->routed[c], row->n));
        append(&md, len, &cap, " |\n");
    }
    return md;
}

/* Rank 0: opens the output files before the run. */
static int open_outputs(eval_outputs *o, t2_error *err) {
    if (o->report != NULL && t2_atomic_file_open(&o->report_file, o->report, err) != 0)
        return -1;
    if (o->table != NULL && t2_atomic_file_open(&o->table_file, o->table, err) != 0)
        return -1;
    return 0;
}

static int commit(t2_atomic_file *f, const char *text, size_t len, t2_error *err) {
    if (f->path == NULL) return 0;
    if (t2_atomic_file_write(f, text, len, err) != 0) return -1;
    return t2_atomic_file_commit(f, err);
}

/* Rank 0: prints the table, writes the files. */
static int write_outputs(const t2_eval_settings *s, eval_outputs *o, const t2_eval_report *r,
                         t2_error *err) {
    size_t md_len = 0;
    char *md = report_markdown(r, &md_len);
    fwrite(md, 1, md_len, stdout);
    fflush(stdout);
    int status = commit(&o->table_file, md, md_len, err);
    t2_free(md);
    if (status == 0 && o->report != NULL) {
        char *json = report_json(s, r);
        size_t json_len = strlen(json);
        status = commit(&o->report_file, json, json_len, err);
        free(json);
    }
    return status;
}

int t2_cmd_eval(int argc, char **argv) {
    const char *cmd = "eval";
    t2_setting table[EVAL_MAX_SETTINGS];
    t2_eval_settings s;
    eval_outputs o;
    int n = make_table(table, &s, &o);
    if (t2_run_config_wants_help(argc, argv)) {
        print_usage(table, n);
        t2_settings_free(table, n);
        return T2_EXIT_OK;
    }
    t2_runtime rt;
    t2_runtime_init(&rt, &argc, &argv);
    t2_error err = {{0}};
    int exit_code = t2_run_config_load(&rt, table, n, argc, argv, NULL, &err);
    if (exit_code == T2_EXIT_OK &&
        t2_runtime_agree_status(&rt, rt.rank == 0 ? open_outputs(&o, &err) : 0, &err) != 0)
        exit_code = T2_EXIT_FAILURE;
    t2_eval_report r = {0};
    if (exit_code == T2_EXIT_OK && t2_eval_run(&rt, &s, &r, &err) != 0)
        exit_code = T2_EXIT_FAILURE;
    if (exit_code == T2_EXIT_OK &&
        t2_runtime_agree_status(&rt, rt.rank == 0 ? write_outputs(&s, &o, &r, &err) : 0,
                                &err) != 0)
        exit_code = T2_EXIT_FAILURE;
    t2_atomic_file_abort(&o.report_file);
    t2_atomic_file_abort(&o.table_file);
    t2_eval_report_free(&r);
    t2_run_config_report(&rt, cmd, exit_code, &err);
    t2_settings_free(table, n);
    t2_runtime_finalize(&rt);
    return exit_code;
}

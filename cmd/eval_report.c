/* The markdown table and the JSON report of an evaluation (see eval_report.h; docs/eval.md
 * gives both formats). Formatting only; `t2 eval` and `t2 demo` print and write them. */
#include "cmd/eval_report.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "rl/evaluate.h"

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
    return json_pack("{s:o, s:I, s:f, s:f, s:b, s:f, s:s, s:I, s:f}", "alpha", alpha,
                     "examples", (json_int_t)row->examples,
                     "example_accuracy", row->example_score,
                     "search_accuracy", row->search_score,
                     "fallback", row->fallback,
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

char *t2_eval_report_json(const t2_eval_settings *s, const t2_eval_report *r) {
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
    json_object_set_new(o, "kv_cache", json_string(s->kv_cache));
    json_object_set_new(o, "fewshot_search",
                        json_pack("{s:I, s:I, s:I, s:I, s:b}",
                                  "examples", (json_int_t)s->fewshot.examples,
                                  "iterations", (json_int_t)s->fewshot.iterations,
                                  "population", (json_int_t)s->fewshot.population,
                                  "batch", (json_int_t)s->fewshot.batch,
                                  "per_layer", s->fewshot.per_layer));
    char *dumped = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    T2_ASSERT(dumped != NULL); /* jansson fails only when out of memory */
    char *text = t2_strdup(dumped); /* one freeing function (t2_free) for both forms */
    free(dumped);
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

char *t2_eval_report_markdown(const t2_eval_report *r, size_t *len) {
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

/* `t2 report FILE... --out DIR` (cmd/report.h): reads each input, recognised by its content —
 *   t2 train's metrics      JSON lines with "step" (docs/train.md "Files");
 *   a few-shot search log   JSON lines with "search" and "iteration" (fewshot_log,
 *                           dist/fewshot.h);
 *   an evaluation report    one JSON object with "command": "eval" (docs/eval.md);
 * then has cmd/report_plot.c write the data files and plots and cmd/report_html.c the page.
 * Does not draw anything itself (gnuplot does) or change its inputs. */
#include "cmd/report.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/file.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/report_impl.h"

static const char *const cmd = "report";

static void print_usage(void) {
    printf("usage: t2 report --out DIR [--title TEXT] [--gnuplot PROGRAM] FILE...\n\n"
           "Turns t2's result files into a folder with one HTML page (DIR/index.html) and PNG\n"
           "plots drawn by gnuplot, beside the data files and the gnuplot script they come\n"
           "from (DIR/<plot>.dat, DIR/report.gp), so the folder can be copied or served as it is.\n"
           "Each FILE is recognised by its content:\n"
           "  training metrics (t2 train's metrics file): reward, validation accuracy, KL,\n"
           "      gradient norm and step time per step, the runs overlaid, one line each;\n"
           "  a few-shot search log (the fewshot_log setting of t2 eval / t2 adapt): the\n"
           "      mixture weights and scores per CEM iteration, one plot per search;\n"
           "  an evaluation report (t2 eval --report, t2 demo's tableN.json): accuracy per\n"
           "      task and strategy with its 95 %% interval as error bars, and the table.\n\n"
           "  --out DIR           the folder to write (created; its parent must exist)\n"
           "  --title TEXT        the page's heading (default: t2 report)\n"
           "  --gnuplot PROGRAM   the gnuplot to run (default: gnuplot on PATH; Debian\n"
           "                      package gnuplot-nox, installed by scripts/setup.sh)\n"
           "  -h, --help          this text\n"
           "See docs/report.md.\n");
}

/* ---- growing arrays ---- */

static void grow(double **a, int64_t n, int64_t cap) {
    double *b = t2_alloc_array((size_t)cap, sizeof *b);
    if (*a != NULL) memcpy(b, *a, (size_t)n * sizeof *b);
    t2_free(*a);
    *a = b;
}

/* The file's name without folder and the given extension (heap). */
static char *stem(const char *path, const char *ext) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base), e = strlen(ext);
    if (n > e && strcmp(base + n - e, ext) == 0) n -= e;
    return t2_strdup_printf("%.*s", (int)n, base);
}

/* obj[key] as a number into *out: 0, or -1 with err naming file and line. */
static int number(const json_t *obj, const char *key, double *out, const char *path, int line,
                  t2_error *err) {
    const json_t *v = json_object_get(obj, key);
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    return t2_error_set(err, "%s: line %d: '%s' is %s; expected a number", path, line, key,
                        v == NULL ? "missing" : "not a number");
}

/* ---- training metrics ---- */

static void run_reserve(report_run *run) {
    if (run->n < run->cap) return;
    int64_t cap = run->cap ? 2 * run->cap : 64;
    double **cols[] = {&run->step, &run->reward_mean, &run->reward_std, &run->accuracy,
                       &run->kl, &run->loss, &run->grad_norm, &run->tokens, &run->step_seconds,
                       &run->elapsed, &run->val};
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) grow(cols[c], run->n, cap);
    run->cap = cap;
}

static int run_add_line(report_run *run, const json_t *o, int line, t2_error *err) {
    double step = 0;
    if (number(o, "step", &step, run->path, line, err) != 0) return -1;
    while (run->n > 0 && run->step[run->n - 1] >= step) run->n--; /* a resumed run's lines */
    run_reserve(run);
    int64_t i = run->n;
    static const char *const keys[] = {"reward_mean", "reward_std", "accuracy", "kl", "loss",
                                       "grad_norm", "tokens", "elapsed"};
    double *slots[] = {&run->reward_mean[i], &run->reward_std[i], &run->accuracy[i],
                       &run->kl[i], &run->loss[i], &run->grad_norm[i], &run->tokens[i],
                       &run->elapsed[i]};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (number(o, keys[k], slots[k], run->path, line, err) != 0) return -1;
    const json_t *seconds = json_object_get(o, "seconds");
    if (!json_is_object(seconds))
        return t2_error_set(err, "%s: line %d: 'seconds' is %s; expected an object of phase "
                            "times", run->path, line, seconds ? "not an object" : "missing");
    double sum = 0.0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)seconds, key, value) {
        if (!json_is_number(value))
            return t2_error_set(err, "%s: line %d: 'seconds.%s' is not a number; expected "
                                "seconds", run->path, line, key);
        sum += json_number_value(value);
    }
    run->step[i] = step;
    run->step_seconds[i] = sum;
    const json_t *val = json_object_get(o, "val_accuracy");
    run->val[i] = json_is_number(val) ? json_number_value(val) : NAN;
    run->n++;
    return 0;
}

/* ---- few-shot search logs ---- */

static int search_start(report *r, const char *path, const json_t *o, int line,
                        t2_error *err) {
    const json_t *label = json_object_get(o, "search"), *names = json_object_get(o, "experts");
    const json_t *alpha = json_object_get(o, "best_alpha");
    if (!json_is_string(label) || !json_is_array(names) || json_array_size(names) == 0 ||
        !json_is_array(alpha) || json_array_size(alpha) % json_array_size(names) != 0)
        return t2_error_set(err, "%s: line %d: 'search', 'experts' or 'best_alpha' is missing "
                            "or malformed; expected a fewshot_log line (dist/fewshot.h)", path,
                            line);
    r->searches = t2_realloc(r->searches, (size_t)(r->n_searches + 1) * sizeof *r->searches);
    report_search *s = &r->searches[r->n_searches++];
    memset(s, 0, sizeof *s);
    const char *base = json_string_value(label);
    size_t len = strlen(base);
    int repeats = 1;
    for (int i = 0; i < r->n_searches - 1; i++) {
        const char *other = r->searches[i].label;
        repeats += strncmp(other, base, len) == 0 && (other[len] == '\0' || other[len] == ' ');
    }
    s->path = t2_strdup(path);
    s->label = repeats > 1 ? t2_strdup_printf("%s (%d)", json_string_value(label), repeats)
                           : t2_strdup(json_string_value(label));
    s->experts = (int)json_array_size(names);
    s->dim = (int64_t)json_array_size(alpha);
    s->names = t2_alloc_array((size_t)s->experts, sizeof *s->names);
    for (int k = 0; k < s->experts; k++) {
        const char *name = json_string_value(json_array_get(names, (size_t)k));
        s->names[k] = t2_strdup(name ? name : "?");
    }
    return 0;
}

/* α (dim values) averaged per expert over its layers into out[K]. 0, or -1 with err. */
static int expert_means(const report_search *s, const json_t *alpha, double *out,
                        const char *key, int line, t2_error *err) {
    if (!json_is_array(alpha) || (int64_t)json_array_size(alpha) != s->dim)
        return t2_error_set(err, "%s: line %d: '%s' does not hold %lld numbers; expected one "
                            "per weight", s->path, line, key, (long long)s->dim);
    int64_t layers = s->dim / s->experts;
    for (int k = 0; k < s->experts; k++) {
        double sum = 0.0;
        for (int64_t l = 0; l < layers; l++)
            sum += json_number_value(json_array_get(alpha, (size_t)(k * layers + l)));
        out[k] = sum / (double)layers;
    }
    return 0;
}

static int search_add_line(report *r, const char *path, const json_t *o, int line,
                           t2_error *err) {
    double it = 0;
    if (number(o, "iteration", &it, path, line, err) != 0) return -1;
    report_search *s = r->n_searches ? &r->searches[r->n_searches - 1] : NULL;
    if (it == 1 || s == NULL || strcmp(s->path, path) != 0) {
        if (search_start(r, path, o, line, err) != 0) return -1;
        s = &r->searches[r->n_searches - 1];
    }
    if (s->n == s->cap) {
        int64_t cap = s->cap ? 2 * s->cap : 16;
        double **cols[] = {&s->iteration, &s->examples, &s->best_score, &s->iteration_best,
                           &s->iteration_mean, &s->best_tiebreak};
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) grow(cols[c], s->n, cap);
        grow(&s->best_alpha, s->n * s->experts, cap * s->experts);
        grow(&s->mean_alpha, s->n * s->experts, cap * s->experts);
        s->cap = cap;
    }
    int64_t i = s->n;
    s->iteration[i] = it;
    static const char *const keys[] = {"examples", "best_score", "iteration_best",
                                       "iteration_mean", "best_tiebreak"};
    double *slots[] = {&s->examples[i], &s->best_score[i], &s->iteration_best[i],
                       &s->iteration_mean[i], &s->best_tiebreak[i]};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (number(o, keys[k], slots[k], path, line, err) != 0) return -1;
    if (expert_means(s, json_object_get(o, "best_alpha"), s->best_alpha + i * s->experts,
                     "best_alpha", line, err) != 0 ||
        expert_means(s, json_object_get(o, "mean_alpha"), s->mean_alpha + i * s->experts,
                     "mean_alpha", line, err) != 0)
        return -1;
    s->n++;
    return 0;
}

/* ---- evaluation reports ---- */

/* The markdown table's last column: routing shares or few-shot α ("" for neither; heap). */
static char *row_detail(const json_t *row) {
    const json_t *routing = json_object_get(row, "routing");
    const json_t *fewshot = json_object_get(row, "fewshot");
    char buf[512] = "";
    size_t len = 0;
    const json_t *share = json_is_object(routing) ? json_object_get(routing, "share") : NULL;
    const char *key;
    json_t *value;
    if (json_is_object(share)) {
        json_object_foreach((json_t *)share, key, value)
            len += (size_t)snprintf(buf + len, len < sizeof buf ? sizeof buf - len : 0,
                                    "%s%s %.1f %%", len ? ", " : "", key,
                                    100.0 * json_number_value(value));
    } else if (json_is_object(fewshot) && json_is_array(json_object_get(fewshot, "alpha"))) {
        const json_t *alpha = json_object_get(fewshot, "alpha");
        len += (size_t)snprintf(buf, sizeof buf, "α");
        for (size_t i = 0; i < json_array_size(alpha) && len < sizeof buf; i++)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s %.2f", i ? "," : "",
                                    json_number_value(json_array_get(alpha, i)));
    }
    return t2_strdup(buf);
}

static int index_of(char **list, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0) return i;
    return -1;
}

static int read_eval(report *r, const char *path, const json_t *root, t2_error *err) {
    const json_t *results = json_object_get(root, "results");
    if (!json_is_array(results) || json_array_size(results) == 0)
        return t2_error_set(err, "%s: no 'results' rows; expected t2 eval's JSON report "
                            "(docs/eval.md)", path);
    r->evals = t2_realloc(r->evals, (size_t)(r->n_evals + 1) * sizeof *r->evals);
    report_eval *e = &r->evals[r->n_evals++];
    memset(e, 0, sizeof *e);
    e->path = t2_strdup(path);
    e->name = stem(path, ".json");
    e->ranks = (int)json_integer_value(json_object_get(root, "ranks"));
    e->samples = json_integer_value(json_object_get(root, "samples_per_task"));
    size_t n = json_array_size(results);
    e->rows = t2_alloc_array(n, sizeof *e->rows);
    e->tasks = t2_alloc_array(n, sizeof *e->tasks);
    e->strategies = t2_alloc_array(n, sizeof *e->strategies);
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(results, i);
        const json_t *interval = json_object_get(row, "interval95");
        const char *task = json_string_value(json_object_get(row, "task"));
        const char *strategy = json_string_value(json_object_get(row, "strategy"));
        if (task == NULL || strategy == NULL || !json_is_object(interval) ||
            !json_is_number(json_object_get(row, "accuracy")))
            return t2_error_set(err, "%s: results[%zu] lacks task, strategy, accuracy or "
                                "interval95; expected t2 eval's JSON report (docs/eval.md)",
                                path, i);
        report_row *w = &e->rows[e->n++];
        w->task = t2_strdup_printf("%s@%lld", task,
                                   (long long)json_integer_value(json_object_get(row, "level")));
        w->strategy = t2_strdup(strategy);
        w->accuracy = json_number_value(json_object_get(row, "accuracy"));
        w->low = json_number_value(json_object_get(interval, "low"));
        w->high = json_number_value(json_object_get(interval, "high"));
        w->n = json_integer_value(json_object_get(row, "n"));
        w->correct = json_integer_value(json_object_get(row, "correct"));
        w->seconds = json_number_value(json_object_get(row, "seconds"));
        w->detail = row_detail(row);
        if (index_of(e->tasks, e->n_tasks, w->task) < 0) e->tasks[e->n_tasks++] = w->task;
        if (index_of(e->strategies, e->n_strategies, w->strategy) < 0)
            e->strategies[e->n_strategies++] = w->strategy;
    }
    return 0;
}

/* ---- inputs ---- */

/* JSON lines: metrics or a few-shot log, decided by the first line. */
static int read_lines(report *r, const char *path, char *text, t2_error *err) {
    int line = 0, kind = -1, status = 0; /* kind 0: metrics, 1: few-shot log */
    report_run *run = NULL;
    for (char *next = text; status == 0 && next != NULL && *next != '\0';) {
        char *end = strchr(next, '\n');
        if (end != NULL) *end = '\0';
        char *this_line = next;
        next = end ? end + 1 : NULL;
        line++;
        if (strspn(this_line, " \t\r") == strlen(this_line)) continue;
        json_error_t jerr;
        json_t *o = json_loads(this_line, 0, &jerr);
        if (!json_is_object(o)) {
            status = t2_error_set(err, "%s: line %d: %s; expected one JSON object per line",
                                  path, line, o ? "not an object" : jerr.text);
        } else if (kind < 0 && json_object_get(o, "step") != NULL) {
            kind = 0;
            r->runs = t2_realloc(r->runs, (size_t)(r->n_runs + 1) * sizeof *r->runs);
            run = &r->runs[r->n_runs++];
            memset(run, 0, sizeof *run);
            run->path = t2_strdup(path);
            run->name = stem(path, ".jsonl");
        } else if (kind < 0 && json_object_get(o, "search") != NULL &&
                   json_object_get(o, "iteration") != NULL) {
            kind = 1;
        } else if (kind < 0) {
            status = t2_error_set(err, "%s: line %d holds neither 'step' (training metrics) nor "
                                  "'search' and 'iteration' (a fewshot_log); expected t2 "
                                  "train's metrics, a fewshot_log or t2 eval's JSON report",
                                  path, line);
        }
        if (status == 0 && kind == 0) status = run_add_line(run, o, line, err);
        if (status == 0 && kind == 1) status = search_add_line(r, path, o, line, err);
        json_decref(o);
    }
    if (status == 0 && kind < 0)
        status = t2_error_set(err, "%s: empty; expected t2 train's metrics, a fewshot_log or "
                              "t2 eval's JSON report", path);
    return status;
}

int report_read_input(report *r, const char *path, t2_error *err) {
    char *text = NULL;
    size_t len = 0;
    if (t2_file_read(path, &text, &len, err) != 0) return -1;
    int status;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr); /* a whole-file object: a report */
    if (json_is_object(root) && json_object_get(root, "results") != NULL) {
        const char *command = json_string_value(json_object_get(root, "command"));
        status = command != NULL && strcmp(command, "eval") == 0
                     ? read_eval(r, path, root, err)
                     : t2_error_set(err, "%s: a JSON report of '%s'; expected one of t2 eval",
                                    path, command ? command : "?");
    } else {
        status = read_lines(r, path, text, err);
    }
    json_decref(root);
    t2_free(text);
    return status;
}

void report_free(report *r) {
    for (int i = 0; i < r->n_runs; i++) {
        report_run *run = &r->runs[i];
        double *cols[] = {run->step, run->reward_mean, run->reward_std, run->accuracy, run->kl,
                          run->loss, run->grad_norm, run->tokens, run->step_seconds,
                          run->elapsed, run->val};
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) t2_free(cols[c]);
        t2_free(run->path);
        t2_free(run->name);
    }
    for (int i = 0; i < r->n_searches; i++) {
        report_search *s = &r->searches[i];
        double *cols[] = {s->iteration, s->examples, s->best_score, s->iteration_best,
                          s->iteration_mean, s->best_tiebreak, s->best_alpha, s->mean_alpha};
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) t2_free(cols[c]);
        for (int k = 0; k < s->experts; k++) t2_free(s->names[k]);
        t2_free(s->names);
        t2_free(s->path);
        t2_free(s->label);
    }
    for (int i = 0; i < r->n_evals; i++) {
        report_eval *e = &r->evals[i];
        for (int k = 0; k < e->n; k++) {
            t2_free(e->rows[k].task);
            t2_free(e->rows[k].strategy);
            t2_free(e->rows[k].detail);
        }
        t2_free(e->rows);
        t2_free(e->tasks);
        t2_free(e->strategies);
        t2_free(e->path);
        t2_free(e->name);
    }
    t2_free(r->runs);
    t2_free(r->searches);
    t2_free(r->evals);
    memset(r, 0, sizeof *r);
}

int t2_report_write(const char *dir, const char *const *inputs, int n, const char *gnuplot,
                    const char *title, t2_error *err) {
    report r;
    memset(&r, 0, sizeof r);
    int status = 0;
    for (int i = 0; status == 0 && i < n; i++) status = report_read_input(&r, inputs[i], err);
    struct stat sb;
    if (status == 0 && mkdir(dir, 0777) != 0 && errno != EEXIST)
        status = t2_error_set(err, "%s: cannot create the folder: %s; expected a writable path "
                              "whose parent exists", dir, strerror(errno));
    else if (status == 0 && (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        status = t2_error_set(err, "%s: not a folder; expected a folder or a new path", dir);
    if (status == 0) status = report_plot(&r, dir, gnuplot ? gnuplot : "gnuplot", err);
    if (status == 0) status = report_html(&r, dir, title ? title : "t2 report", err);
    report_free(&r);
    return status;
}

int t2_cmd_report(int argc, char **argv) {
    enum { OPT_OUT = 256, OPT_TITLE, OPT_GNUPLOT };
    static const struct option options[] = {{"out", required_argument, NULL, OPT_OUT},
                                            {"title", required_argument, NULL, OPT_TITLE},
                                            {"gnuplot", required_argument, NULL, OPT_GNUPLOT},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *out = NULL, *title = NULL, *gnuplot = NULL;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_OUT: out = optarg; break;
        case OPT_TITLE: title = optarg; break;
        case OPT_GNUPLOT: gnuplot = optarg; break;
        case 'h': print_usage(); return T2_EXIT_OK;
        case ':': return t2_cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return t2_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (out == NULL) return t2_cli_usage(cmd, "--out DIR is required");
    if (argc - optind == 0)
        return t2_cli_usage(cmd, "expected at least one FILE (training metrics, a fewshot_log "
                            "or an evaluation report)");
    t2_error err = {{0}};
    if (t2_report_write(out, (const char *const *)argv + optind, argc - optind, gnuplot, title,
                        &err) != 0)
        return t2_cli_fail_error(cmd, &err);
    fprintf(stderr, "t2 report: wrote %s/index.html (%d input file%s)\n", out, argc - optind,
            argc - optind == 1 ? "" : "s");
    return T2_EXIT_OK;
}

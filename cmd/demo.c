/* `t2 demo`: Transformer² end to end on one model (the embedded default unless --model),
 * on every rank of the job, in six steps announced on rank 0's stderr:
 *   1. decompose the model (dist/decompose.h) into DIR/default.svd;
 *   2. train the math, code and reasoning experts and the cls classifier (dist/train.h) with
 *      the settings of configs/train-<task>.cfg on a short schedule, into DIR/<task>.expert
 *      (checkpoints DIR/<task>-ckpt, metrics DIR/<task>.jsonl);
 *   3. bundle them into DIR/experts.t2b (rl/bundle.h), cls as the classifier;
 *   4. evaluate the base model and each expert on the three training tasks (dist/eval.h);
 *   5. evaluate the base model and the prompt, classifier and few-shot adaptations on the
 *      held-out tasks math_shift and code_shift;
 *   6. print both tables (cmd/eval_report.h) with headings to stdout, write them and their
 *      JSON reports into DIR, and the report page with plots of the trainings, the few-shot
 *      searches (their log DIR/fewshot.jsonl) and both tables into DIR/report (cmd/report.h;
 *      without gnuplot a warning, not an error).
 * It only drives the library calls the single commands make; docs/demo.md is the manual.
 * Steps 1 and 2 re-use what a previous run with the same settings left in DIR (a matching
 * store, the trainings' checkpoints), so an interrupted demo continues where it stopped. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "base/log.h"
#include "base/progress.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/eval_report.h"
#include "cmd/report.h"
#include "cmd/run_config.h"
#include "cmd/settings.h"
#include "cmd/train_settings.h"
#include "dist/decompose.h"
#include "dist/eval.h"
#include "dist/runtime.h"
#include "dist/train.h"
#include "model/model_dir.h"
#include "rl/bundle.h"

enum { DEMO_STEPS = 6, DEMO_EXPERTS = 4, DEMO_TABLES = 2, DEMO_MAX_SETTINGS = 20 };

/* The experts, in bundle order, the classifier last. steps is the full demo's schedule: all
 * four train in 7.3 minutes on 2 ranks of an idle 2-core machine, 14.6 with another 2-rank
 * job on it (docs/demo.md); objective, lr and max_new_tokens are configs/train-<task>.cfg's. */
static const struct demo_expert {
    const char *task;
    int64_t steps;
    const char *objective;
    double lr;
    int64_t max_new_tokens;
} experts[DEMO_EXPERTS] = {
    {"math", 80, "reinforce", 2e-3, 64},
    {"code", 80, "reinforce", 2e-3, 96},
    {"reasoning", 40, "sft", 5e-3, 96},
    {"cls", 40, "reinforce", 2e-3, 32},
};

/* The two tables: which tasks against which strategies. */
static const struct demo_table {
    const char *tasks, *strategies, *step, *heading, *about;
} tables[DEMO_TABLES] = {
    {"math,code,reasoning", "base,expert:math,expert:code,expert:reasoning",
     "Table 1, the base model and each expert on math, code and reasoning",
     "Table 1: the experts on their own tasks",
     "The base model against each expert on the test splits of the training tasks; each "
     "expert should beat the base model on its own task."},
    {"math_shift,code_shift", "base,prompt,classifier,fewshot",
     "Table 2, the base model and the prompt, classifier and few-shot adaptations on the "
     "held-out tasks math_shift and code_shift",
     "Table 2: adaptation on held-out tasks",
     "The base model against the three adaptations on tasks no expert was trained on: the "
     "model names the query's category (prompt), the classifier expert does (classifier), or "
     "a mixture of the experts is searched on solved examples (fewshot)."},
};

/* The flags (and config keys). Numbers left at 0 take the full or the --quick value. */
typedef struct demo_settings {
    char *model, *out;
    int quick;
    int64_t steps, batch, val_samples, n, fewshot_examples, fewshot_iterations,
        fewshot_population, seed;
    t2_prompt_settings prompt; /* chat format, BOS/EOS, system message of every stage */
} demo_settings;

/* What the run uses, every 0 of the settings resolved. */
typedef struct demo_plan {
    int64_t steps[DEMO_EXPERTS];
    int64_t batch, chunk, val_samples, val_every, max_new_tokens_cap;
    int64_t n, eval_batch, eval_max_new_tokens;
    int64_t fewshot_examples, fewshot_iterations, fewshot_population;
} demo_plan;

static int make_table(t2_setting *table, demo_settings *s) {
    static char steps_help[160]; /* the schedule, written out for --help */
    int len = snprintf(steps_help, sizeof steps_help, "training steps of every expert (0: the "
                       "schedule,");
    for (int e = 0; e < DEMO_EXPERTS; e++)
        len += snprintf(steps_help + len, sizeof steps_help - (size_t)len, " %s %lld%s",
                        experts[e].task, (long long)experts[e].steps,
                        e < DEMO_EXPERTS - 1 ? "," : ")");
    memset(s, 0, sizeof *s);
    s->model = t2_strdup("assets/default-model");
    s->out = t2_strdup("build/demo");
    s->seed = 1;
    s->prompt = t2_run_config_prompt_defaults();
    const t2_setting entries[] = {
        {"model", T2_SETTING_STRING, &s->model, 0, 0, 0, "base model folder (relative to the working directory)"},
        {"out", T2_SETTING_STRING, &s->out, 0, 0, 0, "folder for the store, experts, bundle, tables and reports (created)"},
        {"quick", T2_SETTING_BOOL, &s->quick, 0, 1, 0, "tiny settings (2 steps, batch 4, n 8, ...) that run in well under a minute: for tests"},
        {"steps", T2_SETTING_INT, &s->steps, 0, 1e9, 0, steps_help},
        {"batch", T2_SETTING_INT, &s->batch, 0, 1e7, 0, "prompts per training step (0: 64)"},
        {"val_samples", T2_SETTING_INT, &s->val_samples, 0, 1e7, 0, "validation items of each expert, every 10 steps (0: 128)"},
        {"n", T2_SETTING_INT, &s->n, 0, 1e9, 0, "test samples per task in the tables (0: 200)"},
        {"fewshot_examples", T2_SETTING_INT, &s->fewshot_examples, 0, 1e6, 0, "fewshot: solved examples per held-out task (0: 16)"},
        {"fewshot_iterations", T2_SETTING_INT, &s->fewshot_iterations, 0, 1e6, 0, "fewshot: CEM iterations (0: 4)"},
        {"fewshot_population", T2_SETTING_INT, &s->fewshot_population, 0, 1e6, 0, "fewshot: CEM members per iteration (0: 32)"},
        {"seed", T2_SETTING_INT, &s->seed, 0, 9e18, 0, "seed of the training runs and of the tasks' generators"},
    };
    int n = (int)(sizeof entries / sizeof entries[0]);
    memcpy(table, entries, sizeof entries);
    return n + t2_run_config_prompt_settings(table + n, &s->prompt);
}

static void print_usage(const t2_setting *table, int n) {
    printf("usage: [mpirun -n N] t2 demo [CONFIG] [--out DIR] [--model DIR] [--quick] "
           "[--key value ...]\n\n"
           "Transformer² end to end on the embedded default model, over all ranks, in six\n"
           "steps: (1) decompose the model's weight matrices into DIR/default.svd; (2) train\n"
           "the math, code and reasoning experts and the cls classifier (SVF, with the\n"
           "settings of configs/train-<task>.cfg on a short schedule) into\n"
           "DIR/<task>.expert, with checkpoints and metrics in DIR; (3) bundle them into\n"
           "DIR/experts.t2b; (4) Table 1: the base model against each expert on math, code\n"
           "and reasoning; (5) Table 2: the base model against the prompt, classifier and\n"
           "few-shot adaptations on the held-out tasks math_shift and code_shift;\n"
           "(6) print both tables and write DIR/table1.md, DIR/table2.md, DIR/table1.json and\n"
           "DIR/table2.json, and a report page with plots (t2 report) in DIR/report.\n"
           "Progress goes to stderr, the tables to stdout. About 4 minutes\n"
           "on 2 ranks of an idle 2-core machine. A second run with the same settings re-uses\n"
           "the store and trainings the first left in DIR (an interrupted demo continues);\n"
           "with other training settings, use another DIR. CONFIG is an optional libconfig\n"
           "file with the keys below (flags override it); see docs/demo.md.\n\n");
    t2_settings_print_help(table, n, stdout);
}

/* value when set (non-zero), else the full or the --quick default. */
static int64_t pick(int64_t value, int quick, int64_t full, int64_t tiny) {
    return value != 0 ? value : quick ? tiny : full;
}

static void make_plan(const demo_settings *s, demo_plan *p) {
    memset(p, 0, sizeof *p);
    for (int e = 0; e < DEMO_EXPERTS; e++)
        p->steps[e] = pick(s->steps, s->quick, experts[e].steps, 2);
    p->batch = pick(s->batch, s->quick, 64, 4);
    p->chunk = s->quick ? 2 : 16; /* configs/train-*.cfg's; --quick: two chunks, one a rank */
    if (p->chunk > p->batch) p->chunk = p->batch;
    p->val_samples = pick(s->val_samples, s->quick, 128, 4);
    p->val_every = s->quick ? 0 : 10;
    p->max_new_tokens_cap = s->quick ? 16 : 0;
    p->n = pick(s->n, s->quick, 200, 8);
    p->eval_batch = s->quick ? 4 : 32;
    p->eval_max_new_tokens = s->quick ? 16 : 96;
    p->fewshot_examples = pick(s->fewshot_examples, s->quick, 16, 4);
    p->fewshot_iterations = pick(s->fewshot_iterations, s->quick, 4, 1);
    p->fewshot_population = pick(s->fewshot_population, s->quick, 32, 4);
}

/* mkdir -p: creates dir and its missing parents. 0, or -1 with err. */
static int make_folder(const char *dir, t2_error *err) {
    if (dir[0] == '\0') return t2_error_set(err, "out: empty; expected a folder");
    char *path = t2_strdup(dir);
    int status = 0;
    for (char *c = path + 1; status == 0; c++) {
        int last = *c == '\0';
        if (*c != '/' && !last) continue;
        *c = '\0';
        struct stat info;
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            status = t2_error_set(err, "out: cannot create folder %s: %s; expected a writable "
                                  "path", path, strerror(errno));
        else if (stat(path, &info) != 0 || !S_ISDIR(info.st_mode))
            status = t2_error_set(err, "out: %s is not a folder; expected a folder or a new "
                                  "path", path);
        if (last) break;
        *c = '/';
    }
    if (status == 0 && access(dir, W_OK) != 0)
        status = t2_error_set(err, "out: cannot write into %s: %s; expected a writable folder",
                              dir, strerror(errno));
    t2_free(path);
    return status;
}

/* Rank 0: the model loads (config, weights, tokenizer) and takes the prompt settings, so
 * that a wrong --model or --prompt-format fails before anything is written. */
static int check_model(const demo_settings *s, t2_error *err) {
    t2_model_dir m;
    memset(&m, 0, sizeof m);
    int status = t2_model_dir_load(&m, s->model, err);
    if (status != 0) t2_error_prefix(err, "model");
    else status = t2_model_dir_set_prompt(&m, &s->prompt, err);
    t2_model_dir_free(&m);
    return status;
}

/* A copy of the prompt settings with heap strings, for another settings struct to own. */
static t2_prompt_settings copy_prompt(const t2_prompt_settings *p) {
    t2_prompt_settings c = *p;
    c.format = p->format ? t2_strdup(p->format) : NULL;
    c.system = p->system ? t2_strdup(p->system) : NULL;
    return c;
}

/* One progress line per step on rank 0's stderr, with the time since the start. */
static void announce(double start, int step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void announce(double start, int step, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    double elapsed = t2_time_now() - start;
    t2_log(T2_LOG_INFO, "demo: step %d of %d: %s ... [%d:%02d elapsed]", step, DEMO_STEPS, what,
           (int)(elapsed / 60), (int)elapsed % 60);
}

static int decompose(const t2_runtime *rt, const demo_settings *s, const char *store,
                     t2_error *err) {
    t2_decompose_options o = {.model = s->model, .out = store,
                              .targets = {.set = T2_TARGET_SET_ALL},
                              .precision = T2_PRECISION_DOUBLE, .method = T2_SVD_METHOD_FAST,
                              .block_size = 64};
    t2_decompose_result res;
    int status = t2_decompose_run(rt, &o, &res, err);
    if (status == 0 && res.reused)
        t2_log(T2_LOG_INFO, "demo: %s already holds this decomposition; re-used it", store);
    t2_decompose_result_free(&res);
    return status;
}

/* Replaces a string setting's value with a heap string the caller made. */
static void set_string(char **slot, char *value) {
    t2_free(*slot);
    *slot = value;
}

/* The training settings of expert e: configs/train-<task>.cfg's with the plan's schedule and
 * files in out, in t's table (returns its size; t2_settings_free(table, n) and
 * t2_free(t->config_text) release them). The config text the expert records is that table
 * as a config file, so that `t2 train` can repeat the run. */
static int make_train(t2_setting *table, t2_train_settings *t, const demo_settings *s,
                      const demo_plan *p, const char *store, int e) {
    const char *task = experts[e].task;
    int n = t2_train_settings_table(table, t);
    set_string(&t->model, t2_strdup(s->model));
    set_string(&t->store, t2_strdup(store));
    set_string(&t->task, t2_strdup(task));
    set_string(&t->name, t2_strdup(task));
    set_string(&t->out, t2_strdup_printf("%s/%s.expert", s->out, task));
    set_string(&t->objective, t2_strdup(experts[e].objective));
    set_string(&t->reward_norm, t2_strdup("center"));
    set_string(&t->prompt.format, t2_strdup(s->prompt.format));
    if (s->prompt.system != NULL) set_string(&t->prompt.system, t2_strdup(s->prompt.system));
    t->prompt.add_special_tokens = s->prompt.add_special_tokens;
    set_string(&t->control.checkpoint_dir, t2_strdup_printf("%s/%s-ckpt", s->out, task));
    set_string(&t->control.metrics, t2_strdup_printf("%s/%s.jsonl", s->out, task));
    t->task_seed = s->seed;
    t->lr = experts[e].lr;
    t->steps = p->steps[e];
    t->batch = p->batch;
    t->chunk = p->chunk;
    t->max_new_tokens = experts[e].max_new_tokens;
    if (p->max_new_tokens_cap > 0 && t->max_new_tokens > p->max_new_tokens_cap)
        t->max_new_tokens = p->max_new_tokens_cap;
    t->seed = s->seed;
    t->val_every = p->val_every;
    t->val_samples = p->val_samples;
    char *keys = t2_settings_format_config(table, n);
    t->config_text = t2_strdup_printf(
        "# t2 demo: the %s expert (configs/train-%s.cfg on the demo's schedule)\n%s", task,
        task, keys);
    t2_free(keys);
    return n;
}

/* Rank 0: DIR/experts.t2b from the trained experts, the last one (cls) the classifier. */
static int bundle(const char *out, const char *path, t2_error *err) {
    char *paths[DEMO_EXPERTS];
    for (int e = 0; e < DEMO_EXPERTS; e++)
        paths[e] = t2_strdup_printf("%s/%s.expert", out, experts[e].task);
    t2_bundle b;
    int status = t2_bundle_create_from_files(&b, path, (const char *const *)paths,
                                             DEMO_EXPERTS - 1, paths[DEMO_EXPERTS - 1], err);
    t2_bundle_free(&b);
    for (int e = 0; e < DEMO_EXPERTS; e++) t2_free(paths[e]);
    return status;
}

/* The evaluation settings of table k; strings on the heap (free_eval). */
static void make_eval(t2_eval_settings *v, const demo_settings *s, const demo_plan *p,
                      const char *store, const char *bundle_path, int k) {
    memset(v, 0, sizeof *v);
    v->model = t2_strdup(s->model);
    v->store = t2_strdup(store);
    v->bundle = t2_strdup(bundle_path);
    v->strategies = t2_strdup(tables[k].strategies);
    v->tasks = t2_strdup(tables[k].tasks);
    v->split = t2_strdup("test");
    v->kv_cache = t2_strdup("f32");
    v->n = p->n;
    v->batch = p->eval_batch;
    v->max_new_tokens = p->eval_max_new_tokens;
    v->seed = s->seed;
    v->fewshot = t2_fewshot_settings_default();
    v->fewshot.examples = p->fewshot_examples;
    v->fewshot.iterations = p->fewshot_iterations;
    v->fewshot.population = p->fewshot_population;
    v->fewshot.log = t2_model_dir_path(s->out, "fewshot.jsonl"); /* for the report */
    v->prompt = copy_prompt(&s->prompt);
}

static void free_eval(t2_eval_settings *v) {
    char *owned[] = {v->model,  v->store,         v->bundle,        v->strategies, v->tasks,
                     v->split,  v->kv_cache,      v->prompt.format, v->prompt.system,
                     v->fewshot.log};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) t2_free(owned[i]);
    memset(v, 0, sizeof *v);
}

/* Rank 0: prints the tables with their headings to stdout and writes DIR/table<k>.md and
 * DIR/table<k>.json (atomically). */
static int write_tables(const demo_settings *s, const demo_plan *p, t2_eval_settings *v,
                        const t2_eval_report *r, t2_error *err) {
    int status = 0;
    for (int k = 0; k < DEMO_TABLES && status == 0; k++) {
        size_t md_len = 0;
        char *md = t2_eval_report_markdown(&r[k], &md_len);
        char *json = t2_eval_report_json(&v[k], &r[k]);
        printf("## %s\n\n%s\n", tables[k].heading, tables[k].about);
        if (k == 0) {
            printf("Experts: SVF on the MLP matrices, %lld prompts a step, steps",
                   (long long)p->batch);
            for (int e = 0; e < DEMO_EXPERTS - 1; e++)
                printf("%s %s %lld (%s)", e > 0 ? "," : "", experts[e].task,
                       (long long)p->steps[e], experts[e].objective);
            printf(".\n");
        } else {
            printf("Classifier: the cls expert (%lld steps). Few-shot search: %lld solved "
                   "examples per task, %lld CEM iteration%s of %lld members.\n",
                   (long long)p->steps[DEMO_EXPERTS - 1], (long long)p->fewshot_examples,
                   (long long)p->fewshot_iterations, p->fewshot_iterations == 1 ? "" : "s",
                   (long long)p->fewshot_population);
        }
        printf("Greedy accuracy on %lld test samples per task, %d rank%s.\n\n", (long long)p->n,
               r[k].ranks, r[k].ranks == 1 ? "" : "s");
        fwrite(md, 1, md_len, stdout);
        printf("\n");
        fflush(stdout);
        char name[32];
        snprintf(name, sizeof name, "table%d.md", k + 1);
        char *md_path = t2_model_dir_path(s->out, name);
        snprintf(name, sizeof name, "table%d.json", k + 1);
        char *json_path = t2_model_dir_path(s->out, name);
        status = t2_file_write_atomic(md_path, md, md_len, err);
        if (status == 0) status = t2_file_write_atomic(json_path, json, strlen(json), err);
        t2_free(md_path);
        t2_free(json_path);
        t2_free(md);
        t2_free(json);
    }
    return status;
}

/* Rank 0: DIR/report from the trainings' metrics, the few-shot log and both tables. A
 * failure (gnuplot missing) is a warning: the tables are the demo's result. */
static void write_report(const demo_settings *s) {
    char *inputs[DEMO_EXPERTS + 1 + DEMO_TABLES];
    int n = 0;
    for (int e = 0; e < DEMO_EXPERTS; e++)
        inputs[n++] = t2_strdup_printf("%s/%s.jsonl", s->out, experts[e].task);
    inputs[n++] = t2_model_dir_path(s->out, "fewshot.jsonl");
    for (int k = 0; k < DEMO_TABLES; k++)
        inputs[n++] = t2_strdup_printf("%s/table%d.json", s->out, k + 1);
    char *dir = t2_model_dir_path(s->out, "report");
    t2_error err = {{0}};
    if (t2_report_write(dir, (const char *const *)inputs, n, NULL, "t2 demo", &err) == 0)
        t2_log(T2_LOG_INFO, "demo: wrote the report %s/index.html", dir);
    else
        t2_log(T2_LOG_WARN, "demo: no report: %s", err.msg);
    for (int i = 0; i < n; i++) t2_free(inputs[i]);
    t2_free(dir);
}

/* The six steps; 0 on every rank, or -1 on every rank with the same err. */
static int run(const t2_runtime *rt, const demo_settings *s, const demo_plan *p,
               t2_error *err) {
    double start = t2_time_now();
    int root = rt->rank == 0;
    int status = root ? check_model(s, err) : 0;
    if (status == 0 && root) status = make_folder(s->out, err);
    if (t2_runtime_agree_status(rt, status, err) != 0) return -1;
    char *store = t2_model_dir_path(s->out, "default.svd");
    char *bundle_path = t2_model_dir_path(s->out, "experts.t2b");
    announce(start, 1, "decompose %s into %s", s->model, store);
    status = decompose(rt, s, store, err);
    for (int e = 0; e < DEMO_EXPERTS && status == 0; e++) {
        announce(start, 2, "train the %s %s (%d of %d: %lld steps, batch %lld)",
                 experts[e].task, e < DEMO_EXPERTS - 1 ? "expert" : "classifier", e + 1,
                 DEMO_EXPERTS, (long long)p->steps[e], (long long)p->batch);
        t2_setting table[T2_TRAIN_MAX_SETTINGS];
        t2_train_settings t;
        int n = make_train(table, &t, s, p, store, e);
        status = t2_train_run(rt, &t, err);
        t2_free((char *)t.config_text);
        t2_settings_free(table, n);
    }
    if (status == 0) {
        announce(start, 3, "bundle the experts and the classifier into %s", bundle_path);
        status = t2_runtime_agree_status(rt, root ? bundle(s->out, bundle_path, err) : 0, err);
    }
    t2_eval_settings v[DEMO_TABLES];
    t2_eval_report r[DEMO_TABLES];
    memset(v, 0, sizeof v);
    memset(r, 0, sizeof r);
    char *fewshot_log = t2_model_dir_path(s->out, "fewshot.jsonl");
    if (root) unlink(fewshot_log); /* this run's searches only; rank 0 alone writes it */
    t2_free(fewshot_log);
    for (int k = 0; k < DEMO_TABLES && status == 0; k++) {
        announce(start, 4 + k, "%s (%lld samples each)", tables[k].step, (long long)p->n);
        make_eval(&v[k], s, p, store, bundle_path, k);
        status = t2_eval_run(rt, &v[k], &r[k], err);
    }
    if (status == 0) {
        announce(start, 6, "print the tables, write %s/table{1,2}.{md,json} and %s/report",
                 s->out, s->out);
        status = t2_runtime_agree_status(rt, root ? write_tables(s, p, v, r, err) : 0, err);
        if (status == 0 && root) write_report(s);
    }
    if (status == 0) {
        double elapsed = t2_time_now() - start;
        t2_log(T2_LOG_INFO, "demo: done in %d:%02d (%.1f min) on %d rank%s; results in %s",
               (int)(elapsed / 60), (int)elapsed % 60, elapsed / 60, rt->size,
               rt->size == 1 ? "" : "s", s->out);
    }
    for (int k = 0; k < DEMO_TABLES; k++) {
        t2_eval_report_free(&r[k]);
        free_eval(&v[k]);
    }
    t2_free(store);
    t2_free(bundle_path);
    return status;
}

static int run_command(const t2_runtime *rt, void *settings, const char *config_text,
                       t2_error *err) {
    (void)config_text;
    demo_plan p;
    make_plan(settings, &p);
    return run(rt, settings, &p, err) == 0 ? T2_EXIT_OK : T2_EXIT_FAILURE;
}

int t2_cmd_demo(int argc, char **argv) {
    t2_setting table[DEMO_MAX_SETTINGS];
    demo_settings s;
    int n = make_table(table, &s);
    t2_run_config_command c = {"demo", table, n, print_usage, run_command, &s};
    return t2_run_config_main(&c, argc, argv);
}

/* `t2 eval [CONFIG] [--key value ...]`: the accuracy of the base model, one expert, or an
 * adaptation strategy on one or more tasks, the samples sharded over the ranks
 * (dist/eval.h). Rank 0 prints a markdown table (accuracy with a 95 % Wilson interval, n,
 * tokens, seconds, routing) and writes it, and a JSON report, atomically when asked
 * (cmd/eval_report.h formats both; docs/eval.md describes them). The output files are
 * opened before the evaluation, so an unwritable path fails at once rather than after the
 * run. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/eval_report.h"
#include "cmd/run_config.h"
#include "cmd/settings.h"
#include "dist/eval.h"
#include "dist/runtime.h"

enum { EVAL_MAX_SETTINGS = 24 };

typedef struct eval_outputs {
    char *report, *table;        /* paths, or NULL (the settings' strings, borrowed) */
    t2_atomic_file report_file, table_file;
} eval_outputs;

typedef struct eval_command {
    t2_eval_settings settings;
    eval_outputs outputs;
} eval_command;

static int make_table(t2_setting *table, eval_command *e) {
    t2_eval_settings *s = &e->settings;
    eval_outputs *o = &e->outputs;
    memset(e, 0, sizeof *e);
    s->strategies = t2_strdup("base");
    s->split = t2_strdup("test");
    s->n = 200;
    s->batch = 32;
    s->max_new_tokens = 96;
    s->seed = 1;
    s->kv_cache = t2_strdup("f32");
    s->fewshot = t2_fewshot_settings_default();
    s->prompt = t2_run_config_prompt_defaults();
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
        {"kv_cache", T2_SETTING_STRING, &s->kv_cache, 0, 0, 0, "the attention cache: f32, or f16 (half the memory and the bytes a decode step reads; keys and values rounded)"},
        {"report", T2_SETTING_STRING, &o->report, 0, 0, 0, "JSON report to write (none if unset)"},
        {"table", T2_SETTING_STRING, &o->table, 0, 0, 0, "markdown table to write (printed either way)"},
        {"seed", T2_SETTING_INT, &s->seed, 0, 9e18, 0, "seed of the built-in tasks' generators (and of the few-shot search)"},
    };
    int n = (int)(sizeof entries / sizeof entries[0]);
    memcpy(table, entries, sizeof entries);
    n += t2_run_config_fewshot_settings(table + n, &s->fewshot);
    n += t2_run_config_prompt_settings(table + n, &s->prompt);
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
    char *md = t2_eval_report_markdown(r, &md_len);
    fwrite(md, 1, md_len, stdout);
    fflush(stdout);
    int status = commit(&o->table_file, md, md_len, err);
    t2_free(md);
    if (status == 0 && o->report != NULL) {
        char *json = t2_eval_report_json(s, r);
        status = commit(&o->report_file, json, strlen(json), err);
        t2_free(json);
    }
    return status;
}

static int run(const t2_runtime *rt, void *command, const char *config_text, t2_error *err) {
    (void)config_text;
    eval_command *e = command;
    eval_outputs *o = &e->outputs;
    int exit_code = T2_EXIT_OK;
    if (t2_runtime_agree_status(rt, rt->rank == 0 ? open_outputs(o, err) : 0, err) != 0)
        exit_code = T2_EXIT_FAILURE;
    t2_eval_report r = {0};
    if (exit_code == T2_EXIT_OK && t2_eval_run(rt, &e->settings, &r, err) != 0)
        exit_code = T2_EXIT_FAILURE;
    if (exit_code == T2_EXIT_OK &&
        t2_runtime_agree_status(rt, rt->rank == 0 ? write_outputs(&e->settings, o, &r, err) : 0,
                                err) != 0)
        exit_code = T2_EXIT_FAILURE;
    t2_atomic_file_abort(&o->report_file);
    t2_atomic_file_abort(&o->table_file);
    t2_eval_report_free(&r);
    return exit_code;
}

int t2_cmd_eval(int argc, char **argv) {
    t2_setting table[EVAL_MAX_SETTINGS];
    eval_command e;
    int n = make_table(table, &e);
    t2_run_config_command c = {"eval", table, n, print_usage, run, &e};
    return t2_run_config_main(&c, argc, argv);
}

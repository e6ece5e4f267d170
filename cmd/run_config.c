/* Config file then flags, for the distributed commands (see run_config.h). */
#include "cmd/run_config.h"

#include <string.h>

#include "base/alloc.h"
#include "cmd/cli.h"
#include "dist/stop_signal.h"

int t2_run_config_load(const t2_runtime *rt, const t2_setting *table, int n, int argc,
                       char **argv, char **config_text, t2_error *err) {
    char *text = NULL;
    int first_flag = 1;
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
        size_t len = 0;
        int status = t2_runtime_broadcast_file(rt, argv[1], &text, &len, err);
        if (status == 0) status = t2_settings_parse_config(table, n, text, argv[1], err);
        first_flag = 2;
        if (status != 0) {
            t2_free(text);
            return T2_EXIT_FAILURE;
        }
    }
    if (config_text != NULL) *config_text = text != NULL ? text : t2_strdup("");
    else t2_free(text);
    for (int i = first_flag; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        int used = t2_settings_apply_flag(table, n, argv[i], value, err);
        if (used < 0) return T2_EXIT_USAGE;
        i += used > 0;
    }
    if (t2_settings_check_required(table, n, err) != 0) return T2_EXIT_USAGE;
    return T2_EXIT_OK;
}

static int wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    return 0;
}

int t2_run_config_main(const t2_run_config_command *c, int argc, char **argv) {
    if (wants_help(argc, argv)) {
        c->print_usage(c->table, c->n);
        t2_settings_free(c->table, c->n);
        return T2_EXIT_OK;
    }
    t2_runtime rt;
    t2_runtime_init(&rt, &argc, &argv);
    t2_error err = {{0}};
    char *config_text = NULL;
    int exit_code = t2_run_config_load(&rt, c->table, c->n, argc, argv, &config_text, &err);
    if (exit_code == T2_EXIT_OK) exit_code = c->run(&rt, c->settings, config_text, &err);
    if (exit_code != T2_EXIT_OK && exit_code != T2_STOP_SIGNAL_EXIT && rt.rank == 0) {
        if (exit_code == T2_EXIT_USAGE) t2_cli_usage(c->command, "%s", err.msg);
        else t2_cli_fail_error(c->command, &err);
    }
    t2_free(config_text);
    t2_settings_free(c->table, c->n);
    t2_runtime_finalize(&rt);
    return exit_code;
}

int t2_run_config_control_settings(t2_setting *table, t2_run_control *c) {
    const t2_setting entries[] = {
        {"checkpoint_dir", T2_SETTING_STRING, &c->checkpoint_dir, 0, 0, 0, "folder for the checkpoint (none if unset)"},
        {"checkpoint_every", T2_SETTING_INT, &c->checkpoint_every, 1, 1e9, 0, "steps between checkpoints"},
        {"resume", T2_SETTING_BOOL, &c->resume, 0, 1, 0, "continue from the checkpoint when present"},
        {"stop_after", T2_SETTING_INT, &c->stop_after, 0, 1e9, 0, "end this run after this step, checkpointed (0: run to steps)"},
        {"metrics", T2_SETTING_STRING, &c->metrics, 0, 0, 0, "JSON-lines metrics file (none if unset)"},
    };
    memcpy(table, entries, sizeof entries);
    return (int)(sizeof entries / sizeof entries[0]);
}

int t2_run_config_fewshot_settings(t2_setting *table, t2_fewshot_settings *f) {
    const t2_setting entries[] = {
        {"fewshot_examples", T2_SETTING_INT, &f->examples, 1, 1e6, 0, "fewshot: solved examples searched on, the first ones"},
        {"fewshot_iterations", T2_SETTING_INT, &f->iterations, 1, 1e6, 0, "fewshot: CEM iterations"},
        {"fewshot_population", T2_SETTING_INT, &f->population, 2, 1e6, 0, "fewshot: CEM members per iteration (shared out to the ranks)"},
        {"fewshot_batch", T2_SETTING_INT, &f->batch, 0, 1e6, 0, "fewshot: examples each member is scored on per iteration (0: all; the best members are re-scored on all)"},
        {"fewshot_per_layer", T2_SETTING_BOOL, &f->per_layer, 0, 1, 0, "fewshot: one weight per expert and layer"},
        {"fewshot_log", T2_SETTING_STRING, &f->log, 0, 0, 0, "fewshot: JSON-lines file rank 0 appends one line per CEM iteration to (none if unset; t2 report plots it)"},
    };
    memcpy(table, entries, sizeof entries);
    return (int)(sizeof entries / sizeof entries[0]);
}

int t2_run_config_prompt_settings(t2_setting *table, t2_prompt_settings *p) {
    const t2_setting entries[] = {
        {"prompt_format", T2_SETTING_STRING, &p->format, 0, 0, 0, "how prompts are written: auto (the model's chat template), plain, llama3, llama2, mistral or chatml"},
        {"add_special_tokens", T2_SETTING_BOOL, &p->add_special_tokens, 0, 1, 0, "plain format: add the BOS/EOS the model's tokenizer files ask for"},
        {"system_prompt", T2_SETTING_STRING, &p->system, 0, 0, 0, "chat formats: the system message (none if unset)"},
    };
    memcpy(table, entries, sizeof entries);
    return (int)(sizeof entries / sizeof entries[0]);
}

t2_prompt_settings t2_run_config_prompt_defaults(void) {
    t2_prompt_settings p = t2_prompt_settings_default();
    p.format = t2_strdup("auto");
    p.system = NULL;
    return p;
}

int t2_run_config_check_control(const t2_run_control *c, t2_error *err) {
    if (c->stop_after > 0 && c->checkpoint_dir == NULL)
        return t2_error_set(err, "stop_after needs checkpoint_dir; expected a folder to "
                            "checkpoint into before stopping");
    return 0;
}

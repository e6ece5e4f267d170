/* The settings of a distributed command: `t2 CMD [CONFIG] [--key value ...]`. Rank 0 reads
 * the libconfig file and broadcasts its bytes, every rank parses them and then the flags
 * (which override the file) with the command's settings table (cmd/settings.h). */
#ifndef T2_CMD_RUN_CONFIG_H
#define T2_CMD_RUN_CONFIG_H

#include "base/error.h"
#include "cmd/settings.h"
#include "dist/fewshot.h"
#include "dist/runtime.h"
#include "model/prompt_encoder.h"

/* Collective. Fills the table's values; returns T2_EXIT_OK, or T2_EXIT_FAILURE (unreadable or
 * malformed file: err "<file>:<line>: ...") or T2_EXIT_USAGE (unknown flag, bad value,
 * missing required key) with err set on every rank. config_text (may be NULL) receives the
 * file's text as a heap string (t2_free), "" without a file. */
int t2_run_config_load(const t2_runtime *rt, const t2_setting *table, int n, int argc,
                       char **argv, char **config_text, t2_error *err);

/* Writes the settings of a t2_run_control (checkpoint_dir, checkpoint_every, resume,
 * stop_after, metrics) into table[0..4], with c's current values as defaults. Returns 5. */
int t2_run_config_control_settings(t2_setting *table, t2_run_control *c);

/* Writes the few-shot search's settings (fewshot_examples, fewshot_iterations,
 * fewshot_population, fewshot_batch, fewshot_per_layer) into table[0..4], with f's current
 * values as defaults. Returns 5. */
int t2_run_config_fewshot_settings(t2_setting *table, t2_fewshot_settings *f);

/* Writes the prompt settings (prompt_format, add_special_tokens, system_prompt;
 * model/prompt_encoder.h) into table[0..2], with p's current values as defaults. Returns 3. */
int t2_run_config_prompt_settings(t2_setting *table, t2_prompt_settings *p);

/* The prompt settings' defaults with heap strings, for a settings table to own: format
 * "auto", special tokens on, no system message. */
t2_prompt_settings t2_run_config_prompt_defaults(void);

/* Checks the run control against itself: 0, or -1 with err (stop_after without
 * checkpoint_dir). */
int t2_run_config_check_control(const t2_run_control *c, t2_error *err);

/* One distributed command: its name, its settings table (filled by the command), its help
 * and its work. run is called on every rank once the settings are loaded, with the config
 * file's text ("" without one); it returns T2_EXIT_OK, or T2_EXIT_USAGE / T2_EXIT_FAILURE
 * with err set (at least on rank 0). */
typedef struct {
    const char *command;
    t2_setting *table;
    int n;
    void (*print_usage)(const t2_setting *table, int n);
    int (*run)(const t2_runtime *rt, void *settings, const char *config_text, t2_error *err);
    void *settings;
} t2_run_config_command;

/* The whole life of a distributed command: --help (before MPI starts: help needs no ranks),
 * MPI start-up, the settings, run, the error line on rank 0 in the command's format, the
 * settings freed, MPI shut down. Returns the exit code. */
int t2_run_config_main(const t2_run_config_command *c, int argc, char **argv);

#endif

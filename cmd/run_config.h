/* The settings of a distributed command: `t2 CMD [CONFIG] [--key value ...]`. Rank 0 reads
 * the libconfig file and broadcasts its bytes, every rank parses them and then the flags
 * (which override the file) with the command's settings table (cmd/settings.h). */
#ifndef T2_CMD_RUN_CONFIG_H
#define T2_CMD_RUN_CONFIG_H

#include "base/error.h"
#include "cmd/settings.h"
#include "dist/fewshot.h"
#include "dist/runtime.h"

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

/* Checks the run control against itself: 0, or -1 with err (stop_after without
 * checkpoint_dir). */
int t2_run_config_check_control(const t2_run_control *c, t2_error *err);

/* 1 when argv holds --help or -h (before MPI starts: help needs no ranks). */
int t2_run_config_wants_help(int argc, char **argv);

/* Rank 0 prints err in the command's format for exit_code (usage or failure); nothing for
 * T2_EXIT_OK. Returns exit_code. */
int t2_run_config_report(const t2_runtime *rt, const char *command, int exit_code,
                         const t2_error *err);

#endif

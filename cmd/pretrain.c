/* `t2 pretrain CONFIG [--key value ...]`: data-parallel pretraining from a model folder on a
 * task corpus (dist/pretrain.h). Every setting is a config key and a flag (cmd/settings.h);
 * flags override the file. Rank 0 reads the config file and broadcasts it. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/run_config.h"
#include "cmd/settings.h"
#include "dist/pretrain.h"
#include "dist/runtime.h"
#include "dist/stop_signal.h"

static int make_table(t2_setting *table, t2_pretrain_settings *s) {
    memset(s, 0, sizeof *s);
    s->corpus = t2_strdup("math:3,code:3,reasoning:3,cls:1");
    s->steps = 1000;
    s->batch_seqs = 32;
    s->seq_len = 128;
    s->micro_batch = 8;
    s->lr = 1e-3;
    s->min_lr = 1e-4;
    s->weight_decay = 0.1;
    s->clip = 1.0;
    s->beta1 = 0.9;
    s->beta2 = 0.95;
    s->warmup = 50;
    s->seed = 1;
    s->control.checkpoint_every = 100;
    s->eval_every = 100;
    s->eval_rows = 32;
    s->distill = 1.0;
    s->distill_temperature = 1.0;
    const t2_setting entries[] = {
        {"init_model", T2_SETTING_STRING, &s->init_model, 0, 0, 1, "model folder to start from (t2 new-model makes one)"},
        {"out", T2_SETTING_STRING, &s->out, 0, 0, 1, "model folder to write"},
        {"corpus", T2_SETTING_STRING, &s->corpus, 0, 0, 0, "task mix task[:weight][@level],..."},
        {"steps", T2_SETTING_INT, &s->steps, 1, 1e9, 0, "optimiser steps"},
        {"batch_seqs", T2_SETTING_INT, &s->batch_seqs, 1, 1e6, 0, "rows per step over all ranks"},
        {"seq_len", T2_SETTING_INT, &s->seq_len, 2, 1e5, 0, "tokens per row"},
        {"micro_batch", T2_SETTING_INT, &s->micro_batch, 1, 1e5, 0, "rows per forward/backward on a rank"},
        {"lr", T2_SETTING_FLOAT, &s->lr, 0, 10, 0, "peak learning rate"},
        {"min_lr", T2_SETTING_FLOAT, &s->min_lr, 0, 10, 0, "learning rate at the end of the cosine"},
        {"warmup", T2_SETTING_INT, &s->warmup, 0, 1e9, 0, "linear warm-up steps"},
        {"weight_decay", T2_SETTING_FLOAT, &s->weight_decay, 0, 10, 0, "AdamW decoupled weight decay (matrices only)"},
        {"clip", T2_SETTING_FLOAT, &s->clip, 0, 1e9, 0, "global gradient-norm clip (0: off)"},
        {"beta1", T2_SETTING_FLOAT, &s->beta1, 0, 1, 0, "AdamW beta1"},
        {"beta2", T2_SETTING_FLOAT, &s->beta2, 0, 1, 0, "AdamW beta2"},
        {"seed", T2_SETTING_INT, &s->seed, 0, 9e18, 0, "seed of the corpus stream"},
        {"eval_every", T2_SETTING_INT, &s->eval_every, 0, 1e9, 0, "steps between validation losses (0: at the end)"},
        {"eval_rows", T2_SETTING_INT, &s->eval_rows, 1, 1e6, 0, "test-split rows in the validation loss"},
        {"keep_layers", T2_SETTING_STRING, &s->keep_layers, 0, 0, 0, "comma list of init_model's layers to start from, e.g. 0,3 (unset: all): a smaller model with the larger one's lineage"},
        {"teacher", T2_SETTING_STRING, &s->teacher, 0, 0, 0, "model folder to distil from (same tokenizer and vocabulary): the loss learns its next-token distributions"},
        {"distill", T2_SETTING_FLOAT, &s->distill, 0, 1, 0, "with a teacher: the distillation term's share of the loss (1 - distill stays cross-entropy)"},
        {"distill_temperature", T2_SETTING_FLOAT, &s->distill_temperature, 0.01, 100, 0, "with a teacher: the softmax temperature of both models in the distillation term"},
    };
    int n = (int)(sizeof entries / sizeof entries[0]);
    memcpy(table, entries, sizeof entries);
    return n + t2_run_config_control_settings(table + n, &s->control);
}

static void print_usage(const t2_setting *table, int n) {
    printf("usage: [mpirun -n N] t2 pretrain [CONFIG] [--key value ...]\n\n"
           "Pretrains a model folder on a mix of built-in tasks, data parallel over the ranks.\n"
           "CONFIG is a libconfig file with the keys below (flags override it); see\n"
           "docs/pretrain.md and configs/pretrain-default.cfg.\n\n");
    t2_settings_print_help(table, n, stdout);
}

static int run(const t2_runtime *rt, void *settings, const char *config_text, t2_error *err) {
    (void)config_text;
    t2_pretrain_settings *s = settings;
    if (s->batch_seqs < rt->size) {
        t2_error_set(err, "batch_seqs = %lld is smaller than the %d ranks; expected at least one "
                     "row per rank", (long long)s->batch_seqs, rt->size);
        return T2_EXIT_USAGE;
    }
    if (t2_run_config_check_control(&s->control, err) != 0) return T2_EXIT_USAGE;
    int status = t2_pretrain_run(rt, s, err);
    return status == 0 ? T2_EXIT_OK : status == T2_STOP_SIGNAL_STOPPED ? T2_STOP_SIGNAL_EXIT
                                                                       : T2_EXIT_FAILURE;
}

int t2_cmd_pretrain(int argc, char **argv) {
    t2_setting table[40];
    t2_pretrain_settings s;
    int n = make_table(table, &s);
    t2_run_config_command c = {"pretrain", table, n, print_usage, run, &s};
    return t2_run_config_main(&c, argc, argv);
}

/* `t2 train CONFIG [--key value ...]`: trains one expert (an SVF or LoRA adapter) on a task
 * over all ranks (dist/train.h). Every setting is a config key and a flag (cmd/settings.h);
 * flags override the file; rank 0 reads the file and broadcasts it. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/run_config.h"
#include "cmd/settings.h"
#include "cmd/train_settings.h"
#include "dist/runtime.h"
#include "dist/stop_signal.h"
#include "dist/train.h"
#include "rl/rollout.h"

int t2_train_settings_table(t2_setting *table, t2_train_settings *s) {
    t2_train_settings_init(s);
    const t2_setting entries[] = {
        {"model", T2_SETTING_STRING, &s->model, 0, 0, 1, "base model folder"},
        {"store", T2_SETTING_STRING, &s->store, 0, 0, 0, "decomposition store of the model (t2 decompose; method svf)"},
        {"task", T2_SETTING_STRING, &s->task, 0, 0, 1, "task to train on (t2 task list)"},
        {"task_data", T2_SETTING_STRING, &s->task_data, 0, 0, 0, "JSON-lines file of a dataset task (gsm8k, arc, qa, mbpp)"},
        {"prompt_template", T2_SETTING_STRING, &s->prompt_template, 0, 0, 0, "dataset tasks: the prompt, with {question} where the question goes (default: the task's)"},
        {"task_level", T2_SETTING_INT, &s->task_level, 0, 5, 0, "difficulty of a built-in task (0: its default)"},
        {"task_seed", T2_SETTING_INT, &s->task_seed, 0, 9e18, 0, "seed of a built-in task's generator"},
        {"task_train_size", T2_SETTING_INT, &s->task_train_size, 0, 1e9, 0, "items in a built-in task's train split (0: its default, 200000)"},
        {"name", T2_SETTING_STRING, &s->name, 0, 0, 0, "expert name (default: the task's)"},
        {"out", T2_SETTING_STRING, &s->out, 0, 0, 1, "expert file to write"},
        {"targets", T2_SETTING_STRING, &s->targets, 0, 0, 0, "adapted matrices: mlp, attn, all, or a glob over tensor names"},
        {"method", T2_SETTING_STRING, &s->method, 0, 0, 0, "svf (singular-value vectors) or lora"},
        {"parametrization", T2_SETTING_STRING, &s->parametrization, 0, 0, 0, "svf: sigmoid (m = max_mult sigmoid(p)) or linear (m = z)"},
        {"max_mult", T2_SETTING_FLOAT, &s->max_mult, 0.01, 100, 0, "svf sigmoid: the largest singular-value multiplier"},
        {"renormalize", T2_SETTING_BOOL, &s->renormalize, 0, 1, 0, "svf: rescale W' to keep the sum of singular values"},
        {"lora_rank", T2_SETTING_INT, &s->lora_rank, 1, 4096, 0, "lora: rank k of the adapters"},
        {"lora_alpha", T2_SETTING_FLOAT, &s->lora_alpha, 0, 1e6, 0, "lora: scale alpha (W' = W + alpha/k B A)"},
        {"objective", T2_SETTING_STRING, &s->objective, 0, 0, 0, "reinforce (rewards of sampled completions) or sft (reference answers)"},
        {"lr", T2_SETTING_FLOAT, &s->lr, 0, 10, 0, "Adam learning rate"},
        {"clip", T2_SETTING_FLOAT, &s->clip, 0, 1e9, 0, "global gradient-norm clip (0: off)"},
        {"beta1", T2_SETTING_FLOAT, &s->beta1, 0, 1, 0, "Adam beta1"},
        {"beta2", T2_SETTING_FLOAT, &s->beta2, 0, 1, 0, "Adam beta2"},
        {"eps", T2_SETTING_FLOAT, &s->eps, 0, 1, 0, "Adam epsilon"},
        {"steps", T2_SETTING_INT, &s->steps, 1, 1e9, 0, "optimiser steps"},
        {"batch", T2_SETTING_INT, &s->batch, 1, 1e7, 0, "prompts per step, over all ranks"},
        {"chunk", T2_SETTING_INT, &s->chunk, 1, 1e5, 0, "prompts per hand-out unit (decoded together)"},
        {"trainer_memory", T2_SETTING_INT, &s->trainer_memory, 1, 1 << 30, 0, "MB of activations a rank's training pass may hold: a chunk goes through in as many passes as that takes"},
        {"kv_cache", T2_SETTING_STRING, &s->kv_cache, 0, 0, 0, "the rollouts' attention cache: f32, or f16 (half the memory and the bytes a decode step reads; keys and values rounded)"},
        {"temperature", T2_SETTING_FLOAT, &s->temperature, 0, 100, 0, "rollout sampling temperature (0: greedy)"},
        {"top_k", T2_SETTING_INT, &s->top_k, 0, 1e9, 0, "rollout top-k (0: off)"},
        {"top_p", T2_SETTING_FLOAT, &s->top_p, 1e-6, 1, 0, "rollout nucleus mass (1: off)"},
        {"max_new_tokens", T2_SETTING_INT, &s->max_new_tokens, 1, 1e6, 0, "longest completion"},
        {"reward_norm", T2_SETTING_STRING, &s->reward_norm, 0, 0, 0, "none, center (r - mean) or standardize ((r - mean) / std)"},
        {"reward_clip", T2_SETTING_FLOAT, &s->reward_clip, 0, 1e9, 0, "clip advantages to [-c, c] (0: off)"},
        {"kl_beta", T2_SETTING_FLOAT, &s->kl_beta, 0, 1e6, 0, "weight of the KL penalty to the base model (0: off)"},
        {"seed", T2_SETTING_INT, &s->seed, 0, 9e18, 0, "seed of the prompts, sampling and initial parameters"},
        {"val_every", T2_SETTING_INT, &s->val_every, 0, 1e9, 0, "steps between validations (0: start and end only)"},
        {"val_samples", T2_SETTING_INT, &s->val_samples, 1, 1e7, 0, "validation items, held out of the train split's end"},
    };
    int n = (int)(sizeof entries / sizeof entries[0]);
    memcpy(table, entries, sizeof entries);
    n += t2_run_config_prompt_settings(table + n, &s->prompt);
    n += t2_run_config_control_settings(table + n, &s->control);
    T2_ASSERT(n <= T2_TRAIN_MAX_SETTINGS);
    return n;
}

static void print_usage(const t2_setting *table, int n) {
    printf("usage: [mpirun -n N] t2 train [CONFIG] [--key value ...]\n\n"
           "Trains one expert on a task: SVF singular-value vectors (or LoRA adapters) of the\n"
           "model's target matrices, by REINFORCE on the task's verifiable reward (or by\n"
           "supervised next-token loss), over all ranks. Rank 0 is the parameter rank; every\n"
           "rank generates rollouts. CONFIG is a libconfig file with the keys below (flags\n"
           "override it); see docs/train.md and configs/train-*.cfg.\n\n");
    t2_settings_print_help(table, n, stdout);
}

/* Checks that need the rank count or several keys together: 0, or -1 with err. */
static int check_settings(const t2_train_settings *s, t2_error *err) {
    if (t2_run_config_check_control(&s->control, err) != 0) return -1;
    if (s->chunk > s->batch)
        return t2_error_set(err, "chunk = %lld is larger than batch = %lld; expected at most "
                            "the batch", (long long)s->chunk, (long long)s->batch);
    /* REINFORCE is on-policy only (rl/rollout.h); an unknown objective is reported later */
    t2_objective objective;
    t2_sampler_params sampler = {(float)s->temperature, s->top_k, (float)s->top_p};
    if (t2_objective_from_name(s->objective, &objective) == 0 &&
        t2_rollout_check_sampling(objective, &sampler, err) != 0)
        return -1;
    return 0;
}

static int run(const t2_runtime *rt, void *settings, const char *config_text, t2_error *err) {
    t2_train_settings *s = settings;
    if (check_settings(s, err) != 0) return T2_EXIT_USAGE;
    if (s->name == NULL) s->name = t2_strdup(s->task);
    s->config_text = config_text;
    int status = t2_train_run(rt, s, err);
    return status == 0 ? T2_EXIT_OK : status == T2_STOP_SIGNAL_STOPPED ? T2_STOP_SIGNAL_EXIT
                                                                       : T2_EXIT_FAILURE;
}

int t2_cmd_train(int argc, char **argv) {
    t2_setting table[T2_TRAIN_MAX_SETTINGS];
    t2_train_settings s;
    int n = t2_train_settings_table(table, &s);
    t2_run_config_command c = {"train", table, n, print_usage, run, &s};
    return t2_run_config_main(&c, argc, argv);
}

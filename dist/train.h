/* Expert training (collective over MPI_COMM_WORLD): one adapter (model/adapter.h: SVF or
 * LoRA) on one task, by REINFORCE with verifiable rewards or by supervised next-token loss.
 *
 * Roles: the parameter rank (T2_PARAMETER_RANK) holds the parameters, Adam moments, the best
 * parameters, checkpoints and metrics; every rank (the parameter rank too) is a worker. Each
 * step:
 *   1. the parameter rank broadcasts the current ExpertSet (protobuf); every worker unpacks
 *      it and composes its policy weights W' once;
 *   2. the step's batch of prompts (drawn from (seed, step)) is cut into chunks that are
 *      handed out dynamically (dist/handout.h); a worker generates and scores the
 *      completions of each chunk it gets;
 *   3. the rewards and the completions are shared (every rank computes the same
 *      advantages), and the chunks' training passes are handed out dynamically too, each
 *      chunk into its own gradient accumulator;
 *   4. the accumulators are summed on the parameter rank, chunk by chunk in chunk order
 *      (a chunk's result does not depend on the rank that computed it, so a run gives the
 *      same expert bit for bit whatever the rank count), which turns them into ∂L/∂params,
 *      clips the global norm and applies Adam.
 * Every val_every steps the greedy accuracy on the validation samples (the last val_samples
 * items of the train split, which training never draws) is measured with the samples split
 * over the ranks; the parameters with the best validation accuracy are the expert written.
 *
 * Files: out (the expert, rl/expert.h), checkpoint_dir/train-state.pb (every
 * checkpoint_every steps, atomically; `resume` continues bit for bit), metrics (JSON lines,
 * one per step). Progress on rank 0's stderr. */
#ifndef T2_DIST_TRAIN_H
#define T2_DIST_TRAIN_H

#include <stdint.h>

#include "base/error.h"
#include "dist/runtime.h"
#include "model/prompt_encoder.h"

typedef struct t2_train_settings {
    char *model;            /* base model folder */
    char *store;            /* decomposition store (svf) */
    char *task;             /* task name */
    char *task_data;        /* dataset tasks: the JSON-lines file */
    char *prompt_template;  /* dataset tasks: the prompt with {question} (NULL: the task's) */
    t2_prompt_settings prompt; /* chat format, BOS/EOS, system message */
    int64_t task_level;     /* generators: 0 = the task's default */
    int64_t task_seed;      /* generators: the task's stream */
    int64_t task_train_size; /* generators: items in the train split (0: the task's default) */
    char *name;             /* expert name (default: the task's name) */
    char *out;              /* expert file to write */
    char *targets;          /* "mlp", "attn", "all", or a glob over tensor names */
    char *method;           /* "svf" or "lora" */
    char *parametrization;  /* svf: "sigmoid" or "linear" */
    double max_mult;        /* svf sigmoid */
    int renormalize;        /* svf: keep Σ s */
    int64_t lora_rank;
    double lora_alpha;
    char *objective;        /* "reinforce" or "sft" */
    double lr, clip, beta1, beta2, eps;
    int64_t steps;
    int64_t batch;          /* prompts per step */
    int64_t chunk;          /* prompts per hand-out unit */
    int64_t trainer_memory; /* MB a rank's training pass may hold in activations */
    char *kv_cache;         /* "f32" or "f16": the rollouts' and validation's KV cache */
    double temperature, top_p;
    int64_t top_k;
    int64_t max_new_tokens;
    char *reward_norm;      /* "none", "center", "standardize" */
    double reward_clip;     /* 0: off */
    double kl_beta;         /* 0: no KL penalty */
    int64_t seed;
    int64_t val_every;      /* 0: only at the start and the end */
    int64_t val_samples;
    t2_run_control control; /* checkpoints, resume, stop_after, metrics */
    const char *config_text; /* the config file's text, recorded in the expert (borrowed) */
} t2_train_settings;

/* Sets every setting to its default (docs/train.md): strings on the heap (targets, method,
 * parametrization, objective, reward_norm, kv_cache, prompt.format "auto"), model, store, task, out,
 * the files and the system prompt NULL. */
void t2_train_settings_init(t2_train_settings *s);

/* Collective. Runs the training; 0 on every rank, or -1 on every rank with err set (on
 * rank 0 at least): a bad model, store, task or setting, a store made from other weights, a
 * checkpoint of another run, an unwritable output. Nothing half-written is left behind.
 * T2_STOP_SIGNAL_STOPPED (dist/stop_signal.h) on every rank when SIGTERM or SIGUSR1 stopped
 * the run at a step boundary, after the checkpoint of that step (no expert written). */
int t2_train_run(const t2_runtime *rt, const t2_train_settings *s, t2_error *err);

#endif

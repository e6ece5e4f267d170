/* Data-parallel pretraining (collective over MPI_COMM_WORLD): every rank holds the whole
 * model, computes the gradient of its share of each step's rows, the gradients are summed
 * with MPI_Allreduce, and every rank applies the same AdamW step, so the replicas never
 * drift. Rows come from rl/corpus.h and depend only on (seed, step, row), so a run resumed
 * from a checkpoint continues bitwise-identically with the same rank count.
 *
 * Files: the checkpoint (checkpoint_dir/checkpoint.safetensors: weights, AdamW moments as
 * "adam_m.<name>" / "adam_v.<name>", metadata with the step and the run's identity) is
 * written atomically by rank 0 every checkpoint_every steps; metrics are JSON lines, one per
 * step, written by rank 0; the result is a model folder (config.json, model.safetensors,
 * tokenizer.json) of the last step run (`steps`, or `stop_after`).
 *
 * Smaller models with lineage: `keep_layers` starts from some of init_model's layers (its
 * embeddings, final norm and lm_head with them), and `teacher` distils a model into the one
 * being trained: the loss of a position becomes (1 − α) CE + α τ² KL(p_teacher ‖ p_student)
 * at temperature τ (rl/distill_loss.h), α = `distill`; the teacher runs the same rows
 * forward on every rank. The validation loss stays the plain cross-entropy. */
#ifndef T2_DIST_PRETRAIN_H
#define T2_DIST_PRETRAIN_H

#include <stdint.h>

#include "base/error.h"
#include "dist/runtime.h"

typedef struct t2_pretrain_settings {
    char *init_model;      /* model folder to start from (e.g. made by t2 new-model) */
    char *out;             /* model folder to write */
    char *corpus;          /* task mix, rl/corpus.h syntax */
    int64_t steps;         /* optimiser steps in all */
    int64_t batch_seqs;    /* rows per step, over all ranks */
    int64_t seq_len;       /* tokens per row */
    int64_t micro_batch;   /* rows per forward/backward call on a rank */
    double lr, min_lr, weight_decay, clip, beta1, beta2;
    int64_t warmup;        /* warm-up steps */
    int64_t seed;
    int64_t eval_every;    /* validation loss every K steps (0: only at the end) */
    int64_t eval_rows;     /* rows of the test split for the validation loss */
    char *keep_layers;     /* comma list of init_model's layers to start from (NULL: all) */
    char *teacher;         /* model folder to distil from (NULL: none) */
    double distill;        /* α in [0, 1]: the distillation term's share of the loss */
    double distill_temperature; /* τ > 0 */
    t2_run_control control; /* checkpoints, resume, stop_after, metrics */
} t2_pretrain_settings;

/* Collective. Runs the training; 0 on every rank on success, or -1 on every rank with err
 * set (on rank 0 at least) when any rank failed: bad model folder, corpus mix, checkpoint
 * that belongs to another run, unwritable output. Nothing half-written is left behind.
 * T2_STOP_SIGNAL_STOPPED (dist/stop_signal.h) on every rank when SIGTERM or SIGUSR1 stopped
 * the run at a step boundary, after the checkpoint of that step (no model written). */
int t2_pretrain_run(const t2_runtime *rt, const t2_pretrain_settings *s, t2_error *err);

#endif

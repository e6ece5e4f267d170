/* Expert files and training checkpoints: a trained adapter (model/adapter.h) with everything
 * needed to use it on the right base model, stored as protobuf messages (proto/t2.proto):
 *
 *   expert file     one ExpertSet message: name, task, method and its options, the base
 *                   model's fingerprint, one ExpertVector per target (tensor name, shape,
 *                   values), the training config text and a training summary.
 *   train state     one TrainState message: the run's identity, step, parameters, Adam
 *                   moments, the best parameters so far and their validation accuracy.
 *
 * Both are written atomically (temporary file, fsync, rename): a file is either absent, the
 * old one, or complete. Readers validate everything (a truncated or corrupt file, a missing
 * field, vectors whose lengths disagree with their shapes) and report one line naming the
 * file. Packing to bytes is also how dist/ sends an expert between ranks.
 * Single-process; no MPI. */
#ifndef T2_RL_EXPERT_H
#define T2_RL_EXPERT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "model/adapter.h"
#include "model/decomposition_store.h"

/* What training reports about how an expert was made. */
typedef struct t2_expert_summary {
    int64_t steps;             /* optimiser steps run */
    int64_t best_step;         /* step of the kept parameters (0: the initial ones) */
    double best_val_accuracy;  /* validation accuracy of the kept parameters, in [0, 1] */
    int64_t val_samples;       /* validation samples behind it */
    double wall_seconds;       /* training time */
    int64_t tokens;            /* tokens processed (prompts and completions) */
    int64_t ranks;             /* MPI ranks of the run */
} t2_expert_summary;

typedef struct t2_expert {
    char *name;                        /* e.g. "math" (owned) */
    char *task;                        /* task trained on, e.g. "math" (owned; may be "") */
    t2_adapter_options options;        /* method and its settings */
    char model_fingerprint[T2_FINGERPRINT_CHARS]; /* t2_model_fingerprint of the base model */
    int n;                             /* targets */
    char **tensors;                    /* [n] target tensor names (owned) */
    int64_t *rows, *cols;              /* [n] target shapes (out x in) */
    int64_t *offsets, *lengths;        /* [n] each target's parameters within params */
    float *params;                     /* [n_params] (owned) */
    int64_t n_params;
    char *config;                      /* training config text (owned; may be "") */
    t2_expert_summary summary;
} t2_expert;

/* Fills an expert from an adapter's layout and parameters (copies everything). */
void t2_expert_from_adapter(t2_expert *e, const char *name, const char *task,
                            const t2_adapter *a, const float *params,
                            const char *model_fingerprint);

/* 0 when the expert fits the adapter (same method, options, targets in the same order,
 * shapes and parameter counts), else -1 with err
 * "<path>: <what differs>; expected <what the adapter has>". */
int t2_expert_check_adapter(const t2_expert *e, const t2_adapter *a, const char *path,
                            t2_error *err);

/* 0 when the expert was made for the model with this fingerprint, else -1 with err
 * "<path>: expert made for another base model (fingerprint X); expected Y (<model_path>)". */
int t2_expert_check_model(const t2_expert *e, const char *fingerprint, const char *model_path,
                          const char *path, t2_error *err);

/* Serialises to heap bytes (t2_free) in *bytes, *len. */
void t2_expert_pack(const t2_expert *e, unsigned char **bytes, size_t *len);
/* Parses and validates bytes (source names them in errors). 0, or -1 with err and e zeroed. */
int t2_expert_unpack(t2_expert *e, const unsigned char *bytes, size_t len, const char *source,
                     t2_error *err);

/* Atomic write; on failure nothing is left at path. */
int t2_expert_write(const t2_expert *e, const char *path, t2_error *err);
/* Reads and validates an expert file: 0, or -1 with err naming the file, e zeroed. */
int t2_expert_read(t2_expert *e, const char *path, t2_error *err);

void t2_expert_free(t2_expert *e); /* accepts a zeroed expert; may run twice */

/* The method's settings as text for people and metadata (`t2 inspect`, `t2 export`,
 * messages): "parametrization=sigmoid max_mult=2 renormalize=true",
 * "parametrization=linear renormalize=false" or "rank=8 alpha=16", into buf (truncated to
 * size); returns buf. The method's name is t2_adapter_method_name. */
const char *t2_expert_options_string(const t2_adapter_options *o, char *buf, size_t size);

/* ---- training checkpoints ---- */

typedef struct t2_train_state {
    char *run;                /* the run's identity (a hash of what must not change); owned */
    int64_t step;             /* optimiser steps done */
    int64_t n_params;
    float *params, *adam_m, *adam_v, *best_params; /* [n_params] each, owned */
    double best_val_accuracy; /* -1 before the first validation */
    int64_t best_step;
    double elapsed_seconds;   /* training time before this checkpoint */
    int64_t tokens;           /* tokens processed before this checkpoint */
} t2_train_state;

/* Allocates the arrays for n_params (zeroed), run copied. */
void t2_train_state_init(t2_train_state *s, const char *run, int64_t n_params);
/* Atomic write; on failure nothing is left at path. */
int t2_train_state_write(const t2_train_state *s, const char *path, t2_error *err);
/* Reads a checkpoint: fails with err on an unreadable/corrupt file, another run
 * ("<path>: checkpoint belongs to another run (<run>); expected <run>"), or n_params that
 * differs. s zeroed on failure. */
int t2_train_state_read(t2_train_state *s, const char *path, const char *run,
                        int64_t n_params, t2_error *err);
void t2_train_state_free(t2_train_state *s); /* zeroed ok; twice ok */

#endif

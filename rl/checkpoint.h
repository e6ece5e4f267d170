/* Pretraining checkpoints: the weights, the AdamW moments and the step, in one safetensors
 * file written atomically (temp + fsync + rename), with metadata identifying the run so a
 * checkpoint is never resumed by a different run.
 *
 * Tensors: every model tensor under its Hugging Face name, and its moments under
 * "adam_m.<name>" and "adam_v.<name>", all F32. Metadata: "t2_checkpoint" = "pretrain",
 * "step" (decimal), "run" (the caller's identity string), "data_xxh64" (16 hex digits: a
 * chain of XXH64 hashes, h0 = XXH64("<step>|<run>", seed 0), then for every tensor in the
 * order written (the weights, their first moments, their second moments, each in
 * t2_model_weights_visit order) h = XXH64(tensor bytes, seed XXH64(full name, seed h)).
 * Checkpoints written before the checksum existed lack it and load unchecked
 * (docs/formats.md). Single-process. */
#ifndef T2_RL_CHECKPOINT_H
#define T2_RL_CHECKPOINT_H

#include <stdint.h>

#include "base/error.h"
#include "model/config.h"
#include "model/weights.h"

/* Writes the checkpoint. On failure nothing is left at path (err set). */
int t2_checkpoint_write(const char *path, const t2_model_config *cfg,
                        const t2_model_weights *weights, const t2_model_weights *adam_m,
                        const t2_model_weights *adam_v, int64_t step, const char *run,
                        t2_error *err);

/* Reads a checkpoint into initialised weights/moments of cfg's shapes; fails with err when
 * the file is unreadable, its "run" differs from `run` ("<path>: checkpoint belongs to
 * another run (...); expected ..."), a tensor is missing or misshapen, or the checksum does
 * not match the bytes ("<path>: checksum ... differs from the recorded ...: the file is
 * corrupt; ..."). On failure the weights and moments hold undefined values. */
int t2_checkpoint_read(const char *path, const t2_model_config *cfg, t2_model_weights *weights,
                       t2_model_weights *adam_m, t2_model_weights *adam_v, int64_t *step,
                       const char *run, t2_error *err);

#endif

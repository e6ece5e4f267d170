/* Writes a model held in memory (its config, weights and tokenizer files) as a complete
 * Hugging Face model folder, as `t2 export --format hf` does with an expert merged in:
 *
 *   config.json             the source folder's, with torch_dtype (or dtype) set to the
 *                           written dtype; every other key as it was
 *   generation_config.json  the source's; without one, {bos_token_id, eos_token_id} of cfg
 *   tokenizer files         copied unchanged when the source has them: tokenizer.json,
 *                           tokenizer_config.json, special_tokens_map.json, tokenizer.model,
 *                           vocab.json, merges.txt, added_tokens.json, chat_template.jinja
 *   model.safetensors       every tensor of cfg (model/model_tensors.h) in one dtype, with
 *                           __metadata__ {"format": "pt"} and the caller's keys; or, when the
 *                           tensors pass shard_bytes, model-0000k-of-0000n.safetensors (the
 *                           tensors in state-dict order, a new shard before a tensor that
 *                           would take the current one past shard_bytes) and
 *                           model.safetensors.index.json {"metadata": {"total_size": bytes of
 *                           tensor data}, "weight_map": {name: file}}.
 *
 * Atomic: everything is written into "<out>.tmp.<pid>" beside out, which is renamed to out at
 * the end; a failure removes it, so out is either absent (or the empty folder it was) or
 * complete. An out that exists and is not an empty folder is refused (never replaced).
 * Not here: merging an expert into the weights (rl/expert_apply.h), reading the source
 * weights (model/model_dir.h). Reference: transformers' save_pretrained folder layout,
 * https://huggingface.co/docs/safetensors. */
#ifndef T2_MODEL_HF_EXPORT_H
#define T2_MODEL_HF_EXPORT_H

#include <stdint.h>

#include "base/error.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "model/weights.h"

typedef struct t2_hf_export_options {
    t2_dtype dtype;        /* of every tensor: F32, F16 or BF16 */
    int64_t shard_bytes;   /* >= 1: the most tensor bytes of one shard (a larger tensor gets
                            * a shard of its own) */
    int n_metadata;        /* extra __metadata__ entries of every shard */
    const char *const *metadata_keys, *const *metadata_values; /* [n_metadata] */
} t2_hf_export_options;

/* Writes the folder out from the files of src_dir and the weights w of config cfg (w must
 * hold every tensor cfg implies, in any element type). 0, or -1 with err ("<out>: already
 * exists; expected ...", "<file>: cannot read ...", a write that failed) and nothing left at
 * out. */
int t2_hf_export_write(const char *src_dir, const t2_model_config *cfg,
                       const t2_model_weights *w, const t2_hf_export_options *options,
                       const char *out, t2_error *err);

/* The element type the matrices of w share as a safetensors dtype (F64 files are held as
 * F32), or F32 when they are mixed: the dtype a folder written from w keeps by default. */
t2_dtype t2_hf_export_source_dtype(const t2_model_config *cfg, const t2_model_weights *w);

#endif

/* The fingerprint of a base model: 16 lower-case hex digits over every tensor of its
 * safetensors (each tensor's name, dtype, shape and bytes, in name order), so an expert file
 * (rl/expert.h) never silently lands on another model. Where the tensors are stored does not
 * matter: one file or any split into shards gives the same fingerprint, while any changed
 * byte, name, dtype or shape gives another.
 *
 * Definition: h_i = t2_decomposition_tensor_hash(tensor i) for the tensors sorted by name,
 * fingerprint = XXH64(h_0 .. h_{n-1} as little-endian u64s, seed 0), printed with
 * t2_fingerprint_format. Reads every byte of every tensor (memory-mapped). Single-process. */
#ifndef T2_MODEL_FINGERPRINT_H
#define T2_MODEL_FINGERPRINT_H

#include "base/error.h"
#include "model/decomposition_store.h"
#include "model/safetensors.h"

/* The fingerprint of every tensor of st into out. */
void t2_model_fingerprint(const t2_safetensors *st, char out[T2_FINGERPRINT_CHARS]);

/* Opens model_dir (a model folder, single file or sharded, or one .safetensors file) and
 * fingerprints it: 0, or -1 with err from opening it (out then holds ""). */
int t2_model_fingerprint_dir(const char *model_dir, char out[T2_FINGERPRINT_CHARS],
                             t2_error *err);

#endif

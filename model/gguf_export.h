/* Writes a model held in memory as one GGUF file that llama.cpp runs (`t2 export --format
 * gguf`), for model_type llama and mistral (GGUF architecture "llama") and qwen2 ("qwen2"):
 *
 *   general.architecture, general.name, general.file_type (0 all F32, 1 mostly F16, 32
 *   mostly BF16), general.quantization_version 2;
 *   <arch>.vocab_size, context_length (max_position_embeddings), embedding_length,
 *   block_count, feed_forward_length, attention.head_count, attention.head_count_kv,
 *   attention.key_length and value_length (only when head_dim is not hidden / heads),
 *   rope.dimension_count (head_dim), rope.freq_base, attention.layer_norm_rms_epsilon
 *   (u32 and f32 values, as llama.cpp's converter writes them);
 *   t2.expert (the merged expert's name) when given;
 *   the tokenizer keys (model/gguf_vocab.h) with bos = config's bos_token_id (else the
 *   tokenizer's), eos = the first of the config's eos ids, pad = tokenizer_config.json's
 *   pad_token, add_bos / add_eos = what a plain encoding adds (model/tokenizer_config.h),
 *   and the chat template.
 * Tensors, ggml dimensions [cols, rows] of each HF matrix:
 *   token_embd.weight, blk.N.attn_norm.weight, blk.N.attn_q/attn_k/attn_v/attn_output
 *   .weight (and .bias), blk.N.ffn_norm.weight, blk.N.ffn_gate/ffn_up/ffn_down.weight,
 *   output_norm.weight, output.weight (absent when the embeddings are tied), and
 *   rope_freqs.weight (head_dim/2 factors, base / scaled frequency) with llama3 rope scaling.
 *   Matrices in the dtype asked for; norm weights, biases and rope_freqs always F32.
 * The q/k order: Hugging Face rotates the halves of each head (x_i with x_{i+hd/2}); the
 * "llama" architecture of llama.cpp rotates adjacent pairs (x_{2i} with x_{2i+1}). So for
 * llama / mistral the rows of q_proj (per attention head) and k_proj (per KV head), and
 * their biases, are written with row h*hd + 2i + j taken from row h*hd + j*hd/2 + i
 * (j in {0, 1}, i < hd/2): llama.cpp's convert_hf_to_gguf permute(). qwen2 runs NEOX rope
 * (halves, as HF) in llama.cpp: no reordering.
 * Not here: merging an expert (rl/expert_apply.h), the byte layout (gguf_write.h).
 * Reference: ggml docs/gguf.md; llama.cpp's convert_hf_to_gguf.py (LlamaModel, Qwen2Model)
 * and gguf-py constants, read for names and conventions. */
#ifndef T2_MODEL_GGUF_EXPORT_H
#define T2_MODEL_GGUF_EXPORT_H

#include <stdint.h>

#include "base/error.h"
#include "model/model_dir.h"
#include "model/safetensors.h"

typedef struct t2_gguf_export_options {
    t2_dtype dtype;     /* of the matrices: F32, F16 or BF16 */
    const char *name;   /* general.name */
    const char *expert; /* t2.expert, or NULL for a base model */
} t2_gguf_export_options;

/* Writes m (loaded from src_dir, its weights possibly with an expert merged) to the file out,
 * atomically. 0, or -1 with err (the tokenizer's, "<out>: cannot write: ...") and nothing
 * left at out. */
int t2_gguf_export_write(const char *src_dir, const t2_model_dir *m,
                         const t2_gguf_export_options *options, const char *out,
                         t2_error *err);

/* "llama" or "qwen2": the GGUF architecture of cfg. */
const char *t2_gguf_export_arch(const t2_model_config *cfg);

/* The file row order of a q/k matrix (or bias) of rows = n_heads x head_dim rows for the
 * "llama" architecture (above): order[r] = the HF row written as row r. */
void t2_gguf_export_rope_order(int64_t n_heads, int64_t rows, int64_t *order);

#endif

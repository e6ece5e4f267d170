/* Small random Llama / Mistral / Qwen2 models for tests, built in memory from a fixed seed
 * and written as Hugging Face folders (config.json, model.safetensors in F32, tokenizer.json)
 * through the project's own config, weights, safetensors and tokenizer writers.
 * The tokenizer is byte-level without merges (ids 0..255 are the bytes), then the special
 * tokens <|bos|> (256, the BOS), <|eos|> (257, the EOS), <|begin_of_text|>,
 * <|start_header_id|>, <|end_header_id|>, <|eot_id|>, <|im_start|>, <|im_end|>, [INST],
 * [/INST] (258..265); ids 266..299 have no text.
 *
 * Variants (all d_model 64, 4 heads, 2 KV heads, 2 layers, ffn 160, vocab 300 unless named):
 *   llama        the base case, head_dim 16, untied lm_head
 *   llama_bias   llama with attention_bias: q/k/v and o_proj biases
 *   qwen2        q/k/v biases (no o_proj bias), rms_norm_eps 1e-6
 *   mistral_tied tie_word_embeddings (lm_head is embed_tokens)
 *   llama3_rope  rope_scaling llama3 (factor 8, low 1, high 4, original 64) with rope_theta
 *                100, so the three frequency bands all occur within 16 head dims
 *   head_dim     head_dim 32 != 64 / 4 (q width 128)
 * Each variant has its own seed. Weights are N(0, 0.2^2), norm weights 1 + N(0, 0.1^2) (so a
 * forward that ignored a norm weight would fail), biases N(0, 0.2^2).
 * The golden files in tests/reference/golden/ were computed from exactly these models. */
#ifndef T2_TESTS_MODEL_FIXTURE_H
#define T2_TESTS_MODEL_FIXTURE_H

#include <stdint.h>

#include "base/error.h"
#include "model/config.h"
#include "model/weights.h"

enum { T2_MODEL_FIXTURE_VARIANTS = 6, T2_MODEL_FIXTURE_BOS = 256, T2_MODEL_FIXTURE_EOS = 257 };

/* Name of variant i < T2_MODEL_FIXTURE_VARIANTS. */
const char *t2_model_fixture_name(int i);

/* The config of the named variant; -1 when the name is unknown. */
int t2_model_fixture_config(t2_model_config *cfg, const char *variant);

/* Initialises w for cfg and fills it from the variant's seed (see above). */
void t2_model_fixture_weights(t2_model_weights *w, const t2_model_config *cfg,
                              const char *variant);

/* A model whose greedy continuation is known: it predicts token t + 1 after token t (so
 * after "a" comes "bcd..."). The llama config, every block's weights zero (the residual
 * stream carries the embedding through), embeddings N(0, 1), lm_head row v = embedding row
 * v - 1, norms 1: the logit of v + 1 is |e_v|^2 ~ 64, every other ~ N(0, 64). */
void t2_model_fixture_successor(t2_model_config *cfg, t2_model_weights *w);

/* Writes dir/config.json, dir/model.safetensors and dir/tokenizer.json (creating dir).
 * 0 or -1 with err. */
int t2_model_fixture_write(const char *dir, const t2_model_config *cfg,
                           const t2_model_weights *w, t2_error *err);

/* The same with the weights stored as dtype (F32, BF16 or F16, rounded to nearest even). */
int t2_model_fixture_write_as(const char *dir, const t2_model_config *cfg,
                              const t2_model_weights *w, t2_dtype dtype, t2_error *err);

/* Sum and sum of squares (double) of every tensor of w: a fingerprint the golden files
 * record, so a changed model is told apart from a changed forward. */
void t2_model_fixture_fingerprint(const t2_model_weights *w, const t2_model_config *cfg,
                                  double *sum, double *sum_sq);

#endif

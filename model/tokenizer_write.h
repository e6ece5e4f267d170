/* Writes the tokenizer.json of t2's own small models (byte-level, with no merges or with
 * merges t2 learnt: model/tokenizer_train.h) and their
 * tokenizer_config.json (no BOS/EOS added, no chat template: they are base models prompted
 * with plain text). */
#ifndef T2_MODEL_TOKENIZER_WRITE_H
#define T2_MODEL_TOKENIZER_WRITE_H

#include <stdint.h>

#include "base/error.h"
#include "model/tokenizer_train.h"

/* Writes (atomically) a Hugging Face tokenizer.json with the 256 byte tokens as ids 0..255,
 * spelt in GPT-2's bytes->unicode alphabet, no merges, a ByteLevel pre-tokenizer and
 * decoder, and the n_special special tokens as added tokens with ids 256, 257, ... in the
 * order given. It loads back with t2_tokenizer_load and encodes any bytes to one id per byte
 * (special tokens written in the text to their id). A special token with a BOS name (see
 * t2_tokenizer_bos_id, e.g. <|bos|>) is the tokenizer's BOS. Returns 0, or -1 with
 * err = "<path>: ..." (a special token that is empty, repeated or not valid UTF-8, or a write
 * failure); on failure the file at path is left as it was. */
int t2_tokenizer_write_byte_level(const char *path, const char *const *special_tokens,
                                  int n_special, t2_error *err);

/* The same with learnt merges (model/tokenizer_train.h): ids 0..255 the bytes, then the
 * special tokens, then merge i as id 256 + n_special + i, spelt as its two halves joined;
 * merges[i] may only name ids below its own. It loads back with t2_tokenizer_load, which
 * then encodes as GPT-2's byte-level BPE with these merges in rank order. */
int t2_tokenizer_write_bpe(const char *path, const char *const *special_tokens, int n_special,
                           const t2_bpe_merge *merges, int64_t n_merges, t2_error *err);

/* Writes (atomically) the tokenizer_config.json of a base model prompted with plain text:
 * add_bos_token and add_eos_token false (an encoding adds nothing, as the model was trained),
 * bos_token and eos_token as given, tokenizer_class PreTrainedTokenizerFast, no
 * chat_template. It loads back with t2_tokenizer_config_load. Returns 0, or -1 with
 * err = "<path>: ..." (a write failure); on failure the file at path is left as it was. */
int t2_tokenizer_write_config(const char *path, const char *bos_token, const char *eos_token,
                              t2_error *err);

#endif

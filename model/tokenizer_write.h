/* Writes the tokenizer.json of t2's own small models (byte-level, no merges) and their
 * tokenizer_config.json (no BOS/EOS added, no chat template: they are base models prompted
 * with plain text). */
#ifndef T2_MODEL_TOKENIZER_WRITE_H
#define T2_MODEL_TOKENIZER_WRITE_H

#include "base/error.h"

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

/* Writes (atomically) the tokenizer_config.json of a base model prompted with plain text:
 * add_bos_token and add_eos_token false (an encoding adds nothing, as the model was trained),
 * bos_token and eos_token as given, tokenizer_class PreTrainedTokenizerFast, no
 * chat_template. It loads back with t2_tokenizer_config_load. Returns 0, or -1 with
 * err = "<path>: ..." (a write failure); on failure the file at path is left as it was. */
int t2_tokenizer_write_config(const char *path, const char *bos_token, const char *eos_token,
                              t2_error *err);

#endif

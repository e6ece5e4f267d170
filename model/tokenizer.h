/* Tokenizers read from a Hugging Face tokenizer.json:
 *   - byte-level BPE (GPT-2, Llama 3, Qwen2): pre-tokenizer regex split (GPT-2 or Llama-3
 *     pattern), bytes mapped to printable unicode, BPE merges by rank;
 *   - SentencePiece-style BPE (Llama 2, Mistral): "▁" for spaces, optional prepended "▁",
 *     BPE merges (or scores), <0xXX> byte fallback for unknown characters.
 * Added/special tokens are matched whole in the input before splitting and kept as one id.
 * Decoding is the exact inverse for every byte string that encodes without <unk>. */
#ifndef T2_MODEL_TOKENIZER_H
#define T2_MODEL_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct t2_tokenizer t2_tokenizer; /* opaque; see tokenizer.c */

/* Loads tokenizer.json at path. Returns a new tokenizer (free with t2_tokenizer_free) or NULL
 * with err = "<path>: <problem>; expected <...>" (invalid JSON with line:column, unsupported
 * model type, pre-tokenizer or post-processor, missing vocab/merges). */
t2_tokenizer *t2_tokenizer_load(const char *path, t2_error *err);
void t2_tokenizer_free(t2_tokenizer *tok); /* accepts NULL */

/* Encodes len bytes of text (any bytes; need not be NUL-terminated). Special tokens written in
 * the text are recognised. Adds no BOS / EOS (Hugging Face's add_special_tokens=False; the ids
 * to add are t2_tokenizer_template_bos / _eos, or t2_tokenizer_config_added_ids). Returns the
 * number of ids written to *ids (heap array freed with t2_free; *ids may be NULL when 0 ids). */
int64_t t2_tokenizer_encode(const t2_tokenizer *tok, const char *text, size_t len, int32_t **ids);

/* Decodes ids to bytes: a heap NUL-terminated string (freed with t2_free), its length in
 * *len. Special tokens decode to their text. Unknown ids decode to nothing. */
char *t2_tokenizer_decode(const t2_tokenizer *tok, const int32_t *ids, int64_t n, size_t *len);

/* The bytes one token stands for (for streaming output), borrowed; NULL for unknown ids. For
 * SentencePiece "▁" is a space and <0xXX> the byte; the leading space added at encode time is
 * the caller's business. */
const char *t2_tokenizer_token_bytes(const t2_tokenizer *tok, int32_t id, size_t *len);

int64_t t2_tokenizer_vocab_size(const t2_tokenizer *tok); /* including added tokens */
/* Id of a token string (vocab or added), or -1. */
int32_t t2_tokenizer_token_id(const t2_tokenizer *tok, const char *token);
/* BOS id from the tokenizer, or -1 if it has none: the special token a TemplateProcessing
 * post-processor puts first; without such a post-processor, the added token named
 * <|begin_of_text|>, <s>, <|bos|>, <bos> or <|startoftext|> (first found in that order). */
int32_t t2_tokenizer_bos_id(const t2_tokenizer *tok);
/* The ids tokenizer.json's post-processor (a TemplateProcessing, alone or in a Sequence) puts
 * before / after a single text when encoding with special tokens, or -1 for none (ByteLevel,
 * null, or a template without a token on that side). */
int32_t t2_tokenizer_template_bos(const t2_tokenizer *tok);
int32_t t2_tokenizer_template_eos(const t2_tokenizer *tok);

#endif

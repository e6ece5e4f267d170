/* The tokenizer part of a GGUF file's metadata (the tokenizer.ggml.* keys llama.cpp reads),
 * from a Hugging Face tokenizer.json of one of the two BPE families t2 runs
 * (model/tokenizer.h):
 *   byte-level BPE      tokenizer.ggml.model "gpt2", tokenizer.ggml.pre from the
 *                       pre-tokenizer's pattern: ByteLevel's own regex -> "gpt-2", the
 *                       Llama-3 Split regex -> "llama-bpe", the Qwen2 one -> "qwen2" (another
 *                       pattern is refused: llama.cpp would split text differently);
 *                       tokenizer.ggml.merges "left right" in rank order;
 *   SentencePiece-style tokenizer.ggml.model "llama", tokenizer.ggml.scores (-rank of the
 *                       merge that makes a token, 0 for tokens no merge makes),
 *                       tokenizer.ggml.add_space_prefix (a "▁" prepended by the normalizer or
 *                       the Metaspace pre-tokenizer), unknown_token_id.
 * Both: tokenizer.ggml.tokens (vocab_size strings as tokenizer.json spells them; ids the
 * tokenizer lacks up to vocab_size are "[PAD<id>]"), tokenizer.ggml.token_type (1 normal,
 * 2 unknown, 3 control = a special added token, 4 user-defined = another added token,
 * 5 unused = padding ids, 6 byte = <0xXX>), the bos / eos / padding ids given, add_bos_token,
 * add_eos_token, and tokenizer.chat_template when given.
 * Not here: the model's other keys and tensors (gguf_export.h). Reference: llama.cpp's
 * gguf-py constants (Keys.Tokenizer, TokenType) and src/llama-vocab.cpp, read for the key
 * names and meanings. */
#ifndef T2_MODEL_GGUF_VOCAB_H
#define T2_MODEL_GGUF_VOCAB_H

#include <stdint.h>

#include "base/error.h"
#include "model/gguf_write.h"

typedef struct t2_gguf_vocab_special {
    int64_t bos, eos, pad;     /* ids, -1 to leave the key out */
    int add_bos, add_eos;      /* whether a plain encoding adds them */
    const char *chat_template; /* or NULL */
} t2_gguf_vocab_special;

/* Token types (llama.cpp's llama_token_type). */
enum {
    T2_GGUF_TOKEN_NORMAL = 1,
    T2_GGUF_TOKEN_UNKNOWN = 2,
    T2_GGUF_TOKEN_CONTROL = 3,
    T2_GGUF_TOKEN_USER_DEFINED = 4,
    T2_GGUF_TOKEN_UNUSED = 5,
    T2_GGUF_TOKEN_BYTE = 6,
};

/* Adds the keys for tokenizer.json at path to w, with vocab_size tokens (the model's
 * embedding rows, at least the tokenizer's ids). 0, or -1 with err ("<path>: pre-tokenizer
 * pattern '...' is not one llama.cpp names; expected ...", a model type other than BPE, an id
 * past vocab_size) and w unchanged. */
int t2_gguf_vocab_add(t2_gguf_writer *w, const char *path, int64_t vocab_size,
                      const t2_gguf_vocab_special *special, t2_error *err);

#endif

/* How a task's or a user's prompt becomes the ids a model is fed, as the model's own files
 * say (Hugging Face's behaviour; docs/tokenizer.md):
 *   - a chat format (llama3, llama2, mistral, chatml) wraps the prompt as the user turn of a
 *     conversation (with an optional system turn) and appends the generation prompt, then
 *     encodes the text with no BOS/EOS added (the template writes its own BOS, as
 *     apply_chat_template does);
 *   - the plain format encodes the prompt as it is and adds the BOS / EOS that the model's
 *     tokenizer.json post-processor and tokenizer_config.json (add_bos_token, add_eos_token)
 *     ask for, as tokenizer.encode(text) does; add_special_tokens = 0 adds none.
 * "auto" picks the family detected from tokenizer_config.json's chat_template; a model
 * without a chat_template is plain; a template t2 does not recognise is an error.
 * Single-process; no MPI. */
#ifndef T2_MODEL_PROMPT_ENCODER_H
#define T2_MODEL_PROMPT_ENCODER_H

#include <stdint.h>

#include "base/error.h"
#include "model/tokenizer.h"
#include "model/tokenizer_config.h"

/* Run settings (config keys prompt_format, add_special_tokens, system_prompt). The strings
 * are not const so that a command's settings table (cmd/settings.h) can own them; the encoder
 * only reads them. */
typedef struct t2_prompt_settings {
    char *format;           /* "auto" (also when NULL), "plain", "llama3", "llama2", "mistral"
                               or "chatml" */
    int add_special_tokens; /* 1: BOS/EOS as the files say (plain format); 0: never any */
    char *system;           /* system message, NULL or "" for none (chat formats only; a
                               chatml template's default system message applies otherwise) */
} t2_prompt_settings;

/* The defaults: auto, special tokens on, no system message. */
t2_prompt_settings t2_prompt_settings_default(void);

enum { T2_PROMPT_ENCODER_MAX_STOPS = 4 };

typedef struct t2_prompt_encoder {
    const t2_tokenizer *tok; /* borrowed */
    const char *format;      /* resolved format name (static string), never "auto" */
    int32_t bos_id, eos_id;  /* put before / after a plain prompt, -1 for none */
    char *system;            /* heap, NULL for none: the chat format's system message */
    const char *stops[T2_PROMPT_ENCODER_MAX_STOPS + 1]; /* NULL-terminated, static strings:
                                the chat format's end-of-turn markers; empty for plain */
    char *bos_text, *eos_text; /* heap, NULL for none: the BOS / EOS a chat template writes
                                  (tokenizer_config.json's bos_token / eos_token, else the
                                  family's <|begin_of_text|> / <s> ...) */
    char *default_system;   /* heap, NULL for none: chatml's default system message, taken
                               from the chat template's text, used when system is NULL */
} t2_prompt_encoder;

/* Resolves settings against the model's tokenizer and tokenizer_config.json (tc: a loaded or
 * zeroed config, for a model without that file). Returns 0, or -1 with err (an unknown format
 * name; "auto" on a chat_template t2 does not recognise: "<dir>/tokenizer_config.json:
 * chat_template is not one t2 recognises (<why>); expected ... or set prompt_format to plain or
 * one of llama3, llama2, mistral, chatml"; a chat format whose special tokens the tokenizer
 * lacks; plain with add_special_tokens when tokenizer_config.json's add_bos_token names a token
 * the tokenizer lacks). tc may be NULL (as a zeroed config). e is safe to free either way. */
int t2_prompt_encoder_init(t2_prompt_encoder *e, const t2_tokenizer *tok,
                           const t2_tokenizer_config *tc, const t2_prompt_settings *settings,
                           t2_error *err);
void t2_prompt_encoder_free(t2_prompt_encoder *e); /* accepts zeroed; may run twice */

/* The ids of a user prompt (see the top of this file). Heap array in *ids (t2_free; may be
 * NULL when the length is 0), its length returned (>= 0). */
int64_t t2_prompt_encoder_encode(const t2_prompt_encoder *e, const char *user, int32_t **ids);

/* The text a user prompt becomes before encoding: the chat format's rendering, or the prompt
 * itself for plain (whose BOS / EOS are ids, not text). Heap string (t2_free). */
char *t2_prompt_encoder_text(const t2_prompt_encoder *e, const char *user);

/* 1 when the format is a chat format (answers end at end-of-turn, not at a newline). */
int t2_prompt_encoder_is_chat(const t2_prompt_encoder *e);

#endif

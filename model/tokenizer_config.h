/* tokenizer_config.json: the part of a Hugging Face model folder that says which special
 * tokens an encoding adds (add_bos_token, add_eos_token, bos_token, eos_token) and how a chat
 * is written (chat_template). Read, checked and kept; the chat family is detected from the
 * template text and the special tokens (model/prompt_format.h). A folder without the file has
 * a zeroed config: nothing overrides tokenizer.json and there is no chat template. Not read:
 * every other key, and a chat_template.jinja file beside it (newer Hugging Face folders).
 * Single-process; no MPI. Rules: docs/tokenizer.md ("Special tokens"). */
#ifndef T2_MODEL_TOKENIZER_CONFIG_H
#define T2_MODEL_TOKENIZER_CONFIG_H

#include <stdint.h>

#include "base/error.h"
#include "model/tokenizer.h"

typedef struct t2_tokenizer_config {
    char *path;          /* the file read (heap), NULL when the folder has none */
    int add_bos_token;   /* -1 absent, 0 or 1 (what it decides: t2_tokenizer_config_added_ids) */
    int add_eos_token;   /* likewise */
    char *bos_token;     /* heap, NULL when absent (a string, or an AddedToken's content) */
    char *eos_token;     /* likewise */
    char *chat_template; /* heap, NULL when absent (a list of named templates: "default") */
} t2_tokenizer_config;

/* Reads path when the file exists (c zeroed with add_* = -1 otherwise). Returns 0, or -1 with
 * err = "<path>: <what is wrong>; expected <what>" (invalid JSON, a key of the wrong type);
 * c is safe to free either way. */
int t2_tokenizer_config_load(t2_tokenizer_config *c, const char *path, t2_error *err);
void t2_tokenizer_config_free(t2_tokenizer_config *c); /* accepts zeroed; may run twice */

/* The ids a plain encoding (Hugging Face's tokenizer.encode(text)) puts before (*bos) and after
 * (*eos) the text, -1 for none, as Hugging Face decides them: when c has add_bos_token or
 * add_eos_token, they rebuild the post-processor (true: the id of bos_token / eos_token; false
 * or absent: none); when it has neither (or c is NULL or has no path: no file was read, as in a
 * zeroed config), tokenizer.json's post-processor stands
 * (t2_tokenizer_template_bos / _eos). Returns 0, or -1 with err = "<path>: add_bos_token is
 * true but bos_token '<t>' is not a token of tokenizer.json; expected ..." (or bos_token
 * unset; likewise for EOS). */
int t2_tokenizer_config_added_ids(const t2_tokenizer_config *c, const t2_tokenizer *tok,
                                  int32_t *bos, int32_t *eos, t2_error *err);

#endif

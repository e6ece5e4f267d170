/* Prompt formats: how a (system, user) exchange is written for each model family before it
 * is tokenized, with the family's real special-token strings (the tokenizer turns each into
 * its one id). No template engine: four fixed formats chosen by name.
 *   llama3   <|begin_of_text|>[<|start_header_id|>system<|end_header_id|>\n\nSYSTEM<|eot_id|>]
 *            <|start_header_id|>user<|end_header_id|>\n\nUSER<|eot_id|>
 *            <|start_header_id|>assistant<|end_header_id|>\n\n
 *   mistral  <s>[INST] [SYSTEM\n\n]USER [/INST]
 *   chatml   [<|im_start|>system\nSYSTEM<|im_end|>\n]<|im_start|>user\nUSER<|im_end|>\n
 *            <|im_start|>assistant\n
 *   plain    [SYSTEM\n\n]USER
 * The llama3 and mistral strings already start with the BOS token's text: do not add BOS
 * again when encoding them. */
#ifndef T2_MODEL_PROMPT_FORMAT_H
#define T2_MODEL_PROMPT_FORMAT_H

#include "base/error.h"

/* The prompt to feed the model for a user message (and an optional system message, NULL or
 * "" for none) in format `name`: a heap string (t2_free). NULL with err = "prompt format
 * '<name>' is not known; expected one of llama3, mistral, chatml, plain" for another name. */
char *t2_prompt_format_apply(const char *name, const char *system, const char *user,
                             t2_error *err);

/* The most stop strings any format has. */
enum { T2_PROMPT_FORMAT_MAX_STOPS = 2 };

/* The strings that end the assistant's answer in format `name` (generation stops at the
 * first), as a NULL-terminated static list of at most T2_PROMPT_FORMAT_MAX_STOPS ("plain" has
 * none: an empty list); NULL for an unknown name. */
const char *const *t2_prompt_format_stop_strings(const char *name);

/* The valid names, NULL-terminated, for help texts. */
const char *const *t2_prompt_format_names(void);

#endif

/* Chat formats without a template engine: how each model family's own chat template (the
 * Jinja text in tokenizer_config.json) writes a conversation, reproduced in C for the real
 * templates of each family, and which family a template is, detected from its text.
 *   llama3   Meta-Llama-3-Instruct: BOS, then per message
 *            <|start_header_id|>ROLE<|end_header_id|>\n\nTRIM(CONTENT)<|eot_id|>, then
 *            <|start_header_id|>assistant<|end_header_id|>\n\n
 *   llama2   Llama-2-chat: per user turn BOS[INST] STRIP(CONTENT) [/INST], the system message
 *            as <<SYS>>\nSYSTEM\n<</SYS>>\n\n at the start of the first user turn, per
 *            assistant turn " STRIP(CONTENT) " then EOS; no generation prompt
 *   mistral  Mistral-7B-Instruct-v0.3: BOS, [INST] CONTENT[/INST] per user turn, the system
 *            message as "SYSTEM\n\n" at the start of the LAST user turn (and nowhere when the
 *            conversation ends with the assistant), " TRIM(CONTENT)" then EOS per assistant
 *            turn; no generation prompt
 *   chatml   Qwen2 / Qwen2.5: <|im_start|>ROLE\nCONTENT<|im_end|>\n per message, the
 *            template's default system message when the conversation has none (Qwen2.5: "You
 *            are Qwen, created by Alibaba Cloud. You are a helpful assistant."), then
 *            <|im_start|>assistant\n
 *   plain    no template: the contents joined by "\n\n"
 * TRIM / STRIP are Python's str.strip() (Jinja's trim). The exact strings are those Hugging
 * Face's apply_chat_template renders from the real templates (tests/reference/
 * chat_template_ids.py renders them with Jinja; docs/tokenizer.md). Tools, images and other
 * roles are not supported. Single-process; no MPI. */
#ifndef T2_MODEL_PROMPT_FORMAT_H
#define T2_MODEL_PROMPT_FORMAT_H

#include "base/error.h"
#include "model/tokenizer.h"

/* One message of a conversation: role "system", "user" or "assistant" (borrowed strings). */
typedef struct t2_chat_message {
    const char *role;
    const char *content;
} t2_chat_message;

/* The special-token strings a rendering writes (borrowed; NULL or "" for none) and the
 * default system message (chatml; NULL for none). */
typedef struct t2_chat_tokens {
    const char *bos, *eos;
    const char *default_system;
} t2_chat_tokens;

/* The conversation msgs[n] written as format `name` would: a heap string (t2_free), with
 * the generation prompt appended when add_generation_prompt (formats that have one). NULL
 * with err for an unknown name ("prompt format '<name>' is not known; expected one of ...")
 * or a conversation the real template refuses (llama2 and mistral: after an optional leading
 * system message, roles must alternate user / assistant starting with user; a role other
 * than system, user or assistant is an error in every format). A later system message is
 * written as the template writes it (llama3, chatml: as a turn; llama2 at an assistant
 * position: nothing). */
char *t2_prompt_format_render(const char *name, const t2_chat_message *msgs, int n,
                              int add_generation_prompt, const t2_chat_tokens *tokens,
                              t2_error *err);

/* The family a chat template is (a static name: llama3, llama2, mistral or chatml; "plain"
 * when chat_template is NULL). NULL with err = "<where>: chat_template is not one t2
 * recognises (<why>); expected a Llama 3, Llama 2, Mistral v0.3 or ChatML template, or set
 * prompt_format to plain or one of llama3, llama2, mistral, chatml" otherwise. The rules are in
 * docs/tokenizer.md ("Chat templates"). */
const char *t2_prompt_format_detect(const char *chat_template, const char *where, t2_error *err);

/* The default system message a ChatML template writes when a conversation has none (the
 * literal in '<|im_start|>system\n...<|im_end|>'): a heap string (t2_free), or NULL. */
char *t2_prompt_format_default_system(const char *chat_template);

/* Checks that tok has every special token format `name` writes besides BOS / EOS (llama3:
 * <|start_header_id|>, <|end_header_id|>, <|eot_id|>; chatml: <|im_start|>, <|im_end|>).
 * Returns 0, or -1 with err = "<where>: prompt format '<name>' needs the token '<t>', which the
 * tokenizer does not have; expected ...". */
int t2_prompt_format_check_tokens(const char *name, const t2_tokenizer *tok, const char *where,
                                  t2_error *err);

/* The most stop strings any format has. */
enum { T2_PROMPT_FORMAT_MAX_STOPS = 2 };

/* The strings that end the assistant's answer in format `name`, as a NULL-terminated static
 * list of at most T2_PROMPT_FORMAT_MAX_STOPS (plain: empty); NULL for an unknown name. */
const char *const *t2_prompt_format_stop_strings(const char *name);

/* The format names (plain first, then the chat families), NULL-terminated; and the static
 * copy of a valid name (NULL for an unknown one). */
const char *const *t2_prompt_format_names(void);
const char *t2_prompt_format_find(const char *name);

#endif

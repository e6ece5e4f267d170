/* Prompts to ids as the model's files say (see prompt_encoder.h): resolves the format and the
 * special tokens once, then renders (model/prompt_format.h) and encodes (model/tokenizer.h)
 * each prompt. */
#include "model/prompt_encoder.h"

#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "model/prompt_format.h"

t2_prompt_settings t2_prompt_settings_default(void) {
    return (t2_prompt_settings){.format = "auto", .add_special_tokens = 1, .system = NULL};
}

/* The BOS / EOS text a chat template writes: tokenizer_config.json's, else the family's. */
static const char *bos_text(const t2_prompt_encoder *e, const t2_tokenizer_config *tc) {
    if (tc->bos_token != NULL) return tc->bos_token;
    return strcmp(e->format, "llama3") == 0 ? "<|begin_of_text|>" : "<s>";
}

static const char *eos_text(const t2_prompt_encoder *e, const t2_tokenizer_config *tc) {
    if (tc->eos_token != NULL) return tc->eos_token;
    return strcmp(e->format, "llama3") == 0 ? "<|end_of_text|>" : "</s>";
}

/* Keeps the token strings the chat format writes (heap copies in e->tokens). */
static int resolve_chat(t2_prompt_encoder *e, const t2_tokenizer_config *tc, const char *where,
                        t2_error *err) {
    if (t2_prompt_format_check_tokens(e->format, e->tok, where, err) != 0) return -1;
    /* llama3 writes its BOS; llama2 and mistral their BOS and EOS; chatml neither */
    int n_written = strcmp(e->format, "chatml") == 0   ? 0
                    : strcmp(e->format, "llama3") == 0 ? 1
                                                       : 2;
    const char *written[2] = {bos_text(e, tc), eos_text(e, tc)};
    for (int i = 0; i < n_written; i++)
        if (t2_tokenizer_token_id(e->tok, written[i]) < 0)
            return t2_error_set(err, "%s: prompt format '%s' writes the token '%s', which the "
                                "tokenizer does not have; expected the tokenizer of a %s model "
                                "or another prompt format", where, e->format, written[i],
                                e->format);
    if (n_written > 0) {
        e->bos_text = t2_strdup(written[0]);
        e->eos_text = t2_strdup(written[1]);
    }
    if (strcmp(e->format, "chatml") == 0 && e->system == NULL)
        e->default_system = t2_prompt_format_default_system(tc->chat_template);
    return 0;
}

int t2_prompt_encoder_init(t2_prompt_encoder *e, const t2_tokenizer *tok,
                           const t2_tokenizer_config *tc, const t2_prompt_settings *settings,
                           t2_error *err) {
    memset(e, 0, sizeof *e);
    e->tok = tok;
    e->bos_id = e->eos_id = -1;
    static const t2_tokenizer_config no_config = {.add_bos_token = -1, .add_eos_token = -1};
    if (tc == NULL) tc = &no_config;
    const char *where = tc->path ? tc->path : "tokenizer_config.json";
    const char *format = settings && settings->format ? settings->format : "auto";
    if (strcmp(format, "auto") == 0) {
        e->format = t2_prompt_format_detect(tc->chat_template, where, err);
    } else {
        e->format = t2_prompt_format_find(format);
        if (e->format == NULL)
            t2_error_set(err, "prompt_format: '%s' is not known; expected auto, plain, llama3, "
                         "llama2, mistral or chatml", format);
    }
    if (e->format == NULL) return -1;
    int add_special = settings ? settings->add_special_tokens : 1;
    const char *system = settings ? settings->system : NULL;
    if (system != NULL && system[0] != '\0' && strcmp(e->format, "plain") != 0)
        e->system = t2_strdup(system);
    const char *const *stops = t2_prompt_format_stop_strings(e->format);
    for (int i = 0; stops[i] != NULL && i < T2_PROMPT_ENCODER_MAX_STOPS; i++)
        e->stops[i] = stops[i];
    if (strcmp(e->format, "plain") != 0) return resolve_chat(e, tc, where, err);
    if (add_special &&
        t2_tokenizer_config_added_ids(tc, tok, &e->bos_id, &e->eos_id, err) != 0)
        return -1;
    return 0;
}

void t2_prompt_encoder_free(t2_prompt_encoder *e) {
    t2_free(e->system);
    t2_free(e->bos_text);
    t2_free(e->eos_text);
    t2_free(e->default_system);
    memset(e, 0, sizeof *e);
    e->bos_id = e->eos_id = -1;
}

int t2_prompt_encoder_is_chat(const t2_prompt_encoder *e) {
    return e->format != NULL && strcmp(e->format, "plain") != 0;
}

char *t2_prompt_encoder_text(const t2_prompt_encoder *e, const char *user) {
    if (!t2_prompt_encoder_is_chat(e)) return t2_strdup(user);
    t2_chat_message msgs[2];
    int n = 0;
    if (e->system != NULL) msgs[n++] = (t2_chat_message){"system", e->system};
    msgs[n++] = (t2_chat_message){"user", user};
    t2_chat_tokens tokens = {e->bos_text, e->eos_text, e->default_system};
    t2_error err = {{0}};
    char *text = t2_prompt_format_render(e->format, msgs, n, 1, &tokens, &err);
    T2_ASSERT(text != NULL); /* a system message and one user turn: every format takes it */
    return text;
}

int64_t t2_prompt_encoder_encode(const t2_prompt_encoder *e, const char *user, int32_t **ids) {
    char *text = t2_prompt_encoder_text(e, user);
    int32_t *body = NULL;
    int64_t n = t2_tokenizer_encode(e->tok, text, strlen(text), &body);
    t2_free(text);
    int before = e->bos_id >= 0, after = e->eos_id >= 0;
    if (!before && !after) {
        *ids = body;
        return n;
    }
    int64_t total = n + before + after;
    *ids = t2_alloc_array((size_t)total, sizeof **ids);
    if (before) (*ids)[0] = e->bos_id;
    if (n > 0) memcpy(*ids + before, body, (size_t)n * sizeof **ids);
    if (after) (*ids)[total - 1] = e->eos_id;
    t2_free(body);
    return total;
}

/* The chat formats (see prompt_format.h): each family's real chat template written out as C,
 * statement by statement, and the detection of a family from a template's text.
 * References, the templates as published in each model's tokenizer_config.json:
 *   llama3   meta-llama/Meta-Llama-3-8B-Instruct (../shared/data/tokenizers/llama3)
 *   llama2   meta-llama/Llama-2-7b-chat-hf
 *   mistral  mistralai/Mistral-7B-Instruct-v0.3
 *   chatml   Qwen/Qwen2.5-7B-Instruct (the part without tools)
 * Hugging Face renders them with trim_blocks and lstrip_blocks, which only remove the
 * templates' own layout white space; the strings below are what remains. */
#include "model/prompt_format.h"

#include <stdint.h>
#include <string.h>

#include "base/alloc.h"

static const char *const names[] = {"plain", "llama3", "llama2", "mistral", "chatml", NULL};

const char *const *t2_prompt_format_names(void) { return names; }

const char *t2_prompt_format_find(const char *name) {
    for (int i = 0; name != NULL && names[i] != NULL; i++)
        if (strcmp(names[i], name) == 0) return names[i];
    return NULL;
}

const char *const *t2_prompt_format_stop_strings(const char *name) {
    static const char *const llama3[] = {"<|eot_id|>", "<|end_of_text|>", NULL};
    static const char *const eos[] = {"</s>", NULL};
    static const char *const chatml[] = {"<|im_end|>", "<|endoftext|>", NULL};
    static const char *const none[] = {NULL};
    name = t2_prompt_format_find(name);
    if (name == NULL) return NULL;
    if (strcmp(name, "llama3") == 0) return llama3;
    if (strcmp(name, "llama2") == 0 || strcmp(name, "mistral") == 0) return eos;
    if (strcmp(name, "chatml") == 0) return chatml;
    return none;
}

/* ---- a growing string ---------------------------------------------------------------------- */

typedef struct buf {
    char *s;
    size_t len, cap;
} buf;

static void put_n(buf *b, const char *text, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = 2 * (b->len + n + 1) + 64;
        b->s = t2_realloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, text, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void put(buf *b, const char *text) {
    if (text != NULL) put_n(b, text, strlen(text));
}

/* ---- Python's str.strip() (Jinja's trim) ----------------------------------------------------- */

/* Python's str.isspace() for one code point. */
static int is_py_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 ||
           cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* The code point of the UTF-8 character s[0..n) (n = 1..3), or 0xffffffff. */
static uint32_t code_point(const unsigned char *s, size_t n) {
    if (n == 1) return s[0] < 0x80 ? s[0] : 0xffffffff;
    if (n == 2 && (s[0] & 0xe0) == 0xc0 && (s[1] & 0xc0) == 0x80)
        return ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
    if (n == 3 && (s[0] & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80)
        return ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
    return 0xffffffff;
}

/* Appends text without its leading and trailing white space. */
static void put_stripped(buf *b, const char *text) {
    const unsigned char *s = (const unsigned char *)text;
    size_t start = 0, end = strlen(text);
    for (;;) {
        size_t n = 0;
        for (size_t k = 1; k <= 3 && start + k <= end && n == 0; k++)
            if (is_py_space(code_point(s + start, k))) n = k;
        if (n == 0) break;
        start += n;
    }
    for (;;) {
        size_t n = 0;
        for (size_t k = 1; k <= 3 && start + k <= end && n == 0; k++)
            if (is_py_space(code_point(s + end - k, k))) n = k;
        if (n == 0) break;
        end -= n;
    }
    put_n(b, text + start, end - start);
}

/* ---- the families ---------------------------------------------------------------------------- */

static int is_role(const t2_chat_message *m, const char *role) {
    return strcmp(m->role, role) == 0;
}

static int alternation_error(const char *name, t2_error *err) {
    return t2_error_set(err, "prompt format '%s': conversation roles must alternate user / "
                        "assistant after an optional system message; expected user, assistant, "
                        "user, ...", name);
}

static int render_llama3(buf *b, const t2_chat_message *msgs, int n, int gen,
                         const t2_chat_tokens *tk) {
    for (int i = 0; i < n; i++) {
        if (i == 0) put(b, tk->bos);
        put(b, "<|start_header_id|>");
        put(b, msgs[i].role);
        put(b, "<|end_header_id|>\n\n");
        put_stripped(b, msgs[i].content);
        put(b, "<|eot_id|>");
    }
    if (gen) put(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    return 0;
}

static int render_llama2(buf *b, const t2_chat_message *msgs, int n, const t2_chat_tokens *tk,
                         t2_error *err) {
    const char *system = n > 0 && is_role(&msgs[0], "system") ? msgs[0].content : NULL;
    const t2_chat_message *loop = msgs + (system != NULL);
    int n_loop = n - (system != NULL);
    for (int i = 0; i < n_loop; i++) {
        if (is_role(&loop[i], "user") != (i % 2 == 0)) return alternation_error("llama2", err);
        buf content = {0};
        if (i == 0 && system != NULL) {
            put(&content, "<<SYS>>\n");
            put(&content, system);
            put(&content, "\n<</SYS>>\n\n");
        }
        put(&content, loop[i].content);
        if (is_role(&loop[i], "user")) {
            put(b, tk->bos);
            put(b, "[INST] ");
            put_stripped(b, content.s ? content.s : "");
            put(b, " [/INST]");
        } else if (is_role(&loop[i], "assistant")) {
            put(b, " ");
            put_stripped(b, content.s ? content.s : "");
            put(b, " ");
            put(b, tk->eos);
        }
        t2_free(content.s);
    }
    return 0;
}

static int render_mistral(buf *b, const t2_chat_message *msgs, int n, const t2_chat_tokens *tk,
                          t2_error *err) {
    const char *system = n > 0 && is_role(&msgs[0], "system") ? msgs[0].content : NULL;
    const t2_chat_message *loop = msgs + (system != NULL);
    int n_loop = n - (system != NULL);
    for (int i = 0; i < n_loop; i++)
        if (is_role(&loop[i], "user") != (i % 2 == 0)) return alternation_error("mistral", err);
    put(b, tk->bos);
    for (int i = 0; i < n_loop; i++) {
        if (is_role(&loop[i], "user")) {
            put(b, "[INST] ");
            if (i == n_loop - 1 && system != NULL) {
                put(b, system);
                put(b, "\n\n");
            }
            put(b, loop[i].content);
            put(b, "[/INST]");
        } else if (is_role(&loop[i], "assistant")) {
            put(b, " ");
            put_stripped(b, loop[i].content);
            put(b, tk->eos);
        } else {
            return t2_error_set(err, "prompt format 'mistral': a '%s' message after the first; "
                                "expected only user and assistant messages after an optional "
                                "leading system message", loop[i].role);
        }
    }
    return 0;
}

static void put_chatml(buf *b, const char *role, const char *content) {
    put(b, "<|im_start|>");
    put(b, role);
    put(b, "\n");
    put(b, content);
    put(b, "<|im_end|>\n");
}

static int render_chatml(buf *b, const t2_chat_message *msgs, int n, int gen,
                         const t2_chat_tokens *tk) {
    int leading_system = n > 0 && is_role(&msgs[0], "system");
    if (leading_system)
        put_chatml(b, "system", msgs[0].content);
    else if (tk->default_system != NULL)
        put_chatml(b, "system", tk->default_system);
    for (int i = leading_system; i < n; i++) put_chatml(b, msgs[i].role, msgs[i].content);
    if (gen) put(b, "<|im_start|>assistant\n");
    return 0;
}

static void render_plain(buf *b, const t2_chat_message *msgs, int n) {
    for (int i = 0; i < n; i++) {
        if (i > 0) put(b, "\n\n");
        put(b, msgs[i].content);
    }
}

char *t2_prompt_format_render(const char *name, const t2_chat_message *msgs, int n,
                              int add_generation_prompt, const t2_chat_tokens *tokens,
                              t2_error *err) {
    const char *f = t2_prompt_format_find(name);
    if (f == NULL) {
        t2_error_set(err, "prompt format '%s' is not known; expected one of plain, llama3, "
                     "llama2, mistral, chatml", name ? name : "(null)");
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (!is_role(&msgs[i], "system") && !is_role(&msgs[i], "user") &&
            !is_role(&msgs[i], "assistant")) {
            t2_error_set(err, "prompt format '%s': message %d has role '%s'; expected system, "
                         "user or assistant", f, i, msgs[i].role);
            return NULL;
        }
    static const t2_chat_tokens no_tokens = {NULL, NULL, NULL};
    const t2_chat_tokens *tk = tokens ? tokens : &no_tokens;
    buf b = {0};
    put_n(&b, "", 0);
    int rc = 0;
    if (strcmp(f, "llama3") == 0)
        rc = render_llama3(&b, msgs, n, add_generation_prompt, tk);
    else if (strcmp(f, "llama2") == 0)
        rc = render_llama2(&b, msgs, n, tk, err);
    else if (strcmp(f, "mistral") == 0)
        rc = render_mistral(&b, msgs, n, tk, err);
    else if (strcmp(f, "chatml") == 0)
        rc = render_chatml(&b, msgs, n, add_generation_prompt, tk);
    else
        render_plain(&b, msgs, n);
    if (rc != 0) {
        t2_free(b.s);
        return NULL;
    }
    return b.s;
}

/* ---- detection ----------------------------------------------------------------------------- */

static int has(const char *text, const char *part) { return strstr(text, part) != NULL; }

static const char *unrecognised(const char *where, const char *why, t2_error *err) {
    t2_error_set(err, "%s: chat_template is not one t2 recognises (%s); expected a Llama 3, "
                 "Llama 2, Mistral v0.3 or ChatML template, or set prompt_format to plain or one "
                 "of llama3, llama2, mistral, chatml", where, why);
    return NULL;
}

const char *t2_prompt_format_detect(const char *t, const char *where, t2_error *err) {
    if (t == NULL) return "plain";
    if (has(t, "<|start_header_id|>") && has(t, "<|eot_id|>")) {
        if (has(t, "Cutting Knowledge Date"))
            return unrecognised(where, "a Llama 3.1 / 3.2 template, which writes a system "
                                "header with dates", err);
        if (!has(t, "bos_token") || !(has(t, "| trim") || has(t, "|trim")))
            return unrecognised(where, "Llama 3 headers, but not Llama 3's bos_token and "
                                "trimmed contents", err);
        return "llama3";
    }
    if (has(t, "<|im_start|>") && has(t, "<|im_end|>")) {
        if (has(t, "bos_token"))
            return unrecognised(where, "a ChatML template that writes bos_token", err);
        return "chatml";
    }
    if (has(t, "[INST]")) {
        if (has(t, "<<SYS>>") && has(t, "'[INST] ' + content.strip() + ' [/INST]'"))
            return "llama2";
        if (has(t, "\"[INST] \" + system_message + \"\\n\\n\" + message[\"content\"] + "
                   "\"[/INST]\""))
            return "mistral";
        return unrecognised(where, "an [INST] template other than Llama 2's and Mistral "
                            "v0.3's, such as Mistral v0.1 / v0.2", err);
    }
    return unrecognised(where, "none of the Llama 3, ChatML or [INST] markers", err);
}

/* Appends the Jinja string literal text[0..n) unescaped (\n, \t, \\, \', \"). */
static void put_unescaped(buf *b, const char *text, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (c == '\\' && i + 1 < n) {
            char e = text[++i];
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e;
        }
        put_n(b, &c, 1);
    }
}

/* 1 when text[0..n) has no unescaped quote: it lies inside one string literal. */
static int is_literal(const char *text, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\\')
            i++;
        else if (text[i] == '\'' || text[i] == '"')
            return 0;
    }
    return 1;
}

char *t2_prompt_format_default_system(const char *t) {
    static const char open[] = "<|im_start|>system";
    static const char close[] = "<|im_end|>";
    for (const char *p = t ? strstr(t, open) : NULL; p != NULL; p = strstr(p + 1, open)) {
        const char *body = p + strlen(open);
        if (strncmp(body, "\\n", 2) == 0)
            body += 2;
        else if (body[0] == '\n')
            body += 1;
        else
            continue;
        const char *end = strstr(body, close);
        if (end == NULL) return NULL;
        size_t n = (size_t)(end - body);
        if (n == 0 || !is_literal(body, n)) continue;
        buf b = {0};
        put_unescaped(&b, body, n);
        return b.s;
    }
    return NULL;
}

int t2_prompt_format_check_tokens(const char *name, const t2_tokenizer *tok, const char *where,
                                  t2_error *err) {
    static const char *const llama3[] = {"<|start_header_id|>", "<|end_header_id|>",
                                         "<|eot_id|>", NULL};
    static const char *const chatml[] = {"<|im_start|>", "<|im_end|>", NULL};
    const char *const *need = name && strcmp(name, "llama3") == 0   ? llama3
                              : name && strcmp(name, "chatml") == 0 ? chatml
                                                                    : NULL;
    for (int i = 0; need != NULL && need[i] != NULL; i++)
        if (t2_tokenizer_token_id(tok, need[i]) < 0)
            return t2_error_set(err, "%s: prompt format '%s' needs the token '%s', which the "
                                "tokenizer does not have; expected the tokenizer of a %s model "
                                "or another prompt format", where, name, need[i], name);
    return 0;
}

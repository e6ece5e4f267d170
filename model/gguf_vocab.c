/* tokenizer.json -> the tokenizer.ggml.* keys of a GGUF file (see gguf_vocab.h). */
#include "model/gguf_vocab.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "model/json_util.h"

#define METASPACE "\xe2\x96\x81" /* "▁" */

/* The starts of the Split regexes of Llama 3 and Qwen2 (llama.cpp's "llama-bpe" and "qwen2"
 * pre-tokenizers): they differ in how digits group (\p{N}{1,3} against \p{N}). */
static const char llama3_start[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|";
static const char qwen2_start[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|";
/* GPT-2's pattern written out as a Split (ByteLevel with use_regex uses it implicitly). */
static const char gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static const char *string_of(const json_t *v) {
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int type_is(const json_t *node, const char *type) {
    const char *t = string_of(json_object_get(node, "type"));
    return t != NULL && strcmp(t, type) == 0;
}

/* What the pre-tokenizer and normalizer say. */
typedef struct family {
    int byte_level;        /* a ByteLevel step */
    int metaspace;         /* a Metaspace step */
    int space_prefix;      /* a "▁" prepended (SentencePiece-style) */
    const char *pre;       /* the llama.cpp pre-tokenizer name, NULL when unknown */
    const char *pattern;   /* the Split regex seen, for messages */
} family;

static void scan_pretokenizer(const json_t *node, family *f) {
    if (node == NULL || json_is_null(node)) return;
    if (type_is(node, "Sequence")) {
        const json_t *list = json_object_get(node, "pretokenizers");
        for (size_t i = 0; i < json_array_size(list); i++)
            scan_pretokenizer(json_array_get(list, i), f);
        return;
    }
    if (type_is(node, "ByteLevel")) {
        f->byte_level = 1;
        const json_t *regex = json_object_get(node, "use_regex");
        if (f->pre == NULL && f->pattern == NULL && (regex == NULL || json_is_true(regex)))
            f->pre = "gpt-2";
    } else if (type_is(node, "Metaspace")) {
        f->metaspace = 1;
        const char *scheme = string_of(json_object_get(node, "prepend_scheme"));
        const json_t *add = json_object_get(node, "add_prefix_space");
        f->space_prefix = scheme != NULL ? strcmp(scheme, "never") != 0
                                         : add == NULL || json_is_true(add);
    } else if (type_is(node, "Split")) {
        const char *regex = string_of(json_object_get(json_object_get(node, "pattern"), "Regex"));
        if (regex == NULL || f->pattern != NULL) return;
        f->pattern = regex;
        if (strncmp(regex, llama3_start, strlen(llama3_start)) == 0)
            f->pre = "llama-bpe";
        else if (strncmp(regex, qwen2_start, strlen(qwen2_start)) == 0)
            f->pre = "qwen2";
        else if (strcmp(regex, gpt2_pattern) == 0)
            f->pre = "gpt-2";
        else
            f->pre = NULL;
    }
}

static void scan_normalizer(const json_t *node, family *f) {
    if (node == NULL || json_is_null(node)) return;
    if (type_is(node, "Sequence")) {
        const json_t *list = json_object_get(node, "normalizers");
        for (size_t i = 0; i < json_array_size(list); i++)
            scan_normalizer(json_array_get(list, i), f);
    } else if (type_is(node, "Prepend")) {
        const char *text = string_of(json_object_get(node, "prepend"));
        if (text != NULL && strcmp(text, METASPACE) == 0) f->space_prefix = 1;
    }
}

/* The vocabulary as arrays of vocab_size entries. */
typedef struct vocab {
    int64_t n;
    const char **tokens;  /* borrowed from the JSON, NULL for holes */
    char **owned;         /* "[PAD<id>]" strings made for holes */
    size_t *lens;
    int32_t *types;
    float *scores;
} vocab;

static void vocab_free(vocab *v) {
    for (int64_t i = 0; i < v->n; i++) t2_free(v->owned[i]);
    t2_free(v->owned);
    t2_free(v->tokens);
    t2_free(v->lens);
    t2_free(v->types);
    t2_free(v->scores);
}

static int is_byte_token(const char *s) {
    return strlen(s) == 6 && strncmp(s, "<0x", 3) == 0 && s[5] == '>';
}

/* Puts token text at id (checking the range); a later entry (an added token) wins. */
static int set_token(vocab *v, int64_t id, const char *text, int32_t type, const char *path,
                     t2_error *err) {
    if (id < 0 || id >= v->n)
        return t2_error_set(err, "%s: token '%s' has id %lld; expected an id below the "
                            "model's vocab_size %lld", path, text, (long long)id,
                            (long long)v->n);
    v->tokens[id] = text;
    v->lens[id] = strlen(text);
    v->types[id] = type;
    return 0;
}

/* The merges as "left right" strings (either spelling of tokenizer.json), heap (each and the
 * array freed by the caller). */
static int64_t read_merges(const json_t *list, char ***out) {
    int64_t n = (int64_t)json_array_size(list);
    char **merges = t2_alloc_array(n > 0 ? (size_t)n : 1, sizeof *merges);
    for (int64_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(list, (size_t)i);
        if (json_is_string(m)) {
            merges[i] = t2_strdup(json_string_value(m));
        } else {
            const char *a = string_of(json_array_get(m, 0)), *b = string_of(json_array_get(m, 1));
            size_t size = (a ? strlen(a) : 0) + (b ? strlen(b) : 0) + 2;
            merges[i] = t2_alloc(size);
            snprintf(merges[i], size, "%s %s", a ? a : "", b ? b : "");
        }
    }
    *out = merges;
    return n;
}

/* SentencePiece-style scores: -rank of the merge that makes a token (the first, when several
 * do), so llama.cpp's highest-score-first merging follows the merge ranks. */
static void merge_scores(vocab *v, const json_t *model_vocab, char *const *merges, int64_t n) {
    for (int64_t k = n - 1; k >= 0; k--) {
        const char *space = strchr(merges[k], ' ');
        if (space == NULL) continue;
        size_t left = (size_t)(space - merges[k]);
        size_t size = strlen(merges[k]);
        char *joined = t2_alloc(size);
        memcpy(joined, merges[k], left);
        memcpy(joined + left, space + 1, size - left); /* with the NUL */
        int64_t id;
        if (t2_json_util_as_int(json_object_get(model_vocab, joined), &id) && id >= 0 && id < v->n)
            v->scores[id] = -(float)k;
        t2_free(joined);
    }
}

static int fill_vocab(vocab *v, const json_t *root, const json_t *model, int spm,
                      const char *path, t2_error *err) {
    const json_t *model_vocab = json_object_get(model, "vocab");
    const char *unk = string_of(json_object_get(model, "unk_token"));
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)model_vocab, key, value) {
        int64_t id;
        if (!t2_json_util_as_int(value, &id))
            return t2_error_set(err, "%s: vocab entry '%s' is not an integer id; expected "
                                "\"token\": id", path, key);
        int32_t type = T2_GGUF_TOKEN_NORMAL;
        if (spm && is_byte_token(key)) type = T2_GGUF_TOKEN_BYTE;
        if (unk != NULL && strcmp(key, unk) == 0) type = T2_GGUF_TOKEN_UNKNOWN;
        if (set_token(v, id, key, type, path, err) != 0) return -1;
    }
    const json_t *added = json_object_get(root, "added_tokens");
    for (size_t i = 0; i < json_array_size(added); i++) {
        const json_t *a = json_array_get(added, i);
        const char *content = string_of(json_object_get(a, "content"));
        int64_t id;
        if (content == NULL || !t2_json_util_as_int(json_object_get(a, "id"), &id))
            return t2_error_set(err, "%s: added_tokens[%zu] has no content or id; expected "
                                "{\"id\": n, \"content\": \"...\"}", path, i);
        int32_t type = json_is_true(json_object_get(a, "special")) ? T2_GGUF_TOKEN_CONTROL
                                                                    : T2_GGUF_TOKEN_USER_DEFINED;
        if (unk != NULL && strcmp(content, unk) == 0) type = T2_GGUF_TOKEN_UNKNOWN;
        if (set_token(v, id, content, type, path, err) != 0) return -1;
    }
    for (int64_t i = 0; i < v->n; i++) {
        if (v->tokens[i] != NULL) continue;
        char name[40];
        snprintf(name, sizeof name, "[PAD%lld]", (long long)i);
        v->owned[i] = t2_strdup(name);
        v->tokens[i] = v->owned[i];
        v->lens[i] = strlen(name);
        v->types[i] = T2_GGUF_TOKEN_UNUSED;
    }
    return 0;
}

static void add_special(t2_gguf_writer *w, const char *key, int64_t id) {
    if (id >= 0) t2_gguf_writer_add_u32(w, key, (uint32_t)id);
}

static int add_keys(t2_gguf_writer *w, const json_t *root, const char *path, int64_t vocab_size,
                    const t2_gguf_vocab_special *special, t2_error *err) {
    const json_t *model = json_object_get(root, "model");
    if (!type_is(model, "BPE"))
        return t2_error_set(err, "%s: model type '%s' cannot be written to GGUF; expected BPE",
                            path, string_of(json_object_get(model, "type")) != NULL
                            ? string_of(json_object_get(model, "type")) : "(none)");
    family f = {0};
    scan_normalizer(json_object_get(root, "normalizer"), &f);
    scan_pretokenizer(json_object_get(root, "pre_tokenizer"), &f);
    int spm = !f.byte_level && (f.metaspace || f.space_prefix ||
                                json_is_true(json_object_get(model, "byte_fallback")));
    if (!f.byte_level && !spm)
        return t2_error_set(err, "%s: neither byte-level nor SentencePiece-style BPE; expected "
                            "a ByteLevel or Metaspace pre-tokenizer", path);
    if (f.byte_level && f.pre == NULL)
        return t2_error_set(err, "%s: pre-tokenizer pattern '%.80s' is not one llama.cpp "
                            "names; expected the GPT-2, Llama-3 or Qwen2 pattern", path,
                            f.pattern ? f.pattern : "(none)");
    vocab v = {.n = vocab_size};
    v.tokens = t2_alloc_array((size_t)vocab_size, sizeof *v.tokens);
    v.owned = t2_alloc_array((size_t)vocab_size, sizeof *v.owned);
    v.lens = t2_alloc_array((size_t)vocab_size, sizeof *v.lens);
    v.types = t2_alloc_array((size_t)vocab_size, sizeof *v.types);
    v.scores = t2_alloc_array((size_t)vocab_size, sizeof *v.scores);
    int status = fill_vocab(&v, root, model, spm, path, err);
    char **merges = NULL;
    int64_t n_merges = read_merges(json_object_get(model, "merges"), &merges);
    if (status == 0) {
        t2_gguf_writer_add_string(w, "tokenizer.ggml.model", spm ? "llama" : "gpt2");
        if (!spm) t2_gguf_writer_add_string(w, "tokenizer.ggml.pre", f.pre);
        t2_gguf_writer_add_strings(w, "tokenizer.ggml.tokens", v.tokens, v.lens, v.n);
        if (spm) {
            merge_scores(&v, json_object_get(model, "vocab"), merges, n_merges);
            t2_gguf_writer_add_f32s(w, "tokenizer.ggml.scores", v.scores, v.n);
        }
        t2_gguf_writer_add_i32s(w, "tokenizer.ggml.token_type", v.types, v.n);
        if (!spm) {
            size_t *lens = t2_alloc_array(n_merges > 0 ? (size_t)n_merges : 1, sizeof *lens);
            for (int64_t i = 0; i < n_merges; i++) lens[i] = strlen(merges[i]);
            t2_gguf_writer_add_strings(w, "tokenizer.ggml.merges",
                                       (const char *const *)merges, lens, n_merges);
            t2_free(lens);
        } else {
            t2_gguf_writer_add_bool(w, "tokenizer.ggml.add_space_prefix", f.space_prefix);
            for (int64_t i = 0; i < v.n; i++)
                if (v.types[i] == T2_GGUF_TOKEN_UNKNOWN) {
                    add_special(w, "tokenizer.ggml.unknown_token_id", i);
                    break;
                }
        }
        add_special(w, "tokenizer.ggml.bos_token_id", special->bos);
        add_special(w, "tokenizer.ggml.eos_token_id", special->eos);
        add_special(w, "tokenizer.ggml.padding_token_id", special->pad);
        t2_gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", special->add_bos);
        t2_gguf_writer_add_bool(w, "tokenizer.ggml.add_eos_token", special->add_eos);
        if (special->chat_template != NULL)
            t2_gguf_writer_add_string(w, "tokenizer.chat_template", special->chat_template);
    }
    for (int64_t i = 0; i < n_merges; i++) t2_free(merges[i]);
    t2_free(merges);
    vocab_free(&v);
    return status;
}

int t2_gguf_vocab_add(t2_gguf_writer *w, const char *path, int64_t vocab_size,
                      const t2_gguf_vocab_special *special, t2_error *err) {
    char *text = NULL;
    size_t len = 0;
    if (t2_file_read(path, &text, &len, err) != 0) return -1;
    json_t *root = t2_json_util_parse_object(text, len, path, "a tokenizer.json object", err);
    int status = root != NULL ? add_keys(w, root, path, vocab_size, special, err) : -1;
    json_decref(root);
    t2_free(text);
    return status;
}

/* tokenizer.json (Hugging Face tokenizers' serialization) -> t2_tokenizer.
 *
 * Reads: model (type "BPE" or absent with merges; vocab; merges as "a b" strings or [a, b]
 * pairs; unk_token, byte_fallback, fuse_unk, ignore_merges), added_tokens, normalizer (NFC,
 * Prepend, Replace of a string, Sequence), pre_tokenizer (ByteLevel, Metaspace, Split,
 * Sequence) and post_processor (tokenizer_post.c). The decoder is not read:
 * decoding is defined as the inverse of this encoder (tokenizer.c).
 * Rejects, with "<path>: <what>; expected <what>", every model type but BPE and every
 * normalizer or pre-tokenizer it cannot reproduce exactly, rather than encode differently.
 * JSON parsing is jansson (see docs/tokenizer.md for why); a 9 MB Llama 3 file loads in a
 * fraction of a second. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "model/json_util.h"
#include "model/tokenizer_impl.h"

#define METASPACE "\xe2\x96\x81" /* "▁", U+2581, SentencePiece's space */

/* Token ids must be below this (2^24, as config.json's vocab_size): an absurd id in a bad
 * file is an error, not a huge allocation. */
enum { MAX_ID = 1 << 24 };

/* Fills err with "<path>: <formatted>" and returns -1. */
static int fail(t2_error *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(t2_error *err, const char *path, const char *fmt, ...) {
    char line[T2_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return t2_error_set(err, "%s: %s", path, line);
}

void t2_tokenizer_byte_to_unicode(uint32_t codepoint[256]) {
    uint32_t next = 256; /* bytes that are not printable Latin-1 get 256, 257, ... in order */
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
        codepoint[b] = printable ? (uint32_t)b : next++;
    }
}

size_t t2_tokenizer_utf8_put_small(char *out, uint32_t cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
}

/* A JSON value's string, or NULL when it is not a string. */
static const char *string_of(const json_t *v) {
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int bool_of(const json_t *obj, const char *key, int fallback) {
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : fallback;
}

/* ---- vocabulary and what each id decodes to ----------------------------------------------- */

/* The bytes a vocabulary string stands for: byte-level strings map back through the
 * bytes->unicode alphabet (a string with any other character stands for its own UTF-8);
 * SentencePiece "<0xXX>" is the byte XX and "▁" a space. Writes at most strlen(s) bytes. */
static size_t decode_vocab_string(const t2_tokenizer *tok, const int16_t *unicode_to_byte,
                                  const char *s, size_t len, char *out) {
    if (tok->kind == T2_TOKENIZER_BYTE_LEVEL) {
        size_t n = 0;
        for (size_t i = 0; i < len;) {
            const unsigned char *u = (const unsigned char *)s + i;
            uint32_t cp = u[0];
            size_t clen = 1;
            if (u[0] >= 0xc0 && u[0] < 0xe0 && i + 1 < len) {
                cp = ((uint32_t)(u[0] & 0x1f) << 6) | (u[1] & 0x3f);
                clen = 2;
            } else if (u[0] >= 0x80) {
                cp = 0xffffffff; /* outside the alphabet */
            }
            if (cp >= 324 || unicode_to_byte[cp] < 0) {
                memcpy(out, s, len);
                return len;
            }
            out[n++] = (char)unicode_to_byte[cp];
            i += clen;
        }
        return n;
    }
    if (len == 6 && memcmp(s, "<0x", 3) == 0 && isxdigit((unsigned char)s[3]) &&
        isxdigit((unsigned char)s[4]) && s[5] == '>') {
        out[0] = (char)strtol(s + 3, NULL, 16);
        return 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        if (i + 3 <= len && memcmp(s + i, METASPACE, 3) == 0) {
            out[n++] = ' ';
            i += 3;
        } else {
            out[n++] = s[i++];
        }
    }
    return n;
}

static void set_piece(t2_tokenizer *tok, size_t *pieces_len, int32_t id, const char *bytes,
                      size_t n) {
    memcpy(tok->pieces + *pieces_len, bytes, n);
    tok->piece_off[id] = *pieces_len;
    tok->piece_len[id] = (int32_t)n;
    *pieces_len += n;
}

/* Reads model.vocab and added_tokens into the map, the pieces and the byte tables. */
static int load_vocab(t2_tokenizer *tok, const json_t *vocab, const json_t *added,
                      const char *path, t2_error *err) {
    if (!json_is_object(vocab))
        return fail(err, path, "model.vocab is %s; expected an object of token -> id",
                    vocab ? t2_json_util_type_name(vocab) : "missing");
    size_t n_added = json_is_array(added) ? json_array_size(added) : 0;
    int64_t max_id = -1;
    size_t total_len = 0;
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)vocab, key, value) {
        int64_t id;
        if (!t2_json_util_as_int(value, &id) || id < 0 || id >= MAX_ID)
            return fail(err, path, "model.vocab['%s'] is not a valid id; expected an integer in "
                        "[0, %d)", key, MAX_ID);
        if (id > max_id) max_id = id;
        total_len += strlen(key);
    }
    for (size_t i = 0; i < n_added; i++) {
        const json_t *a = json_array_get(added, i);
        int64_t id;
        const char *content = string_of(json_object_get(a, "content"));
        if (!json_is_object(a) || content == NULL || content[0] == '\0' ||
            !t2_json_util_as_int(json_object_get(a, "id"), &id) || id < 0 || id >= MAX_ID)
            return fail(err, path, "added_tokens[%zu] is not a token; expected an object with a "
                        "non-empty \"content\" and an \"id\" in [0, %d)", i, MAX_ID);
        if (bool_of(a, "single_word", 0))
            return fail(err, path, "added_tokens[%zu] ('%s') has single_word true, which is not "
                        "supported; expected single_word false", i, content);
        if (id > max_id) max_id = id;
        total_len += strlen(content);
    }
    tok->n_ids = max_id + 1;
    tok->pieces = t2_alloc(total_len + 1);
    tok->piece_off = t2_alloc_array((size_t)tok->n_ids, sizeof *tok->piece_off);
    tok->piece_len = t2_alloc_array((size_t)tok->n_ids, sizeof *tok->piece_len);
    tok->is_added = t2_alloc_array((size_t)tok->n_ids, sizeof *tok->is_added);
    for (int64_t id = 0; id < tok->n_ids; id++) tok->piece_len[id] = -1;
    t2_strmap_init(&tok->vocab, json_object_size(vocab) + n_added);

    int16_t unicode_to_byte[324];
    memset(unicode_to_byte, 0xff, sizeof unicode_to_byte);
    t2_tokenizer_byte_to_unicode(tok->byte_cp);
    for (int b = 0; b < 256; b++) unicode_to_byte[tok->byte_cp[b]] = (int16_t)b;
    size_t pieces_len = 0;
    char *scratch = t2_alloc(total_len + 1);
    json_object_foreach((json_t *)vocab, key, value) {
        int64_t id;
        t2_json_util_as_int(value, &id);
        size_t len = strlen(key);
        t2_strmap_put(&tok->vocab, key, len, (int32_t)id);
        size_t n = decode_vocab_string(tok, unicode_to_byte, key, len, scratch);
        set_piece(tok, &pieces_len, (int32_t)id, scratch, n);
    }
    t2_free(scratch);

    tok->added = t2_alloc_array(n_added ? n_added : 1, sizeof *tok->added);
    for (size_t i = 0; i < n_added; i++) {
        const json_t *a = json_array_get(added, i);
        int64_t id;
        t2_json_util_as_int(json_object_get(a, "id"), &id);
        const char *content = json_string_value(json_object_get(a, "content"));
        size_t len = strlen(content);
        t2_strmap_put(&tok->vocab, content, len, (int32_t)id);
        set_piece(tok, &pieces_len, (int32_t)id, content, len);
        tok->is_added[id] = 1;
        tok->added[tok->n_added++] = (t2_tokenizer_added){t2_strndup(content, len), len,
                                                          (int32_t)id, bool_of(a, "lstrip", 0),
                                                          bool_of(a, "rstrip", 0)};
    }
    return 0;
}

/* Sorts added tokens by first byte, longest first, and indexes them by first byte. */
static int compare_added(const void *pa, const void *pb) {
    const t2_tokenizer_added *a = pa, *b = pb;
    unsigned char fa = (unsigned char)a->content[0], fb = (unsigned char)b->content[0];
    if (fa != fb) return fa < fb ? -1 : 1;
    return a->len < b->len ? 1 : a->len > b->len ? -1 : 0;
}

static void index_added(t2_tokenizer *tok) {
    qsort(tok->added, (size_t)tok->n_added, sizeof *tok->added, compare_added);
    int i = 0;
    for (int b = 0; b <= 256; b++) {
        tok->added_first[b] = i;
        while (b < 256 && i < tok->n_added && (unsigned char)tok->added[i].content[0] == b) i++;
    }
}

/* ---- merges --------------------------------------------------------------------------------- */

static int load_merges(t2_tokenizer *tok, const json_t *merges, const char *path,
                       t2_error *err) {
    if (!json_is_array(merges))
        return fail(err, path, "model.merges is %s; expected an array of merges",
                    merges ? t2_json_util_type_name(merges) : "missing");
    size_t n = json_array_size(merges), cap = 256;
    if (n >= INT32_MAX) return fail(err, path, "model.merges has %zu merges; expected fewer", n);
    t2_tokenizer_merges_init(&tok->merges, n);
    char *joined = t2_alloc(cap);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const json_t *m = json_array_get(merges, i);
        const char *left = NULL, *right = NULL;
        size_t left_len = 0, right_len = 0;
        if (json_is_string(m)) {
            const char *s = json_string_value(m), *space = strchr(s, ' ');
            if (space != NULL && strchr(space + 1, ' ') == NULL && space > s && space[1] != '\0') {
                left = s;
                left_len = (size_t)(space - s);
                right = space + 1;
                right_len = strlen(right);
            }
        } else if (json_is_array(m) && json_array_size(m) == 2) {
            left = string_of(json_array_get(m, 0));
            right = string_of(json_array_get(m, 1));
            left_len = left ? strlen(left) : 0;
            right_len = right ? strlen(right) : 0;
        }
        if (left == NULL || right == NULL) {
            rc = fail(err, path, "model.merges[%zu] is not a merge; expected \"left right\" or "
                      "[\"left\", \"right\"]", i);
            break;
        }
        if (left_len + right_len > cap) {
            cap = 2 * (left_len + right_len);
            joined = t2_realloc(joined, cap);
        }
        memcpy(joined, left, left_len);
        memcpy(joined + left_len, right, right_len);
        int32_t a = t2_strmap_get(&tok->vocab, left, left_len);
        int32_t b = t2_strmap_get(&tok->vocab, right, right_len);
        int32_t ab = t2_strmap_get(&tok->vocab, joined, left_len + right_len);
        if (a < 0 || b < 0 || ab < 0)
            rc = fail(err, path, "model.merges[%zu] ('%.*s' + '%.*s'): '%.*s' is not in the vocab; "
                      "expected merges of vocabulary tokens into a vocabulary token", i,
                      (int)left_len, left, (int)right_len, right,
                      a < 0 ? (int)left_len : b < 0 ? (int)right_len : (int)(left_len + right_len),
                      a < 0 ? left : b < 0 ? right : joined);
        else
            t2_tokenizer_merges_put(&tok->merges, a, b, (int32_t)i, ab);
    }
    t2_free(joined);
    return rc;
}

/* ---- normalizer and pre-tokenizer ----------------------------------------------------------- */

static void add_norm(t2_tokenizer *tok, t2_tokenizer_norm norm) {
    tok->norms = t2_realloc(tok->norms, (size_t)(tok->n_norms + 1) * sizeof *tok->norms);
    tok->norms[tok->n_norms++] = norm;
}

static int load_normalizer(t2_tokenizer *tok, const json_t *node, const char *path,
                           t2_error *err) {
    if (node == NULL || json_is_null(node)) return 0;
    const char *type = string_of(json_object_get(node, "type"));
    if (type != NULL && strcmp(type, "Sequence") == 0) {
        const json_t *list = json_object_get(node, "normalizers");
        for (size_t i = 0; i < json_array_size(list); i++)
            if (load_normalizer(tok, json_array_get(list, i), path, err) != 0) return -1;
        return 0;
    }
    if (type != NULL && strcmp(type, "NFC") == 0) {
        add_norm(tok, (t2_tokenizer_norm){.kind = T2_TOKENIZER_NORM_NFC});
        return 0;
    }
    if (type != NULL && strcmp(type, "Prepend") == 0) {
        const char *text = string_of(json_object_get(node, "prepend"));
        if (text == NULL) return fail(err, path, "normalizer Prepend has no \"prepend\" string; "
                                      "expected the text to prepend");
        add_norm(tok, (t2_tokenizer_norm){.kind = T2_TOKENIZER_NORM_PREPEND,
                                          .text = t2_strdup(text), .text_len = strlen(text)});
        return 0;
    }
    if (type != NULL && strcmp(type, "Replace") == 0) {
        const char *from = string_of(json_object_get(json_object_get(node, "pattern"), "String"));
        const char *to = string_of(json_object_get(node, "content"));
        if (from == NULL || from[0] == '\0' || to == NULL)
            return fail(err, path, "normalizer Replace is not a plain string replacement; "
                        "expected {\"pattern\": {\"String\": ...}, \"content\": ...}");
        add_norm(tok, (t2_tokenizer_norm){T2_TOKENIZER_NORM_REPLACE, t2_strdup(from),
                                          strlen(from), t2_strdup(to), strlen(to)});
        return 0;
    }
    return fail(err, path, "normalizer type '%s' is not supported; expected NFC, Prepend, "
                "Replace or a Sequence of them", type ? type : "(none)");
}

static int add_split(t2_tokenizer *tok, const char *pattern, size_t len, int is_literal,
                     t2_tokenizer_split_behavior behavior, const char *path, t2_error *err) {
    if (tok->n_splits == T2_TOKENIZER_MAX_SPLITS)
        return fail(err, path, "pre_tokenizer has more than %d splits; expected fewer",
                    T2_TOKENIZER_MAX_SPLITS);
    char what[T2_ERROR_MAX / 2];
    snprintf(what, sizeof what, "%s: pre_tokenizer regex '%.200s'", path, pattern);
    pcre2_code *re = t2_tokenizer_pretok_compile(pattern, len, is_literal, what, err);
    if (re == NULL) return -1;
    tok->splits[tok->n_splits++] = (t2_tokenizer_split){re, behavior};
    return 0;
}

static int split_behavior(const char *name, t2_tokenizer_split_behavior *out) {
    static const struct { const char *name; t2_tokenizer_split_behavior b; } names[] = {
        {"Isolated", T2_TOKENIZER_SPLIT_ISOLATED},
        {"Removed", T2_TOKENIZER_SPLIT_REMOVED},
        {"MergedWithPrevious", T2_TOKENIZER_SPLIT_MERGED_PREVIOUS},
        {"MergedWithNext", T2_TOKENIZER_SPLIT_MERGED_NEXT},
    };
    for (size_t i = 0; name != NULL && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].b;
            return 0;
        }
    return -1;
}

/* What the pre-tokenizer showed about the family. */
typedef struct pretok_seen {
    int byte_level, metaspace, steps;
} pretok_seen;

static int load_metaspace(t2_tokenizer *tok, const json_t *node, const char *path,
                          t2_error *err) {
    const char *replacement = string_of(json_object_get(node, "replacement"));
    if (replacement == NULL) replacement = METASPACE;
    size_t len = strlen(replacement);
    if (len == 0 || len >= sizeof tok->prefix_marker)
        return fail(err, path, "Metaspace replacement '%s' is not one character; expected \"▁\"",
                    replacement);
    memcpy(tok->prefix_marker, replacement, len + 1);
    tok->prefix_marker_len = len;
    tok->replace_spaces = 1;
    const char *scheme = string_of(json_object_get(node, "prepend_scheme"));
    if (scheme == NULL)
        tok->prefix = bool_of(node, "add_prefix_space", 1) ? T2_TOKENIZER_PREFIX_ALWAYS
                                                           : T2_TOKENIZER_PREFIX_NONE;
    else if (strcmp(scheme, "always") == 0)
        tok->prefix = T2_TOKENIZER_PREFIX_ALWAYS;
    else if (strcmp(scheme, "first") == 0)
        tok->prefix = T2_TOKENIZER_PREFIX_FIRST;
    else if (strcmp(scheme, "never") == 0)
        tok->prefix = T2_TOKENIZER_PREFIX_NONE;
    else
        return fail(err, path, "Metaspace prepend_scheme '%s' is not known; expected always, "
                    "first or never", scheme);
    if (bool_of(node, "split", 1))
        return add_split(tok, replacement, len, 1, T2_TOKENIZER_SPLIT_MERGED_NEXT, path, err);
    return 0;
}

static int load_pretokenizer(t2_tokenizer *tok, const json_t *node, pretok_seen *seen,
                             const char *path, t2_error *err) {
    if (node == NULL || json_is_null(node)) return 0;
    const char *type = string_of(json_object_get(node, "type"));
    if (type != NULL && strcmp(type, "Sequence") == 0) {
        const json_t *list = json_object_get(node, "pretokenizers");
        for (size_t i = 0; i < json_array_size(list); i++)
            if (load_pretokenizer(tok, json_array_get(list, i), seen, path, err) != 0) return -1;
        return 0;
    }
    int first = seen->steps++ == 0;
    if (type != NULL && strcmp(type, "ByteLevel") == 0) {
        seen->byte_level = 1;
        if (bool_of(node, "add_prefix_space", 0)) {
            if (!first)
                return fail(err, path, "pre_tokenizer ByteLevel with add_prefix_space after "
                            "another step is not supported; expected it first");
            tok->prefix = T2_TOKENIZER_PREFIX_ALWAYS;
            memcpy(tok->prefix_marker, " ", 2);
            tok->prefix_marker_len = 1;
        }
        if (bool_of(node, "use_regex", 1))
            return add_split(tok, t2_tokenizer_pretok_gpt2_pattern,
                             strlen(t2_tokenizer_pretok_gpt2_pattern), 0,
                             T2_TOKENIZER_SPLIT_ISOLATED, path, err);
        return 0;
    }
    if (type != NULL && strcmp(type, "Metaspace") == 0) {
        seen->metaspace = 1;
        if (!first)
            return fail(err, path, "pre_tokenizer Metaspace after another step is not "
                        "supported; expected it first");
        return load_metaspace(tok, node, path, err);
    }
    if (type != NULL && strcmp(type, "Split") == 0) {
        const json_t *pattern = json_object_get(node, "pattern");
        const char *regex = string_of(json_object_get(pattern, "Regex"));
        const char *literal = string_of(json_object_get(pattern, "String"));
        const char *behavior_name = string_of(json_object_get(node, "behavior"));
        t2_tokenizer_split_behavior behavior;
        if ((regex == NULL && (literal == NULL || literal[0] == '\0')) ||
            split_behavior(behavior_name, &behavior) != 0 || bool_of(node, "invert", 0))
            return fail(err, path, "pre_tokenizer Split (behavior '%s') is not supported; "
                        "expected a Regex or String pattern, invert false and behavior "
                        "Isolated, Removed, MergedWithPrevious or MergedWithNext",
                        behavior_name ? behavior_name : "(none)");
        const char *text = regex ? regex : literal;
        return add_split(tok, text, strlen(text), regex == NULL, behavior, path, err);
    }
    return fail(err, path, "pre_tokenizer type '%s' is not supported; expected ByteLevel, "
                "Metaspace, Split or a Sequence of them", type ? type : "(none)");
}

/* Decides byte-level or SentencePiece-style, and how decode undoes prepended spaces. */
static int decide_kind(t2_tokenizer *tok, const pretok_seen *seen, const char *path,
                       t2_error *err) {
    int prepends_metaspace = 0, replaces_spaces = 0;
    for (int i = 0; i < tok->n_norms; i++) {
        const t2_tokenizer_norm *n = &tok->norms[i];
        if (n->kind == T2_TOKENIZER_NORM_PREPEND && strcmp(n->text, METASPACE) == 0)
            prepends_metaspace = 1;
        if (n->kind == T2_TOKENIZER_NORM_REPLACE && strcmp(n->pattern, " ") == 0 &&
            strcmp(n->text, METASPACE) == 0)
            replaces_spaces = 1;
    }
    if (seen->byte_level && seen->metaspace)
        return fail(err, path, "pre_tokenizer has both ByteLevel and Metaspace; expected one");
    if (seen->byte_level) {
        tok->kind = T2_TOKENIZER_BYTE_LEVEL;
        return 0;
    }
    if (!seen->metaspace && !replaces_spaces && !tok->byte_fallback)
        return fail(err, path, "neither a ByteLevel nor a Metaspace pre-tokenizer, nor a "
                    "SentencePiece-style normalizer or byte_fallback; expected BPE (byte-level "
                    "or SentencePiece-style)");
    tok->kind = T2_TOKENIZER_SENTENCEPIECE;
    if (prepends_metaspace || tok->prefix == T2_TOKENIZER_PREFIX_ALWAYS)
        tok->strip = T2_TOKENIZER_STRIP_SEGMENTS;
    else if (tok->prefix == T2_TOKENIZER_PREFIX_FIRST)
        tok->strip = T2_TOKENIZER_STRIP_FIRST;
    return 0;
}

/* ---- BOS ------------------------------------------------------------------------------------ */

/* The BOS: what a TemplateProcessing puts first (-1 when it puts nothing); without a template,
 * the added token with a BOS name, as Llama 2 / 3 and t2's own files use. */
static int32_t find_bos(const t2_tokenizer *tok) {
    if (tok->has_template) return tok->template_bos;
    static const char *const names[] = {"<|begin_of_text|>", "<s>", "<|bos|>", "<bos>",
                                        "<|startoftext|>"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        for (int k = 0; k < tok->n_added; k++)
            if (strcmp(tok->added[k].content, names[i]) == 0) return tok->added[k].id;
    return -1;
}

/* ---- the whole file ------------------------------------------------------------------------- */

static int load_model(t2_tokenizer *tok, const json_t *root, const char *path, t2_error *err) {
    const json_t *model = json_object_get(root, "model");
    if (!json_is_object(model))
        return fail(err, path, "\"model\" is %s; expected an object",
                    model ? t2_json_util_type_name(model) : "missing");
    const char *type = string_of(json_object_get(model, "type"));
    if ((type != NULL && strcmp(type, "BPE") != 0) ||
        (type == NULL && json_object_get(model, "merges") == NULL))
        return fail(err, path, "model type '%s' is not supported; expected BPE (byte-level or "
                    "SentencePiece-style)", type ? type : "(none, and no merges)");
    const json_t *dropout = json_object_get(model, "dropout");
    if (dropout != NULL && !json_is_null(dropout) && json_number_value(dropout) != 0.0)
        return fail(err, path, "model.dropout is set; expected null (dropout is for training)");
    static const char *const affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const json_t *v = json_object_get(model, affixes[i]);
        if (v != NULL && !json_is_null(v) && (!json_is_string(v) || json_string_length(v) > 0))
            return fail(err, path, "model.%s is set; expected null or \"\"", affixes[i]);
    }
    tok->byte_fallback = bool_of(model, "byte_fallback", 0);
    tok->fuse_unk = bool_of(model, "fuse_unk", 0);
    tok->ignore_merges = bool_of(model, "ignore_merges", 0);

    pretok_seen seen = {0};
    tok->splits = t2_alloc_array(T2_TOKENIZER_MAX_SPLITS, sizeof *tok->splits);
    if (load_normalizer(tok, json_object_get(root, "normalizer"), path, err) != 0 ||
        load_pretokenizer(tok, json_object_get(root, "pre_tokenizer"), &seen, path, err) != 0 ||
        decide_kind(tok, &seen, path, err) != 0 ||
        load_vocab(tok, json_object_get(model, "vocab"), json_object_get(root, "added_tokens"),
                   path, err) != 0 ||
        load_merges(tok, json_object_get(model, "merges"), path, err) != 0)
        return -1;
    index_added(tok);

    const char *unk = string_of(json_object_get(model, "unk_token"));
    tok->unk_id = unk ? t2_strmap_get(&tok->vocab, unk, strlen(unk)) : -1;
    for (int b = 0; b < 256; b++) {
        char spelt[8];
        size_t n = tok->kind == T2_TOKENIZER_BYTE_LEVEL
                       ? t2_tokenizer_utf8_put_small(spelt, tok->byte_cp[b])
                       : (size_t)snprintf(spelt, sizeof spelt, "<0x%02X>", b);
        tok->byte_id[b] = t2_strmap_get(&tok->vocab, spelt, n);
        if (tok->kind == T2_TOKENIZER_BYTE_LEVEL && tok->byte_id[b] < 0)
            return fail(err, path, "model.vocab has no token '%.*s' for byte 0x%02X; expected "
                        "all 256 byte-level tokens", (int)n, spelt, b);
    }
    if (t2_tokenizer_post_load(tok, json_object_get(root, "post_processor"), path, err) != 0)
        return -1;
    tok->bos_id = find_bos(tok);
    return 0;
}

t2_tokenizer *t2_tokenizer_load(const char *path, t2_error *err) {
    char *text;
    size_t len;
    if (t2_file_read(path, &text, &len, err) != 0) return NULL;
    json_t *root = t2_json_util_parse_object(text, len, path, "a Hugging Face tokenizer.json", err);
    t2_free(text);
    if (root == NULL) return NULL;
    t2_tokenizer *tok = t2_alloc_zero(sizeof *tok);
    tok->unk_id = tok->bos_id = tok->template_bos = tok->template_eos = -1;
    int rc = load_model(tok, root, path, err);
    json_decref(root);
    if (rc != 0) {
        t2_tokenizer_free(tok);
        return NULL;
    }
    return tok;
}

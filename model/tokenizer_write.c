/* The byte-level tokenizer.json of t2's own models (see tokenizer_write.h). Built as a
 * jansson tree in the layout Hugging Face tokenizers writes (version 1.0, model BPE with
 * the merges as "left right" strings, none for a byte-level tokenizer), dumped with two-space indentation in insertion order so the same
 * special tokens always give the same bytes, and written through base/file.h's atomic
 * write. Does not read tokenizers (tokenizer_load.c does). */
#include "model/tokenizer_write.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/file.h"
#include "model/tokenizer_impl.h"

static json_t *byte_level_step(int add_prefix_space) {
    return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space",
                     add_prefix_space, "trim_offsets", 1, "use_regex", 1);
}

/* The model: 256 byte tokens (ids 0..255), then merge i as id first_merge + i, spelt as its
 * two halves joined; merges as "left right" strings. */
static json_t *bpe_model(const t2_bpe_merge *merges, int64_t n_merges, int32_t first_merge) {
    uint32_t codepoint[256];
    t2_tokenizer_byte_to_unicode(codepoint);
    int64_t n_ids = first_merge + n_merges;
    char **spelt = t2_alloc_zero((size_t)n_ids * sizeof *spelt);
    json_t *vocab = json_object(), *list = json_array();
    for (int b = 0; b < 256; b++) {
        char buf[3];
        size_t n = t2_tokenizer_utf8_put_small(buf, codepoint[b]);
        buf[n] = '\0';
        spelt[b] = t2_strdup(buf);
        json_object_set_new(vocab, buf, json_integer(b));
    }
    for (int64_t i = 0; i < n_merges; i++) {
        const char *l = spelt[merges[i].left], *r = spelt[merges[i].right];
        T2_ASSERT(l != NULL && r != NULL);
        spelt[first_merge + i] = t2_strdup_printf("%s%s", l, r);
        json_object_set_new(vocab, spelt[first_merge + i], json_integer(first_merge + i));
        char *pair = t2_strdup_printf("%s %s", l, r);
        json_array_append_new(list, json_string(pair));
        t2_free(pair);
    }
    for (int64_t i = 0; i < n_ids; i++) t2_free(spelt[i]);
    t2_free(spelt);
    return json_pack("{s:s, s:n, s:n, s:n, s:n, s:b, s:b, s:b, s:o, s:o}", "type", "BPE",
                     "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix",
                     "fuse_unk", 0, "byte_fallback", 0, "ignore_merges", 0, "vocab", vocab,
                     "merges", list);
}

/* The added_tokens array, or NULL with err set for a bad special token. */
static json_t *special_list(const char *path, const char *const *special, int n,
                            t2_error *err) {
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        json_t *content = special[i] ? json_string(special[i]) : NULL;
        int repeated = 0;
        for (int k = 0; k < i && content != NULL; k++)
            repeated |= strcmp(special[k], special[i]) == 0;
        if (content == NULL || special[i][0] == '\0' || repeated) {
            t2_error_set(err, "%s: special token %d ('%s') is %s; expected distinct non-empty "
                         "UTF-8 strings", path, i, special[i] ? special[i] : "(null)",
                         content == NULL ? "not UTF-8" : repeated ? "repeated" : "empty");
            json_decref(content);
            json_decref(list);
            return NULL;
        }
        json_array_append_new(list, json_pack("{s:i, s:o, s:b, s:b, s:b, s:b, s:b}", "id",
                                              256 + i, "content", content, "single_word", 0,
                                              "lstrip", 0, "rstrip", 0, "normalized", 0,
                                              "special", 1));
    }
    return list;
}

int t2_tokenizer_write_byte_level(const char *path, const char *const *special_tokens,
                                  int n_special, t2_error *err) {
    return t2_tokenizer_write_bpe(path, special_tokens, n_special, NULL, 0, err);
}

int t2_tokenizer_write_bpe(const char *path, const char *const *special_tokens, int n_special,
                           const t2_bpe_merge *merges, int64_t n_merges, t2_error *err) {
    json_t *added = special_list(path, special_tokens, n_special, err);
    if (added == NULL) return -1;
    json_t *root = json_pack("{s:s, s:n, s:n, s:o, s:n, s:o, s:n, s:o, s:o}", "version", "1.0",
                             "truncation", "padding", "added_tokens", added, "normalizer",
                             "pre_tokenizer", byte_level_step(0), "post_processor", "decoder",
                             byte_level_step(1), "model", bpe_model(merges, n_merges, 256 + n_special));
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (text == NULL) return t2_error_set(err, "%s: cannot serialise the tokenizer", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps leaves room for its NUL, which becomes the final newline */
    int rc = t2_file_write_atomic(path, text, len + 1, err);
    free(text);
    return rc;
}

int t2_tokenizer_write_config(const char *path, const char *bos_token, const char *eos_token,
                              t2_error *err) {
    json_t *root = json_pack("{s:b, s:b, s:s, s:s, s:b, s:s}", "add_bos_token", 0,
                             "add_eos_token", 0, "bos_token", bos_token, "eos_token", eos_token,
                             "clean_up_tokenization_spaces", 0, "tokenizer_class",
                             "PreTrainedTokenizerFast");
    char *text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    if (text == NULL) return t2_error_set(err, "%s: cannot serialise the tokenizer config", path);
    size_t len = strlen(text);
    text[len] = '\n';
    int rc = t2_file_write_atomic(path, text, len + 1, err);
    free(text);
    return rc;
}

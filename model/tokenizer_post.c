/* tokenizer.json's post_processor: which special-token ids an encoding with special tokens
 * puts around the text (Hugging Face tokenizers' TemplateProcessing, `single` template).
 *
 * Reads: null (nothing), ByteLevel (adds nothing: its offset trimming does not change ids),
 * TemplateProcessing whose `single` is at most one SpecialToken, the Sequence $A, and at most
 * one SpecialToken (each special token standing for exactly one id in `special_tokens`), and
 * a Sequence of these holding at most one TemplateProcessing. Refuses everything else
 * (BertProcessing, RobertaProcessing, a template with $B or several tokens on one side, ...)
 * rather than add different ids than Hugging Face. The `pair` template is not read (t2 never
 * encodes pairs). Not here: whether tokenizer_config.json overrides it (tokenizer_config.c). */
#include <stdio.h>
#include <string.h>

#include "model/json_util.h"
#include "model/tokenizer_impl.h"

static int unsupported(const char *path, const char *type, t2_error *err) {
    return t2_error_set(err, "%s: post_processor type '%s' is not supported; expected "
                        "TemplateProcessing, ByteLevel or a Sequence of them", path, type);
}

static int bad_template(const char *path, const char *what, t2_error *err) {
    return t2_error_set(err, "%s: post_processor TemplateProcessing %s; expected a 'single' "
                        "template of at most one special token, $A, and at most one special "
                        "token", path, what);
}

/* The one id of the special token named by item {"SpecialToken": {"id": name}}. */
static int special_id(const t2_tokenizer *tok, const json_t *node, const json_t *item,
                      int32_t *id, const char *path, t2_error *err) {
    const json_t *name = json_object_get(json_object_get(item, "SpecialToken"), "id");
    if (!json_is_string(name)) return bad_template(path, "has an item that is not a token", err);
    const json_t *special =
        json_object_get(json_object_get(node, "special_tokens"), json_string_value(name));
    const json_t *ids = json_object_get(special, "ids");
    int64_t v;
    if (json_array_size(ids) != 1 || !t2_json_util_as_int(json_array_get(ids, 0), &v) ||
        v < 0 || v >= tok->n_ids) {
        char what[T2_ERROR_MAX / 2];
        snprintf(what, sizeof what, "special token '%.200s' is not one id of the vocabulary in "
                 "special_tokens", json_string_value(name));
        return bad_template(path, what, err);
    }
    *id = (int32_t)v;
    return 0;
}

static int load_template(t2_tokenizer *tok, const json_t *node, const char *path,
                         t2_error *err) {
    const json_t *single = json_object_get(node, "single");
    if (!json_is_array(single)) return bad_template(path, "has no 'single' list", err);
    int seen_a = 0;
    for (size_t i = 0; i < json_array_size(single); i++) {
        const json_t *item = json_array_get(single, i);
        const json_t *seq = json_object_get(item, "Sequence");
        if (seq != NULL) {
            const char *name = json_string_value(json_object_get(seq, "id"));
            if (name == NULL || strcmp(name, "A") != 0 || seen_a)
                return bad_template(path, "has a sequence other than one $A", err);
            seen_a = 1;
            continue;
        }
        int32_t *slot = seen_a ? &tok->template_eos : &tok->template_bos;
        if (*slot >= 0)
            return bad_template(path, seen_a ? "puts several tokens after $A"
                                             : "puts several tokens before $A", err);
        if (special_id(tok, node, item, slot, path, err) != 0) return -1;
    }
    if (!seen_a) return bad_template(path, "has no $A", err);
    return 0;
}

static int load_node(t2_tokenizer *tok, const json_t *node, const char *path, t2_error *err) {
    if (node == NULL || json_is_null(node)) return 0;
    const char *type = json_string_value(json_object_get(node, "type"));
    if (type == NULL) return unsupported(path, "(none)", err);
    if (strcmp(type, "ByteLevel") == 0) return 0;
    if (strcmp(type, "Sequence") == 0) {
        const json_t *list = json_object_get(node, "processors");
        for (size_t i = 0; i < json_array_size(list); i++)
            if (load_node(tok, json_array_get(list, i), path, err) != 0) return -1;
        return 0;
    }
    if (strcmp(type, "TemplateProcessing") == 0) {
        if (tok->has_template) return bad_template(path, "appears twice in the Sequence", err);
        tok->has_template = 1;
        return load_template(tok, node, path, err);
    }
    return unsupported(path, type, err);
}

int t2_tokenizer_post_load(t2_tokenizer *tok, const json_t *node, const char *path,
                           t2_error *err) {
    tok->template_bos = tok->template_eos = -1;
    tok->has_template = 0;
    return load_node(tok, node, path, err);
}

/* tokenizer_config.json (see tokenizer_config.h): the keys t2 reads, and which BOS / EOS an
 * encoding adds by Hugging Face's rule (transformers' TokenizersBackend / LlamaTokenizerFast
 * update_post_processor): when the file has add_bos_token or add_eos_token, the post-processor
 * is rebuilt from them (a key that is absent then counts as false); when it has neither,
 * tokenizer.json's post-processor stands. Every other key of the file is ignored. */
#include "model/tokenizer_config.h"

#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/file.h"
#include "model/json_util.h"

/* What a value is, for messages (integers are read as reals: say "a number"). */
static const char *type_name(const json_t *v) {
    return json_is_number(v) ? "a number" : t2_json_util_type_name(v);
}

/* A special token's text: a string, an AddedToken object's "content", or NULL for null /
 * absent. Returns 0, or -1 with err for another value. */
static int token_string(const json_t *root, const char *key, char **out, const char *path,
                        t2_error *err) {
    const json_t *v = json_object_get(root, key);
    if (v == NULL || json_is_null(v)) return 0;
    if (json_is_object(v)) v = json_object_get(v, "content");
    if (!json_is_string(v))
        return t2_error_set(err, "%s: key '%s' is not a token; expected a string or an object "
                            "with a \"content\" string", path, key);
    *out = t2_strdup(json_string_value(v));
    return 0;
}

/* chat_template: a string, or a list of {"name", "template"} of which "default" is used. */
static int chat_template(const json_t *root, char **out, const char *path, t2_error *err) {
    const json_t *v = json_object_get(root, "chat_template");
    if (v == NULL || json_is_null(v)) return 0;
    if (json_is_string(v)) {
        *out = t2_strdup(json_string_value(v));
        return 0;
    }
    if (!json_is_array(v))
        return t2_error_set(err, "%s: key 'chat_template' is %s; expected a string or a list of "
                            "{\"name\", \"template\"}", path, type_name(v));
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *item = json_array_get(v, i);
        const json_t *name = json_object_get(item, "name");
        const json_t *text = json_object_get(item, "template");
        if (!json_is_string(name) || !json_is_string(text))
            return t2_error_set(err, "%s: chat_template[%zu] is not a named template; expected "
                                "{\"name\": string, \"template\": string}", path, i);
        if (strcmp(json_string_value(name), "default") == 0) {
            *out = t2_strdup(json_string_value(text));
            return 0;
        }
    }
    return t2_error_set(err, "%s: chat_template lists no template named 'default'; expected "
                        "one (the template Hugging Face uses when none is named)", path);
}

/* add_bos_token / add_eos_token: true, false, or absent / null (-1). */
static int flag(const json_t *root, const char *key, int *out, const char *path, t2_error *err) {
    const json_t *v = json_object_get(root, key);
    if (v == NULL || json_is_null(v)) return 0;
    if (!json_is_boolean(v))
        return t2_error_set(err, "%s: key '%s' is %s; expected true or false", path, key,
                            type_name(v));
    *out = json_is_true(v);
    return 0;
}

static int load_keys(t2_tokenizer_config *c, const json_t *root, const char *path,
                     t2_error *err) {
    if (flag(root, "add_bos_token", &c->add_bos_token, path, err) != 0 ||
        flag(root, "add_eos_token", &c->add_eos_token, path, err) != 0)
        return -1;
    if (token_string(root, "bos_token", &c->bos_token, path, err) != 0 ||
        token_string(root, "eos_token", &c->eos_token, path, err) != 0)
        return -1;
    return chat_template(root, &c->chat_template, path, err);
}

int t2_tokenizer_config_load(t2_tokenizer_config *c, const char *path, t2_error *err) {
    memset(c, 0, sizeof *c);
    c->add_bos_token = c->add_eos_token = -1;
    struct stat sb;
    if (stat(path, &sb) != 0) return 0; /* no file: nothing overrides tokenizer.json */
    char *text;
    size_t len;
    if (t2_file_read(path, &text, &len, err) != 0) return -1;
    /* integers as reals: Llama 3's model_max_length (1e30) is beyond jansson's integers */
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
    t2_free(text);
    if (root == NULL)
        return t2_error_set(err, "%s: invalid JSON at line %d column %d: %s; expected a Hugging "
                            "Face tokenizer_config.json", path, jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return t2_error_set(err, "%s: the JSON text is not an object; expected a Hugging Face "
                            "tokenizer_config.json", path);
    }
    c->path = t2_strdup(path);
    int rc = load_keys(c, root, path, err);
    json_decref(root);
    return rc;
}

void t2_tokenizer_config_free(t2_tokenizer_config *c) {
    t2_free(c->path);
    t2_free(c->bos_token);
    t2_free(c->eos_token);
    t2_free(c->chat_template);
    memset(c, 0, sizeof *c);
    c->add_bos_token = c->add_eos_token = -1;
}

/* The id of the token a key names, for add_<which>_token true. */
static int named_id(const t2_tokenizer_config *c, const t2_tokenizer *tok, const char *which,
                    const char *token, int32_t *id, t2_error *err) {
    if (token == NULL)
        return t2_error_set(err, "%s: add_%s_token is true but %s_token is not set; expected "
                            "the %s token's text", c->path,
                            which, which, which);
    *id = t2_tokenizer_token_id(tok, token);
    if (*id < 0)
        return t2_error_set(err, "%s: add_%s_token is true but %s_token '%s' is not a token of "
                            "tokenizer.json; expected a token of its vocabulary",
                            c->path, which, which, token);
    return 0;
}

int t2_tokenizer_config_added_ids(const t2_tokenizer_config *c, const t2_tokenizer *tok,
                                  int32_t *bos, int32_t *eos, t2_error *err) {
    *bos = t2_tokenizer_template_bos(tok);
    *eos = t2_tokenizer_template_eos(tok);
    if (c == NULL || c->path == NULL || (c->add_bos_token < 0 && c->add_eos_token < 0)) return 0;
    *bos = *eos = -1;
    if (c->add_bos_token == 1 && named_id(c, tok, "bos", c->bos_token, bos, err) != 0) return -1;
    if (c->add_eos_token == 1 && named_id(c, tok, "eos", c->eos_token, eos, err) != 0) return -1;
    return 0;
}

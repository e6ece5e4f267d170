/* Chat templates and special tokens as the model's files say:
 *   - golden ids: for each family a conversation (system, user, assistant, user) with the
 *     generation prompt, and the prompt encoder's (system, user) and (user) prompts, must
 *     give exactly the text and ids of Hugging Face's apply_chat_template(...,
 *     add_generation_prompt=True), taken from tests/reference/golden/chat_template_ids.json
 *     (made by tests/reference/chat_template_ids.py with Jinja and its own tokenizer, never
 *     from t2). llama3 uses the real files in $T2_SHARED_DATA (skipped when absent); the others
 *     the fixtures written by tests/reference/chat_fixtures.py;
 *   - the BOS / EOS a plain encoding adds: GPT-2 none, Llama 3 (ByteLevel post-processor, no
 *     add_bos_token) none, TemplateProcessing fixtures (BOS, BOS + EOS, nothing), and
 *     tokenizer_config.json's add_bos_token / add_eos_token overriding them;
 *   - every bad input: unsupported post-processors, a bos_token the vocabulary lacks, broken
 *     tokenizer_config.json files, an unrecognised template under "auto", an unknown format,
 *     a chat format whose tokens the tokenizer lacks. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "check.h"
#include "model/prompt_encoder.h"
#include "model/prompt_format.h"
#include "model/tokenizer.h"
#include "model/tokenizer_config.h"

/* A tokenizer folder: tokenizer.json and tokenizer_config.json (when present). */
typedef struct folder {
    t2_tokenizer *tok;
    t2_tokenizer_config tc;
} folder;

/* Loads dir; returns 0, or -1 with err (tok NULL or tc unloaded). */
static int folder_load(folder *f, const char *dir, t2_error *err) {
    memset(f, 0, sizeof *f);
    f->tc.add_bos_token = f->tc.add_eos_token = -1;
    char *path = t2_strdup_printf("%s/tokenizer.json", dir);
    f->tok = t2_tokenizer_load(path, err);
    t2_free(path);
    if (f->tok == NULL) return -1;
    path = t2_strdup_printf("%s/tokenizer_config.json", dir);
    int rc = t2_tokenizer_config_load(&f->tc, path, err);
    t2_free(path);
    return rc;
}

static void folder_free(folder *f) {
    t2_tokenizer_config_free(&f->tc);
    t2_tokenizer_free(f->tok);
}

/* The folder of a case: a fixture in the source tree, or $T2_SHARED_DATA/...; NULL when the
 * shared data is absent. Heap string. */
static char *folder_path(const char *spec) {
    static const char shared[] = "$T2_SHARED_DATA/";
    if (strncmp(spec, shared, sizeof shared - 1) != 0) return t2_check_source_path(spec);
    const char *root = getenv("T2_SHARED_DATA");
    if (root == NULL) return NULL;
    char *path = t2_strdup_printf("%s/%s", root, spec + sizeof shared - 1);
    FILE *probe = fopen(path, "r");
    if (probe == NULL) {
        char *file = t2_strdup_printf("%s/tokenizer.json", path);
        probe = fopen(file, "r");
        t2_free(file);
    }
    if (probe == NULL) {
        t2_free(path);
        return NULL;
    }
    fclose(probe);
    return path;
}

static void check_ids(const char *what, const int32_t *got, int64_t n, const json_t *want) {
    int64_t n_want = (int64_t)json_array_size(want), first = -1;
    for (int64_t i = 0; i < n && i < n_want && first < 0; i++)
        if (got[i] != (int32_t)json_integer_value(json_array_get(want, (size_t)i))) first = i;
    if (first < 0 && n != n_want) first = n < n_want ? n : n_want;
    if (first >= 0)
        CHECK(0, "%s: %lld ids, want %lld; first difference at %lld: got %d want %lld", what,
              (long long)n, (long long)n_want, (long long)first,
              first < n ? got[first] : -1,
              first < n_want ? (long long)json_integer_value(json_array_get(want, (size_t)first))
                             : -1LL);
}

/* The family a case name starts with. */
static const char *family_of(const char *name) {
    static const char *const families[] = {"llama3", "llama2", "mistral", "chatml"};
    for (int i = 0; i < 4; i++)
        if (strncmp(name, families[i], strlen(families[i])) == 0) return families[i];
    return NULL;
}

/* One golden case: render and encode the messages, and (for the one-turn cases) the
 * prompt encoder's ids. Returns 1 when run, 0 when skipped. */
static int run_case(const char *name, const json_t *c) {
    char *dir = folder_path(json_string_value(json_object_get(c, "folder")));
    if (dir == NULL) {
        fprintf(stderr, "skipped %s: $T2_SHARED_DATA/tokenizers/llama3 is absent\n", name);
        return 0;
    }
    folder f;
    t2_error err = {{0}};
    int rc = folder_load(&f, dir, &err);
    CHECK(rc == 0, "%s: %s", name, err.msg);
    t2_free(dir);
    if (rc != 0) {
        folder_free(&f);
        return 1;
    }
    const char *family = family_of(name);
    const char *detected = t2_prompt_format_detect(f.tc.chat_template, "test", &err);
    CHECK(detected != NULL && strcmp(detected, family) == 0, "%s: detected %s (%s)", name,
          detected ? detected : "nothing", err.msg);

    const json_t *jmsgs = json_object_get(c, "messages");
    size_t n = json_array_size(jmsgs);
    t2_chat_message msgs[8];
    for (size_t i = 0; i < n && i < 8; i++) {
        const json_t *m = json_array_get(jmsgs, i);
        msgs[i] = (t2_chat_message){json_string_value(json_object_get(m, "role")),
                                    json_string_value(json_object_get(m, "content"))};
    }
    char *default_system = t2_prompt_format_default_system(f.tc.chat_template);
    t2_chat_tokens tokens = {f.tc.bos_token, f.tc.eos_token, default_system};
    char *text = t2_prompt_format_render(family, msgs, (int)n, 1, &tokens, &err);
    const char *want_text = json_string_value(json_object_get(c, "text"));
    CHECK(text != NULL && strcmp(text, want_text) == 0, "%s: rendered\n'%s'\nwant\n'%s'", name,
          text ? text : err.msg, want_text);
    int32_t *ids = NULL;
    int64_t n_ids = text ? t2_tokenizer_encode(f.tok, text, strlen(text), &ids) : 0;
    check_ids(name, ids, n_ids, json_object_get(c, "ids"));
    t2_free(ids);
    t2_free(text);
    t2_free(default_system);

    /* the prompt encoder, on auto: the same ids for (system, user) and (user) */
    if (n <= 2) {
        t2_prompt_settings settings = t2_prompt_settings_default();
        settings.system = n == 2 ? (char *)msgs[0].content : NULL;
        t2_prompt_encoder e;
        rc = t2_prompt_encoder_init(&e, f.tok, &f.tc, &settings, &err);
        CHECK(rc == 0 && strcmp(e.format, family) == 0 && t2_prompt_encoder_is_chat(&e) &&
                  e.bos_id == -1 && e.eos_id == -1,
              "%s: encoder %s (%s)", name, rc == 0 ? e.format : "failed", err.msg);
        if (rc == 0) {
            n_ids = t2_prompt_encoder_encode(&e, msgs[n - 1].content, &ids);
            char what[64];
            snprintf(what, sizeof what, "%s (prompt encoder)", name);
            check_ids(what, ids, n_ids, json_object_get(c, "ids"));
            t2_free(ids);
            const char *const *stops = t2_prompt_format_stop_strings(family);
            for (int i = 0; stops[i] != NULL; i++)
                CHECK(e.stops[i] != NULL && strcmp(e.stops[i], stops[i]) == 0, "%s stops", name);
        }
        t2_prompt_encoder_free(&e);
        t2_prompt_encoder_free(&e); /* may run twice */
    }
    folder_free(&f);
    return 1;
}

static void test_golden(void) {
    char *path = t2_check_source_path("tests/reference/golden/chat_template_ids.json");
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    CHECK(root != NULL, "%s: %s", path, jerr.text);
    t2_free(path);
    if (root == NULL) return;
    const char *name;
    json_t *c;
    int run = 0;
    json_object_foreach(root, name, c) run += run_case(name, c);
    CHECK(run >= 9, "only %d golden cases ran", run);
    json_decref(root);
}

/* ---- BOS / EOS of a plain encoding --------------------------------------------------------- */

/* The ids "hello world" gets from the prompt encoder on plain (add_special_tokens as given),
 * compared with want[n_want]. */
static void check_plain(const char *dir_rel, int add_special, const int32_t *want,
                        int64_t n_want) {
    char *dir = strncmp(dir_rel, "$T2_SHARED_DATA/", 16) == 0 ? folder_path(dir_rel)
                                                              : t2_check_source_path(dir_rel);
    if (dir == NULL) {
        fprintf(stderr, "skipped %s: absent\n", dir_rel);
        return;
    }
    folder f;
    t2_error err = {{0}};
    int rc = folder_load(&f, dir, &err);
    CHECK(rc == 0, "%s: %s", dir_rel, err.msg);
    t2_free(dir);
    if (rc == 0) {
        t2_prompt_settings settings = {(char *)"plain", add_special, NULL};
        t2_prompt_encoder e;
        rc = t2_prompt_encoder_init(&e, f.tok, &f.tc, &settings, &err);
        CHECK(rc == 0 && !t2_prompt_encoder_is_chat(&e) && e.stops[0] == NULL, "%s: %s",
              dir_rel, err.msg);
        int32_t *ids = NULL;
        int64_t n = rc == 0 ? t2_prompt_encoder_encode(&e, "hello world", &ids) : 0;
        int same = n == n_want;
        for (int64_t i = 0; same && i < n; i++) same = ids[i] == want[i];
        CHECK(same, "%s (special tokens %d): %lld ids, first %d last %d", dir_rel, add_special,
              (long long)n, n > 0 ? ids[0] : -1, n > 0 ? ids[n - 1] : -1);
        t2_free(ids);
        t2_prompt_encoder_free(&e);
    }
    folder_free(&f);
}

static void test_bos_eos(void) {
    /* the fixtures: <s> 1, </s> 2; "hello world" -> ▁ hello ▁world = 259 379 389 (merges of
     * "hello" rank before those of "▁hello": see chat_fixtures.py) */
    const int32_t body[] = {259, 379, 389};
    const int32_t bos_body[] = {1, 259, 379, 389};
    const int32_t bos_body_eos[] = {1, 259, 379, 389, 2};
    check_plain("tests/data/tokenizers/post_bos_eos", 1, bos_body_eos, 5);
    check_plain("tests/data/tokenizers/post_bos_eos", 0, body, 3);
    check_plain("tests/data/tokenizers/post_none", 1, body, 3);
    check_plain("tests/data/tokenizers/chat_llama2", 1, bos_body, 4);
    check_plain("tests/data/tokenizers/config_no_bos", 1, body, 3); /* template says BOS */
    check_plain("tests/data/tokenizers/config_eos", 1, bos_body_eos, 5); /* no template */
    /* sentencepiece fixture (TemplateProcessing <s>): hello world -> 271 276 */
    const int32_t sp[] = {1, 271, 276};
    check_plain("tests/data/tokenizers/sentencepiece", 1, sp, 3);
    /* GPT-2: "hello world" = 31373 995, nothing added */
    const int32_t gpt2[] = {31373, 995};
    check_plain("$T2_SHARED_DATA/tokenizers/gpt2", 1, gpt2, 2);
    /* Llama 3 as first released: ByteLevel post-processor, no add_bos_token, class
     * PreTrainedTokenizerFast: Hugging Face adds nothing. "hello world" = 15339 1917 */
    const int32_t llama3[] = {15339, 1917};
    check_plain("$T2_SHARED_DATA/tokenizers/llama3", 1, llama3, 2);

    char *dir = t2_check_source_path("tests/data/tokenizers/post_bos_eos");
    folder f;
    t2_error err = {{0}};
    CHECK(folder_load(&f, dir, &err) == 0, "%s", err.msg);
    CHECK(t2_tokenizer_template_bos(f.tok) == 1 && t2_tokenizer_template_eos(f.tok) == 2 &&
              t2_tokenizer_bos_id(f.tok) == 1 && f.tc.path == NULL,
          "post_bos_eos: %d %d", t2_tokenizer_template_bos(f.tok),
          t2_tokenizer_template_eos(f.tok));
    folder_free(&f);
    t2_free(dir);
    dir = t2_check_source_path("tests/data/tokenizers/chat_llama2");
    CHECK(folder_load(&f, dir, &err) == 0 && f.tc.add_bos_token == 1 &&
              f.tc.add_eos_token == 0 && strcmp(f.tc.bos_token, "<s>") == 0 &&
              strcmp(f.tc.eos_token, "</s>") == 0,
          "chat_llama2 config: %s", err.msg);
    folder_free(&f);
    t2_free(dir);
}

/* ---- bad inputs ---------------------------------------------------------------------------- */

static void check_load_error(const char *dir_rel, const char *want) {
    char *dir = t2_check_source_path(dir_rel);
    folder f;
    t2_error err = {{0}};
    int rc = folder_load(&f, dir, &err);
    int32_t bos, eos;
    if (rc == 0) rc = t2_tokenizer_config_added_ids(&f.tc, f.tok, &bos, &eos, &err);
    CHECK(rc != 0 && strstr(err.msg, want) != NULL, "%s: want error '%s', got '%s'", dir_rel,
          want, err.msg);
    folder_free(&f);
    t2_free(dir);
}

/* Writes text as <tmp>/tokenizer_config.json and loads it; returns the error line. */
static void check_config_error(const char *text, const char *want) {
    char *dir = t2_check_temp_dir("chat_template");
    char *path = t2_strdup_printf("%s/tokenizer_config.json", dir);
    t2_error err = {{0}};
    CHECK(t2_file_write_atomic(path, text, strlen(text), &err) == 0, "%s", err.msg);
    t2_tokenizer_config c;
    int rc = t2_tokenizer_config_load(&c, path, &err);
    CHECK(rc != 0 && strstr(err.msg, want) != NULL, "config %s: want '%s', got '%s'", text,
          want, err.msg);
    t2_tokenizer_config_free(&c);
    t2_tokenizer_config_free(&c);
    remove(path);
    t2_free(path);
    remove(dir);
    t2_free(dir);
}

static void test_config_file(void) {
    check_config_error("{\"add_bos_token\": \"yes\"}",
                       "key 'add_bos_token' is a string; expected true or false");
    check_config_error("{\"bos_token\": 1}", "key 'bos_token' is not a token");
    check_config_error("{\"add_eos_token\": 1}",
                       "key 'add_eos_token' is a number; expected true or false");
    check_config_error("{\"chat_template\": 3}",
                       "key 'chat_template' is a number; expected a string or a list");
    check_config_error("{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"x\"}]}",
                       "chat_template lists no template named 'default'");
    check_config_error("{\"chat_template\": [7]}", "chat_template[0] is not a named template");
    check_config_error("{\"add_bos_token\": true,", "invalid JSON at line 1");
    check_config_error("[1]", "the JSON text is not an object");

    /* a list of named templates: "default" is taken; an absent file is a zeroed config */
    char *dir = t2_check_temp_dir("chat_template");
    char *path = t2_strdup_printf("%s/tokenizer_config.json", dir);
    const char *text = "{\"chat_template\": [{\"name\": \"rag\", \"template\": \"r\"}, "
                       "{\"name\": \"default\", \"template\": \"d\"}], \"eos_token\": "
                       "{\"content\": \"</s>\"}, \"model_max_length\": "
                       "1000000000000000019884624838656}";
    t2_error err = {{0}};
    t2_tokenizer_config c;
    CHECK(t2_file_write_atomic(path, text, strlen(text), &err) == 0, "%s", err.msg);
    CHECK(t2_tokenizer_config_load(&c, path, &err) == 0 && strcmp(c.chat_template, "d") == 0 &&
              strcmp(c.eos_token, "</s>") == 0 && c.bos_token == NULL && c.add_bos_token == -1,
          "named templates: %s", err.msg);
    t2_tokenizer_config_free(&c);
    remove(path);
    CHECK(t2_tokenizer_config_load(&c, path, &err) == 0 && c.path == NULL &&
              c.chat_template == NULL && c.add_bos_token == -1 && c.add_eos_token == -1,
          "absent file: %s", err.msg);
    t2_tokenizer_config_free(&c);
    t2_free(path);
    remove(dir);
    t2_free(dir);
}

static void test_bad_inputs(void) {
    check_load_error("tests/data/tokenizers/post_bert",
                     "post_bert/tokenizer.json: post_processor type 'BertProcessing' is not "
                     "supported; expected TemplateProcessing, ByteLevel or a Sequence of them");
    check_load_error("tests/data/tokenizers/post_two",
                     "post_two/tokenizer.json: post_processor TemplateProcessing puts several "
                     "tokens before $A");
    check_load_error("tests/data/tokenizers/config_bad_bos",
                     "config_bad_bos/tokenizer_config.json: add_bos_token is true but bos_token "
                     "'<bos>' is not a token of tokenizer.json; expected a token of its "
                     "vocabulary");

    char *dir = t2_check_source_path("tests/data/tokenizers/chat_unknown");
    folder f;
    t2_error err = {{0}};
    CHECK(folder_load(&f, dir, &err) == 0, "%s", err.msg);
    t2_free(dir);
    t2_prompt_encoder e;
    t2_prompt_settings settings = t2_prompt_settings_default();
    CHECK(t2_prompt_encoder_init(&e, f.tok, &f.tc, &settings, &err) != 0 &&
              strstr(err.msg, "chat_unknown/tokenizer_config.json: chat_template is not one t2 "
                              "recognises") != NULL &&
              strstr(err.msg, "set prompt_format to plain or one of llama3, llama2, mistral, "
                              "chatml") != NULL,
          "auto on an unknown template: '%s'", err.msg);
    t2_prompt_encoder_free(&e);
    settings.format = (char *)"plain";
    CHECK(t2_prompt_encoder_init(&e, f.tok, &f.tc, &settings, &err) == 0, "plain: %s", err.msg);
    t2_prompt_encoder_free(&e);
    settings.format = (char *)"llama2"; /* a name overrides detection */
    CHECK(t2_prompt_encoder_init(&e, f.tok, &f.tc, &settings, &err) == 0 &&
              strcmp(e.format, "llama2") == 0, "llama2 by name: %s", err.msg);
    t2_prompt_encoder_free(&e);
    settings.format = (char *)"alpaca";
    CHECK(t2_prompt_encoder_init(&e, f.tok, &f.tc, &settings, &err) != 0 &&
              strcmp(err.msg, "prompt_format: 'alpaca' is not known; expected auto, plain, "
                              "llama3, llama2, mistral or chatml") == 0,
          "unknown format: '%s'", err.msg);
    t2_prompt_encoder_free(&e);
    settings.format = (char *)"chatml"; /* this tokenizer has no <|im_start|> */
    CHECK(t2_prompt_encoder_init(&e, f.tok, &f.tc, &settings, &err) != 0 &&
              strstr(err.msg, "prompt format 'chatml' needs the token '<|im_start|>', which "
                              "the tokenizer does not have") != NULL,
          "chatml without its tokens: '%s'", err.msg);
    t2_prompt_encoder_free(&e);
    settings.format = (char *)"llama3";
    CHECK(t2_prompt_encoder_init(&e, f.tok, NULL, &settings, &err) != 0 &&
              strstr(err.msg, "needs the token '<|start_header_id|>'") != NULL,
          "llama3 without its tokens: '%s'", err.msg);
    t2_prompt_encoder_free(&e);
    folder_free(&f);
}

int main(void) {
    test_golden();
    test_bos_eos();
    test_config_file();
    test_bad_inputs();
    return t2_check_exit_code();
}

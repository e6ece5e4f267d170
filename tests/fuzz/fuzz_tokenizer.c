/* Fuzz target: a model folder's tokenizer.json (model/tokenizer_load.c and the encoder it
 * builds) and tokenizer_config.json (model/tokenizer_config.c, with the chat-template
 * detection of model/prompt_format.c and the prompt encoder of model/prompt_encoder.c).
 * Every input is tried
 *   - as tokenizer.json: when it loads, a few fixed texts are encoded (every id must lie in
 *     [0, vocab size)) and decoded, and every token's bytes are asked for;
 *   - as tokenizer_config.json: the BOS/EOS it adds, checked against two fixed tokenizers
 *     (tests/data/tokenizers/bytelevel and chat_llama2) and the input's own tokenizer when it
 *     loaded; the chat template's family, its default system message, the rendering of a
 *     conversation, and the prompt encoder under "auto" with a system message;
 *   - as text (its first 256 bytes: encoding all of a 10 kB tokenizer.json made the target
 *     ten times slower) encoded by the fixed byte-level tokenizer, which must decode back to
 *     the same bytes (docs/tokenizer.md: decoding is the exact inverse without <unk>), and
 *     by the SentencePiece-style one, whose ids must lie in its vocabulary.
 * Seeds: tests/fuzz/corpus/tokenizer/ (the tokenizer fixtures of tests/data/tokenizers). */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "harness.h"
#include "model/prompt_encoder.h"
#include "model/prompt_format.h"
#include "model/tokenizer.h"
#include "model/tokenizer_config.h"

enum { TEXT_MAX = 256 }; /* bytes of the input encoded as text */

static t2_tokenizer *bytelevel, *llama2;
static char *tok_path, *config_path;

static t2_tokenizer *load_fixture(const char *name) {
    char *path = t2_strdup_printf("%s/tests/data/tokenizers/%s/tokenizer.json",
                                  T2_FUZZ_SOURCE_DIR, name);
    t2_error err = {{0}};
    t2_tokenizer *tok = t2_tokenizer_load(path, &err);
    t2_fuzz_require(tok != NULL, err.msg);
    t2_free(path);
    return tok;
}

static void setup(void) {
    bytelevel = load_fixture("bytelevel");
    llama2 = load_fixture("chat_llama2");
    tok_path = t2_fuzz_path("tokenizer.json");
    config_path = t2_fuzz_path("tokenizer_config.json");
}

/* Encodes text with tok; every id must be a token of tok. Returns the count (ids: t2_free). */
static int64_t encode_checked(const t2_tokenizer *tok, const char *text, size_t len,
                              int32_t **ids) {
    int64_t n = t2_tokenizer_encode(tok, text, len, ids);
    int64_t vocab = t2_tokenizer_vocab_size(tok);
    t2_fuzz_require(n >= 0, "negative id count");
    for (int64_t i = 0; i < n; i++)
        t2_fuzz_require((*ids)[i] >= 0 && (*ids)[i] < vocab, "encoded id outside the vocabulary");
    return n;
}

static void use_tokenizer(const t2_tokenizer *tok) {
    static const char *const texts[] = {
        "hello world", " The answer is 42.\n", "<s>[INST] hi [/INST]", "<|im_start|>user\n",
        "caf\xc3\xa9 \xe2\x96\x81 \xf0\x9f\x98\x80 \t\r\n", "\xff\xfe\x80 bad utf-8", "",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int32_t *ids = NULL;
        int64_t n = encode_checked(tok, texts[i], strlen(texts[i]), &ids);
        size_t len = 0;
        t2_free(t2_tokenizer_decode(tok, ids, n, &len));
        t2_free(ids);
    }
    int64_t vocab = t2_tokenizer_vocab_size(tok);
    size_t len = 0;
    for (int32_t id = -1; id <= vocab && id < 1024; id++) t2_tokenizer_token_bytes(tok, id, &len);
    t2_tokenizer_token_id(tok, "<s>");
    t2_tokenizer_bos_id(tok);
    t2_tokenizer_template_bos(tok);
    t2_tokenizer_template_eos(tok);
}

/* The config against one tokenizer: its BOS/EOS and the prompt encoder under "auto". */
static void use_config(const t2_tokenizer_config *c, const t2_tokenizer *tok) {
    t2_error err = {{0}};
    int32_t bos, eos;
    t2_tokenizer_config_added_ids(c, tok, &bos, &eos, &err);
    char system[] = "Be brief.";
    t2_prompt_settings settings = t2_prompt_settings_default();
    for (int with_system = 0; with_system < 2; with_system++) {
        settings.system = with_system ? system : NULL;
        t2_prompt_encoder e;
        if (t2_prompt_encoder_init(&e, tok, c, &settings, &err) == 0) {
            int32_t *ids = NULL;
            int64_t n = t2_prompt_encoder_encode(&e, "What is 2 + 3?", &ids);
            int64_t vocab = t2_tokenizer_vocab_size(tok);
            for (int64_t i = 0; i < n; i++)
                t2_fuzz_require(ids[i] >= 0 && ids[i] < vocab, "prompt id outside the vocabulary");
            t2_free(ids);
            t2_free(t2_prompt_encoder_text(&e, "What is 2 + 3?"));
        }
        t2_prompt_encoder_free(&e);
    }
}

static void use_template(const t2_tokenizer_config *c) {
    t2_error err = {{0}};
    const char *family = t2_prompt_format_detect(c->chat_template, "tokenizer_config.json", &err);
    char *default_system = t2_prompt_format_default_system(c->chat_template);
    if (family != NULL) {
        const t2_chat_message msgs[] = {{"system", "Be brief."}, {"user", " Hi "},
                                        {"assistant", "Hello."}, {"user", "2 + 3?"}};
        t2_chat_tokens tokens = {c->bos_token, c->eos_token, default_system};
        for (int n = 1; n <= 4; n++) t2_free(t2_prompt_format_render(family, msgs, n, 1, &tokens, &err));
        t2_prompt_format_check_tokens(family, llama2, "tokenizer.json", &err);
        t2_prompt_format_stop_strings(family);
    }
    t2_free(default_system);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (bytelevel == NULL) setup();
    t2_error err = {{0}};

    t2_fuzz_write(tok_path, data, size);
    t2_tokenizer *tok = t2_tokenizer_load(tok_path, &err);
    if (tok != NULL) use_tokenizer(tok);

    t2_fuzz_write(config_path, data, size);
    t2_tokenizer_config c;
    if (t2_tokenizer_config_load(&c, config_path, &err) == 0) {
        use_template(&c);
        use_config(&c, bytelevel);
        use_config(&c, llama2);
        if (tok != NULL) use_config(&c, tok);
    }
    t2_tokenizer_config_free(&c);
    t2_tokenizer_free(tok);

    size_t text_len = size < TEXT_MAX ? size : TEXT_MAX;
    int32_t *ids = NULL;
    int64_t n = encode_checked(bytelevel, (const char *)data, text_len, &ids);
    size_t len = 0;
    char *back = t2_tokenizer_decode(bytelevel, ids, n, &len);
    t2_fuzz_require(len == text_len && (text_len == 0 || memcmp(back, data, text_len) == 0),
                    "byte-level decode(encode(text)) differs from text");
    t2_free(back);
    t2_free(ids);
    ids = NULL;
    encode_checked(llama2, (const char *)data, text_len, &ids);
    t2_free(ids);
    return 0;
}

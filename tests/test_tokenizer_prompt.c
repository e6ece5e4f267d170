/* Prompt formats (model/prompt_format.h): the exact strings of each family, the stop strings,
 * the unknown-name error, and that a formatted Llama 3 prompt keeps its special tokens whole
 * through the llama3 fixture tokenizer. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "model/prompt_format.h"
#include "model/tokenizer.h"

static void check_format(const char *name, const char *system, const char *want) {
    t2_error err = {{0}};
    char *got = t2_prompt_format_apply(name, system, "What is 2+2?", &err);
    CHECK(got != NULL && strcmp(got, want) == 0, "%s (system %s): got '%s'", name,
          system ? system : "none", got ? got : err.msg);
    t2_free(got);
}

static void test_formats(void) {
    check_format("llama3", NULL,
                 "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?"
                 "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    check_format("llama3", "Be brief.",
                 "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief."
                 "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?"
                 "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    check_format("mistral", NULL, "<s>[INST] What is 2+2? [/INST]");
    check_format("mistral", "Be brief.", "<s>[INST] Be brief.\n\nWhat is 2+2? [/INST]");
    check_format("chatml", "",
                 "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n");
    check_format("chatml", "Be brief.",
                 "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?"
                 "<|im_end|>\n<|im_start|>assistant\n");
    check_format("plain", NULL, "What is 2+2?");
    check_format("plain", "Be brief.", "Be brief.\n\nWhat is 2+2?");

    t2_error err = {{0}};
    CHECK(t2_prompt_format_apply("alpaca", NULL, "hi", &err) == NULL &&
              strcmp(err.msg, "prompt format 'alpaca' is not known; expected one of llama3, "
                              "mistral, chatml, plain") == 0,
          "unknown format: '%s'", err.msg);
    const char *const *stop = t2_prompt_format_stop_strings("llama3");
    CHECK(stop && stop[0] && strcmp(stop[0], "<|eot_id|>") == 0 && stop[1] &&
              strcmp(stop[1], "<|end_of_text|>") == 0 && stop[2] == NULL,
          "llama3 stop strings");
    stop = t2_prompt_format_stop_strings("mistral");
    CHECK(stop && stop[0] && strcmp(stop[0], "</s>") == 0 && stop[1] == NULL, "mistral stops");
    stop = t2_prompt_format_stop_strings("chatml");
    CHECK(stop && stop[0] && strcmp(stop[0], "<|im_end|>") == 0, "chatml stops");
    stop = t2_prompt_format_stop_strings("plain");
    CHECK(stop && stop[0] == NULL, "plain has no stop strings");
    CHECK(t2_prompt_format_stop_strings("alpaca") == NULL, "unknown name has no stop list");
    const char *const *names = t2_prompt_format_names();
    int n = 0;
    while (names[n] != NULL) CHECK(t2_prompt_format_stop_strings(names[n++]) != NULL, "name");
    CHECK(n == 4, "%d names", n);
}

/* The formatted prompt's special tokens become single ids (fixture: 300 <|begin_of_text|>,
 * 302 <|eot_id|>; <|start_header_id|> is not in that fixture, so it stays text). */
static void test_with_tokenizer(void) {
    char *path = t2_check_source_path("tests/data/tokenizers/llama3/tokenizer.json");
    t2_error err = {{0}};
    t2_tokenizer *tok = t2_tokenizer_load(path, &err);
    t2_free(path);
    CHECK(tok != NULL, "%s", err.msg);
    if (tok == NULL) return;
    /* with a system message: two <|eot_id|> */
    char *prompt = t2_prompt_format_apply("llama3", "Be brief.", "hi", &err);
    int32_t *ids;
    int64_t n = t2_tokenizer_encode(tok, prompt, strlen(prompt), &ids);
    int n_eot = 0;
    for (int64_t i = 0; i < n; i++) n_eot += ids[i] == 302;
    CHECK(n > 0 && ids[0] == 300 && n_eot == 2, "llama3 prompt: first id %d, %d <|eot_id|>",
          n > 0 ? ids[0] : -1, n_eot);
    size_t len;
    char *back = t2_tokenizer_decode(tok, ids, n, &len);
    CHECK(len == strlen(prompt) && memcmp(back, prompt, len) == 0, "prompt round trip");
    t2_free(back);
    t2_free(ids);
    t2_free(prompt);
    t2_tokenizer_free(tok);
}

int main(void) {
    test_formats();
    test_with_tokenizer();
    return t2_check_exit_code();
}

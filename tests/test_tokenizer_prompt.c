/* Prompt formats (model/prompt_format.h) on hand-written strings: each family's rendering
 * (worked out by hand from the real templates, whose machine-rendered goldens are in
 * test_chat_template.c), Python-strip white space, the conversations the templates refuse,
 * family detection from template texts (recognised, refused, plain), the ChatML default
 * system message, the stop strings and names. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "model/prompt_format.h"

static const t2_chat_tokens llama_tokens = {"<s>", "</s>", NULL};

static void check_render(const char *name, const t2_chat_message *msgs, int n, int gen,
                         const t2_chat_tokens *tk, const char *want) {
    t2_error err = {{0}};
    char *got = t2_prompt_format_render(name, msgs, n, gen, tk, &err);
    CHECK(got != NULL && strcmp(got, want) == 0, "%s: got '%s' want '%s'", name,
          got ? got : err.msg, want);
    t2_free(got);
}

static void check_render_error(const char *name, const t2_chat_message *msgs, int n,
                               const char *want) {
    t2_error err = {{0}};
    char *got = t2_prompt_format_render(name, msgs, n, 1, &llama_tokens, &err);
    CHECK(got == NULL && strstr(err.msg, want) != NULL, "%s: expected error '%s', got '%s'",
          name, want, got ? got : err.msg);
    t2_free(got);
}

static void test_render(void) {
    /* U+3000 (ideographic space) and U+00A0 are white space to Python's strip */
    const t2_chat_message conv[] = {{"system", "Be brief."},
                                    {"user", "\xe3\x80\x80 hi \xc2\xa0"},
                                    {"assistant", " yo "},
                                    {"user", "bye"}};
    t2_chat_tokens l3 = {"<|begin_of_text|>", "<|end_of_text|>", NULL};
    check_render("llama3", conv, 4, 1, &l3,
                 "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief."
                 "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\nyo<|eot_id|>"
                 "<|start_header_id|>user<|end_header_id|>\n\nbye<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\n");
    check_render("llama3", conv + 3, 1, 0, &l3,
                 "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nbye<|eot_id|>");
    check_render("llama2", conv, 4, 1, &llama_tokens,
                 "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n\xe3\x80\x80 hi [/INST] yo </s>"
                 "<s>[INST] bye [/INST]");
    check_render("mistral", conv, 4, 1, &llama_tokens,
                 "<s>[INST] \xe3\x80\x80 hi \xc2\xa0[/INST] yo</s>[INST] Be brief.\n\nbye[/INST]");
    /* the system message goes with the last message only when that is a user turn */
    check_render("mistral", conv, 3, 1, &llama_tokens,
                 "<s>[INST] \xe3\x80\x80 hi \xc2\xa0[/INST] yo</s>");
    t2_chat_tokens qwen = {NULL, NULL, "Default."};
    check_render("chatml", conv + 3, 1, 1, &qwen,
                 "<|im_start|>system\nDefault.<|im_end|>\n<|im_start|>user\nbye<|im_end|>\n"
                 "<|im_start|>assistant\n");
    check_render("chatml", conv, 2, 0, &qwen,
                 "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n\xe3\x80\x80 hi "
                 "\xc2\xa0<|im_end|>\n");
    check_render("chatml", conv + 3, 1, 1, NULL,
                 "<|im_start|>user\nbye<|im_end|>\n<|im_start|>assistant\n");
    check_render("plain", conv, 2, 1, NULL, "Be brief.\n\n\xe3\x80\x80 hi \xc2\xa0");
    /* all white space strips to nothing */
    const t2_chat_message blank[] = {{"user", " \t\n "}};
    check_render("llama2", blank, 1, 1, &llama_tokens, "<s>[INST]  [/INST]");

    const t2_chat_message two_users[] = {{"user", "a"}, {"user", "b"}};
    check_render_error("llama2", two_users, 2, "roles must alternate");
    check_render_error("mistral", two_users, 2, "roles must alternate");
    const t2_chat_message late_system[] = {{"user", "a"}, {"assistant", "b"}, {"system", "c"}};
    check_render_error("mistral", late_system, 3, "roles must alternate");
    const t2_chat_message tool[] = {{"tool", "x"}};
    check_render_error("chatml", tool, 1,
                       "message 0 has role 'tool'; expected system, user or assistant");
    check_render_error("alpaca", conv, 1, "prompt format 'alpaca' is not known; expected one "
                       "of plain, llama3, llama2, mistral, chatml");
}

static void check_detect(const char *template_text, const char *want) {
    t2_error err = {{0}};
    const char *got = t2_prompt_format_detect(template_text, "cfg.json", &err);
    if (want == NULL)
        CHECK(got == NULL && strncmp(err.msg, "cfg.json: chat_template is not one t2 "
                                     "recognises (", 39) == 0 &&
                  strstr(err.msg, "set prompt_format to plain or one of llama3, llama2, "
                         "mistral, chatml") != NULL,
              "expected a refusal, got %s / '%s'", got ? got : "NULL", err.msg);
    else
        CHECK(got != NULL && strcmp(got, want) == 0, "detect: got %s (%s) want %s",
              got ? got : "NULL", err.msg, want);
}

static void test_detect(void) {
    check_detect(NULL, "plain");
    check_detect("{% for message in messages %}{% set content = '<|start_header_id|>' + "
                 "message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
                 "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content "
                 "%}{% endif %}{{ content }}{% endfor %}", "llama3");
    /* Llama 3.1 / 3.2: a system header with dates t2 does not write */
    check_detect("{{- bos_token }}{{- \"Cutting Knowledge Date: December 2023\\n\" }}"
                 "<|start_header_id|>{{ message['content'] | trim }}<|eot_id|>", NULL);
    check_detect("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                 "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if "
                 "add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}", "chatml");
    check_detect("{{ bos_token }}{% for m in messages %}<|im_start|>{{ m.content }}<|im_end|>"
                 "{% endfor %}", NULL);
    /* Mistral v0.1 / v0.2: ' [/INST]' with a space, no system message */
    check_detect("{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' "
                 "%}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == "
                 "'assistant' %}{{ message['content'] + eos_token}}{% endif %}{% endfor %}", NULL);
    check_detect("{% for message in messages %}<start_of_turn>{{ message['content'] }}"
                 "<end_of_turn>{% endfor %}", NULL);
}

static void test_default_system(void) {
    char *s = t2_prompt_format_default_system(
        "{{- '<|im_start|>system\\n' }}{{- '<|im_start|>system\\n' + messages[0]['content'] + "
        "'<|im_end|>\\n' }}{% else %}{{- '<|im_start|>system\\nYou are \\'Q\\'.\\nHi<|im_end|>"
        "\\n' }}");
    CHECK(s != NULL && strcmp(s, "You are 'Q'.\nHi") == 0, "default system: '%s'",
          s ? s : "NULL");
    t2_free(s);
    s = t2_prompt_format_default_system("{{'<|im_start|>' + message['role'] + '\\n'}}");
    CHECK(s == NULL, "no default system expected, got '%s'", s);
    t2_free(s);
    CHECK(t2_prompt_format_default_system(NULL) == NULL, "NULL template");
}

static void test_lists(void) {
    const char *const *stop = t2_prompt_format_stop_strings("llama3");
    CHECK(stop && stop[0] && strcmp(stop[0], "<|eot_id|>") == 0 && stop[1] &&
              strcmp(stop[1], "<|end_of_text|>") == 0 && stop[2] == NULL,
          "llama3 stop strings");
    stop = t2_prompt_format_stop_strings("mistral");
    CHECK(stop && stop[0] && strcmp(stop[0], "</s>") == 0 && stop[1] == NULL, "mistral stops");
    stop = t2_prompt_format_stop_strings("llama2");
    CHECK(stop && stop[0] && strcmp(stop[0], "</s>") == 0 && stop[1] == NULL, "llama2 stops");
    stop = t2_prompt_format_stop_strings("chatml");
    CHECK(stop && stop[0] && strcmp(stop[0], "<|im_end|>") == 0 && stop[1] &&
              strcmp(stop[1], "<|endoftext|>") == 0, "chatml stops");
    stop = t2_prompt_format_stop_strings("plain");
    CHECK(stop && stop[0] == NULL, "plain has no stop strings");
    CHECK(t2_prompt_format_stop_strings("alpaca") == NULL, "unknown name has no stop list");
    CHECK(t2_prompt_format_find("auto") == NULL, "auto is not a format");
    const char *const *names = t2_prompt_format_names();
    int n = 0;
    while (names[n] != NULL) {
        CHECK(t2_prompt_format_find(names[n]) == names[n], "%s", names[n]);
        CHECK(t2_prompt_format_stop_strings(names[n++]) != NULL, "name");
    }
    CHECK(n == 5, "%d names", n);
}

int main(void) {
    test_render();
    test_detect();
    test_default_system();
    test_lists();
    return t2_check_exit_code();
}

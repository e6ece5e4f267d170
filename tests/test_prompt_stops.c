/* Where a task's completion ends (rl/evaluate.h t2_evaluate_stop_strings): in the plain format
 * at the task's terminator ("\n"; mbpp's closing code fence), in a chat format at the format's
 * end-of-turn markers whatever the task; and t2_evaluate_use_prompt gives a dataset task's own
 * system message only when the settings have none. Expected values are written by hand from
 * docs/tokenizer.md's table of formats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/prompt_encoder.h"
#include "model/tokenizer.h"
#include "model/tokenizer_config.h"
#include "rl/evaluate.h"
#include "rl/task.h"

static t2_tokenizer *load_fixture(const char *name, t2_tokenizer_config *tc) {
    char rel[256];
    snprintf(rel, sizeof rel, "tests/data/tokenizers/%s/tokenizer.json", name);
    char *path = t2_check_source_path(rel);
    t2_error err = {{0}};
    t2_tokenizer *tok = t2_tokenizer_load(path, &err);
    CHECK(tok != NULL, "%s", err.msg);
    free(path);
    snprintf(rel, sizeof rel, "tests/data/tokenizers/%s/tokenizer_config.json", name);
    path = t2_check_source_path(rel);
    CHECK(t2_tokenizer_config_load(tc, path, &err) == 0, "%s", err.msg);
    free(path);
    return tok;
}

static void check_stops(const t2_prompt_encoder *e, const char *terminator,
                        const char *const *want) {
    const char *stops[T2_PROMPT_ENCODER_MAX_STOPS + 1];
    int n = t2_evaluate_stop_strings(e, terminator, stops), n_want = 0;
    while (want[n_want] != NULL) n_want++;
    CHECK(n == n_want, "format %s: %d stop strings; expected %d", e->format, n, n_want);
    for (int i = 0; i < n && i < n_want; i++)
        CHECK(strcmp(stops[i], want[i]) == 0, "format %s stop %d: '%s'; expected '%s'",
              e->format, i, stops[i], want[i]);
}

int main(void) {
    t2_tokenizer_config tc;
    t2_tokenizer *tok = load_fixture("chat_qwen25", &tc);
    t2_error err = {{0}};
    t2_prompt_encoder plain, chat;
    t2_prompt_settings s = t2_prompt_settings_default();
    s.format = "plain";
    CHECK(t2_prompt_encoder_init(&plain, tok, &tc, &s, &err) == 0, "%s", err.msg);
    s.format = "auto";
    CHECK(t2_prompt_encoder_init(&chat, tok, &tc, &s, &err) == 0, "%s", err.msg);
    CHECK(strcmp(chat.format, "chatml") == 0, "auto on the Qwen2.5 template: %s", chat.format);

    static const char *const newline[] = {"\n", NULL};
    static const char *const fence[] = {"\n```\n", NULL};
    static const char *const chatml[] = {"<|im_end|>", "<|endoftext|>", NULL};
    check_stops(&plain, NULL, newline);
    check_stops(&plain, "\n", newline);
    check_stops(&plain, T2_TASK_MBPP_TERMINATOR, fence);
    check_stops(&chat, NULL, chatml);
    check_stops(&chat, T2_TASK_MBPP_TERMINATOR, chatml);

    /* the tasks' terminators */
    char *mbpp_path = t2_check_source_path("tests/data/tasks/mbpp.jsonl");
    t2_task_options o = {.data_path = mbpp_path};
    t2_task *mbpp = t2_task_open("mbpp", &o, &err);
    CHECK(mbpp != NULL, "%s", err.msg);
    t2_task_options g = {.seed = 1};
    t2_task *math = t2_task_open("math", &g, &err);
    CHECK(math != NULL, "%s", err.msg);
    if (mbpp != NULL && math != NULL) {
        CHECK(strcmp(t2_task_terminator(mbpp), "\n```\n") == 0, "mbpp terminator");
        CHECK(strcmp(t2_task_terminator(math), "\n") == 0, "math terminator");
        CHECK(t2_task_default_system(math) == NULL, "math has no system message");
        CHECK(t2_task_default_system(mbpp) != NULL, "mbpp has the paper's system message");
    }
    t2_task_free(mbpp);
    t2_task_free(math);
    free(mbpp_path);
    t2_prompt_encoder_free(&plain);
    t2_prompt_encoder_free(&chat);
    t2_tokenizer_config_free(&tc);
    t2_tokenizer_free(tok);
    return t2_check_exit_code();
}

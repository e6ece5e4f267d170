/* Task prompts (rl/task_template.h, rl/task.h): the template syntax and its errors, each
 * dataset task's default prompt and system message on the fixture rows of tests/data/tasks
 * (the paper's prompts, written out here by hand), the built-in tasks' unchanged
 * "Question: ...\nAnswer:" prompt and corpus text, custom templates through t2_task_options,
 * bad templates refused by t2_task_open (each kind, one exact line), and the no-marker
 * fallback of gsm8k and arc against its absence for qa and the built-in tasks. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "rl/task.h"
#include "rl/task_template.h"

static const char GSM8K_SYSTEM[] =
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request.\n\n";
static const char ARC_SYSTEM[] =
    "The following are multiple choice questions (with answers). Think step by step and then "
    "finish your answer with \"the answer is (X)\" where X is the correct letter choice.";

static void expect_render(const char *tmpl, const char *want) {
    static const char *const names[] = {"question", "tests"};
    static const char *const values[] = {"Q{x}", "assert f(1) == 2"};
    t2_error err = {{0}};
    CHECK(t2_task_template_check(tmpl, names, 2, "t", &err) == 0, "check '%s': %s", tmpl,
          err.msg);
    if (err.msg[0] != '\0') return;
    char *got = t2_task_template_render(tmpl, names, values, 2);
    CHECK(strcmp(got, want) == 0, "render '%s': got '%s', want '%s'", tmpl, got, want);
    t2_free(got);
}

static void expect_template_error(const char *tmpl, int n_names, const char *want) {
    static const char *const names[] = {"question", "choices"};
    t2_error err = {{0}};
    int rc = t2_task_template_check(tmpl, names, n_names, "prompt_template", &err);
    CHECK(rc == -1 && strcmp(err.msg, want) == 0, "check '%s': got %d '%s', want '%s'", tmpl, rc,
          err.msg, want);
}

static void templates(void) {
    expect_render("{question}\n{tests}", "Q{x}\nassert f(1) == 2");
    /* literal braces; a value's braces are not placeholders; a placeholder may repeat */
    expect_render("{{{question}}} {tests} {{tests}}", "{Q{x}} assert f(1) == 2 {tests}");
    expect_render("{tests}{question}{question}", "assert f(1) == 2Q{x}Q{x}");
    expect_render("\xc3\xa9 {question} {tests} }}{{", "\xc3\xa9 Q{x} assert f(1) == 2 }{");

    expect_template_error("Question: {question", 1,
                          "prompt_template: '{' at byte 10 is never closed; expected a "
                          "placeholder {question} or '{{' for a literal brace");
    expect_template_error("{question} }", 1,
                          "prompt_template: '}' at byte 11 closes no placeholder; expected '}}' "
                          "for a literal brace");
    expect_template_error("{question} {answer}", 2,
                          "prompt_template: unknown placeholder '{answer}' at byte 11; expected "
                          "one of {question} and {choices} (write '{{' and '}}' for literal "
                          "braces)");
    expect_template_error("{Question}", 1,
                          "prompt_template: unknown placeholder '{Question}' at byte 0; expected "
                          "{question} (write '{{' and '}}' for literal braces)");
    expect_template_error("{ question }", 1,
                          "prompt_template: unknown placeholder '{ question }' at byte 0; "
                          "expected {question} (write '{{' and '}}' for literal braces)");
    expect_template_error("{}{question}", 1,
                          "prompt_template: unknown placeholder '{}' at byte 0; expected "
                          "{question} (write '{{' and '}}' for literal braces)");
    expect_template_error("{question}", 2,
                          "prompt_template: the template has no {choices}; expected a template "
                          "holding {question} and {choices}");
    expect_template_error("{{question}}", 1,
                          "prompt_template: the template has no {question}; expected a template "
                          "holding {question}");
    expect_template_error("", 1,
                          "prompt_template: the template has no {question}; expected a template "
                          "holding {question}");
}

static t2_task *open_fixture(const char *task, const char *file, const char *tmpl) {
    char rel[256];
    snprintf(rel, sizeof rel, "tests/data/tasks/%s", file);
    char *path = t2_check_source_path(rel);
    t2_task_options o = {.data_path = path, .prompt_template = tmpl};
    t2_error err = {{0}};
    t2_task *t = t2_task_open(task, &o, &err);
    CHECK(t != NULL, "open %s %s: %s", task, file, err.msg);
    t2_free(path);
    return t;
}

static void expect_prompt(const t2_task *task, int64_t index, const char *want) {
    t2_task_sample s = {0};
    t2_task_get(task, T2_TASK_SPLIT_TEST, index, &s);
    CHECK(strcmp(s.prompt, want) == 0, "%s sample %lld: prompt '%s', want '%s'",
          t2_task_info_of(task)->name, (long long)index, s.prompt, want);
    t2_task_sample_free(&s);
}

/* The reward of completion on sample index. */
static int reward(const t2_task *task, int64_t index, const char *completion) {
    t2_task_sample s = {0};
    t2_task_get(task, T2_TASK_SPLIT_TEST, index, &s);
    int r = t2_task_reward(&s, completion);
    t2_task_sample_free(&s);
    return r;
}

static void gsm8k(void) {
    t2_task *t = open_fixture("gsm8k", "gsm8k.jsonl", NULL);
    if (t == NULL) return;
    expect_prompt(t, 0, "Tom has 7 apples. He buys 5 more and gives away 3. How many apples "
                        "does Tom have?");
    expect_prompt(t, 1, "A shop sells 250 pens a day. How many pens does it sell in 4 days?");
    CHECK(strcmp(t2_task_prompt_template(t), "{question}") == 0, "gsm8k template '%s'",
          t2_task_prompt_template(t));
    CHECK(t2_task_default_system(t) != NULL &&
              strcmp(t2_task_default_system(t), GSM8K_SYSTEM) == 0,
          "gsm8k system '%s'", t2_task_default_system(t));
    /* the corpus text is the prompt and the unchanged worked answer */
    size_t len;
    char *text = t2_task_corpus_text(t, T2_TASK_SPLIT_TEST, 4, &len);
    static const char want[] = "How many legs do 3 cats have? 3 * 4 = 12 The answer is 12.\n";
    CHECK(strcmp(text, want) == 0 && len == strlen(want), "gsm8k corpus '%s'", text);
    t2_free(text);
    /* sample 0's answer is 9: without a marker the last number counts, with one the marker */
    CHECK(reward(t, 0, "Tom has 7 + 5 = 12, then 12 - 3 = 9 apples.") == 1, "last number 9");
    CHECK(reward(t, 0, "9 apples? No: 12 apples.") == -1, "last number 12");
    CHECK(reward(t, 0, "The answer is 12. He keeps 9.") == -1, "a marker beats the fallback");
    CHECK(reward(t, 0, "\\boxed{9} in the end 12") == 1, "a \\boxed marker");
    CHECK(reward(t, 1, "It sells $1,000 worth.") == 1, "last number 1,000");
    CHECK(reward(t, 0, "nine") == -1, "no number at all");
    t2_task_sample s = {0};
    t2_task_get(t, T2_TASK_SPLIT_TEST, 0, &s);
    char got[T2_ANSWER_MAX];
    CHECK(s.fallback == 1 && t2_task_answer(&s, "so 12 - 3 = 9.", got) == 1 &&
              strcmp(got, "9") == 0,
          "t2_task_answer with the fallback: '%s'", got);
    CHECK(t2_task_answer(&s, "The answer is unknown.\nSo 9", got) == 0 && got[0] == '\0',
          "a marker without an answer is no answer, not the fallback: '%s'", got);
    t2_task_sample_free(&s);
    t2_task_free(t);

    /* a custom template, literal braces included */
    t = open_fixture("gsm8k", "gsm8k.jsonl",
                     "Solve step by step, then write \"#### <n>\" {{n}}.\n\n{question}");
    if (t == NULL) return;
    expect_prompt(t, 4, "Solve step by step, then write \"#### <n>\" {n}.\n\nHow many legs do 3 "
                        "cats have?");
    CHECK(strcmp(t2_task_default_system(t), GSM8K_SYSTEM) == 0,
          "the default system does not depend on the template");
    t2_task_free(t);
}

static void arc(void) {
    t2_task *t = open_fixture("arc", "arc_ai2.jsonl", NULL);
    if (t == NULL) return;
    expect_prompt(t, 0, "Which gas do plants take in?\nOptions:\nA. oxygen\nB. carbon dioxide\n"
                        "C. helium\nD. neon\n");
    expect_prompt(t, 1, "Which is a mammal?\nOptions:\n1. whale\n2. shark\n3. trout\n4. squid\n");
    CHECK(strcmp(t2_task_default_system(t), ARC_SYSTEM) == 0, "arc system '%s'",
          t2_task_default_system(t));
    /* sample 0's answer is B */
    CHECK(reward(t, 0, "Plants take in carbon dioxide, so the answer is (B).") == 1, "marker");
    CHECK(reward(t, 0, "Plants take in carbon dioxide: **B**") == 1, "fallback letter");
    CHECK(reward(t, 0, "B is right, not A") == -1, "the last standalone letter is A");
    CHECK(reward(t, 0, "the answer is carbon dioxide. B") == -1, "marker without a label");
    CHECK(reward(t, 1, "A whale: 1") == 1, "numeric label by the fallback");
    t2_task_free(t);

    t = open_fixture("arc", "arc_hf.jsonl", "Question: {question}\n{choices}\nAnswer:");
    if (t == NULL) return;
    expect_prompt(t, 2, "Question: What melts ice fastest?\nA. sunlight\nB. shade\nC. wind\n"
                        "Answer:");
    t2_task_free(t);
}

static void qa(void) {
    t2_task *t = open_fixture("qa", "qa.jsonl", NULL);
    if (t == NULL) return;
    expect_prompt(t, 0, "Question: What is the capital of France?\nAnswer:");
    expect_prompt(t, 2, "Question: Which is even? A) 3 B) 4\nAnswer:");
    CHECK(t2_task_default_system(t) == NULL, "qa has no system message");
    CHECK(reward(t, 0, "The answer is Paris.") == 1 && reward(t, 0, "Paris") == -1,
          "qa: no fallback");
    CHECK(reward(t, 1, "6 times 7 is 42") == -1, "qa numeric: no fallback");
    t2_task_free(t);
    t = open_fixture("qa", "qa.jsonl", "<q>{question}</q>");
    if (t) expect_prompt(t, 1, "<q>What is 6 times 7?</q>");
    t2_task_free(t);
}

/* Built-in tasks keep "Question: <question>\nAnswer:" and their corpus text by default; a
 * template applies to them as well. Their question is the sample's key for these tasks. */
static void builtin(void) {
    static const char *const names[] = {"math", "code", "arith_code"};
    for (int k = 0; k < 3; k++) {
        t2_error err = {{0}};
        t2_task *plain = t2_task_open(names[k], &(t2_task_options){.seed = 1}, &err);
        t2_task *custom = t2_task_open(
            names[k], &(t2_task_options){.seed = 1, .prompt_template = "Q: {question}\nA:"}, &err);
        CHECK(plain != NULL && custom != NULL, "%s: %s", names[k], err.msg);
        if (plain == NULL || custom == NULL) {
            t2_task_free(plain);
            t2_task_free(custom);
            continue;
        }
        CHECK(t2_task_default_system(plain) == NULL, "%s: no system message", names[k]);
        for (int64_t i = 0; i < 20; i++) {
            t2_task_sample s = {0}, c = {0};
            t2_task_get(plain, T2_TASK_SPLIT_TEST, i, &s);
            t2_task_get(custom, T2_TASK_SPLIT_TEST, i, &c);
            char want[1200], want_custom[1200], corpus[2400];
            snprintf(want, sizeof want, "Question: %s\nAnswer:", s.key);
            snprintf(want_custom, sizeof want_custom, "Q: %s\nA:", s.key);
            snprintf(corpus, sizeof corpus, "Question: %s\nAnswer:%s", s.key, s.worked);
            size_t len;
            char *text = t2_task_corpus_text(plain, T2_TASK_SPLIT_TEST, i, &len);
            CHECK(strcmp(s.prompt, want) == 0 && strcmp(c.prompt, want_custom) == 0 &&
                      strcmp(text, corpus) == 0 && len == strlen(corpus),
                  "%s %lld: '%s' / '%s' / '%s'", names[k], (long long)i, s.prompt, c.prompt,
                  text);
            CHECK(strcmp(s.answer, c.answer) == 0 && strcmp(s.worked, c.worked) == 0 &&
                      s.fallback == 0,
                  "%s %lld: a template changes only the prompt", names[k], (long long)i);
            t2_free(text);
            t2_task_sample_free(&s);
            t2_task_sample_free(&c);
        }
        t2_task_free(plain);
        t2_task_free(custom);
    }
    /* without the fallback a completion with no marker is no answer */
    t2_error err = {{0}};
    t2_task *math = t2_task_open("math", &(t2_task_options){.seed = 1}, &err);
    if (math == NULL) return;
    t2_task_sample s = {0};
    t2_task_get(math, T2_TASK_SPLIT_TEST, 0, &s);
    char bare[T2_ANSWER_MAX + 8];
    snprintf(bare, sizeof bare, "%s", s.answer);
    CHECK(t2_task_reward(&s, bare) == -1, "math: a bare answer '%s' earns -1", bare);
    t2_task_sample_free(&s);
    t2_task_free(math);
}

static void expect_open_error(const char *task, const char *tmpl, const char *want) {
    char *path = t2_check_source_path("tests/data/tasks/arc_hf.jsonl");
    t2_task_options o = {.prompt_template = tmpl};
    if (strcmp(task, "arc") == 0) o.data_path = path;
    t2_error err = {{0}};
    t2_task *t = t2_task_open(task, &o, &err);
    CHECK(t == NULL && strcmp(err.msg, want) == 0, "open %s with '%s': got '%s', want '%s'", task,
          tmpl, err.msg, want);
    t2_task_free(t);
    t2_free(path);
}

static void bad_templates(void) {
    expect_open_error("arc", "{question}",
                      "prompt_template of task 'arc': the template has no {choices}; expected a "
                      "template holding {question} and {choices}");
    expect_open_error("arc", "{question} {choice}",
                      "prompt_template of task 'arc': unknown placeholder '{choice}' at byte 11; "
                      "expected one of {question} and {choices} (write '{{' and '}}' for literal "
                      "braces)");
    expect_open_error("math", "{choices}",
                      "prompt_template of task 'math': unknown placeholder '{choices}' at byte 0; "
                      "expected {question} (write '{{' and '}}' for literal braces)");
    expect_open_error("math", "Question: {question\nAnswer:",
                      "prompt_template of task 'math': '{' at byte 10 is never closed; expected a "
                      "placeholder {question} or '{{' for a literal brace");
    expect_open_error("cls", "{question}}",
                      "prompt_template of task 'cls': '}' at byte 10 closes no placeholder; "
                      "expected '}}' for a literal brace");
    expect_open_error("reasoning", "",
                      "prompt_template of task 'reasoning': the template has no {question}; "
                      "expected a template holding {question}");
}

int main(void) {
    templates();
    gsm8k();
    arc();
    qa();
    builtin();
    bad_templates();
    return t2_check_exit_code();
}

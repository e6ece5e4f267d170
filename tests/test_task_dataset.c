/* Dataset tasks (gsm8k, arc, qa) on the hand-written files of tests/data/tasks and on
 * malformed files written here: what the samples hold, that both ARC layouts give the same
 * samples, that worked answers earn +1, ids, and the one-line "<file>:<line>: ..." errors. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "check.h"
#include "rl/task.h"

static t2_task *open_data(const char *task, const char *path, t2_error *err) {
    t2_task_options o = {path, 0, 0, 0, 0, NULL};
    return t2_task_open(task, &o, err);
}

static t2_task *open_fixture(const char *task, const char *file) {
    char rel[256];
    snprintf(rel, sizeof rel, "tests/data/tasks/%s", file);
    char *path = t2_check_source_path(rel);
    t2_error err = {{0}};
    t2_task *t = open_data(task, path, &err);
    CHECK(t != NULL, "open %s %s: %s", task, file, err.msg);
    t2_free(path);
    return t;
}

static void expect_sample(const t2_task *task, int64_t index, const char *id, const char *prompt,
                          const char *answer, const char *worked, t2_answer_match match) {
    t2_task_sample s = {0};
    t2_task_get(task, T2_TASK_SPLIT_TEST, index, &s);
    CHECK(strcmp(s.id, id) == 0, "sample %lld: id '%s', want '%s'", (long long)index, s.id, id);
    CHECK(prompt == NULL || strcmp(s.prompt, prompt) == 0, "sample %lld: prompt '%s', want '%s'",
          (long long)index, s.prompt, prompt);
    CHECK(strcmp(s.answer, answer) == 0, "sample %lld: answer '%s', want '%s'", (long long)index,
          s.answer, answer);
    CHECK(worked == NULL || strcmp(s.worked, worked) == 0, "sample %lld: worked '%s', want '%s'",
          (long long)index, s.worked, worked);
    CHECK(s.match == match && s.category == NULL, "sample %lld: match %s", (long long)index,
          t2_answer_match_name(s.match));
    CHECK(t2_task_reward(&s, s.worked) == 1, "sample %lld: worked answer earns -1",
          (long long)index);
    CHECK(t2_task_find_id(task, T2_TASK_SPLIT_TRAIN, id) == index, "id '%s' finds %lld", id,
          (long long)index);
    t2_task_sample_free(&s);
}

static void gsm8k(void) {
    t2_task *t = open_fixture("gsm8k", "gsm8k.jsonl");
    if (t == NULL) return;
    CHECK(t2_task_size(t, T2_TASK_SPLIT_TEST) == 5 && t2_task_size(t, T2_TASK_SPLIT_TRAIN) == 5,
          "5 records (a blank line skipped)");
    /* the paper's gsm8k prompt: the bare question (tests/test_task_prompt.c checks more) */
    expect_sample(t, 0, "0",
                  "Tom has 7 apples. He buys 5 more and gives away 3. How many apples does Tom "
                  "have?",
                  "9",
                  " Tom has 7 + 5 = 12 apples. Then he has 12 - 3 = 9 apples. The answer is 9.\n",
                  T2_ANSWER_MATCH_NUMERIC);
    expect_sample(t, 1, "1", NULL, "1000", " It sells 250 * 4 = 1000 pens. The answer is 1000.\n",
                  T2_ANSWER_MATCH_NUMERIC);
    /* ids are 0-based line numbers, the blank line 3 included */
    expect_sample(t, 2, "3", NULL, "10", " She saves 2.50 * 4 = $10. The answer is 10.\n",
                  T2_ANSWER_MATCH_NUMERIC);
    expect_sample(t, 3, "4", NULL, "-5", " 3 - 8 = -5 The answer is -5.\n",
                  T2_ANSWER_MATCH_NUMERIC);
    expect_sample(t, 4, "5", NULL, "12", " 3 * 4 = 12 The answer is 12.\n",
                  T2_ANSWER_MATCH_NUMERIC);
    t2_task_free(t);
}

static void arc(void) {
    t2_task *ai2 = open_fixture("arc", "arc_ai2.jsonl"), *hf = open_fixture("arc", "arc_hf.jsonl");
    if (ai2 == NULL || hf == NULL) {
        t2_task_free(ai2);
        t2_task_free(hf);
        return;
    }
    static const char *const ids[] = {"Mercury_1", "NYSED_2", "Mercury_3"};
    /* the paper's ARC prompt with the records' own labels */
    static const char *const prompts[] = {
        "Which gas do plants take in?\nOptions:\nA. oxygen\nB. carbon dioxide\nC. helium\n"
        "D. neon\n",
        "Which is a mammal?\nOptions:\n1. whale\n2. shark\n3. trout\n4. squid\n",
        "What melts ice fastest?\nOptions:\nA. sunlight\nB. shade\nC. wind\n",
    };
    static const char *const answers[] = {"B", "1", "A"};
    for (int layout = 0; layout < 2; layout++)
        for (int i = 0; i < 3; i++)
            expect_sample(layout ? hf : ai2, i, ids[i], prompts[i], answers[i], NULL,
                          T2_ANSWER_MATCH_CHOICE);
    t2_task_sample s = {0};
    t2_task_get(ai2, T2_TASK_SPLIT_TEST, 1, &s);
    CHECK(t2_task_reward(&s, "The answer is 1") == 1 && t2_task_reward(&s, "The answer is A") == -1,
          "numeric labels are matched as labels");
    t2_task_sample_free(&s);
    t2_task_free(ai2);
    t2_task_free(hf);
}

static void qa(void) {
    t2_task *t = open_fixture("qa", "qa.jsonl");
    if (t == NULL) return;
    expect_sample(t, 0, "capital", "Question: What is the capital of France?\nAnswer:", "Paris",
                  " The answer is Paris.\n", T2_ANSWER_MATCH_EXACT);
    expect_sample(t, 1, "7", NULL, "42", NULL, T2_ANSWER_MATCH_NUMERIC);
    expect_sample(t, 2, "2", NULL, "B", NULL, T2_ANSWER_MATCH_CHOICE);
    expect_sample(t, 3, "3", NULL, "tac", NULL, T2_ANSWER_MATCH_EXACT);
    expect_sample(t, 4, "4", NULL, "2.5", NULL, T2_ANSWER_MATCH_NUMERIC);
    CHECK(t2_task_find_id(t, T2_TASK_SPLIT_TEST, "8") == -1, "unknown id");
    t2_task_sample s = {0};
    t2_task_get(t, T2_TASK_SPLIT_TEST, 4, &s);
    CHECK(t2_task_reward(&s, "#### 2.500") == 1 && t2_task_reward(&s, "#### 2") == -1,
          "numeric qa matching");
    t2_task_sample_free(&s);
    t2_task_free(t);
}

/* Malformed fixture files: the error names the file and line. */
static void expect_fixture_error(const char *task, const char *file, const char *want) {
    char rel[256];
    snprintf(rel, sizeof rel, "tests/data/tasks/%s", file);
    char *path = t2_check_source_path(rel);
    t2_error err = {{0}};
    t2_task *t = open_data(task, path, &err);
    char full[512];
    snprintf(full, sizeof full, "%s:%s", path, want);
    CHECK(t == NULL && strstr(err.msg, full) != NULL, "%s: want '%s', got '%s'", file, full,
          err.msg);
    t2_task_free(t);
    t2_free(path);
}

/* A malformed file written here: the error starts "<path>:<line>: " and holds want. */
static void expect_error(const char *dir, const char *task, const char *content, int line,
                         const char *want) {
    static int n_files = 0;
    char path[512];
    snprintf(path, sizeof path, "%s/bad%d.jsonl", dir, n_files++);
    t2_error err = {{0}};
    CHECK(t2_file_write_atomic(path, content, strlen(content), &err) == 0, "%s", err.msg);
    t2_task *t = open_data(task, path, &err);
    char head[600];
    if (line > 0) snprintf(head, sizeof head, "%s:%d: ", path, line);
    else snprintf(head, sizeof head, "%s: ", path);
    CHECK(t == NULL && strncmp(err.msg, head, strlen(head)) == 0 && strstr(err.msg, want),
          "%s '%s': want '%s...%s', got '%s'", task, content, head, want, err.msg);
    t2_task_free(t);
    remove(path);
}

static void malformed(void) {
    expect_fixture_error("gsm8k", "gsm8k_bad_json.jsonl", "3: invalid JSON at column");
    expect_fixture_error("gsm8k", "gsm8k_no_marker.jsonl",
                         "3: key 'answer' has no final '#### <number>'");
    expect_fixture_error("arc", "arc_bad_key.jsonl",
                         "3: answerKey 'E' is not a choice label; expected one of AB");
    expect_fixture_error("qa", "qa_bad.jsonl", "2: key 'answer' is 'two'; expected a number");

    char *dir = t2_check_temp_dir("task-dataset");
    const char *g = "{\"question\": \"q\", \"answer\": \"a\\n#### 1\"}\n";
    char two[256];
    snprintf(two, sizeof two, "%s%s", g, "[1, 2]\n");
    expect_error(dir, "gsm8k", two, 2, "the line is an array; expected one JSON object per line");
    expect_error(dir, "gsm8k", "{\"answer\": \"#### 1\"}", 1, "key 'question' is missing");
    expect_error(dir, "gsm8k", "{\"question\": 3, \"answer\": \"#### 1\"}", 1,
                 "key 'question' is an integer; expected a string");
    expect_error(dir, "gsm8k", "{\"question\": \"q\", \"answer\": \"#### many\"}", 1,
                 "ends in '#### many', not a number");
    expect_error(dir, "gsm8k", "{\"question\": \"q\", \"answer\": \"#### 1\", \"question\": 2}",
                 1, "invalid JSON");
    expect_error(dir, "gsm8k", "{\"question\": \"q\xff\", \"answer\": \"#### 1\"}", 1,
                 "invalid JSON");
    expect_error(dir, "gsm8k", "\n\n  \n", 0, "no records; expected one JSON object per line");
    expect_error(dir, "gsm8k", "", 0, "no records");
    const char *ai2 = "{\"question\": {\"stem\": \"s\", \"choices\": [%s]}, \"answerKey\": \"A\"}";
    char buf[512];
    snprintf(buf, sizeof buf, ai2, "{\"text\": \"x\", \"label\": \"AB\"}, "
                                   "{\"text\": \"y\", \"label\": \"B\"}");
    expect_error(dir, "arc", buf, 1, "choice 1: its label is 'AB'; expected one letter or digit");
    snprintf(buf, sizeof buf, ai2, "{\"text\": \"x\", \"label\": \"A\"}, "
                                   "{\"text\": \"y\", \"label\": \"A\"}");
    expect_error(dir, "arc", buf, 1, "choice label 'A' appears twice");
    snprintf(buf, sizeof buf, ai2, "{\"text\": \"x\", \"label\": \"A\"}, {\"label\": \"B\"}");
    expect_error(dir, "arc", buf, 1, "choice 2: its text is missing; expected a string");
    snprintf(buf, sizeof buf, ai2, "{\"text\": \"x\", \"label\": \"A\"}");
    expect_error(dir, "arc", buf, 1, "1 choices; expected 2 to 26");
    expect_error(dir, "arc",
                 "{\"question\": {\"stem\": \"s\", \"choices\": 5}, \"answerKey\": \"A\"}", 1,
                 "key 'question.choices' is an integer");
    expect_error(dir, "arc", "{\"question\": \"s\", \"choices\": {\"text\": [\"x\", \"y\"], "
                 "\"label\": [\"A\"]}, \"answerKey\": \"A\"}", 1,
                 "key 'choices' is not an object of two arrays of equal length");
    expect_error(dir, "arc", "{\"question\": 4, \"answerKey\": \"A\"}", 1,
                 "key 'question' is an integer; expected an ARC record");
    expect_error(dir, "arc", "{\"question\": \"s\", \"choices\": {\"text\": [\"x\", \"y\"], "
                 "\"label\": [\"A\", \"B\"]}}", 1, "answerKey missing is not a choice label");
    expect_error(dir, "qa", "{\"answer\": \"x\"}", 1, "key 'prompt' is missing");
    expect_error(dir, "qa", "{\"prompt\": \"p\", \"answer\": \"x\", \"match\": \"fuzzy\"}", 1,
                 "key 'match' is 'fuzzy'; expected \"exact\", \"numeric\" or \"choice\"");
    expect_error(dir, "qa", "{\"prompt\": \"p\", \"answer\": [1]}", 1,
                 "key 'answer' is an array");
    expect_error(dir, "qa", "{\"prompt\": \"p\", \"answer\": \"AB\", \"match\": \"choice\"}", 1,
                 "expected one letter or digit (match \"choice\")");
    expect_error(dir, "qa", "{\"prompt\": \"p\", \"answer\": \"...\"}", 1,
                 "expected a non-empty text");
    expect_error(dir, "qa", "{\"prompt\": \"p\", \"answer\": \"x\", \"id\": {}}", 1,
                 "key 'id' is an object; expected a non-empty string or an integer");
    expect_error(dir, "qa", "{\"prompt\": \"p\", \"answer\": \"x\", \"id\": \"\"}", 1,
                 "key 'id' is empty");
    expect_error(dir, "qa", "{\"prompt\": \"p\", \"answer\": \"x\", \"id\": \"a\"}\n"
                 "{\"prompt\": \"q\", \"answer\": \"y\", \"id\": \"a\"}\n", 2,
                 "id 'a' was already used by record 1; expected unique ids");
    /* an id-less record whose line number is another record's id */
    expect_error(dir, "qa", "{\"prompt\": \"p\", \"answer\": \"x\", \"id\": 1}\n"
                 "{\"prompt\": \"q\", \"answer\": \"y\"}\n", 2, "id '1' was already used");
    t2_error err = {{0}};
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing.jsonl", dir);
    CHECK(open_data("qa", missing, &err) == NULL && strstr(err.msg, "missing.jsonl: cannot open"),
          "a missing file: got '%s'", err.msg);
    remove(dir);
    t2_free(dir);
}

int main(void) {
    gsm8k();
    arc();
    qa();
    malformed();
    return t2_check_exit_code();
}

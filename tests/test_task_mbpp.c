/* The mbpp task (rl/task_mbpp.c): samples of tests/data/tasks/mbpp.jsonl (hand-written rows in
 * MBPP's layout), the code extraction rules, rewards of right, wrong and broken completions,
 * the batch reward against one-by-one rewards, and hostile completions through the reward,
 * each followed by a right completion to show that the run goes on. One case per run:
 * test_task_mbpp CASE. Expected texts and rewards are written by hand. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "check.h"
#include "rl/task.h"
#include "rl/task_mbpp.h"

static t2_task *task;

/* The right answer to sample 0 (digit_square_sum), written differently from the reference. */
static const char right0[] =
    "```python\ndef digit_square_sum(n):\n    return sum(int(d) ** 2 for d in str(n))\n```\n";

static t2_task *open_task(const char *rel, const char *tmpl, t2_error *err) {
    char *path = t2_check_source_path(rel);
    t2_task_options o = {.data_path = path, .prompt_template = tmpl};
    t2_task *t = t2_task_open("mbpp", &o, err);
    t2_free(path);
    return t;
}

static int reward_of(int64_t index, const char *completion) {
    t2_task_sample s = {0};
    t2_task_get(task, T2_TASK_SPLIT_TEST, index, &s);
    int r = t2_task_reward(&s, completion);
    t2_task_sample_free(&s);
    return r;
}

static void expect_reward(int64_t index, const char *completion, int want, const char *what) {
    int got = reward_of(index, completion);
    CHECK(got == want, "%s: reward %d; expected %d for completion:\n%s", what, got, want,
          completion);
}

static void case_samples(void) {
    CHECK(t2_task_size(task, T2_TASK_SPLIT_TRAIN) == 8 && t2_task_size(task, T2_TASK_SPLIT_TEST)
          == 8, "%lld samples; expected 8", (long long)t2_task_size(task, T2_TASK_SPLIT_TEST));
    CHECK(t2_task_find_id(task, T2_TASK_SPLIT_TEST, "extra/8") == 7, "id extra/8 not at 7");
    CHECK(t2_task_find_id(task, T2_TASK_SPLIT_TEST, "7") == 6, "id 7 not at 6");
    CHECK(t2_task_find_id(task, T2_TASK_SPLIT_TEST, "8") == -1, "id 8 found");
    t2_task_sample s = {0};
    t2_task_get(task, T2_TASK_SPLIT_TEST, 1, &s);
    /* the paper's prompt: the text (a period added) and the first assert */
    const char *prompt =
        "Write a python function to check whether a string reads the same forwards and "
        "backwards, ignoring case. Your code should satisfy the following assertion:\n"
        "```python\nassert is_palindrome(\"Level\") == True\n```";
    CHECK(strcmp(s.prompt, prompt) == 0, "prompt\n%s\nexpected\n%s", s.prompt, prompt);
    const char *worked = "\n```python\ndef is_palindrome(s):\n    t = s.lower()\n"
                         "    return t == t[::-1]\n```\n";
    CHECK(strcmp(s.worked, worked) == 0, "worked '%s'; expected '%s'", s.worked, worked);
    CHECK(strcmp(s.id, "2") == 0, "id '%s'; expected 2", s.id);
    CHECK(s.tests != NULL && strcmp(s.tests, "assert is_palindrome(\"Level\") == True\n"
                                    "assert is_palindrome(\"python\") == False\n"
                                    "assert is_palindrome(\"\") == True\n") == 0,
          "tests '%s'", s.tests ? s.tests : "(null)");
    CHECK(s.test_setup != NULL && s.test_setup[0] == '\0', "test_setup '%s'", s.test_setup);
    t2_task_sample_free(&s);
    t2_task_get(task, T2_TASK_SPLIT_TEST, 6, &s);
    CHECK(strncmp(s.test_setup, "class Node:\n", 12) == 0, "test_setup '%s'", s.test_setup);
    t2_task_sample_free(&s);
    CHECK(strcmp(t2_task_default_system(task), t2_task_mbpp_system) == 0, "system message '%s'",
          t2_task_default_system(task));
    /* every reference solution passes, one by one and as a batch */
    t2_task_sample samples[8] = {{0}};
    const char *worked_all[8];
    int rewards[8];
    for (int i = 0; i < 8; i++) {
        t2_task_get(task, T2_TASK_SPLIT_TEST, i, &samples[i]);
        worked_all[i] = samples[i].worked;
        CHECK(t2_task_reward(&samples[i], samples[i].worked) == 1, "sample %d: the worked "
              "answer is not rewarded", i);
    }
    t2_task_rewards(samples, worked_all, 8, rewards);
    for (int i = 0; i < 8; i++) {
        CHECK(rewards[i] == 1, "sample %d: batch reward %d for the worked answer", i, rewards[i]);
        t2_task_sample_free(&samples[i]);
    }
    /* a template of one's own */
    t2_error err = {{0}};
    t2_task *t = open_task("tests/data/tasks/mbpp.jsonl", "Task: {question}\nTests:\n{tests}\n",
                           &err);
    CHECK(t != NULL, "%s", err.msg);
    if (t != NULL) {
        t2_task_get(t, T2_TASK_SPLIT_TEST, 4, &s);
        CHECK(strcmp(s.prompt, "Task: Write a function to count the vowels in a string.\n"
                               "Tests:\nassert count_vowels('Transformer') == 3\n") == 0,
              "prompt '%s'", s.prompt);
        t2_task_sample_free(&s);
        t2_task_free(t);
    }
    t = open_task("tests/data/tasks/mbpp.jsonl", "{question} {answer}", &err);
    CHECK(t == NULL && strstr(err.msg, "prompt_template of task 'mbpp'") != NULL,
          "a template with an unknown placeholder: '%s'", err.msg);
    t2_task_free(t);
}

static void expect_code(const char *completion, const char *want) {
    char *got = t2_task_mbpp_extract(completion);
    CHECK(strcmp(got, want) == 0, "extracted\n'%s'\nexpected\n'%s'\nfrom\n'%s'", got, want,
          completion);
    t2_free(got);
}

static void case_extract(void) {
    /* no fence: the whole completion, blank lines at both ends dropped */
    expect_code("\n\ndef f(x):\n    return x\n\n", "def f(x):\n    return x");
    /* a block with a language: the first one, whatever is around it */
    expect_code("Here:\n```python\ndef f():\n    pass\n```\nDone.", "def f():\n    pass");
    expect_code("```py\nA\n```\n```python\nB\n```", "A");
    expect_code("text\n```\nbare\n```\n```python\nB\n```\n", "B");
    expect_code("  ```python  \nindented fence\n  ```", "indented fence");
    expect_code("```python\nunterminated\n", "unterminated");
    /* bare fences: opening the completion, the block after it */
    expect_code("```\nA\n```\nafter", "A");
    expect_code("\n```\nA", "A");
    /* an even number: the first block */
    expect_code("Code:\n```\nA\n```\nmore\n```\nB\n```", "A");
    /* an odd number: the text before the first (the prompt opened the block) */
    expect_code("def f():\n    return 1\n```\nExplanation.", "def f():\n    return 1");
    expect_code("A\n```\nnote\n```\nB\n```", "A");
    /* backticks inside a line are not fences */
    expect_code("s = '```'\nprint(s)", "s = '```'\nprint(s)");
    expect_code("", "");
    expect_code("```python\n```", "");
}

static void case_rewards(void) {
    expect_reward(0, right0, 1, "fenced right");
    expect_reward(0, "def digit_square_sum(n):\n    return sum(int(d)**2 for d in str(n))\n", 1,
                  "raw right");
    expect_reward(0, "Sure.\n```\ndef digit_square_sum(n):\n    return sum(int(d)**2 for d in "
                  "str(n))\n```\nIt squares each digit.", 1, "bare fence right");
    expect_reward(0, "def digit_square_sum(n):\n    return n * n\n", 0, "wrong");
    expect_reward(0, "def digit_square_sum(n)\n    return n\n", 0, "syntax error");
    expect_reward(0, "", 0, "empty");
    expect_reward(0, "The answer is 42.", 0, "prose");
    expect_reward(0, "def digit_square_sum(n):\n    return 0\nimport sys\nsys.exit(0)\n", 0,
                  "sys.exit(0) before the asserts");
    expect_reward(0, "def digit_square_sum(n):\n    return 0\nimport os\nos._exit(0)\n", 0,
                  "os._exit(0) before the asserts");
    expect_reward(0, "def digit_square_sum(n):\n    return 0\nraise SystemExit\n", 0,
                  "SystemExit before the asserts");
    /* the test setup runs before the code: list_length may use Node */
    expect_reward(6, "def list_length(head):\n    return 0 if head is None else "
                  "1 + list_length(head.next)\n", 1, "recursive, with the setup");
    /* an answer: code found */
    t2_task_sample s = {0};
    t2_task_get(task, T2_TASK_SPLIT_TEST, 0, &s);
    char got[T2_ANSWER_MAX];
    CHECK(t2_task_answer(&s, right0, got) == 1 && strncmp(got, "def digit_square_sum", 20) == 0,
          "answer '%s'", got);
    CHECK(t2_task_answer(&s, "  \n", got) == 0, "a blank completion has an answer '%s'", got);
    t2_task_sample_free(&s);
    /* the batch: mixed completions give what they give one by one */
    enum { N = 10 };
    const char *completions[N] = {
        right0, "def digit_square_sum(n):\n    return n\n", "",
        "```python\ndef is_palindrome(s):\n    return s.lower() == s.lower()[::-1]\n```",
        "def is_palindrome(s):\n    return True\n",
        "def second_largest(nums):\n    v = sorted(set(nums))\n    return v[-2] if len(v) > 1 "
        "else None\n",
        "while True: pass\n",
        "def count_vowels(s):\n    return sum(c in 'aeiouAEIOU' for c in s)\n",
        "def rotate_right(items, k):\n    return items\n",
        "syntax error",
    };
    const int64_t index[N] = {0, 0, 0, 1, 1, 2, 3, 4, 5, 7};
    const int want[N] = {1, 0, 0, 1, 0, 1, 0, 1, 0, 0};
    t2_sandbox_limits limits;
    t2_sandbox_limits_default(&limits);
    limits.wall_seconds = 2;
    limits.jobs = 3;
    t2_task_set_sandbox_limits(task, &limits);
    t2_task_sample samples[N] = {{0}};
    int rewards[N];
    for (int i = 0; i < N; i++) t2_task_get(task, T2_TASK_SPLIT_TEST, index[i], &samples[i]);
    t2_task_rewards(samples, completions, N, rewards);
    for (int i = 0; i < N; i++) {
        int single = t2_task_reward(&samples[i], completions[i]);
        CHECK(rewards[i] == want[i] && single == want[i], "completion %d: batch %d, alone %d; "
              "expected %d", i, rewards[i], single, want[i]);
        t2_task_sample_free(&samples[i]);
    }
    t2_task_rewards(samples, completions, 0, rewards);
}

/* Other tasks through the batch reward: the same as t2_task_reward, on the ±1 scale. */
static void case_other_tasks(void) {
    t2_error err = {{0}};
    t2_task *math = t2_task_open("math", &(t2_task_options){.seed = 1}, &err);
    CHECK(math != NULL, "%s", err.msg);
    t2_task_sample s[2] = {{0}};
    t2_task_get(math, T2_TASK_SPLIT_TEST, 0, &s[0]);
    t2_task_get(math, T2_TASK_SPLIT_TEST, 1, &s[1]);
    const char *c[2] = {s[0].worked, "The answer is nothing."};
    int r[2];
    t2_task_rewards(s, c, 2, r);
    CHECK(r[0] == 1 && r[1] == -1, "math rewards %d %d; expected 1 -1", r[0], r[1]);
    CHECK(s[0].tests == NULL, "a math sample has tests");
    t2_task_sample_free(&s[0]);
    t2_task_sample_free(&s[1]);
    t2_task_free(math);
}

/* ---- hostile completions: reward 0, nothing harmed, the next right one still 1 ---- */

static void hostile(const char *completion) {
    t2_sandbox_limits limits;
    t2_sandbox_limits_default(&limits);
    limits.wall_seconds = 3;
    limits.processes = 16;
    t2_task_set_sandbox_limits(task, &limits);
    expect_reward(0, completion, 0, "hostile");
    expect_reward(0, right0, 1, "right, after a hostile one");
}

/* Each hostile completion also defines a right digit_square_sum: the reward is 1 exactly when
 * the attack got through. A macro, to be pasted into string literals. */
#define RIGHT_FN "def digit_square_sum(n):\n    return sum(int(d) ** 2 for d in str(n))\n"

static void case_loop(void) { hostile("```python\n" RIGHT_FN "while True:\n    pass\n```"); }

static void case_fork_bomb(void) {
    hostile("```python\nimport os\n" RIGHT_FN "while True:\n    try:\n        os.fork()\n"
            "    except OSError:\n        pass\n```");
}

static void case_output(void) {
    hostile("```python\nimport sys\n" RIGHT_FN "for i in range(1 << 20):\n"
            "    sys.stdout.write('x' * 1024)\n```");
}

static void case_memory(void) {
    hostile("```python\n" RIGHT_FN "big = bytearray(10 * 2**30)\n```");
}

static void case_write_outside(void) {
    char path[64], completion[512];
    snprintf(path, sizeof path, "/tmp/t2_escape_%d", (int)getpid());
    unlink(path);
    snprintf(completion, sizeof completion, "```python\n" RIGHT_FN "open('%s', 'w').write('x')\n"
             "```", path);
    if (!(t2_sandbox_isolation() & T2_SANDBOX_HAS_LANDLOCK)) {
        fprintf(stderr, "no Landlock here: /tmp is writable by the sandbox's user; checking "
                        "/etc instead\n");
        snprintf(path, sizeof path, "/etc/t2_escape_%d", (int)getpid());
        snprintf(completion, sizeof completion, "```python\n" RIGHT_FN
                 "open('%s', 'w').write('x')\n```", path);
    }
    hostile(completion);
    CHECK(access(path, F_OK) != 0, "%s exists: the program wrote outside its directory", path);
    unlink(path);
}

static void case_shadow(void) {
    const char *file = access("/etc/shadow", F_OK) == 0 ? "/etc/shadow" : "/root/.t2_absent";
    char completion[512];
    snprintf(completion, sizeof completion, "```python\n" RIGHT_FN "print(open('%s').read())\n"
             "```", file);
    hostile(completion);
}

static void case_socket(void) {
    int port = 0, server = t2_check_local_server(&port);
    if (server < 0) return;
    char completion[512];
    snprintf(completion, sizeof completion,
             "```python\nimport socket\n" RIGHT_FN
             "socket.create_connection(('127.0.0.1', %d), timeout=1).sendall(b'x')\n```",
             port);
    hostile(completion);
    CHECK(!t2_check_local_server_reached(server), "the server got a connection from the sandbox");
}

static void case_kill_parent(void) {
    hostile("```python\nimport os\nos.kill(os.getppid(), 9)\n```");
    char completion[512];
    snprintf(completion, sizeof completion, "```python\nimport os\n" RIGHT_FN
             "os.kill(%d, 9)\n```", (int)getpid());
    hostile(completion);
    fprintf(stderr, "the test process %d is alive\n", (int)getpid());
}

int main(int argc, char **argv) {
    static const struct {
        const char *name;
        void (*fn)(void);
    } cases[] = {
        {"samples", case_samples},         {"extract", case_extract},
        {"rewards", case_rewards},         {"other_tasks", case_other_tasks},
        {"loop", case_loop},               {"fork_bomb", case_fork_bomb},
        {"output", case_output},           {"memory", case_memory},
        {"write_outside", case_write_outside}, {"shadow", case_shadow},
        {"socket", case_socket},           {"kill_parent", case_kill_parent},
    };
    if (access(T2_SANDBOX_PYTHON, X_OK) != 0) {
        fprintf(stderr, "skipped: %s is not installed\n", T2_SANDBOX_PYTHON);
        return 77;
    }
    t2_error err = {{0}};
    task = open_task("tests/data/tasks/mbpp.jsonl", NULL, &err);
    CHECK(task != NULL, "%s", err.msg);
    if (task == NULL) return t2_check_exit_code();
    int found = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (argc > 1 && strcmp(argv[1], cases[i].name) != 0) continue;
        fprintf(stderr, "%s\n", cases[i].name);
        cases[i].fn();
        found = 1;
    }
    CHECK(found, "unknown case '%s'", argc > 1 ? argv[1] : "");
    t2_task_free(task);
    return t2_check_exit_code();
}

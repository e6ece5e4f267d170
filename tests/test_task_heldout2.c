/* The second pair of held-out tasks, math_shift and code_shift (rl/task_heldout2.c), checked
 * by reading each question back with solvers written here, independently of the generator:
 * for every level and both splits the recomputed value is the reference and the recomputed
 * trace is the worked answer; the worked answer (and the solver's own "The answer is X.")
 * earns reward +1 and a wrong answer -1; the level's shape holds (steps; turns and first i);
 * the generators are deterministic; the test split shares no problem with the train split
 * (other seeds too); math_shift never uses the math task's verbs and code_shift's loops
 * never start at 1 (so no problem is a math or code problem). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/strmap.h"
#include "rl/task.h"

static t2_task *open_task(const char *name, int level, uint64_t seed) {
    t2_error err = {{0}};
    t2_task *task = t2_task_open(name, &(t2_task_options){.level = level, .seed = seed}, &err);
    CHECK(task != NULL, "open %s: %s", name, err.msg);
    return task;
}

/* math_shift: one step phrase applied to *x, its arithmetic appended to steps; 0 when the
 * phrase is not one of math_shift's. */
static int math_apply(const char *phrase, long long *x, char *steps, size_t cap) {
    static const char *const adds[] = {"wins ", "picks up ", "receives "};
    static const char *const subs[] = {"drops ", "uses ", "donates "};
    long long before = *x, b;
    char line[64], tail[32];
    int n_tail = 0;
    if (strcmp(phrase, "doubles them") == 0 || strcmp(phrase, "triples them") == 0) {
        int k = phrase[0] == 'd' ? 2 : 3;
        *x *= k;
        snprintf(line, sizeof line, "%lld*%d=%lld.", before, k, *x);
    } else if (strcmp(phrase, "gives away half") == 0) {
        if (*x % 2 != 0) return 0;
        *x /= 2;
        snprintf(line, sizeof line, "%lld/2=%lld.", before, *x);
    } else {
        int found = 0;
        for (int i = 0; i < 3 && !found; i++) {
            size_t n = strlen(adds[i]);
            if (strncmp(phrase, adds[i], n) == 0 &&
                sscanf(phrase + n, "%lld %31s%n", &b, tail, &n_tail) == 2 &&
                strcmp(tail, "more") == 0 && phrase[n + (size_t)n_tail] == '\0') {
                *x += b;
                snprintf(line, sizeof line, "%lld+%lld=%lld.", before, b, *x);
                found = 1;
            }
            n = strlen(subs[i]);
            if (!found && strncmp(phrase, subs[i], n) == 0 &&
                sscanf(phrase + n, "%lld%n", &b, &n_tail) == 1 &&
                phrase[n + (size_t)n_tail] == '\0') {
                if (b > *x) return 0;
                *x -= b;
                snprintf(line, sizeof line, "%lld-%lld=%lld.", before, b, *x);
                found = 1;
            }
        }
        if (!found) return 0;
    }
    size_t used = strlen(steps);
    snprintf(steps + used, cap - used, "%s%s", used ? " " : "", line);
    return 1;
}

/* math_shift: "<Name> has <a> <things>, <step>, ... and <step>. How many <things> does <Name>
 * have?" read back: 1 with *x and steps (the worked arithmetic) and *n_steps, 0 when it does
 * not read. */
static int math_solve(const char *question, long long *x, char *steps, size_t cap,
                      int *n_steps) {
    char name[16], thing[32], rest[512];
    int used = 0;
    steps[0] = '\0';
    *n_steps = 0;
    if (sscanf(question, "%15s has %lld %31s%n", name, x, thing, &used) != 3) return 0;
    size_t nt = strlen(thing);
    if (nt < 2 || thing[nt - 1] != ',') { /* one step: "<thing> and <step>" */
        snprintf(rest, sizeof rest, "%s", question + used);
        if (strncmp(rest, " and ", 5) != 0) return 0;
        memmove(rest, rest + 5, strlen(rest + 5) + 1);
    } else {
        thing[nt - 1] = '\0';
        snprintf(rest, sizeof rest, "%s", question + used + 1);
    }
    char tailq[96];
    snprintf(tailq, sizeof tailq, ". How many %s does %s have?", thing, name);
    size_t nr = strlen(rest), nq = strlen(tailq);
    if (nr <= nq || strcmp(rest + nr - nq, tailq) != 0) return 0;
    rest[nr - nq] = '\0';
    /* steps separated by ", " and a last " and " */
    char *last = strstr(rest, " and ");
    char *p = rest;
    if (last != NULL) {
        *last = '\0';
        for (char *s = strtok(p, ","); s; s = strtok(NULL, ",")) {
            while (*s == ' ') s++;
            if (!math_apply(s, x, steps, cap)) return 0;
            ++*n_steps;
        }
        p = last + 5;
    }
    if (!math_apply(p, x, steps, cap)) return 0;
    ++*n_steps;
    return 1;
}

/* code_shift: "v=INIT; for i in A..B: v=EXPR; print v" run here: 1 with the printed value in
 * out, the trace in steps, *first = A and *turns = B - A + 1; 0 when it does not read. */
static int code_solve(const char *q, char *out, size_t out_cap, char *steps, size_t cap,
                      int *first, int *turns) {
    char v, v2, v3, v4, init[32], body[64];
    int a, b, used = 0;
    if (sscanf(q, "%c=%31[^;]; for i in %d..%d: %c=%63[^;]; print %c%n", &v, init, &a, &b, &v2,
               body, &v3, &used) != 7 || q[used] != '\0' || v2 != v || v3 != v || b < a)
        return 0;
    *first = a;
    *turns = b - a + 1;
    size_t ni = strlen(init);
    if (init[0] == '\'') { /* a string loop: v=v+'lit' or v='lit'+v */
        if (ni < 3 || init[ni - 1] != '\'') return 0;
        char cur[64], lit[16];
        snprintf(cur, sizeof cur, "%.*s", (int)(ni - 2), init + 1);
        int prepend;
        if (sscanf(body, "%c+'%15[a-z]'%n", &v4, lit, &used) == 2 && v4 == v &&
            body[used] == '\0')
            prepend = 0;
        else if (sscanf(body, "'%15[a-z]'+%c%n", lit, &v4, &used) == 2 && v4 == v &&
                 body[used] == '\0')
            prepend = 1;
        else
            return 0;
        snprintf(steps, cap, "%c=%s.", v, cur);
        for (int i = a; i <= b; i++) {
            char next[128];
            snprintf(next, sizeof next, "%s%s", prepend ? lit : cur, prepend ? cur : lit);
            if (strlen(next) >= sizeof cur) return 0;
            memcpy(cur, next, strlen(next) + 1);
            size_t n = strlen(steps);
            snprintf(steps + n, cap - n, " i=%d: %c=%s.", i, v, cur);
        }
        snprintf(out, out_cap, "%s", cur);
        return 1;
    }
    char *end;
    long long x = strtoll(init, &end, 10);
    if (*end != '\0') return 0;
    char op, rhs[16];
    if (sscanf(body, "%c%c%15s", &v4, &op, rhs) != 3 || v4 != v ||
        (op != '+' && op != '-' && op != '*'))
        return 0;
    int use_i = strcmp(rhs, "i") == 0;
    long long c = use_i ? 0 : strtoll(rhs, &end, 10);
    if (!use_i && *end != '\0') return 0;
    snprintf(steps, cap, "%c=%lld.", v, x);
    for (int i = a; i <= b; i++) {
        long long t = use_i ? i : c;
        x = op == '+' ? x + t : op == '-' ? x - t : x * t;
        size_t n = strlen(steps);
        snprintf(steps + n, cap - n, " i=%d: %c=%lld.", i, v, x);
    }
    snprintf(out, out_cap, "%lld", x);
    return 1;
}

/* The sample's worked answer is " <steps> The answer is <value>.\n", it and the solver's
 * answer earn +1, a wrong value -1. */
static void check_rewards(const char *name, const t2_task_sample *s, const char *steps,
                          const char *value, int numeric) {
    char want[640], line[96];
    snprintf(want, sizeof want, " %s The answer is %s.\n", steps, value);
    CHECK(strcmp(s->worked, want) == 0, "%s %s: worked '%s', solver '%s'", name, s->id,
          s->worked, want);
    CHECK(strcmp(s->answer, value) == 0, "%s %s: answer '%s', solver '%s'", name, s->id,
          s->answer, value);
    CHECK(t2_task_reward(s, s->worked) == 1, "%s %s: the worked answer earns +1", name, s->id);
    snprintf(line, sizeof line, "The answer is %s.", value);
    CHECK(t2_task_reward(s, line) == 1, "%s %s: '%s' earns +1", name, s->id, line);
    if (numeric)
        snprintf(line, sizeof line, "The answer is %lld.", strtoll(value, NULL, 10) + 1);
    else
        snprintf(line, sizeof line, "The answer is %sx.", value);
    CHECK(t2_task_reward(s, line) == -1, "%s %s: '%s' earns -1", name, s->id, line);
    CHECK(t2_task_reward(s, "I do not know.") == -1, "%s %s: no answer earns -1", name, s->id);
}

static void check_math_shift(void) {
    static const int steps_of_level[] = {0, 1, 2, 2, 3, 3};
    static const char *const math_verbs[] = {" buys ", " finds ", " gets ", " gives away 1",
                                              " gives away 2", " gives away 3", " gives away 4",
                                              " gives away 5", " gives away 6", " gives away 7",
                                              " gives away 8", " gives away 9", " loses ",
                                              " sells "};
    for (int level = 1; level <= 5; level++) {
        t2_task *task = open_task("math_shift", level, 1);
        for (int split = 0; split < 2; split++)
            for (int64_t i = 0; i < 400; i++) {
                t2_task_sample s = {0};
                t2_task_get(task, (t2_task_split)split, i, &s);
                const char *q = s.prompt + strlen("Question: ");
                char question[512];
                snprintf(question, sizeof question, "%.*s", (int)(strlen(q) - 8), q);
                long long x;
                char steps[512], value[32];
                int n_steps;
                CHECK(math_solve(question, &x, steps, sizeof steps, &n_steps),
                      "math_shift level %d: does not read '%s'", level, question);
                CHECK(n_steps == steps_of_level[level], "math_shift level %d: %d steps in '%s'",
                      level, n_steps, question);
                for (size_t k = 0; k < sizeof math_verbs / sizeof math_verbs[0]; k++)
                    CHECK(strstr(question, math_verbs[k]) == NULL,
                          "math_shift: the math verb '%s' in '%s'", math_verbs[k], question);
                snprintf(value, sizeof value, "%lld", x);
                check_rewards("math_shift", &s, steps, value, 1);
                CHECK(s.match == T2_ANSWER_MATCH_NUMERIC && s.category == NULL,
                      "math_shift: numeric, no category");
                t2_task_sample_free(&s);
            }
        t2_task_free(task);
    }
}

static void check_code_shift(void) {
    static const int turns_lo[] = {0, 2, 2, 2, 3, 4}, turns_hi[] = {0, 2, 3, 3, 4, 5};
    static const int first_hi[] = {0, 2, 3, 4, 9, 20};
    for (int level = 1; level <= 5; level++) {
        t2_task *task = open_task("code_shift", level, 1);
        int strings = 0;
        for (int split = 0; split < 2; split++)
            for (int64_t i = 0; i < 400; i++) {
                t2_task_sample s = {0};
                t2_task_get(task, (t2_task_split)split, i, &s);
                const char *q = s.prompt + strlen("Question: ");
                char question[512], value[64], steps[512];
                snprintf(question, sizeof question, "%.*s", (int)(strlen(q) - 8), q);
                int first = 0, turns = 0;
                CHECK(code_solve(question, value, sizeof value, steps, sizeof steps, &first,
                                 &turns),
                      "code_shift level %d: does not read '%s'", level, question);
                CHECK(first >= 2 && first <= first_hi[level] && turns >= turns_lo[level] &&
                          turns <= turns_hi[level],
                      "code_shift level %d: first %d, %d turns in '%s'", level, first, turns,
                      question);
                int is_string = strchr(question, '\'') != NULL;
                strings += is_string;
                CHECK(s.match == (is_string ? T2_ANSWER_MATCH_EXACT : T2_ANSWER_MATCH_NUMERIC),
                      "code_shift: match kind of '%s'", question);
                if (level <= 3 && !is_string)
                    CHECK(value[0] != '-', "code_shift level %d: negative value in '%s'", level,
                          question);
                check_rewards("code_shift", &s, steps, value, !is_string);
                t2_task_sample_free(&s);
            }
        CHECK(strings > 250 && strings < 550, "code_shift level %d: %d string loops of 800",
              level, strings);
        t2_task_free(task);
    }
}

/* Same sample for the same (seed, level, split, index); another seed gives other samples. */
static void check_determinism(const char *name) {
    t2_task *a = open_task(name, 0, 7), *b = open_task(name, 0, 7), *c = open_task(name, 0, 8);
    int differ = 0;
    for (int64_t i = 0; i < 200; i++) {
        t2_task_sample x = {0}, y = {0}, z = {0};
        t2_task_get(a, T2_TASK_SPLIT_TEST, i, &x);
        t2_task_get(b, T2_TASK_SPLIT_TEST, i, &y);
        t2_task_get(c, T2_TASK_SPLIT_TEST, i, &z);
        CHECK(strcmp(x.prompt, y.prompt) == 0 && strcmp(x.worked, y.worked) == 0 &&
                  strcmp(x.answer, y.answer) == 0 && strcmp(x.key, y.key) == 0,
              "%s %lld: not deterministic", name, (long long)i);
        differ += strcmp(x.prompt, z.prompt) != 0;
        t2_task_sample_free(&x);
        t2_task_sample_free(&y);
        t2_task_sample_free(&z);
    }
    CHECK(differ > 190, "%s: another seed changes only %d of 200 samples", name, differ);
    CHECK(t2_task_level(a) == 3, "%s: default level %d", name, t2_task_level(a));
    t2_error err = {{0}};
    CHECK(t2_task_open(name, &(t2_task_options){.level = 6}, &err) == NULL &&
              strstr(err.msg, "level 6 is out of range") != NULL,
          "%s: level 6 refused: '%s'", name, err.msg);
    const t2_task_info *info = t2_task_find(name);
    CHECK(info != NULL && info->is_heldout && info->category == NULL && !info->is_dataset,
          "%s: registered as held out without an expert category", name);
    t2_task_free(a);
    t2_task_free(b);
    t2_task_free(c);
}

/* No key of the test splits of seeds 1 and 2 is among the first 10,000 train keys of seeds 1
 * and 3, at the default level (tests/test_task_split.c checks more, for every generator). */
static void check_disjoint(const char *name) {
    t2_strmap train;
    t2_strmap_init(&train, 32768);
    for (uint64_t seed = 1; seed <= 3; seed += 2) {
        t2_task *task = open_task(name, 0, seed);
        for (int64_t i = 0; i < 10000; i++) {
            t2_task_sample s = {0};
            t2_task_get(task, T2_TASK_SPLIT_TRAIN, i, &s);
            t2_strmap_put(&train, s.key, strlen(s.key), 1);
            t2_task_sample_free(&s);
        }
        t2_task_free(task);
    }
    int64_t shared = 0, seen = 0;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        t2_task *task = open_task(name, 0, seed);
        for (int64_t i = 0; i < 1000; i++) {
            t2_task_sample s = {0};
            t2_task_get(task, T2_TASK_SPLIT_TEST, i, &s);
            shared += t2_strmap_get(&train, s.key, strlen(s.key)) >= 0;
            seen++;
            t2_task_sample_free(&s);
        }
        t2_task_free(task);
    }
    CHECK(seen == 2000 && shared == 0, "%s: %lld of %lld test keys are train keys", name,
          (long long)shared, (long long)seen);
    t2_strmap_free(&train);
}

int main(void) {
    long long x;
    char steps[256], value[64];
    int n, first, turns;
    CHECK(math_solve("Tom has 7 apples, wins 5 more and uses 3. How many apples does Tom have?",
                     &x, steps, sizeof steps, &n) &&
              x == 9 && n == 2 && strcmp(steps, "7+5=12. 12-3=9.") == 0,
          "the math reader on the documented example");
    CHECK(!math_solve("Tom has 7 apples and buys 3 more. How many apples does Tom have?", &x,
                      steps, sizeof steps, &n),
          "the math reader refuses the math task's verbs");
    CHECK(code_solve("c=6; for i in 2..3: c=c+7; print c", value, sizeof value, steps,
                     sizeof steps, &first, &turns) &&
              strcmp(value, "20") == 0 && first == 2 && turns == 2 &&
              strcmp(steps, "c=6. i=2: c=13. i=3: c=20.") == 0,
          "the code reader on the documented integer example");
    CHECK(code_solve("v='bw'; for i in 3..4: v=v+'z'; print v", value, sizeof value, steps,
                     sizeof steps, &first, &turns) &&
              strcmp(value, "bwzz") == 0 && strcmp(steps, "v=bw. i=3: v=bwz. i=4: v=bwzz.") == 0,
          "the code reader on the documented string example");
    CHECK(code_solve("m=13; for i in 4..5: m=m+i; print m", value, sizeof value, steps,
                     sizeof steps, &first, &turns) &&
              strcmp(value, "22") == 0,
          "the code reader adds i = 4, 5");
    check_math_shift();
    check_code_shift();
    check_determinism("math_shift");
    check_determinism("code_shift");
    check_disjoint("math_shift");
    check_disjoint("code_shift");
    return t2_check_exit_code();
}

/* The math and mc_math tasks checked by reading the question text back, independently of the
 * generator: "<Name> has <a> <things>, <step>, ... and <step>. How many <things> does <Name>
 * have?" with the steps of docs/tasks.md. For every level and both splits the recomputed
 * amount is the reference (math) or the one choice whose letter is the reference (mc_math),
 * and the worked answer is exactly the recomputed arithmetic "a+b=c. c-d=e." followed by
 * "The answer is ...". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rl/task.h"

/* Applies one step phrase to *x and appends its arithmetic to steps; 0 on an unknown phrase
 * or an amount going negative or halving an odd amount. */
static int apply(const char *phrase, long long *x, char *steps, size_t cap) {
    static const char *const adds[] = {"buys ", "finds ", "gets "};
    static const char *const subs[] = {"gives away ", "loses ", "sells "};
    long long before = *x, b;
    char line[64];
    char tail[32];
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
            if (strncmp(phrase, adds[i], n) == 0 && sscanf(phrase + n, "%lld %31s", &b, tail) == 2
                && strcmp(tail, "more") == 0) {
                *x += b;
                snprintf(line, sizeof line, "%lld+%lld=%lld.", before, b, *x);
                found = 1;
            }
        }
        for (int i = 0; i < 3 && !found; i++) {
            size_t n = strlen(subs[i]);
            char *end;
            if (strncmp(phrase, subs[i], n) == 0) {
                b = strtoll(phrase + n, &end, 10);
                if (*end != '\0' || end == phrase + n) return 0;
                *x -= b;
                snprintf(line, sizeof line, "%lld-%lld=%lld.", before, b, *x);
                found = 1;
            }
        }
        if (!found || *x < 0) return 0;
    }
    size_t used = strlen(steps);
    snprintf(steps + used, cap - used, "%s%s", used ? " " : "", line);
    return 1;
}

/* Solves the word problem q (without choices): 1 with the amount and the steps text. */
static int solve(const char *q, long long *x, char *steps, size_t cap) {
    char name[16], things[32];
    int used = 0;
    if (sscanf(q, "%15s has %lld %31[a-z]%n", name, x, things, &used) != 3) return 0;
    char question[96];
    snprintf(question, sizeof question, ". How many %s does %s have?", things, name);
    size_t n = strlen(q), nq = strlen(question);
    if (n < nq + (size_t)used || strcmp(q + n - nq, question) != 0) return 0;
    /* the steps: ", " before each but the last, " and " before the last */
    char body[256];
    snprintf(body, sizeof body, "%.*s", (int)(n - nq - (size_t)used), q + used);
    steps[0] = '\0';
    const char *p = body;
    int n_steps = 0;
    while (*p != '\0') {
        int is_and = strncmp(p, " and ", 5) == 0;
        if (!is_and && strncmp(p, ", ", 2) != 0) return 0;
        p += is_and ? 5 : 2;
        const char *comma = strstr(p, ", "), *and = strstr(p, " and ");
        const char *stop = p + strlen(p);
        if (comma && comma < stop) stop = comma;
        if (and && and < stop) stop = and;
        if (is_and != (*stop == '\0')) return 0;
        char phrase[64];
        snprintf(phrase, sizeof phrase, "%.*s", (int)(stop - p), p);
        if (!apply(phrase, x, steps, cap)) return 0;
        n_steps++;
        p = stop;
    }
    return n_steps > 0;
}

static void check_math(void) {
    int64_t checked = 0;
    for (int level = T2_TASK_LEVEL_MIN; level <= T2_TASK_LEVEL_MAX; level++) {
        t2_task_options o = {NULL, level, 5, 0, 0, NULL};
        t2_error err = {{0}};
        t2_task *task = t2_task_open("math", &o, &err);
        int bad = 0, steps_seen[4] = {0};
        for (int64_t i = 0; i < 3000 && bad < 5; i++) {
            t2_task_split split = i % 3 == 0 ? T2_TASK_SPLIT_TEST : T2_TASK_SPLIT_TRAIN;
            t2_task_sample s = {0};
            t2_task_get(task, split, i % 3 == 0 ? i / 3 : i, &s);
            char q[512], steps[512], worked[600];
            snprintf(q, sizeof q, "%.*s", (int)(strlen(s.prompt) - 18), s.prompt + 10);
            long long x;
            int ok = solve(q, &x, steps, sizeof steps);
            snprintf(worked, sizeof worked, " %s The answer is %lld.\n", steps, x);
            ok = ok && atoll(s.answer) == x && strcmp(worked, s.worked) == 0 &&
                 s.match == T2_ANSWER_MATCH_NUMERIC;
            CHECK(ok, "math level %d: '%s': recomputed %lld ('%s'), sample says '%s' ('%s')",
                  level, q, x, steps, s.answer, s.worked);
            int n_steps = 1;
            for (const char *p = steps; (p = strchr(p, ' ')) != NULL; p++) n_steps++;
            if (n_steps < 4) steps_seen[n_steps]++;
            bad += !ok;
            checked += ok;
            t2_task_sample_free(&s);
        }
        /* the level's documented number of steps: 1 at level 1, 2 at 2-3, 3 at 4-5 */
        int want = level == 1 ? 1 : level <= 3 ? 2 : 3;
        CHECK(steps_seen[want] > 2900, "math level %d: %d of 3000 have %d steps", level,
              steps_seen[want], want);
        t2_task_free(task);
    }
    fprintf(stderr, "ok   math: %lld problems recomputed\n", (long long)checked);
}

static void check_mc_math(void) {
    int64_t checked = 0, letters[4] = {0};
    for (int level = T2_TASK_LEVEL_MIN; level <= T2_TASK_LEVEL_MAX; level++) {
        t2_task_options o = {NULL, level, 5, 0, 0, NULL};
        t2_error err = {{0}};
        t2_task *task = t2_task_open("mc_math", &o, &err);
        int bad = 0;
        for (int64_t i = 0; i < 2000 && bad < 5; i++) {
            t2_task_split split = i % 2 ? T2_TASK_SPLIT_TEST : T2_TASK_SPLIT_TRAIN;
            t2_task_sample s = {0};
            t2_task_get(task, split, i / 2, &s);
            char q[512], steps[512], worked[600];
            snprintf(q, sizeof q, "%.*s", (int)(strlen(s.prompt) - 18), s.prompt + 10);
            /* the choices " A) n B) n C) n D) n" after the question mark */
            char *choices = strrchr(q, '?');
            long long option[4] = {-1, -1, -1, -1};
            int parsed = choices != NULL &&
                         sscanf(choices + 1, " A) %lld B) %lld C) %lld D) %lld", &option[0],
                                &option[1], &option[2], &option[3]) == 4;
            if (choices) choices[1] = '\0';
            long long x = -1;
            int ok = parsed && solve(q, &x, steps, sizeof steps);
            int right = -1, distinct = 1;
            for (int k = 0; k < 4; k++) {
                if (option[k] == x) right = k;
                for (int j = 0; j < k; j++) distinct &= option[j] != option[k];
                distinct &= option[k] >= 0;
            }
            snprintf(worked, sizeof worked, " %s The answer is %c.\n", steps, 'A' + right);
            ok = ok && right >= 0 && distinct && s.answer[0] == 'A' + right &&
                 s.answer[1] == '\0' && strcmp(worked, s.worked) == 0 &&
                 s.match == T2_ANSWER_MATCH_CHOICE && strcmp(s.key, q) == 0;
            CHECK(ok, "mc_math level %d: '%s' (%lld; choices %lld %lld %lld %lld): sample "
                  "says '%s' ('%s')", level, q, x, option[0], option[1], option[2], option[3],
                  s.answer, s.worked);
            if (ok) letters[right]++;
            bad += !ok;
            checked += ok;
            t2_task_sample_free(&s);
        }
        t2_task_free(task);
    }
    /* the right choice is at every position about as often */
    for (int k = 0; k < 4; k++)
        CHECK(letters[k] > checked / 5, "mc_math: answer %c in %lld of %lld", 'A' + k,
              (long long)letters[k], (long long)checked);
    fprintf(stderr, "ok   mc_math: %lld problems recomputed\n", (long long)checked);
}

int main(void) {
    long long x;
    char steps[256];
    CHECK(solve("Tom has 7 apples, buys 5 more and gives away 3. How many apples does Tom have?",
                &x, steps, sizeof steps) && x == 9 && strcmp(steps, "7+5=12. 12-3=9.") == 0,
          "the reader on the documented example");
    CHECK(!solve("Tom has 7 apples and eats 3. How many apples does Tom have?", &x, steps,
                 sizeof steps),
          "the reader refuses an unknown step");
    check_math();
    check_mc_math();
    return t2_check_exit_code();
}

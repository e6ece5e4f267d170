/* The code task: the output of a short program in a tiny language.
 *     "a=4; b=a*3; c=b-5; print c"               worked " a=4. b=12. c=7. The answer is 7."
 *     "x=2; for i in 1..3: x=x+i; print x"        worked " x=2. i=1: x=3. i=2: x=5. i=3: x=8. ..."
 *     "s='ab'; t=s+'cd'; u=rev(t); print u"      worked " s=ab. t=abcd. u=dcba. ..."
 * The language (docs/tasks.md): statements separated by "; "; an assignment "v=E"; a loop
 * "for i in 1..N: v=E" whose body is the one assignment after the colon, run for i = 1..N;
 * a last statement "print v". E is an atom or "atom op atom" with op + - * ; atoms are integer
 * literals, variables, string literals in single quotes, rev(v), up(v) (upper case) and
 * len(v). String + string concatenates, string * integer repeats.
 * Four program families: an integer chain, an integer loop, a string chain, a string loop.
 * Levels (chain steps; literal range; loop count N):
 *     1: 1 step, 1..9, no loops     2: 2 steps, 1..9, N=2       3: 3 steps, 1..20, N=2..3
 *     4: 3 steps, 1..50, N=3..4 plus a statement after the loop, negative values possible
 *     5: 4 steps, 1..99, N=4..5 plus a statement after the loop, negative values possible
 * The worked answer traces every assignment (and every loop turn) with its new value.
 * Does not decide splits (task.c) and holds no interpreter: values are computed as the
 * program is drawn. */
#include <ctype.h>
#include <string.h>

#include "base/assert.h"
#include "rl/task_impl.h"

enum { STR_MAX = 12 }; /* longest string value a program builds */

typedef struct level_shape {
    int chain_steps, lit_hi, mul_hi, loop_lo, loop_hi, negatives;
} level_shape;

static const level_shape shapes[T2_TASK_LEVEL_MAX + 1] = {
    {0, 0, 0, 0, 0, 0},  {1, 9, 3, 0, 0, 0},  {2, 9, 3, 2, 2, 0},
    {3, 20, 4, 2, 3, 0}, {3, 50, 5, 3, 4, 1}, {4, 99, 9, 4, 5, 1},
};

static const char *const int_vars = "abcdxyznmk";
static const char *const str_vars = "stuwv";

enum { WORD_MAX = 8 }; /* bytes of a string literal's buffer */

/* A random lowercase string of lo..hi letters (hi < WORD_MAX) into s. */
static void random_word(t2_rng *rng, int lo, int hi, char s[WORD_MAX]) {
    int n = (int)t2_task_rand(rng, lo, hi);
    T2_ASSERT(n >= 0 && n < WORD_MAX);
    for (int i = 0; i < n; i++) s[i] = (char)('a' + t2_task_rand(rng, 0, 25));
    s[n] = '\0';
}

/* out = a followed by b; both come from programs whose strings stay within STR_MAX. */
static void concat(char out[64], const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    T2_ASSERT(na + nb < 64);
    memmove(out + na, b, nb + 1);
    memmove(out, a, na);
}

enum { VARS_MAX = 16 }; /* size of a pool of variable names and of the array picked into */

/* Picks n distinct variable names from pool into names. */
static void pick_vars(t2_rng *rng, const char *pool, int n, char names[VARS_MAX]) {
    int perm[VARS_MAX] = {0}, len = (int)strlen(pool);
    T2_ASSERT(len <= VARS_MAX && n >= 0 && n <= len);
    t2_task_shuffle(rng, perm, len);
    for (int i = 0; i < n && i < VARS_MAX; i++) names[i] = pool[perm[i]];
}

static void int_chain(t2_rng *rng, const level_shape *shape, t2_task_item *item) {
    char v[VARS_MAX] = {0};
    pick_vars(rng, int_vars, shape->chain_steps + 1, v);
    int64_t val[8];
    val[0] = t2_task_rand(rng, 1, shape->lit_hi);
    t2_task_text_add(&item->question, "%c=%lld", v[0], (long long)val[0]);
    t2_task_text_add(&item->steps, "%c=%lld.", v[0], (long long)val[0]);
    for (int k = 1; k <= shape->chain_steps; k++) {
        int64_t x = val[k - 1];
        /* the right operand: a literal, or (level 3 up) an earlier variable */
        int var_operand = shape->chain_steps >= 3 && k >= 2 && t2_task_rand(rng, 0, 2) == 0;
        int j = var_operand ? (int)t2_task_rand(rng, 0, k - 2) : -1;
        int op = (int)t2_task_rand(rng, 0, 2); /* 0 +, 1 -, 2 * */
        int64_t b = var_operand ? val[j] : op == 2 ? t2_task_rand(rng, 2, shape->mul_hi)
                                                   : t2_task_rand(rng, 1, shape->lit_hi);
        if (op == 2 && (b > shape->mul_hi || b < -shape->mul_hi || x * b > 9999 ||
                        x * b < -9999))
            op = 0;
        if (op == 1 && !shape->negatives && b > x) op = 0;
        val[k] = op == 0 ? x + b : op == 1 ? x - b : x * b;
        char rhs[16];
        if (var_operand)
            snprintf(rhs, sizeof rhs, "%c", v[j]);
        else
            snprintf(rhs, sizeof rhs, "%lld", (long long)b);
        t2_task_text_add(&item->question, "; %c=%c%c%s", v[k], v[k - 1], "+-*"[op], rhs);
        t2_task_text_add(&item->steps, " %c=%lld.", v[k], (long long)val[k]);
    }
    int last = shape->chain_steps;
    t2_task_text_add(&item->question, "; print %c", v[last]);
    t2_task_text_add(&item->answer, "%lld", (long long)val[last]);
    item->match = T2_ANSWER_MATCH_NUMERIC;
}

static void int_loop(t2_rng *rng, const level_shape *shape, t2_task_item *item) {
    char v[VARS_MAX] = {0};
    pick_vars(rng, int_vars, 2, v);
    int n = (int)t2_task_rand(rng, shape->loop_lo, shape->loop_hi);
    int64_t x = t2_task_rand(rng, 1, shape->lit_hi);
    int use_i = (int)t2_task_rand(rng, 0, 1);
    int op = (int)t2_task_rand(rng, 0, 2);
    int64_t b = op == 2 ? 2 : t2_task_rand(rng, 1, shape->lit_hi / 2 + 1);
    if (op == 2 && (use_i || x > 20 || n > 4)) op = 0; /* x*2 per turn stays small */
    int64_t total = use_i ? (int64_t)n * (n + 1) / 2 : (int64_t)n * b;
    if (op == 1 && !shape->negatives && total > x) op = 0;
    char rhs[24];
    if (use_i && op != 2)
        snprintf(rhs, sizeof rhs, "i");
    else
        snprintf(rhs, sizeof rhs, "%lld", (long long)b);
    t2_task_text_add(&item->question, "%c=%lld; for i in 1..%d: %c=%c%c%s", v[0], (long long)x,
                     n, v[0], v[0], "+-*"[op], rhs);
    t2_task_text_add(&item->steps, "%c=%lld.", v[0], (long long)x);
    for (int i = 1; i <= n; i++) {
        int64_t t = use_i && op != 2 ? i : b;
        x = op == 0 ? x + t : op == 1 ? x - t : x * t;
        t2_task_text_add(&item->steps, " i=%d: %c=%lld.", i, v[0], (long long)x);
    }
    char out = v[0];
    if (shape->negatives) { /* levels 4-5: one more statement after the loop */
        int64_t c = t2_task_rand(rng, 1, shape->lit_hi);
        int after = (int)t2_task_rand(rng, 0, 1);
        int64_t y = after ? x - c : x + c;
        t2_task_text_add(&item->question, "; %c=%c%c%lld", v[1], v[0], after ? '-' : '+',
                         (long long)c);
        t2_task_text_add(&item->steps, " %c=%lld.", v[1], (long long)y);
        x = y;
        out = v[1];
    }
    t2_task_text_add(&item->question, "; print %c", out);
    t2_task_text_add(&item->answer, "%lld", (long long)x);
    item->match = T2_ANSWER_MATCH_NUMERIC;
}

static void str_chain(t2_rng *rng, const level_shape *shape, t2_task_item *item) {
    char v[VARS_MAX] = {0}, cur[64], lit[WORD_MAX];
    pick_vars(rng, str_vars, shape->chain_steps + 1, v);
    random_word(rng, 1, shape->chain_steps >= 3 ? 3 : 2, cur);
    t2_task_text_add(&item->question, "%c='%s'", v[0], cur);
    t2_task_text_add(&item->steps, "%c=%s.", v[0], cur);
    int is_len = 0;
    int64_t length = 0;
    for (int k = 1; k <= shape->chain_steps && !is_len; k++) {
        size_t n = strlen(cur);
        char next[64];
        char expr[32];
        for (;;) {
            int op = (int)t2_task_rand(rng, 0, 6);
            if (op == 0 || op == 1) { /* s+'lit' or 'lit'+s */
                random_word(rng, 1, 2, lit);
                if (n + strlen(lit) > STR_MAX) continue;
                if (op == 0) {
                    snprintf(expr, sizeof expr, "%c+'%s'", v[k - 1], lit);
                    concat(next, cur, lit);
                } else {
                    snprintf(expr, sizeof expr, "'%s'+%c", lit, v[k - 1]);
                    concat(next, lit, cur);
                }
            } else if (op == 2) { /* s+s */
                if (2 * n > STR_MAX) continue;
                snprintf(expr, sizeof expr, "%c+%c", v[k - 1], v[k - 1]);
                concat(next, cur, cur);
            } else if (op == 3) { /* s*k */
                int times = (int)t2_task_rand(rng, 2, 3);
                if ((size_t)times * n > STR_MAX) continue;
                snprintf(expr, sizeof expr, "%c*%d", v[k - 1], times);
                next[0] = '\0';
                for (int t = 0; t < times; t++) strcat(next, cur);
            } else if (op == 4) { /* rev */
                if (n < 2) continue;
                snprintf(expr, sizeof expr, "rev(%c)", v[k - 1]);
                for (size_t i = 0; i < n; i++) next[i] = cur[n - 1 - i];
                next[n] = '\0';
            } else if (op == 5) { /* up */
                if (!islower((unsigned char)cur[0]) && !islower((unsigned char)cur[n - 1]))
                    continue;
                snprintf(expr, sizeof expr, "up(%c)", v[k - 1]);
                for (size_t i = 0; i <= n; i++) next[i] = (char)toupper((unsigned char)cur[i]);
            } else { /* len: the last step only */
                if (k != shape->chain_steps || k == 1) continue;
                snprintf(expr, sizeof expr, "len(%c)", v[k - 1]);
                is_len = 1;
                length = (int64_t)n;
            }
            break;
        }
        t2_task_text_add(&item->question, "; %c=%s", v[k], expr);
        if (is_len) {
            t2_task_text_add(&item->steps, " %c=%lld.", v[k], (long long)length);
        } else {
            t2_task_text_add(&item->steps, " %c=%s.", v[k], next);
            memcpy(cur, next, strlen(next) + 1);
        }
    }
    t2_task_text_add(&item->question, "; print %c", v[shape->chain_steps]);
    if (is_len) {
        t2_task_text_add(&item->answer, "%lld", (long long)length);
        item->match = T2_ANSWER_MATCH_NUMERIC;
    } else {
        t2_task_text_add(&item->answer, "%s", cur);
        item->match = T2_ANSWER_MATCH_EXACT;
    }
}

static void str_loop(t2_rng *rng, const level_shape *shape, t2_task_item *item) {
    char v[VARS_MAX] = {0}, cur[64], lit[WORD_MAX];
    pick_vars(rng, str_vars, 1, v);
    random_word(rng, 1, 2, cur);
    int lit_len = shape->negatives ? 2 : 1;
    random_word(rng, 1, lit_len, lit);
    int n = (int)t2_task_rand(rng, shape->loop_lo, shape->loop_hi);
    while (strlen(cur) + (size_t)n * strlen(lit) > STR_MAX) n--;
    int prepend = (int)t2_task_rand(rng, 0, 1);
    if (prepend)
        t2_task_text_add(&item->question, "%c='%s'; for i in 1..%d: %c='%s'+%c", v[0], cur, n,
                         v[0], lit, v[0]);
    else
        t2_task_text_add(&item->question, "%c='%s'; for i in 1..%d: %c=%c+'%s'", v[0], cur, n,
                         v[0], v[0], lit);
    t2_task_text_add(&item->steps, "%c=%s.", v[0], cur);
    for (int i = 1; i <= n; i++) {
        char next[64];
        concat(next, prepend ? lit : cur, prepend ? cur : lit);
        memcpy(cur, next, strlen(next) + 1);
        t2_task_text_add(&item->steps, " i=%d: %c=%s.", i, v[0], cur);
    }
    t2_task_text_add(&item->question, "; print %c", v[0]);
    t2_task_text_add(&item->answer, "%s", cur);
    item->match = T2_ANSWER_MATCH_EXACT;
}

void t2_task_code_generate(t2_rng *rng, int level, t2_task_item *item) {
    const level_shape *shape = &shapes[level];
    int family = (int)t2_task_rand(rng, 0, shape->loop_hi ? 3 : 1);
    /* at level 1: integer chain or string chain; from level 2 all four families */
    if (shape->loop_hi == 0) family *= 2;
    switch (family) {
    case 0: int_chain(rng, shape, item); break;
    case 1: int_loop(rng, shape, item); break;
    case 2: str_chain(rng, shape, item); break;
    default: str_loop(rng, shape, item); break;
    }
    item->category = "code";
}

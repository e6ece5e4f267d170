/* The second pair of held-out tasks: each a shifted variant of one trained skill, in the spirit
 * of the paper's held-out tasks (MATH beside GSM8K, HumanEval beside MBPP). No expert trains on
 * them; the base model does some of each (docs/tasks.md "Held-out tasks, second pair").
 *   math_shift: a word problem of the math task in other words: the same names, things,
 *     numbers and steps at each level, but adding is "wins/picks up/receives N more" and
 *     subtracting "drops/uses/donates N" (the math task's verbs are buys/finds/gets and gives
 *     away/loses/sells); doubling, tripling and halving read as in math.
 *       "Tom has 7 apples, wins 5 more and uses 3. How many apples does Tom have?"
 *       worked " 7+5=12. 12-3=9. The answer is 9."
 *     Levels (steps; start; operand; step kinds), the math task's:
 *       1: 1, 2..10, 1..9, add/subtract        2: 2, 2..20, 1..10, add/subtract
 *       3: 2, 2..30, 1..20, + double/triple    4: 3, 2..50, 1..30, + halve
 *       5: 3, 10..99, 1..60, all kinds
 *   code_shift: a loop of the code task's language whose range starts above 1,
 *     "for i in 4..6: ...", where the code task's loops always run "for i in 1..N". Half the
 *     programs grow an integer (x=x+i, x=x-i, x=x+b, x=x-b, x=x*2), half a string (s=s+'e',
 *     s='e'+s); the trace names each turn by its i.
 *       "m=13; for i in 4..5: m=m+i; print m"   worked " m=13. i=4: m=17. i=5: m=22. ..."
 *       "t='gs'; for i in 4..6: t=t+'e'; print t" worked " t=gs. i=4: t=gse. ... gseee. ..."
 *     Levels (turns; first i; integer range; string literal letters):
 *       1: 2, 2, 1..9, 1           2: 2..3, 2..3, 1..9, 1      3: 2..3, 2..4, 1..20, 1
 *       4: 3..4, 2..9, 1..50, 1..2, negative values     5: 4..5, 2..20, 1..99, 1..2, as 4
 *     Without negative values (levels 1-3) a subtraction never takes the value below 0.
 * The key of both is the question. Does not decide splits (task.c). */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "rl/task_impl.h"

/* math_shift's verbs; everything else is the math task's (rl/task_math.c). */
static const char *const add_verbs[] = {"wins %lld more", "picks up %lld more",
                                        "receives %lld more"};
static const char *const sub_verbs[] = {"drops %lld", "uses %lld", "donates %lld"};

void t2_task_heldout_math_shift_generate(t2_rng *rng, int level, t2_task_item *item) {
    t2_task_math_generate_worded(rng, level, item, add_verbs, sub_verbs, NULL);
}

typedef struct code_shape {
    int turns_lo, turns_hi, start_hi, lit_hi, str_lit_hi, negatives;
} code_shape;

static const code_shape code_shapes[T2_TASK_LEVEL_MAX + 1] = {
    {0, 0, 0, 0, 0, 0},    {2, 2, 2, 9, 1, 0},    {2, 3, 3, 9, 1, 0},
    {2, 3, 4, 20, 1, 0},   {3, 4, 9, 50, 2, 1},   {4, 5, 20, 99, 2, 1},
};

enum { STR_MAX = 12 }; /* longest string a program builds, as in the code task */

static void shift_str_loop(t2_rng *rng, const code_shape *shape, int first, int turns,
                           t2_task_item *item) {
    static const char vars[] = "stuwv"; /* the code task's string names */
    char v = vars[t2_task_rand(rng, 0, 4)], cur[STR_MAX + 1], lit[3];
    int n_cur = (int)t2_task_rand(rng, 1, 2), n_lit = (int)t2_task_rand(rng, 1, shape->str_lit_hi);
    for (int i = 0; i < n_cur; i++) cur[i] = (char)('a' + t2_task_rand(rng, 0, 25));
    cur[n_cur] = '\0';
    for (int i = 0; i < n_lit; i++) lit[i] = (char)('a' + t2_task_rand(rng, 0, 25));
    lit[n_lit] = '\0';
    T2_ASSERT(n_cur + turns * n_lit <= STR_MAX);
    int prepend = (int)t2_task_rand(rng, 0, 1);
    int last = first + turns - 1;
    if (prepend)
        t2_task_text_add(&item->question, "%c='%s'; for i in %d..%d: %c='%s'+%c", v, cur, first,
                         last, v, lit, v);
    else
        t2_task_text_add(&item->question, "%c='%s'; for i in %d..%d: %c=%c+'%s'", v, cur, first,
                         last, v, v, lit);
    t2_task_text_add(&item->steps, "%c=%s.", v, cur);
    for (int i = first; i <= last; i++) {
        char next[2 * STR_MAX + 2];
        snprintf(next, sizeof next, "%s%s", prepend ? lit : cur, prepend ? cur : lit);
        T2_ASSERT(strlen(next) <= STR_MAX);
        memcpy(cur, next, STR_MAX + 1);
        t2_task_text_add(&item->steps, " i=%d: %c=%s.", i, v, cur);
    }
    t2_task_text_add(&item->question, "; print %c", v);
    t2_task_text_add(&item->answer, "%s", cur);
    item->match = T2_ANSWER_MATCH_EXACT;
}

static void shift_int_loop(t2_rng *rng, const code_shape *shape, int first, int turns,
                           t2_task_item *item) {
    static const char vars[] = "abcdxyznmk"; /* the code task's integer names */
    char v = vars[t2_task_rand(rng, 0, 9)];
    int64_t x = t2_task_rand(rng, 1, shape->lit_hi);
    int use_i = (int)t2_task_rand(rng, 0, 1);
    int op = (int)t2_task_rand(rng, 0, 2); /* 0 +, 1 -, 2 * */
    int64_t b = op == 2 ? 2 : t2_task_rand(rng, 1, shape->lit_hi / 2 + 1);
    if (op == 2 && (use_i || x > 20 || turns > 4)) op = 0; /* x*2 per turn stays small */
    int last = first + turns - 1;
    int64_t total = use_i ? (int64_t)turns * (first + last) / 2 : (int64_t)turns * b;
    if (op == 1 && !shape->negatives && total > x) op = 0;
    char rhs[24];
    if (use_i && op != 2)
        snprintf(rhs, sizeof rhs, "i");
    else
        snprintf(rhs, sizeof rhs, "%lld", (long long)b);
    t2_task_text_add(&item->question, "%c=%lld; for i in %d..%d: %c=%c%c%s; print %c", v,
                     (long long)x, first, last, v, v, "+-*"[op], rhs, v);
    t2_task_text_add(&item->steps, "%c=%lld.", v, (long long)x);
    for (int i = first; i <= last; i++) {
        int64_t t = use_i && op != 2 ? i : b;
        x = op == 0 ? x + t : op == 1 ? x - t : x * t;
        t2_task_text_add(&item->steps, " i=%d: %c=%lld.", i, v, (long long)x);
    }
    t2_task_text_add(&item->answer, "%lld", (long long)x);
    item->match = T2_ANSWER_MATCH_NUMERIC;
}

void t2_task_heldout_code_shift_generate(t2_rng *rng, int level, t2_task_item *item) {
    const code_shape *shape = &code_shapes[level];
    int turns = (int)t2_task_rand(rng, shape->turns_lo, shape->turns_hi);
    int first = (int)t2_task_rand(rng, 2, shape->start_hi);
    if (t2_task_rand(rng, 0, 1))
        shift_str_loop(rng, shape, first, turns, item);
    else
        shift_int_loop(rng, shape, first, turns, item);
    item->category = NULL;
}

/* The two held-out tasks: no expert trains on them; each mixes the skills of the others.
 *   arith_code: a program in the code task's language doing word-problem arithmetic,
 *       "apples=7; apples=apples+5; apples=apples-3; print apples"
 *       worked " apples=7. apples=12. apples=9. The answer is 9."
 *     Three families: a stock of things updated one to three times, a purchase
 *     ("price=4; n=3; cost=price*n; left=20-cost; print left") and a saving loop
 *     ("coins=5; for day in 1..3: coins=coins+4; print coins"). Levels (updates; ranges):
 *       1: stock, 1 update, 1..20    2: + purchase without change, 2 updates, 1..30
 *       3: + change, loop (2..3 days), doubling/tripling, 1..40
 *       4: 3 updates, loop 3..4, 1..60    5: 3 updates, loop 4..5, 1..99
 *   mc_math: a word problem of the math task at the same level with four numbers to choose
 *     from, "... How many apples does Tom have? A) 11 B) 9 C) 8 D) 12"
 *       worked " 7+5=12. 12-3=9. The answer is B."
 *     The wrong choices are near misses (off by 1, 2, 3 or 10, or twice the answer). The key
 *     is the word problem alone, so an mc_math test problem is never a math train problem.
 * Does not decide splits (task.c). */
#include <stdlib.h>

#include "rl/task_impl.h"

static const char *const stocks[] = {"apples", "pens", "coins", "cards", "eggs", "cups",
                                     "books", "toys"};

typedef struct level_shape {
    int updates, range, families, loop_lo, loop_hi;
} level_shape;

static const level_shape shapes[T2_TASK_LEVEL_MAX + 1] = {
    {0, 0, 0, 0, 0}, {1, 20, 1, 0, 0}, {2, 30, 2, 0, 0},
    {2, 40, 3, 2, 3}, {3, 60, 3, 3, 4}, {3, 99, 3, 4, 5},
};

static void stock(t2_rng *rng, const level_shape *shape, t2_task_item *item) {
    const char *v = t2_task_pick(rng, stocks, (int)(sizeof stocks / sizeof stocks[0]));
    int64_t x = t2_task_rand(rng, 2, shape->range);
    t2_task_text_add(&item->question, "%s=%lld", v, (long long)x);
    t2_task_text_add(&item->steps, "%s=%lld.", v, (long long)x);
    for (int i = 0; i < shape->updates; i++) {
        int op = (int)t2_task_rand(rng, 0, shape->families >= 3 ? 2 : 1);
        int64_t b = op == 2 ? t2_task_rand(rng, 2, 3) : t2_task_rand(rng, 1, shape->range);
        if (op == 1 && b > x) op = 0; /* stocks never go negative */
        if (op == 2 && x * b > 999) op = 0;
        x = op == 0 ? x + b : op == 1 ? x - b : x * b;
        t2_task_text_add(&item->question, "; %s=%s%c%lld", v, v, "+-*"[op], (long long)b);
        t2_task_text_add(&item->steps, " %s=%lld.", v, (long long)x);
    }
    t2_task_text_add(&item->question, "; print %s", v);
    t2_task_text_add(&item->answer, "%lld", (long long)x);
}

static void purchase(t2_rng *rng, const level_shape *shape, t2_task_item *item) {
    int64_t price = t2_task_rand(rng, 2, shape->range / 2);
    int64_t n = t2_task_rand(rng, 2, 5);
    int64_t cost = price * n;
    t2_task_text_add(&item->question, "price=%lld; n=%lld; cost=price*n", (long long)price,
                     (long long)n);
    t2_task_text_add(&item->steps, "price=%lld. n=%lld. cost=%lld.", (long long)price,
                     (long long)n, (long long)cost);
    int64_t result = cost;
    if (shape->families >= 3) { /* with change from a sum of money */
        int64_t money = cost + t2_task_rand(rng, 0, shape->range);
        result = money - cost;
        t2_task_text_add(&item->question, "; left=%lld-cost; print left", (long long)money);
        t2_task_text_add(&item->steps, " left=%lld.", (long long)result);
    } else {
        t2_task_text_add(&item->question, "; print cost");
    }
    t2_task_text_add(&item->answer, "%lld", (long long)result);
}

static void saving(t2_rng *rng, const level_shape *shape, t2_task_item *item) {
    const char *v = t2_task_pick(rng, stocks, (int)(sizeof stocks / sizeof stocks[0]));
    int64_t x = t2_task_rand(rng, 1, shape->range);
    int64_t b = t2_task_rand(rng, 1, shape->range / 3 + 1);
    int days = (int)t2_task_rand(rng, shape->loop_lo, shape->loop_hi);
    int spend = t2_task_rand(rng, 0, 1) && x >= days * b; /* spending never goes negative */
    t2_task_text_add(&item->question, "%s=%lld; for day in 1..%d: %s=%s%c%lld; print %s", v,
                     (long long)x, days, v, v, spend ? '-' : '+', (long long)b, v);
    t2_task_text_add(&item->steps, "%s=%lld.", v, (long long)x);
    for (int d = 1; d <= days; d++) {
        x = spend ? x - b : x + b;
        t2_task_text_add(&item->steps, " day=%d: %s=%lld.", d, v, (long long)x);
    }
    t2_task_text_add(&item->answer, "%lld", (long long)x);
}

void t2_task_heldout_arith_code_generate(t2_rng *rng, int level, t2_task_item *item) {
    const level_shape *shape = &shapes[level];
    switch (t2_task_rand(rng, 0, shape->families - 1)) {
    case 0: stock(rng, shape, item); break;
    case 1: purchase(rng, shape, item); break;
    default: saving(rng, shape, item); break;
    }
    item->match = T2_ANSWER_MATCH_NUMERIC;
    item->category = NULL;
}

void t2_task_heldout_mc_math_generate(t2_rng *rng, int level, t2_task_item *item) {
    t2_task_math_generate(rng, level, item);
    int64_t right = strtoll(item->answer.s, NULL, 10);
    static const int64_t offsets[] = {1, -1, 2, -2, 3, -3, 10, -10};
    int64_t options[4] = {right};
    int n = 1;
    while (n < 4) {
        int64_t wrong = t2_task_rand(rng, 0, 8) == 8 ? 2 * right
                                                      : right + offsets[t2_task_rand(rng, 0, 7)];
        int fresh = wrong >= 0;
        for (int i = 0; i < n; i++)
            if (options[i] == wrong) fresh = 0;
        if (fresh) options[n++] = wrong;
    }
    t2_task_text_add(&item->key, "%s", item->question.s);
    int perm[4];
    t2_task_shuffle(rng, perm, 4);
    char letter = 'A';
    for (int i = 0; i < 4; i++) {
        t2_task_text_add(&item->question, " %c) %lld", 'A' + i, (long long)options[perm[i]]);
        if (perm[i] == 0) letter = (char)('A' + i);
    }
    item->answer.len = 0;
    item->answer.s[0] = '\0';
    t2_task_text_add(&item->answer, "%c", letter);
    item->match = T2_ANSWER_MATCH_CHOICE;
    item->category = NULL;
}

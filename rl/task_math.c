/* The math task: integer word problems of one to three steps.
 *     "Tom has 7 apples, buys 5 more and gives away 3. How many apples does Tom have?"
 *     worked " 7+5=12. 12-3=9. The answer is 9."
 * A problem is a start amount and a list of steps: add ("buys/finds/gets N more"), subtract
 * ("gives away/loses/sells N"), double, triple ("doubles/triples them") and halve ("gives away
 * half"); amounts never go negative, halving only meets even amounts, and two multiplications
 * never follow each other.
 * Levels (steps; start and operand range; step kinds):
 *     1: 1 step, 2..10 and 1..9, add/subtract       2: 2 steps, 2..20 and 1..10, add/subtract
 *     3: 2 steps, 2..30 and 1..20, + double/triple  4: 3 steps, 2..50 and 1..30, + halve
 *     5: 3 steps, 10..99 and 1..60, all kinds
 * Does not decide splits (task.c). Reference: the format of GSM8K (Cobbe et al., 2021), made
 * small enough for a byte-level model of a few million parameters. */
#include <string.h>

#include "rl/task_impl.h"

enum { OP_ADD, OP_SUB, OP_DOUBLE, OP_TRIPLE, OP_HALF };

static const char *const items[] = {
    "apples", "pears", "pens", "books", "coins", "cards", "stamps", "shells",
    "marbles", "cookies", "eggs", "balls", "cups", "hats", "toys", "plums",
};
static const char *const add_verbs[] = {"buys %lld more", "finds %lld more", "gets %lld more"};
static const char *const sub_verbs[] = {"gives away %lld", "loses %lld", "sells %lld"};

typedef struct level_shape {
    int steps, start_lo, start_hi, operand_hi, kinds; /* kinds: OP_ADD..kinds-1 allowed */
} level_shape;

static const level_shape shapes[T2_TASK_LEVEL_MAX + 1] = {
    {0, 0, 0, 0, 0},       {1, 2, 10, 9, 2},      {2, 2, 20, 10, 2},
    {2, 2, 30, 20, 4},     {3, 2, 50, 30, 5},     {3, 10, 99, 60, 5},
};

/* Picks a step kind allowed at the level that applies to the amount x: add and subtract
 * 4 times in 10 each, multiply and halve once each; subtract needs x >= 1, halve an even
 * x >= 2, multiply keeps x within 999 and never follows a multiplication. */
static int pick_op(t2_rng *rng, int kinds, int64_t x, int previous) {
    for (;;) {
        int r = (int)t2_task_rand(rng, 0, 9);
        int op = r < 4 ? OP_ADD : r < 8 ? OP_SUB : r == 8 ? OP_DOUBLE + (int)t2_task_rand(rng, 0, 1)
                                                          : OP_HALF;
        if (op >= kinds) continue;
        if (op == OP_SUB && x < 1) continue;
        if (op == OP_HALF && (x < 2 || x % 2 != 0)) continue;
        if ((op == OP_DOUBLE || op == OP_TRIPLE) &&
            (x * 3 > 999 || previous == OP_DOUBLE || previous == OP_TRIPLE))
            continue;
        return op;
    }
}

void t2_task_math_generate_worded(t2_rng *rng, int level, t2_task_item *item,
                                  const char *const add[3], const char *const subtract[3],
                                  const char *category) {
    const level_shape *shape = &shapes[level];
    const char *name = t2_task_pick(rng, t2_task_names, T2_TASK_N_NAMES);
    const char *thing = t2_task_pick(rng, items, (int)(sizeof items / sizeof items[0]));
    int64_t x = t2_task_rand(rng, shape->start_lo, shape->start_hi);
    t2_task_text_add(&item->question, "%s has %lld %s", name, (long long)x, thing);
    int op = -1;
    for (int i = 0; i < shape->steps; i++) {
        op = pick_op(rng, shape->kinds, x, op);
        int64_t y = x;
        t2_task_text_add(&item->question, "%s", i == shape->steps - 1 ? " and " : ", ");
        if (i > 0) t2_task_text_add(&item->steps, " ");
        switch (op) {
        case OP_ADD: {
            int64_t b = t2_task_rand(rng, 1, shape->operand_hi);
            y = x + b;
            t2_task_text_add(&item->question, t2_task_pick(rng, add, 3), (long long)b);
            t2_task_text_add(&item->steps, "%lld+%lld=%lld.", (long long)x, (long long)b,
                             (long long)y);
            break;
        }
        case OP_SUB: {
            int64_t b = t2_task_rand(rng, 1, x < shape->operand_hi ? x : shape->operand_hi);
            y = x - b;
            t2_task_text_add(&item->question, t2_task_pick(rng, subtract, 3), (long long)b);
            t2_task_text_add(&item->steps, "%lld-%lld=%lld.", (long long)x, (long long)b,
                             (long long)y);
            break;
        }
        case OP_DOUBLE:
        case OP_TRIPLE: {
            int k = op == OP_DOUBLE ? 2 : 3;
            y = x * k;
            t2_task_text_add(&item->question, "%s them", k == 2 ? "doubles" : "triples");
            t2_task_text_add(&item->steps, "%lld*%d=%lld.", (long long)x, k, (long long)y);
            break;
        }
        default: /* OP_HALF */
            y = x / 2;
            t2_task_text_add(&item->question, "gives away half");
            t2_task_text_add(&item->steps, "%lld/2=%lld.", (long long)x, (long long)y);
            break;
        }
        x = y;
    }
    t2_task_text_add(&item->question, ". How many %s does %s have?", thing, name);
    t2_task_text_add(&item->answer, "%lld", (long long)x);
    item->match = T2_ANSWER_MATCH_NUMERIC;
    item->category = category;
}

void t2_task_math_generate(t2_rng *rng, int level, t2_task_item *item) {
    t2_task_math_generate_worded(rng, level, item, add_verbs, sub_verbs, "math");
}

/* The cls task: which category (math, code or reasoning) a query comes from.
 *     "Classify: s, tr"      worked " The answer is math."
 * The query is drawn from the math, code or reasoning generator (at their default levels,
 * each category equally likely) and shown whole or as a window of consecutive bytes, so that
 * the level sets how much evidence the model gets:
 *     1: the whole query   2: 4..8 bytes   3: 2..4 bytes   4: 1..3 bytes   5: 1..2 bytes
 * Whole queries are told apart by their form alone (nearly 100 % for any model that saw a few
 * of each); short windows are often ambiguous ("s, ", "12", "Ann"), which caps the accuracy
 * any model can reach and leaves room to learn (docs/tasks.md gives the measured ceilings).
 * Level 1 is the prompt of the adaptation's prompt-based dispatch. The key is the shown text,
 * so one window always falls in one split whatever query it came from.
 * Does not decide splits (task.c). */
#include <string.h>

#include "rl/task_impl.h"

void t2_task_cls_generate(t2_rng *rng, int level, t2_task_item *item) {
    static const int bytes_lo[] = {0, 0, 4, 2, 1, 1}, bytes_hi[] = {0, 0, 8, 4, 3, 2};
    static const t2_task_generate_fn sources[] = {
        t2_task_math_generate, t2_task_code_generate, t2_task_reasoning_generate};
    int count;
    const char *const *names = t2_task_categories(&count);
    int c = (int)t2_task_rand(rng, 0, count - 1);
    t2_task_item source;
    memset(&source, 0, sizeof source);
    sources[c](rng, t2_task_find(names[c])->default_level, &source);
    size_t first = 0, n = source.question.len;
    if (level >= 2) {
        size_t want = (size_t)t2_task_rand(rng, bytes_lo[level], bytes_hi[level]);
        if (want < n) {
            first = (size_t)t2_task_rand(rng, 0, (int64_t)(n - want));
            n = want;
        }
    }
    t2_task_text_add(&item->question, "Classify: %.*s", (int)n, source.question.s + first);
    t2_task_text_add(&item->answer, "%s", names[c]);
    item->match = T2_ANSWER_MATCH_EXACT;
    item->category = names[c];
}

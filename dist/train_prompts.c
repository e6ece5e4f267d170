/* Which train items an expert-training run draws, and how long their prompts are (see
 * train_impl.h). The steps' draws depend only on (seed, step) and on which prompts fit, so
 * before the first step every rank replays the draws of steps 1..steps and the ranks
 * tokenize the prompts drawn (and the validation items), each rank a contiguous share of
 * them, the lengths then gathered: the engine is sized for the longest prompt the run will
 * ever draw. Measuring only those keeps the set-up at steps × batch prompts whatever the
 * split's size (a generator's split has 200,000 items: tokenizing all of them took 1.6 s,
 * 36 s under the sanitizers), and sizing from them, not from a sample of the split, means
 * no step — and no resume of it — meets a prompt too long for the engine.
 * A candidate whose prompt cannot fit the model's context with max_new_tokens is replaced
 * by another draw (slot i's own stream), so the replay runs in rounds: each round measures
 * the candidates whose length is not known yet. Does not generate or evaluate. */
#include <mpi.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/rng.h"
#include "dist/train_impl.h"

enum { LENGTH_UNKNOWN = -1, LENGTH_ASKED = -2 };

void t2_train_prompts_free(t2_train_prompts *p) {
    t2_free(p->length);
    t2_free(p->val);
    memset(p, 0, sizeof *p);
}

/* Step's batch into indices[batch]. Slot i's first candidate is the i-th draw of the step's
 * stream — with nothing skipped, the draws of a plain draw with replacement from the pool —
 * and a candidate whose prompt is too long is replaced by the next draw of slot i's own
 * stream. A slot whose candidate's length is not known yet gets -1 and, when asked is not
 * NULL, the candidate is appended to asked[*n_asked] once (marked LENGTH_ASKED in
 * length, which is then p->length). */
static void draw_step(const t2_train_prompts *p, int64_t step, int64_t *indices,
                      int32_t *length, int64_t *asked, int64_t *n_asked) {
    uint64_t step_seed = t2_train_seed(p->seed, 1, (uint64_t)step);
    t2_rng rng, retry;
    t2_rng_init(&rng, step_seed);
    for (int64_t i = 0; i < p->batch; i++) {
        int64_t c = (int64_t)(t2_rng_next(&rng) % (uint64_t)p->pool_end);
        int retrying = 0;
        while (p->length[c] > p->max_len) {
            if (!retrying) t2_rng_init(&retry, t2_train_seed(step_seed, 1 + (uint64_t)i, 0));
            retrying = 1;
            c = (int64_t)(t2_rng_next(&retry) % (uint64_t)p->pool_end);
        }
        indices[i] = p->length[c] >= 0 ? c : -1;
        if (p->length[c] == LENGTH_UNKNOWN && asked != NULL) {
            length[c] = LENGTH_ASKED;
            asked[(*n_asked)++] = c;
        }
    }
}

void t2_train_prompts_draw(const t2_train_prompts *p, int64_t step, int64_t *indices) {
    draw_step(p, step, indices, NULL, NULL, NULL);
    for (int64_t i = 0; i < p->batch; i++) T2_ASSERT(indices[i] >= 0);
}

/* Collective: the lengths of the prompts of items[0..n), each rank tokenizing a contiguous
 * share, into p->length on every rank. */
static void measure(t2_train_prompts *p, const t2_runtime *rt, const t2_task *task,
                    const t2_prompt_encoder *prompt, const int64_t *items, int64_t n) {
    int64_t *lengths = t2_alloc_array((size_t)n, sizeof *lengths);
    int *counts = t2_alloc_array((size_t)rt->size, sizeof *counts);
    int *offsets = t2_alloc_array((size_t)rt->size, sizeof *offsets);
    for (int r = 0; r < rt->size; r++) {
        offsets[r] = (int)(n * r / rt->size);
        counts[r] = (int)(n * (r + 1) / rt->size) - offsets[r];
    }
    for (int64_t i = offsets[rt->rank]; i < offsets[rt->rank] + counts[rt->rank]; i++)
        lengths[i] = t2_rollout_longest_prompt(task, prompt, T2_TASK_SPLIT_TRAIN, items[i], 1);
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, lengths, counts, offsets, MPI_INT64_T,
                   MPI_COMM_WORLD);
    for (int64_t i = 0; i < n; i++) {
        p->length[items[i]] = (int32_t)(lengths[i] < INT32_MAX ? lengths[i] : INT32_MAX);
        p->measured++;
    }
    t2_free(offsets);
    t2_free(counts);
    t2_free(lengths);
}

/* Fills the lists and counts from the measured lengths. */
static void summarize(t2_train_prompts *p) {
    p->first_skipped = -1;
    for (int64_t i = 0; i < p->n; i++) {
        if (p->length[i] < 0) continue;
        if (p->length[i] > p->max_len) {
            if (p->skipped++ == 0) p->first_skipped = i;
        } else if (i >= p->pool_end) {
            p->val[p->n_val++] = i;
        } else if (p->length[i] > p->longest) {
            p->longest = p->length[i];
            p->longest_item = i;
        }
    }
}

int t2_train_prompts_measure(t2_train_prompts *p, const t2_runtime *rt, const t2_task *task,
                             const t2_prompt_encoder *prompt, int64_t n, int64_t pool_end,
                             int64_t max_len, uint64_t seed, int64_t batch, int64_t steps,
                             t2_error *err) {
    T2_ASSERT(pool_end >= 1 && pool_end <= n && n < (1ll << 31) && max_len >= 1 && batch >= 1);
    *p = (t2_train_prompts){.n = n, .pool_end = pool_end, .max_len = max_len, .seed = seed,
                            .batch = batch};
    p->length = t2_alloc_array((size_t)n, sizeof *p->length);
    for (int64_t i = 0; i < n; i++) p->length[i] = LENGTH_UNKNOWN;
    p->val = t2_alloc_array((size_t)(n - pool_end > 0 ? n - pool_end : 1), sizeof *p->val);
    /* the validation items, then rounds of the steps' candidates until every slot is drawn;
     * each round measures at least one new item, so at most pool_end rounds */
    int64_t cap = n - pool_end + (steps * batch < pool_end ? steps * batch : pool_end);
    int64_t *asked = t2_alloc_array((size_t)cap, sizeof *asked);
    int64_t *indices = t2_alloc_array((size_t)batch, sizeof *indices);
    int64_t n_asked = 0, unfit = 0;
    int status = 0;
    for (int64_t i = pool_end; i < n; i++) asked[n_asked++] = i;
    while (n_asked > 0) {
        measure(p, rt, task, prompt, asked, n_asked);
        for (int64_t j = 0; j < n_asked; j++)
            unfit += asked[j] < pool_end && p->length[asked[j]] > max_len;
        if (unfit == pool_end) { /* every draw would be replaced, forever */
            status = -1;
            break;
        }
        n_asked = 0;
        for (int64_t step = 1; step <= steps; step++)
            draw_step(p, step, indices, p->length, asked, &n_asked);
    }
    t2_free(indices);
    t2_free(asked);
    summarize(p);
    if (status != 0 || (p->n_val == 0 && n > pool_end))
        return t2_error_set(err, "task %s: no %s item has a prompt of at most %lld tokens (the "
                            "model's positions less max_new_tokens); expected shorter prompts "
                            "or fewer new tokens", t2_task_info_of(task)->name,
                            status != 0 ? "training" : "validation", (long long)max_len);
    return 0;
}

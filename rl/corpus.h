/* The pretraining corpus: packed rows of tokens drawn from a weighted mix of tasks' train
 * splits (prompt + worked answer, then the end-of-sequence token).
 *
 * Row `row` of step `step` depends only on (seed, step, row): a random stream seeded from
 * those three picks each document's task (by weight) and index, so a run gives the same data
 * whatever the number of ranks, and a resumed run continues with exactly the rows it would
 * have seen. A row starts at a document's start and is filled with whole documents; the last
 * one is cut at the row's end. Single-process; no MPI. */
#ifndef T2_RL_CORPUS_H
#define T2_RL_CORPUS_H

#include <stdint.h>

#include "base/error.h"
#include "model/tokenizer.h"
#include "rl/task.h"

enum { T2_CORPUS_MAX_TASKS = 16 };

typedef struct t2_corpus {
    int n_tasks;
    t2_task *tasks[T2_CORPUS_MAX_TASKS];  /* owned */
    double cumulative[T2_CORPUS_MAX_TASKS]; /* cumulative normalised weights */
    const t2_tokenizer *tok;              /* borrowed */
    int32_t eos_id;
    uint64_t seed;
} t2_corpus;

/* Parses a mix "math:3,code:3,reasoning:3,cls:1" (task[:weight][@level], weight default 1,
 * level default the task's) and opens the tasks with the given seed. tok must outlive the
 * corpus; it may be NULL when only t2_corpus_document is used. 0, or -1 with err ("corpus mix 'x': ...; expected task[:weight][@level],...")
 * and the corpus left safe to free. */
int t2_corpus_init(t2_corpus *c, const char *mix, uint64_t seed, const t2_tokenizer *tok,
                   int32_t eos_id, t2_error *err);
void t2_corpus_free(t2_corpus *c); /* accepts a zeroed corpus; may run twice */

/* Fills row with n tokens (inputs are row[0..n-2], targets row[1..n-1]) for (step, row_index)
 * from `split`. Deterministic. */
void t2_corpus_fill_row(const t2_corpus *c, t2_task_split split, int64_t step,
                        int64_t row_index, int32_t *row, int64_t n);

/* Document `index` (>= 0) of the mix's text stream from `split`: a task by weight, one of
 * its items (prompt + worked answer), as t2_corpus_fill_row draws them, without the EOS.
 * Deterministic in (seed, index); heap, t2_free. For training a tokenizer on the corpus. */
char *t2_corpus_document(const t2_corpus *c, t2_task_split split, int64_t index, size_t *len);

#endif

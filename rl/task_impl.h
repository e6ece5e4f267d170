/* Internals shared by the task files of rl/ (not for use outside rl/): the text item a
 * generator fills, the generators, the word lists several generators share, the dataset
 * reader and the JSON-lines reader. The public interface is rl/task.h. */
#ifndef T2_RL_TASK_IMPL_H
#define T2_RL_TASK_IMPL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/rng.h"
#include "model/strmap.h"
#include "rl/task.h"

/* Bytes of one generated text field, NUL included; generators stay far below it. */
enum { T2_TASK_TEXT_MAX = 512 };

typedef struct t2_task_text {
    char s[T2_TASK_TEXT_MAX]; /* NUL-terminated */
    size_t len;
} t2_task_text;

/* Appends formatted text; a generator overflowing the buffer is a programming error
 * (T2_ASSERT). */
void t2_task_text_add(t2_task_text *text, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What a generator produces for one candidate problem. Zeroed before each call. */
typedef struct t2_task_item {
    t2_task_text key;      /* canonical problem text; left empty it is the question */
    t2_task_text question; /* the question, without the "Question: " format */
    t2_task_text steps;    /* the worked steps before "The answer is", may be empty */
    t2_task_text answer;   /* the reference answer */
    t2_answer_match match;
    const char *category;  /* static category name or NULL */
} t2_task_item;

/* A generator: draws one problem of the level (1..5) from rng. */
typedef void (*t2_task_generate_fn)(t2_rng *rng, int level, t2_task_item *item);

void t2_task_math_generate(t2_rng *rng, int level, t2_task_item *item);
/* The math task's problem with other words for its add and subtract steps (three printf
 * formats each, taking the operand) and the item's category: math_shift's generator. */
void t2_task_math_generate_worded(t2_rng *rng, int level, t2_task_item *item,
                                  const char *const add[3], const char *const subtract[3],
                                  const char *category);
void t2_task_code_generate(t2_rng *rng, int level, t2_task_item *item);
void t2_task_reasoning_generate(t2_rng *rng, int level, t2_task_item *item);
void t2_task_cls_generate(t2_rng *rng, int level, t2_task_item *item);
void t2_task_heldout_arith_code_generate(t2_rng *rng, int level, t2_task_item *item);
void t2_task_heldout_mc_math_generate(t2_rng *rng, int level, t2_task_item *item);
void t2_task_heldout_math_shift_generate(t2_rng *rng, int level, t2_task_item *item);
void t2_task_heldout_code_shift_generate(t2_rng *rng, int level, t2_task_item *item);

/* A uniform integer in [lo, hi] (lo <= hi). */
int64_t t2_task_rand(t2_rng *rng, int64_t lo, int64_t hi);
/* A uniformly chosen entry of a list of n strings. */
const char *t2_task_pick(t2_rng *rng, const char *const *list, int n);
/* A random permutation of 0..n-1 into perm. */
void t2_task_shuffle(t2_rng *rng, int *perm, int n);

/* Three-letter given names shared by the word problems and the reasoning puzzles. */
enum { T2_TASK_N_NAMES = 20 };
extern const char *const t2_task_names[T2_TASK_N_NAMES];

/* The worked answer of the task format (task.h), as a heap string (t2_free). */
char *t2_task_worked_make(const char *steps, const char *answer);

/* JSON lines (task_lines.c): iterates over the non-blank lines of a text, numbering them
 * from 1. */
typedef struct t2_task_lines {
    const char *text; /* borrowed */
    size_t len, pos;
    int64_t line;     /* number of the line last returned */
} t2_task_lines;

/* The next non-blank line (without its "\n" or "\r\n"): 1 with *line and *len
 * set, 0 at the end. */
int t2_task_lines_next(t2_task_lines *it, const char **line, size_t *len);
/* Parses one line as a JSON object: a new reference, or NULL with err =
 * "<path>:<line>: invalid JSON at column C: <reason>; expected <expected>" or
 * "<path>:<line>: the line is <type>; expected <expected>". */
json_t *t2_task_lines_parse(const char *path, int64_t line_no, const char *line, size_t len,
                            const char *expected, t2_error *err);

/* Records record index's id in ids (the id -> index map of a dataset file), where = the
 * record's "<path>:<line>". 0, or -1 with err "<where>: too many records; ..." (index past
 * 2^31 - 1) or "<where>: <key> '<id>' was already used by record N; expected unique ids". */
int t2_task_lines_add_id(t2_strmap *ids, const char *id, int64_t index, const char *key,
                         const char *where, t2_error *err);

/* A dataset file read into memory (task_dataset.c). */
typedef struct t2_task_dataset t2_task_dataset;

/* Reads and checks the whole JSON-lines file at path in the format of task name ("gsm8k",
 * "arc" or "qa"). NULL with err "<path>:<line>: ...; expected ..." on the first bad line. */
t2_task_dataset *t2_task_dataset_load(const char *name, const char *path, t2_error *err);
void t2_task_dataset_free(t2_task_dataset *data); /* accepts NULL */
int64_t t2_task_dataset_size(const t2_task_dataset *data);
/* Fills sample with record index; its prompt is tmpl (checked against names, task.c) with
 * the record's placeholder values: gsm8k, qa {question}; arc {question} (the stem) and
 * {choices} ("A. text" lines joined by "\n"). The fallback field is left 0. */
void t2_task_dataset_get(const t2_task_dataset *data, int64_t index, const char *tmpl,
                         const char *const *names, int n_names, t2_task_sample *sample);
int64_t t2_task_dataset_find_id(const t2_task_dataset *data, const char *id);

#endif

/* Verifiable tasks: the registry of built-in generators and dataset readers, their samples,
 * the pretraining corpus text and the reward.
 *
 * Every sample is a prompt, the user-turn text fed to the model, and a worked answer:
 *     prompt:    the task's prompt template with the question filled in: by default
 *                "Question: <question>\nAnswer:" (built-in tasks and qa), the paper's
 *                instruction prompts for gsm8k and arc (docs/tasks.md "Prompts");
 *                t2_task_options.prompt_template replaces it
 *     worked:    " <steps> The answer is <answer>.\n"   (the completion used for pretraining)
 * Generation stops at T2_TASK_TERMINATOR ("\n"); the reward (rl/answer.h) reads the answer
 * after the last marker ("The answer is", "Answer:", "####", \boxed{}) and checks it exactly:
 * +1 right, -1 otherwise. gsm8k and arc, as the paper's evaluation, read a completion without
 * any marker by t2_answer_extract_last (the last number, the last standalone letter).
 *
 * Built-in tasks are seeded generators: sample (split, index) is the same item on every call
 * for a given seed and level, and the train and test splits never share a problem (each
 * candidate problem belongs to one split by a hash of its canonical text, its key; a
 * generator draws candidates until one belongs to the requested split). The key does not
 * depend on the seed or the level, so no seed's test problem is in any seed's train split.
 * Dataset tasks (gsm8k, arc, qa) read a JSON-lines file; the file is the split: both split
 * values give its records in file order.
 *
 * Does not generate text with a model, train, or print: see docs/tasks.md for every task, its
 * levels and the file formats. Single-process; no MPI. */
#ifndef T2_RL_TASK_H
#define T2_RL_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "rl/answer.h"
#include "rl/sandbox.h"

#define T2_TASK_TERMINATOR "\n"
#define T2_TASK_MBPP_TERMINATOR "\n```\n"

typedef enum t2_task_split {
    T2_TASK_SPLIT_TRAIN = 0,
    T2_TASK_SPLIT_TEST = 1,
} t2_task_split;

/* Default split sizes of the generators and the range of their difficulty levels. */
enum {
    T2_TASK_TRAIN_SIZE = 200000,
    T2_TASK_TEST_SIZE = 1000,
    T2_TASK_LEVEL_MIN = 1,
    T2_TASK_LEVEL_MAX = 5,
};

/* What the registry knows about a task before it is opened. */
typedef struct t2_task_info {
    const char *name;     /* "math", "code", ..., "gsm8k" */
    const char *summary;  /* one line for listings */
    const char *category; /* the expert category it trains ("math", "code", "reasoning",
                             "cls"), or NULL (held-out and dataset tasks) */
    int is_dataset;       /* 1: reads a JSON-lines file (options.data_path required) */
    int is_heldout;       /* 1: no expert trains on it (the adaptation issue's unseen tasks) */
    int default_level;    /* generators: level used when options.level is 0; datasets: 0 */
} t2_task_info;

/* The prompt of the task format, "Question: <question>\nAnswer:", as a heap string (t2_free):
 * how a free query is put to the model (rl/adapt.h t2_adapt_answer). */
char *t2_task_prompt_make(const char *question);

/* The registered tasks, in listing order (*count set). Borrowed, static. */
const t2_task_info *t2_task_list(int *count);
/* The task called name, or NULL. */
const t2_task_info *t2_task_find(const char *name);

/* The expert categories a query can belong to, for prompt-based dispatch and the cls task:
 * {"math", "code", "reasoning"} (*count set). Borrowed, static. */
const char *const *t2_task_categories(int *count);

typedef struct t2_task_options {
    const char *data_path; /* dataset tasks: the JSON-lines file; generators: NULL */
    int level;             /* generators: 1..5, 0 = the task's default; datasets: 0 */
    uint64_t seed;         /* generators: the random stream; any value */
    int64_t train_size;    /* generators: samples in the train split, 0 = T2_TASK_TRAIN_SIZE */
    int64_t test_size;     /* generators: samples in the test split, 0 = T2_TASK_TEST_SIZE */
    const char *prompt_template; /* the prompt with {name} placeholders (rl/task_template.h):
                                    {question} for every task, and {choices} for arc; NULL =
                                    the task's default (t2_task_prompt_template) */
} t2_task_options;

typedef struct t2_task t2_task; /* opaque; an open task (task.c) */

/* Opens the task called name. Dataset tasks read and check the whole file here. Returns a new
 * task (free with t2_task_free) or NULL with err set: unknown name (the known ones listed),
 * an option that does not apply to the task or is out of range, a prompt template that does
 * not check ("prompt_template of task '<name>': ...; expected ..."), or a file problem
 * "<file>:<line>: <what is wrong>; expected <what>". */
t2_task *t2_task_open(const char *name, const t2_task_options *options, t2_error *err);
void t2_task_free(t2_task *task); /* accepts NULL */

const t2_task_info *t2_task_info_of(const t2_task *task);
/* The prompt template in use: options.prompt_template or the task's default. Borrowed, lives
 * as long as the task. */
const char *t2_task_prompt_template(const t2_task *task);
/* The system message the paper's evaluation puts before the task's prompt, or NULL for tasks
 * without one (built-in tasks, qa). Static. The prompt itself never holds it: a chat format
 * (model/prompt_format.h) places it. */
const char *t2_task_default_system(const t2_task *task);
/* Where a completion of the task ends in the plain format (a stop string; chat formats end at
 * their end-of-turn marker instead): T2_TASK_TERMINATOR "\n" for every task but mbpp, whose
 * answer is a code block and ends at its closing fence, T2_TASK_MBPP_TERMINATOR. Static. */
const char *t2_task_terminator(const t2_task *task);

/* The level in use (generators), 0 for datasets. */
int t2_task_level(const t2_task *task);
/* Number of samples in the split (for datasets: records in the file, for either split). */
int64_t t2_task_size(const t2_task *task, t2_task_split split);

/* One sample. All strings are heap copies owned by the sample (t2_task_sample_free). */
typedef struct t2_task_sample {
    char *id;          /* generators: the index within the split in decimal; datasets: the
                          record's "id" field, or its 0-based line number when it has none */
    char *key;         /* canonical problem text; equal keys are the same problem */
    char *prompt;      /* the text fed to the model (the user turn): the prompt template
                          filled in, by default "Question: ...\nAnswer:" */
    char *answer;      /* reference answer, canonical string */
    char *worked;      /* a correct completion, " ... The answer is X.\n" */
    const char *category; /* static: the category of the query (for cls the answer), or NULL
                             for held-out and dataset tasks */
    t2_answer_match match; /* how answer is compared (rl/answer.h) */
    int fallback;          /* 1: a completion holding no marker is read by
                              t2_answer_extract_last (gsm8k, arc); 0: it is no answer */
    char *tests;           /* mbpp: the asserts of test_list, one per line, that the code of a
                              completion must pass; NULL for every other task */
    char *test_setup;      /* mbpp: test_setup_code, run before the code ("" when none) */
    const t2_sandbox_limits *sandbox; /* mbpp: the limits its executions run under, borrowed
                                         from the task; NULL = t2_sandbox_limits_default */
} t2_task_sample;

/* Fills sample with item index (0 <= index < t2_task_size) of the split. Deterministic; reads
 * the task only, so several threads may call it on one task. The previous contents of sample
 * are not freed. */
void t2_task_get(const t2_task *task, t2_task_split split, int64_t index,
                 t2_task_sample *sample);
void t2_task_sample_free(t2_task_sample *sample); /* accepts a zeroed sample; may run twice */

/* The index of the sample whose id is id in the split, or -1 when none has it. */
int64_t t2_task_find_id(const t2_task *task, t2_task_split split, const char *id);

/* The answer the reward reads from a completion of sample, in canonical form (rl/answer.h):
 * t2_answer_extract, then t2_answer_extract_last when the sample has the fallback and the
 * completion no marker. Returns 1, or 0 for no answer (out ""). */
int t2_task_answer(const t2_task_sample *sample, const char *completion,
                   char out[T2_ANSWER_MAX]);

/* The reward of a completion of sample: +1 when its answer (t2_task_answer) matches, -1
 * otherwise. */
int t2_task_reward(const t2_task_sample *sample, const char *completion);

/* The rewards of n completions, completions[i] of samples[i], into rewards[0..n-1]: as
 * t2_task_reward gives them, but mbpp's programs run concurrently (rl/sandbox.h
 * t2_sandbox_run_batch, up to the limits' jobs at once, under the limits of the first mbpp
 * sample). mbpp's reward is 1 when the completion's code passes every assert of the sample
 * and 0 otherwise (no code, a failed assert, an error, a timeout or any limit reached): its
 * scale is {0, 1}, not the {-1, +1} of answer matching; a reward > 0 is right in both. */
void t2_task_rewards(const t2_task_sample *samples, const char *const *completions, int64_t n,
                     int *rewards);

/* Sets the sandbox limits of mbpp's executions (a copy is kept); other tasks ignore it. */
void t2_task_set_sandbox_limits(t2_task *task, const t2_sandbox_limits *limits);

/* The pretraining text of item index of the split: prompt followed by the worked answer.
 * Heap string (t2_free), its length in *len (may be NULL). */
char *t2_task_corpus_text(const t2_task *task, t2_task_split split, int64_t index, size_t *len);

/* Scores a JSON-lines predictions file, one {"id": <string or integer>, "completion": <string>}
 * per line (blank lines skipped), against the split: each id names a sample (see
 * t2_task_sample.id). Returns 0 with *n lines scored, *correct with reward +1 and *no_answer
 * whose completion holds no answer; or -1 with err = "<file>:<line>: ...; expected ..." (bad
 * JSON, missing or mistyped field, unknown or repeated id) or "<file>: no predictions". */
int t2_task_score_file(const t2_task *task, t2_task_split split, const char *path, int64_t *n,
                       int64_t *correct, int64_t *no_answer, t2_error *err);

#endif

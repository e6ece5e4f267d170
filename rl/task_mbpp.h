/* The mbpp dataset task inside rl/ (not for use outside rl/; the public interface is
 * rl/task.h): reading MBPP JSON lines, the code a completion holds, the program its reward
 * runs, and the rewards (rl/sandbox.h). docs/tasks.md "mbpp" is the manual. */
#ifndef T2_RL_TASK_MBPP_H
#define T2_RL_TASK_MBPP_H

#include <stdint.h>

#include "base/error.h"
#include "rl/sandbox.h"
#include "rl/task.h"

/* The paper's MBPP prompt and system message (see task_mbpp.c): placeholders {question} (the
 * problem text, ending with '.') and {tests} (the first assert of test_list). */
#define T2_TASK_MBPP_TEMPLATE \
    "{question} Your code should satisfy the following assertion:\n```python\n{tests}\n```"
extern const char t2_task_mbpp_system[];

typedef struct t2_task_mbpp t2_task_mbpp;

/* Reads and checks the whole file. NULL with err "<path>:<line>: ...; expected ..." on the
 * first bad line, "<path>: no records; ..." for a file without any. */
t2_task_mbpp *t2_task_mbpp_load(const char *path, t2_error *err);
void t2_task_mbpp_free(t2_task_mbpp *data); /* accepts NULL */
int64_t t2_task_mbpp_size(const t2_task_mbpp *data);
/* Fills sample with record index, its prompt rendered from tmpl (checked by task.c against
 * names, which are "question" and "tests" in some order). */
void t2_task_mbpp_get(const t2_task_mbpp *data, int64_t index, const char *tmpl,
                      const char *const *names, int n_names, t2_task_sample *sample);
int64_t t2_task_mbpp_find_id(const t2_task_mbpp *data, const char *id);
/* The limits every sample of data runs under from now on (a copy is kept). */
void t2_task_mbpp_set_limits(t2_task_mbpp *data, const t2_sandbox_limits *limits);

/* The Python code of a completion (heap, t2_free), by the rule of docs/tasks.md: the first
 * fenced block with a language ("```python"); else, with bare "```" fences only, the block
 * after a fence that opens the completion, the text before the first fence when their number
 * is odd (the prompt opened the block), the first fenced block when it is even; without any
 * fence the whole completion. Blank lines at both ends are dropped. */
char *t2_task_mbpp_extract(const char *completion);

/* The program the reward runs: test_setup + code + tests + a line printing marker. Heap. */
char *t2_task_mbpp_program(const t2_task_sample *sample, const char *code, const char *marker);

/* t2_task_reward and t2_task_answer for a sample with tests (task.c dispatches here). */
int t2_task_mbpp_reward(const t2_task_sample *sample, const char *completion);
int t2_task_mbpp_answer(const t2_task_sample *sample, const char *completion, char *out,
                        size_t cap);

#endif

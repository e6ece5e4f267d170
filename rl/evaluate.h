/* Greedy (or sampled) accuracy of a model on a task: completes the prompts of samples
 * [first, first + n) of a split in batches through model/generate.h (stopping at the task's
 * stop strings, an EOS id of the model or max_new_tokens) and scores each completion with the
 * task's reward. Prompts become ids through the model's prompt encoder (model->prompt: the
 * chat format and BOS/EOS of the run, model/prompt_encoder.h).
 * t2_evaluate_prompts is the generation step alone, over any prompt texts (the adaptation's
 * classification pass, rl/adapt.h, uses it too).
 * Single-process; dist/ shards the sample range over ranks. */
#ifndef T2_RL_EVALUATE_H
#define T2_RL_EVALUATE_H

#include <stdint.h>

#include "base/error.h"
#include "model/generate.h"
#include "model/model_dir.h"
#include "model/prompt_encoder.h"
#include "model/sampler.h"
#include "rl/task.h"

typedef struct t2_eval_options {
    int64_t first, n;          /* sample range of the split */
    int64_t batch;             /* sequences decoded together (KV-cache slots) */
    int64_t max_new_tokens;
    t2_sampler_params sampler; /* temperature 0: greedy */
    uint64_t seed;
    t2_weight_type kv_cache;   /* the KV cache's type: T2_WEIGHT_F32 (0) or _F16 */
} t2_eval_options;

typedef struct t2_eval_result {
    int64_t n, correct, no_answer;
    int64_t prompt_tokens, new_tokens;
    char **completions; /* [n] heap texts when asked for, else NULL (t2_eval_result_free) */
} t2_eval_result;

/* How completions are decoded. */
typedef struct t2_eval_decoding {
    int64_t batch;             /* sequences decoded together (KV-cache slots), >= 1 */
    int64_t max_new_tokens;    /* >= 0 */
    t2_sampler_params sampler; /* temperature 0: greedy */
    uint64_t seed;             /* prompt i of a call samples from t2_generate_seed(seed, i) */
    const char *terminator;    /* plain format: where an answer ends (t2_task_terminator);
                                  NULL: T2_TASK_TERMINATOR */
    t2_weight_type kv_cache;   /* the KV cache's type: T2_WEIGHT_F32 (0) or _F16 */
} t2_eval_decoding;

/* Completes prompts[0..n) (texts, tokenized here without BOS) in one t2_generate_run over
 * min(batch, n) KV-cache slots, each stopping at the task terminator, EOS or max_new_tokens.
 * gens[n] receive the completions (free with t2_generate_free) and prompt_tokens[n] the
 * prompts' lengths in tokens. n may be 0. 0, or -1 with err set (a prompt too long for the
 * model's context with max_new_tokens) and gens zeroed. */
int t2_evaluate_prompts(const t2_model_dir *model, const char *const *prompts, int64_t n,
                        const t2_eval_decoding *dec, t2_generation *gens,
                        int64_t *prompt_tokens, t2_error *err);

/* Evaluates; keep_completions stores each completion's text in out->completions. 0, or -1
 * with err set (a prompt too long for the model's context, forward failure). */
int t2_evaluate_task(const t2_model_dir *model, const t2_task *task, t2_task_split split,
                     const t2_eval_options *opt, int keep_completions, t2_eval_result *out,
                     t2_error *err);
void t2_eval_result_free(t2_eval_result *r); /* accepts a zeroed result; may run twice */

/* Sets the run's prompt settings on model (t2_model_dir_set_prompt), with the task's own
 * system message (the paper's, for the dataset tasks; t2_task_default_system) when the
 * settings give none. 0, or -1 with err (the model's encoder unchanged). */
int t2_evaluate_use_prompt(t2_model_dir *model, const t2_prompt_settings *settings,
                           const t2_task *task, t2_error *err);

/* Where a task's completion ends under prompt encoder e: at the task's terminator
 * (t2_task_terminator; NULL: T2_TASK_TERMINATOR) in the plain format, at the chat format's
 * end-of-turn markers otherwise (an answer of a chat model spans lines). Fills stops[] (room
 * for T2_PROMPT_ENCODER_MAX_STOPS + 1 borrowed static strings) and returns their number. */
int t2_evaluate_stop_strings(const t2_prompt_encoder *e, const char *terminator,
                             const char **stops);

/* Wilson 95 % interval of an accuracy of `correct` out of n: [*lo, *hi]. */
void t2_eval_interval(int64_t correct, int64_t n, double *lo, double *hi);

#endif

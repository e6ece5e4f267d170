/* Adaptation strategies (DESIGN.md, Adaptation): answering samples of a task with the base
 * model, one expert of a bundle, a mixture of the bundle's experts with given weights α, or in
 * two passes where the first pass picks the expert:
 *
 *   base        the base model's weights, untouched;
 *   expert      expert k of the bundle: the mixture with α = e_k;
 *   mixture     m' = Σ_k α_k m_k over the bundle's experts (rl/mixture.h; few-shot
 *               adaptation searches α and answers with it);
 *   prompt      pass 1 asks the BASE model which category the query belongs to, with the
 *               cls task's prompt "Question: Classify: <question>\nAnswer:" (rl/task_cls.c,
 *               level 1), where <question> is the sample's own question (its prompt without
 *               "Question: " and "\nAnswer:"); t2_dispatch_parse (rl/dispatch.h) reads the
 *               category among the bundle's categories; pass 2 answers the sample's prompt
 *               with that expert (α = e_k), or with the base model when the completion named
 *               nothing, "other", or more than one category;
 *   classifier  the same, pass 1 running with the bundle's classifier expert;
 *   fewshot     a mixture whose α the cross-entropy method found on a few solved examples
 *               (rl/fewshot.h scores one α, dist/fewshot.h searches), answered as mixture.
 * The routing pass decodes at most T2_ADAPT_ROUTE_TOKENS new tokens (and never more than the
 * answers' max_new_tokens): the cls answer " The answer is <category>." is far shorter.
 *
 * Batching. Generation calls never mix samples of different blocks, block b being the sample
 * indices [b·batch, (b+1)·batch) of the split: each call holds the listed samples of one block
 * (in pass 2: those of one block routed to the same expert). The rows beside a sequence in a
 * batched GEMM, and how prompts are cut into prefill chunks, can change the last bits of its
 * logits and now and then a greedy choice, so this rule is what makes a sample's completion
 * independent of which other blocks are listed: a caller that hands whole blocks to several
 * processes gets exactly the completions of one process given every block (dist/eval.h).
 *
 * Composition. Every W' is composed into one copy of the model's weights; the base model's
 * own weights are never changed. In one t2_adapt_run each needed W' is composed once (the
 * classifier, then each routed expert in bundle order); the copy remembers which member it
 * holds, so consecutive runs with the same expert do not compose again.
 * Memory: with a bundle, a second copy of the weights plus the factors U, s, V of every target
 * (the mixture's adapter) and the members' masks. Single-process; no MPI. */
#ifndef T2_RL_ADAPT_H
#define T2_RL_ADAPT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "model/decomposition_store.h"
#include "model/model_dir.h"
#include "rl/bundle.h"
#include "rl/dispatch.h"
#include "rl/evaluate.h"
#include "rl/mixture.h"
#include "rl/task.h"

enum { T2_ADAPT_ROUTE_TOKENS = 32 }; /* new tokens of the routing pass, at most */

typedef enum t2_adapt_kind {
    T2_ADAPT_BASE = 0,       /* the base model */
    T2_ADAPT_EXPERT = 1,     /* one expert of the bundle */
    T2_ADAPT_MIXTURE = 2,    /* the bundle's experts mixed with weights alpha */
    T2_ADAPT_PROMPT = 3,     /* two passes; the base model picks the expert */
    T2_ADAPT_CLASSIFIER = 4, /* two passes; the classifier expert picks */
    T2_ADAPT_FEWSHOT = 5,    /* a mixture searched on solved examples (dist/fewshot.h), then
                                answered as T2_ADAPT_MIXTURE; t2_adapt_run refuses it */
} t2_adapt_kind;

typedef struct t2_adapt_strategy {
    t2_adapt_kind kind;
    int expert;         /* EXPERT: its index in the bundle */
    const float *alpha; /* MIXTURE: t2_adapt_dim values (borrowed) */
} t2_adapt_strategy;

/* Parses a strategy named as a user writes it: "base", "expert:<name>" (an expert of the
 * bundle), "prompt", "classifier" or "fewshot" (mixtures are given by their α, not by name;
 * "fewshot" names the search for one). bundle may
 * be NULL; bundle_path names it in errors. 0, or -1 with err, one of
 *   "<text>: not a strategy; expected base, expert:<name>, prompt, classifier or fewshot"
 *   "<text>: needs an expert bundle; expected the bundle setting"
 *   "<text>: <bundle_path> has no expert '<name>'; expected one of math, code"
 *   "<text>: <bundle_path> has no classifier; expected a bundle made with a classifier"
 *   "<text>: <bundle_path> has an expert named 'Other', which reads as the base model's
 *    category 'other' (or two named alike in another letter case); expected ..." */
int t2_adapt_strategy_parse(t2_adapt_strategy *s, const char *text, const t2_bundle *bundle,
                            const char *bundle_path, t2_error *err);

/* The strategy's name as parsed ("expert:math"; "mixture" for a mixture) into buf (truncated
 * to size); returns buf. bundle: the one the strategy was parsed with. */
const char *t2_adapt_strategy_name(const t2_adapt_strategy *s, const t2_bundle *bundle,
                                   char *buf, size_t size);

/* 1 when the strategy runs in two passes (prompt, classifier). */
int t2_adapt_strategy_routes(const t2_adapt_strategy *s);

typedef struct t2_adapt {
    const t2_model_dir *model;  /* borrowed: the base model, never changed */
    const t2_bundle *bundle;    /* borrowed; NULL: only the base strategy */
    t2_mixture mixture;         /* over experts[0..n) and then the classifier (member n), when
                                   the bundle has one; zeroed without a bundle */
    t2_model_weights adapted;   /* the base weights with the composed W' of the targets */
    float *alpha;               /* [t2_mixture_dim(&mixture)] scratch */
    int composed;               /* member whose W' adapted holds alone, or -1 */
} t2_adapt;

/* Prepares strategies for model with bundle (NULL: base only; else made for this model, which
 * the caller checks with t2_bundle_check_model) and store (the model's decomposition store,
 * holding every target of the bundle; NULL without a bundle). per_layer: mixture weights per
 * (expert, layer). 0, or -1 with err (a lora bundle cannot be mixed, a store without some
 * target, shapes that differ) and a safe to free. */
int t2_adapt_init(t2_adapt *a, const t2_model_dir *model, const t2_bundle *bundle,
                  const t2_decomposition_store *store, int per_layer, t2_error *err);
void t2_adapt_free(t2_adapt *a); /* zeroed ok; twice ok */

/* Mixture weights over the bundle's experts (classifier excluded): n, or n x layers per layer
 * (α[k * layers + l]). 0 without a bundle. */
int64_t t2_adapt_dim(const t2_adapt *a);

/* What happened to one sample. */
typedef struct t2_adapt_sample {
    int correct;                  /* reward +1 */
    int answered;                 /* the completion holds an answer (rl/answer.h) */
    int route;                    /* two passes: the expert pass 1 picked (bundle index), or
                                     -1 for the base model; one pass: -1 */
    t2_dispatch_outcome outcome;  /* two passes: how pass 1's completion read */
    int category;                 /* the bundle's expert of the sample's own category
                                     (t2_task_sample.category), or -1 (none, or no bundle) */
    int64_t prompt_tokens, new_tokens;             /* the answering pass */
    int64_t route_prompt_tokens, route_new_tokens; /* the routing pass; 0 for one pass */
} t2_adapt_sample;

/* Answers samples indices[0..n) (strictly increasing) of the task's split with strategy s
 * (parsed with a's bundle; EXPERT, MIXTURE and two-pass strategies need one), decoding with
 * dec, into out[n]. 0, or -1 with err (a prompt too long for the model's context) and out
 * undefined; a's weight copy then holds some member's W'. */
int t2_adapt_run(t2_adapt *a, const t2_task *task, t2_task_split split,
                 const int64_t *indices, int64_t n, const t2_adapt_strategy *s,
                 const t2_eval_decoding *dec, t2_adapt_sample *out, t2_error *err);

/* Answers free prompts[0..n) (each "Question: <query>\nAnswer:", t2_task_prompt_make) with
 * strategy s, all in one block per dec->batch prompts (prompt i is in block i / batch): the
 * completions into completions[n] (heap, t2_free each) and the routing of two-pass strategies
 * into out[n] (correct and answered are 0, category -1: there is no reference). 0, or -1
 * with err and nothing allocated. */
int t2_adapt_answer(t2_adapt *a, const char *const *prompts, int64_t n,
                    const t2_adapt_strategy *s, const t2_eval_decoding *dec,
                    t2_adapt_sample *out, char **completions, t2_error *err);

#endif

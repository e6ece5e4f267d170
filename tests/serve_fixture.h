/* What the serve engine's tests share (tests/test_serve_engine.c, tests/test_serve_reuse.c):
 *   - the fixture: the shipped default model with a decomposition store of its MLP matrices
 *     and a bundle of random svf experts math, code, reasoning and the classifier cls
 *     (serve_inputs.h), t2 adapt over them, and the options its engines open with;
 *   - a request's callbacks collected (text, pieces, the result), waited for with a bound,
 *     and a gate that holds gated requests in on_text (no sleeps, no timing checks). */
#ifndef T2_TESTS_SERVE_FIXTURE_H
#define T2_TESTS_SERVE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "model/model_dir.h"
#include "rl/adapt.h"
#include "rl/bundle.h"
#include "rl/serve_engine.h"

enum { T2_SERVE_FIXTURE_MAX_NEW = 40, T2_SERVE_COLLECT_TEXT = 4096 };

typedef struct t2_serve_fixture {
    char *model_path, *store_path, *bundle_path;
    t2_model_dir model;
    t2_bundle bundle;
    t2_decomposition_store store;
    t2_adapt adapt;
    t2_serve_form form;  /* of the engines it opens (composed: texts do not depend on timing) */
    int no_prompt_reuse; /* 1: its engines prefill every prompt whole */
} t2_serve_fixture;

/* Three completion prompts: arithmetic, code, reasoning. */
extern const char *const t2_serve_fixture_questions[3];

/* Writes the store and bundle into dir and loads everything: 0, or -1 after a failed CHECK. */
int t2_serve_fixture_open(t2_serve_fixture *fx, const char *dir);
void t2_serve_fixture_close(t2_serve_fixture *fx, const char *dir); /* removes dir's files */

/* An engine on the fixture's model, store and bundle with its form and reuse, one thread;
 * NULL after a failed CHECK. */
t2_serve_engine *t2_serve_fixture_engine(t2_serve_fixture *fx, int64_t slots, int64_t queue,
                                         int64_t context, t2_serve_routing routing);
/* A greedy completion request. */
t2_serve_request t2_serve_fixture_completion(const char *model, const char *prompt,
                                             int64_t max_tokens);
/* text as the model's prompt encoder writes a completion prompt: its length, ids (heap). */
int64_t t2_serve_fixture_encode(t2_serve_fixture *fx, const char *text, int32_t **ids);

typedef struct t2_serve_collect {
    char text[T2_SERVE_COLLECT_TEXT];
    size_t len;
    int pieces, done_calls, gated;
    t2_serve_result result;
    char adaptation[64];
} t2_serve_collect;

/* The callbacks that fill c (ctx = c). */
t2_serve_callbacks t2_serve_collect_callbacks(t2_serve_collect *c);
/* Submits r with c's callbacks: its id, or -1 after a failed CHECK. */
int64_t t2_serve_collect_submit(t2_serve_engine *e, const t2_serve_request *r,
                                t2_serve_collect *c);
/* Waits (60 s at most: a hang fails the check) until pred(c) holds; 1 when it does. */
int t2_serve_collect_wait(int (*pred)(const t2_serve_collect *), const t2_serve_collect *c,
                          const char *what);
int t2_serve_collect_done(const t2_serve_collect *c);  /* on_done came */
int t2_serve_collect_gated(const t2_serve_collect *c); /* a gated request waits in on_text */
/* Closes (1) or opens (0) the gate; either way no gated request has reached it yet. */
void t2_serve_collect_gate(int closed);
/* The callbacks' lock: held, no callback fills a collect (to read one that may be called
 * again). */
void t2_serve_collect_lock(void);
void t2_serve_collect_unlock(void);
/* CHECKs that c ended once, not cancelled, with the text want. */
void t2_serve_collect_same_text(const t2_serve_collect *c, const char *want, const char *what);

#endif

/* The serve engine (rl/serve_engine.h) on the shipped default model, with a decomposition
 * store of its MLP matrices (double ?gesdd, written as `t2 decompose` writes it) and a
 * bundle of random svf experts math, code, reasoning and the classifier cls, made here:
 *   - concurrent requests on base, an expert, auto (prompt and classifier routing), chat
 *     and completion, greedy and sampled, each complete, with the experts' matrices composed
 *     and again factored (every step, no W' copy); each one's text equals what the same
 *     prompt gets alone (t2_adapt_answer for base / expert / the two passes, t2_generate_run
 *     for sampling, stop strings and max_tokens); usage counts agree;
 *   - the streamed pieces add up to the text; stop strings cut it; max_tokens ends it;
 *   - cancel frees the slot and on_done comes once with cancelled; the queue bound and a
 *     draining engine give 503; every refusal gives its status;
 *   - drain with grace finishes the requests in flight, drain without cancels them;
 *   - open refuses bad options and inputs with one line;
 *   - W' copies past the memory available (T2_MEMORY_AVAILABLE): composed is refused with
 *     one line, auto runs factored without copies and still answers as t2 adapt does.
 * Requests whose timing matters are held by a gate in on_text (no sleeps, no timing checks).
 * The fixture, the collected callbacks and the gate are serve_fixture.h's; the store and
 * bundle come from serve_inputs.h. Prompt reuse: tests/test_serve_reuse.c.
 *   test_serve_engine make DIR [MODEL]   writes DIR/model.svd and DIR/experts.t2b for the
 *                                        model folder MODEL (default: the shipped model), for
 *                                        bench_serve. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "bundle_fixture.h"
#include "check.h"
#include "model/generate.h"
#include "model/model_dir.h"
#include "rl/adapt.h"
#include "rl/bundle.h"
#include "rl/serve_engine.h"
#include "serve_fixture.h"
#include "serve_inputs.h"

enum { MAX_NEW = T2_SERVE_FIXTURE_MAX_NEW };
static const char *const *const questions = t2_serve_fixture_questions;

/* Expects submit to refuse r with status want (and the first word of its line). */
static void refused(t2_serve_engine *e, const t2_serve_request *r, t2_serve_refusal want,
                    const char *key, const char *what) {
    t2_serve_collect c = {0};
    t2_serve_callbacks cb = t2_serve_collect_callbacks(&c);
    t2_serve_refusal refusal = 0;
    t2_error err = {{0}};
    int64_t id = t2_serve_engine_submit(e, r, &cb, &refusal, &err);
    CHECK(id == -1 && refusal == want && strncmp(err.msg, key, strlen(key)) == 0 &&
              strchr(err.msg, '\n') == NULL,
          "%s: id %lld, status %d, '%s'; expected %d and a line starting '%s'", what,
          (long long)id, (int)refusal, err.msg, (int)want, key);
}

/* ---- the references ---- */

/* What t2_adapt_answer gives prompt alone with strategy name (stopping at "\n"). */
static char *adapt_answer(t2_serve_fixture *fx, const char *strategy, const char *prompt,
                          t2_adapt_sample *out) {
    t2_adapt_strategy s;
    t2_error err = {{0}};
    CHECK(t2_adapt_strategy_parse(&s, strategy, &fx->bundle, "bundle", &err) == 0, "%s",
          err.msg);
    t2_eval_decoding dec = {.batch = 1, .max_new_tokens = MAX_NEW,
                            .sampler = {.temperature = 0.0f, .top_p = 1.0f}};
    char *completion = NULL;
    CHECK(t2_adapt_answer(&fx->adapt, &prompt, 1, &s, &dec, out, &completion, &err) == 0, "%s",
          err.msg);
    return completion;
}

/* t2_generate_run on ids alone with the base weights. */
static void generate_alone(t2_serve_fixture *fx, const int32_t *ids, int64_t n,
                           const t2_generate_params *params, t2_generation *out) {
    t2_forward f;
    t2_kv_cache cache;
    int64_t capacity = n + params->max_new_tokens;
    t2_forward_init(&f, &fx->model.cfg, &fx->model.weights, 512, capacity);
    t2_kv_cache_init(&cache, &fx->model.cfg, 1, capacity);
    t2_error err = {{0}};
    const int32_t *prompts[1] = {ids};
    CHECK(t2_generate_run(&f, &cache, fx->model.tok, prompts, &n, 1, params, out, NULL, NULL,
                          &err) == 0, "%s", err.msg);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
}

static t2_generate_params params_of(t2_serve_fixture *fx, int64_t max_new, float temperature,
                                    float top_p, uint64_t seed, const char *const *stops,
                                    int n_stops) {
    return (t2_generate_params){.max_new_tokens = max_new,
                                .sampler = {.temperature = temperature, .top_p = top_p},
                                .seed = seed, .eos_ids = fx->model.cfg.eos_token_ids,
                                .n_eos_ids = fx->model.cfg.n_eos_token_ids,
                                .stop_strings = stops, .n_stop_strings = n_stops};
}

/* ---- the tests ---- */

/* Many requests at once, each as it is alone, in the fixture's form. */
static void test_concurrent(t2_serve_fixture *fx) {
    t2_serve_engine *e = t2_serve_fixture_engine(fx, 8, 8, 0, T2_SERVE_ROUTE_PROMPT);
    if (e == NULL) return;
    const char *const *models = t2_serve_engine_models(e);
    const char *want_models[] = {"base", "math", "code", "reasoning", "auto", NULL};
    for (int i = 0; want_models[i] != NULL; i++)
        CHECK(models[i] != NULL && strcmp(models[i], want_models[i]) == 0,
              "model %d: %s; expected %s", i, models[i], want_models[i]);
    CHECK(models[5] == NULL, "models: more than base, 3 experts and auto");

    /* the references first: the engine's callbacks must not race with them */
    enum { N = 9 };
    const char *kind[N] = {"base", "math", "code", "auto", "auto", "auto", "sampled", "chat",
                           "stop"};
    char *want[N] = {0};
    t2_adapt_sample out[N];
    memset(out, 0, sizeof out);
    want[0] = adapt_answer(fx, "base", questions[0], &out[0]);
    want[1] = adapt_answer(fx, "expert:math", questions[0], &out[1]);
    want[2] = adapt_answer(fx, "expert:code", questions[1], &out[2]);
    for (int q = 0; q < 3; q++) want[3 + q] = adapt_answer(fx, "prompt", questions[q], &out[3 + q]);
    /* sampled: base, temperature 1.5, top_p 1, seed 7, no stop */
    int32_t *ids = NULL;
    int64_t n_ids = t2_serve_fixture_encode(fx, questions[2], &ids);
    t2_generate_params p = params_of(fx, MAX_NEW, 1.5f, 1.0f, 7, NULL, 0);
    t2_generation sampled;
    generate_alone(fx, ids, n_ids, &p, &sampled);
    want[6] = t2_strdup(sampled.text);
    t2_free(ids);
    /* chat on the plain model: the contents joined by a blank line */
    const char *sys = "Answer briefly.", *user = "Question: What is 4 + 4?\nAnswer:";
    char *joined = t2_strdup_printf("%s\n\n%s", sys, user);
    int32_t *chat_ids = NULL;
    int64_t n_chat = t2_tokenizer_encode(fx->model.tok, joined, strlen(joined), &chat_ids);
    const char *const nl[1] = {"\n"};
    p = params_of(fx, MAX_NEW, 0.0f, 1.0f, 0, nl, 1);
    t2_generation chat;
    generate_alone(fx, chat_ids, n_chat, &p, &chat);
    want[7] = t2_strdup(chat.text);
    /* stop: base without stops, then cut at 3 bytes found in its text */
    int64_t n_q = t2_serve_fixture_encode(fx, questions[1], &ids);
    p = params_of(fx, MAX_NEW, 0.0f, 1.0f, 0, NULL, 0);
    t2_generation free_run;
    generate_alone(fx, ids, n_q, &p, &free_run);
    CHECK(free_run.text_len >= 16, "base continues '%s' with %zu bytes; expected 16 or more",
          questions[1], free_run.text_len);
    char stop[4] = {0};
    memcpy(stop, free_run.text + 10, 3);
    char *cut = t2_strdup(free_run.text);
    cut[strstr(cut, stop) - cut] = '\0';
    want[8] = cut;

    t2_serve_collect *c = t2_alloc_zero(N * sizeof *c);
    t2_serve_request r[N];
    r[0] = t2_serve_fixture_completion("base", questions[0], MAX_NEW);
    r[1] = t2_serve_fixture_completion("math", questions[0], MAX_NEW);
    r[2] = t2_serve_fixture_completion("code", questions[1], MAX_NEW);
    for (int q = 0; q < 3; q++)
        r[3 + q] = t2_serve_fixture_completion("auto", questions[q], MAX_NEW);
    r[6] = t2_serve_fixture_completion("base", questions[2], MAX_NEW);
    r[6].temperature = 1.5f;
    r[6].top_p = 1.0f;
    r[6].seed = 7;
    t2_chat_message msgs[2] = {{"system", sys}, {"user", user}};
    r[7] = (t2_serve_request){.model = "base", .messages = msgs, .n_messages = 2,
                              .max_tokens = MAX_NEW, .top_p = 1.0f};
    r[8] = t2_serve_fixture_completion("base", questions[1], MAX_NEW);
    const char *const stops[1] = {stop};
    r[8].stop = stops;
    r[8].n_stop = 1;
    for (int i = 0; i < 8; i++)
        if (i != 6) {
            r[i].stop = nl;
            r[i].n_stop = 1;
        }
    for (int i = 0; i < N; i++) t2_serve_collect_submit(e, &r[i], &c[i]);
    for (int i = 0; i < N; i++) t2_serve_collect_wait(t2_serve_collect_done, &c[i], kind[i]);
    for (int i = 0; i < N; i++) {
        char what[64];
        snprintf(what, sizeof what, "request %d (%s)", i, kind[i]);
        t2_serve_collect_same_text(&c[i], want[i], what);
    }
    /* usage and adaptation */
    for (int i = 0; i < 6; i++) {
        CHECK(c[i].result.prompt_tokens == out[i].prompt_tokens &&
                  c[i].result.completion_tokens == out[i].new_tokens,
              "request %d: usage %lld + %lld; expected %lld + %lld", i,
              (long long)c[i].result.prompt_tokens, (long long)c[i].result.completion_tokens,
              (long long)out[i].prompt_tokens, (long long)out[i].new_tokens);
    }
    const char *adapted[3] = {"base", "math", "code"};
    for (int i = 0; i < 3; i++)
        CHECK(strcmp(c[i].adaptation, adapted[i]) == 0 && c[i].result.route_tokens == 0,
              "request %d answered by %s (%lld route tokens); expected %s", i, c[i].adaptation,
              (long long)c[i].result.route_tokens, adapted[i]);
    for (int q = 0; q < 3; q++) {
        const t2_adapt_sample *o = &out[3 + q];
        char name[64];
        snprintf(name, sizeof name, "auto:%s", o->route >= 0 ? fx->bundle.categories[o->route] :
                                                               "base");
        CHECK(strcmp(c[3 + q].adaptation, name) == 0 &&
                  c[3 + q].result.route_tokens == o->route_prompt_tokens + o->route_new_tokens,
              "auto %d: answered by %s after %lld route tokens; expected %s after %lld", q,
              c[3 + q].adaptation, (long long)c[3 + q].result.route_tokens, name,
              (long long)(o->route_prompt_tokens + o->route_new_tokens));
    }
    CHECK(c[6].result.completion_tokens == sampled.n_tokens &&
              c[6].result.finish == sampled.finish,
          "sampled: %lld tokens, finish %d; expected %lld, %d",
          (long long)c[6].result.completion_tokens, (int)c[6].result.finish,
          (long long)sampled.n_tokens, (int)sampled.finish);
    CHECK(c[7].result.prompt_tokens == n_chat && c[7].result.finish == chat.finish,
          "chat: %lld prompt tokens, finish %d; expected %lld, %d",
          (long long)c[7].result.prompt_tokens, (int)c[7].result.finish, (long long)n_chat,
          (int)chat.finish);
    CHECK(c[8].result.finish == T2_FINISH_STOP, "stop '%s': finish %d; expected stop", stop,
          (int)c[8].result.finish);

    /* max_tokens: 5 tokens of the free run, finish length; alone in the engine, one prefill
     * step then 4 steps of one decode row each */
    t2_serve_stats before_short = {0}, after_short = {0};
    t2_serve_engine_stats(e, &before_short);
    t2_serve_collect short_run = {0};
    t2_serve_request r5 = t2_serve_fixture_completion("base", questions[1], 5);
    t2_serve_collect_submit(e, &r5, &short_run);
    t2_serve_collect_wait(t2_serve_collect_done, &short_run, "max_tokens 5");
    t2_serve_engine_stats(e, &after_short);
    int64_t decode_steps = after_short.decode_steps - before_short.decode_steps;
    int64_t decode_rows = after_short.decode_rows - before_short.decode_rows;
    CHECK(after_short.steps - before_short.steps == 5 && decode_steps == 4 &&
              decode_rows == 4 && after_short.decode_seconds > before_short.decode_seconds,
          "max_tokens 5 alone: %lld steps, %lld of decode rows only (%lld rows); expected 5, "
          "4 (4 rows) and their time", (long long)(after_short.steps - before_short.steps),
          (long long)decode_steps, (long long)decode_rows);
    char five[6] = {0};
    memcpy(five, free_run.text, 5);
    t2_serve_collect_same_text(&short_run, five, "max_tokens 5");
    CHECK(short_run.result.completion_tokens == 5 && short_run.result.finish == T2_FINISH_LENGTH,
          "max_tokens 5: %lld tokens, finish %d; expected 5, length",
          (long long)short_run.result.completion_tokens, (int)short_run.result.finish);

    /* the counters */
    int64_t routed[8] = {0};
    t2_serve_stats st = {.routed = routed};
    t2_serve_engine_stats(e, &st);
    int64_t sum = 0, completion_tokens = 0;
    for (int i = 0; i < st.n_names; i++) sum += routed[i];
    for (int i = 0; i < N; i++) completion_tokens += c[i].result.completion_tokens;
    completion_tokens += short_run.result.completion_tokens;
    CHECK(st.requests == N + 1 && st.cancelled == 0 && st.queued == 0 && st.active == 0 &&
              st.n_names == 4 && sum == N + 1 && st.completion_tokens == completion_tokens &&
              st.steps > 0 && strcmp(st.names[1], "math") == 0,
          "stats: %lld requests, %lld cancelled, %lld queued, %lld active, %d names, %lld "
          "routed, %lld completion tokens (expected %lld)", (long long)st.requests,
          (long long)st.cancelled, (long long)st.queued, (long long)st.active, st.n_names,
          (long long)sum, (long long)st.completion_tokens, (long long)completion_tokens);
    /* factored: no W' copy (the experts' targets are absent: a composed product of one
     * would fail an assertion in the forward) */
    int factored = fx->form == T2_SERVE_FORM_FACTORED;
    CHECK(factored ? st.composed_bytes == 0 : st.composed_bytes > 0,
          "%s form: %lld bytes of W' copies", t2_serve_form_name(fx->form),
          (long long)st.composed_bytes);
    int64_t want_factored = factored ? st.steps : 0;
    CHECK(st.factored_steps == want_factored, "%s form: %lld of %lld steps factored; expected "
          "%lld", t2_serve_form_name(fx->form), (long long)st.factored_steps,
          (long long)st.steps, (long long)want_factored);

    t2_serve_engine_close(e);
    for (int i = 0; i < N; i++) t2_free(want[i]);
    t2_generate_free(&sampled, 1);
    t2_generate_free(&chat, 1);
    t2_generate_free(&free_run, 1);
    t2_free(chat_ids);
    t2_free(ids);
    t2_free(joined);
    t2_free(c);
}

/* Every refusal with its status. */
static void test_refusals(t2_serve_fixture *fx) {
    t2_serve_engine *e = t2_serve_fixture_engine(fx, 2, 2, 64, T2_SERVE_ROUTE_PROMPT);
    if (e == NULL) return;
    t2_serve_request r = t2_serve_fixture_completion("base", "Question: hi\nAnswer:", 8);
    refused(e, &(t2_serve_request){.model = "gpt-4", .prompt = "x", .top_p = 1},
            T2_SERVE_UNKNOWN_MODEL, "model: 'gpt-4' is not served", "unknown model");
    t2_serve_request bad = r;
    bad.model = NULL;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "model", "no model");
    bad = r;
    bad.model = "ba\xffse";
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "model: not valid UTF-8", "model not UTF-8");
    t2_chat_message msgs[2] = {{"user", "hello"}, {"tool", "x"}};
    bad = r;
    bad.prompt = NULL;
    bad.messages = msgs;
    bad.n_messages = 0;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "messages: empty", "empty messages");
    bad.n_messages = 2;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "messages[1].role", "bad role");
    t2_chat_message bad_text[1] = {{"user", "caf\xc3"}};
    bad.messages = bad_text;
    bad.n_messages = 1;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "messages[0].content: not valid UTF-8",
            "content not UTF-8");
    t2_chat_message surrogate[1] = {{"user", "\xed\xa0\x80"}};
    bad.messages = surrogate;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "messages[0].content: not valid UTF-8", "surrogate");
    bad = r;
    bad.prompt = NULL;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "request", "no prompt");
    bad.prompt = "x";
    bad.messages = msgs;
    bad.n_messages = 1;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "request", "prompt and messages");
    bad = r;
    bad.prompt = "\xc0\xaf overlong";
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "prompt: not valid UTF-8", "overlong");
    bad = r;
    bad.max_tokens = -1;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "max_tokens", "max_tokens -1");
    bad.max_tokens = 60; /* with a 20-token prompt, past 64 positions */
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "max_tokens: 60 with a prompt of", "past context");
    char longer[80];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    bad = r;
    bad.prompt = longer;
    bad.max_tokens = 0;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "prompt: 79 tokens", "prompt past context");
    bad.model = "auto";
    bad.prompt = longer + 30; /* fits, but its routing prompt does not */
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "prompt: the routing prompt", "routing past context");
    bad = r;
    bad.prompt = "";
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "prompt: no tokens", "empty prompt");
    bad = r;
    bad.temperature = -0.5f;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "temperature", "temperature < 0");
    bad.temperature = NAN;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "temperature", "temperature NaN");
    bad = r;
    bad.top_p = 0.0f;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "top_p", "top_p 0");
    bad.top_p = 1.5f;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "top_p", "top_p 1.5");
    bad.top_p = NAN;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "top_p", "top_p NaN");
    const char *const empty_stop[1] = {""};
    bad = r;
    bad.stop = empty_stop;
    bad.n_stop = 1;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "stop[0]: empty", "empty stop");
    const char *const bad_stop[1] = {"\x80"};
    bad.stop = bad_stop;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "stop[0]: not valid UTF-8", "stop not UTF-8");
    const char *many[T2_SERVE_MAX_STOPS + 1];
    for (int i = 0; i <= T2_SERVE_MAX_STOPS; i++) many[i] = "x";
    bad.stop = many;
    bad.n_stop = T2_SERVE_MAX_STOPS + 1;
    refused(e, &bad, T2_SERVE_BAD_REQUEST, "stop: 17 strings", "too many stops");
    t2_serve_stats st = {0};
    t2_serve_engine_stats(e, &st);
    CHECK(st.requests == 0 && st.refused == 23, "stats: %lld requests, %lld refused; expected "
          "0 and 23", (long long)st.requests, (long long)st.refused);
    t2_serve_engine_close(e);
}

/* One slot and a queue of one, held by the gate: the bound, cancel, the freed slot. */
static void test_queue_cancel(t2_serve_fixture *fx) {
    t2_serve_engine *e = t2_serve_fixture_engine(fx, 1, 1, 0, T2_SERVE_ROUTE_PROMPT);
    if (e == NULL) return;
    t2_serve_collect held = {.gated = 1}, queued = {0}, after = {0};
    t2_serve_collect_gate(1);
    t2_serve_request r = t2_serve_fixture_completion("base", questions[0], 200);
    int64_t id = t2_serve_collect_submit(e, &r, &held);
    t2_serve_collect_wait(t2_serve_collect_gated, &held, "the gated request's first text");
    t2_serve_request q = t2_serve_fixture_completion("math", questions[0], 4);
    int64_t queued_id = t2_serve_collect_submit(e, &q, &queued);
    refused(e, &q, T2_SERVE_BUSY, "queue: full", "past the queue bound");
    t2_serve_engine_cancel(e, id);
    t2_serve_engine_cancel(e, 12345); /* unknown: ignored */
    t2_serve_collect_gate(0);
    t2_serve_collect_wait(t2_serve_collect_done, &held, "cancelled request");
    t2_serve_collect_wait(t2_serve_collect_done, &queued, "queued request");
    CHECK(held.result.cancelled && queued_id > id && !queued.result.cancelled &&
              queued.result.completion_tokens >= 1,
          "cancelled %d, queued one cancelled %d with %lld tokens; expected 1, 0, >= 1",
          held.result.cancelled, queued.result.cancelled,
          (long long)queued.result.completion_tokens);
    t2_serve_collect_submit(e, &q, &after); /* the slot is free again */
    t2_serve_collect_wait(t2_serve_collect_done, &after, "request after the cancel");
    t2_serve_engine_cancel(e, id); /* finished long ago: ignored */
    t2_serve_collect_lock();
    CHECK(held.done_calls == 1 && queued.done_calls == 1 && after.done_calls == 1 &&
              strcmp(after.text, queued.text) == 0,
          "on_done calls %d %d %d (expected 1 each); '%s' vs '%s'", held.done_calls,
          queued.done_calls, after.done_calls, after.text, queued.text);
    t2_serve_collect_unlock();
    t2_serve_stats st = {0};
    t2_serve_engine_stats(e, &st);
    CHECK(st.cancelled == 1 && st.refused == 1 && st.requests == 3,
          "stats: %lld cancelled, %lld refused, %lld requests; expected 1, 1, 3",
          (long long)st.cancelled, (long long)st.refused, (long long)st.requests);
    t2_serve_engine_close(e);
}

typedef struct drainer {
    t2_serve_engine *e;
    double grace;
} drainer;

static void *drain_thread(void *arg) {
    drainer *d = arg;
    t2_serve_engine_drain(d->e, d->grace);
    return NULL;
}

/* Drain with grace finishes what is in flight (also what waits in the queue); drain without
 * cancels it; either way every on_done runs once and submit says busy. */
static void test_drain(t2_serve_fixture *fx) {
    t2_serve_engine *e = t2_serve_fixture_engine(fx, 2, 4, 0, T2_SERVE_ROUTE_PROMPT);
    if (e == NULL) return;
    t2_serve_collect c[4];
    memset(c, 0, sizeof c);
    t2_serve_request r = t2_serve_fixture_completion("auto", questions[0], 12);
    for (int i = 0; i < 4; i++) t2_serve_collect_submit(e, &r, &c[i]);
    t2_serve_engine_drain(e, 600.0);
    for (int i = 0; i < 4; i++)
        CHECK(c[i].done_calls == 1 && !c[i].result.cancelled &&
                  c[i].result.completion_tokens >= 1,
              "drained request %d: %d on_done, cancelled %d, %lld tokens", i, c[i].done_calls,
              c[i].result.cancelled, (long long)c[i].result.completion_tokens);
    refused(e, &r, T2_SERVE_BUSY, "engine: stopping", "submit while draining");
    t2_serve_engine_close(e);

    /* without grace: the gated request and one queued are cancelled */
    e = t2_serve_fixture_engine(fx, 1, 70, 0, T2_SERVE_ROUTE_PROMPT); /* busy only once draining */
    if (e == NULL) return;
    t2_serve_collect held = {.gated = 1}, waiting = {0};
    t2_serve_collect_gate(1);
    t2_serve_request long_run = t2_serve_fixture_completion("code", questions[1], 200);
    t2_serve_collect_submit(e, &long_run, &held);
    t2_serve_collect_wait(t2_serve_collect_gated, &held, "the gated request's first text");
    t2_serve_collect_submit(e, &long_run, &waiting);
    drainer d = {e, 0.0};
    pthread_t t;
    pthread_create(&t, NULL, drain_thread, &d);
    /* drain has begun once submit says busy (an accepted probe is cancelled with the rest) */
    t2_serve_collect probes[64];
    memset(probes, 0, sizeof probes);
    int n_probes = 0;
    for (; n_probes < 64; n_probes++) {
        t2_serve_callbacks cb = t2_serve_collect_callbacks(&probes[n_probes]);
        t2_serve_refusal refusal = 0;
        t2_error err = {{0}};
        t2_serve_request probe = t2_serve_fixture_completion("base", "x", 1);
        if (t2_serve_engine_submit(e, &probe, &cb, &refusal, &err) < 0) {
            CHECK(refusal == T2_SERVE_BUSY, "probe refused with %d: %s", (int)refusal, err.msg);
            break;
        }
        usleep(1000);
    }
    t2_serve_collect_gate(0);
    pthread_join(t, NULL);
    CHECK(held.done_calls == 1 && held.result.cancelled && waiting.done_calls == 1 &&
              waiting.result.cancelled,
          "drain(0): gated %d on_done cancelled %d, queued %d on_done cancelled %d; expected "
          "one on_done each, cancelled", held.done_calls, held.result.cancelled,
          waiting.done_calls, waiting.result.cancelled);
    for (int i = 0; i < n_probes; i++)
        CHECK(probes[i].done_calls == 1, "probe %d: %d on_done", i, probes[i].done_calls);
    t2_serve_engine_close(e);
}

/* auto with the classifier routing, against t2_adapt_answer's classifier strategy. */
static void test_classifier(t2_serve_fixture *fx) {
    t2_adapt_sample out;
    memset(&out, 0, sizeof out);
    char *want = adapt_answer(fx, "classifier", questions[1], &out);
    t2_serve_engine *e = t2_serve_fixture_engine(fx, 2, 0, 0, T2_SERVE_ROUTE_CLASSIFIER);
    if (e != NULL) {
        t2_serve_collect c = {0};
        t2_serve_request r = t2_serve_fixture_completion("auto", questions[1], MAX_NEW);
        const char *const nl[1] = {"\n"};
        r.stop = nl;
        r.n_stop = 1;
        t2_serve_collect_submit(e, &r, &c);
        t2_serve_collect_wait(t2_serve_collect_done, &c, "auto with the classifier");
        t2_serve_collect_same_text(&c, want, "auto (classifier)");
        char name[64];
        snprintf(name, sizeof name, "auto:%s", out.route >= 0 ? fx->bundle.categories[out.route] :
                                                                "base");
        CHECK(strcmp(c.adaptation, name) == 0, "classifier routed to %s; expected %s",
              c.adaptation, name);
        t2_serve_engine_close(e);
    }
    t2_free(want);
}

static void open_refused(const t2_serve_engine_options *o, const char *want, const char *what) {
    t2_serve_engine *e = (t2_serve_engine *)1;
    t2_error err = {{0}};
    int rc = t2_serve_engine_open(&e, o, &err);
    CHECK(rc == -1 && e == NULL && strstr(err.msg, want) != NULL && strchr(err.msg, '\n') == NULL,
          "%s: open gave %d, '%s'; expected -1 and a line with '%s'", what, rc, err.msg, want);
}

static void test_open_errors(t2_serve_fixture *fx, const char *dir) {
    t2_serve_engine_options ok = {.model = fx->model_path, .store = fx->store_path,
                                  .bundle = fx->bundle_path, .slots = 2, .queue = 1,
                                  .threads = 1};
    t2_serve_engine_options o = ok;
    o.slots = 0;
    open_refused(&o, "slots: 0", "no slots");
    o = ok;
    o.queue = -1;
    open_refused(&o, "queue: -1", "negative queue");
    o = ok;
    o.store = NULL;
    open_refused(&o, "store: not set", "bundle without store");
    o = ok;
    o.context = 100000;
    open_refused(&o, "context: 100000", "context past the model's");
    o = ok;
    char *missing = t2_bundle_fixture_path(dir, "missing");
    o.model = missing;
    o.bundle = NULL;
    open_refused(&o, "missing", "missing model");
    o = ok;
    o.bundle = missing;
    open_refused(&o, "missing", "missing bundle");
    t2_free(missing);
    /* without a bundle: only base; auto and experts are unknown */
    o = ok;
    o.bundle = NULL;
    o.store = NULL;
    t2_serve_engine *e = NULL;
    t2_error err = {{0}};
    CHECK(t2_serve_engine_open(&e, &o, &err) == 0, "open without a bundle: %s", err.msg);
    if (e == NULL) return;
    const char *const *models = t2_serve_engine_models(e);
    CHECK(strcmp(models[0], "base") == 0 && models[1] == NULL, "models without a bundle: %s, %s",
          models[0], models[1] != NULL ? models[1] : "(end)");
    refused(e, &(t2_serve_request){.model = "auto", .prompt = "x", .top_p = 1},
            T2_SERVE_UNKNOWN_MODEL, "model: 'auto' is not served; expected one of base",
            "auto without a bundle");
    t2_serve_engine_close(e);
    t2_serve_engine_close(NULL);
}

/* Experts' W' copies past the memory available (T2_MEMORY_AVAILABLE, base/memory.h):
 * composed is refused with one line; auto runs factored with no copy and answers as t2 adapt
 * does. */
static void test_memory(t2_serve_fixture *fx) {
    t2_adapt_sample out = {0};
    char *want = adapt_answer(fx, "expert:math", questions[0], &out);
    setenv("T2_MEMORY_AVAILABLE", "1000", 1);
    t2_serve_engine_options o = {.model = fx->model_path, .store = fx->store_path,
                                 .bundle = fx->bundle_path, .slots = 2, .queue = 2,
                                 .threads = 1, .form = T2_SERVE_FORM_COMPOSED};
    open_refused(&o, "expert_form composed: the experts' W' copies take ",
                 "composed, copies past the memory available");
    o.form = T2_SERVE_FORM_AUTO;
    t2_serve_engine *e = NULL;
    t2_error err = {{0}};
    CHECK(t2_serve_engine_open(&e, &o, &err) == 0, "auto, copies past the memory available: %s",
          err.msg);
    unsetenv("T2_MEMORY_AVAILABLE");
    if (e != NULL) {
        t2_serve_collect c = {0};
        t2_serve_request r = t2_serve_fixture_completion("math", questions[0], MAX_NEW);
        const char *const nl[1] = {"\n"}; /* t2 adapt's task terminator */
        r.stop = nl;
        r.n_stop = 1;
        t2_serve_collect_submit(e, &r, &c);
        t2_serve_collect_wait(t2_serve_collect_done, &c, "math with no copies");
        t2_serve_collect_same_text(&c, want, "math with no copies");
        t2_serve_stats st = {0};
        t2_serve_engine_stats(e, &st);
        CHECK(st.composed_bytes == 0 && st.steps > 0 && st.factored_steps == st.steps,
              "auto past the memory: %lld bytes of copies, %lld of %lld steps factored; "
              "expected none and every step", (long long)st.composed_bytes,
              (long long)st.factored_steps, (long long)st.steps);
        t2_serve_engine_close(e);
    }
    t2_free(want);
}

int main(int argc, char **argv) {
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "make") == 0) {
        char *model = argc == 4 ? t2_strdup(argv[3]) : t2_check_source_path("assets/default-model");
        char *store = NULL, *bundle = NULL;
        if (t2_serve_inputs_make(model, argv[2], &store, &bundle) == 0)
            printf("wrote %s and %s\n", store, bundle);
        t2_free(model);
        t2_free(store);
        t2_free(bundle);
        return t2_check_exit_code();
    }
    char *dir = t2_check_temp_dir("serve");
    t2_serve_fixture fx;
    if (t2_serve_fixture_open(&fx, dir) == 0) {
        test_open_errors(&fx, dir);
        test_memory(&fx);
        test_concurrent(&fx);
        fx.form = T2_SERVE_FORM_FACTORED;
        test_concurrent(&fx);
        fx.form = T2_SERVE_FORM_COMPOSED;
        test_refusals(&fx);
        test_queue_cancel(&fx);
        test_drain(&fx);
        test_classifier(&fx);
    }
    t2_serve_fixture_close(&fx, dir);
    t2_free(dir);
    return t2_check_exit_code();
}

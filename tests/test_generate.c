/* Sampling (model/sampler.h) and batched generation (model/generate.h):
 *   - greedy is the arg max (ties to the lowest id), top-k 1 is greedy, the same seed gives
 *     the same draws, top-k / top-p keep exactly the tokens the rules name, and the draw
 *     frequencies follow the temperature-scaled probabilities;
 *   - greedy generation is deterministic and each token is the arg max of a full
 *     recomputation's logits for the text so far;
 *   - many prompts with fewer cache slots than prompts (continuous batching) give each
 *     prompt the tokens it gets alone, greedy and sampled;
 *   - stopping at an EOS id, at a stop string (text cut before it, streamed pieces adding up
 *     to the text, nothing of the stop string streamed), at max_new_tokens;
 *   - prompts that do not fit the cache, are empty or hold ids outside the vocabulary are
 *     reported before anything is generated. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "model/generate.h"
#include "model_fixture.h"

enum { CAPACITY = 64, MAX_NEW = 12 };

static void test_sampler(void) {
    float ties[5] = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f};
    CHECK(t2_sampler_argmax(ties, 5) == 1, "arg max with ties: %d", t2_sampler_argmax(ties, 5));

    /* probabilities 0.5, 0.3, 0.15, 0.05 at ids 3, 0, 2, 1 */
    float logits[4] = {logf(0.3f), logf(0.05f), logf(0.15f), logf(0.5f)};
    t2_rng rng;
    t2_rng_init(&rng, 11);
    t2_sampler s;
    t2_sampler_params greedy = {0.0f, 0, 1.0f}, top1 = {1.0f, 1, 1.0f};
    t2_sampler_init(&s, &greedy, 4);
    CHECK(t2_sampler_sample(&s, logits, &rng) == 3, "greedy is not the arg max");
    t2_sampler_free(&s);
    t2_sampler_init(&s, &top1, 4);
    CHECK(t2_sampler_sample(&s, logits, &rng) == 3, "top-k 1 is not the arg max");
    t2_sampler_free(&s);

    enum { DRAWS = 4000 };
    struct {
        t2_sampler_params params;
        float want[4]; /* expected frequency per id */
    } cases[] = {
        {{1.0f, 0, 1.0f}, {0.3f, 0.05f, 0.15f, 0.5f}},          /* plain sampling */
        {{1.0f, 2, 1.0f}, {0.375f, 0.0f, 0.0f, 0.625f}},        /* top-k 2 */
        {{1.0f, 0, 0.7f}, {0.375f, 0.0f, 0.0f, 0.625f}},        /* 0.5 < 0.7 <= 0.8 */
        {{1.0f, 0, 0.45f}, {0.0f, 0.0f, 0.0f, 1.0f}},           /* 0.5 reaches 0.45 */
        {{1.0f, 3, 0.9f}, {0.3f / 0.95f, 0.0f, 0.15f / 0.95f, 0.5f / 0.95f}}, /* 0.8 < 0.9*0.95 */
        {{1.0f, 3, 0.8f}, {0.375f, 0.0f, 0.0f, 0.625f}},        /* 0.8 >= 0.8*0.95 */
        {{2.0f, 0, 1.0f}, {0.2936f, 0.1198f, 0.2076f, 0.379f}}, /* sqrt(p), renormalised */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        t2_sampler_init(&s, &cases[c].params, 4);
        t2_rng a, b;
        t2_rng_init(&a, 100 + c);
        t2_rng_init(&b, 100 + c);
        float freq[4] = {0};
        int same = 1;
        for (int i = 0; i < DRAWS; i++) {
            int32_t id = t2_sampler_sample(&s, logits, &a);
            same &= t2_sampler_sample(&s, logits, &b) == id;
            freq[id] += 1.0f / DRAWS;
        }
        CHECK(same, "case %zu: the same seed gave different draws", c);
        char what[64];
        snprintf(what, sizeof what, "case %zu: draw frequencies", c);
        t2_check_close(what, freq, cases[c].want, 4, 0.03, 0.0);
        for (int id = 0; id < 4; id++)
            CHECK(cases[c].want[id] > 0.0f || freq[id] == 0.0f, "case %zu drew excluded id %d",
                  c, id);
        t2_sampler_free(&s);
    }
}

typedef struct model {
    t2_model_config cfg;
    t2_model_weights w;
    t2_forward f;
    t2_tokenizer *tok;
} model;

typedef struct stream {
    char text[4][1024];
    size_t len[4];
} stream;

static void on_text(void *ctx, int64_t seq, const char *text, size_t len) {
    stream *s = ctx;
    CHECK(seq >= 0 && seq < 4 && s->len[seq] + len < sizeof s->text[0], "stream piece");
    memcpy(s->text[seq] + s->len[seq], text, len);
    s->len[seq] += len;
}

static int generate(model *m, int64_t n_slots, const int32_t *const *prompts,
                    const int64_t *lens, int64_t n, const t2_generate_params *params,
                    t2_generation *out, stream *st, t2_error *err) {
    t2_kv_cache cache;
    t2_kv_cache_init(&cache, &m->cfg, n_slots, CAPACITY);
    int rc = t2_generate_run(&m->f, &cache, m->tok, prompts, lens, n, params, out,
                             st ? on_text : NULL, st, err);
    t2_kv_cache_free(&cache);
    return rc;
}

/* Every greedy token is the arg max of a full recomputation, where the margin over the
 * runner-up is clear of float noise. */
static void check_against_full(model *m, const int32_t *prompt, int64_t len,
                               const t2_generation *g) {
    int64_t vocab = m->cfg.vocab_size, n = len + g->n_tokens;
    int32_t *tokens = t2_alloc_array((size_t)n, sizeof(int32_t));
    memcpy(tokens, prompt, (size_t)len * sizeof(int32_t));
    memcpy(tokens + len, g->tokens, (size_t)g->n_tokens * sizeof(int32_t));
    float *logits = t2_alloc_array((size_t)(n * vocab), sizeof(float));
    t2_kv_cache cache;
    t2_kv_cache_init(&cache, &m->cfg, 1, CAPACITY);
    t2_forward_seq seq = {0, n, tokens, 0};
    t2_error err = {{0}};
    CHECK(t2_forward_run(&m->f, &cache, &seq, 1, T2_FORWARD_LOGITS_ALL, logits, &err) == 0, "%s",
          err.msg);
    int checked = 0;
    for (int64_t t = 0; t < g->n_tokens; t++) {
        const float *row = logits + (len - 1 + t) * vocab;
        int32_t best = t2_sampler_argmax(row, vocab);
        float runner_up = -INFINITY;
        for (int64_t i = 0; i < vocab; i++)
            if (i != best && row[i] > runner_up) runner_up = row[i];
        if (row[best] - runner_up < 1e-4f) continue;
        checked++;
        CHECK(g->tokens[t] == best, "step %lld: generated %d, full recomputation's arg max %d",
              (long long)t, g->tokens[t], best);
    }
    CHECK(checked >= g->n_tokens - 1, "only %d of %lld steps had a clear arg max", checked,
          (long long)g->n_tokens);
    t2_kv_cache_free(&cache);
    t2_free(logits);
    t2_free(tokens);
}

static void same_tokens(const char *what, const t2_generation *a, const t2_generation *b) {
    int same = a->n_tokens == b->n_tokens &&
               memcmp(a->tokens, b->tokens, (size_t)a->n_tokens * sizeof(int32_t)) == 0;
    CHECK(same, "%s: %lld vs %lld tokens, first %d vs %d", what, (long long)a->n_tokens,
          (long long)b->n_tokens, a->n_tokens ? a->tokens[0] : -1,
          b->n_tokens ? b->tokens[0] : -1);
}

static void test_generation(model *m) {
    int32_t p0[] = {256, 'H', 'e', 'l', 'l', 'o'}, p1[] = {'a'}, p2[20], p3[] = {7, 9, 300 - 1};
    for (int i = 0; i < 20; i++) p2[i] = 'a' + i;
    const int32_t *prompts[4] = {p0, p1, p2, p3};
    const int64_t lens[4] = {6, 1, 20, 3};
    t2_generate_params greedy = {MAX_NEW, {0.0f, 0, 1.0f}, 5, NULL, 0, NULL, 0};
    t2_generation alone[4], again[4], batched[4];
    t2_error err = {{0}};

    for (int i = 0; i < 4; i++) {
        CHECK(generate(m, 1, &prompts[i], &lens[i], 1, &greedy, &alone[i], NULL, &err) == 0,
              "%s", err.msg);
        CHECK(generate(m, 1, &prompts[i], &lens[i], 1, &greedy, &again[i], NULL, &err) == 0,
              "%s", err.msg);
        same_tokens("greedy twice", &alone[i], &again[i]);
        CHECK(alone[i].n_tokens == MAX_NEW && alone[i].finish == T2_FINISH_LENGTH,
              "prompt %d: %lld tokens, finish %d", i, (long long)alone[i].n_tokens,
              (int)alone[i].finish);
        check_against_full(m, prompts[i], lens[i], &alone[i]);
    }
    t2_generate_free(again, 4);
    CHECK(generate(m, 3, prompts, lens, 4, &greedy, batched, NULL, &err) == 0, "%s", err.msg);
    for (int i = 0; i < 4; i++)
        same_tokens("greedy batched (3 slots) vs alone", &batched[i], &alone[i]);
    t2_generate_free(batched, 4);

    t2_generate_params sampled = {MAX_NEW, {0.9f, 40, 0.95f}, 77, NULL, 0, NULL, 0};
    t2_generate_params top1 = {MAX_NEW, {1.0f, 1, 1.0f}, 77, NULL, 0, NULL, 0};
    CHECK(generate(m, 2, prompts, lens, 4, &sampled, batched, NULL, &err) == 0, "%s", err.msg);
    CHECK(generate(m, 4, prompts, lens, 4, &sampled, again, NULL, &err) == 0, "%s", err.msg);
    int differs = 0;
    for (int i = 0; i < 4; i++) {
        same_tokens("sampled, 2 slots vs 4 slots", &batched[i], &again[i]);
        differs |= memcmp(batched[i].tokens, alone[i].tokens, MAX_NEW * sizeof(int32_t)) != 0;
    }
    CHECK(differs, "sampling at temperature 0.9 reproduced greedy for every prompt");
    t2_generate_free(batched, 4);
    t2_generate_free(again, 4);
    CHECK(generate(m, 4, prompts, lens, 4, &top1, batched, NULL, &err) == 0, "%s", err.msg);
    for (int i = 0; i < 4; i++) same_tokens("top-k 1 vs greedy", &batched[i], &alone[i]);
    t2_generate_free(batched, 4);

    /* EOS: make the first greedy token of prompt 0 not seen before step 2 an EOS id */
    int64_t stop_at = 2;
    for (;; stop_at++) {
        int seen = 0;
        for (int64_t t = 0; t < stop_at; t++)
            seen |= alone[0].tokens[t] == alone[0].tokens[stop_at];
        if (!seen || stop_at == MAX_NEW - 1) break;
    }
    int64_t eos = alone[0].tokens[stop_at];
    t2_generate_params with_eos = greedy;
    with_eos.eos_ids = &eos;
    with_eos.n_eos_ids = 1;
    CHECK(generate(m, 1, prompts, lens, 1, &with_eos, batched, NULL, &err) == 0, "%s", err.msg);
    CHECK(batched[0].finish == T2_FINISH_EOS && batched[0].n_tokens == stop_at + 1 &&
              batched[0].tokens[stop_at] == eos,
          "EOS %lld: finish %d after %lld tokens; expected %lld", (long long)eos,
          (int)batched[0].finish, (long long)batched[0].n_tokens, (long long)(stop_at + 1));
    t2_generate_free(batched, 1);
    t2_generate_free(alone, 4);
}

/* Stop strings, on a prompt whose greedy text is known from a first run. */
static void test_stop_strings(model *m) {
    int32_t prompt[] = {'T', 'h', 'e', ' '};
    const int32_t *prompts[1] = {prompt};
    const int64_t lens[1] = {4};
    t2_generate_params params = {MAX_NEW, {0.0f, 0, 1.0f}, 1, NULL, 0, NULL, 0};
    t2_generation full, cut;
    stream st = {0};
    t2_error err = {{0}};
    CHECK(generate(m, 1, prompts, lens, 1, &params, &full, &st, &err) == 0, "%s", err.msg);
    CHECK(st.len[0] == full.text_len && memcmp(st.text[0], full.text, full.text_len) == 0,
          "streamed text differs from the result");
    if (full.text_len < 6) {
        CHECK(0, "the fixture's greedy continuation has %zu bytes; pick another prompt",
              full.text_len);
        t2_generate_free(&full, 1);
        return;
    }
    char stop[3] = {full.text[3], full.text[4], '\0'};
    const char *stops[2] = {"never appears \x01", stop};
    params.stop_strings = stops;
    params.n_stop_strings = 2;
    memset(&st, 0, sizeof st);
    CHECK(generate(m, 1, prompts, lens, 1, &params, &cut, &st, &err) == 0, "%s", err.msg);
    size_t at = (size_t)(strstr(full.text, stop) - full.text); /* first occurrence */
    int64_t want_tokens = 0; /* tokens until the text first holds the stop string */
    for (size_t len = 0; len < at + 2; want_tokens++) {
        size_t piece = 0;
        if (t2_tokenizer_token_bytes(m->tok, full.tokens[want_tokens], &piece) == NULL) piece = 0;
        len += piece;
    }
    CHECK(cut.finish == T2_FINISH_STOP, "finish %d; expected stop", (int)cut.finish);
    CHECK(cut.text_len == at && memcmp(cut.text, full.text, at) == 0,
          "text cut at %zu; expected %zu", cut.text_len, at);
    CHECK(cut.n_tokens == want_tokens, "%lld tokens; expected %lld (through the stop string)",
          (long long)cut.n_tokens, (long long)want_tokens);
    CHECK(st.len[0] == cut.text_len && memcmp(st.text[0], cut.text, cut.text_len) == 0,
          "streamed %zu bytes; expected the %zu bytes before the stop string", st.len[0],
          cut.text_len);
    t2_generate_free(&cut, 1);
    t2_generate_free(&full, 1);
}

static void test_errors(model *m) {
    int32_t long_prompt[CAPACITY] = {0};
    const int32_t *prompts[2] = {long_prompt, long_prompt};
    int64_t lens[2] = {3, CAPACITY - MAX_NEW + 2};
    t2_generate_params params = {MAX_NEW, {0.0f, 0, 1.0f}, 1, NULL, 0, NULL, 0};
    t2_generation out[2];
    t2_error err = {{0}};
    CHECK(generate(m, 2, prompts, lens, 2, &params, out, NULL, &err) == -1,
          "a prompt longer than the cache allows was accepted");
    CHECK(strstr(err.msg, "prompt 1") && strstr(err.msg, "capacity"), "message: %s", err.msg);
    CHECK(out[0].tokens == NULL && out[1].tokens == NULL, "results left behind");
    lens[1] = CAPACITY - MAX_NEW + 1; /* fits exactly: the last token needs no position */
    CHECK(generate(m, 2, prompts, lens, 2, &params, out, NULL, &err) == 0, "%s", err.msg);
    t2_generate_free(out, 2);
    lens[0] = 0;
    CHECK(generate(m, 2, prompts, lens, 2, &params, out, NULL, &err) == -1 &&
              strstr(err.msg, "empty") != NULL,
          "empty prompt: %s", err.msg);
    int32_t outside[2] = {5, (int32_t)m->cfg.vocab_size};
    prompts[1] = outside;
    lens[0] = 1;
    lens[1] = 2;
    CHECK(generate(m, 2, prompts, lens, 2, &params, out, NULL, &err) == -1 &&
              strstr(err.msg, "prompt 1, token 1") && strstr(err.msg, "vocabulary"),
          "id outside the vocabulary: %s", err.msg);
}

int main(void) {
    t2_blis_setup(0, 1);
    test_sampler();

    model m;
    t2_model_fixture_config(&m.cfg, "llama");
    t2_model_fixture_weights(&m.w, &m.cfg, "llama");
    char *dir = t2_check_temp_dir("generate");
    t2_error err = {{0}};
    CHECK(t2_model_fixture_write(dir, &m.cfg, &m.w, &err) == 0, "%s", err.msg);
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    m.tok = t2_tokenizer_load(path, &err);
    CHECK(m.tok != NULL, "%s", err.msg);
    const char *files[] = {"tokenizer.json", "config.json", "model.safetensors"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    t2_free(dir);
    if (m.tok != NULL) {
        t2_forward_init(&m.f, &m.cfg, &m.w, 16, CAPACITY);
        test_generation(&m);
        test_stop_strings(&m);
        test_errors(&m);
        t2_forward_free(&m.f);
        t2_tokenizer_free(m.tok);
    }
    t2_model_weights_free(&m.w);
    return t2_check_exit_code();
}

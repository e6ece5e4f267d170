/* The batched forward's invariants on small random models (every fixture variant):
 *   - decoding with the KV cache gives the logits of a full recomputation;
 *   - a batch of sequences of different lengths (prefill and decode mixed, slots in any
 *     order) gives the logits of the same sequences run one by one;
 *   - chunking (max_rows smaller than the batch, a prompt split across chunks) changes
 *     nothing; last-only logits equal the last rows of all-token logits;
 *   - bad token ids and cache overflow are reported and leave the cache untouched.
 * Correctness against an independent implementation is test_forward_golden's job. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "model/forward.h"
#include "model_fixture.h"

enum { MAX_LEN = 24, CAPACITY = 64 };

typedef struct model {
    t2_model_config cfg;
    t2_model_weights w;
    int64_t vocab;
} model;

static void random_tokens(int32_t *tokens, int64_t n, int64_t vocab, t2_rng *rng) {
    for (int64_t i = 0; i < n; i++) tokens[i] = (int32_t)(t2_rng_next(rng) % (uint64_t)vocab);
}

/* Logits of every token of one sequence, run alone in a fresh slot 0. */
static void full_logits(model *m, const int32_t *tokens, int64_t n, float *logits) {
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, &m->cfg, &m->w, MAX_LEN, CAPACITY);
    t2_kv_cache_init(&cache, &m->cfg, 1, CAPACITY);
    t2_forward_seq seq = {0, n, tokens, 0};
    t2_error err = {{0}};
    CHECK(t2_forward_run(&f, &cache, &seq, 1, T2_FORWARD_LOGITS_ALL, logits, &err) == 0, "%s",
          err.msg);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
}

static void test_decode_matches_full(model *m, const char *name, t2_rng *rng) {
    enum { N = 14, PREFILL = 5 };
    int32_t tokens[N];
    random_tokens(tokens, N, m->vocab, rng);
    float *full = t2_alloc_array((size_t)(N * m->vocab), sizeof(float));
    float *step = t2_alloc_array((size_t)m->vocab, sizeof(float));
    full_logits(m, tokens, N, full);

    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, &m->cfg, &m->w, 8, CAPACITY);
    t2_kv_cache_init(&cache, &m->cfg, 2, CAPACITY);
    t2_error err = {{0}};
    t2_forward_seq seq = {1, PREFILL, tokens, 0};
    CHECK(t2_forward_run(&f, &cache, &seq, 1, T2_FORWARD_LOGITS_LAST, step, &err) == 0, "%s",
          err.msg);
    char what[128];
    snprintf(what, sizeof what, "%s: prefill last logits vs full", name);
    t2_check_close(what, step, full + (PREFILL - 1) * m->vocab, m->vocab, 1e-5, 0.0);
    for (int64_t t = PREFILL; t < N; t++) {
        t2_forward_seq one = {1, 1, &tokens[t], 0};
        CHECK(t2_forward_run(&f, &cache, &one, 1, T2_FORWARD_LOGITS_LAST, step, &err) == 0, "%s",
              err.msg);
        snprintf(what, sizeof what, "%s: decode at position %lld vs full", name, (long long)t);
        t2_check_close(what, step, full + t * m->vocab, m->vocab, 1e-5, 0.0);
    }
    CHECK(cache.length[1] == N && cache.length[0] == 0, "slot lengths %lld, %lld",
          (long long)cache.length[0], (long long)cache.length[1]);
    t2_kv_cache_reset(&cache, 1);
    seq = (t2_forward_seq){1, 3, tokens, 0};
    CHECK(t2_forward_run(&f, &cache, &seq, 1, T2_FORWARD_LOGITS_LAST, step, &err) == 0, "%s",
          err.msg);
    snprintf(what, sizeof what, "%s: reused slot", name);
    t2_check_close(what, step, full + 2 * m->vocab, m->vocab, 1e-5, 0.0);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
    t2_free(step);
    t2_free(full);
}

/* Four sequences; the first two already hold a prefix, so the batch mixes a decode step, a
 * continued prefill and two fresh prompts, in slots out of order. Every max_rows from 1 up. */
static void test_batch_matches_single(model *m, const char *name, t2_rng *rng) {
    enum { N_SEQS = 4 };
    const int64_t prefix[N_SEQS] = {6, 9, 0, 0}, fresh[N_SEQS] = {1, 4, 13, 2};
    const int64_t slots[N_SEQS] = {2, 0, 3, 1};
    int32_t tokens[N_SEQS][MAX_LEN];
    int64_t total_new = 0;
    for (int s = 0; s < N_SEQS; s++) {
        random_tokens(tokens[s], prefix[s] + fresh[s], m->vocab, rng);
        total_new += fresh[s];
    }
    float *want = t2_alloc_array((size_t)(total_new * m->vocab), sizeof(float));
    float *full = t2_alloc_array((size_t)(MAX_LEN * m->vocab), sizeof(float));
    int64_t row = 0;
    for (int s = 0; s < N_SEQS; s++) {
        full_logits(m, tokens[s], prefix[s] + fresh[s], full);
        memcpy(want + row * m->vocab, full + prefix[s] * m->vocab,
               (size_t)(fresh[s] * m->vocab) * sizeof(float));
        row += fresh[s];
    }
    float *got = t2_alloc_array((size_t)(total_new * m->vocab), sizeof(float));
    float *last = t2_alloc_array((size_t)(N_SEQS * m->vocab), sizeof(float));
    for (int64_t max_rows = 1; max_rows <= 24; max_rows = max_rows * 2 + 1) {
        for (int which = 0; which < 2; which++) {
            t2_forward f;
            t2_kv_cache cache;
            t2_forward_init(&f, &m->cfg, &m->w, max_rows, CAPACITY);
            t2_kv_cache_init(&cache, &m->cfg, 4, CAPACITY);
            t2_error err = {{0}};
            for (int s = 0; s < N_SEQS; s++) {
                if (prefix[s] == 0) continue;
                t2_forward_seq pre = {slots[s], prefix[s], tokens[s], 0};
                CHECK(t2_forward_run(&f, &cache, &pre, 1, T2_FORWARD_LOGITS_LAST, last, &err) == 0,
                      "%s", err.msg);
            }
            t2_forward_seq batch[N_SEQS];
            for (int s = 0; s < N_SEQS; s++)
                batch[s] = (t2_forward_seq){slots[s], fresh[s], tokens[s] + prefix[s], 0};
            char what[160];
            if (which == 0) {
                CHECK(t2_forward_run(&f, &cache, batch, N_SEQS, T2_FORWARD_LOGITS_ALL, got, &err) ==
                          0, "%s", err.msg);
                snprintf(what, sizeof what, "%s: batch (all logits, max_rows %lld) vs one by one",
                         name, (long long)max_rows);
                t2_check_close(what, got, want, total_new * m->vocab, 1e-5, 0.0);
            } else {
                CHECK(t2_forward_run(&f, &cache, batch, N_SEQS, T2_FORWARD_LOGITS_LAST, last,
                                     &err) == 0, "%s", err.msg);
                int64_t end = 0;
                for (int s = 0; s < N_SEQS; s++) {
                    end += fresh[s];
                    snprintf(what, sizeof what, "%s: batch (last logits, max_rows %lld) seq %d",
                             name, (long long)max_rows, s);
                    t2_check_close(what, last + s * m->vocab, want + (end - 1) * m->vocab,
                                   m->vocab, 1e-5, 0.0);
                }
            }
            for (int s = 0; s < N_SEQS; s++)
                CHECK(cache.length[slots[s]] == prefix[s] + fresh[s], "slot %lld holds %lld",
                      (long long)slots[s], (long long)cache.length[slots[s]]);
            t2_kv_cache_free(&cache);
            t2_forward_free(&f);
        }
    }
    t2_free(last);
    t2_free(got);
    t2_free(full);
    t2_free(want);
}

static void test_errors(model *m) {
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, &m->cfg, &m->w, 8, 16);
    t2_kv_cache_init(&cache, &m->cfg, 2, 10);
    float *logits = t2_alloc_array((size_t)(2 * m->vocab), sizeof(float));
    int32_t good[12] = {0}, bad[2] = {5, (int32_t)m->vocab};
    t2_error err = {{0}};
    t2_forward_seq seqs[2] = {{0, 3, good, 0}, {1, 2, bad, 0}};
    CHECK(t2_forward_run(&f, &cache, seqs, 2, T2_FORWARD_LOGITS_LAST, logits, &err) == -1,
          "token id %lld accepted", (long long)m->vocab);
    CHECK(strstr(err.msg, "outside the vocabulary") != NULL, "message: %s", err.msg);
    CHECK(cache.length[0] == 0 && cache.length[1] == 0, "cache changed by a failed call");
    t2_forward_seq too_long = {1, 11, good, 0};
    CHECK(t2_forward_run(&f, &cache, &too_long, 1, T2_FORWARD_LOGITS_LAST, logits, &err) == -1,
          "11 tokens fit a capacity of 10");
    CHECK(strstr(err.msg, "capacity") != NULL, "message: %s", err.msg);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
    t2_free(logits);
}

int main(void) {
    t2_blis_setup(0, 1);
    t2_rng rng;
    t2_rng_init(&rng, 7);
    for (int v = 0; v < T2_MODEL_FIXTURE_VARIANTS; v++) {
        const char *name = t2_model_fixture_name(v);
        model m;
        CHECK(t2_model_fixture_config(&m.cfg, name) == 0, "variant %s", name);
        t2_model_fixture_weights(&m.w, &m.cfg, name);
        m.vocab = m.cfg.vocab_size;
        test_decode_matches_full(&m, name, &rng);
        test_batch_matches_single(&m, name, &rng);
        if (v == 0) test_errors(&m);
        t2_model_weights_free(&m.w);
    }
    return t2_check_exit_code();
}

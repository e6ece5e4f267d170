/* The forward's threaded attention (model/forward_attention.h):
 *   - a batch of sequences of different lengths (contexts 1, 17, 600, 2048; decode tokens,
 *     a 3-token run and a 20-token prefill) against the plain-loop reference
 *     (linalg/decode_attention.h's _ref twin), for grouped-query ratios 1, 4 and 8 and odd
 *     head sizes; rows and columns outside the spans stay untouched;
 *   - decode rows bitwise equal to the one-thread kernel t2_decode_attention_forward;
 *   - bitwise the same output for 1, 2 and 3 threads, for a parts buffer forced to run in
 *     many waves, and for each span run alone;
 *   - all of the above with a float16 cache too, against the reference on its widening;
 *   - the whole forward (fixture model, 600-token context crossing a block) gives bitwise
 *     the same logits with 1 and 2 attention threads, with a float32 and a float16 cache,
 *     and the float16 cache's logits stay within 2e-2 + 1e-2 |x| of the float32 cache's. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "linalg/decode_attention.h"
#include "model/forward.h"
#include "model/forward_attention.h"
#include "model_fixture.h"

enum { N_SPANS = 5, ROWS = 26, CAPACITY = 2100, PAD = 3 };

/* Slots, first positions and token counts of the spans; rows follow one another. Slot 2 and
 * 0 hold their context already; each span's tokens are the slot's last positions. */
static const int64_t span_slot[N_SPANS] = {2, 0, 3, 1, 4};
static const int64_t span_first[N_SPANS] = {2047, 0, 14, 580, 16};
static const int64_t span_n[N_SPANS] = {1, 1, 3, 20, 1};

typedef struct setup {
    t2_model_config cfg;
    t2_kv_cache cache;
    int64_t width, ld; /* q / out: heads x head_dim values per row, PAD more floats of ld */
    float *q;
    t2_forward_attention_span spans[N_SPANS];
} setup;

static void setup_init(setup *s, int64_t n_kv, int64_t group, int64_t head_dim,
                       t2_weight_type type, t2_rng *rng) {
    memset(&s->cfg, 0, sizeof s->cfg);
    s->cfg.num_hidden_layers = 2;
    s->cfg.num_key_value_heads = n_kv;
    s->cfg.num_attention_heads = n_kv * group;
    s->cfg.head_dim = head_dim;
    s->width = n_kv * group * head_dim;
    s->ld = s->width + PAD;
    t2_kv_cache_init_typed(&s->cache, &s->cfg, N_SPANS, CAPACITY, type);
    float *k = t2_alloc_array((size_t)head_dim, sizeof(float));
    float *v = t2_alloc_array((size_t)head_dim, sizeof(float));
    int64_t row = 0;
    for (int i = 0; i < N_SPANS; i++) {
        int64_t slot = span_slot[i], len = span_first[i] + span_n[i];
        s->cache.length[slot] = len;
        for (int64_t layer = 0; layer < 2; layer++) {
            for (int64_t h = 0; h < n_kv; h++) {
                for (int64_t pos = 0; pos < len; pos++) {
                    for (int64_t j = 0; j < head_dim; j++) {
                        k[j] = t2_rng_normal(rng);
                        v[j] = t2_rng_normal(rng);
                    }
                    t2_kv_cache_store(&s->cache, slot, layer, h, pos, k, v);
                }
            }
        }
        s->spans[i] = (t2_forward_attention_span){slot, span_first[i], span_n[i], row};
        row += span_n[i];
    }
    t2_free(k);
    t2_free(v);
    s->q = t2_alloc_array((size_t)(ROWS * s->ld), sizeof(float));
    for (int64_t i = 0; i < ROWS * s->ld; i++) s->q[i] = 1.5f * t2_rng_normal(rng);
}

static void setup_free(setup *s) {
    t2_kv_cache_free(&s->cache);
    t2_free(s->q);
}

/* out filled with a sentinel, then the spans [first, first + n) run with `threads`. */
static void run(setup *s, float *out, int threads, int64_t part_capacity, int64_t first,
                int64_t n) {
    for (int64_t i = 0; i < ROWS * s->ld; i++) out[i] = -77.0f;
    t2_forward_attention a;
    t2_forward_attention_init(&a, &s->cfg, ROWS, CAPACITY);
    t2_forward_attention_set_threads(&a, threads);
    /* fewer parts per wave than the buffer holds forces several waves (>= one pair's blocks) */
    if (part_capacity > 0) a.part_capacity = part_capacity;
    t2_forward_attention_run(&a, out, s->ld, s->q, s->ld, &s->cache, 1, s->spans + first, n);
    t2_forward_attention_free(&a);
}

static void check_against_ref(setup *s, const float *out, const char *name) {
    int64_t n_kv = s->cfg.num_key_value_heads, hd = s->cfg.head_dim;
    int64_t group = s->cfg.num_attention_heads / n_kv, gd = group * hd;
    float *want = t2_alloc_array((size_t)gd, sizeof(float));
    float *exact = t2_alloc_array((size_t)gd, sizeof(float));
    float *scratch = t2_alloc_array(
        (size_t)t2_decode_attention_scratch_floats(CAPACITY, group, hd), sizeof(float));
    float *k = t2_alloc_array((size_t)(CAPACITY * hd), sizeof(float));
    float *v = t2_alloc_array((size_t)(CAPACITY * hd), sizeof(float));
    float scale = 1.0f / sqrtf((float)hd);
    char what[160];
    for (int i = 0; i < N_SPANS; i++) {
        const t2_forward_attention_span *span = &s->spans[i];
        for (int64_t t = 0; t < span->n; t++) {
            int64_t row = span->row + t, n_ctx = span->first_pos + t + 1;
            for (int64_t h = 0; h < n_kv; h++) {
                const float *q = s->q + row * s->ld + h * gd, *got = out + row * s->ld + h * gd;
                t2_kv_cache_widen(&s->cache, span->slot, 1, h, n_ctx, k, v);
                t2_decode_attention_forward_ref(want, q, k, v, group, hd, n_ctx, scale);
                snprintf(what, sizeof what, "%s: span %d row %lld KV head %lld (context %lld) "
                         "vs ref", name, i, (long long)row, (long long)h, (long long)n_ctx);
                t2_check_close(what, got, want, gd, 2e-6, 2e-5);
                if (span->n > T2_FORWARD_ATTENTION_DECODE_ROWS) continue;
                t2_decode_attention_forward(exact, q, t2_kv_cache_k(&s->cache, span->slot, 1, h),
                                            t2_kv_cache_v(&s->cache, span->slot, 1, h),
                                            s->cache.type, group, hd, n_ctx, scale, scratch);
                CHECK(memcmp(got, exact, (size_t)gd * sizeof(float)) == 0,
                      "%s: span %d row %lld KV head %lld differs from the one-thread kernel",
                      name, i, (long long)row, (long long)h);
            }
            for (int64_t c = s->width; c < s->ld; c++)
                CHECK(out[row * s->ld + c] == -77.0f, "%s: row %lld padding column %lld "
                      "written", name, (long long)row, (long long)c);
        }
    }
    t2_free(k);
    t2_free(v);
    t2_free(scratch);
    t2_free(exact);
    t2_free(want);
}

static void test_shape(int64_t n_kv, int64_t group, int64_t head_dim, t2_weight_type type,
                       t2_rng *rng) {
    setup s;
    setup_init(&s, n_kv, group, head_dim, type, rng);
    char name[80];
    snprintf(name, sizeof name, "KV heads %lld, group %lld, head_dim %lld, %s cache",
             (long long)n_kv, (long long)group, (long long)head_dim, t2_weight_type_name(type));
    size_t bytes = (size_t)(ROWS * s.ld) * sizeof(float);
    float *one = t2_alloc(bytes), *other = t2_alloc(bytes);
    run(&s, one, 1, 0, 0, N_SPANS);
    check_against_ref(&s, one, name);
    for (int threads = 2; threads <= 3; threads++) {
        run(&s, other, threads, 0, 0, N_SPANS);
        CHECK(memcmp(one, other, bytes) == 0, "%s: %d threads differ from 1", name, threads);
    }
    run(&s, other, 2, t2_decode_attention_blocks(CAPACITY), 0, N_SPANS);
    CHECK(memcmp(one, other, bytes) == 0, "%s: many waves differ from one", name);
    for (int i = 0; i < N_SPANS; i++) {
        run(&s, other, 2, 0, i, 1);
        int64_t at = s.spans[i].row * s.ld, n = s.spans[i].n * s.ld;
        CHECK(memcmp(one + at, other + at, (size_t)n * sizeof(float)) == 0,
              "%s: span %d alone differs from the batch", name, i);
    }
    t2_free(one);
    t2_free(other);
    setup_free(&s);
}

/* Logits of a 600-token prompt, then 3 decode steps, with `threads` attention threads. */
static void forward_logits(const t2_model_config *cfg, const t2_model_weights *w,
                           const int32_t *tokens, int threads, t2_weight_type kv_type,
                           float *logits) {
    enum { PROMPT = 600, STEPS = 3 };
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, cfg, w, 256, PROMPT + STEPS);
    t2_forward_attention_set_threads(&f.attention, threads);
    t2_kv_cache_init_typed(&cache, cfg, 1, PROMPT + STEPS, kv_type);
    t2_error err = {{0}};
    t2_forward_seq seq = {0, PROMPT, tokens, 0};
    CHECK(t2_forward_run(&f, &cache, &seq, 1, T2_FORWARD_LOGITS_LAST, logits, &err) == 0, "%s",
          err.msg);
    for (int64_t t = 0; t < STEPS; t++) {
        t2_forward_seq one = {0, 1, tokens + PROMPT + t, 0};
        CHECK(t2_forward_run(&f, &cache, &one, 1, T2_FORWARD_LOGITS_LAST,
                             logits + (t + 1) * cfg->vocab_size, &err) == 0, "%s", err.msg);
    }
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
}

static void test_forward_threads(t2_rng *rng) {
    t2_model_config cfg;
    t2_model_weights w;
    CHECK(t2_model_fixture_config(&cfg, "llama") == 0, "fixture llama");
    t2_model_fixture_weights(&w, &cfg, "llama");
    int32_t tokens[603];
    for (int i = 0; i < 603; i++) tokens[i] = (int32_t)(t2_rng_next(rng) % 256);
    size_t bytes = (size_t)(4 * cfg.vocab_size) * sizeof(float);
    float *one = t2_alloc(bytes), *two = t2_alloc(bytes);
    float *half_one = t2_alloc(bytes), *half_two = t2_alloc(bytes);
    forward_logits(&cfg, &w, tokens, 1, T2_WEIGHT_F32, one);
    forward_logits(&cfg, &w, tokens, 2, T2_WEIGHT_F32, two);
    CHECK(memcmp(one, two, bytes) == 0, "forward logits with 2 attention threads differ from 1");
    forward_logits(&cfg, &w, tokens, 1, T2_WEIGHT_F16, half_one);
    forward_logits(&cfg, &w, tokens, 2, T2_WEIGHT_F16, half_two);
    CHECK(memcmp(half_one, half_two, bytes) == 0,
          "float16 cache: forward logits with 2 attention threads differ from 1");
    t2_check_close("float16 cache's logits vs float32 cache's", half_one, one,
                   4 * cfg.vocab_size, 2e-2, 1e-2);
    CHECK(memcmp(half_one, one, bytes) != 0, "the float16 cache changed no logit");
    t2_free(one);
    t2_free(two);
    t2_free(half_one);
    t2_free(half_two);
    t2_model_weights_free(&w);
}

int main(void) {
    t2_blis_setup(0, 1);
    t2_rng rng;
    t2_rng_init(&rng, 5);
    const t2_weight_type cache_types[2] = {T2_WEIGHT_F32, T2_WEIGHT_F16};
    for (int t = 0; t < 2; t++) {
        test_shape(2, 1, 17, cache_types[t], &rng);
        test_shape(1, 4, 64, cache_types[t], &rng);
        test_shape(2, 8, 33, cache_types[t], &rng);
    }
    test_forward_threads(&rng);
    return t2_check_exit_code();
}

/* The KV cache's element types (model/kv_cache.h):
 *   - a float32 cache stores rows exactly and widens them back unchanged;
 *   - a float16 cache stores each value as t2_dtype_f32_to_f16 rounds it (the F16C path,
 *     where the CPU has it, bit for bit the scalar one), on random values over the whole
 *     float range and on the edges: signed zeros, half subnormals, ties to even, the largest
 *     half, the first value that rounds to infinity, infinities and NaN;
 *   - rows land at their (slot, layer, head, position) and nowhere else;
 *   - truncate keeps a slot's first positions and leaves the other slots alone; copy gives a
 *     slot another's positions from its own length on, in every layer and head, and nothing
 *     else;
 *   - "f32" / "f16" parse, other names do not. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "model/kv_cache.h"
#include "model/safetensors.h"

enum { HEAD_DIM = 37, SLOTS = 2, CAPACITY = 5, LAYERS = 2, KV_HEADS = 3 };

static t2_model_config config(void) {
    t2_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.num_hidden_layers = LAYERS;
    cfg.num_key_value_heads = KV_HEADS;
    cfg.num_attention_heads = KV_HEADS;
    cfg.head_dim = HEAD_DIM;
    return cfg;
}

/* Edge values, then random bit patterns (any exponent) for the rest of n. */
static void fill_values(float *x, int64_t n, t2_rng *rng) {
    const float edges[] = {0.0f,          -0.0f,           5.9604645e-8f /* 2^-24 */,
                           2.9802322e-8f /* 2^-25: ties to 0 */, 8.9406967e-8f /* 1.5 2^-24 */,
                           6.1035156e-5f /* 2^-14 */, 6.0975552e-5f, 65504.0f, 65519.996f,
                           65520.0f,      -65520.0f,      1e10f, INFINITY, -INFINITY, NAN,
                           1.00048828125f /* tie: 1 + 2^-11 */, 1.00146484375f /* tie, odd */,
                           -3.14159265f,  1e-30f};
    int64_t n_edges = (int64_t)(sizeof edges / sizeof edges[0]);
    for (int64_t i = 0; i < n; i++) {
        if (i < n_edges) {
            x[i] = edges[i];
            continue;
        }
        uint32_t bits = (uint32_t)t2_rng_next(rng);
        memcpy(&x[i], &bits, sizeof bits);
    }
}

static void test_type(t2_weight_type type, t2_rng *rng) {
    t2_model_config cfg = config();
    t2_kv_cache cache;
    t2_kv_cache_init_typed(&cache, &cfg, SLOTS, CAPACITY, type);
    size_t size = t2_weight_type_size(type);
    /* every row gets its own values, stored in a scrambled order */
    enum { ROWS = SLOTS * LAYERS * KV_HEADS * CAPACITY };
    float *k = t2_alloc_array(ROWS * HEAD_DIM, sizeof(float));
    float *v = t2_alloc_array(ROWS * HEAD_DIM, sizeof(float));
    fill_values(k, ROWS * HEAD_DIM, rng);
    fill_values(v, ROWS * HEAD_DIM, rng);
    for (int64_t r = 0; r < ROWS; r++) {
        int64_t at = (r * 7) % ROWS; /* 7 is prime to ROWS = 60 */
        int64_t pos = at % CAPACITY, h = at / CAPACITY % KV_HEADS;
        int64_t layer = at / (CAPACITY * KV_HEADS) % LAYERS, slot = at / (CAPACITY * KV_HEADS * LAYERS);
        t2_kv_cache_store(&cache, slot, layer, h, pos, k + at * HEAD_DIM, v + at * HEAD_DIM);
    }
    int bad = 0;
    for (int64_t at = 0; at < ROWS && !bad; at++) {
        int64_t pos = at % CAPACITY, h = at / CAPACITY % KV_HEADS;
        int64_t layer = at / (CAPACITY * KV_HEADS) % LAYERS, slot = at / (CAPACITY * KV_HEADS * LAYERS);
        const unsigned char *k_row =
            (const unsigned char *)t2_kv_cache_k(&cache, slot, layer, h) + pos * HEAD_DIM * size;
        const unsigned char *v_row =
            (const unsigned char *)t2_kv_cache_v(&cache, slot, layer, h) + pos * HEAD_DIM * size;
        for (int64_t i = 0; i < HEAD_DIM && !bad; i++) {
            float want_k = k[at * HEAD_DIM + i], want_v = v[at * HEAD_DIM + i];
            if (type == T2_WEIGHT_F32) {
                bad = memcmp(k_row + i * 4, &want_k, 4) != 0 || memcmp(v_row + i * 4, &want_v, 4) != 0;
            } else {
                uint16_t got_k, got_v;
                memcpy(&got_k, k_row + i * 2, 2);
                memcpy(&got_v, v_row + i * 2, 2);
                bad = got_k != t2_dtype_f32_to_f16(want_k) || got_v != t2_dtype_f32_to_f16(want_v);
            }
            CHECK(!bad, "%s cache: slot %lld layer %lld head %lld position %lld element %lld "
                  "holds another value than stored", t2_weight_type_name(type), (long long)slot,
                  (long long)layer, (long long)h, (long long)pos, (long long)i);
        }
    }
    /* widening gives the stored values back as float32 */
    float *k_wide = t2_alloc_array(CAPACITY * HEAD_DIM, sizeof(float));
    float *v_wide = t2_alloc_array(CAPACITY * HEAD_DIM, sizeof(float));
    t2_kv_cache_widen(&cache, 1, 1, 2, CAPACITY, k_wide, v_wide);
    int64_t first = ((1 * LAYERS + 1) * KV_HEADS + 2) * CAPACITY; /* row of (1, 1, 2, 0) */
    for (int64_t i = 0; i < CAPACITY * HEAD_DIM; i++) {
        float want = k[first * HEAD_DIM + i];
        if (type == T2_WEIGHT_F16) want = t2_dtype_f16_to_f32(t2_dtype_f32_to_f16(want));
        int same = memcmp(&k_wide[i], &want, sizeof want) == 0 || (isnan(want) && isnan(k_wide[i]));
        if (!same) {
            CHECK(same, "%s cache: widened key %lld is %g; expected %g", t2_weight_type_name(type),
                  (long long)i, (double)k_wide[i], (double)want);
            break;
        }
    }
    t2_free(k_wide);
    t2_free(v_wide);
    t2_free(k);
    t2_free(v);
    t2_kv_cache_free(&cache);
}

static void test_truncate(void) {
    t2_model_config cfg = config();
    t2_kv_cache cache;
    t2_kv_cache_init(&cache, &cfg, SLOTS, CAPACITY);
    cache.length[0] = 4; /* as a forward of 4 tokens leaves it */
    cache.length[1] = 3;
    t2_kv_cache_truncate(&cache, 0, 2);
    CHECK(cache.length[0] == 2 && cache.length[1] == 3, "truncate slot 0 to 2: lengths %lld, "
          "%lld; expected 2, 3", (long long)cache.length[0], (long long)cache.length[1]);
    t2_kv_cache_truncate(&cache, 0, 2);
    t2_kv_cache_truncate(&cache, 1, 0);
    CHECK(cache.length[0] == 2 && cache.length[1] == 0, "truncate to the same length, then slot "
          "1 to 0: lengths %lld, %lld; expected 2, 0", (long long)cache.length[0],
          (long long)cache.length[1]);
    t2_kv_cache_free(&cache);
}

/* Slot 1 holds 1 position of its own, then takes positions 1 .. 3 of slot 0. */
static void test_copy(t2_weight_type type, t2_rng *rng) {
    t2_model_config cfg = config();
    t2_kv_cache cache;
    t2_kv_cache_init_typed(&cache, &cfg, SLOTS, CAPACITY, type);
    float k[HEAD_DIM], v[HEAD_DIM];
    for (int64_t slot = 0; slot < SLOTS; slot++)
        for (int64_t layer = 0; layer < LAYERS; layer++)
            for (int64_t h = 0; h < KV_HEADS; h++)
                for (int64_t pos = 0; pos < CAPACITY; pos++) {
                    fill_values(k, HEAD_DIM, rng);
                    fill_values(v, HEAD_DIM, rng);
                    k[0] = v[0] = (float)(slot * 1000 + pos); /* (slot, pos) marked */
                    t2_kv_cache_store(&cache, slot, layer, h, pos, k, v);
                }
    cache.length[0] = 4;
    cache.length[1] = 1;
    t2_kv_cache_copy(&cache, 0, 1, 4);
    CHECK(cache.length[0] == 4 && cache.length[1] == 4, "%s: lengths %lld, %lld after the copy; "
          "expected 4, 4", t2_weight_type_name(type), (long long)cache.length[0],
          (long long)cache.length[1]);
    float wide_k[CAPACITY * HEAD_DIM], wide_v[CAPACITY * HEAD_DIM];
    for (int64_t layer = 0; layer < LAYERS; layer++)
        for (int64_t h = 0; h < KV_HEADS; h++) {
            t2_kv_cache_widen(&cache, 1, layer, h, CAPACITY, wide_k, wide_v);
            for (int64_t pos = 0; pos < CAPACITY; pos++) {
                int64_t from = pos >= 1 && pos < 4 ? 0 : 1; /* copied, or slot 1's own */
                float want = (float)(from * 1000 + pos);
                CHECK(wide_k[pos * HEAD_DIM] == want && wide_v[pos * HEAD_DIM] == want,
                      "%s: slot 1 layer %lld head %lld position %lld holds %g / %g; expected "
                      "slot %lld's %g", t2_weight_type_name(type), (long long)layer,
                      (long long)h, (long long)pos, (double)wide_k[pos * HEAD_DIM],
                      (double)wide_v[pos * HEAD_DIM], (long long)from, (double)want);
            }
        }
    t2_kv_cache_free(&cache);
}

static void test_parse(void) {
    t2_weight_type type = T2_WEIGHT_BF16;
    t2_error err = {{0}};
    CHECK(t2_kv_cache_type_parse("k", "f16", &type, &err) == 0 && type == T2_WEIGHT_F16, "f16");
    CHECK(t2_kv_cache_type_parse("k", "f32", &type, &err) == 0 && type == T2_WEIGHT_F32, "f32");
    CHECK(t2_kv_cache_type_parse("kv_cache", "bf16", &type, &err) == -1 &&
              strcmp(err.msg, "kv_cache: 'bf16' is not known; expected f32 or f16") == 0,
          "bf16 accepted, or the message is '%s'", err.msg);
    CHECK(t2_kv_cache_type_parse("k", "F16", &type, &err) == -1,
          "F16 accepted (names are lower case)");
}

int main(void) {
    t2_rng rng;
    t2_rng_init(&rng, 31);
    test_type(T2_WEIGHT_F32, &rng);
    test_type(T2_WEIGHT_F16, &rng);
    test_truncate();
    test_copy(T2_WEIGHT_F32, &rng);
    test_copy(T2_WEIGHT_F16, &rng);
    test_parse();
    return t2_check_exit_code();
}

/* The KV cache's allocation, slot bookkeeping and float16 conversion (see kv_cache.h for
 * the layout). This file is compiled for the baseline x86-64 ISA; the F16C conversion is
 * enabled per function and runs where the CPU has it (linalg/skinny.h's AVX2 check, which
 * includes F16C). */
#include "model/kv_cache.h"

#include <immintrin.h>
#include <pthread.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "linalg/skinny.h"
#include "model/safetensors.h"

void t2_kv_cache_init(t2_kv_cache *cache, const t2_model_config *cfg, int64_t n_slots,
                      int64_t capacity) {
    t2_kv_cache_init_typed(cache, cfg, n_slots, capacity, T2_WEIGHT_F32);
}

void t2_kv_cache_init_typed(t2_kv_cache *cache, const t2_model_config *cfg, int64_t n_slots,
                            int64_t capacity, t2_weight_type type) {
    T2_ASSERT(n_slots > 0 && capacity > 0);
    T2_ASSERT(type == T2_WEIGHT_F32 || type == T2_WEIGHT_F16);
    cache->type = type;
    cache->n_slots = n_slots;
    cache->capacity = capacity;
    cache->n_layers = cfg->num_hidden_layers;
    cache->n_kv_heads = cfg->num_key_value_heads;
    cache->head_dim = cfg->head_dim;
    int64_t elems = n_slots * cache->n_layers * cache->n_kv_heads * capacity * cache->head_dim;
    T2_ASSERT(elems > 0);
    /* Uninitialised on purpose: untouched pages stay unbacked (see kv_cache.h). */
    cache->k = t2_alloc((size_t)elems * t2_weight_type_size(type));
    cache->v = t2_alloc((size_t)elems * t2_weight_type_size(type));
    cache->length = t2_alloc_array((size_t)n_slots, sizeof(int64_t));
    cache->mark = t2_alloc_array((size_t)n_slots, sizeof(uint64_t));
    cache->epoch = 0;
}

void t2_kv_cache_free(t2_kv_cache *cache) {
    t2_free(cache->k);
    t2_free(cache->v);
    t2_free(cache->length);
    t2_free(cache->mark);
    cache->k = cache->v = NULL;
    cache->length = NULL;
    cache->mark = NULL;
    cache->n_slots = 0;
}

void t2_kv_cache_reset(t2_kv_cache *cache, int64_t slot) {
    T2_ASSERT(slot >= 0 && slot < cache->n_slots);
    cache->length[slot] = 0;
}

void t2_kv_cache_truncate(t2_kv_cache *cache, int64_t slot, int64_t length) {
    T2_ASSERT(slot >= 0 && slot < cache->n_slots);
    T2_ASSERT(length >= 0 && length <= cache->length[slot]);
    cache->length[slot] = length;
}

void t2_kv_cache_copy(t2_kv_cache *cache, int64_t from, int64_t to, int64_t length) {
    T2_ASSERT(from >= 0 && from < cache->n_slots && to >= 0 && to < cache->n_slots && from != to);
    int64_t start = cache->length[to];
    T2_ASSERT(start <= length && length <= cache->length[from]);
    size_t row = (size_t)cache->head_dim * t2_weight_type_size(cache->type);
    for (int64_t layer = 0; layer < cache->n_layers; layer++)
        for (int64_t h = 0; h < cache->n_kv_heads; h++) {
            size_t at = (size_t)start * row, bytes = (size_t)(length - start) * row;
            memcpy((unsigned char *)t2_kv_cache_k(cache, to, layer, h) + at,
                   (const unsigned char *)t2_kv_cache_k(cache, from, layer, h) + at, bytes);
            memcpy((unsigned char *)t2_kv_cache_v(cache, to, layer, h) + at,
                   (const unsigned char *)t2_kv_cache_v(cache, from, layer, h) + at, bytes);
        }
    cache->length[to] = length;
}

void t2_kv_cache_reset_all(t2_kv_cache *cache) {
    for (int64_t slot = 0; slot < cache->n_slots; slot++) cache->length[slot] = 0;
}

/* out[i] = x[i] as float16 with F16C's conversion, eight at a time: round to nearest even,
 * as t2_dtype_f32_to_f16, which converts the rest (tests/test_kv_cache.c checks they
 * agree bit for bit). */
__attribute__((target("avx,f16c"))) static void narrow_f16c(uint16_t *out, const float *x,
                                                            int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(void *)(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) out[i] = t2_dtype_f32_to_f16(x[i]);
}

/* Whether the CPU has F16C: linalg's AVX2 check (AVX2 + FMA + F16C), made once. */
static int has_f16c;
static pthread_once_t f16c_once = PTHREAD_ONCE_INIT;
static void check_f16c(void) { has_f16c = t2_skinny_kernel_supported(T2_SKINNY_KERNEL_AVX2); }

/* n floats into a row of the cache's type at `at`. */
static void narrow_row(const t2_kv_cache *cache, void *at, const float *x, int64_t n) {
    if (cache->type == T2_WEIGHT_F32) {
        memcpy(at, x, (size_t)n * sizeof(float));
        return;
    }
    uint16_t *half = at;
    pthread_once(&f16c_once, check_f16c);
    if (has_f16c) {
        narrow_f16c(half, x, n);
        return;
    }
    for (int64_t i = 0; i < n; i++) half[i] = t2_dtype_f32_to_f16(x[i]);
}

void t2_kv_cache_store(t2_kv_cache *cache, int64_t slot, int64_t layer, int64_t kv_head,
                       int64_t pos, const float *k, const float *v) {
    T2_ASSERT(pos >= 0 && pos < cache->capacity);
    int64_t hd = cache->head_dim, offset = pos * hd * (int64_t)t2_weight_type_size(cache->type);
    narrow_row(cache, (unsigned char *)t2_kv_cache_k(cache, slot, layer, kv_head) + offset, k, hd);
    narrow_row(cache, (unsigned char *)t2_kv_cache_v(cache, slot, layer, kv_head) + offset, v, hd);
}

void t2_kv_cache_widen(const t2_kv_cache *cache, int64_t slot, int64_t layer, int64_t kv_head,
                       int64_t n, float *k_out, float *v_out) {
    T2_ASSERT(n >= 0 && n <= cache->capacity);
    t2_weight k = {{.data = t2_kv_cache_k(cache, slot, layer, kv_head)}, cache->type};
    t2_weight v = {{.data = t2_kv_cache_v(cache, slot, layer, kv_head)}, cache->type};
    t2_weight_widen(k_out, k, 0, n * cache->head_dim);
    t2_weight_widen(v_out, v, 0, n * cache->head_dim);
}

int t2_kv_cache_type_parse(const char *key, const char *name, t2_weight_type *type,
                           t2_error *err) {
    if (strcmp(name, "f32") == 0) *type = T2_WEIGHT_F32;
    else if (strcmp(name, "f16") == 0) *type = T2_WEIGHT_F16;
    else return t2_error_set(err, "%s: '%s' is not known; expected f32 or f16", key, name);
    return 0;
}

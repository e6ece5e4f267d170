/* The KV cache's allocation and slot bookkeeping (see kv_cache.h for the layout). */
#include "model/kv_cache.h"

#include "base/alloc.h"
#include "base/assert.h"

void t2_kv_cache_init(t2_kv_cache *cache, const t2_model_config *cfg, int64_t n_slots,
                      int64_t capacity) {
    T2_ASSERT(n_slots > 0 && capacity > 0);
    cache->n_slots = n_slots;
    cache->capacity = capacity;
    cache->n_layers = cfg->num_hidden_layers;
    cache->n_kv_heads = cfg->num_key_value_heads;
    cache->head_dim = cfg->head_dim;
    int64_t floats = n_slots * cache->n_layers * cache->n_kv_heads * capacity * cache->head_dim;
    T2_ASSERT(floats > 0);
    /* Uninitialised on purpose: untouched pages stay unbacked (see kv_cache.h). */
    cache->k = t2_alloc((size_t)floats * sizeof(float));
    cache->v = t2_alloc((size_t)floats * sizeof(float));
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

void t2_kv_cache_reset_all(t2_kv_cache *cache) {
    for (int64_t slot = 0; slot < cache->n_slots; slot++) cache->length[slot] = 0;
}

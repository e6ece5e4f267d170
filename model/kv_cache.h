/* The attention key/value cache: one slot per sequence being decoded, each with room for
 * `capacity` positions, in float32 or float16 (half the bytes a decode step reads; keys and
 * values are rounded to nearest-even as they are stored, and read back widened exactly).
 *
 * Layout (elements of the cache's type), for keys and values alike:
 *     k[slot][layer][kv_head][position][head_dim]
 * i.e. one head of one layer of one sequence is a contiguous position x head_dim matrix, so
 * the attention of a (sequence, head) reads a dense row-major block: scores = Q K^T is a GEMM
 * with K row-major (ld = head_dim), and the decode kernel streams K and V rows in order.
 * A slot's positions [0, length) are valid; the forward writes positions
 * [length, length + n_new) and then advances length.
 *
 * The arrays are allocated without being touched, so the operating system backs only the
 * positions actually written: a generous capacity costs address space, not memory.
 * Does not: page or share prefixes between slots (a slot keeps its own, truncate, or copies
 * another's, copy); evict anything. */
#ifndef T2_MODEL_KV_CACHE_H
#define T2_MODEL_KV_CACHE_H

#include <stdint.h>

#include "base/error.h"
#include "linalg/weight.h"
#include "model/config.h"

typedef struct t2_kv_cache {
    int64_t n_slots, capacity;
    int64_t n_layers, n_kv_heads, head_dim;
    t2_weight_type type;  /* T2_WEIGHT_F32 or T2_WEIGHT_F16 */
    unsigned char *k;     /* n_slots x n_layers x n_kv_heads x capacity x head_dim elements */
    unsigned char *v;     /* same shape as k */
    int64_t *length; /* [n_slots]: positions held */
    uint64_t *mark;  /* [n_slots]: call stamp, so the forward can check a slot is used once */
    uint64_t epoch;  /* last stamp handed out */
} t2_kv_cache;

/* Allocates n_slots x capacity positions for cfg's layers and KV heads, in float32; all
 * slots empty. */
void t2_kv_cache_init(t2_kv_cache *cache, const t2_model_config *cfg, int64_t n_slots,
                      int64_t capacity);
/* The same in the given type (T2_WEIGHT_F32 or T2_WEIGHT_F16). */
void t2_kv_cache_init_typed(t2_kv_cache *cache, const t2_model_config *cfg, int64_t n_slots,
                            int64_t capacity, t2_weight_type type);
void t2_kv_cache_free(t2_kv_cache *cache); /* accepts a zeroed object; may run twice */

/* Empties one slot (its next sequence starts at position 0), or every slot. */
void t2_kv_cache_reset(t2_kv_cache *cache, int64_t slot);
void t2_kv_cache_reset_all(t2_kv_cache *cache);
/* Keeps positions [0, length) of one slot (length at most the positions it holds): its next
 * tokens go on from there. */
void t2_kv_cache_truncate(t2_kv_cache *cache, int64_t slot, int64_t length);
/* Slot `to` takes slot `from`'s keys and values of positions [length of to, length) (length
 * at most what `from` holds; `to` holds at most length, and from != to): a prefix both
 * sequences share, computed once. */
void t2_kv_cache_copy(t2_kv_cache *cache, int64_t from, int64_t to, int64_t length);

/* The capacity x head_dim block of keys / values of (slot, layer, kv_head), in the cache's
 * type (float * for a float32 cache). */
static inline void *t2_kv_cache_k(const t2_kv_cache *cache, int64_t slot, int64_t layer,
                                  int64_t kv_head) {
    return cache->k + ((slot * cache->n_layers + layer) * cache->n_kv_heads + kv_head) *
                          cache->capacity * cache->head_dim *
                          (int64_t)t2_weight_type_size(cache->type);
}
static inline void *t2_kv_cache_v(const t2_kv_cache *cache, int64_t slot, int64_t layer,
                                  int64_t kv_head) {
    return cache->v + ((slot * cache->n_layers + layer) * cache->n_kv_heads + kv_head) *
                          cache->capacity * cache->head_dim *
                          (int64_t)t2_weight_type_size(cache->type);
}

/* Stores the head_dim keys and values of (slot, layer, kv_head) at position pos. */
void t2_kv_cache_store(t2_kv_cache *cache, int64_t slot, int64_t layer, int64_t kv_head,
                       int64_t pos, const float *k, const float *v);

/* Positions [0, n) of (slot, layer, kv_head)'s keys and values as float32 into k_out and
 * v_out (n x head_dim each). */
void t2_kv_cache_widen(const t2_kv_cache *cache, int64_t slot, int64_t layer, int64_t kv_head,
                       int64_t n, float *k_out, float *v_out);

/* "f32" / "f16" -> the type: 0, or -1 for another name with err set to "KEY: 'name' is not
 * known; expected f32 or f16" (key: the flag or setting that gave the name). */
int t2_kv_cache_type_parse(const char *key, const char *name, t2_weight_type *type,
                           t2_error *err);

#endif

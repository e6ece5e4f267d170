/* t2_strmap: a hash map from byte strings (any bytes, with a length) to non-negative int32
 * values, for the tokenizer's vocabulary (a 128k-entry Llama 3 vocabulary builds in a few
 * milliseconds). Open addressing with linear probing over a power-of-two slot table; keys
 * are copied into one growing buffer owned by the map. No deletion.
 * Not thread-safe for writing; concurrent lookups on a map nobody writes are fine. */
#ifndef T2_MODEL_STRMAP_H
#define T2_MODEL_STRMAP_H

#include <stddef.h>
#include <stdint.h>

/* One slot: 16 bytes, so a probe touches one cache line and a hit one more (the key). */
typedef struct t2_strmap_slot {
    uint32_t hash;    /* the key's hash, low 32 bits */
    uint32_t key_len; /* UINT32_MAX for an empty slot */
    uint32_t key_off; /* key bytes at keys[key_off .. key_off + key_len) */
    int32_t value;
} t2_strmap_slot;

typedef struct t2_strmap {
    t2_strmap_slot *slots; /* [n_slots] */
    size_t n_slots;        /* power of two, at least twice n_entries */
    size_t n_entries;
    char *keys;            /* all keys back to back, [keys_len] of [keys_cap] */
    size_t keys_len, keys_cap;
} t2_strmap;

/* Prepares an empty map sized for about expected entries (it grows past that). */
void t2_strmap_init(t2_strmap *map, size_t expected);
/* Releases everything; accepts a zeroed map and may run twice. */
void t2_strmap_free(t2_strmap *map);

/* Sets key -> value (value >= 0), replacing any earlier value. Returns the earlier value, or
 * -1 when the key was new. */
int32_t t2_strmap_put(t2_strmap *map, const char *key, size_t len, int32_t value);
/* The value of key, or -1 when absent. */
int32_t t2_strmap_get(const t2_strmap *map, const char *key, size_t len);

#endif

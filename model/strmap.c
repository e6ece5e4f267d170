/* Open-addressing string -> int32 hash map (see strmap.h). The hash is 64-bit FNV-1a over
 * 8-byte words (then the tail bytes), finished with a multiply-xorshift so the low bits used
 * for the slot index depend on every input byte. */
#include "model/strmap.h"

#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

static uint64_t hash_bytes(const char *key, size_t len) {
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t word;
        memcpy(&word, key + i, 8);
        h = (h ^ word) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < len; i++) h = (h ^ (unsigned char)key[i]) * 0x100000001b3ULL;
    h ^= len;
    h *= 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 32);
}

void t2_strmap_init(t2_strmap *map, size_t expected) {
    memset(map, 0, sizeof *map);
    size_t n = 16;
    while (n < 2 * expected) n *= 2;
    map->n_slots = n;
    map->slots = t2_alloc_array(n, sizeof *map->slots);
    map->cap_entries = expected > 8 ? expected : 8;
    map->entries = t2_alloc_array(map->cap_entries, sizeof *map->entries);
    map->keys_cap = 16 * map->cap_entries;
    map->keys = t2_alloc(map->keys_cap);
}

void t2_strmap_free(t2_strmap *map) {
    t2_free(map->slots);
    t2_free(map->entries);
    t2_free(map->keys);
    memset(map, 0, sizeof *map);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t find_slot(const t2_strmap *map, const char *key, size_t len, uint64_t h) {
    size_t mask = map->n_slots - 1;
    for (size_t s = (size_t)h & mask;; s = (s + 1) & mask) {
        uint32_t e = map->slots[s];
        if (e == 0) return s;
        const t2_strmap_entry *entry = &map->entries[e - 1];
        if (entry->hash == h && entry->key_len == len &&
            memcmp(map->keys + entry->key_off, key, len) == 0)
            return s;
    }
}

static void grow_slots(t2_strmap *map) {
    t2_free(map->slots);
    map->n_slots *= 2;
    map->slots = t2_alloc_array(map->n_slots, sizeof *map->slots);
    size_t mask = map->n_slots - 1;
    for (size_t i = 0; i < map->n_entries; i++) {
        size_t s = (size_t)map->entries[i].hash & mask;
        while (map->slots[s] != 0) s = (s + 1) & mask;
        map->slots[s] = (uint32_t)(i + 1);
    }
}

int32_t t2_strmap_put(t2_strmap *map, const char *key, size_t len, int32_t value) {
    T2_ASSERT(value >= 0 && len <= UINT32_MAX && map->n_entries < UINT32_MAX - 1);
    uint64_t h = hash_bytes(key, len);
    size_t s = find_slot(map, key, len, h);
    if (map->slots[s] != 0) {
        t2_strmap_entry *entry = &map->entries[map->slots[s] - 1];
        int32_t old = entry->value;
        entry->value = value;
        return old;
    }
    if (map->n_entries == map->cap_entries) {
        map->cap_entries *= 2;
        map->entries = t2_realloc(map->entries, map->cap_entries * sizeof *map->entries);
    }
    while (map->keys_len + len > map->keys_cap) {
        map->keys_cap *= 2;
        map->keys = t2_realloc(map->keys, map->keys_cap);
    }
    memcpy(map->keys + map->keys_len, key, len);
    map->entries[map->n_entries] = (t2_strmap_entry){h, map->keys_len, (uint32_t)len, value};
    map->keys_len += len;
    map->slots[s] = (uint32_t)(++map->n_entries);
    if (2 * map->n_entries > map->n_slots) grow_slots(map);
    return -1;
}

int32_t t2_strmap_get(const t2_strmap *map, const char *key, size_t len) {
    if (map->n_slots == 0) return -1;
    uint64_t h = hash_bytes(key, len);
    uint32_t e = map->slots[find_slot(map, key, len, h)];
    return e == 0 ? -1 : map->entries[e - 1].value;
}

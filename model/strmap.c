/* Open-addressing string -> int32 hash map (see strmap.h). The hash is 64-bit FNV-1a over
 * 8-byte words (then the tail bytes), finished with a multiply-xorshift so the low bits used
 * for the slot index depend on every input byte. */
#include "model/strmap.h"

#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

enum { EMPTY = UINT32_MAX };

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

static t2_strmap_slot *new_slots(size_t n) {
    t2_strmap_slot *slots = t2_alloc(n * sizeof *slots);
    for (size_t i = 0; i < n; i++) slots[i].key_len = EMPTY;
    return slots;
}

void t2_strmap_init(t2_strmap *map, size_t expected) {
    memset(map, 0, sizeof *map);
    size_t n = 16;
    while (n < 2 * expected) n *= 2;
    map->n_slots = n;
    map->slots = new_slots(n);
    map->keys_cap = 16 * (expected > 16 ? expected : 16);
    map->keys = t2_alloc(map->keys_cap);
}

void t2_strmap_free(t2_strmap *map) {
    t2_free(map->slots);
    t2_free(map->keys);
    memset(map, 0, sizeof *map);
}

/* The slot holding key, or the empty slot where it would go. */
static t2_strmap_slot *find_slot(const t2_strmap *map, const char *key, size_t len, uint32_t h) {
    size_t mask = map->n_slots - 1;
    for (size_t s = h & mask;; s = (s + 1) & mask) {
        t2_strmap_slot *slot = &map->slots[s];
        if (slot->key_len == EMPTY) return slot;
        if (slot->hash == h && slot->key_len == len &&
            memcmp(map->keys + slot->key_off, key, len) == 0)
            return slot;
    }
}

static void grow_slots(t2_strmap *map) {
    t2_strmap_slot *old = map->slots;
    size_t n_old = map->n_slots;
    map->n_slots *= 2;
    map->slots = new_slots(map->n_slots);
    size_t mask = map->n_slots - 1;
    for (size_t i = 0; i < n_old; i++) {
        if (old[i].key_len == EMPTY) continue;
        size_t s = old[i].hash & mask;
        while (map->slots[s].key_len != EMPTY) s = (s + 1) & mask;
        map->slots[s] = old[i];
    }
    t2_free(old);
}

int32_t t2_strmap_put(t2_strmap *map, const char *key, size_t len, int32_t value) {
    T2_ASSERT(value >= 0 && len < EMPTY && map->keys_len + len < UINT32_MAX);
    uint32_t h = (uint32_t)hash_bytes(key, len);
    t2_strmap_slot *slot = find_slot(map, key, len, h);
    if (slot->key_len != EMPTY) {
        int32_t old = slot->value;
        slot->value = value;
        return old;
    }
    while (map->keys_len + len > map->keys_cap) {
        map->keys_cap *= 2;
        map->keys = t2_realloc(map->keys, map->keys_cap);
    }
    memcpy(map->keys + map->keys_len, key, len);
    *slot = (t2_strmap_slot){h, (uint32_t)len, (uint32_t)map->keys_len, value};
    map->keys_len += len;
    if (2 * ++map->n_entries > map->n_slots) grow_slots(map);
    return -1;
}

int32_t t2_strmap_get(const t2_strmap *map, const char *key, size_t len) {
    if (map->n_slots == 0 || len >= EMPTY) return -1;
    const t2_strmap_slot *slot = find_slot(map, key, len, (uint32_t)hash_bytes(key, len));
    return slot->key_len == EMPTY ? -1 : slot->value;
}

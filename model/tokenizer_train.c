/* Byte-level BPE training (see tokenizer_train.h). */
#include "model/tokenizer_train.h"

#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "model/strmap.h"
#include "model/tokenizer_impl.h"

/* Pair -> count, open addressing; key (left << 32 | right) + 1, 0 empty. Counts may fall to
 * 0 and stay as entries. */
typedef struct pair_map {
    uint64_t *keys;
    int64_t *counts;
    size_t n_slots, n;
} pair_map;

struct t2_bpe_trainer {
    pcre2_code *regex;
    pcre2_match_data *match;
    t2_strmap words;   /* pre-token bytes -> index */
    int64_t *freq;     /* [n_words] occurrences of each */
    size_t n_words, cap_words;
    int64_t occurrences;
    int trained;
};

static uint64_t pair_key(int32_t left, int32_t right) {
    return ((uint64_t)(uint32_t)left << 32 | (uint32_t)right) + 1;
}

static size_t pair_slot(const pair_map *m, uint64_t key) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 20) & (m->n_slots - 1);
    while (m->keys[i] != 0 && m->keys[i] != key) i = (i + 1) & (m->n_slots - 1);
    return i;
}

static void pair_map_init(pair_map *m, size_t n_slots) {
    m->n_slots = n_slots;
    m->n = 0;
    m->keys = t2_alloc_zero(n_slots * sizeof *m->keys);
    m->counts = t2_alloc_zero(n_slots * sizeof *m->counts);
}

static void pair_map_free(pair_map *m) {
    t2_free(m->keys);
    t2_free(m->counts);
}

static void pair_add(pair_map *m, int32_t left, int32_t right, int64_t delta) {
    if (2 * (m->n + 1) > m->n_slots) {
        pair_map old = *m;
        pair_map_init(m, 2 * old.n_slots);
        for (size_t i = 0; i < old.n_slots; i++)
            if (old.keys[i] != 0) {
                size_t j = pair_slot(m, old.keys[i]);
                m->keys[j] = old.keys[i];
                m->counts[j] = old.counts[i];
                m->n++;
            }
        pair_map_free(&old);
    }
    uint64_t key = pair_key(left, right);
    size_t i = pair_slot(m, key);
    if (m->keys[i] == 0) {
        m->keys[i] = key;
        m->n++;
    }
    m->counts[i] += delta;
}

t2_bpe_trainer *t2_bpe_trainer_new(void) {
    t2_bpe_trainer *t = t2_alloc_zero(sizeof *t);
    t2_error err = {{0}};
    t->regex = t2_tokenizer_pretok_compile(t2_tokenizer_pretok_gpt2_pattern,
                                           strlen(t2_tokenizer_pretok_gpt2_pattern), 0,
                                           "GPT-2 pattern", &err);
    T2_ASSERT(t->regex != NULL);
    t->match = pcre2_match_data_create(1, NULL);
    t2_strmap_init(&t->words, 1024);
    return t;
}

void t2_bpe_trainer_free(t2_bpe_trainer *t) {
    if (t == NULL) return;
    pcre2_match_data_free(t->match);
    pcre2_code_free(t->regex);
    t2_strmap_free(&t->words);
    t2_free(t->freq);
    t2_free(t);
}

static void count_word(t2_bpe_trainer *t, const char *s, size_t len) {
    if (len == 0) return;
    t->occurrences++;
    int32_t at = t2_strmap_get(&t->words, s, len);
    if (at >= 0) {
        t->freq[at]++;
        return;
    }
    T2_ASSERT(t->n_words < INT32_MAX);
    if (t->n_words == t->cap_words) {
        t->cap_words = t->cap_words ? 2 * t->cap_words : 1024;
        t->freq = t2_realloc(t->freq, t->cap_words * sizeof *t->freq);
    }
    t2_strmap_put(&t->words, s, len, (int32_t)t->n_words);
    t->freq[t->n_words++] = 1;
}

/* The pieces of the GPT-2 split: every match, and any stretch between matches. */
void t2_bpe_trainer_add(t2_bpe_trainer *t, const char *text, size_t len) {
    T2_ASSERT(!t->trained);
    size_t pos = 0, done = 0;
    while (pos < len) {
        int rc = pcre2_match(t->regex, (PCRE2_SPTR)text, len, pos, 0, t->match, NULL);
        if (rc < 0) break;
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->match);
        size_t start = ov[0], end = ov[1];
        if (end == start) {
            pos = start + t2_tokenizer_utf8_len((const unsigned char *)text + start, len - start);
            continue;
        }
        count_word(t, text + done, start - done);
        count_word(t, text + start, end - start);
        done = pos = end;
    }
    count_word(t, text + done, len - done);
}

int64_t t2_bpe_trainer_distinct(const t2_bpe_trainer *t) {
    return (int64_t)t->n_words;
}

int64_t t2_bpe_trainer_occurrences(const t2_bpe_trainer *t) {
    return t->occurrences;
}

/* The pre-tokens as symbol sequences: word w is sym[off[w] .. off[w] + len[w]). */
typedef struct symbols {
    int32_t *sym;
    size_t *off;
    int64_t *len;
} symbols;

static symbols words_as_bytes(const t2_bpe_trainer *t) {
    symbols s = {t2_alloc_array(t->words.keys_len + 1, sizeof(int32_t)),
                 t2_alloc_array(t->n_words + 1, sizeof(size_t)),
                 t2_alloc_array(t->n_words + 1, sizeof(int64_t))};
    for (size_t i = 0; i < t->words.n_slots; i++) {
        const t2_strmap_slot *slot = &t->words.slots[i];
        if (slot->key_len == UINT32_MAX) continue;
        /* the key bytes lie in keys[] in insertion order: word w's bytes at key_off */
        size_t w = (size_t)slot->value;
        s.off[w] = slot->key_off;
        s.len[w] = slot->key_len;
        for (uint32_t k = 0; k < slot->key_len; k++)
            s.sym[slot->key_off + k] = (unsigned char)t->words.keys[slot->key_off + k];
    }
    return s;
}

static void add_word_pairs(pair_map *m, const int32_t *sym, int64_t len, int64_t weight) {
    for (int64_t i = 0; i + 1 < len; i++) pair_add(m, sym[i], sym[i + 1], weight);
}

/* The pair with the largest count (ties: the smaller key); 0 when none is positive. */
static uint64_t best_pair(const pair_map *m, int64_t *count) {
    uint64_t best = 0;
    int64_t most = 0;
    for (size_t i = 0; i < m->n_slots; i++) {
        if (m->keys[i] == 0 || m->counts[i] <= 0) continue;
        if (m->counts[i] > most || (m->counts[i] == most && m->keys[i] < best)) {
            most = m->counts[i];
            best = m->keys[i];
        }
    }
    *count = most;
    return best;
}

int64_t t2_bpe_trainer_train(t2_bpe_trainer *t, int64_t max_merges, int64_t min_frequency,
                             int32_t first_merge_id, t2_bpe_merge **merges,
                             t2_bpe_progress_fn progress, void *ctx) {
    T2_ASSERT(!t->trained && max_merges >= 0 && min_frequency >= 1 && first_merge_id >= 256);
    t->trained = 1;
    symbols s = words_as_bytes(t);
    pair_map pairs;
    pair_map_init(&pairs, 4096);
    for (size_t w = 0; w < t->n_words; w++) add_word_pairs(&pairs, s.sym + s.off[w], s.len[w], t->freq[w]);
    *merges = t2_alloc_array(max_merges > 0 ? (size_t)max_merges : 1, sizeof **merges);
    int64_t n = 0;
    while (n < max_merges) {
        int64_t count;
        uint64_t key = best_pair(&pairs, &count);
        if (key == 0 || count < min_frequency) break;
        int32_t left = (int32_t)((key - 1) >> 32), right = (int32_t)((key - 1) & 0xffffffffu);
        int32_t merged = first_merge_id + (int32_t)n;
        (*merges)[n++] = (t2_bpe_merge){left, right};
        for (size_t w = 0; w < t->n_words; w++) {
            int32_t *sym = s.sym + s.off[w];
            int64_t len = s.len[w], i = 0;
            while (i + 1 < len && !(sym[i] == left && sym[i + 1] == right)) i++;
            if (i + 1 >= len) continue; /* the pair is not in this word */
            add_word_pairs(&pairs, sym, len, -t->freq[w]);
            int64_t out = i;
            while (i < len) {
                if (i + 1 < len && sym[i] == left && sym[i + 1] == right) {
                    sym[out++] = merged;
                    i += 2;
                } else {
                    sym[out++] = sym[i++];
                }
            }
            s.len[w] = out;
            add_word_pairs(&pairs, sym, out, t->freq[w]);
        }
        if (progress != NULL) progress(ctx, n, max_merges);
    }
    pair_map_free(&pairs);
    t2_free(s.sym);
    t2_free(s.off);
    t2_free(s.len);
    return n;
}

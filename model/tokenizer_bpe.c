/* BPE of one pre-token, and the merge table it uses.
 *
 * Follows Hugging Face tokenizers' BPE model (models/bpe/model.rs, word.rs):
 *   1. ignore_merges: a pre-token that is itself in the vocabulary is one token;
 *   2. initial symbols: bytes (byte-level) or UTF-8 characters (SentencePiece); a character
 *      missing from the vocabulary becomes its <0xXX> byte tokens (byte_fallback), else <unk>
 *      (consecutive <unk>s fused into one when fuse_unk);
 *   3. merges by rank: a min-heap of candidate adjacent pairs ordered by (rank, position) over
 *      a doubly linked list of symbols; stale candidates are skipped when popped. Every merge
 *      pushes at most two candidates, so a pre-token of n symbols costs O(n log n) — a whole
 *      SentencePiece segment (no pre-tokenizer split) is never quadratic.
 * Within one encode call, the ids of short pre-tokens are cached by their bytes.
 * Does not split text (tokenizer_pretok.c does) and knows nothing of added tokens. */
#include <string.h>

#include "base/alloc.h"
#include "model/tokenizer_impl.h"

/* ---- merge table ---------------------------------------------------------------------- */

static uint64_t pair_key(int32_t left, int32_t right) {
    return (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
}

static size_t pair_slot(uint64_t key, size_t mask) {
    uint64_t h = key * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h ^ (h >> 29)) & mask;
}

void t2_tokenizer_merges_init(t2_tokenizer_merges *m, size_t expected) {
    memset(m, 0, sizeof *m);
    size_t n = 16;
    while (n < expected + expected / 2) n *= 2; /* at most 2/3 full: short linear probes */
    m->n_slots = n;
    m->slots = t2_alloc_array(n, sizeof *m->slots);
}

void t2_tokenizer_merges_free(t2_tokenizer_merges *m) {
    t2_free(m->slots);
    memset(m, 0, sizeof *m);
}

static t2_tokenizer_merge_slot *merges_find(const t2_tokenizer_merges *m, uint64_t key) {
    size_t mask = m->n_slots - 1, s = pair_slot(key, mask);
    while (m->slots[s].key != 0 && m->slots[s].key != key) s = (s + 1) & mask;
    return &m->slots[s];
}

static void merges_grow(t2_tokenizer_merges *m) {
    t2_tokenizer_merges bigger;
    t2_tokenizer_merges_init(&bigger, m->n_slots);
    for (size_t s = 0; s < m->n_slots; s++)
        if (m->slots[s].key != 0) *merges_find(&bigger, m->slots[s].key) = m->slots[s];
    bigger.n = m->n;
    t2_tokenizer_merges_free(m);
    *m = bigger;
}

void t2_tokenizer_merges_put(t2_tokenizer_merges *m, int32_t left, int32_t right, int32_t rank,
                             int32_t merged) {
    uint64_t key = pair_key(left, right);
    t2_tokenizer_merge_slot *slot = merges_find(m, key);
    if (slot->key == 0) m->n++;
    *slot = (t2_tokenizer_merge_slot){key, rank, merged};
    if (3 * m->n > 2 * m->n_slots) merges_grow(m);
}

/* The merge of (left, right): 1 with *rank and *merged set, or 0. */
static int merges_get(const t2_tokenizer_merges *m, int32_t left, int32_t right, int32_t *rank,
                      int32_t *merged) {
    const t2_tokenizer_merge_slot *slot = merges_find(m, pair_key(left, right));
    if (slot->key == 0) return 0;
    *rank = slot->rank;
    *merged = slot->merged;
    return 1;
}

/* ---- candidate heap ------------------------------------------------------------------- */

/* A candidate merge of the symbol at `pos` with its right neighbour, valid while the two
 * symbols still hold left_id and right_id. */
typedef struct candidate {
    uint64_t order; /* rank << 32 | pos: smaller merges first, leftmost first among equals */
    int32_t left_id, right_id, merged;
} candidate;

static void heap_push(candidate *heap, size_t *n, candidate c) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap[parent].order <= c.order) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = c;
}

static candidate heap_pop(candidate *heap, size_t *n) {
    candidate top = heap[0], last = heap[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= *n) break;
        if (child + 1 < *n && heap[child + 1].order < heap[child].order) child++;
        if (last.order <= heap[child].order) break;
        heap[i] = heap[child];
        i = child;
    }
    if (*n > 0) heap[i] = last;
    return top;
}

/* Pushes the merge of the symbol at pos with its next one, if the pair has a merge. */
static void push_pair(const t2_tokenizer *tok, t2_tokenizer_state *st, size_t *n_heap,
                      int32_t pos) {
    if (pos < 0) return;
    int32_t right = st->next[pos];
    if (right < 0) return;
    int32_t rank, merged;
    if (!merges_get(&tok->merges, st->sym[pos], st->sym[right], &rank, &merged)) return;
    candidate c = {((uint64_t)(uint32_t)rank << 32) | (uint32_t)pos, st->sym[pos], st->sym[right],
                   merged};
    heap_push(st->heap, n_heap, c);
}

/* ---- one pre-token ---------------------------------------------------------------------- */

static void reserve_symbols(t2_tokenizer_state *st, size_t n) {
    if (n <= st->sym_cap) return;
    size_t cap = st->sym_cap ? st->sym_cap : 64;
    while (cap < n) cap *= 2;
    st->sym = t2_realloc(st->sym, cap * sizeof *st->sym);
    st->prev = t2_realloc(st->prev, cap * sizeof *st->prev);
    st->next = t2_realloc(st->next, cap * sizeof *st->next);
    st->sym_cap = cap;
    /* a heap never holds more than the initial pairs plus two per merge */
    st->heap = t2_realloc(st->heap, 3 * cap * sizeof(candidate));
}

/* SentencePiece initial symbols: one per character in the vocabulary, its <0xXX> bytes
 * otherwise, else <unk>. Returns the number of symbols. */
static size_t sentencepiece_symbols(const t2_tokenizer *tok, t2_tokenizer_state *st,
                                    const char *piece, size_t len) {
    const unsigned char *s = (const unsigned char *)piece;
    size_t n = 0;
    int last_is_unk = 0;
    for (size_t i = 0; i < len;) {
        size_t clen = t2_tokenizer_utf8_len(s + i, len - i);
        int32_t id = t2_strmap_get(&tok->vocab, piece + i, clen);
        int fell_back = 0;
        if (id < 0 && tok->byte_fallback) {
            fell_back = 1;
            for (size_t k = 0; k < clen; k++) fell_back &= tok->byte_id[s[i + k]] >= 0;
            for (size_t k = 0; fell_back && k < clen; k++) st->sym[n++] = tok->byte_id[s[i + k]];
        }
        if (id >= 0) {
            st->sym[n++] = id;
            last_is_unk = 0;
        } else if (fell_back) {
            last_is_unk = 0;
        } else if (tok->unk_id >= 0 && !(tok->fuse_unk && last_is_unk)) {
            st->sym[n++] = tok->unk_id;
            last_is_unk = 1;
        }
        i += clen;
    }
    return n;
}

/* ignore_merges: the id of the whole pre-token when the vocabulary has it, else -1. */
static int32_t whole_piece_id(const t2_tokenizer *tok, t2_tokenizer_state *st, const char *piece,
                              size_t len) {
    if (tok->kind == T2_TOKENIZER_SENTENCEPIECE) return t2_strmap_get(&tok->vocab, piece, len);
    /* byte-level: look up the bytes spelt in the bytes->unicode alphabet (<= 2 bytes each) */
    if (2 * len > st->bytes_cap) {
        st->bytes_cap = 2 * len + 64;
        st->bytes = t2_realloc(st->bytes, st->bytes_cap);
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint32_t cp = tok->byte_cp[(unsigned char)piece[i]];
        if (cp < 0x80) {
            st->bytes[n++] = (char)cp;
        } else {
            st->bytes[n++] = (char)(0xc0 | (cp >> 6));
            st->bytes[n++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    return t2_strmap_get(&tok->vocab, st->bytes, n);
}

/* Pre-tokens up to this long are cached, until the cache holds this many ids: text repeats
 * its words, so most pre-tokens of a long text skip the merges. */
enum { CACHE_MAX_LEN = 64, CACHE_MAX_IDS = 1 << 22 };

/* Appends the cached ids of a pre-token: 1, or 0 when it is not cached. */
static int from_cache(t2_tokenizer_state *st, const char *piece, size_t len) {
    if (len > CACHE_MAX_LEN || st->cache.n_slots == 0) return 0;
    int32_t off = t2_strmap_get(&st->cache, piece, len);
    if (off < 0) return 0;
    for (int32_t k = 1; k <= st->cached[off]; k++) t2_tokenizer_state_push(st, st->cached[off + k]);
    return 1;
}

/* Caches the ids st->ids[first ..] just produced for a pre-token. */
static void to_cache(t2_tokenizer_state *st, const char *piece, size_t len, int64_t first) {
    size_t n = (size_t)(st->n_ids - first);
    if (len > CACHE_MAX_LEN || st->n_cached + n + 1 > CACHE_MAX_IDS) return;
    if (st->cache.n_slots == 0) t2_strmap_init(&st->cache, 1024);
    if (st->n_cached + n + 1 > st->cap_cached) {
        st->cap_cached = 2 * (st->n_cached + n + 1) + 1024;
        st->cached = t2_realloc(st->cached, st->cap_cached * sizeof *st->cached);
    }
    t2_strmap_put(&st->cache, piece, len, (int32_t)st->n_cached);
    st->cached[st->n_cached] = (int32_t)n;
    if (n > 0) /* a piece may give no id (no <unk>); st->ids may then still be NULL */
        memcpy(st->cached + st->n_cached + 1, st->ids + first, n * sizeof *st->ids);
    st->n_cached += n + 1;
}

static void merge_piece(const t2_tokenizer *tok, t2_tokenizer_state *st, const char *piece,
                        size_t len);

void t2_tokenizer_bpe_encode(const t2_tokenizer *tok, t2_tokenizer_state *st, const char *piece,
                             size_t len) {
    if (len == 0) return;
    if (tok->ignore_merges) {
        int32_t id = whole_piece_id(tok, st, piece, len);
        if (id >= 0) {
            t2_tokenizer_state_push(st, id);
            return;
        }
    }
    if (len == 1 && tok->kind == T2_TOKENIZER_BYTE_LEVEL) {
        t2_tokenizer_state_push(st, tok->byte_id[(unsigned char)piece[0]]);
        return;
    }
    if (from_cache(st, piece, len)) return;
    int64_t first = st->n_ids;
    merge_piece(tok, st, piece, len);
    to_cache(st, piece, len, first);
}

/* Initial symbols, then merges by rank; appends the ids. */
static void merge_piece(const t2_tokenizer *tok, t2_tokenizer_state *st, const char *piece,
                        size_t len) {
    reserve_symbols(st, len);
    size_t n;
    if (tok->kind == T2_TOKENIZER_BYTE_LEVEL) {
        for (size_t i = 0; i < len; i++) st->sym[i] = tok->byte_id[(unsigned char)piece[i]];
        n = len;
    } else {
        n = sentencepiece_symbols(tok, st, piece, len);
    }
    for (size_t i = 0; i < n; i++) {
        st->prev[i] = (int32_t)i - 1;
        st->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    size_t n_heap = 0;
    for (size_t i = 0; i + 1 < n; i++) push_pair(tok, st, &n_heap, (int32_t)i);
    candidate *heap = st->heap;
    while (n_heap > 0) {
        candidate c = heap_pop(heap, &n_heap);
        int32_t pos = (int32_t)(c.order & 0xffffffffu), right = st->next[pos];
        if (st->sym[pos] != c.left_id || right < 0 || st->sym[right] != c.right_id) continue;
        /* merge right into pos and unlink it */
        st->sym[pos] = c.merged;
        st->sym[right] = -1;
        st->next[pos] = st->next[right];
        if (st->next[right] >= 0) st->prev[st->next[right]] = pos;
        push_pair(tok, st, &n_heap, st->prev[pos]);
        push_pair(tok, st, &n_heap, pos);
    }
    /* symbol 0 is never merged away (merges keep the left symbol) */
    for (int32_t i = n > 0 ? 0 : -1; i >= 0; i = st->next[i])
        t2_tokenizer_state_push(st, st->sym[i]);
}

void t2_tokenizer_bpe_free_state(t2_tokenizer_state *st) {
    t2_free(st->sym);
    t2_free(st->prev);
    t2_free(st->next);
    t2_free(st->heap);
    t2_free(st->bytes);
    t2_strmap_free(&st->cache);
    t2_free(st->cached);
    st->sym = st->prev = st->next = st->cached = NULL;
    st->heap = NULL;
    st->bytes = NULL;
    st->sym_cap = st->bytes_cap = st->n_cached = st->cap_cached = 0;
}

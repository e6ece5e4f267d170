/* The tokenizer's public calls (see tokenizer.h): encode (added tokens cut out whole, the
 * segments between them through tokenizer_pretok.c), decode, look-ups, free.
 *
 * Added tokens are found like Hugging Face's AddedVocabulary: leftmost match first, the
 * longest at that position (aho-corasick LeftmostLongest), widened over whitespace for
 * lstrip / rstrip, in the raw text (before normalization).
 * Decode is the inverse of encode: the bytes of each token, minus the one space the encoder
 * prepended to a SentencePiece segment (for Metaspace, which prepends only when a segment
 * does not already start with a space, that matches Hugging Face's decoder). Not done here:
 * loading (tokenizer_load.c), BPE (tokenizer_bpe.c). */
#include <string.h>

#include "base/alloc.h"
#include "model/tokenizer_impl.h"

void t2_tokenizer_state_push(t2_tokenizer_state *st, int32_t id) {
    if (st->n_ids == st->cap_ids) {
        st->cap_ids = st->cap_ids ? 2 * st->cap_ids : 256;
        st->ids = t2_realloc(st->ids, (size_t)st->cap_ids * sizeof *st->ids);
    }
    st->ids[st->n_ids++] = id;
}

/* Unicode White_Space (Rust's char::is_whitespace, which lstrip / rstrip use). */
static int is_space_cp(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* Decodes the 1-3 byte UTF-8 character at s of exactly n bytes, or returns 0xffffffff. */
static uint32_t decode_cp(const unsigned char *s, size_t n) {
    if (t2_tokenizer_utf8_len(s, n) != n) return 0xffffffff;
    if (n == 1) return s[0];
    if (n == 2) return ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
    return ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
}

/* Length of a whitespace character ending at `at` and starting at or after lo, or 0. */
static size_t space_before(const unsigned char *s, size_t lo, size_t at) {
    for (size_t n = 1; n <= 3 && n <= at - lo; n++)
        if (is_space_cp(decode_cp(s + at - n, n))) return n;
    return 0;
}

/* Length of a whitespace character starting at `at` (before end), or 0. */
static size_t space_after(const unsigned char *s, size_t at, size_t end) {
    size_t n = t2_tokenizer_utf8_len(s + at, end - at);
    return n <= 3 && is_space_cp(decode_cp(s + at, n)) ? n : 0;
}

/* Finds the first added token in text[pos, len): returns its index in tok->added with the
 * matched range [*start, *end) (widened by lstrip / rstrip), or -1 when there is none. */
static int find_added(const t2_tokenizer *tok, const char *text, size_t len, size_t pos,
                      size_t *start, size_t *end) {
    const unsigned char *s = (const unsigned char *)text;
    for (size_t p = pos; p < len; p++) {
        int first = tok->added_first[s[p]], last = tok->added_first[s[p] + 1];
        for (int k = first; k < last; k++) { /* longest first */
            const t2_tokenizer_added *a = &tok->added[k];
            if (a->len > len - p || memcmp(text + p, a->content, a->len) != 0) continue;
            size_t ms = p, me = p + a->len, n;
            while (a->lstrip && (n = space_before(s, pos, ms)) > 0) ms -= n;
            while (a->rstrip && me < len && (n = space_after(s, me, len)) > 0) me += n;
            *start = ms;
            *end = me;
            return k;
        }
    }
    return -1;
}

static void encode_segment(const t2_tokenizer *tok, t2_tokenizer_state *st, const char *text,
                           size_t start, size_t end) {
    if (end > start) t2_tokenizer_pretok_encode(tok, st, text + start, end - start, start == 0);
}

int64_t t2_tokenizer_encode(const t2_tokenizer *tok, const char *text, size_t len, int32_t **ids) {
    t2_tokenizer_state st;
    memset(&st, 0, sizeof st);
    size_t pos = 0, start, end;
    int k;
    while (tok->n_added > 0 && (k = find_added(tok, text, len, pos, &start, &end)) >= 0) {
        encode_segment(tok, &st, text, pos, start);
        t2_tokenizer_state_push(&st, tok->added[k].id);
        pos = end;
    }
    encode_segment(tok, &st, text, pos, len);
    t2_tokenizer_pretok_free_state(&st);
    t2_tokenizer_bpe_free_state(&st);
    *ids = st.ids;
    return st.n_ids;
}

static int valid_id(const t2_tokenizer *tok, int32_t id) {
    return id >= 0 && id < tok->n_ids && tok->piece_len[id] >= 0;
}

char *t2_tokenizer_decode(const t2_tokenizer *tok, const int32_t *ids, int64_t n, size_t *len) {
    size_t total = 0;
    for (int64_t i = 0; i < n; i++)
        if (valid_id(tok, ids[i])) total += (size_t)tok->piece_len[ids[i]];
    char *out = t2_alloc(total + 1);
    size_t w = 0;
    int segment_start = tok->strip != T2_TOKENIZER_STRIP_NONE;
    for (int64_t i = 0; i < n; i++) {
        if (!valid_id(tok, ids[i])) continue;
        const char *piece = tok->pieces + tok->piece_off[ids[i]];
        size_t piece_len = (size_t)tok->piece_len[ids[i]];
        if (tok->is_added[ids[i]]) {
            segment_start = tok->strip == T2_TOKENIZER_STRIP_SEGMENTS;
        } else {
            if (segment_start && piece_len > 0 && piece[0] == ' ') {
                piece++;
                piece_len--;
            }
            segment_start = 0;
        }
        memcpy(out + w, piece, piece_len);
        w += piece_len;
    }
    out[w] = '\0';
    if (len != NULL) *len = w;
    return out;
}

const char *t2_tokenizer_token_bytes(const t2_tokenizer *tok, int32_t id, size_t *len) {
    if (!valid_id(tok, id)) return NULL;
    *len = (size_t)tok->piece_len[id];
    return tok->pieces + tok->piece_off[id];
}

int64_t t2_tokenizer_vocab_size(const t2_tokenizer *tok) { return tok->n_ids; }

int32_t t2_tokenizer_token_id(const t2_tokenizer *tok, const char *token) {
    return t2_strmap_get(&tok->vocab, token, strlen(token));
}

int32_t t2_tokenizer_bos_id(const t2_tokenizer *tok) { return tok->bos_id; }

int32_t t2_tokenizer_template_bos(const t2_tokenizer *tok) { return tok->template_bos; }

int32_t t2_tokenizer_template_eos(const t2_tokenizer *tok) { return tok->template_eos; }

void t2_tokenizer_free(t2_tokenizer *tok) {
    if (tok == NULL) return;
    t2_strmap_free(&tok->vocab);
    t2_free(tok->pieces);
    t2_free(tok->piece_off);
    t2_free(tok->piece_len);
    t2_free(tok->is_added);
    t2_tokenizer_merges_free(&tok->merges);
    for (int i = 0; i < tok->n_added; i++) t2_free(tok->added[i].content);
    t2_free(tok->added);
    for (int i = 0; i < tok->n_norms; i++) {
        t2_free(tok->norms[i].pattern);
        t2_free(tok->norms[i].text);
    }
    t2_free(tok->norms);
    for (int i = 0; i < tok->n_splits; i++) pcre2_code_free(tok->splits[i].regex);
    t2_free(tok->splits);
    t2_free(tok);
}

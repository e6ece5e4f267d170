/* One segment of text (between added tokens) -> normalized text -> pre-tokens -> BPE.
 *
 * Follows Hugging Face tokenizers: normalizers (NFC, Prepend, Replace) run in order on the
 * segment; the first pre-tokenizer step may rewrite the segment (ByteLevel add_prefix_space
 * prepends " ", Metaspace turns spaces into "▁" and prepends one); then each split step cuts
 * every piece with its regex (PCRE2 with Unicode properties and JIT) and a delimiter behavior
 * (pre_tokenizers/split.rs, tokenizer/normalizer.rs split()); the last pieces go to BPE.
 * Text that is not valid UTF-8 is never matched by a regex (PCRE2_MATCH_INVALID_UTF), so such
 * bytes end up in the pieces between matches and still encode (byte-level) or fall back to
 * bytes (SentencePiece). Does not match added tokens (tokenizer.c) or merge (tokenizer_bpe.c). */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "model/tokenizer_impl.h"

const char t2_tokenizer_pretok_gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

size_t t2_tokenizer_utf8_len(const unsigned char *s, size_t avail) {
    size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xf0 && s[0] < 0xf5 ? 4 : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
             : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 1;
    if (n > avail) return 1;
    for (size_t k = 1; k < n; k++)
        if ((s[k] & 0xc0) != 0x80) return 1;
    return n;
}

pcre2_code *t2_tokenizer_pretok_compile(const char *pattern, size_t len, int is_literal,
                                        const char *what, t2_error *err) {
    uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    options |= is_literal ? PCRE2_LITERAL : PCRE2_UCP;
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, options, &code, &offset, NULL);
    if (re == NULL) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(code, message, sizeof message);
        t2_error_set(err, "%s: %s at offset %zu of the pattern; expected a regex PCRE2 accepts",
                     what, (const char *)message, (size_t)offset);
        return NULL;
    }
    /* Without JIT (unsupported CPU) pcre2_match falls back to the interpreter: same results. */
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    return re;
}

/* ---- normalizers -------------------------------------------------------------------------- */

static char *reserve_norm(t2_tokenizer_state *st, int k, size_t n) {
    if (n > st->norm_cap[k]) {
        st->norm_cap[k] = n + n / 2 + 64;
        st->norm[k] = t2_realloc(st->norm[k], st->norm_cap[k]);
    }
    return st->norm[k];
}

/* Writes prefix + s into buffer k. */
static size_t prepend_into(t2_tokenizer_state *st, int k, const char *prefix, size_t prefix_len,
                           const char *s, size_t n) {
    char *out = reserve_norm(st, k, prefix_len + n);
    memcpy(out, prefix, prefix_len);
    memcpy(out + prefix_len, s, n);
    return prefix_len + n;
}

/* The first occurrence of the non-empty pat in [p, end), or NULL. */
static const char *find(const char *p, const char *end, const char *pat, size_t pat_len) {
    while ((size_t)(end - p) >= pat_len) {
        const char *hit = memchr(p, pat[0], (size_t)(end - p) - pat_len + 1);
        if (hit == NULL) return NULL;
        if (memcmp(hit, pat, pat_len) == 0) return hit;
        p = hit + 1;
    }
    return NULL;
}

/* Writes s with every `from` (non-empty) replaced by `to` into buffer k. */
static size_t replace_into(t2_tokenizer_state *st, int k, const char *from, size_t from_len,
                           const char *to, size_t to_len, const char *s, size_t n) {
    size_t count = 0;
    for (const char *p = s; (p = find(p, s + n, from, from_len)) != NULL; p += from_len) count++;
    char *out = reserve_norm(st, k, n + count * to_len);
    size_t w = 0;
    for (const char *p = s, *end = s + n; p < end;) {
        const char *hit = find(p, end, from, from_len);
        size_t keep = hit ? (size_t)(hit - p) : (size_t)(end - p);
        memcpy(out + w, p, keep);
        w += keep;
        p += keep;
        if (hit) {
            memcpy(out + w, to, to_len);
            w += to_len;
            p += from_len;
        }
    }
    return w;
}

/* NFC into buffer k; text that is not valid UTF-8 is left as it is. Returns the length, or
 * (size_t)-1 when s is unchanged. */
static size_t nfc_into(t2_tokenizer_state *st, int k, const char *s, size_t n) {
    size_t i = 0;
    while (i < n && (unsigned char)s[i] < 0x80) i++;
    if (i == n) return (size_t)-1; /* ASCII is already NFC */
    utf8proc_uint8_t *mapped = NULL;
    utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &mapped,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (m < 0) return (size_t)-1;
    memcpy(reserve_norm(st, k, (size_t)m), mapped, (size_t)m);
    free(mapped);
    return (size_t)m;
}

/* ---- splits --------------------------------------------------------------------------------- */

static void add_span(t2_tokenizer_state *st, int level, size_t *count, size_t start, size_t end,
                     int is_match) {
    if (*count == st->span_cap[level]) {
        st->span_cap[level] = st->span_cap[level] ? 2 * st->span_cap[level] : 64;
        st->spans[level] =
            t2_realloc(st->spans[level], st->span_cap[level] * sizeof(t2_tokenizer_span));
    }
    st->spans[level][(*count)++] = (t2_tokenizer_span){start, end, is_match};
}

/* Cuts s into matches and the non-empty stretches between them, in order. */
static size_t find_matches(const pcre2_code *re, t2_tokenizer_state *st, int level, const char *s,
                           size_t n) {
    size_t count = 0, pos = 0, done = 0;
    while (pos < n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, pos, 0, st->match, NULL);
        /* no match, or a resource limit: what is left stays one piece, so nothing is lost */
        if (rc < 0) break;
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(st->match);
        size_t start = ov[0], end = ov[1];
        if (end == start) { /* an empty match cuts nothing; look again one character on */
            pos = start + t2_tokenizer_utf8_len((const unsigned char *)s + start, n - start);
            continue;
        }
        if (start > done) add_span(st, level, &count, done, start, 0);
        add_span(st, level, &count, start, end, 1);
        done = pos = end;
    }
    if (done < n) add_span(st, level, &count, done, n, 0);
    return count;
}

/* Applies the delimiter behavior to spans [0, count) of a level; the pieces to keep are then
 * spans[*first .. returned end). */
static size_t apply_behavior(t2_tokenizer_split_behavior behavior, t2_tokenizer_span *sp,
                             size_t count, size_t *first) {
    size_t w = 0;
    int previous_match = 0;
    *first = 0;
    switch (behavior) {
    case T2_TOKENIZER_SPLIT_ISOLATED:
        return count;
    case T2_TOKENIZER_SPLIT_REMOVED:
        for (size_t i = 0; i < count; i++)
            if (!sp[i].is_match) sp[w++] = sp[i];
        return w;
    case T2_TOKENIZER_SPLIT_MERGED_PREVIOUS:
        for (size_t i = 0; i < count; i++) {
            if (sp[i].is_match && !previous_match && w > 0)
                sp[w - 1].end = sp[i].end;
            else
                sp[w++] = sp[i];
            previous_match = sp[i].is_match;
        }
        return w;
    case T2_TOKENIZER_SPLIT_MERGED_NEXT:
        /* right to left, writing from the end (the write index never passes the read one) */
        w = count;
        for (size_t i = count; i-- > 0;) {
            int is_match = sp[i].is_match;
            if (is_match && !previous_match && w < count)
                sp[w].start = sp[i].start;
            else
                sp[--w] = sp[i];
            previous_match = is_match;
        }
        *first = w;
        return count;
    }
    return count;
}

static void split_level(const t2_tokenizer *tok, t2_tokenizer_state *st, int level,
                        const char *s, size_t n) {
    if (level == tok->n_splits) {
        t2_tokenizer_bpe_encode(tok, st, s, n);
        return;
    }
    const t2_tokenizer_split *split = &tok->splits[level];
    size_t count = find_matches(split->regex, st, level, s, n), first;
    size_t end = apply_behavior(split->behavior, st->spans[level], count, &first);
    for (size_t i = first; i < end; i++) {
        t2_tokenizer_span span = st->spans[level][i]; /* the array is this level's alone */
        split_level(tok, st, level + 1, s + span.start, span.end - span.start);
    }
}

/* ---- one segment ---------------------------------------------------------------------------- */

void t2_tokenizer_pretok_encode(const t2_tokenizer *tok, t2_tokenizer_state *st,
                                const char *text, size_t len, int at_start) {
    const char *s = text;
    size_t n = len;
    int k = 0; /* the next buffer to write; s is never in it */
    for (int i = 0; i < tok->n_norms; i++) {
        const t2_tokenizer_norm *norm = &tok->norms[i];
        size_t m = (size_t)-1;
        if (norm->kind == T2_TOKENIZER_NORM_NFC)
            m = nfc_into(st, k, s, n);
        else if (norm->kind == T2_TOKENIZER_NORM_PREPEND && n > 0)
            m = prepend_into(st, k, norm->text, norm->text_len, s, n);
        else if (norm->kind == T2_TOKENIZER_NORM_REPLACE)
            m = replace_into(st, k, norm->pattern, norm->pattern_len, norm->text, norm->text_len,
                             s, n);
        if (m == (size_t)-1) continue;
        s = st->norm[k];
        n = m;
        k ^= 1;
    }
    if (tok->replace_spaces) {
        n = replace_into(st, k, " ", 1, tok->prefix_marker, tok->prefix_marker_len, s, n);
        s = st->norm[k];
        k ^= 1;
    }
    const char *marker = tok->prefix_marker;
    size_t marker_len = tok->prefix_marker_len;
    int starts_with_marker = n >= marker_len && memcmp(s, marker, marker_len) == 0;
    if (n > 0 && !starts_with_marker &&
        (tok->prefix == T2_TOKENIZER_PREFIX_ALWAYS ||
         (tok->prefix == T2_TOKENIZER_PREFIX_FIRST && at_start))) {
        n = prepend_into(st, k, marker, marker_len, s, n);
        s = st->norm[k];
    }
    if (tok->n_splits > 0 && st->match == NULL) {
        st->match = pcre2_match_data_create(1, NULL);
        T2_ASSERT(st->match != NULL); /* out of memory */
    }
    split_level(tok, st, 0, s, n);
}

void t2_tokenizer_pretok_free_state(t2_tokenizer_state *st) {
    for (int k = 0; k < 2; k++) {
        t2_free(st->norm[k]);
        st->norm[k] = NULL;
        st->norm_cap[k] = 0;
    }
    for (int level = 0; level < T2_TOKENIZER_MAX_SPLITS; level++) {
        t2_free(st->spans[level]);
        st->spans[level] = NULL;
        st->span_cap[level] = 0;
    }
    pcre2_match_data_free(st->match);
    st->match = NULL;
}

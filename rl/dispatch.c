/* Prompt-based dispatch: the category named in a classification completion (see dispatch.h
 * for the rules). Works on bytes with explicit lengths, so NUL and invalid UTF-8 are ordinary
 * non-letters (NUL, controls) or word bytes (>= 0x80). Does not allocate. */
#include "rl/dispatch.h"

#include <string.h>

#include "base/assert.h"

static const char MARKER[] = "the answer is";
static const char OTHER[] = "other";

static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

static int is_word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c >= 0x80;
}

/* 1 when the m bytes of name occur at s[at] in any ASCII letter case as whole words of
 * s[0..len). */
static int word_at(const unsigned char *s, size_t len, size_t at, const char *name, size_t m) {
    if (m > len - at) return 0;
    if (at > 0 && is_word_byte(s[at - 1])) return 0;
    if (at + m < len && is_word_byte(s[at + m])) return 0;
    for (size_t i = 0; i < m; i++)
        if (lower(s[at + i]) != lower((unsigned char)name[i])) return 0;
    return 1;
}

/* The scope of rule 1: [*begin, *end) of s. */
static void find_scope(const unsigned char *s, size_t len, size_t *begin, size_t *end) {
    const size_t marker_len = sizeof MARKER - 1;
    *begin = 0;
    for (size_t at = len >= marker_len ? len - marker_len + 1 : 0; at-- > 0;) {
        if (word_at(s, len, at, MARKER, marker_len)) {
            *begin = at + marker_len;
            break;
        }
    }
    const unsigned char *newline = memchr(s + *begin, '\n', len - *begin);
    *end = newline != NULL ? (size_t)(newline - s) : len;
}

static int equal_nocase(const char *a, const char *b) {
    for (; *a != '\0' && *b != '\0'; a++, b++)
        if (lower((unsigned char)*a) != lower((unsigned char)*b)) return 0;
    return *a == *b;
}

static void check_categories(const char *const *categories, int n) {
    T2_ASSERT(n >= 0);
    for (int k = 0; k < n; k++) {
        T2_ASSERT(categories[k] != NULL && categories[k][0] != '\0');
        T2_ASSERT(!equal_nocase(categories[k], OTHER));
        for (int j = 0; j < k; j++) T2_ASSERT(!equal_nocase(categories[j], categories[k]));
    }
}

int t2_dispatch_parse(const char *completion, size_t len, const char *const *categories, int n,
                      t2_dispatch_outcome *outcome) {
    check_categories(categories, n);
    T2_ASSERT(completion != NULL || len == 0);
    t2_dispatch_outcome result = T2_DISPATCH_NONE;
    int found = -1, other = 0;
    if (len > 0) {
        const unsigned char *s = (const unsigned char *)completion;
        size_t begin, end;
        find_scope(s, len, &begin, &end);
        /* the scope ends at '\n' or at the completion's end, both word boundaries, so whole
         * words of s[0..end) are whole words of the completion */
        for (size_t at = begin; at < end && result != T2_DISPATCH_AMBIGUOUS; at++) {
            if (at > 0 && is_word_byte(s[at - 1])) continue; /* not a word start */
            int k = 0;
            while (k < n && !word_at(s, end, at, categories[k], strlen(categories[k]))) k++;
            if (k < n) {
                if (other || (found >= 0 && found != k)) result = T2_DISPATCH_AMBIGUOUS;
                found = k;
            } else if (word_at(s, end, at, OTHER, sizeof OTHER - 1)) {
                if (found >= 0) result = T2_DISPATCH_AMBIGUOUS;
                other = 1;
            }
        }
        if (result != T2_DISPATCH_AMBIGUOUS)
            result = found >= 0 ? T2_DISPATCH_FOUND : other ? T2_DISPATCH_OTHER : T2_DISPATCH_NONE;
    }
    if (outcome != NULL) *outcome = result;
    return result == T2_DISPATCH_FOUND ? found : -1;
}

const char *t2_dispatch_outcome_name(t2_dispatch_outcome outcome) {
    switch (outcome) {
    case T2_DISPATCH_FOUND: return "found";
    case T2_DISPATCH_NONE: return "none";
    case T2_DISPATCH_OTHER: return "other";
    case T2_DISPATCH_AMBIGUOUS: return "ambiguous";
    }
    return "unknown";
}

/* Answer extraction and matching (see answer.h for the rules). Works on bytes: only ASCII
 * letters, digits and blanks have meaning, every other byte (UTF-8 or garbage) is ordinary
 * text. Does not allocate. */
#include "rl/answer.h"

#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alnum(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
static char to_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static const char BOXED[] = "\\boxed{";

/* 1 when the text at p starts with the lowercase word w in any letter case (stops at NUL). */
static int starts_nocase(const char *p, const char *w) {
    for (; *w != '\0'; p++, w++)
        if (to_lower(*p) != *w) return 0;
    return 1;
}

/* 1 when "answer" starts a word at p (any letter case). */
static int answer_word_at(const char *start, const char *p) {
    return (p == start || !is_alnum(p[-1])) && starts_nocase(p, "answer");
}

/* For "\boxed{" at p: the byte after its matching '}', or NULL when it is not closed within
 * T2_ANSWER_MAX bytes (a longer answer is no answer anyway; the bound keeps a scan over many
 * unclosed boxes linear). */
static const char *boxed_end(const char *p) {
    int depth = 0;
    const char *open = p + sizeof BOXED - 2;
    for (const char *q = open; *q != '\0' && q - open <= T2_ANSWER_MAX; q++) {
        if (*q == '{') depth++;
        else if (*q == '}' && --depth == 0) return q + 1;
    }
    return NULL;
}

int t2_answer_span(const char *completion, const char **begin, size_t *len) {
    const char *after = NULL; /* just past the last marker */
    const char *close = NULL; /* that marker's closing brace (\boxed), or NULL: to end of line */
    for (const char *p = completion; *p != '\0'; p++) {
        if (answer_word_at(completion, p)) {
            const char *q = p + 6;
            if (q[0] == ' ' && starts_nocase(q + 1, "is")) {
                after = q + 3;
                close = NULL;
                continue;
            }
            while (*q == '*' || *q == '_') q++;
            if (*q == ':') {
                after = q + 1;
                close = NULL;
            }
        } else if (strncmp(p, "####", 4) == 0) {
            after = p + 4;
            close = NULL;
        } else if (strncmp(p, BOXED, sizeof BOXED - 1) == 0) {
            const char *end = boxed_end(p);
            if (end != NULL) {
                after = p + sizeof BOXED - 1;
                close = end - 1;
            }
        }
    }
    if (after == NULL) return 0;
    if (close != NULL) {
        *begin = after;
        *len = (size_t)(close - after);
        return 1;
    }
    while (is_blank(*after) || *after == ':') after++;
    *begin = after;
    *len = strcspn(after, "\n");
    return 1;
}

/* Scans one number starting exactly at p (at most end): writes its canonical form to out and
 * returns the number of bytes read, or 0 when no number starts there. */
static size_t scan_number(const char *p, const char *end, char out[T2_ANSWER_MAX]) {
    const char *q = p;
    int negative = 0;
    if (q < end && (*q == '-' || *q == '+')) negative = *q++ == '-';
    char digits[T2_ANSWER_MAX];
    size_t n_int, n_all = 0;
    while (q < end && is_digit(*q)) {
        if (n_all + 5 >= sizeof digits) return 0; /* room for sign, "0", '.' and NUL */
        digits[n_all++] = *q++;
        /* a thousands separator, "," or LaTeX "{,}": exactly three digits follow it */
        size_t sep = q < end && *q == ',' ? 1
                     : q + 2 < end && q[0] == '{' && q[1] == ',' && q[2] == '}' ? 3
                                                                              : 0;
        const char *r = q + sep;
        if (sep > 0 && r + 2 < end && is_digit(r[0]) && is_digit(r[1]) && is_digit(r[2]) &&
            (r + 3 >= end || !is_digit(r[3])))
            q = r;
    }
    n_int = n_all;
    if (q + 1 < end && *q == '.' && is_digit(q[1])) {
        q++;
        while (q < end && is_digit(*q)) {
            if (n_all + 5 >= sizeof digits) return 0;
            digits[n_all++] = *q++;
        }
    }
    if (n_all == 0) return 0;
    /* canonical: strip leading zeros of the integer part, trailing zeros of the fraction */
    size_t first = 0, last = n_all;
    while (first + 1 < n_int && digits[first] == '0') first++;
    if (n_int == 0) first = 0;
    while (last > n_int && digits[last - 1] == '0') last--;
    int is_zero = 1;
    for (size_t i = first; i < last; i++)
        if (digits[i] != '0') is_zero = 0;
    size_t o = 0;
    if (negative && !is_zero) out[o++] = '-';
    if (n_int == 0) out[o++] = '0';
    for (size_t i = first; i < n_int; i++) out[o++] = digits[i];
    if (last > n_int) {
        out[o++] = '.';
        for (size_t i = n_int; i < last; i++) out[o++] = digits[i];
    }
    out[o] = '\0';
    return (size_t)(q - p);
}

/* 1 when a number starts at p: a digit, ".digit", or a sign before either. */
static int number_starts(const char *p, const char *end) {
    if (p < end && (*p == '-' || *p == '+')) p++;
    if (p < end && is_digit(*p)) return 1;
    return p + 1 < end && *p == '.' && is_digit(p[1]);
}

/* Removes blanks at both ends and trailing periods (with the blanks before them). */
static void trim(const char **begin, size_t *len) {
    const char *b = *begin;
    size_t n = *len;
    while (n > 0 && is_blank(*b)) {
        b++;
        n--;
    }
    while (n > 0 && (is_blank(b[n - 1]) || b[n - 1] == '.')) n--;
    *begin = b;
    *len = n;
}

/* Removes one balanced wrapper around a non-empty inside: the same run of 1 to 3 '*' (or one
 * '`') at both ends, or a LaTeX command "\name{...}" whose brace closes at the end. */
static void unwrap(const char **begin, size_t *len) {
    const char *b = *begin;
    size_t n = *len;
    size_t stars = 0;
    while (stars < n && stars < 3 && b[stars] == '*') stars++;
    if (stars > 0 && n > 2 * stars && b[n - stars - 1] != '*') {
        int closed = 1;
        for (size_t i = 0; i < stars; i++)
            if (b[n - 1 - i] != '*') closed = 0;
        if (closed) {
            *begin = b + stars;
            *len = n - 2 * stars;
        }
        return;
    }
    if (n > 2 && b[0] == '`' && b[n - 1] == '`') {
        *begin = b + 1;
        *len = n - 2;
        return;
    }
    if (n < 4 || b[0] != '\\' || b[n - 1] != '}') return;
    size_t i = 1;
    while (i < n && ((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= 'A' && b[i] <= 'Z'))) i++;
    if (i == 1 || i + 1 >= n - 1 || b[i] != '{') return;
    int depth = 0; /* the brace at i must close at n - 1, not before */
    for (size_t j = i; j < n; j++) {
        if (b[j] == '{') depth++;
        else if (b[j] == '}' && --depth == 0 && j != n - 1) return;
    }
    if (depth != 0) return;
    *begin = b + i + 1;
    *len = n - i - 2;
}

/* The first run of ASCII letters and digits in [b, end) that is not a LaTeX command name
 * (a run right after '\') nor the word "option" or "choice": *run and its length, or 0. */
static size_t choice_run(const char *b, const char *end, const char **run) {
    const char *p = b;
    for (;;) {
        while (p < end && !is_alnum(*p)) p++;
        if (p == end) return 0;
        const char *q = p;
        while (q < end && is_alnum(*q)) q++;
        size_t n = (size_t)(q - p);
        int skip = (p > b && p[-1] == '\\') ||
                   (n == 6 && (starts_nocase(p, "option") || starts_nocase(p, "choice")));
        if (!skip) {
            *run = p;
            return n;
        }
        p = q;
    }
}

/* The canonical answer of the text span [b, b + n) for the match kind; strict requires the
 * whole span to be that answer (references), otherwise it is searched for (completions). */
static int canonical(const char *b, size_t n, t2_answer_match match, int strict,
                     char out[T2_ANSWER_MAX]) {
    out[0] = '\0';
    const char *end = b + n;
    if (match == T2_ANSWER_MATCH_EXACT) {
        trim(&b, &n);
        unwrap(&b, &n);
        trim(&b, &n);
        if (n == 0 || n >= T2_ANSWER_MAX) return 0;
        memcpy(out, b, n);
        out[n] = '\0';
        return 1;
    }
    if (match == T2_ANSWER_MATCH_NUMERIC) {
        if (strict) {
            trim(&b, &n);
            end = b + n;
            if (n > 0 && *b == '$') b++;
            size_t used = number_starts(b, end) ? scan_number(b, end, out) : 0;
            if (used == 0 || b + used != end) {
                out[0] = '\0';
                return 0;
            }
            return 1;
        }
        for (const char *p = b; p < end; p++) {
            /* a sign glued to a preceding letter or digit is an operator, not a sign */
            if ((*p == '-' || *p == '+') && p > b && is_alnum(p[-1])) continue;
            if (number_starts(p, end)) return scan_number(p, end, out) > 0;
        }
        return 0;
    }
    const char *p = b;
    if (strict) { /* a reference is the label alone */
        while (p < end && !is_alnum(*p)) p++;
    } else if (choice_run(b, end, &p) != 1) {
        return 0;
    }
    const char *q = p;
    while (q < end && is_alnum(*q)) q++;
    if (q - p != 1) return 0;
    if (strict) {
        const char *rest = q;
        size_t rest_len = (size_t)(end - q);
        trim(&rest, &rest_len);
        const char *lead = b;
        while (lead < p && is_blank(*lead)) lead++;
        if (rest_len != 0 || lead != p) return 0;
    }
    out[0] = (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
    out[1] = '\0';
    return 1;
}

int t2_answer_extract(const char *completion, t2_answer_match match, char out[T2_ANSWER_MAX]) {
    const char *b;
    size_t n;
    out[0] = '\0';
    if (!t2_answer_span(completion, &b, &n)) return 0;
    return canonical(b, n, match, 0, out);
}

/* The last number of [b, end) in canonical form, read as the numeric rule reads numbers;
 * 0 when there is none or the last one is too long to hold. */
static int last_number(const char *b, const char *end, char out[T2_ANSWER_MAX]) {
    int found = 0;
    char number[T2_ANSWER_MAX];
    for (const char *p = b; p < end;) {
        /* a sign glued to a preceding letter or digit is an operator, not a sign */
        if ((*p == '-' || *p == '+') && p > b && is_alnum(p[-1])) {
            p++;
            continue;
        }
        if (!number_starts(p, end)) {
            p++;
            continue;
        }
        size_t used = scan_number(p, end, number);
        if (used == 0) { /* too long to hold: step over all of it */
            found = 0;
            if (*p == '-' || *p == '+') p++;
            while (p < end && (is_digit(*p) || *p == ',' || *p == '.')) p++;
            continue;
        }
        memcpy(out, number, strlen(number) + 1);
        found = 1;
        p += used;
    }
    if (!found) out[0] = '\0';
    return found;
}

int t2_answer_extract_last(const char *completion, t2_answer_match match,
                           char out[T2_ANSWER_MAX]) {
    const char *end = completion + strlen(completion);
    out[0] = '\0';
    if (match == T2_ANSWER_MATCH_NUMERIC) return last_number(completion, end, out);
    if (match != T2_ANSWER_MATCH_CHOICE) return 0;
    for (const char *p = end; p > completion; p--) {
        char c = p[-1];
        if (!((c >= 'A' && c <= 'Z') || is_digit(c))) continue;
        if (p - 1 > completion && is_alnum(p[-2])) continue;
        if (p < end && is_alnum(*p)) continue;
        out[0] = c;
        out[1] = '\0';
        return 1;
    }
    return 0;
}

int t2_answer_normalize(const char *reference, t2_answer_match match, char out[T2_ANSWER_MAX]) {
    return canonical(reference, strlen(reference), match, 1, out);
}

int t2_answer_reward(const char *completion, const char *reference, t2_answer_match match) {
    char got[T2_ANSWER_MAX], want[T2_ANSWER_MAX];
    if (!t2_answer_normalize(reference, match, want)) return -1;
    if (!t2_answer_extract(completion, match, got)) return -1;
    return strcmp(got, want) == 0 ? 1 : -1;
}

const char *t2_answer_match_name(t2_answer_match match) {
    switch (match) {
    case T2_ANSWER_MATCH_EXACT: return "exact";
    case T2_ANSWER_MATCH_NUMERIC: return "numeric";
    case T2_ANSWER_MATCH_CHOICE: return "choice";
    }
    return "unknown";
}

int t2_answer_match_parse(const char *name, t2_answer_match *out) {
    static const t2_answer_match all[] = {T2_ANSWER_MATCH_EXACT, T2_ANSWER_MATCH_NUMERIC,
                                          T2_ANSWER_MATCH_CHOICE};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, t2_answer_match_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

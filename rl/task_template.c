/* Prompt templates with {name} placeholders (see task_template.h for the syntax). One scanner
 * walks the template for both the check and the rendering, so the two cannot disagree. */
#include "rl/task_template.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

/* Most placeholder names a template may use; tasks use one to three. */
enum { MAX_NAMES = 16 };

/* The kinds of piece the scanner returns. */
typedef enum piece_kind {
    PIECE_END,         /* end of the template */
    PIECE_TEXT,        /* literal bytes [begin, begin + len) */
    PIECE_PLACEHOLDER, /* the name [begin, begin + len) between braces */
    PIECE_UNCLOSED,    /* a '{' at begin with no '}' after it */
    PIECE_LONE_CLOSE,  /* a '}' at begin that closes nothing and is not "}}" */
} piece_kind;

/* The next piece of the template from *pos on; advances *pos past it. "{{" and "}}" are
 * literal text of one byte (the brace). */
static piece_kind next_piece(const char *tmpl, size_t *pos, const char **begin, size_t *len) {
    const char *p = tmpl + *pos;
    *begin = p;
    if (*p == '\0') return PIECE_END;
    if (p[0] == '{' && p[1] == '{') {
        *len = 1;
        *pos += 2;
        return PIECE_TEXT;
    }
    if (p[0] == '}' && p[1] == '}') {
        *begin = p + 1;
        *len = 1;
        *pos += 2;
        return PIECE_TEXT;
    }
    if (p[0] == '{') {
        const char *close = strchr(p + 1, '}');
        if (close == NULL) return PIECE_UNCLOSED;
        *begin = p + 1;
        *len = (size_t)(close - p - 1);
        *pos += *len + 2;
        return PIECE_PLACEHOLDER;
    }
    if (p[0] == '}') return PIECE_LONE_CLOSE;
    *len = strcspn(p, "{}");
    *pos += *len;
    return PIECE_TEXT;
}

/* The index of the name [b, b + n) in names, or -1. */
static int name_index(const char *b, size_t n, const char *const *names, int count) {
    for (int i = 0; i < count; i++)
        if (strlen(names[i]) == n && memcmp(names[i], b, n) == 0) return i;
    return -1;
}

/* "{a}, {b} and {c}" into out (truncated to size). */
static void list_names(const char *const *names, int n, char *out, size_t size) {
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n && used < size; i++) {
        const char *sep = i == 0 ? "" : i == n - 1 ? " and " : ", ";
        int w = snprintf(out + used, size - used, "%s{%s}", sep, names[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

int t2_task_template_check(const char *tmpl, const char *const *names, int n, const char *where,
                           t2_error *err) {
    T2_ASSERT(n >= 1 && n <= MAX_NAMES);
    char known[512];
    list_names(names, n, known, sizeof known);
    int seen[MAX_NAMES] = {0};
    size_t pos = 0;
    const char *b;
    size_t len;
    for (;;) {
        size_t at = pos;
        piece_kind kind = next_piece(tmpl, &pos, &b, &len);
        if (kind == PIECE_END) break;
        if (kind == PIECE_UNCLOSED)
            return t2_error_set(err, "%s: '{' at byte %zu is never closed; expected a "
                                "placeholder %s or '{{' for a literal brace", where, at, known);
        if (kind == PIECE_LONE_CLOSE)
            return t2_error_set(err, "%s: '}' at byte %zu closes no placeholder; expected '}}' "
                                "for a literal brace", where, at);
        if (kind != PIECE_PLACEHOLDER) continue;
        int i = name_index(b, len, names, n);
        if (i < 0)
            return t2_error_set(err, "%s: unknown placeholder '{%.*s}' at byte %zu; expected %s%s "
                                "(write '{{' and '}}' for literal braces)", where,
                                (int)(len < 60 ? len : 60), b, at, n > 1 ? "one of " : "",
                                known);
        seen[i] = 1;
    }
    for (int i = 0; i < n; i++)
        if (!seen[i])
            return t2_error_set(err, "%s: the template has no {%s}; expected a template holding "
                                "%s", where, names[i], known);
    return 0;
}

/* Writes the rendering into out (when not NULL) and returns its length. */
static size_t render_into(const char *tmpl, const char *const *names, const char *const *values,
                          int n, char *out) {
    size_t pos = 0, o = 0;
    const char *b;
    size_t len;
    for (;;) {
        piece_kind kind = next_piece(tmpl, &pos, &b, &len);
        if (kind == PIECE_END) return o;
        T2_ASSERT(kind == PIECE_TEXT || kind == PIECE_PLACEHOLDER);
        if (kind == PIECE_PLACEHOLDER) {
            int i = name_index(b, len, names, n);
            T2_ASSERT(i >= 0);
            b = values[i];
            len = strlen(values[i]);
        }
        if (out != NULL) memcpy(out + o, b, len);
        o += len;
    }
}

char *t2_task_template_render(const char *tmpl, const char *const *names,
                              const char *const *values, int n) {
    size_t total = render_into(tmpl, names, values, n, NULL);
    char *out = t2_alloc(total + 1);
    size_t written = render_into(tmpl, names, values, n, out);
    T2_ASSERT(written == total);
    out[total] = '\0';
    return out;
}

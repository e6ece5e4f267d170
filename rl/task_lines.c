/* Reading JSON lines: iterating over the non-blank lines of a text with their numbers, and
 * parsing one line as a JSON object with a "<file>:<line>: ..." error. Used by the dataset
 * reader (task_dataset.c) and the prediction files (task_score.c); knows no schema. */
#include <string.h>

#include "model/json_util.h"
#include "rl/task_impl.h"

int t2_task_lines_next(t2_task_lines *it, const char **line, size_t *len) {
    while (it->pos < it->len) {
        const char *start = it->text + it->pos;
        const char *nl = memchr(start, '\n', it->len - it->pos);
        size_t n = nl ? (size_t)(nl - start) : it->len - it->pos;
        it->pos += n + (nl != NULL);
        it->line++;
        if (n > 0 && start[n - 1] == '\r') n--;
        size_t blanks = 0;
        while (blanks < n && (start[blanks] == ' ' || start[blanks] == '\t')) blanks++;
        if (blanks == n) continue;
        *line = start;
        *len = n;
        return 1;
    }
    return 0;
}

json_t *t2_task_lines_parse(const char *path, int64_t line_no, const char *line, size_t len,
                            const char *expected, t2_error *err) {
    json_error_t jerr;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        t2_error_set(err, "%s:%lld: invalid JSON at column %d: %s; expected %s", path,
                     (long long)line_no, jerr.column, jerr.text, expected);
        return NULL;
    }
    if (!json_is_object(root)) {
        t2_error_set(err, "%s:%lld: the line is %s; expected %s", path, (long long)line_no,
                     t2_json_util_type_name(root), expected);
        json_decref(root);
        return NULL;
    }
    return root;
}

int t2_task_lines_add_id(t2_strmap *ids, const char *id, int64_t index, const char *key,
                         const char *where, t2_error *err) {
    if (index >= INT32_MAX)
        return t2_error_set(err, "%s: too many records; expected fewer than 2^31", where);
    int32_t earlier = t2_strmap_put(ids, id, strlen(id), (int32_t)index);
    if (earlier >= 0)
        return t2_error_set(err, "%s: %s '%.60s' was already used by record %d; expected "
                            "unique ids", where, key, id, earlier + 1);
    return 0;
}

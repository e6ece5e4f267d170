/* Scoring a JSON-lines file of completions with a task's reward (see t2_task_score_file in
 * task.h): one {"id": <string or integer>, "completion": <string>} per line, each id naming a
 * sample of the task's split at most once. Samples without a prediction are not counted.
 * Does not generate completions. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "rl/task_impl.h"

static const char expected_line[] = "one {\"id\": string or integer, \"completion\": string} "
                                    "per line";

/* Scores one parsed line; -1 with err on a bad field, an unknown or a repeated id. */
static int score_line(const t2_task *task, t2_task_split split, const char *where,
                      const json_t *obj, int64_t *line_of, int64_t line_no, int64_t *correct,
                      int64_t *no_answer, t2_error *err) {
    const json_t *id = json_object_get(obj, "id");
    const json_t *completion = json_object_get(obj, "completion");
    char id_text[32];
    const char *id_str = id_text;
    if (json_is_string(id))
        id_str = json_string_value(id);
    else if (json_is_integer(id))
        snprintf(id_text, sizeof id_text, "%lld", (long long)json_integer_value(id));
    else
        return t2_error_set(err, "%s: key 'id' is %s; expected %s", where,
                            id ? "not a string or an integer" : "missing", expected_line);
    if (!json_is_string(completion))
        return t2_error_set(err, "%s: key 'completion' is %s; expected %s", where,
                            completion ? "not a string" : "missing", expected_line);
    int64_t index = t2_task_find_id(task, split, id_str);
    if (index < 0)
        return t2_error_set(err, "%s: id '%.60s' is not a sample of task '%s' (%lld samples); "
                            "expected the id of one of them", where, id_str,
                            t2_task_info_of(task)->name, (long long)t2_task_size(task, split));
    if (line_of[index] != 0)
        return t2_error_set(err, "%s: id '%.60s' was already scored on line %lld; expected "
                            "one prediction per sample", where, id_str,
                            (long long)line_of[index]);
    line_of[index] = line_no;
    t2_task_sample sample = {0};
    t2_task_get(task, split, index, &sample);
    const char *text = json_string_value(completion);
    char got[T2_ANSWER_MAX];
    if (!t2_answer_extract(text, sample.match, got)) (*no_answer)++;
    if (t2_task_reward(&sample, text) > 0) (*correct)++;
    t2_task_sample_free(&sample);
    return 0;
}

int t2_task_score_file(const t2_task *task, t2_task_split split, const char *path, int64_t *n,
                       int64_t *correct, int64_t *no_answer, t2_error *err) {
    *n = *correct = *no_answer = 0;
    char *text;
    size_t len;
    if (t2_file_read(path, &text, &len, err) != 0) return -1;
    /* line_of[i]: the line that scored sample i, 0 when none yet */
    int64_t *line_of = t2_alloc_array((size_t)t2_task_size(task, split), sizeof *line_of);
    t2_task_lines it = {text, len, 0, 0};
    const char *line;
    size_t line_len;
    int rc = 0;
    while (rc == 0 && t2_task_lines_next(&it, &line, &line_len)) {
        json_t *obj = t2_task_lines_parse(path, it.line, line, line_len, expected_line, err);
        if (obj == NULL) {
            rc = -1;
            break;
        }
        char where[1100];
        snprintf(where, sizeof where, "%s:%lld", path, (long long)it.line);
        rc = score_line(task, split, where, obj, line_of, it.line, correct, no_answer, err);
        json_decref(obj);
        if (rc == 0) (*n)++;
    }
    t2_free(line_of);
    t2_free(text);
    if (rc == 0 && *n == 0)
        rc = t2_error_set(err, "%s: no predictions; expected %s", path, expected_line);
    return rc;
}

/* Scoring a JSON-lines file of completions with a task's reward (see t2_task_score_file in
 * task.h): one {"id": <string or integer>, "completion": <string>} per line, each id naming a
 * sample of the task's split at most once. Samples without a prediction are not counted.
 * The whole file is checked first, then rewarded in chunks by t2_task_rewards.
 * Does not generate completions. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "rl/task_impl.h"

static const char expected_line[] = "one {\"id\": string or integer, \"completion\": string} "
                                    "per line";

/* Checks one parsed line and keeps its completion in texts[index] (heap) for scoring; -1
 * with err on a bad field, an unknown or a repeated id. */
static int score_line(const t2_task *task, t2_task_split split, const char *where,
                      const json_t *obj, int64_t *line_of, int64_t line_no, char **texts,
                      t2_error *err) {
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
    texts[index] = t2_strdup(json_string_value(completion));
    return 0;
}

/* Rewards the kept completions, SCORE_CHUNK samples at a time through t2_task_rewards (so
 * that mbpp's programs run concurrently), counting the correct ones and those without an
 * answer. */
enum { SCORE_CHUNK = 256 };
static void score_kept(const t2_task *task, t2_task_split split, char **texts, int64_t size,
                       int64_t *correct, int64_t *no_answer) {
    t2_task_sample *samples = t2_alloc_array(SCORE_CHUNK, sizeof *samples);
    const char **chunk = t2_alloc_array(SCORE_CHUNK, sizeof *chunk);
    int *rewards = t2_alloc_array(SCORE_CHUNK, sizeof *rewards);
    for (int64_t at = 0; at < size;) {
        int64_t m = 0;
        for (; at < size && m < SCORE_CHUNK; at++) {
            if (texts[at] == NULL) continue;
            t2_task_get(task, split, at, &samples[m]);
            chunk[m++] = texts[at];
        }
        t2_task_rewards(samples, chunk, m, rewards);
        for (int64_t i = 0; i < m; i++) {
            char got[T2_ANSWER_MAX];
            if (!t2_task_answer(&samples[i], chunk[i], got)) (*no_answer)++;
            if (rewards[i] > 0) (*correct)++;
            t2_task_sample_free(&samples[i]);
        }
    }
    t2_free(rewards);
    t2_free(chunk);
    t2_free(samples);
}

int t2_task_score_file(const t2_task *task, t2_task_split split, const char *path, int64_t *n,
                       int64_t *correct, int64_t *no_answer, t2_error *err) {
    *n = *correct = *no_answer = 0;
    char *text;
    size_t len;
    if (t2_file_read(path, &text, &len, err) != 0) return -1;
    /* line_of[i]: the line that scored sample i, 0 when none yet */
    int64_t size = t2_task_size(task, split);
    int64_t *line_of = t2_alloc_array((size_t)size, sizeof *line_of);
    char **texts = t2_alloc_array((size_t)size, sizeof *texts); /* [size] kept completions */
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
        rc = score_line(task, split, where, obj, line_of, it.line, texts, err);
        json_decref(obj);
        if (rc == 0) (*n)++;
    }
    if (rc == 0) score_kept(task, split, texts, size, correct, no_answer);
    for (int64_t i = 0; i < size; i++) t2_free(texts[i]);
    t2_free(texts);
    t2_free(line_of);
    t2_free(text);
    if (rc == 0 && *n == 0)
        rc = t2_error_set(err, "%s: no predictions; expected %s", path, expected_line);
    return rc;
}

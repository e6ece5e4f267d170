/* Dataset tasks: JSON-lines files read whole into memory and checked record by record.
 *   gsm8k: {"question": str, "answer": str ending "#### N"}; the reference is N (numeric
 *          match); the worked answer is the solution with its calculator notes "<<...>>"
 *          removed and its lines joined, then "The answer is N."
 *   arc:   AI2's layout {"question": {"stem": str, "choices": [{"text", "label"}...]},
 *          "answerKey"} or Hugging Face's {"question": str, "choices": {"text": [...],
 *          "label": [...]}, "answerKey"}; labels are one letter or digit ("A".."E", "1".."4");
 *          the placeholders are {question}, the stem, and {choices}, one "L. text" line per
 *          choice (the layout of the paper's evaluation); the key is "stem A) text B) text
 *          ..."; choice match.
 *   qa:    {"prompt": str, "answer": str or number, "match": "exact"|"numeric"|"choice"
 *          (default exact)}.
 * The prompt is the task's template (task.c) filled with the record's placeholder values.
 * Every record may carry "id" (string or integer); otherwise its id is its 0-based line
 * number. Blank lines are skipped; other keys are ignored. The first bad line stops loading
 * with "<file>:<line>: <what is wrong>; expected <what>".
 * Reference: GSM8K (openai/grade-school-math), ARC (allenai.org/data/arc and the Hugging Face
 * allenai/ai2_arc layout). */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/file.h"
#include "model/json_util.h"
#include "model/strmap.h"
#include "rl/task_impl.h"
#include "rl/task_template.h"

typedef struct record {
    char *id, *question, *answer, *worked;
    char *choices; /* arc: the {choices} lines; NULL for the other tasks */
    char *stem;    /* arc: the {question}, the stem alone; NULL for the other tasks */
    t2_answer_match match;
} record;

struct t2_task_dataset {
    record *records; /* [n] in file order */
    int64_t n, cap;
    t2_strmap ids;   /* id -> index */
};

/* A required string field: 0 with *out borrowed, or -1 with err (missing or not a string). */
static int need_string(const json_t *obj, const char *key, const char **out, const char *where,
                       const char *expected, t2_error *err) {
    int got = t2_json_util_get_string(obj, key, out, where, "", err);
    if (got < 0) return -1;
    if (got == 0) return t2_error_set(err, "%s: key '%s' is missing; expected %s", where, key,
                                      expected);
    return 0;
}

/* A string or an integer as text (ids, answer keys): heap string, or NULL when value is
 * neither. */
static char *string_or_integer(const json_t *value) {
    if (json_is_string(value)) return t2_strdup(json_string_value(value));
    if (!json_is_integer(value)) return NULL;
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)json_integer_value(value));
    return t2_strdup(text);
}

/* The GSM8K solution text before "####" without "<<...>>" notes, lines joined by spaces,
 * blanks collapsed. Heap string. */
static char *gsm8k_steps(const char *solution, size_t len) {
    char *out = t2_alloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (solution[i] == '<' && i + 1 < len && solution[i + 1] == '<') {
            const char *close = strstr(solution + i + 2, ">>");
            if (close != NULL && (size_t)(close - solution) + 2 <= len) {
                i = (size_t)(close - solution) + 1;
                continue;
            }
        }
        char c = solution[i];
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
        if (c == ' ' && (o == 0 || out[o - 1] == ' ')) continue;
        out[o++] = c;
    }
    while (o > 0 && out[o - 1] == ' ') o--;
    out[o] = '\0';
    return out;
}

static int parse_gsm8k(const json_t *obj, const char *where, record *r, t2_error *err) {
    static const char expected[] =
        "a GSM8K record {\"question\": text, \"answer\": text ending \"#### <number>\"}";
    const char *question, *solution;
    if (need_string(obj, "question", &question, where, expected, err) != 0 ||
        need_string(obj, "answer", &solution, where, expected, err) != 0)
        return -1;
    const char *mark = NULL;
    for (const char *p = strstr(solution, "####"); p != NULL; p = strstr(p + 1, "####"))
        mark = p;
    if (mark == NULL)
        return t2_error_set(err, "%s: key 'answer' has no final '#### <number>'; expected %s",
                            where, expected);
    char canon[T2_ANSWER_MAX];
    if (!t2_answer_normalize(mark + 4, T2_ANSWER_MATCH_NUMERIC, canon))
        return t2_error_set(err, "%s: key 'answer' ends in '####%.40s', not a number; expected "
                            "%s", where, mark + 4, expected);
    r->question = t2_strdup(question);
    r->answer = t2_strdup(canon);
    char *steps = gsm8k_steps(solution, (size_t)(mark - solution));
    r->worked = t2_task_worked_make(steps, canon);
    t2_free(steps);
    r->match = T2_ANSWER_MATCH_NUMERIC;
    return 0;
}

/* "a string", "an integer", ... or "missing" for an absent value. */
static const char *type_or_missing(const json_t *value) {
    return value ? t2_json_util_type_name(value) : "missing";
}

/* Appends " L) text" to the key being built and "L. text" to the choice lines for one ARC
 * choice after checking it. */
static int arc_choice(const json_t *label, const json_t *text, const char *where, int index,
                      t2_task_text *labels, char **question, size_t *qlen, char **lines,
                      size_t *llen, t2_error *err) {
    if (!json_is_string(text))
        return t2_error_set(err, "%s: choice %d: its text is %s; expected a string", where,
                            index + 1, type_or_missing(text));
    char *name = string_or_integer(label);
    char canon[T2_ANSWER_MAX];
    int ok = name != NULL && strlen(name) == 1 &&
             t2_answer_normalize(name, T2_ANSWER_MATCH_CHOICE, canon);
    t2_free(name);
    if (!ok)
        return t2_error_set(err, "%s: choice %d: its label is %s%s%s; expected one letter or "
                            "digit", where, index + 1, json_is_string(label) ? "'" : "",
                            json_is_string(label) ? json_string_value(label)
                                                  : type_or_missing(label),
                            json_is_string(label) ? "'" : "");
    if (strchr(labels->s, canon[0]) != NULL)
        return t2_error_set(err, "%s: choice label '%s' appears twice; expected unique labels",
                            where, canon);
    t2_task_text_add(labels, "%c", canon[0]);
    const char *t = json_string_value(text);
    size_t add = strlen(t) + 8;
    *question = t2_realloc(*question, *qlen + add);
    *qlen += (size_t)snprintf(*question + *qlen, add, " %c) %s", canon[0], t);
    *lines = t2_realloc(*lines, *llen + add);
    *llen += (size_t)snprintf(*lines + *llen, add, "%s%c. %s", *llen ? "\n" : "", canon[0], t);
    return 0;
}

static int parse_arc(const json_t *obj, const char *where, record *r, t2_error *err) {
    static const char expected[] =
        "an ARC record: {\"question\": {\"stem\", \"choices\": [{\"text\", \"label\"}...]}, "
        "\"answerKey\"} or {\"question\": text, \"choices\": {\"text\": [...], \"label\": "
        "[...]}, \"answerKey\"}";
    const json_t *q = json_object_get(obj, "question");
    const json_t *choices = NULL;
    const char *stem = NULL;
    if (json_is_object(q)) { /* AI2 layout */
        if (need_string(q, "stem", &stem, where, expected, err) != 0) return -1;
        choices = json_object_get(q, "choices");
        if (!json_is_array(choices))
            return t2_error_set(err, "%s: key 'question.choices' is %s; expected %s", where,
                                type_or_missing(choices), expected);
    } else if (json_is_string(q)) { /* Hugging Face layout */
        stem = json_string_value(q);
        choices = json_object_get(obj, "choices");
        const json_t *labels = json_object_get(choices, "label"),
                     *texts = json_object_get(choices, "text");
        if (!json_is_object(choices) || !json_is_array(labels) || !json_is_array(texts) ||
            json_array_size(labels) != json_array_size(texts))
            return t2_error_set(err, "%s: key 'choices' is not an object of two arrays of equal "
                                "length 'label' and 'text'; expected %s", where, expected);
    } else {
        return t2_error_set(err, "%s: key 'question' is %s; expected %s", where,
                            type_or_missing(q), expected);
    }
    size_t n = json_is_array(choices) ? json_array_size(choices)
                                      : json_array_size(json_object_get(choices, "label"));
    if (n < 2 || n > 26)
        return t2_error_set(err, "%s: %zu choices; expected 2 to 26", where, n);
    t2_task_text labels = {{0}, 0};
    size_t qlen = strlen(stem), llen = 0;
    char *question = t2_strdup(stem), *lines = t2_strdup("");
    for (size_t i = 0; i < n; i++) {
        const json_t *label, *text;
        if (json_is_array(choices)) {
            const json_t *c = json_array_get(choices, i);
            label = json_object_get(c, "label");
            text = json_object_get(c, "text");
        } else {
            label = json_array_get(json_object_get(choices, "label"), i);
            text = json_array_get(json_object_get(choices, "text"), i);
        }
        if (arc_choice(label, text, where, (int)i, &labels, &question, &qlen, &lines, &llen,
                       err) != 0) {
            t2_free(question);
            t2_free(lines);
            return -1;
        }
    }
    char *key = string_or_integer(json_object_get(obj, "answerKey"));
    char canon[T2_ANSWER_MAX];
    int ok = key != NULL && t2_answer_normalize(key, T2_ANSWER_MATCH_CHOICE, canon) &&
             strchr(labels.s, canon[0]) != NULL;
    if (!ok) {
        t2_error_set(err, "%s: answerKey %s%s%s is not a choice label; expected one of %s",
                     where, key ? "'" : "", key ? key : "missing", key ? "'" : "", labels.s);
        t2_free(key);
        t2_free(question);
        t2_free(lines);
        return -1;
    }
    t2_free(key);
    r->question = question;
    r->stem = t2_strdup(stem);
    r->choices = lines;
    r->answer = t2_strdup(canon);
    r->worked = t2_task_worked_make("", canon);
    r->match = T2_ANSWER_MATCH_CHOICE;
    return 0;
}

static int parse_qa(const json_t *obj, const char *where, record *r, t2_error *err) {
    static const char expected[] =
        "a record {\"prompt\": text, \"answer\": text or number, \"match\": \"exact\", "
        "\"numeric\" or \"choice\" (optional)}";
    const char *prompt, *match_name = "exact";
    if (need_string(obj, "prompt", &prompt, where, expected, err) != 0) return -1;
    if (t2_json_util_get_string(obj, "match", &match_name, where, "", err) < 0) return -1;
    t2_answer_match match;
    if (t2_answer_match_parse(match_name, &match) != 0)
        return t2_error_set(err, "%s: key 'match' is '%s'; expected \"exact\", \"numeric\" or "
                            "\"choice\"", where, match_name);
    const json_t *value = json_object_get(obj, "answer");
    char *answer = string_or_integer(value);
    if (answer == NULL && json_is_real(value)) {
        char text[40];
        snprintf(text, sizeof text, "%.17g", json_real_value(value));
        answer = t2_strdup(text);
    }
    if (answer == NULL)
        return t2_error_set(err, "%s: key 'answer' is %s; expected %s", where,
                            type_or_missing(value), expected);
    char canon[T2_ANSWER_MAX];
    if (!t2_answer_normalize(answer, match, canon)) {
        t2_error_set(err, "%s: key 'answer' is '%.60s'; expected %s (match \"%s\")", where,
                     answer,
                     match == T2_ANSWER_MATCH_NUMERIC  ? "a number"
                     : match == T2_ANSWER_MATCH_CHOICE ? "one letter or digit"
                                                       : "a non-empty text under 1024 bytes",
                     match_name);
        t2_free(answer);
        return -1;
    }
    t2_free(answer);
    /* The reward reads the answer after the last marker, up to the end of its line: an exact
     * answer holding a line break or a marker ("####", "answer is", ...) could never be
     * stated by a completion, not even by the record's worked answer. */
    char *worked = t2_task_worked_make("", canon);
    if (t2_answer_reward(worked, canon, match) != 1) {
        t2_free(worked);
        return t2_error_set(err, "%s: key 'answer' is '%.60s', which no completion can state "
                            "(it holds a line break or an answer marker such as \"####\" or "
                            "\"answer is\"); expected an answer on one line without markers",
                            where, canon);
    }
    r->question = t2_strdup(prompt);
    r->answer = t2_strdup(canon);
    r->worked = worked;
    r->match = match;
    return 0;
}

static void record_free(record *r) {
    t2_free(r->id);
    t2_free(r->question);
    t2_free(r->answer);
    t2_free(r->worked);
    t2_free(r->stem);
    t2_free(r->choices);
}

void t2_task_dataset_free(t2_task_dataset *data) {
    if (data == NULL) return;
    for (int64_t i = 0; i < data->n; i++) record_free(&data->records[i]);
    t2_free(data->records);
    t2_strmap_free(&data->ids);
    t2_free(data);
}

/* Reads one line's record into r (id included); -1 with err on a bad line. */
static int parse_line(const char *name, const char *path, int64_t line_no, const char *line,
                      size_t len, record *r, t2_error *err) {
    json_t *obj = t2_task_lines_parse(path, line_no, line, len, "one JSON object per line", err);
    if (obj == NULL) return -1;
    char where[1100];
    snprintf(where, sizeof where, "%s:%lld", path, (long long)line_no);
    int rc = strcmp(name, "gsm8k") == 0 ? parse_gsm8k(obj, where, r, err)
             : strcmp(name, "arc") == 0 ? parse_arc(obj, where, r, err)
                                        : parse_qa(obj, where, r, err);
    const json_t *id = json_object_get(obj, "id");
    if (rc == 0 && id != NULL) {
        r->id = string_or_integer(id);
        if (r->id == NULL || r->id[0] == '\0')
            rc = t2_error_set(err, "%s: key 'id' is %s; expected a non-empty string or an "
                              "integer", where, r->id ? "empty" : t2_json_util_type_name(id));
    } else if (rc == 0) {
        char text[32];
        snprintf(text, sizeof text, "%lld", (long long)(line_no - 1));
        r->id = t2_strdup(text);
    }
    json_decref(obj);
    return rc;
}

t2_task_dataset *t2_task_dataset_load(const char *name, const char *path, t2_error *err) {
    char *text;
    size_t len;
    if (t2_file_read(path, &text, &len, err) != 0) return NULL;
    t2_task_dataset *data = t2_alloc_zero(sizeof *data);
    t2_strmap_init(&data->ids, 1024);
    t2_task_lines it = {text, len, 0, 0};
    const char *line;
    size_t line_len;
    int rc = 0;
    while (rc == 0 && t2_task_lines_next(&it, &line, &line_len)) {
        record r = {0};
        rc = parse_line(name, path, it.line, line, line_len, &r, err);
        if (rc == 0) {
            char where[1100];
            snprintf(where, sizeof where, "%s:%lld", path, (long long)it.line);
            rc = t2_task_lines_add_id(&data->ids, r.id, data->n, "id", where, err);
        }
        if (rc != 0) {
            record_free(&r);
            break;
        }
        if (data->n == data->cap) {
            data->cap = data->cap ? 2 * data->cap : 256;
            data->records = t2_realloc(data->records, (size_t)data->cap * sizeof *data->records);
        }
        data->records[data->n++] = r;
    }
    t2_free(text);
    if (rc == 0 && data->n == 0)
        rc = t2_error_set(err, "%s: no records; expected one JSON object per line", path);
    if (rc != 0) {
        t2_task_dataset_free(data);
        return NULL;
    }
    return data;
}

int64_t t2_task_dataset_size(const t2_task_dataset *data) { return data->n; }

void t2_task_dataset_get(const t2_task_dataset *data, int64_t index, const char *tmpl,
                         const char *const *names, int n_names, t2_task_sample *sample) {
    const record *r = &data->records[index];
    const char *values[2] = {r->stem ? r->stem : r->question, r->choices};
    T2_ASSERT(n_names == (r->choices ? 2 : 1));
    sample->id = t2_strdup(r->id);
    sample->key = t2_strdup(r->question);
    sample->prompt = t2_task_template_render(tmpl, names, values, n_names);
    sample->answer = t2_strdup(r->answer);
    sample->worked = t2_strdup(r->worked);
    sample->category = NULL;
    sample->match = r->match;
}

int64_t t2_task_dataset_find_id(const t2_task_dataset *data, const char *id) {
    return t2_strmap_get(&data->ids, id, strlen(id));
}

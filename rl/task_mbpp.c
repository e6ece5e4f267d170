/* The mbpp dataset task: MBPP JSON lines, one problem per line,
 *     {"task_id": int or str, "text": str, "code": str, "test_list": [str, ...],
 *      "test_setup_code": str (optional), "challenge_test_list": [str, ...] (optional)}
 * checked line by line as task_dataset.c checks its files; the sample's id is task_id. The
 * prompt poses text and the first assert; the worked answer is the reference code in a
 * ```python block on lines of its own ("\n```python\n<code>\n```\n"). The reward runs test_setup_code, the completion's code and every assert of
 * test_list (challenge_test_list is checked but never run: the paper's metric is MBPP's base
 * tests) with python3 in the sandbox (rl/sandbox.h): 1 when the program exits 0 after its last
 * assert, 0 otherwise. t2_task_rewards runs a batch's programs concurrently.
 * Does not generate text or print. Reference: MBPP (Austin et al., 2021,
 * google-research/mbpp, mbpp.jsonl's layout); the prompt and system message of the paper's
 * evaluation (Transformer-squared, SakanaAI/self-adaptive-llms: fishfarm's
 * tasks/evalplus/data.py map_mbpp_problem and tasks/mbpp2.py), which pose evalplus's MBPP+
 * prompt (the text and the first assert); its code extraction (fishfarm's generation.py cuts
 * a completion at its first "```", the prompt having opened the block). */
#define _GNU_SOURCE
#include "rl/task_mbpp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "model/json_util.h"
#include "model/strmap.h"
#include "rl/task_impl.h"
#include "rl/task_template.h"

/* Verbatim, with the double blank the reference's string concatenation leaves. */
const char t2_task_mbpp_system[] =
    "You are an exceptionally intelligent coding assistant that  consistently delivers "
    "accurate and reliable responses to user instructions.";

static const char expected_record[] =
    "an MBPP record {\"task_id\": integer or text, \"text\": text, \"code\": text, "
    "\"test_list\": [text, ...], \"test_setup_code\": text (optional), "
    "\"challenge_test_list\": [text, ...] (optional)}";

typedef struct record {
    char *id, *text, *question, *code, *first_test, *tests, *setup, *worked;
} record;

struct t2_task_mbpp {
    record *records; /* [n] in file order */
    int64_t n, cap;
    t2_strmap ids;   /* id -> index */
    t2_sandbox_limits limits;
};

static void record_free(record *r) {
    t2_free(r->id);
    t2_free(r->text);
    t2_free(r->question);
    t2_free(r->code);
    t2_free(r->first_test);
    t2_free(r->tests);
    t2_free(r->setup);
    t2_free(r->worked);
}

/* "a string", "an array", ... or "missing". */
static const char *type_or_missing(const json_t *value) {
    return value ? t2_json_util_type_name(value) : "missing";
}

/* A required string: 0 with *out borrowed, -1 with err. */
static int need_string(const json_t *obj, const char *key, const char *where, const char **out,
                       t2_error *err) {
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return t2_error_set(err, "%s: key '%s' is %s; expected %s", where, key,
                            type_or_missing(v), expected_record);
    *out = json_string_value(v);
    return 0;
}

/* A list of strings, joined by "\n" into *joined (heap) when joined is not NULL: 0, or -1
 * with err (not an array, an element not a string, or empty when required). */
static int string_list(const json_t *obj, const char *key, int required, const char *where,
                       char **joined, t2_error *err) {
    const json_t *list = json_object_get(obj, key);
    if (list == NULL && !required) return 0;
    if (!json_is_array(list))
        return t2_error_set(err, "%s: key '%s' is %s; expected %s", where, key,
                            type_or_missing(list), expected_record);
    size_t n = json_array_size(list), total = 1;
    if (n == 0 && required)
        return t2_error_set(err, "%s: key '%s' is an empty list; expected at least one assert",
                            where, key);
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(list, i);
        if (!json_is_string(item) || json_string_length(item) == 0)
            return t2_error_set(err, "%s: key '%s', item %zu is %s; expected a non-empty "
                                "string of Python", where, key, i + 1,
                                json_is_string(item) ? "empty" : t2_json_util_type_name(item));
        total += json_string_length(item) + 1;
    }
    if (joined == NULL) return 0;
    char *out = t2_alloc(total);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(list, i);
        size_t len = json_string_length(item);
        memcpy(out + used, json_string_value(item), len);
        used += len;
        out[used++] = '\n';
    }
    out[used] = '\0';
    *joined = out;
    return 0;
}

/* Reads one record (its id included) into r; -1 with err. */
static int parse_record(const json_t *obj, const char *where, record *r, t2_error *err) {
    const json_t *id = json_object_get(obj, "task_id");
    if (json_is_string(id) && json_string_length(id) > 0) {
        r->id = t2_strdup(json_string_value(id));
    } else if (json_is_integer(id)) {
        r->id = t2_strdup_printf("%lld", (long long)json_integer_value(id));
    } else {
        return t2_error_set(err, "%s: key 'task_id' is %s; expected a non-empty string or an "
                            "integer", where,
                            json_is_string(id) ? "empty" : type_or_missing(id));
    }
    const char *text = NULL, *code = NULL, *setup = "";
    if (need_string(obj, "text", where, &text, err) != 0 ||
        need_string(obj, "code", where, &code, err) != 0)
        return -1;
    if (text[strspn(text, " \t\r\n")] == '\0')
        return t2_error_set(err, "%s: key 'text' is blank; expected the problem statement",
                            where);
    if (code[strspn(code, " \t\r\n")] == '\0')
        return t2_error_set(err, "%s: key 'code' is blank; expected the reference solution",
                            where);
    const json_t *setup_value = json_object_get(obj, "test_setup_code");
    if (setup_value != NULL && !json_is_string(setup_value))
        return t2_error_set(err, "%s: key 'test_setup_code' is %s; expected %s", where,
                            t2_json_util_type_name(setup_value), expected_record);
    if (setup_value != NULL) setup = json_string_value(setup_value);
    if (string_list(obj, "test_list", 1, where, &r->tests, err) != 0 ||
        string_list(obj, "challenge_test_list", 0, where, NULL, err) != 0)
        return -1;
    /* the question as the reference states it: trimmed, ending with a period */
    size_t b = strspn(text, " \t\r\n"), e = strlen(text);
    while (e > b && strchr(" \t\r\n", text[e - 1]) != NULL) e--;
    r->text = t2_strdup(text);
    r->question = t2_strdup_printf("%.*s%s", (int)(e - b), text + b,
                                   text[e - 1] == '.' ? "" : ".");
    r->first_test = t2_strdup(json_string_value(json_array_get(json_object_get(obj,
                                                                                "test_list"),
                                                               0)));
    r->code = t2_strdup(code);
    r->setup = t2_strdup(setup);
    size_t c = strlen(code);
    while (c > 0 && strchr(" \t\r\n", code[c - 1]) != NULL) c--;
    r->worked = t2_strdup_printf("\n```python\n%.*s\n```\n", (int)c, code);
    return 0;
}

void t2_task_mbpp_free(t2_task_mbpp *data) {
    if (data == NULL) return;
    for (int64_t i = 0; i < data->n; i++) record_free(&data->records[i]);
    t2_free(data->records);
    t2_strmap_free(&data->ids);
    t2_free(data);
}

t2_task_mbpp *t2_task_mbpp_load(const char *path, t2_error *err) {
    if (access(T2_SANDBOX_PYTHON, X_OK) != 0) {
        t2_error_set(err, "task 'mbpp': %s cannot be run (%s); expected python3 installed, "
                     "which runs the tests of the reward", T2_SANDBOX_PYTHON, strerror(errno));
        return NULL;
    }
    char *text;
    size_t len;
    if (t2_file_read(path, &text, &len, err) != 0) return NULL;
    t2_task_mbpp *data = t2_alloc_zero(sizeof *data);
    t2_strmap_init(&data->ids, 1024);
    t2_sandbox_limits_default(&data->limits);
    t2_task_lines it = {text, len, 0, 0};
    const char *line;
    size_t line_len;
    int rc = 0;
    while (rc == 0 && t2_task_lines_next(&it, &line, &line_len)) {
        json_t *obj = t2_task_lines_parse(path, it.line, line, line_len,
                                          "one JSON object per line", err);
        if (obj == NULL) {
            rc = -1;
            break;
        }
        char where[1100];
        snprintf(where, sizeof where, "%s:%lld", path, (long long)it.line);
        record r = {0};
        rc = parse_record(obj, where, &r, err);
        json_decref(obj);
        if (rc == 0) rc = t2_task_lines_add_id(&data->ids, r.id, data->n, "task_id", where, err);
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
        rc = t2_error_set(err, "%s: no records; expected %s per line", path, expected_record);
    if (rc != 0) {
        t2_task_mbpp_free(data);
        return NULL;
    }
    return data;
}

int64_t t2_task_mbpp_size(const t2_task_mbpp *data) { return data->n; }

void t2_task_mbpp_set_limits(t2_task_mbpp *data, const t2_sandbox_limits *limits) {
    data->limits = *limits;
}

void t2_task_mbpp_get(const t2_task_mbpp *data, int64_t index, const char *tmpl,
                      const char *const *names, int n_names, t2_task_sample *sample) {
    const record *r = &data->records[index];
    const char *values[2];
    for (int i = 0; i < n_names && i < 2; i++)
        values[i] = strcmp(names[i], "tests") == 0 ? r->first_test : r->question;
    sample->id = t2_strdup(r->id);
    sample->key = t2_strdup(r->text);
    sample->prompt = t2_task_template_render(tmpl, names, values, n_names);
    sample->answer = t2_strdup(r->tests);
    sample->worked = t2_strdup(r->worked);
    sample->category = NULL;
    sample->match = T2_ANSWER_MATCH_EXACT;
    sample->tests = t2_strdup(r->tests);
    sample->test_setup = t2_strdup(r->setup);
    sample->sandbox = &data->limits;
}

int64_t t2_task_mbpp_find_id(const t2_task_mbpp *data, const char *id) {
    return t2_strmap_get(&data->ids, id, strlen(id));
}

/* ---- code extraction ---- */

typedef struct fence {
    size_t begin, end; /* the fence line [begin, end), end past its "\n" or at the text end */
    int tagged;        /* 1: a language follows the backticks ("```python") */
} fence;

/* The fence lines of text: lines whose first non-blank bytes are "```". At most cap. */
static int find_fences(const char *text, fence *out, int cap) {
    int n = 0;
    for (size_t at = 0; text[at] != '\0' && n < cap;) {
        size_t eol = at + strcspn(text + at, "\n");
        size_t p = at + strspn(text + at, " \t");
        if (strncmp(text + p, "```", 3) == 0) {
            size_t q = p + 3;
            while (q < eol && text[q] == '`') q++;
            while (q < eol && strchr(" \t\r", text[q]) != NULL) q++;
            out[n++] = (fence){at, text[eol] ? eol + 1 : eol, q < eol};
        }
        at = text[eol] ? eol + 1 : eol;
    }
    return n;
}

/* Copies text[begin, end) without blank lines at both ends. */
static char *trimmed_copy(const char *text, size_t begin, size_t end) {
    while (begin < end) { /* drop whole blank lines at the start */
        size_t eol = begin;
        while (eol < end && text[eol] != '\n' && strchr(" \t\r", text[eol]) != NULL) eol++;
        if (eol < end && text[eol] == '\n') begin = eol + 1;
        else if (eol == end) begin = end;
        else break;
    }
    while (end > begin && strchr(" \t\r\n", text[end - 1]) != NULL) end--;
    return t2_strdup_printf("%.*s", (int)(end - begin), text + begin);
}

char *t2_task_mbpp_extract(const char *completion) {
    enum { MAX_FENCES = 64 };
    fence fences[MAX_FENCES];
    int n = find_fences(completion, fences, MAX_FENCES);
    size_t len = strlen(completion);
    for (int i = 0; i < n; i++) /* a block with a language */
        if (fences[i].tagged)
            return trimmed_copy(completion, fences[i].end, i + 1 < n ? fences[i + 1].begin : len);
    if (n == 0) return trimmed_copy(completion, 0, len);
    size_t before = strspn(completion, " \t\r\n");
    if (before >= fences[0].begin || n % 2 == 0)
        return trimmed_copy(completion, fences[0].end, n > 1 ? fences[1].begin : len);
    return trimmed_copy(completion, 0, fences[0].begin);
}

/* ---- the reward ---- */

char *t2_task_mbpp_program(const t2_task_sample *sample, const char *code, const char *marker) {
    return t2_strdup_printf("%s\n%s\n%s\nprint('%s')\n", sample->test_setup ? sample->test_setup
                                                                             : "",
                            code, sample->tests, marker);
}

/* A marker the program prints after its last assert: a program that exits 0 earlier
 * (sys.exit(0), os._exit(0)) does not pass. Random per batch so that code cannot print it
 * without reading its own source. */
static void make_marker(char out[40]) {
    uint64_t bits = 0;
    if (getrandom(&bits, sizeof bits, GRND_NONBLOCK) != (ssize_t)sizeof bits) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        bits = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec;
    }
    snprintf(out, 40, "t2-mbpp-passed-%016llx", (unsigned long long)bits);
}

static int passed(const t2_sandbox_result *r, const char *marker) {
    size_t m = strlen(marker);
    return r->status == T2_SANDBOX_PASSED && r->output_len >= m + 1 &&
           memcmp(r->output + r->output_len - m - 1, marker, m) == 0 &&
           r->output[r->output_len - 1] == '\n';
}

int t2_task_mbpp_reward(const t2_task_sample *sample, const char *completion) {
    int reward = 0;
    t2_task_rewards(sample, &completion, 1, &reward);
    return reward;
}

int t2_task_mbpp_answer(const t2_task_sample *sample, const char *completion, char *out,
                        size_t cap) {
    (void)sample;
    char *code = t2_task_mbpp_extract(completion);
    snprintf(out, cap, "%s", code);
    int found = code[0] != '\0';
    t2_free(code);
    return found;
}

void t2_task_rewards(const t2_task_sample *samples, const char *const *completions, int64_t n,
                     int *rewards) {
    char **programs = t2_alloc_array((size_t)(n > 0 ? n : 1), sizeof *programs);
    int64_t *which = t2_alloc_array((size_t)(n > 0 ? n : 1), sizeof *which);
    int64_t m = 0;
    const t2_sandbox_limits *limits = NULL;
    char marker[40];
    make_marker(marker);
    for (int64_t i = 0; i < n; i++) {
        rewards[i] = 0;
        if (samples[i].tests == NULL) {
            rewards[i] = t2_task_reward(&samples[i], completions[i]);
            continue;
        }
        char *code = t2_task_mbpp_extract(completions[i]);
        if (code[0] != '\0') {
            programs[m] = t2_task_mbpp_program(&samples[i], code, marker);
            which[m++] = i;
            if (limits == NULL) limits = samples[i].sandbox;
        }
        t2_free(code);
    }
    if (m > 0) {
        t2_sandbox_limits defaults;
        t2_sandbox_limits_default(&defaults);
        t2_sandbox_result *results = t2_alloc_array((size_t)m, sizeof *results);
        t2_sandbox_run_batch((const char *const *)programs, m, limits ? limits : &defaults,
                             results);
        for (int64_t k = 0; k < m; k++) {
            rewards[which[k]] = passed(&results[k], marker);
            t2_sandbox_result_free(&results[k]);
            t2_free(programs[k]);
        }
        t2_free(results);
    }
    t2_free(which);
    t2_free(programs);
}

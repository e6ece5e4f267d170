/* Packed pretraining rows from a weighted task mix (see corpus.h). */
#include "rl/corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/rng.h"

void t2_corpus_free(t2_corpus *c) {
    for (int i = 0; i < c->n_tasks; i++) t2_task_free(c->tasks[i]);
    memset(c, 0, sizeof *c);
}

/* Parses one "task[:weight][@level]" item into its parts (name into buf). */
static int parse_item(const char *item, char *name, size_t name_size, double *weight,
                      int *level) {
    *weight = 1.0;
    *level = 0;
    size_t len = strcspn(item, ":@");
    if (len == 0 || len >= name_size) return -1;
    memcpy(name, item, len);
    name[len] = '\0';
    const char *rest = item + len;
    char *end = NULL;
    if (*rest == ':') {
        *weight = strtod(rest + 1, &end);
        if (end == rest + 1 || !(*weight > 0.0)) return -1;
        rest = end;
    }
    if (*rest == '@') {
        long v = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || v < T2_TASK_LEVEL_MIN || v > T2_TASK_LEVEL_MAX) return -1;
        *level = (int)v;
        rest = end;
    }
    return *rest == '\0' ? 0 : -1;
}

int t2_corpus_init(t2_corpus *c, const char *mix, uint64_t seed, const t2_tokenizer *tok,
                   int32_t eos_id, t2_error *err) {
    memset(c, 0, sizeof *c);
    c->tok = tok;
    c->eos_id = eos_id;
    c->seed = seed;
    char *copy = t2_strdup(mix);
    double total = 0.0, weights[T2_CORPUS_MAX_TASKS];
    int status = 0;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item != NULL && status == 0;
         item = strtok_r(NULL, ",", &save)) {
        char name[64];
        double weight;
        int level;
        if (parse_item(item, name, sizeof name, &weight, &level) != 0) {
            status = t2_error_set(err, "corpus mix '%s': item '%s' is malformed; expected "
                                  "task[:weight][@level] with weight > 0 and level 1-5", mix, item);
            break;
        }
        if (c->n_tasks == T2_CORPUS_MAX_TASKS) {
            status = t2_error_set(err, "corpus mix '%s': too many tasks; expected at most %d",
                                  mix, T2_CORPUS_MAX_TASKS);
            break;
        }
        t2_task_options options = {.level = level, .seed = seed};
        t2_task *task = t2_task_open(name, &options, err);
        if (task == NULL) {
            t2_error_prefix(err, "corpus mix");
            status = -1;
            break;
        }
        weights[c->n_tasks] = weight;
        total += weight;
        c->tasks[c->n_tasks++] = task;
    }
    t2_free(copy);
    if (status == 0 && c->n_tasks == 0)
        status = t2_error_set(err, "corpus mix '%s' is empty; expected task[:weight],...", mix);
    if (status != 0) {
        t2_corpus_free(c);
        return -1;
    }
    double running = 0.0;
    for (int i = 0; i < c->n_tasks; i++) {
        running += weights[i] / total;
        c->cumulative[i] = running;
    }
    c->cumulative[c->n_tasks - 1] = 1.0;
    return 0;
}

static uint64_t mix_seed(uint64_t seed, int64_t step, int64_t row, int split) {
    uint64_t h = seed * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)step * 0xC2B2AE3D27D4EB4Full + (h << 6) + (h >> 2);
    h ^= (uint64_t)row * 0x165667B19E3779F9ull + (h << 6) + (h >> 2);
    h ^= (uint64_t)split * 0x27D4EB2F165667C5ull;
    return h;
}

/* The next document of the stream rng: a task by weight, an index of its split. */
static char *draw_document(const t2_corpus *c, t2_task_split split, t2_rng *rng, size_t *len) {
    double u = t2_rng_uniform_double(rng);
    int t = 0;
    while (t < c->n_tasks - 1 && u >= c->cumulative[t]) t++;
    int64_t size = t2_task_size(c->tasks[t], split);
    int64_t index = (int64_t)(t2_rng_next(rng) % (uint64_t)size);
    return t2_task_corpus_text(c->tasks[t], split, index, len);
}

void t2_corpus_fill_row(const t2_corpus *c, t2_task_split split, int64_t step,
                        int64_t row_index, int32_t *row, int64_t n) {
    T2_ASSERT(c->tok != NULL);
    t2_rng rng;
    t2_rng_init(&rng, mix_seed(c->seed, step, row_index, (int)split));
    int64_t filled = 0;
    while (filled < n) {
        size_t len = 0;
        char *text = draw_document(c, split, &rng, &len);
        int32_t *ids = NULL;
        int64_t n_ids = t2_tokenizer_encode(c->tok, text, len, &ids);
        for (int64_t i = 0; i < n_ids && filled < n; i++) row[filled++] = ids[i];
        if (filled < n) row[filled++] = c->eos_id;
        t2_free(ids);
        t2_free(text);
    }
}

char *t2_corpus_document(const t2_corpus *c, t2_task_split split, int64_t index, size_t *len) {
    t2_rng rng;
    t2_rng_init(&rng, mix_seed(c->seed, -1, index, (int)split));
    return draw_document(c, split, &rng, len);
}

/* Writes the prediction files the `t2 task score` tests read (tests/tasks.cmake), into the
 * folder given as the argument:
 *   <task>_right.jsonl     every test sample's worked answer under its own id (100 %)
 *   <task>_shuffled.jsonl  sample i+1's worked answer under id i (mostly wrong)
 * for math and reasoning (seed 1, default level), math_seed5.jsonl (seed 5, level 2: right
 * only when scored with those flags) and gsm8k_right.jsonl for tests/data/tasks/gsm8k.jsonl.
 * Ids alternate between JSON integers and strings, as both are accepted. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "check.h"
#include "rl/task.h"

/* Writes one file: sample (i + shift) % n's worked answer under sample i's id. */
static void write_file(const t2_task *task, const char *dir, const char *name, int64_t shift) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    if (f == NULL) return;
    int64_t n = t2_task_size(task, T2_TASK_SPLIT_TEST);
    for (int64_t i = 0; i < n; i++) {
        t2_task_sample s = {0}, w = {0};
        t2_task_get(task, T2_TASK_SPLIT_TEST, i, &s);
        t2_task_get(task, T2_TASK_SPLIT_TEST, (i + shift) % n, &w);
        char *end;
        long long as_int = strtoll(s.id, &end, 10);
        json_t *id = *end == '\0' && i % 2 ? json_integer(as_int) : json_string(s.id);
        json_t *line = json_pack("{s:o, s:s}", "id", id, "completion", w.worked);
        CHECK(json_dumpf(line, f, JSON_COMPACT) == 0 && fputc('\n', f) != EOF, "writing %s",
              path);
        json_decref(line);
        t2_task_sample_free(&s);
        t2_task_sample_free(&w);
    }
    CHECK(fclose(f) == 0, "closing %s", path);
}

static t2_task *open_task(const char *name, const char *data, int level, uint64_t seed) {
    t2_task_options o = {data, level, seed, 0, 0, NULL};
    t2_error err = {{0}};
    t2_task *t = t2_task_open(name, &o, &err);
    CHECK(t != NULL, "%s: %s", name, err.msg);
    return t;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    CHECK(mkdir(dir, 0755) == 0 || errno == EEXIST, "cannot create %s", dir);
    static const char *const names[] = {"math", "reasoning"};
    for (int k = 0; k < 2; k++) {
        t2_task *t = open_task(names[k], NULL, 0, 1);
        if (t == NULL) continue;
        char file[64];
        snprintf(file, sizeof file, "%s_right.jsonl", names[k]);
        write_file(t, dir, file, 0);
        snprintf(file, sizeof file, "%s_shuffled.jsonl", names[k]);
        write_file(t, dir, file, 1);
        t2_task_free(t);
    }
    t2_task *t = open_task("math", NULL, 2, 5);
    if (t) write_file(t, dir, "math_seed5.jsonl", 0);
    t2_task_free(t);
    char *gsm8k = t2_check_source_path("tests/data/tasks/gsm8k.jsonl");
    t = open_task("gsm8k", gsm8k, 0, 0);
    if (t) write_file(t, dir, "gsm8k_right.jsonl", 0);
    t2_task_free(t);
    t2_free(gsm8k);
    return t2_check_exit_code();
}

/* Fuzz target: the JSON-lines files of the dataset tasks (rl/task_lines.c, task_dataset.c
 * for gsm8k, arc and qa, task_mbpp.c for mbpp) and prediction files (rl/task_score.c).
 * Every input is
 *   - opened as the data file of each of gsm8k, arc, qa and mbpp (t2_task_open); for an
 *     accepted file every record (up to 64) is made a sample, whose id must find it again
 *     (ids are unique), and whose worked answer must earn the reward +1 (task.h: "a correct
 *     completion"; mbpp's reward runs Python, so only its code extraction is run);
 *   - scored as a predictions file against the test split of the built-in math task.
 * Seeds: tests/fuzz/corpus/dataset/ (the JSON-lines files of tests/data/tasks). */
#include <string.h>

#include "base/alloc.h"
#include "harness.h"
#include "rl/task.h"
#include "rl/task_mbpp.h"

static char *data_path;
static t2_task *math;

static void setup(void) {
    data_path = t2_fuzz_path("data.jsonl");
    t2_task_options options = {.test_size = 16};
    t2_error err = {{0}};
    math = t2_task_open("math", &options, &err);
    t2_fuzz_require(math != NULL, err.msg);
}

static void use_task(const t2_task *task, int is_mbpp) {
    int64_t n = t2_task_size(task, T2_TASK_SPLIT_TEST);
    t2_fuzz_require(n > 0, "a dataset with no records was accepted");
    for (int64_t i = 0; i < n && i < 64; i++) {
        t2_task_sample sample;
        memset(&sample, 0, sizeof sample);
        t2_task_get(task, T2_TASK_SPLIT_TEST, i, &sample);
        t2_fuzz_require(t2_task_find_id(task, T2_TASK_SPLIT_TEST, sample.id) == i,
                        "a record's id does not find it");
        if (is_mbpp) {
            t2_free(t2_task_mbpp_extract(sample.worked));
        } else {
            t2_fuzz_require(t2_task_reward(&sample, sample.worked) == 1,
                            "a record's worked answer does not earn its reward");
        }
        t2_task_sample_free(&sample);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (math == NULL) setup();
    t2_fuzz_write(data_path, data, size);
    static const char *const names[] = {"gsm8k", "arc", "qa", "mbpp"};
    t2_error err = {{0}};
    for (int k = 0; k < 4; k++) {
        t2_task_options options = {.data_path = data_path};
        t2_task *task = t2_task_open(names[k], &options, &err);
        if (task != NULL) use_task(task, k == 3);
        t2_task_free(task);
    }
    int64_t n = 0, correct = 0, no_answer = 0;
    t2_task_score_file(math, T2_TASK_SPLIT_TEST, data_path, &n, &correct, &no_answer, &err);
    return 0;
}

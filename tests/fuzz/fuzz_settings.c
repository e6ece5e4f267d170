/* Fuzz target: the settings parser every command's config file goes through (cmd/settings.c:
 * libconfig text checked against a settings table), with no MPI (cmd/run_config.c only adds
 * the broadcast). The table has every setting type and range shape the commands use (a seed
 * up to 9e18, counts from 1, rates in [0, 10], a probability from 1e-6, a flag, a required
 * and an optional string). Each input is
 *   - parsed as a config file; when accepted, the required check runs and the values go
 *     through t2_settings_format_config and back (t2 train records its settings in every
 *     expert this way, and t2 demo replays them): the same values must come back;
 *   - given as the value of every flag (--seed TEXT, ...), as a command line would.
 * Seeds: tests/fuzz/corpus/settings/ (configs/ and tests/data/configs/). */
#include <string.h>

#include "base/alloc.h"
#include "cmd/settings.h"
#include "harness.h"

typedef struct values {
    int64_t seed, steps;
    double lr, top_p;
    int renormalize;
    char *model, *task_data;
} values;

enum { N_SETTINGS = 7 };

static void make_table(t2_setting table[N_SETTINGS], values *v) {
    memset(v, 0, sizeof *v);
    v->steps = 10;
    v->lr = 0.002;
    v->top_p = 1;
    const t2_setting entries[N_SETTINGS] = {
        {"seed", T2_SETTING_INT, &v->seed, 0, 9e18, 0, "seed"},
        {"steps", T2_SETTING_INT, &v->steps, 1, 1e9, 0, "steps"},
        {"lr", T2_SETTING_FLOAT, &v->lr, 0, 10, 0, "learning rate"},
        {"top_p", T2_SETTING_FLOAT, &v->top_p, 1e-6, 1, 0, "nucleus mass"},
        {"renormalize", T2_SETTING_BOOL, &v->renormalize, 0, 1, 0, "a flag"},
        {"model", T2_SETTING_STRING, &v->model, 0, 0, 1, "a required string"},
        {"task_data", T2_SETTING_STRING, &v->task_data, 0, 0, 0, "an optional string"},
    };
    memcpy(table, entries, sizeof entries);
}

static int same_string(const char *a, const char *b) {
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void round_trip(const t2_setting *table, const values *v) {
    char *text = t2_settings_format_config(table, N_SETTINGS);
    t2_setting again[N_SETTINGS];
    values w;
    make_table(again, &w);
    t2_error err = {{0}};
    t2_fuzz_require(t2_settings_parse_config(again, N_SETTINGS, text, "formatted", &err) == 0,
                    err.msg);
    t2_fuzz_require(w.seed == v->seed && w.steps == v->steps && w.lr == v->lr &&
                    w.top_p == v->top_p && w.renormalize == v->renormalize &&
                    same_string(w.model, v->model) && same_string(w.task_data, v->task_data),
                    "settings formatted and parsed back differ");
    t2_settings_free(again, N_SETTINGS);
    t2_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = t2_fuzz_text(data, size);
    t2_setting table[N_SETTINGS];
    values v;
    make_table(table, &v);
    t2_error err = {{0}};
    if (t2_settings_parse_config(table, N_SETTINGS, text, "fuzz.cfg", &err) == 0) {
        t2_settings_check_required(table, N_SETTINGS, &err);
        round_trip(table, &v);
    }
    const char *const flags[] = {"--seed", "--steps", "--lr", "--top-p", "--renormalize",
                                 "--no-renormalize", "--model", "--task-data", text};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        t2_settings_apply_flag(table, N_SETTINGS, flags[i], text, &err);
    t2_settings_free(table, N_SETTINGS);
    t2_free(text);
    return 0;
}

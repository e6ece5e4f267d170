/* cmd/settings: libconfig parsing and flags over one table — values, defaults, unknown keys,
 * wrong types and out-of-range values with file:line, booleans and --no- flags; the table
 * written back as config text reads back to the same values. */
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "cmd/settings.h"

typedef struct run_settings {
    char *model;
    int64_t steps;
    double lr;
    int verbose;
} run_settings;

enum { N_TABLE = 4 };

static void make_table(t2_setting *table, run_settings *s) {
    memset(s, 0, sizeof *s);
    s->steps = 10;
    s->lr = 1e-3;
    const t2_setting entries[N_TABLE] = {
        {"model", T2_SETTING_STRING, &s->model, 0, 0, 1, "model folder"},
        {"steps", T2_SETTING_INT, &s->steps, 1, 1000, 0, "steps"},
        {"lr", T2_SETTING_FLOAT, &s->lr, 0, 1, 0, "learning rate"},
        {"verbose", T2_SETTING_BOOL, &s->verbose, 0, 1, 0, "chatty"},
    };
    memcpy(table, entries, sizeof entries);
}

static void expect_error(const char *text, const char *want) {
    t2_setting table[N_TABLE];
    run_settings s;
    make_table(table, &s);
    t2_error err = {{0}};
    int status = t2_settings_parse_config(table, N_TABLE, text, "run.cfg", &err);
    CHECK(status != 0 && strstr(err.msg, want) != NULL, "config '%s': got '%s', want '%s'", text,
          err.msg, want);
    t2_settings_free(table, N_TABLE);
}

int main(void) {
    t2_setting table[N_TABLE];
    run_settings s;
    make_table(table, &s);
    t2_error err = {{0}};
    CHECK(t2_settings_check_required(table, N_TABLE, &err) != 0 &&
              strstr(err.msg, "--model") != NULL, "missing model reported: '%s'", err.msg);
    const char *text = "model = \"dir\";\nsteps = 20;\n# comment\nverbose = true;\n";
    CHECK(t2_settings_parse_config(table, N_TABLE, text, "run.cfg", &err) == 0, "%s", err.msg);
    CHECK(strcmp(s.model, "dir") == 0 && s.steps == 20 && s.verbose == 1 && s.lr == 1e-3,
          "parsed model=%s steps=%lld verbose=%d lr=%g", s.model, (long long)s.steps, s.verbose, s.lr);
    CHECK(t2_settings_apply_flag(table, N_TABLE, "--lr", "0.5", &err) == 1 && s.lr == 0.5, "--lr");
    CHECK(t2_settings_apply_flag(table, N_TABLE, "--no-verbose", NULL, &err) == 0 && s.verbose == 0,
          "--no-verbose");
    CHECK(t2_settings_apply_flag(table, N_TABLE, "--model", "other", &err) == 1 &&
              strcmp(s.model, "other") == 0, "--model");
    CHECK(t2_settings_apply_flag(table, N_TABLE, "--steps", "abc", &err) < 0 &&
              strstr(err.msg, "--steps: 'abc' is not valid") != NULL, "bad int: '%s'", err.msg);
    CHECK(t2_settings_apply_flag(table, N_TABLE, "--steps", "0", &err) < 0 &&
              strstr(err.msg, "out of range") != NULL, "range: '%s'", err.msg);
    CHECK(t2_settings_apply_flag(table, N_TABLE, "--bogus", "1", &err) < 0 &&
              strstr(err.msg, "unknown option '--bogus'") != NULL, "unknown flag: '%s'", err.msg);
    CHECK(t2_settings_check_required(table, N_TABLE, &err) == 0, "%s", err.msg);
    t2_settings_free(table, N_TABLE);
    CHECK(s.model == NULL, "free clears strings");

    /* Round trip: a quote and a backslash in a string, a float needing 17 digits. */
    run_settings a, b;
    t2_setting ta[N_TABLE], tb[N_TABLE];
    make_table(ta, &a);
    make_table(tb, &b);
    a.model = t2_strdup("C:\\my \"dir\"");
    a.steps = 999;
    a.lr = 0.1 + 0.2;
    a.verbose = 1;
    char *written = t2_settings_format_config(ta, N_TABLE);
    CHECK(t2_settings_parse_config(tb, N_TABLE, written, "written.cfg", &err) == 0, "%s: %s",
          written, err.msg);
    CHECK(b.model != NULL && strcmp(b.model, a.model) == 0 && b.steps == 999 && b.lr == a.lr &&
              b.verbose == 1, "round trip of '%s'", written);
    CHECK(strstr(written, "steps = 999;\n") != NULL, "'%s'", written);
    t2_free(written);
    t2_settings_free(tb, N_TABLE);
    make_table(tb, &b); /* model unset: left out of the text */
    written = t2_settings_format_config(tb, N_TABLE);
    CHECK(strcmp(written, "steps = 10;\nlr = 0.001;\nverbose = false;\n") == 0, "'%s'", written);
    t2_free(written);
    t2_settings_free(ta, N_TABLE);

    expect_error("steps = 1;\nbogus = 2;\n", "run.cfg:2: unknown key 'bogus'");
    expect_error("steps = \"many\";\n", "run.cfg:1: key 'steps' has the wrong type; expected an integer");
    expect_error("lr = 2.0;\n", "run.cfg:1: lr = 2 is out of range");
    expect_error("model = ;\n", "run.cfg:1:");
    return t2_check_exit_code();
}

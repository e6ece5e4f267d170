/* The serve engine's choice of form for steps that mix experts (rl/serve_form.c), on
 * recorded timings: forced forms (factored: every row, as no W' copy exists); one group
 * present runs composed; under auto each form runs twice in a bucket, then the faster is
 * taken and the slower runs again after 16, 32, 64, ... steps of the bucket; buckets of
 * (groups, rows) keep separate records; names parse. The forms' products themselves are
 * tested in test_forward_groups and test_serve_engine. */
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "rl/serve_impl.h"

/* An engine with only what the chooser reads: its form and whether factors exist. */
static t2_serve_engine *chooser(t2_serve_form form, int n_factors) {
    t2_serve_engine *e = t2_alloc_zero(sizeof *e);
    e->form = form;
    e->n_factors = n_factors;
    return e;
}

static void test_forced(void) {
    t2_serve_engine *e = chooser(T2_SERVE_FORM_COMPOSED, 4);
    CHECK(t2_serve_form_pick(e, 3, 32) == T2_FORWARD_COMPOSED, "composed picked factored");
    e->form = T2_SERVE_FORM_FACTORED; /* no W' copies: every row, prompts included */
    CHECK(t2_serve_form_pick(e, 3, 32) == T2_FORWARD_FACTORED_ALL &&
              t2_serve_form_pick(e, 1, 32) == T2_FORWARD_FACTORED_ALL,
          "factored picked another form");
    e->n_factors = 0;
    CHECK(t2_serve_form_pick(e, 3, 32) == T2_FORWARD_COMPOSED, "factored without factors");
    e->form = T2_SERVE_FORM_AUTO;
    CHECK(t2_serve_form_pick(e, 3, 32) == T2_FORWARD_COMPOSED, "auto without factors");
    t2_free(e);
}

/* Runs `steps` steps of (groups, rows) under auto where a step costs composed_s or
 * factored_s seconds per row; returns how many ran factored. */
static int run(t2_serve_engine *e, int groups, int64_t rows, double composed_s,
               double factored_s, int steps) {
    int factored = 0;
    for (int i = 0; i < steps; i++) {
        t2_forward_form form = t2_serve_form_pick(e, groups, rows);
        CHECK(form != T2_FORWARD_FACTORED_ALL, "auto picked every row factored");
        int f = form == T2_FORWARD_FACTORED_DECODE;
        factored += f;
        t2_serve_form_record(e, f, groups, rows, (f ? factored_s : composed_s) * (double)rows);
    }
    return factored;
}

static void test_auto(void) {
    t2_serve_engine *e = chooser(T2_SERVE_FORM_AUTO, 4);
    CHECK(run(e, 1, 32, 2.0, 1.0, 50) == 0, "one group present ran factored");
    /* 4 probes (2 each), then 60 steps: factored faster but for the re-probes of composed
     * at steps 4 + 16 and 4 + 16 + 32 of the bucket */
    int f = run(e, 4, 32, 2.0, 1.0, 64);
    CHECK(f == 2 + 60 - 2, "factored faster: %d of 64 steps factored; expected 60", f);
    /* another bucket (8 rows) keeps its own record: composed faster there */
    f = run(e, 4, 8, 1.0, 2.0, 64);
    CHECK(f == 2 + 2, "composed faster at 8 rows: %d of 64 steps factored; expected 4", f);
    /* rows 32..63 share a bucket; when the load changes the re-probes notice it */
    f = run(e, 4, 40, 3.0, 1.0, 10);
    CHECK(f >= 9, "factored still faster at 40 rows: %d of 10", f);
    f = run(e, 4, 40, 1.0, 3.0, 200);
    CHECK(f <= 20, "after composed became faster: %d of 200 steps factored; expected few", f);
    t2_free(e);
}

static void test_names(void) {
    t2_serve_form form;
    CHECK(t2_serve_form_from_name("factored", &form) == 0 && form == T2_SERVE_FORM_FACTORED,
          "factored");
    CHECK(t2_serve_form_from_name("composed", &form) == 0 && form == T2_SERVE_FORM_COMPOSED,
          "composed");
    CHECK(t2_serve_form_from_name("auto", &form) == 0 && form == T2_SERVE_FORM_AUTO, "auto");
    CHECK(t2_serve_form_from_name("lora", &form) == -1, "lora accepted");
    CHECK(strcmp(t2_serve_form_name(T2_SERVE_FORM_FACTORED), "factored") == 0, "name");
}

int main(void) {
    test_forced();
    test_auto();
    test_names();
    return t2_check_exit_code();
}

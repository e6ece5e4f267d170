/* dist/fewshot's iteration log (fewshot_log; t2 report plots it), on 2 ranks, on a synthetic
 * objective score(α) = 1 - |α - α*|² with α* = (0.2, 0.7, 0.4):
 *   - 3 iterations write 3 lines (rank 0 only), each with every field of dist/fewshot.h in
 *     order, iterations 1..3, the members and expert names as set; best_score never falls,
 *     is the objective of the logged best_alpha (recomputed here), and at the last line
 *     equals the search's result and α; iteration_best <= best_score; mean_alpha in [0,1];
 *   - a second search appends 3 more lines (the file is never emptied);
 *   - a log in a missing folder fails the search on every rank with the same one line.
 * usage: test_report_fewshot_log FILE (removed first) */
#include <jansson.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "check.h"
#include "dist/fewshot.h"
#include "dist/runtime.h"

enum { DIM = 3, ITERATIONS = 3, MEMBERS = 8 };
static const double target[DIM] = {0.2, 0.7, 0.4};
static const char *const names[DIM] = {"math", "code", "reasoning"};

static double objective(const float *alpha) {
    double d2 = 0.0;
    for (int d = 0; d < DIM; d++) d2 += (alpha[d] - target[d]) * (alpha[d] - target[d]);
    return 1.0 - d2;
}

static int score(void *ctx, const float *alpha, const int64_t *which, int64_t m, double *s,
                 double *tiebreak, t2_error *err) {
    (void)ctx, (void)which, (void)m, (void)err;
    *s = objective(alpha);
    *tiebreak = 0.0;
    return 0;
}

static int search(const t2_runtime *rt, const char *log, float *alpha, t2_fewshot_result *res,
                  t2_error *err) {
    t2_fewshot_objective obj = {.experts = DIM, .dim = DIM, .n = 4, .names = names,
                                .score = score};
    t2_fewshot_options o = t2_fewshot_default_options(DIM, DIM);
    o.iterations = ITERATIONS;
    o.cem.population = MEMBERS;
    o.log = log;
    o.log_label = "arith_code@3";
    return t2_fewshot_search(rt, &obj, &o, alpha, res, err);
}

/* The file's lines, parsed: count into *n (at most max). */
static int read_lines(const char *path, json_t **lines, int max) {
    char *text = NULL;
    size_t len = 0;
    t2_error err = {{0}};
    CHECK(t2_file_read(path, &text, &len, &err) == 0, "%s", err.msg);
    int n = 0;
    for (char *line = text ? strtok(text, "\n") : NULL; line != NULL && n < max;
         line = strtok(NULL, "\n")) {
        json_error_t jerr;
        lines[n] = json_loads(line, 0, &jerr);
        CHECK(lines[n] != NULL, "line %d: %s", n + 1, jerr.text);
        if (lines[n] != NULL) n++;
    }
    t2_free(text);
    return n;
}

static void check_line(const json_t *line, int it, double *best_before) {
    static const char *const keys[] = {"search", "iteration", "examples", "members", "experts",
                                       "best_score", "best_tiebreak", "best_alpha",
                                       "iteration_best", "iteration_mean", "mean_alpha"};
    const char *key;
    json_t *value;
    size_t k = 0;
    json_object_foreach((json_t *)line, key, value) {
        CHECK(k < 11 && strcmp(key, keys[k]) == 0, "line %d: key %zu is %s; expected %s", it,
              k, key, k < 11 ? keys[k] : "no more");
        k++;
    }
    CHECK(k == 11, "line %d: %zu keys; expected 11", it, k);
    CHECK(strcmp(json_string_value(json_object_get(line, "search")), "arith_code@3") == 0,
          "search");
    CHECK(json_integer_value(json_object_get(line, "iteration")) == it, "iteration");
    CHECK(json_integer_value(json_object_get(line, "members")) == MEMBERS, "members");
    CHECK(json_integer_value(json_object_get(line, "examples")) == 4, "examples");
    const json_t *experts = json_object_get(line, "experts");
    for (int d = 0; d < DIM; d++)
        CHECK(strcmp(json_string_value(json_array_get(experts, (size_t)d)), names[d]) == 0,
              "experts[%d]", d);
    double best = json_number_value(json_object_get(line, "best_score"));
    float alpha[DIM];
    for (int d = 0; d < DIM; d++)
        alpha[d] = (float)json_number_value(json_array_get(json_object_get(line, "best_alpha"),
                                                           (size_t)d));
    CHECK(best == objective(alpha), "line %d: best_score %.17g; the objective of best_alpha "
          "is %.17g", it, best, objective(alpha));
    CHECK(best >= *best_before, "line %d: best_score fell from %.17g to %.17g", it,
          *best_before, best);
    CHECK(json_number_value(json_object_get(line, "iteration_best")) <= best,
          "line %d: iteration_best above best_score", it);
    for (int d = 0; d < DIM; d++) {
        double mean = json_number_value(json_array_get(json_object_get(line, "mean_alpha"),
                                                       (size_t)d));
        CHECK(mean >= 0.0 && mean <= 1.0, "line %d: mean_alpha[%d] %g", it, d, mean);
    }
    *best_before = best;
}

int main(int argc, char **argv) {
    t2_runtime rt;
    t2_runtime_init(&rt, &argc, &argv);
    CHECK(argc == 2, "usage: test_report_fewshot_log FILE");
    const char *path = argv[1];
    if (rt.rank == 0) unlink(path);
    MPI_Barrier(MPI_COMM_WORLD);
    float alpha[DIM];
    t2_fewshot_result res;
    t2_error err = {{0}};
    CHECK(search(&rt, path, alpha, &res, &err) == 0, "%s", err.msg);
    if (rt.rank == 0) {
        json_t *lines[8] = {NULL};
        int n = read_lines(path, lines, 8);
        CHECK(n == ITERATIONS, "%d lines; expected %d", n, ITERATIONS);
        double best = -1e300;
        for (int i = 0; i < n; i++) check_line(lines[i], i + 1, &best);
        CHECK(n == 0 || best == res.search_score, "last best_score %.17g; the search's %.17g",
              best, res.search_score);
        for (int d = 0; n > 0 && !res.fallback && d < DIM; d++)
            CHECK((float)json_number_value(json_array_get(
                      json_object_get(lines[n - 1], "best_alpha"), (size_t)d)) == alpha[d],
                  "best_alpha[%d] is not the answer", d);
        for (int i = 0; i < n; i++) json_decref(lines[i]);
    } else {
        CHECK(access(path, F_OK) == 0, "rank 1 sees no log (shared folder expected)");
    }
    CHECK(search(&rt, path, alpha, &res, &err) == 0, "%s", err.msg);
    if (rt.rank == 0) {
        json_t *lines[8] = {NULL};
        int n = read_lines(path, lines, 8);
        CHECK(n == 2 * ITERATIONS, "%d lines after a second search; expected %d", n,
              2 * ITERATIONS);
        for (int i = 0; i < n; i++) json_decref(lines[i]);
    }
    t2_error bad = {{0}};
    CHECK(search(&rt, "/nonexistent-t2-dir/fewshot.jsonl", alpha, &res, &bad) != 0,
          "an unwritable log was accepted");
    CHECK(strstr(bad.msg, "/nonexistent-t2-dir/fewshot.jsonl: cannot write") != NULL,
          "rank %d: error '%s'", rt.rank, bad.msg);
    int code = t2_check_exit_code();
    t2_runtime_finalize(&rt);
    return code;
}

/* Checks t2 eval's JSON reports (docs/eval.md) for tests/test_eval.sh:
 *   same A.json B.json   the two reports hold the same settings and results, field by field,
 *                        except "seconds", "search_seconds" and "ranks" (a sharded run
 *                        against a 1-rank run): a few-shot search finds the same α bit for
 *                        bit whatever the rank count;
 *   routing R.json       every two-pass row's routing adds up (routed and outcomes sum to n,
 *                        "base" = none + other + ambiguous, the routing pass's tokens are a
 *                        part of the row's), some query was routed to an expert, and where a
 *                        row routed all its samples to one expert its answers are that
 *                        expert's own row's (same correct count, same answer tokens).
 *   fewshot R.json       every fewshot row's α lies in [0,1] with a weight per expert (or per
 *                        expert and layer); a row whose α is one expert alone scored that
 *                        expert's best-single accuracy on the solved examples (the answer and
 *                        its score come from the same member), and no row scored below the
 *                        best single expert (the report carries the answer after the
 *                        search's fallback to that expert, so this checks the report's
 *                        fields, not the search: tests/test_fewshot_search.c tests the search
 *                        itself, before the fallback, on objectives with known optima).
 * Prints the routing of every two-pass row. Exit 0 when every check passed. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static json_t *load(const char *path) {
    json_error_t error;
    json_t *root = json_load_file(path, 0, &error);
    CHECK(root != NULL, "%s: not JSON (%s at line %d)", path, error.text, error.line);
    return root;
}

/* A copy of a row or report without the fields that may differ between rank counts. */
static json_t *comparable(json_t *o) {
    json_t *copy = json_deep_copy(o);
    json_object_del(copy, "seconds");
    json_object_del(copy, "ranks");
    json_object_del(copy, "results");
    json_object_del(json_object_get(copy, "fewshot"), "search_seconds");
    return copy;
}

static void check_same(const char *a_path, const char *b_path) {
    json_t *a = load(a_path), *b = load(b_path);
    if (a == NULL || b == NULL) return;
    json_t *ha = comparable(a), *hb = comparable(b);
    CHECK(json_equal(ha, hb), "%s and %s: the settings differ", a_path, b_path);
    json_t *ra = json_object_get(a, "results"), *rb = json_object_get(b, "results");
    CHECK(json_array_size(ra) > 0 && json_array_size(ra) == json_array_size(rb),
          "%zu results against %zu", json_array_size(ra), json_array_size(rb));
    int shown = 0;
    for (size_t i = 0; i < json_array_size(ra) && i < json_array_size(rb); i++) {
        json_t *x = comparable(json_array_get(ra, i)), *y = comparable(json_array_get(rb, i));
        if (!json_equal(x, y) && shown++ < 3) {
            char *sx = json_dumps(x, JSON_COMPACT | JSON_PRESERVE_ORDER);
            char *sy = json_dumps(y, JSON_COMPACT | JSON_PRESERVE_ORDER);
            CHECK(0, "result %zu differs:\n  %s: %s\n  %s: %s", i, a_path, sx, b_path, sy);
            free(sx);
            free(sy);
        }
        json_decref(x);
        json_decref(y);
    }
    printf("%s and %s: %zu results with equal counts\n", a_path, b_path, json_array_size(ra));
    json_decref(ha);
    json_decref(hb);
    json_decref(a);
    json_decref(b);
}

static json_int_t integer(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    CHECK(json_is_integer(v), "field '%s' is missing or not an integer", key);
    return json_integer_value(v);
}

/* The row of (task, level, strategy), or NULL. */
static json_t *find_row(json_t *results, json_t *like, const char *strategy) {
    for (size_t i = 0; i < json_array_size(results); i++) {
        json_t *row = json_array_get(results, i);
        if (json_equal(json_object_get(row, "task"), json_object_get(like, "task")) &&
            json_equal(json_object_get(row, "level"), json_object_get(like, "level")) &&
            strcmp(json_string_value(json_object_get(row, "strategy")), strategy) == 0)
            return row;
    }
    return NULL;
}

/* Checks one two-pass row; returns 1 when it routed every sample to one expert and matched
 * that expert's row. */
static int check_routed_row(json_t *results, json_t *row, json_int_t *found) {
    json_t *routing = json_object_get(row, "routing");
    json_t *routed = json_object_get(routing, "routed");
    json_t *outcomes = json_object_get(routing, "outcomes");
    json_int_t n = integer(row, "n"), sum = 0, outcome_sum = 0;
    const char *task = json_string_value(json_object_get(row, "task"));
    const char *strategy = json_string_value(json_object_get(row, "strategy"));
    const char *key, *all = NULL;
    json_t *value;
    printf("%s@%lld %s routed:", task, (long long)integer(row, "level"), strategy);
    json_object_foreach(routed, key, value) {
        json_int_t count = json_integer_value(value);
        printf(" %s %lld", key, (long long)count);
        sum += count;
        if (count == n && strcmp(key, "base") != 0) all = key;
    }
    printf(" (of %lld)\n", (long long)n);
    json_object_foreach(outcomes, key, value) outcome_sum += json_integer_value(value);
    CHECK(sum == n && outcome_sum == n, "%s %s: %lld routed, %lld outcomes; expected n = %lld",
          task, strategy, (long long)sum, (long long)outcome_sum, (long long)n);
    json_int_t base = integer(routed, "base");
    json_int_t not_found = integer(outcomes, "none") + integer(outcomes, "other") +
                           integer(outcomes, "ambiguous");
    CHECK(base == not_found, "%s %s: %lld answered by the base model, %lld not found", task,
          strategy, (long long)base, (long long)not_found);
    *found += integer(outcomes, "found");
    CHECK(integer(routing, "prompt_tokens") > 0 &&
          integer(routing, "prompt_tokens") < integer(row, "prompt_tokens") &&
          integer(routing, "new_tokens") <= integer(row, "new_tokens"),
          "%s %s: routing tokens are not a part of the row's", task, strategy);
    if (all == NULL) return 0;
    char name[256];
    snprintf(name, sizeof name, "expert:%s", all);
    json_t *expert = find_row(results, row, name);
    if (expert == NULL) return 0;
    CHECK(integer(expert, "correct") == integer(row, "correct"),
          "%s %s: %lld correct, routing all to %s; its own row has %lld", task, strategy,
          (long long)integer(row, "correct"), all, (long long)integer(expert, "correct"));
    CHECK(integer(row, "new_tokens") - integer(routing, "new_tokens") ==
              integer(expert, "new_tokens"),
          "%s %s: answer tokens differ from %s's row", task, strategy, name);
    return 1;
}

static void check_routing(const char *path) {
    json_t *root = load(path);
    if (root == NULL) return;
    json_t *results = json_object_get(root, "results");
    json_int_t found = 0;
    int matched = 0, routed_rows = 0;
    for (size_t i = 0; i < json_array_size(results); i++) {
        json_t *row = json_array_get(results, i);
        if (!json_is_object(json_object_get(row, "routing"))) continue;
        routed_rows++;
        matched += check_routed_row(results, row, &found);
    }
    CHECK(routed_rows > 0, "%s: no two-pass rows", path);
    CHECK(found > 0, "%s: no query was routed to an expert", path);
    CHECK(matched > 0, "%s: no row routed all samples to one expert that has a row of its own",
          path);
    json_decref(root);
}

static double real(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    CHECK(json_is_number(v), "field '%s' is missing or not a number", key);
    return json_number_value(v);
}

/* The expert whose weights alone are 1 on every layer (the others 0), or -1 when α mixes. */
static int single_expert_of(json_t *alpha, size_t experts) {
    size_t layers = json_array_size(alpha) / experts;
    int found = -1;
    for (size_t k = 0; k < experts; k++) {
        int ones = 0, zeros = 0;
        for (size_t l = 0; l < layers; l++) {
            double a = json_number_value(json_array_get(alpha, k * layers + l));
            ones += a == 1.0;
            zeros += a == 0.0;
        }
        if (ones == (int)layers && found < 0) found = (int)k;
        else if (zeros != (int)layers) return -1;
    }
    return found;
}

/* Every fewshot row: α has one weight in [0,1] per expert (or per expert and layer); an α of
 * one expert alone scored the best single expert's accuracy; no row below that accuracy. */
static void check_fewshot(const char *path) {
    json_t *root = load(path);
    if (root == NULL) return;
    json_t *results = json_object_get(root, "results");
    size_t experts = json_array_size(json_object_get(root, "categories")), rows = 0;
    for (size_t i = 0; i < json_array_size(results); i++) {
        json_t *f = json_object_get(json_array_get(results, i), "fewshot");
        if (!json_is_object(f)) continue;
        rows++;
        json_t *alpha = json_object_get(f, "alpha");
        CHECK(json_array_size(alpha) > 0 && json_array_size(alpha) % experts == 0,
              "result %zu: %zu mixture weights for %zu experts", i, json_array_size(alpha),
              experts);
        for (size_t k = 0; k < json_array_size(alpha); k++) {
            double a = json_number_value(json_array_get(alpha, k));
            CHECK(a >= 0.0 && a <= 1.0, "result %zu: alpha[%zu] = %g outside [0,1]", i, k, a);
        }
        double mixed = real(f, "example_accuracy"), single = real(f, "best_single_accuracy");
        CHECK(mixed >= single, "result %zu: the answer scored %g on the examples, below the "
              "best single expert's %g", i, mixed, single);
        int alone = experts > 0 ? single_expert_of(alpha, experts) : -1;
        CHECK(alone < 0 || mixed == single, "result %zu: α is expert %d alone, scoring %g; "
              "expected the best single expert's %g", i, alone, mixed, single);
        /* the search's own answer, before the fallback: the report must say which answered */
        double searched = real(f, "search_accuracy");
        int fallback = json_is_true(json_object_get(f, "fallback"));
        CHECK(json_is_boolean(json_object_get(f, "fallback")), "result %zu: no fallback flag", i);
        CHECK(fallback ? searched < single && mixed == single : mixed == searched,
              "result %zu: search %g, answer %g, best single %g, fallback %d disagree", i,
              searched, mixed, single, fallback);
        printf("result %zu: fewshot α found scores %.3f on %lld examples (the search's own "
               "%.3f%s, best single %.3f)\n", i, mixed, (long long)integer(f, "examples"),
               searched, fallback ? ", fallback" : "", single);
    }
    CHECK(rows > 0, "%s: no fewshot rows", path);
    json_decref(root);
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "same") == 0) check_same(argv[2], argv[3]);
    else if (argc == 3 && strcmp(argv[1], "routing") == 0) check_routing(argv[2]);
    else if (argc == 3 && strcmp(argv[1], "fewshot") == 0) check_fewshot(argv[2]);
    else CHECK(0, "usage: test_eval_check same A.json B.json | routing R.json | fewshot "
               "R.json");
    return t2_check_exit_code();
}

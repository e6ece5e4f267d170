/* The built-in generators as a whole (rl/task.h). Run as "samples": the same (seed, level,
 * split, index) gives the same sample, other seeds and levels give other samples; every sample
 * has the documented format; the worked answer earns reward +1 (10,000 samples per task) and
 * another problem's answer -1; ids round-trip; the corpus text is prompt + worked; the
 * registry and bad options. Run as "disjoint": the test split shares no problem (key) and no
 * prompt with a large prefix of the train split, also across seeds and at two levels. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "model/strmap.h"
#include "rl/task.h"

static const char *const generators[] = {"math", "code", "reasoning", "cls", "arith_code",
                                         "mc_math", "math_shift", "code_shift"};
enum { N_GENERATORS = sizeof generators / sizeof generators[0] };

static t2_task *open_task(const char *name, int level, uint64_t seed, int64_t train_size) {
    t2_task_options o = {NULL, level, seed, train_size, 0, NULL};
    t2_error err = {{0}};
    t2_task *task = t2_task_open(name, &o, &err);
    CHECK(task != NULL, "open %s: %s", name, err.msg);
    return task;
}

static int same_sample(const t2_task_sample *a, const t2_task_sample *b) {
    return strcmp(a->id, b->id) == 0 && strcmp(a->key, b->key) == 0 &&
           strcmp(a->prompt, b->prompt) == 0 && strcmp(a->answer, b->answer) == 0 &&
           strcmp(a->worked, b->worked) == 0 && a->match == b->match &&
           a->category == b->category;
}

/* The format of task.h: prompt "Question: ...\nAnswer:", worked " ... The answer is X.\n" with
 * no other newline, the reference answer inside it. */
static void check_format(const char *name, const t2_task_sample *s, int64_t index) {
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)index);
    size_t np = strlen(s->prompt), nw = strlen(s->worked);
    CHECK(strcmp(s->id, id) == 0, "%s %lld: id '%s'", name, (long long)index, s->id);
    CHECK(strncmp(s->prompt, "Question: ", 10) == 0 && np > 18 &&
              strcmp(s->prompt + np - 8, "\nAnswer:") == 0,
          "%s %lld: prompt format: '%s'", name, (long long)index, s->prompt);
    CHECK(memchr(s->prompt, '\n', np - 8) == NULL, "%s: one-line question '%s'", name,
          s->prompt);
    CHECK(nw > 2 && s->worked[0] == ' ' && s->worked[nw - 1] == '\n' &&
              memchr(s->worked, '\n', nw - 1) == NULL,
          "%s %lld: worked format: '%s'", name, (long long)index, s->worked);
    char tail[T2_ANSWER_MAX + 32];
    snprintf(tail, sizeof tail, "The answer is %s.\n", s->answer);
    CHECK(nw >= strlen(tail) && strcmp(s->worked + nw - strlen(tail), tail) == 0,
          "%s %lld: worked '%s' does not end in '%s'", name, (long long)index, s->worked, tail);
    CHECK(s->answer[0] != '\0' && s->key[0] != '\0', "%s: empty answer or key", name);
}

/* Same item twice; another seed and another level give other items; formats; rewards. */
static void determinism_and_rewards(const char *name) {
    t2_task *a = open_task(name, 0, 7, 0), *b = open_task(name, 0, 7, 0);
    t2_task *other_seed = open_task(name, 0, 8, 0);
    t2_task *other_level = open_task(name, 1, 7, 0);
    int64_t n_same_seed = 0, n_same_level = 0, n_bad_reward = 0, n_wrong_accepted = 0;
    for (int64_t i = 0; i < 10000; i++) {
        t2_task_split split = i % 10 == 0 ? T2_TASK_SPLIT_TEST : T2_TASK_SPLIT_TRAIN;
        int64_t index = split == T2_TASK_SPLIT_TEST ? i / 10 : i;
        t2_task_sample s = {0}, t = {0}, u = {0}, v = {0};
        t2_task_get(a, split, index, &s);
        t2_task_get(other_seed, split, index, &u);
        if (i < 2000) { /* the comparisons on a part of the samples */
            t2_task_get(b, split, index, &t);
            t2_task_get(other_level, split, index, &v);
            CHECK(same_sample(&s, &t), "%s %lld: two calls differ", name, (long long)index);
            n_same_seed += strcmp(s.key, u.key) == 0;
            n_same_level += strcmp(s.key, v.key) == 0;
        }
        check_format(name, &s, index);
        if (t2_task_reward(&s, s.worked) != 1) {
            if (n_bad_reward++ < 5)
                fprintf(stderr, "  %s: worked '%s' does not earn +1 for '%s'\n", name,
                        s.worked, s.answer);
        }
        /* the worked answer of another problem with another answer earns -1 */
        if (strcmp(s.answer, u.answer) != 0 && s.match == u.match &&
            t2_task_reward(&s, u.worked) != -1 && n_wrong_accepted++ < 5)
            fprintf(stderr, "  %s: '%s' accepted for '%s'\n", name, u.worked, s.answer);
        size_t len;
        char *text = t2_task_corpus_text(a, split, index, &len);
        CHECK(len == strlen(s.prompt) + strlen(s.worked) &&
                  strncmp(text, s.prompt, strlen(s.prompt)) == 0 &&
                  strcmp(text + strlen(s.prompt), s.worked) == 0,
              "%s: corpus text is not prompt + worked", name);
        t2_free(text);
        CHECK(t2_task_find_id(a, split, s.id) == index, "%s: id %s does not find its sample",
              name, s.id);
        t2_task_sample_free(&s);
        t2_task_sample_free(&t);
        t2_task_sample_free(&u);
        t2_task_sample_free(&v);
    }
    CHECK(n_bad_reward == 0, "%s: %lld of 10000 worked answers do not earn +1", name,
          (long long)n_bad_reward);
    CHECK(n_wrong_accepted == 0, "%s: %lld wrong answers earned +1", name,
          (long long)n_wrong_accepted);
    /* cls windows are short, so other seeds repeat some; problems of the others are many */
    int64_t repeat_limit = strcmp(name, "cls") == 0 ? 1000 : 20;
    CHECK(n_same_seed < repeat_limit, "%s: seeds 7 and 8 agree on %lld of 2000 samples", name,
          (long long)n_same_seed);
    CHECK(n_same_level < repeat_limit, "%s: levels 1 and default agree on %lld of 2000", name,
          (long long)n_same_level);
    t2_task_free(a);
    t2_task_free(b);
    t2_task_free(other_seed);
    t2_task_free(other_level);
}

/* No test key and no test prompt (of seeds 1 and 2) occurs in the first train_prefix train
 * samples (of seed 3), at two levels. */
static void disjoint(const char *name, int level, int64_t train_prefix) {
    t2_strmap keys, prompts;
    t2_strmap_init(&keys, 4096);
    t2_strmap_init(&prompts, 4096);
    for (uint64_t seed = 1; seed <= 2; seed++) {
        t2_task *test = open_task(name, level, seed, 0);
        int64_t n = t2_task_size(test, T2_TASK_SPLIT_TEST);
        for (int64_t i = 0; i < n; i++) {
            t2_task_sample s = {0};
            t2_task_get(test, T2_TASK_SPLIT_TEST, i, &s);
            t2_strmap_put(&keys, s.key, strlen(s.key), (int32_t)i);
            t2_strmap_put(&prompts, s.prompt, strlen(s.prompt), (int32_t)i);
            t2_task_sample_free(&s);
        }
        t2_task_free(test);
    }
    t2_task *train = open_task(name, level, 3, train_prefix);
    int64_t shared_keys = 0, shared_prompts = 0;
    for (int64_t i = 0; i < train_prefix; i++) {
        t2_task_sample s = {0};
        t2_task_get(train, T2_TASK_SPLIT_TRAIN, i, &s);
        if (t2_strmap_get(&keys, s.key, strlen(s.key)) >= 0 && shared_keys++ < 3)
            fprintf(stderr, "  %s: train %lld has a test key '%s'\n", name, (long long)i, s.key);
        if (t2_strmap_get(&prompts, s.prompt, strlen(s.prompt)) >= 0) shared_prompts++;
        t2_task_sample_free(&s);
    }
    CHECK(shared_keys == 0 && shared_prompts == 0,
          "%s level %d: %lld keys and %lld prompts of the test split in %lld train samples",
          name, level, (long long)shared_keys, (long long)shared_prompts,
          (long long)train_prefix);
    fprintf(stderr, "ok   %s level %d: %zu test keys, none in %lld train samples\n", name,
            t2_task_level(train), keys.n_entries, (long long)train_prefix);
    t2_task_free(train);
    t2_strmap_free(&keys);
    t2_strmap_free(&prompts);
}

/* mc_math's key is its word problem, so no mc_math test problem is a math train problem. */
static void heldout_disjoint_from_math(void) {
    t2_strmap keys;
    t2_strmap_init(&keys, 4096);
    t2_task *mc = open_task("mc_math", 0, 1, 0);
    for (int64_t i = 0; i < t2_task_size(mc, T2_TASK_SPLIT_TEST); i++) {
        t2_task_sample s = {0};
        t2_task_get(mc, T2_TASK_SPLIT_TEST, i, &s);
        t2_strmap_put(&keys, s.key, strlen(s.key), 0);
        t2_task_sample_free(&s);
    }
    t2_task *math = open_task("math", 0, 1, 0);
    int64_t shared = 0;
    for (int64_t i = 0; i < 50000; i++) {
        t2_task_sample s = {0};
        t2_task_get(math, T2_TASK_SPLIT_TRAIN, i, &s);
        shared += t2_strmap_get(&keys, s.key, strlen(s.key)) >= 0;
        t2_task_sample_free(&s);
    }
    CHECK(shared == 0, "%lld math train problems are mc_math test problems", (long long)shared);
    t2_task_free(mc);
    t2_task_free(math);
    t2_strmap_free(&keys);
}

static void expect_open_error(const char *name, t2_task_options o, const char *want) {
    t2_error err = {{0}};
    t2_task *task = t2_task_open(name, &o, &err);
    CHECK(task == NULL && strstr(err.msg, want) != NULL, "open %s: want '%s', got '%s'", name,
          want, err.msg);
    t2_task_free(task);
}

static void registry(void) {
    int n, n_cat;
    const t2_task_info *all = t2_task_list(&n);
    const char *const *cat = t2_task_categories(&n_cat);
    CHECK(n_cat == 3 && strcmp(cat[0], "math") == 0 && strcmp(cat[1], "code") == 0 &&
              strcmp(cat[2], "reasoning") == 0,
          "categories");
    int heldout = 0, datasets = 0;
    for (int i = 0; i < n; i++) {
        heldout += all[i].is_heldout;
        datasets += all[i].is_dataset;
        CHECK(t2_task_find(all[i].name) == &all[i], "find %s", all[i].name);
        CHECK(all[i].is_dataset || (all[i].default_level >= T2_TASK_LEVEL_MIN &&
                                    all[i].default_level <= T2_TASK_LEVEL_MAX),
              "%s: default level %d", all[i].name, all[i].default_level);
        CHECK(!all[i].is_heldout || all[i].category == NULL, "%s: a held-out task has no "
              "expert category", all[i].name);
    }
    CHECK(heldout >= 2 && datasets == 4 && n == N_GENERATORS + 4, "%d tasks, %d held out", n,
          heldout);
    CHECK(t2_task_find("nope") == NULL, "unknown task");
    expect_open_error("nope", (t2_task_options){0}, "task 'nope': unknown; expected one of math");
    expect_open_error("math", (t2_task_options){.level = 6}, "level 6 is out of range");
    expect_open_error("math", (t2_task_options){.data_path = "x"}, "expected no data file");
    expect_open_error("math", (t2_task_options){.test_size = -1}, "negative split size");
    expect_open_error("gsm8k", (t2_task_options){0}, "no data file given");
    expect_open_error("gsm8k", (t2_task_options){.data_path = "x", .level = 2},
                      "expected no level");
    /* ids of generators are canonical indexes within the split */
    t2_task *math = open_task("math", 0, 1, 0);
    CHECK(t2_task_find_id(math, T2_TASK_SPLIT_TEST, "999") == 999, "id 999");
    CHECK(t2_task_find_id(math, T2_TASK_SPLIT_TEST, "1000") == -1, "id past the split");
    CHECK(t2_task_find_id(math, T2_TASK_SPLIT_TRAIN, "1000") == 1000, "train id 1000");
    CHECK(t2_task_find_id(math, T2_TASK_SPLIT_TEST, "07") == -1, "id '07'");
    CHECK(t2_task_find_id(math, T2_TASK_SPLIT_TEST, "-1") == -1, "id '-1'");
    CHECK(t2_task_find_id(math, T2_TASK_SPLIT_TEST, "") == -1, "empty id");
    CHECK(t2_task_find_id(math, T2_TASK_SPLIT_TEST, "99999999999999999999") == -1, "huge id");
    CHECK(t2_task_size(math, T2_TASK_SPLIT_TRAIN) == T2_TASK_TRAIN_SIZE &&
              t2_task_level(math) == t2_task_find("math")->default_level,
          "default size and level");
    t2_task_free(math);
}

/* Argument "samples": determinism, formats and rewards; "disjoint": the split checks. */
int main(int argc, char **argv) {
    int samples = argc == 2 && strcmp(argv[1], "samples") == 0;
    int split = argc == 2 && strcmp(argv[1], "disjoint") == 0;
    if (!samples && !split) {
        fprintf(stderr, "usage: %s samples|disjoint\n", argv[0]);
        return 2;
    }
    if (samples) registry();
    for (int i = 0; i < N_GENERATORS; i++) {
        if (samples) determinism_and_rewards(generators[i]);
        if (split) {
            disjoint(generators[i], 0, 50000);
            disjoint(generators[i], 1, 10000);
        }
    }
    if (split) heldout_disjoint_from_math();
    return t2_check_exit_code();
}

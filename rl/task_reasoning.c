/* The reasoning task: multiple-choice puzzles answered with a letter.
 *   ordering:   "Ann is taller than Bob. Cal is shorter than Bob. Who is shortest? A) Cal B) Ann
 *                C) Bob"
 *               worked " Tallest first: Ann, Bob, Cal. Cal is shortest. The answer is A."
 *   comparison: "Ann has 12 coins, Bob has 9 and Cal has 15. Who has the most? A) Bob B) Cal
 *                C) Ann"
 *               worked " Ann 12, Bob 9, Cal 15. Cal has the most. The answer is B."
 *   syllogism:  "All blips are zorks. No zorks are mems. Is every blip a mem? A) yes B) no
 *                C) unknown"
 *               worked " No blip is a mem, so no. The answer is B."
 * Syllogisms are chains of premises between made-up words, each link "All a are b", "Some a
 * are b", "No a are b" or the reversed "All b are a"; every term is taken to be non-empty.
 * The answer is yes when every link is "All"; no when the links are "All"s, one "No", then
 * only reversed "All"s; unknown when exactly one link is a "Some", a reversed "All" or a "No"
 * that is followed by a forward "All". (tests/test_task_reasoning.c checks every pattern by
 * enumerating set models.)
 * Levels: ordering people / comparison people and range / syllogism premises:
 *     1: 3 in chain order, one phrasing / 2, 1..20 / 2, yes-no only, in order
 *     2: 3 shuffled / 3, 1..20 / 2, all answers
 *     3: 3 shuffled, both phrasings / 3, 1..50 / 2, premises shuffled
 *     4: 4 / 4, 1..99 / 3        5: 5, may ask "second" / 4, 1..999 / 3
 * The key of a problem leaves out the order of facts, their phrasing and the order of choices,
 * so all surface forms of one problem fall in the same split. Does not decide splits. */
#include <string.h>

#include "rl/task_impl.h"

typedef struct relation {
    const char *more, *less, *most, *least, *most_cap; /* "taller", "shorter", ... */
} relation;

static const relation relations[] = {
    {"taller", "shorter", "tallest", "shortest", "Tallest"},
    {"older", "younger", "oldest", "youngest", "Oldest"},
    {"faster", "slower", "fastest", "slowest", "Fastest"},
    {"heavier", "lighter", "heaviest", "lightest", "Heaviest"},
};
static const char *const things[] = {"coins", "books", "cards", "stamps", "shells", "marbles"};
/* Made-up words, singular; the plural adds an "s". */
static const char *const words[] = {
    "blip", "zork", "mem", "taf", "dob", "rin", "glep", "vot", "wug", "fep", "lorn", "quib",
    "snark", "yim", "pord", "kel", "dram", "tep", "nub", "grim", "hok", "jav", "bink", "womp",
};
enum { N_WORDS = sizeof words / sizeof words[0] };

/* Appends " A) x B) y ..." for the n options in the order perm; returns the letter of option
 * `answer`. */
static char add_choices(t2_task_text *q, const char *const *options, const int *perm, int n,
                        int answer) {
    char letter = 'A';
    for (int i = 0; i < n; i++) {
        t2_task_text_add(q, " %c) %s", 'A' + i, options[perm[i]]);
        if (perm[i] == answer) letter = (char)('A' + i);
    }
    return letter;
}

static void ordering(t2_rng *rng, int level, t2_task_item *item) {
    static const int people_of_level[] = {0, 3, 3, 3, 4, 5};
    int n = people_of_level[level];
    const relation *rel = &relations[t2_task_rand(rng, 0, 3)];
    int name_perm[T2_TASK_N_NAMES];
    t2_task_shuffle(rng, name_perm, T2_TASK_N_NAMES);
    const char *p[5]; /* p[0] is the most (tallest), p[n-1] the least */
    for (int i = 0; i < n; i++) p[i] = t2_task_names[name_perm[i]];
    int facts[4];
    if (level >= 2)
        t2_task_shuffle(rng, facts, n - 1);
    else
        for (int i = 0; i < n - 1; i++) facts[i] = i;
    for (int f = 0; f < n - 1; f++) {
        int k = facts[f]; /* fact about the pair p[k] > p[k+1] */
        if (level >= 3 && t2_task_rand(rng, 0, 1))
            t2_task_text_add(&item->question, "%s is %s than %s. ", p[k + 1], rel->less, p[k]);
        else
            t2_task_text_add(&item->question, "%s is %s than %s. ", p[k], rel->more, p[k + 1]);
    }
    int ask_least = (int)t2_task_rand(rng, 0, 1);
    int second = level >= 5 && t2_task_rand(rng, 0, 1);
    int answer = ask_least ? n - 1 - second : second;
    const char *sup = ask_least ? rel->least : rel->most;
    t2_task_text_add(&item->question, "Who is %s%s?", second ? "second " : "", sup);
    int perm[5];
    t2_task_shuffle(rng, perm, n);
    char letter = add_choices(&item->question, p, perm, n, answer);
    t2_task_text_add(&item->steps, "%s first:", rel->most_cap);
    t2_task_text_add(&item->key, "order %s:", rel->more);
    for (int i = 0; i < n; i++) {
        t2_task_text_add(&item->steps, "%s %s", i ? "," : "", p[i]);
        t2_task_text_add(&item->key, " %s", p[i]);
    }
    t2_task_text_add(&item->steps, ". %s is %s%s.", p[answer], second ? "second " : "", sup);
    t2_task_text_add(&item->key, "; %s%s", second ? "second " : "", sup);
    t2_task_text_add(&item->answer, "%c", letter);
}

static void comparison(t2_rng *rng, int level, t2_task_item *item) {
    static const int people_of_level[] = {0, 2, 3, 3, 4, 4};
    static const int range_of_level[] = {0, 20, 20, 50, 99, 999};
    int n = people_of_level[level];
    const char *thing = t2_task_pick(rng, things, (int)(sizeof things / sizeof things[0]));
    int name_perm[T2_TASK_N_NAMES];
    t2_task_shuffle(rng, name_perm, T2_TASK_N_NAMES);
    const char *p[4];
    int64_t count[4];
    for (int i = 0; i < n; i++) {
        p[i] = t2_task_names[name_perm[i]];
        int distinct;
        do { /* counts are distinct so that one person has the most and one the fewest */
            count[i] = t2_task_rand(rng, 1, range_of_level[level]);
            distinct = 1;
            for (int j = 0; j < i; j++)
                if (count[j] == count[i]) distinct = 0;
        } while (!distinct);
    }
    for (int i = 0; i < n; i++) {
        if (i == 0)
            t2_task_text_add(&item->question, "%s has %lld %s", p[i], (long long)count[i], thing);
        else
            t2_task_text_add(&item->question, "%s%s has %lld", i == n - 1 ? " and " : ", ", p[i],
                             (long long)count[i]);
    }
    int ask_fewest = (int)t2_task_rand(rng, 0, 1);
    int answer = 0;
    for (int i = 1; i < n; i++)
        if (ask_fewest ? count[i] < count[answer] : count[i] > count[answer]) answer = i;
    const char *what = ask_fewest ? "fewest" : "most";
    t2_task_text_add(&item->question, ". Who has the %s?", what);
    int perm[4];
    t2_task_shuffle(rng, perm, n);
    char letter = add_choices(&item->question, p, perm, n, answer);
    for (int i = 0; i < n; i++)
        t2_task_text_add(&item->steps, "%s%s %lld", i ? ", " : "", p[i], (long long)count[i]);
    t2_task_text_add(&item->steps, ". %s has the %s.", p[answer], what);
    /* key: the people and counts in name order, the thing and the question */
    t2_task_text_add(&item->key, "compare %s %s:", thing, what);
    for (int i = 0; i < T2_TASK_N_NAMES; i++)
        for (int j = 0; j < n; j++)
            if (strcmp(p[j], t2_task_names[i]) == 0)
                t2_task_text_add(&item->key, " %s=%lld", p[j], (long long)count[j]);
    t2_task_text_add(&item->answer, "%c", letter);
}

enum { LINK_ALL, LINK_SOME, LINK_NO, LINK_REV };

static void syllogism(t2_rng *rng, int level, t2_task_item *item) {
    int k = level >= 4 ? 3 : 2; /* premises; terms t[0..k] */
    int word_perm[N_WORDS];
    t2_task_shuffle(rng, word_perm, N_WORDS);
    const char *t[4];
    for (int i = 0; i <= k; i++) t[i] = words[word_perm[i]];
    int link[3];
    for (int i = 0; i < k; i++) link[i] = LINK_ALL;
    /* 0 yes, 1 no, 2 unknown */
    int answer = (int)t2_task_rand(rng, 0, level == 1 ? 1 : 2);
    if (answer == 1) { /* "All"s, one "No", then reversed "All"s */
        int at = level == 1 ? k - 1 : (int)t2_task_rand(rng, 0, k - 1);
        link[at] = LINK_NO;
        for (int i = at + 1; i < k; i++) link[i] = LINK_REV;
    } else if (answer == 2) { /* exactly one odd link; a "No" must not be last */
        int at = (int)t2_task_rand(rng, 0, k - 1);
        int kind = (int)t2_task_rand(rng, at == k - 1 ? 1 : 0, 2);
        link[at] = kind == 0 ? LINK_NO : kind == 1 ? LINK_SOME : LINK_REV;
    }
    int order[3];
    if (level >= 3)
        t2_task_shuffle(rng, order, k);
    else
        for (int i = 0; i < k; i++) order[i] = i;
    t2_task_text_add(&item->key, "syllogism:");
    for (int pass = 0; pass < 2; pass++) /* the question in fact order, the key in chain order */
        for (int j = 0; j < k; j++) {
            int i = pass == 0 ? order[j] : j;
            t2_task_text *out = pass == 0 ? &item->question : &item->key;
            const char *a = t[i], *b = t[i + 1];
            switch (link[i]) {
            case LINK_ALL: t2_task_text_add(out, "All %ss are %ss. ", a, b); break;
            case LINK_SOME: t2_task_text_add(out, "Some %ss are %ss. ", a, b); break;
            case LINK_NO: t2_task_text_add(out, "No %ss are %ss. ", a, b); break;
            default: t2_task_text_add(out, "All %ss are %ss. ", b, a); break;
            }
        }
    t2_task_text_add(&item->question, "Is every %s a %s?", t[0], t[k]);
    t2_task_text_add(&item->key, "every %s a %s?", t[0], t[k]);
    static const char *const options[] = {"yes", "no", "unknown"};
    int n_options = level == 1 ? 2 : 3;
    int perm[3];
    if (level >= 2)
        t2_task_shuffle(rng, perm, n_options);
    else
        for (int i = 0; i < n_options; i++) perm[i] = i;
    char letter = add_choices(&item->question, options, perm, n_options, answer);
    if (answer == 0)
        t2_task_text_add(&item->steps, "Every %s is a %s, so yes.", t[0], t[k]);
    else if (answer == 1)
        t2_task_text_add(&item->steps, "No %s is a %s, so no.", t[0], t[k]);
    else
        t2_task_text_add(&item->steps, "The facts allow both, so unknown.");
    t2_task_text_add(&item->answer, "%c", letter);
}

void t2_task_reasoning_generate(t2_rng *rng, int level, t2_task_item *item) {
    switch (t2_task_rand(rng, 0, 2)) {
    case 0: ordering(rng, level, item); break;
    case 1: comparison(rng, level, item); break;
    default: syllogism(rng, level, item); break;
    }
    item->match = T2_ANSWER_MATCH_CHOICE;
    item->category = "reasoning";
}

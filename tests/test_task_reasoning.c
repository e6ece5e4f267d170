/* The reasoning and cls tasks checked by solvers written here, independently of the generator:
 *   orderings: the facts "X is <comparative> than Y." are read back into a relation, closed
 *     transitively, and must order everyone; the person asked for is found from that order;
 *   comparisons: "X has N ..." read back, the most or fewest found;
 *   syllogisms: the premises are checked against every set model of their terms (each term
 *     non-empty): yes when "every x is a z" holds in all models, no when in none, unknown
 *     otherwise — this proves the generator's pattern rules (task_reasoning.c).
 * The reference letter must name the solver's answer among the choices. For cls the answer is
 * the query's category, and whole queries (level 1) show that category's form. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "rl/task.h"

enum { MAX_PEOPLE = 8, MAX_TERMS = 4 };

/* The letter of the choice whose text is want in " A) x B) y ..." (choices), or 0. */
static char letter_of(const char *choices, const char *want) {
    char pattern[160];
    for (char letter = 'A'; letter <= 'Z'; letter++) {
        snprintf(pattern, sizeof pattern, " %c) %s", letter, want);
        const char *hit = strstr(choices, pattern);
        size_t n = strlen(pattern);
        if (hit && (hit[n] == '\0' || hit[n] == ' ')) return letter;
    }
    return 0;
}

/* Comparatives with their direction: +1 means the subject is more. */
static int comparative(const char *word, int *sign, int *family) {
    static const char *const more[] = {"taller", "older", "faster", "heavier"};
    static const char *const less[] = {"shorter", "younger", "slower", "lighter"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(word, more[i]) == 0) *sign = 1, *family = i;
        else if (strcmp(word, less[i]) == 0) *sign = -1, *family = i;
        else continue;
        return 1;
    }
    return 0;
}

static const char *solve_ordering(const char *q, char *why, size_t cap) {
    static char answer[128];
    char names[MAX_PEOPLE][16];
    int n = 0, above[MAX_PEOPLE][MAX_PEOPLE] = {{0}}, family = -1;
    const char *p = q;
    char a[16], word[16], b[16];
    int used;
    while (sscanf(p, "%15s is %15s than %15[A-Za-z]. %n", a, word, b, &used) == 3) {
        int sign, fam, ia = -1, ib = -1;
        if (!comparative(word, &sign, &fam) || (family >= 0 && fam != family)) {
            snprintf(why, cap, "comparative '%s'", word);
            return NULL;
        }
        family = fam;
        for (int k = 0; k < 2; k++) {
            const char *who = k ? b : a;
            int *idx = k ? &ib : &ia;
            for (int i = 0; i < n; i++)
                if (strcmp(names[i], who) == 0) *idx = i;
            if (*idx < 0 && n < MAX_PEOPLE) {
                snprintf(names[n], sizeof names[n], "%s", who);
                *idx = n++;
            }
        }
        if (sign > 0) above[ia][ib] = 1;
        else above[ib][ia] = 1;
        p += used;
    }
    for (int k = 0; k < n; k++) /* transitive closure */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (above[i][k] && above[k][j]) above[i][j] = 1;
    int rank[MAX_PEOPLE]; /* how many people are above */
    for (int j = 0; j < n; j++) {
        rank[j] = 0;
        for (int i = 0; i < n; i++) {
            if (i != j && !above[i][j] && !above[j][i]) {
                snprintf(why, cap, "%s and %s are not ordered", names[i], names[j]);
                return NULL;
            }
            rank[j] += above[i][j];
        }
    }
    static const char *const most[] = {"tallest", "oldest", "fastest", "heaviest"};
    static const char *const least[] = {"shortest", "youngest", "slowest", "lightest"};
    char sup[16];
    int offset = 0;
    if (sscanf(p, "Who is second %15[a-z]?", sup) == 1) {
        offset = 1;
    } else if (sscanf(p, "Who is %15[a-z]?", sup) != 1) {
        snprintf(why, cap, "no question");
        return NULL;
    }
    int want = -1;
    if (strcmp(sup, most[family]) == 0) want = offset;
    else if (strcmp(sup, least[family]) == 0) want = n - 1 - offset;
    for (int j = 0; j < n; j++)
        if (rank[j] == want) snprintf(answer, sizeof answer, "%s", names[j]);
    return want >= 0 ? answer : NULL;
}

static const char *solve_comparison(const char *q, char *why, size_t cap) {
    static char answer[128];
    char names[MAX_PEOPLE][16], thing[16];
    long long count[MAX_PEOPLE];
    int n = 0, used;
    const char *p = q;
    if (sscanf(p, "%15s has %lld %15[a-z]%n", names[0], &count[0], thing, &used) != 3) {
        snprintf(why, cap, "first person");
        return NULL;
    }
    n = 1;
    p += used;
    while (n < MAX_PEOPLE && (sscanf(p, ", %15s has %lld%n", names[n], &count[n], &used) == 2 ||
                              sscanf(p, " and %15s has %lld%n", names[n], &count[n], &used) == 2)) {
        n++;
        p += used;
    }
    char what[16];
    if (sscanf(p, ". Who has the %15[a-z]?", what) != 1) {
        snprintf(why, cap, "question");
        return NULL;
    }
    int best = 0, most = strcmp(what, "most") == 0;
    for (int i = 1; i < n; i++)
        if (most ? count[i] > count[best] : count[i] < count[best]) best = i;
    for (int i = 0; i < n; i++)
        if (i != best && count[i] == count[best]) {
            snprintf(why, cap, "a tie");
            return NULL;
        }
    snprintf(answer, sizeof answer, "%s", names[best]);
    return answer;
}

typedef struct premise {
    int kind; /* 0 all, 1 some, 2 no */
    int a, b; /* term indexes */
} premise;

static const char *solve_syllogism(const char *q, char *why, size_t cap) {
    char terms[MAX_TERMS + 2][16];
    int n_terms = 0, n_premises = 0, used;
    premise prem[4];
    const char *p = q;
    char quant[8], a[16], b[16];
    while (n_premises < 4 &&
           sscanf(p, "%7s %15[a-z] are %15[a-z]. %n", quant, a, b, &used) == 3) {
        /* plurals: the word and an "s" */
        size_t na = strlen(a), nb = strlen(b);
        if (na < 2 || nb < 2 || a[na - 1] != 's' || b[nb - 1] != 's') break;
        a[na - 1] = b[nb - 1] = '\0';
        int idx[2] = {-1, -1};
        for (int k = 0; k < 2; k++) {
            char *w = k ? b : a;
            for (int i = 0; i < n_terms; i++)
                if (strcmp(terms[i], w) == 0) idx[k] = i;
            if (idx[k] < 0 && n_terms < MAX_TERMS + 2) {
                snprintf(terms[n_terms], sizeof terms[0], "%s", w);
                idx[k] = n_terms++;
            }
        }
        prem[n_premises].kind = strcmp(quant, "All") == 0 ? 0 : strcmp(quant, "Some") == 0 ? 1 : 2;
        prem[n_premises].a = idx[0];
        prem[n_premises].b = idx[1];
        n_premises++;
        p += used;
    }
    char x[16], z[16];
    int ix = -1, iz = -1;
    if (sscanf(p, "Is every %15s a %15[a-z]?", x, z) != 2 || n_terms > MAX_TERMS) {
        snprintf(why, cap, "syllogism question");
        return NULL;
    }
    for (int i = 0; i < n_terms; i++) {
        if (strcmp(terms[i], x) == 0) ix = i;
        if (strcmp(terms[i], z) == 0) iz = i;
    }
    /* a model: which of the 2^n_terms kinds of element exist (bit t of a kind: in term t);
     * in_term[t] is the set of kinds inside term t, as a bit mask over kinds */
    int n_kinds = 1 << n_terms, holds = 0, fails = 0;
    unsigned long in_term[MAX_TERMS] = {0};
    for (int t = 0; t < n_terms; t++)
        for (int k = 0; k < n_kinds; k++)
            if (k >> t & 1) in_term[t] |= 1UL << k;
    for (unsigned long model = 1; model < (1UL << n_kinds) && ix >= 0 && iz >= 0; model++) {
        int ok = 1;
        for (int t = 0; t < n_terms; t++) ok &= (model & in_term[t]) != 0; /* non-empty */
        for (int i = 0; i < n_premises && ok; i++) {
            unsigned long a_set = model & in_term[prem[i].a], b_set = in_term[prem[i].b];
            ok = prem[i].kind == 0   ? (a_set & ~b_set) == 0
                 : prem[i].kind == 1 ? (a_set & b_set) != 0
                                     : (a_set & b_set) == 0;
        }
        if (!ok) continue;
        int every = (model & in_term[ix] & ~in_term[iz]) == 0;
        holds += every;
        fails += !every;
    }
    if (ix < 0 || iz < 0 || holds + fails == 0) {
        snprintf(why, cap, "no model");
        return NULL;
    }
    return fails == 0 ? "yes" : holds == 0 ? "no" : "unknown";
}

static void check_reasoning(void) {
    int64_t solved[3] = {0}, answers[3] = {0};
    for (int level = T2_TASK_LEVEL_MIN; level <= T2_TASK_LEVEL_MAX; level++) {
        t2_task_options o = {NULL, level, 3, 0, 0, NULL};
        t2_error err = {{0}};
        t2_task *task = t2_task_open("reasoning", &o, &err);
        int bad = 0;
        for (int64_t i = 0; i < 2000 && bad < 5; i++) {
            t2_task_split split = i % 2 ? T2_TASK_SPLIT_TEST : T2_TASK_SPLIT_TRAIN;
            t2_task_sample s = {0};
            t2_task_get(task, split, i / 2, &s);
            char q[512], why[128] = "unknown form";
            snprintf(q, sizeof q, "%.*s", (int)(strlen(s.prompt) - 18), s.prompt + 10);
            char *choices = strrchr(q, '?');
            const char *answer = NULL;
            int kind = -1;
            if (choices != NULL) {
                char saved = choices[1];
                choices[1] = '\0';
                kind = strstr(q, "Who is ") ? 0 : strstr(q, "Who has ") ? 1 : 2;
                answer = kind == 0 ? solve_ordering(q, why, sizeof why)
                         : kind == 1 ? solve_comparison(q, why, sizeof why)
                                     : solve_syllogism(q, why, sizeof why);
                choices[1] = saved;
            }
            char letter = answer && choices ? letter_of(choices + 1, answer) : 0;
            int ok = letter != 0 && s.answer[0] == letter && s.answer[1] == '\0' &&
                     s.match == T2_ANSWER_MATCH_CHOICE && t2_task_reward(&s, s.worked) == 1;
            CHECK(ok, "reasoning level %d: '%s': solver says %s (%s), sample says '%s'", level,
                  q, answer ? answer : "nothing", answer ? "" : why, s.answer);
            bad += !ok;
            if (ok) solved[kind]++;
            if (ok && kind == 2) answers[strcmp(answer, "yes") == 0 ? 0
                                         : strcmp(answer, "no") == 0 ? 1 : 2]++;
            t2_task_sample_free(&s);
        }
        t2_task_free(task);
    }
    CHECK(solved[0] > 2500 && solved[1] > 2500 && solved[2] > 2500,
          "each kind is about a third: %lld orderings, %lld comparisons, %lld syllogisms",
          (long long)solved[0], (long long)solved[1], (long long)solved[2]);
    CHECK(answers[0] > 300 && answers[1] > 300 && answers[2] > 300,
          "syllogism answers: %lld yes, %lld no, %lld unknown", (long long)answers[0],
          (long long)answers[1], (long long)answers[2]);
    fprintf(stderr, "ok   reasoning: %lld orderings, %lld comparisons, %lld syllogisms solved\n",
            (long long)solved[0], (long long)solved[1], (long long)solved[2]);
}

static void check_cls(void) {
    int n_cat;
    const char *const *cat = t2_task_categories(&n_cat);
    for (int level = T2_TASK_LEVEL_MIN; level <= T2_TASK_LEVEL_MAX; level++) {
        t2_task_options o = {NULL, level, 3, 0, 0, NULL};
        t2_error err = {{0}};
        t2_task *task = t2_task_open("cls", &o, &err);
        int64_t per_category[3] = {0}, bad = 0;
        for (int64_t i = 0; i < 2000 && bad < 5; i++) {
            t2_task_sample s = {0};
            t2_task_get(task, i % 2 ? T2_TASK_SPLIT_TEST : T2_TASK_SPLIT_TRAIN, i / 2, &s);
            int c = -1;
            for (int k = 0; k < n_cat; k++)
                if (strcmp(s.answer, cat[k]) == 0) c = k;
            const char *q = s.prompt + strlen("Question: Classify: ");
            int form = 1;
            if (level == 1) /* whole queries show their category's form */
                form = c == 0 ? strstr(q, "How many ") != NULL && strstr(q, " A) ") == NULL
                       : c == 1 ? strstr(q, "print ") != NULL
                                : strstr(q, " A) ") != NULL;
            int ok = c >= 0 && s.category != NULL && strcmp(s.category, s.answer) == 0 &&
                     strncmp(s.prompt, "Question: Classify: ", 20) == 0 && form &&
                     s.match == T2_ANSWER_MATCH_EXACT;
            CHECK(ok, "cls level %d: '%s' -> '%s'", level, s.prompt, s.answer);
            bad += !ok;
            if (c >= 0) per_category[c]++;
            t2_task_sample_free(&s);
        }
        CHECK(per_category[0] > 500 && per_category[1] > 500 && per_category[2] > 500,
              "cls level %d: categories %lld/%lld/%lld of 2000", level,
              (long long)per_category[0], (long long)per_category[1],
              (long long)per_category[2]);
        t2_task_free(task);
    }
}

int main(void) {
    char why[64];
    const char *a = solve_syllogism("All blips are zorks. Some zorks are mems. No mems are tafs. "
                                    "Is every blip a taf?", why, sizeof why);
    CHECK(a && strcmp(a, "unknown") == 0, "solver: some-then-no is unknown, got %s",
          a ? a : why);
    a = solve_syllogism("Some blips are zorks. No zorks are mems. Is every blip a mem?", why,
                        sizeof why);
    CHECK(a && strcmp(a, "no") == 0, "solver: some x are y, no y are z: no, got %s", a ? a : why);
    a = solve_ordering("Ann is taller than Bob. Cal is shorter than Bob. Who is shortest?", why,
                       sizeof why);
    CHECK(a && strcmp(a, "Cal") == 0, "solver: ordering, got %s", a ? a : why);
    CHECK(solve_ordering("Ann is taller than Bob. Cal is taller than Bob. Who is tallest?", why,
                         sizeof why) == NULL,
          "solver: a partial order has no answer");
    check_reasoning();
    check_cls();
    return t2_check_exit_code();
}

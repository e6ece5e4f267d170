/* rl/dispatch: the category named in a classification completion — normal answers, letter
 * case, punctuation, the last marker and its line, no category, "other", two categories,
 * a category inside a longer word, garbage and non-ASCII bytes, embedded NUL, empty input,
 * a 1 MB completion, and random byte soup (no crash, no read past len: every completion is
 * copied into a heap block of exactly len bytes, so the sanitizer build catches over-reads). */
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "rl/dispatch.h"

static const char *const CATEGORIES[3] = {"math", "code", "reasoning"};

/* Parses len bytes of text (copied to an exact-size heap block) against categories[n]. */
static int parse(const char *text, size_t len, const char *const *categories, int n,
                 t2_dispatch_outcome *outcome) {
    char *copy = len > 0 ? t2_alloc(len) : NULL;
    if (len > 0) memcpy(copy, text, len);
    int k = t2_dispatch_parse(copy, len, categories, n, outcome);
    t2_free(copy);
    return k;
}

typedef struct dispatch_case {
    const char *text;
    size_t len; /* 0: strlen(text) (cases with NUL give it) */
    int want;   /* index or -1 */
    t2_dispatch_outcome outcome;
} dispatch_case;

static void check_cases(const char *what, const dispatch_case *cases, int count) {
    for (int i = 0; i < count; i++) {
        size_t len = cases[i].len > 0 ? cases[i].len : strlen(cases[i].text);
        t2_dispatch_outcome outcome;
        int got = parse(cases[i].text, len, CATEGORIES, 3, &outcome);
        CHECK(got == cases[i].want && outcome == cases[i].outcome,
              "%s #%d '%s': got %d (%s), want %d (%s)", what, i, cases[i].text, got,
              t2_dispatch_outcome_name(outcome), cases[i].want,
              t2_dispatch_outcome_name(cases[i].outcome));
    }
}

static void check_answers(void) {
    const dispatch_case cases[] = {
        /* the worked answer of the cls task, and its variants */
        {" The answer is math.\n", 0, 0, T2_DISPATCH_FOUND},
        {" The answer is code.", 0, 1, T2_DISPATCH_FOUND},
        {" The answer is reasoning.\n", 0, 2, T2_DISPATCH_FOUND},
        {" It counts apples. The answer is reasoning", 0, 2, T2_DISPATCH_FOUND},
        /* letter case of the marker and the name */
        {" THE ANSWER IS MATH.", 0, 0, T2_DISPATCH_FOUND},
        {" the answer is Code", 0, 1, T2_DISPATCH_FOUND},
        {" The Answer Is ReAsOnInG!", 0, 2, T2_DISPATCH_FOUND},
        /* punctuation around the name */
        {" The answer is: math!", 0, 0, T2_DISPATCH_FOUND},
        {" The answer is (code).", 0, 1, T2_DISPATCH_FOUND},
        {" The answer is \"reasoning\".", 0, 2, T2_DISPATCH_FOUND},
        {" The answer is 'math', clearly", 0, 0, T2_DISPATCH_FOUND},
        {" The answer is math's", 0, 0, T2_DISPATCH_FOUND},
        {" The answer is code-like", 0, 1, T2_DISPATCH_FOUND},
        {" The answer is\tmath\a", 0, 0, T2_DISPATCH_FOUND},
        {" The answer is math, math and MATH.", 0, 0, T2_DISPATCH_FOUND},
        /* no marker: the first line */
        {" math.", 0, 0, T2_DISPATCH_FOUND},
        {"code", 0, 1, T2_DISPATCH_FOUND},
        {" reasoning.\n The answer is code.", 0, 1, T2_DISPATCH_FOUND}, /* a marker wins */
        {" math\ncode", 0, 0, T2_DISPATCH_FOUND},
        {"\nmath", 0, -1, T2_DISPATCH_NONE},
        /* the last marker, up to its line's end */
        {" The answer is math. No, the answer is code.", 0, 1, T2_DISPATCH_FOUND},
        {" The answer is code.\nQuestion: is this math?", 0, 1, T2_DISPATCH_FOUND},
        {" It is code. The answer is math", 0, 0, T2_DISPATCH_FOUND},
        {" The answer is math. The answer is", 0, -1, T2_DISPATCH_NONE},
        {" The answer is\nmath", 0, -1, T2_DISPATCH_NONE},
        /* "the answer isn't" is no marker: the scope after the real one names both */
        {" The answer is code; the answer isn't math", 0, -1, T2_DISPATCH_AMBIGUOUS},
        {" The answer isn't math", 0, 0, T2_DISPATCH_FOUND},
    };
    check_cases("answers", cases, (int)(sizeof cases / sizeof cases[0]));
}

static void check_no_answer(void) {
    const dispatch_case cases[] = {
        {" The answer is unclear.", 0, -1, T2_DISPATCH_NONE},
        {" The answer is 42.", 0, -1, T2_DISPATCH_NONE},
        {" ", 0, -1, T2_DISPATCH_NONE},
        {"\n\n\n", 0, -1, T2_DISPATCH_NONE},
        /* other */
        {" The answer is other.", 0, -1, T2_DISPATCH_OTHER},
        {" The answer is OTHER", 0, -1, T2_DISPATCH_OTHER},
        {" other", 0, -1, T2_DISPATCH_OTHER},
        {" The answer is others.", 0, -1, T2_DISPATCH_NONE},
        {" The answer is another", 0, -1, T2_DISPATCH_NONE},
        /* two categories, or a category and other */
        {" The answer is math or code.", 0, -1, T2_DISPATCH_AMBIGUOUS},
        {" The answer is code, reasoning", 0, -1, T2_DISPATCH_AMBIGUOUS},
        {" The answer is math/other", 0, -1, T2_DISPATCH_AMBIGUOUS},
        {" The answer is other, not math", 0, -1, T2_DISPATCH_AMBIGUOUS},
        {" The answer is math, code and math", 0, -1, T2_DISPATCH_AMBIGUOUS},
        /* a name inside a longer word is not the name */
        {" The answer is mathematics.", 0, -1, T2_DISPATCH_NONE},
        {" The answer is maths", 0, -1, T2_DISPATCH_NONE},
        {" The answer is math2", 0, -1, T2_DISPATCH_NONE},
        {" The answer is _code", 0, -1, T2_DISPATCH_NONE},
        {" The answer is pseudocode", 0, -1, T2_DISPATCH_NONE},
        {" The answer is codes and reasonings", 0, -1, T2_DISPATCH_NONE},
        {" The answer is math\xc3\xa9matiques", 0, -1, T2_DISPATCH_NONE}, /* UTF-8 é */
        {" The answer is mathematics, so math", 0, 0, T2_DISPATCH_FOUND},
    };
    check_cases("no answer", cases, (int)(sizeof cases / sizeof cases[0]));
}

/* Garbage bytes, control characters and embedded NUL bytes (lengths given). */
static void check_bytes(void) {
    const dispatch_case cases[] = {
        {"\xff\xfe\x01 The answer is code \xc3\x28", 0, 1, T2_DISPATCH_FOUND},
        {"\xff\xfe The answer is \x80" "code\x81", 0, -1, T2_DISPATCH_NONE},
        {"\x1b[31m The answer is math\x1b[0m", 0, 0, T2_DISPATCH_FOUND},
        {"\xc0\xaf\xed\xa0\x80 math \xf8\x88\x80\x80\x80", 0, 0, T2_DISPATCH_FOUND},
        {" The answer is\0math", 19, 0, T2_DISPATCH_FOUND},
        {"math\0 The answer is code", 24, 1, T2_DISPATCH_FOUND},
        {" The answer is code\0math", 24, -1, T2_DISPATCH_AMBIGUOUS},
        {"\0\0\0\0", 4, -1, T2_DISPATCH_NONE},
        {" The answer is\0", 15, -1, T2_DISPATCH_NONE},
        /* len cuts the text: only the first len bytes count */
        {" The answer is mathematics", 19, 0, T2_DISPATCH_FOUND},
        {" The answer is code and math", 19, 1, T2_DISPATCH_FOUND},
        {" The answer is", 10, -1, T2_DISPATCH_NONE},
    };
    check_cases("bytes", cases, (int)(sizeof cases / sizeof cases[0]));
}

/* Empty completions, other category lists, and the outcome names. */
static void check_edges(void) {
    t2_dispatch_outcome outcome = T2_DISPATCH_FOUND;
    CHECK(t2_dispatch_parse(NULL, 0, CATEGORIES, 3, &outcome) == -1 &&
              outcome == T2_DISPATCH_NONE,
          "NULL, 0: %s", t2_dispatch_outcome_name(outcome));
    CHECK(t2_dispatch_parse("math", 0, CATEGORIES, 3, NULL) == -1, "len 0 reads nothing");
    CHECK(t2_dispatch_parse(" The answer is math.", 20, CATEGORIES, 0, &outcome) == -1 &&
              outcome == T2_DISPATCH_NONE,
          "no categories: %s", t2_dispatch_outcome_name(outcome));
    CHECK(t2_dispatch_parse(" The answer is other.", 21, CATEGORIES, 0, &outcome) == -1 &&
              outcome == T2_DISPATCH_OTHER,
          "no categories, other: %s", t2_dispatch_outcome_name(outcome));
    static const char *const mixed[3] = {"Math", "Common Sense", "C"};
    const char *text = " The answer is common  sense. The answer is common sense!";
    CHECK(parse(text, strlen(text), mixed, 3, NULL) == 1, "a two-word name");
    text = " The answer is MATH";
    CHECK(parse(text, strlen(text), mixed, 3, NULL) == 0, "an upper-case name");
    text = " The answer is c.";
    CHECK(parse(text, strlen(text), mixed, 3, NULL) == 2, "a one-letter name");
    text = " The answer is clearly code";
    CHECK(parse(text, strlen(text), mixed, 3, &outcome) == -1 && outcome == T2_DISPATCH_NONE,
          "a one-letter name inside words: %s", t2_dispatch_outcome_name(outcome));
    const char *names[4] = {"found", "none", "other", "ambiguous"};
    for (int i = 0; i < 4; i++)
        CHECK(strcmp(t2_dispatch_outcome_name((t2_dispatch_outcome)i), names[i]) == 0,
              "outcome %d is '%s', want '%s'", i, t2_dispatch_outcome_name((t2_dispatch_outcome)i),
              names[i]);
}

/* 1 MB completions: filler then an answer; a marker repeated throughout; names everywhere. */
static void check_long(void) {
    const size_t big = (size_t)1 << 20;
    char *text = t2_alloc(big);
    t2_dispatch_outcome outcome;

    /* random bytes without '\n' (so the no-marker scope is the whole text), then an answer;
     * the bytes are forced to be >= 0x80 every fourth byte so they cannot spell a name */
    t2_rng rng;
    t2_rng_init(&rng, 5);
    const char tail[] = " The answer is reasoning.";
    size_t fill = big - (sizeof tail - 1);
    for (size_t i = 0; i < fill; i++) {
        unsigned char b = (unsigned char)(t2_rng_next(&rng) >> 56);
        if (i % 4 == 0) b |= 0x80;
        text[i] = (char)(b == '\n' ? ' ' : b);
    }
    memcpy(text + fill, tail, sizeof tail - 1);
    CHECK(parse(text, big, CATEGORIES, 3, &outcome) == 2, "1 MB random then an answer: %s",
          t2_dispatch_outcome_name(outcome));
    /* the same bytes alone (the answer cut off): nothing */
    CHECK(parse(text, fill, CATEGORIES, 3, &outcome) == -1 && outcome == T2_DISPATCH_NONE,
          "1 MB random: %s", t2_dispatch_outcome_name(outcome));

    /* "The answer is math " over and over, then "code": the last marker names code */
    const char unit[] = "The answer is math ";
    size_t at = 0;
    while (at + (sizeof unit - 1) + 4 <= big) {
        memcpy(text + at, unit, sizeof unit - 1);
        at += sizeof unit - 1;
    }
    memcpy(text + at - 5, " code", 5);
    CHECK(parse(text, at, CATEGORIES, 3, &outcome) == 1, "1 MB of markers, last names code: %s",
          t2_dispatch_outcome_name(outcome));

    /* one 1 MB line of "math " without a marker: found; with "code" at its very end: ambiguous */
    for (size_t i = 0; i + 5 <= big; i += 5) memcpy(text + i, "math ", 5);
    size_t whole = big - big % 5;
    CHECK(parse(text, whole, CATEGORIES, 3, &outcome) == 0, "1 MB of math: %s",
          t2_dispatch_outcome_name(outcome));
    memcpy(text + whole - 5, "code ", 5);
    CHECK(parse(text, whole, CATEGORIES, 3, &outcome) == -1 && outcome == T2_DISPATCH_AMBIGUOUS,
          "1 MB of math then code: %s", t2_dispatch_outcome_name(outcome));
    t2_free(text);
}

/* Byte soup from pieces that matter (names, markers, separators, NUL, high bytes): every
 * result is in range and agrees with its outcome; the sanitizer build checks the reads. */
static void check_soup(void) {
    static const char *const pieces[] = {"math", "code", "reasoning", "other", "The answer is",
                                         "the answer is", " ", ".", "\n", "s", "\xff", "\xc3",
                                         "_", "!", "x"};
    const int n_pieces = (int)(sizeof pieces / sizeof pieces[0]);
    t2_rng rng;
    t2_rng_init(&rng, 17);
    char buf[256];
    int counts[4] = {0};
    for (int trial = 0; trial < 20000; trial++) {
        size_t len = 0;
        int n = (int)(t2_rng_next(&rng) % 12);
        for (int p = 0; p < n; p++) {
            const char *piece = pieces[t2_rng_next(&rng) % (uint64_t)n_pieces];
            size_t m = strlen(piece);
            if (t2_rng_next(&rng) % 16 == 0) buf[len++] = '\0';
            memcpy(buf + len, piece, m);
            len += m;
        }
        t2_dispatch_outcome outcome;
        int k = parse(buf, len, CATEGORIES, 3, &outcome);
        int consistent = (k >= 0) == (outcome == T2_DISPATCH_FOUND) && k >= -1 && k < 3 &&
                         outcome >= T2_DISPATCH_FOUND && outcome <= T2_DISPATCH_AMBIGUOUS;
        CHECK(consistent, "soup #%d: %d with outcome %d", trial, k, (int)outcome);
        if (consistent) counts[outcome]++;
    }
    /* the soup reaches every outcome, so the checks above saw them all */
    for (int o = 0; o < 4; o++)
        CHECK(counts[o] > 100, "soup: outcome %s only %d times",
              t2_dispatch_outcome_name((t2_dispatch_outcome)o), counts[o]);
}

int main(void) {
    check_answers();
    check_no_answer();
    check_bytes();
    check_edges();
    check_long();
    check_soup();
    return t2_check_exit_code();
}

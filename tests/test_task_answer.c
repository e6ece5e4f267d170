/* Answer extraction and the reward (rl/answer.h): markers, the last answer winning, numbers
 * with commas, signs and fractions, choice letters, exact text, garbage bytes, and references
 * that do not have their match kind's shape. */
#include <string.h>

#include "check.h"
#include "rl/answer.h"

static void expect_extract(const char *completion, t2_answer_match match, const char *want) {
    char got[T2_ANSWER_MAX];
    int found = t2_answer_extract(completion, match, got);
    if (want == NULL)
        CHECK(!found && got[0] == '\0', "'%s' (%s): expected no answer, got '%s'", completion,
              t2_answer_match_name(match), got);
    else
        CHECK(found && strcmp(got, want) == 0, "'%s' (%s): expected '%s', got %s'%s'",
              completion, t2_answer_match_name(match), want, found ? "" : "none ", got);
}

static void expect_reward(const char *completion, const char *reference, t2_answer_match match,
                          int want) {
    int got = t2_answer_reward(completion, reference, match);
    CHECK(got == want, "reward of '%s' against '%s' (%s): got %d, want %d", completion,
          reference, t2_answer_match_name(match), got, want);
}

static void numbers(void) {
    const t2_answer_match m = T2_ANSWER_MATCH_NUMERIC;
    expect_extract(" 7+5=12. 12-3=9. The answer is 9.\n", m, "9");
    expect_extract("The answer is 1,000.", m, "1000");
    expect_extract("the ANSWER is 1,234,567 apples", m, "1234567");
    expect_extract("The answer is 9.0", m, "9");
    expect_extract("The answer is 9.50.", m, "9.5");
    expect_extract("The answer is -3.", m, "-3");
    expect_extract("The answer is +3.", m, "3");
    expect_extract("The answer is -0.", m, "0");
    expect_extract("The answer is 007", m, "7");
    expect_extract("The answer is .5", m, "0.5");
    expect_extract("The answer is $18.", m, "18");
    expect_extract("The answer is: 42", m, "42");
    expect_extract("#### 72", m, "72");
    expect_extract("Natalia sold 48/2 = 24 clips.\n#### 72\n", m, "72");
    expect_extract("The answer is about 12 or so", m, "12");
    /* the first number after the marker; an operator sign is not part of it */
    expect_extract("The answer is 12-3=9", m, "12");
    expect_extract("The answer is x=-4", m, "-4");
    /* a comma belongs to the number only before exactly three digits */
    expect_extract("The answer is 1,00", m, "1");
    expect_extract("The answer is 3, 4", m, "3");
    expect_extract("The answer is 1,0000", m, "1");
    /* the last marker wins, also when the markers differ */
    expect_extract("The answer is 5. No wait, the answer is 6.", m, "6");
    expect_extract("The answer is 5.\n#### 7", m, "7");
    expect_extract("#### 7\nThe answer is 5.", m, "5");
    /* the answer ends with its line */
    expect_extract("The answer is\n42", m, NULL);
    /* no marker, or nothing numeric after the last one */
    expect_extract("", m, NULL);
    expect_extract("9", m, NULL);
    expect_extract("I think it is 9.", m, NULL);
    expect_extract("The answer is 9. The answer is nine.", m, NULL);
    expect_extract("The answer is", m, NULL);
    expect_extract("The answer is -", m, NULL);
    /* a number too long to hold is no answer */
    char huge[T2_ANSWER_MAX + 64] = "The answer is ";
    size_t len = strlen(huge);
    memset(huge + len, '7', T2_ANSWER_MAX + 20);
    huge[len + T2_ANSWER_MAX + 20] = '\0';
    expect_extract(huge, m, NULL);

    expect_reward("The answer is 1,000.", "1000", m, 1);
    expect_reward("The answer is 1000", "1,000", m, 1);
    expect_reward("The answer is 9.0", "9", m, 1);
    expect_reward("The answer is 9.01", "9", m, -1);
    expect_reward("The answer is -9", "9", m, -1);
    expect_reward("The answer is 10", "9", m, -1);
    expect_reward("9", "9", m, -1);
    expect_reward("The answer is 9", "nine", m, -1); /* a reference of the wrong shape */
    expect_reward("The answer is 9", "9 apples", m, -1);
    expect_reward("The answer is 18", "$18", m, 1);
}

static void choices(void) {
    const t2_answer_match m = T2_ANSWER_MATCH_CHOICE;
    expect_extract(" Tallest first: Ann, Bob. The answer is B.\n", m, "B");
    expect_extract("The answer is (C).", m, "C");
    expect_extract("The answer is B) Bob", m, "B");
    expect_extract("The answer is b", m, "B");
    expect_extract("The answer is 3", m, "3");
    expect_extract("The answer is Bob", m, NULL);
    expect_extract("The answer is option B", m, NULL);
    expect_extract("The answer is A. Actually the answer is D", m, "D");
    expect_extract("The answer is .", m, NULL);
    expect_extract("A) Ann B) Bob", m, NULL);

    expect_reward("The answer is b.", "B", m, 1);
    expect_reward("The answer is C.", "B", m, -1);
    expect_reward("The answer is 1", "1", m, 1);
    expect_reward("The answer is B", "B)", m, -1); /* a reference must be the label alone */
    expect_reward("The answer is B", "AB", m, -1);
}

static void exact(void) {
    const t2_answer_match m = T2_ANSWER_MATCH_EXACT;
    expect_extract(" s=ab. t=abcd. The answer is dcba.\n", m, "dcba");
    expect_extract("The answer is   aHG  ", m, "aHG");
    expect_extract("The answer is math...", m, "math");
    expect_extract("The answer is U.S.", m, "U.S");
    expect_extract("The answer is two words.", m, "two words");
    expect_extract("The answer is .", m, NULL);
    expect_extract("The answer is \n dcba", m, NULL);

    expect_reward("The answer is math.", "math", m, 1);
    expect_reward("The answer is Math.", "math", m, -1); /* case matters */
    expect_reward("The answer is U.S..", "U.S.", m, 1);
    expect_reward("The answer is U.S", "U.S.", m, 1);
    expect_reward("The answer is math code", "math", m, -1);
    expect_reward("The answer is math", "", m, -1);
}

/* Bytes outside ASCII, control bytes and very long texts never crash and never match by
 * accident. */
static void garbage(void) {
    const char garbage_text[] = "\xff\xfe\x80 The answer is \xc3\xa9\x01\x7f 42 \xe2\x82\xac.";
    expect_extract(garbage_text, T2_ANSWER_MATCH_NUMERIC, "42");
    expect_extract(garbage_text, T2_ANSWER_MATCH_CHOICE, NULL);
    expect_extract("The answer is \xc3\xa9", T2_ANSWER_MATCH_EXACT, "\xc3\xa9");
    expect_extract("\xff\xff####\xff", T2_ANSWER_MATCH_NUMERIC, NULL);
    char big[20000];
    for (size_t i = 0; i + 1 < sizeof big; i++) big[i] = (char)(1 + i % 255);
    big[sizeof big - 1] = '\0';
    char out[T2_ANSWER_MAX];
    /* every byte value appears, but no marker: no answer of any kind */
    for (int m = 0; m < 3; m++)
        CHECK(!t2_answer_extract(big, (t2_answer_match)m, out), "garbage without a marker");
    memcpy(big + 10000, "The answer is 5", 15);
    CHECK(t2_answer_extract(big, T2_ANSWER_MATCH_NUMERIC, out) && strcmp(out, "5") == 0,
          "a marker inside garbage: got '%s'", out);
}

static void names(void) {
    t2_answer_match m;
    CHECK(t2_answer_match_parse("numeric", &m) == 0 && m == T2_ANSWER_MATCH_NUMERIC, "numeric");
    CHECK(t2_answer_match_parse("choice", &m) == 0 && m == T2_ANSWER_MATCH_CHOICE, "choice");
    CHECK(t2_answer_match_parse("exact", &m) == 0 && m == T2_ANSWER_MATCH_EXACT, "exact");
    CHECK(t2_answer_match_parse("fuzzy", &m) == -1, "an unknown match kind is rejected");
}

int main(void) {
    numbers();
    choices();
    exact();
    garbage();
    names();
    return t2_check_exit_code();
}

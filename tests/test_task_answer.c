/* Answer extraction and the reward (rl/answer.h): markers, the last answer winning, numbers
 * with commas, signs and fractions, choice letters, exact text, garbage bytes, and references
 * that do not have their match kind's shape; then the markers and forms of chat-model output
 * (one function per rule: "answer is", "answer:", \boxed{}, numbers with units, choices in
 * words, markdown around exact answers) and the no-marker fallback. Every expected value is
 * written by hand from the rules of answer.h. */
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
    expect_extract("The answer is Option B", m, "B"); /* "option" is skipped (chat_choices) */
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

/* Rule "answer is": any letter case, "answer" starting a word, after any words before it. */
static void chat_answer_is(void) {
    const t2_answer_match m = T2_ANSWER_MATCH_NUMERIC;
    expect_extract("The final answer is 42.", m, "42");
    expect_extract("So my answer is: 17", m, "17");
    expect_extract("**The answer is 42**", m, "42");
    expect_extract("The final answer is $42$. I hope it is correct.", m, "42");
    expect_extract("ANSWER IS 8", m, "8");
    expect_extract("The correct answer is (B).", T2_ANSWER_MATCH_CHOICE, "B");
    /* "answer" inside a longer word is no marker */
    expect_extract("Reanswer is 5", m, NULL);
    expect_extract("The answers are 5 and 6", m, NULL);
    /* the last marker wins, whichever kinds */
    expect_extract("The answer is 3. Final answer: 4", m, "4");
    expect_extract("Answer: 4. On reflection the answer is 3", m, "3");
}

/* Rule "answer:": '*' or '_' may sit between the word and the colon; the rest of the line. */
static void chat_answer_colon(void) {
    const t2_answer_match m = T2_ANSWER_MATCH_NUMERIC;
    expect_extract("Step 1: 3*4=12.\nAnswer: 12", m, "12");
    expect_extract("Final Answer: $1,200", m, "1200");
    expect_extract("**Answer:** 42", m, "42");
    expect_extract("**Answer**: 42", m, "42");
    expect_extract("__Answer__: 7", m, "7");
    expect_extract("answer:42", m, "42");
    expect_extract("Answer: B", T2_ANSWER_MATCH_CHOICE, "B");
    expect_extract("Answer: (C) helium", T2_ANSWER_MATCH_CHOICE, "C");
    expect_extract("Answer: Paris.", T2_ANSWER_MATCH_EXACT, "Paris");
    /* no colon, or the answer on the next line: no answer */
    expect_extract("Answer 42", m, NULL);
    expect_extract("Answer:\n42", m, NULL);
    expect_extract("My answer - 42", m, NULL);
}

/* Rule \boxed{}: the inside of balanced braces; the last marker wins; an unclosed box is no
 * marker. */
static void chat_boxed(void) {
    const t2_answer_match m = T2_ANSWER_MATCH_NUMERIC;
    expect_extract("So $x = \\boxed{42}$.", m, "42");
    expect_extract("\\boxed{1,200}", m, "1200");
    expect_extract("\\boxed{1{,}200}", m, "1200");
    expect_extract("\\boxed{\\$18.00}", m, "18");
    expect_extract("\\boxed{42\\text{ apples}}", m, "42");
    expect_extract("\\boxed{-5}", m, "-5");
    expect_extract("\\boxed{3} then \\boxed{4}", m, "4");
    expect_extract("The answer is 3. \\boxed{5}", m, "5");
    expect_extract("\\boxed{5} so the answer is 3", m, "3");
    /* a box may span lines; it ends at its own closing brace */
    expect_extract("\\boxed{\n7\n} and 9", m, "7");
    expect_extract("\\boxed{\\text{B}}", T2_ANSWER_MATCH_CHOICE, "B");
    expect_extract("\\boxed{\\textbf{(C)}}", T2_ANSWER_MATCH_CHOICE, "C");
    expect_extract("\\boxed{Paris}", T2_ANSWER_MATCH_EXACT, "Paris");
    expect_extract("\\boxed{\\text{Paris}}", T2_ANSWER_MATCH_EXACT, "Paris");
    expect_extract("\\boxed{\\text{a}+\\text{b}}", T2_ANSWER_MATCH_EXACT,
                   "\\text{a}+\\text{b}");
    /* unclosed: no marker; an earlier closed box or marker still counts */
    expect_extract("\\boxed{42", m, NULL);
    expect_extract("\\boxed{4} and \\boxed{5", m, "4");
    expect_extract("\\boxed{}", m, NULL);
    expect_extract("\\boxed{x}", m, NULL);
    expect_extract("boxed{42}", m, NULL);
    /* a box longer than an answer can be is no marker */
    char big[T2_ANSWER_MAX + 64] = "\\boxed{";
    size_t len = strlen(big);
    memset(big + len, 'x', T2_ANSWER_MAX + 8);
    strcpy(big + len + T2_ANSWER_MAX + 8, "1}");
    expect_extract(big, m, NULL);
}

/* Numbers with units, currency, separators, decimals after a marker. */
static void chat_numbers(void) {
    const t2_answer_match m = T2_ANSWER_MATCH_NUMERIC;
    expect_extract("The answer is $1,200.", m, "1200");
    expect_extract("The answer is 42 apples.", m, "42");
    expect_extract("The answer is 42.0", m, "42");
    expect_extract("The answer is **$1,234,567.50**", m, "1234567.5");
    expect_extract("The answer is 1{,}000 dollars", m, "1000");
    expect_extract("The answer is 1{,}00", m, "1");
    expect_extract("The answer is 50%", m, "50");
    expect_extract("The answer is $-5$", m, "-5");
    expect_extract("The answer is twelve", m, NULL);
    expect_reward("The final answer is $1,200.", "1200", m, 1);
    expect_reward("#### 1,200", "1200", m, 1);
    expect_reward("\\boxed{1200}", "1,200", m, 1);
    expect_reward("The answer is 1,200 apples", "120", m, -1);
}

/* Choice letters in words: "option"/"choice" skipped, markdown and LaTeX around the label. */
static void chat_choices(void) {
    const t2_answer_match m = T2_ANSWER_MATCH_CHOICE;
    expect_extract("The answer is (B)", m, "B");
    expect_extract("the correct answer is B.", m, "B");
    expect_extract("The answer is **B**", m, "B");
    expect_extract("The answer is option C.", m, "C");
    expect_extract("The answer is choice (D)", m, "D");
    expect_extract("Answer: **B) carbon dioxide**", m, "B");
    expect_extract("The answer is $\\text{A}$", m, "A");
    expect_extract("The answer is 2. shark", m, "2");
    expect_extract("The answer is options B", m, NULL);
    expect_extract("The answer is option", m, NULL);
    expect_extract("The answer is carbon dioxide", m, NULL);
    expect_reward("The correct answer is (b).", "B", m, 1);
    expect_reward("The answer is option A", "B", m, -1);
}

/* Exact answers: one balanced markdown or LaTeX wrapper removed. */
static void chat_exact(void) {
    const t2_answer_match m = T2_ANSWER_MATCH_EXACT;
    expect_extract("The answer is **Paris**.", m, "Paris");
    expect_extract("The answer is *Paris.*", m, "Paris");
    expect_extract("The answer is `dcba`", m, "dcba");
    expect_extract("The answer is \\text{math}", m, "math");
    expect_extract("The answer is **Paris", m, "**Paris");
    expect_extract("The answer is ab*", m, "ab*");
    expect_extract("The answer is **a** and **b**", m, "a** and **b");
    expect_extract("The answer is ****", m, "****");
    expect_extract("The answer is **.**", m, NULL);
    expect_reward("The answer is **Paris**.", "Paris", m, 1);
    expect_reward("The answer is **paris**", "Paris", m, -1);
}

/* The fallback for completions without a marker: the last number, the last standalone
 * capital letter or digit; nothing for exact. */
static void fallback(void) {
    char got[T2_ANSWER_MAX];
    struct {
        const char *text;
        t2_answer_match match;
        const char *want; /* NULL: no answer */
    } cases[] = {
        {"Tom has 7 + 5 = 12 apples, then 12 - 3 = 9 apples.", T2_ANSWER_MATCH_NUMERIC, "9"},
        {"She earns $1,200 a month.", T2_ANSWER_MATCH_NUMERIC, "1200"},
        {"It falls to -5 degrees", T2_ANSWER_MATCH_NUMERIC, "-5"},
        {"12-3", T2_ANSWER_MATCH_NUMERIC, "3"},
        {"costs 42.0", T2_ANSWER_MATCH_NUMERIC, "42"},
        {"1,2345", T2_ANSWER_MATCH_NUMERIC, "2345"},
        {"no numbers here", T2_ANSWER_MATCH_NUMERIC, NULL},
        {"", T2_ANSWER_MATCH_NUMERIC, NULL},
        {"So **B** is right.", T2_ANSWER_MATCH_CHOICE, "B"},
        {"B) carbon dioxide", T2_ANSWER_MATCH_CHOICE, "B"},
        {"A and C are wrong; D fits", T2_ANSWER_MATCH_CHOICE, "D"},
        {"Whales are mammals: 1", T2_ANSWER_MATCH_CHOICE, "1"},
        {"Be sure: CO2 is taken in", T2_ANSWER_MATCH_CHOICE, NULL},
        {"the option b", T2_ANSWER_MATCH_CHOICE, NULL},
        {"Paris", T2_ANSWER_MATCH_EXACT, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int found = t2_answer_extract_last(cases[i].text, cases[i].match, got);
        if (cases[i].want == NULL)
            CHECK(!found && got[0] == '\0', "fallback '%s' (%s): expected no answer, got '%s'",
                  cases[i].text, t2_answer_match_name(cases[i].match), got);
        else
            CHECK(found && strcmp(got, cases[i].want) == 0,
                  "fallback '%s' (%s): expected '%s', got %s'%s'", cases[i].text,
                  t2_answer_match_name(cases[i].match), cases[i].want, found ? "" : "none ",
                  got);
    }
    /* a last number too long to hold is no answer, not an earlier one */
    char huge[T2_ANSWER_MAX + 64] = "5 then ";
    size_t len = strlen(huge);
    memset(huge + len, '7', T2_ANSWER_MAX + 20);
    huge[len + T2_ANSWER_MAX + 20] = '\0';
    CHECK(!t2_answer_extract_last(huge, T2_ANSWER_MATCH_NUMERIC, got) && got[0] == '\0',
          "fallback over a huge last number: got '%s'", got);
}

int main(void) {
    numbers();
    choices();
    exact();
    garbage();
    names();
    chat_answer_is();
    chat_answer_colon();
    chat_boxed();
    chat_numbers();
    chat_choices();
    chat_exact();
    fallback();
    return t2_check_exit_code();
}

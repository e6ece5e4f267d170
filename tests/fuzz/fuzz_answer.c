/* Fuzz target: the text parsers of the tasks: answer extraction and matching (rl/answer.c),
 * the code extraction of mbpp completions (rl/task_mbpp.c) and prompt templates
 * (rl/task_template.c). Every input is
 *   - a completion read for each match kind (exact, numeric, choice) by t2_answer_span,
 *     t2_answer_extract and t2_answer_extract_last; a numeric or choice answer is in
 *     canonical form, so t2_answer_normalize must keep it as it is and the reward of the
 *     completion against it must be +1;
 *   - a reference answer: when t2_answer_normalize accepts it as numeric or choice, the
 *     completion " The answer is <it>.\n" must earn +1 against it;
 *   - an mbpp completion whose code block is extracted;
 *   - a prompt template checked against {question} and {question}, {choices}, and rendered
 *     when valid (with values holding braces).
 * Seeds: tests/fuzz/corpus/answer/ (completions and templates from tests/test_task_answer.c,
 * tests/test_task_prompt.c and tests/data/tasks). */
#include <string.h>

#include "base/alloc.h"
#include "harness.h"
#include "rl/answer.h"
#include "rl/task_mbpp.h"
#include "rl/task_template.h"

static void check_canonical(const char *completion, const char *out, t2_answer_match match) {
    size_t len = strlen(out);
    t2_fuzz_require(len > 0 && len < T2_ANSWER_MAX, "an answer that is empty or too long");
    if (match == T2_ANSWER_MATCH_EXACT) return;
    char again[T2_ANSWER_MAX];
    t2_fuzz_require(t2_answer_normalize(out, match, again) == 1 && strcmp(again, out) == 0,
                    "an extracted answer is not in canonical form");
    if (completion != NULL)
        t2_fuzz_require(t2_answer_reward(completion, out, match) == 1,
                        "a completion does not earn +1 against its own answer");
}

static void use_completion(const char *text) {
    const char *begin;
    size_t span_len;
    if (t2_answer_span(text, &begin, &span_len))
        t2_fuzz_require(begin >= text && begin + span_len <= text + strlen(text),
                        "an answer span outside the completion");
    for (int k = 0; k < 3; k++) {
        t2_answer_match match = (t2_answer_match)k;
        char out[T2_ANSWER_MAX];
        if (t2_answer_extract(text, match, out)) check_canonical(text, out, match);
        else t2_fuzz_require(out[0] == '\0', "no answer but out is not empty");
        if (t2_answer_extract_last(text, match, out)) check_canonical(NULL, out, match);
        if (t2_answer_normalize(text, match, out) && match != T2_ANSWER_MATCH_EXACT) {
            char *worked = t2_strdup_printf(" The answer is %s.\n", out);
            t2_fuzz_require(t2_answer_reward(worked, text, match) == 1,
                            "the worked answer of a reference does not earn +1");
            t2_free(worked);
        }
    }
}

static void use_template(const char *text) {
    static const char *const names[] = {"question", "choices"};
    static const char *const values[] = {"What is {x}}?", "A. {\nB. }"};
    t2_error err = {{0}};
    for (int n = 1; n <= 2; n++)
        if (t2_task_template_check(text, names, n, "prompt_template", &err) == 0)
            t2_free(t2_task_template_render(text, names, values, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = t2_fuzz_text(data, size);
    use_completion(text);
    t2_free(t2_task_mbpp_extract(text));
    use_template(text);
    t2_free(text);
    return 0;
}

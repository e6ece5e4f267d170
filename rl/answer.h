/* Answer extraction and matching: the verifiable part of every task's reward.
 *
 * A completion's answer is read after its LAST marker (the one starting last), where a marker is
 *   - "answer is" (any letter case; "answer" starting a word): "The answer is 9", "The final
 *     answer is $42$", "the correct answer is B", "**The answer is (B)**";
 *   - "answer:" (any letter case; "answer" starting a word; '*' or '_' may sit between the word
 *     and the ':'): "Answer: B", "Final answer: 42", "**Answer:** 42", "**Answer**: 42";
 *   - "####": "#### 72";
 *   - "\boxed{...}" with balanced braces (an unclosed one is no marker): "\boxed{1,200}".
 * The answer text is the rest of the marker's line (blanks and ':' after the marker skipped),
 * or for \boxed the text between its braces. What counts as the answer then depends on the
 * match kind:
 *   - numeric: the first number in that text: optional sign, digits with optional thousands
 *     separators ("1,000" or LaTeX "1{,}000"; a separator is part of the number only when
 *     exactly three digits follow), optional fraction. Anything around it is ignored ("$1,200",
 *     "42 apples", "**42**"). A sign glued to a letter or digit is an operator ("12-3" gives 12).
 *     It is compared in canonical form: no commas, no '+', no leading zeros, no trailing
 *     fractional zeros ("9.0" = "9", "-0" = "0", "007" = "7").
 *   - choice: the first run of ASCII letters and digits, skipping LaTeX command names (a run
 *     right after '\') and the words "option" and "choice"; it must be one character long
 *     ("B", "(B)", "B) Bob", "**B**", "option B", "\text{B}" give B; "Bob" gives no answer);
 *     letters compare without regard to case.
 *   - exact: the whole text with blanks at both ends and trailing periods removed, then one
 *     balanced wrapper removed ("**x**", "*x*", "`x`", or a LaTeX "\cmd{x}") and trimmed again;
 *     compared byte for byte (case matters).
 * No marker, or nothing of the required shape after the last one, is no answer (wrong).
 * A task may add the fallback of t2_answer_extract_last for completions holding no marker.
 * Does not know tasks or samples (rl/task.h does); never allocates.
 * Reference: the "#### N" convention of GSM8K (Cobbe et al., 2021), the "The answer is"
 * convention of chain-of-thought prompting (Wei et al., 2022), \boxed of the MATH dataset
 * (Hendrycks et al., 2021), and the extraction of the Transformer-squared evaluation
 * (SakanaAI/self-adaptive-llms, evaluation/fishfarm/fishfarm/tasks/ai2_arc.py and
 * language_restricted_math.py: "answer is (X)", "Answer: X", the last number, the last
 * standalone letter). */
#ifndef T2_RL_ANSWER_H
#define T2_RL_ANSWER_H

#include <stddef.h>

typedef enum t2_answer_match {
    T2_ANSWER_MATCH_EXACT = 0,
    T2_ANSWER_MATCH_NUMERIC = 1,
    T2_ANSWER_MATCH_CHOICE = 2,
} t2_answer_match;

/* Longest answer, in bytes with the terminating NUL, that extraction and matching handle:
 * longer answers are no answer (and longer references are rejected by the dataset loader). */
enum { T2_ANSWER_MAX = 1024 };

/* Finds the answer text of the last marker of completion: the rest of its line (not
 * including the end of line), or the inside of \boxed{...}. Returns 1 with *begin and *len
 * set, or 0 when the completion holds no marker. */
int t2_answer_span(const char *completion, const char **begin, size_t *len);

/* Extracts the completion's answer for the match kind in canonical form into out
 * (NUL-terminated, at most T2_ANSWER_MAX bytes). Returns 1, or 0 when there is no answer
 * (out then holds ""). */
int t2_answer_extract(const char *completion, t2_answer_match match, char out[T2_ANSWER_MAX]);

/* The fallback for a completion holding no marker (as the paper's evaluation reads free
 * chat-model text): numeric, the LAST number anywhere in the completion (same number syntax);
 * choice, the last ASCII capital letter or digit standing alone (no ASCII letter or digit
 * right before or after it: "so **B** is right" gives B); exact, never an answer. Returns 1
 * with out set as t2_answer_extract does, or 0 (out ""). It ignores markers: callers use it
 * only when t2_answer_span finds none. */
int t2_answer_extract_last(const char *completion, t2_answer_match match,
                           char out[T2_ANSWER_MAX]);

/* Puts a reference answer in the canonical form its match kind compares: the whole text (after
 * trimming blanks and trailing periods) must be one number (numeric, an optional leading '$'
 * allowed) or one letter or digit (choice), or non-empty (exact). Returns 1, or 0 when the
 * reference does not have that shape (out then holds ""). */
int t2_answer_normalize(const char *reference, t2_answer_match match, char out[T2_ANSWER_MAX]);

/* The reward: +1 when the completion's extracted answer equals the normalised reference,
 * -1 otherwise (no answer, a different answer, or a reference of the wrong shape). */
int t2_answer_reward(const char *completion, const char *reference, t2_answer_match match);

/* "exact", "numeric" or "choice". */
const char *t2_answer_match_name(t2_answer_match match);
/* Parses one of those names: 0 and *out set, or -1 for any other text. */
int t2_answer_match_parse(const char *name, t2_answer_match *out);

#endif

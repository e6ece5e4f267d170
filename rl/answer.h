/* Answer extraction and matching: the verifiable part of every task's reward.
 *
 * A completion's answer is the text after its LAST marker, where a marker is "The answer is"
 * (any letter case) or "####", up to the end of that line. Leading blanks and a ':' after the
 * marker are skipped. What counts as the answer then depends on the match kind:
 *   - numeric: the first number in that text: optional sign, digits with optional thousands
 *     commas ("1,000"; a comma is part of the number only when exactly three digits follow),
 *     optional fraction. It is compared in canonical form: no commas, no '+', no leading
 *     zeros, no trailing fractional zeros ("9.0" = "9", "-0" = "0", "007" = "7").
 *   - choice: the first run of ASCII letters and digits, which must be one character long
 *     ("B", "(B)", "B) Bob" give B; "Bob" or "option B" give no answer); letters compare
 *     without regard to case.
 *   - exact: the whole text with blanks at both ends and trailing periods removed, compared
 *     byte for byte (case matters).
 * No marker, or nothing of the required shape after the last one, is no answer (wrong).
 * Does not know tasks or samples (rl/task.h does); never allocates.
 * Reference: the "#### N" convention of GSM8K (Cobbe et al., 2021) and the "The answer is"
 * convention of chain-of-thought prompting (Wei et al., 2022). */
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

/* Finds the text after the last marker of completion, up to (not including) the end of its
 * line. Returns 1 with *begin and *len set, or 0 when the completion holds no marker. */
int t2_answer_span(const char *completion, const char **begin, size_t *len);

/* Extracts the completion's answer for the match kind in canonical form into out
 * (NUL-terminated, at most T2_ANSWER_MAX bytes). Returns 1, or 0 when there is no answer
 * (out then holds ""). */
int t2_answer_extract(const char *completion, t2_answer_match match, char out[T2_ANSWER_MAX]);

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

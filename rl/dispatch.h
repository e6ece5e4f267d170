/* Prompt-based dispatch: reads which category the model named in its completion of the
 * classification prompt "Question: Classify: <query>\nAnswer:" (the cls task's level-1 prompt,
 * rl/task_cls.c; its worked answer is " The answer is <category>.\n"), so that the adaptation's
 * second pass loads that category's expert, or keeps the base model (DESIGN.md, Adaptation 1).
 *
 * Rules, in order:
 *   1. Scope. The completion is len bytes of any content (invalid UTF-8, NUL, control bytes).
 *      A marker is "the answer is" in any ASCII letter case, standing as whole words (no word
 *      byte just before or after it: "the answer isn't" is no marker). When the completion
 *      holds a marker, the scope is the text after the LAST marker up to the end of that line
 *      ('\n' or the end); otherwise it is the completion's first line (generation stops at
 *      "\n", so later lines are not the model's answer).
 *   2. Words. A category is named where its name occurs in the scope in any ASCII letter case
 *      as whole words: the byte before and the byte after the occurrence are not word bytes.
 *      Word bytes are ASCII letters, digits, '_' and every byte >= 0x80 (part of some non-ASCII
 *      character, possibly a letter), so "mathematics", "maths", "math2" and "mathé" do not name
 *      "math", while "math.", "(math)", "'math'", "math," and "math\0" do.
 *   3. Decision. "other" (rule 2 applies) counts like a category that means the base model.
 *      Exactly one distinct category named (any number of times) → its index. Nothing named
 *      → -1 (T2_DISPATCH_NONE); only "other" → -1 (T2_DISPATCH_OTHER); two or more distinct
 *      ones, "other" included → -1 (T2_DISPATCH_AMBIGUOUS): a guess could load the wrong
 *      expert, the base model is the safe choice.
 * Cost: O(len · total length of the names) at worst; reads nothing outside the len bytes;
 * never allocates. Does not build the prompt, run the model or load experts. */
#ifndef T2_RL_DISPATCH_H
#define T2_RL_DISPATCH_H

#include <stddef.h>

typedef enum t2_dispatch_outcome {
    T2_DISPATCH_FOUND = 0,     /* exactly one category named: its index is returned */
    T2_DISPATCH_NONE = 1,      /* nothing named (also: empty completion or scope) */
    T2_DISPATCH_OTHER = 2,     /* "other" named and no category */
    T2_DISPATCH_AMBIGUOUS = 3, /* two or more distinct categories (or a category and "other") */
} t2_dispatch_outcome;

/* The category that completion[0..len) names, by the rules above: its index in categories[n],
 * or -1 for the base model, with the reason in *outcome (may be NULL). completion may be NULL
 * when len is 0. Preconditions (asserted): n >= 0; every name non-empty and NUL-terminated,
 * not "other", and names distinct in any letter case. */
int t2_dispatch_parse(const char *completion, size_t len, const char *const *categories, int n,
                      t2_dispatch_outcome *outcome);

/* "found", "none", "other" or "ambiguous" (for logs and metrics). */
const char *t2_dispatch_outcome_name(t2_dispatch_outcome outcome);

#endif

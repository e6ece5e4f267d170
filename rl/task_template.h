/* Prompt templates: text with {name} placeholders, how a dataset task poses its question
 * (rl/task.h t2_task_options.prompt_template, docs/tasks.md "Prompt templates").
 *
 * Syntax: "{name}" is replaced by the value of the placeholder called name (the exact bytes
 * between the braces, case-sensitive, no blanks trimmed); "{{" writes a literal '{' and "}}"
 * a literal '}'; every other byte is copied as it is (UTF-8 passes through). A template is
 * valid when every '{' either starts "{{" or opens a placeholder closed by the next '}', every
 * '}' not closing a placeholder is part of "}}", every placeholder is one of the given names,
 * and each given name appears at least once (a name may appear several times). Values are
 * inserted verbatim: braces in a value are not placeholders.
 *
 * Does not know tasks (rl/task.c picks the names and defaults); does not print.
 * Reference: the named-field subset of Python's str.format ({name}, "{{", "}}"), which the
 * paper's reference code builds its prompts with; no format specs, indices, conversions or
 * attribute access. */
#ifndef T2_RL_TASK_TEMPLATE_H
#define T2_RL_TASK_TEMPLATE_H

#include "base/error.h"

/* Checks tmpl against the placeholders names[0..n-1] (n >= 1), all of which are required.
 * Returns 0, or -1 with err set to one line "<where>: <what is wrong>; expected <what>":
 * an unclosed '{', a lone '}', an unknown placeholder (the known ones listed), or a name
 * that does not appear. */
int t2_task_template_check(const char *tmpl, const char *const *names, int n, const char *where,
                           t2_error *err);

/* The template with each placeholder replaced by values[i] of its names[i] and "{{" / "}}"
 * by single braces, as a heap string (t2_free). tmpl must have passed t2_task_template_check
 * with the same names (a bad template is a programming error: T2_ASSERT). */
char *t2_task_template_render(const char *tmpl, const char *const *names,
                              const char *const *values, int n);

#endif

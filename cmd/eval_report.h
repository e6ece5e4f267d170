/* The two forms of an evaluation report (dist/eval.h) that users read, shared by `t2 eval`
 * and `t2 demo`: the markdown table (accuracy with a 95 % Wilson interval, n, tokens,
 * seconds, routing or few-shot mixture; one row per (task, strategy)) and the JSON report.
 * docs/eval.md describes both formats. Formatting only: nothing here prints or writes. */
#ifndef T2_CMD_EVAL_REPORT_H
#define T2_CMD_EVAL_REPORT_H

#include <stddef.h>

#include "dist/eval.h"

/* The markdown table of r, header first, one line per row, each ending in '\n'. Returns a
 * heap string (t2_free) and its length in *len. */
char *t2_eval_report_markdown(const t2_eval_report *r, size_t *len);

/* The JSON report of r run with settings s (the model, store, bundle, split, sample and
 * few-shot settings are recorded with the results), indented by 2, without a final newline.
 * Returns a heap string (t2_free). */
char *t2_eval_report_json(const t2_eval_settings *s, const t2_eval_report *r);

#endif

/* The parts of `t2 report` (cmd/report.h): the inputs as read (cmd/report.c), the data files,
 * gnuplot script and gnuplot run (cmd/report_plot.c), the HTML page (cmd/report_html.c).
 * Private to those three files. */
#ifndef T2_CMD_REPORT_IMPL_H
#define T2_CMD_REPORT_IMPL_H

#include <stdint.h>

#include "base/error.h"

/* One training run: a metrics file, its steps in file order (a step at or below an earlier
 * one, as after a resume that dropped lines, replaces the lines from that step on). */
typedef struct report_run {
    char *path, *name;       /* the file, and its name without folder and .jsonl */
    int64_t n, cap;          /* steps */
    double *step, *reward_mean, *reward_std, *accuracy, *kl, *loss, *grad_norm;
    double *tokens, *step_seconds, *elapsed; /* step_seconds: the sum of seconds.* */
    double *val;             /* val_accuracy, NaN on steps without validation */
} report_run;

/* One few-shot search: the consecutive lines of a fewshot_log from an iteration 1 on. */
typedef struct report_search {
    char *path, *label;      /* the file; "search", with " (2)", ... when it repeats */
    int experts;             /* K */
    char **names;            /* [K] */
    int64_t dim;             /* α values per line: K, or K x layers */
    int64_t n, cap;          /* iterations */
    double *iteration, *examples, *best_score, *iteration_best, *iteration_mean;
    double *best_tiebreak;   /* the best member's mean log-likelihood per answer token */
    double *best_alpha, *mean_alpha; /* [n x K]: per expert, the mean over its layers */
} report_search;

/* One row of an evaluation report. */
typedef struct report_row {
    char *task;              /* "math@3" */
    char *strategy;
    double accuracy, low, high; /* in [0, 1]; low and high the 95 % interval */
    int64_t n, correct;
    double seconds;
    char *detail;            /* routing shares or few-shot α, "" for neither */
} report_row;

typedef struct report_eval {
    char *path, *name;       /* the file and its name without folder and .json */
    int ranks;
    int64_t samples;         /* samples_per_task */
    int n;                   /* rows */
    report_row *rows;
    int n_tasks, n_strategies; /* in order of first appearance */
    char **tasks, **strategies;  /* borrowed from rows */
} report_eval;

typedef struct report {
    int n_runs, n_searches, n_evals;
    report_run *runs;
    report_search *searches;
    report_eval *evals;
} report;

/* cmd/report.c: reads one input into r (recognised by content). 0, or -1 with err. */
int report_read_input(report *r, const char *path, t2_error *err);
void report_free(report *r);

/* cmd/report_plot.c: writes dir/<plot>.dat and dir/report.gp for r, then runs gnuplot in
 * dir. 0, or -1 with err. */
int report_plot(const report *r, const char *dir, const char *gnuplot, t2_error *err);

/* The plots report_plot draws for r, in page order: each training plot with data (every
 * plot when r has runs; val_accuracy only when a run validated), then fewshot-<k> per
 * search, then eval-<k> per report; no KL plot when report_kl_all_zero. Fills up to max
 * entries; returns how many. */
enum { REPORT_NAME_MAX = 32 };
typedef struct report_figure {
    char stem[REPORT_NAME_MAX]; /* the PNG's name without .png: reward, fewshot-1, ... */
    const char *caption;        /* what it shows (static text) */
    int section;                /* 0 training, 1 few-shot search k, 2 evaluation k */
    int index;                  /* k (0-based) for sections 1 and 2 */
} report_figure;
int report_figures(const report *r, report_figure *figures, int max);

/* 1 when every run's KL is 0 at every step (kl_beta = 0): no KL plot, a note instead. */
int report_kl_all_zero(const report *r);

/* cmd/report_html.c: dir/index.html (atomic). 0, or -1 with err. */
int report_html(const report *r, const char *dir, const char *title, t2_error *err);

#endif

/* `t2 report`'s page (cmd/report_impl.h): DIR/index.html, one HTML5 file with an inline style
 * sheet, the plots as <img> by relative path (the folder is self-contained) and the tables
 * (training runs, few-shot iterations, evaluation rows). Every text from the inputs is
 * escaped. Does not draw (report_plot.c) or read inputs (report.c). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "cmd/report_impl.h"
#include "model/model_dir.h"

typedef struct page {
    char *s;
    size_t len, cap;
} page;

static void add(page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(page *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (p->len + (size_t)need + 1 > p->cap) {
        p->cap = 2 * (p->len + (size_t)need + 1) + 4096;
        p->s = t2_realloc(p->s, p->cap);
    }
    va_start(ap, fmt);
    vsnprintf(p->s + p->len, p->cap - p->len, fmt, ap);
    va_end(ap);
    p->len += (size_t)need;
}

/* s with &, <, > and " escaped. */
static void add_text(page *p, const char *s) {
    for (const char *c = s; *c != '\0'; c++) {
        switch (*c) {
        case '&': add(p, "&amp;"); break;
        case '<': add(p, "&lt;"); break;
        case '>': add(p, "&gt;"); break;
        case '"': add(p, "&quot;"); break;
        default: add(p, "%c", *c);
        }
    }
}

static const char style[] =
    "body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 1160px;\n"
    "       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }\n"
    "h1 { font-size: 1.7em; margin-bottom: .2em; }\n"
    "h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2.2em; }\n"
    "h3 { margin-top: 1.6em; }\n"
    "table { border-collapse: collapse; margin: .8em 0 1.2em; font-size: .92em; }\n"
    "th, td { border: 1px solid #d4d4d4; padding: .3em .65em; text-align: left; }\n"
    "th { background: #f2f2f2; }\n"
    "td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }\n"
    "figure { margin: 1em 0 1.6em; }\n"
    "figure img { max-width: 100%; height: auto; border: 1px solid #e6e6e6; }\n"
    "figcaption { color: #555; font-size: .9em; margin-top: .3em; }\n"
    "code { background: #f4f4f4; padding: 0 .25em; border-radius: 3px; }\n"
    ".note { color: #555; }\n";

static void add_figure(page *p, const report_figure *f, const char *alt) {
    add(p, "<figure><img src=\"%s.png\" alt=\"", f->stem);
    add_text(p, alt);
    add(p, "\"><figcaption>");
    add_text(p, f->caption);
    add(p, "</figcaption></figure>\n");
}

static void add_figures(page *p, const report_figure *figures, int n, int section, int index,
                        const char *alt) {
    for (int i = 0; i < n; i++)
        if (figures[i].section == section && (section == 0 || figures[i].index == index))
            add_figure(p, &figures[i], section == 0 ? figures[i].caption : alt);
}

static void training(page *p, const report *r, const report_figure *figures, int n) {
    add(p, "<h2 id=\"training\">Training</h2>\n<table>\n<tr><th>run</th><th>file</th>"
        "<th>steps</th><th>last reward</th><th>best validation accuracy</th>"
        "<th>last validation accuracy</th><th>tokens</th><th>time</th>"
        "<th>mean step time</th></tr>\n");
    for (int k = 0; k < r->n_runs; k++) {
        const report_run *run = &r->runs[k];
        double best = NAN, last = NAN, best_step = 0, tokens = 0, seconds = 0;
        for (int64_t i = 0; i < run->n; i++) {
            tokens += run->tokens[i];
            seconds += run->step_seconds[i];
            if (isnan(run->val[i])) continue;
            last = run->val[i];
            if (isnan(best) || run->val[i] > best) {
                best = run->val[i];
                best_step = run->step[i];
            }
        }
        add(p, "<tr><td>");
        add_text(p, run->name);
        add(p, "</td><td><code>");
        add_text(p, run->path);
        add(p, "</code></td><td class=\"num\">%lld</td>", (long long)run->n);
        if (run->n > 0) add(p, "<td class=\"num\">%.3f</td>", run->reward_mean[run->n - 1]);
        else add(p, "<td>—</td>");
        if (isnan(best)) add(p, "<td>—</td><td>—</td>");
        else add(p, "<td class=\"num\">%.1f %% (step %.0f)</td><td class=\"num\">%.1f %%</td>",
                 100 * best, best_step, 100 * last);
        add(p, "<td class=\"num\">%.0f</td><td class=\"num\">%.1f s</td>"
            "<td class=\"num\">%.2f s</td></tr>\n", tokens,
            run->n > 0 ? run->elapsed[run->n - 1] : 0.0,
            run->n > 0 ? seconds / (double)run->n : 0.0);
    }
    add(p, "</table>\n");
    if (report_kl_all_zero(r))
        add(p, "<p class=\"note\">KL is 0 at every step of every run (kl_beta = 0): no KL "
            "plot.</p>\n");
    add_figures(p, figures, n, 0, 0, "");
}

static void searches(page *p, const report *r, const report_figure *figures, int n) {
    add(p, "<h2 id=\"fewshot\">Few-shot search</h2>\n");
    for (int k = 0; k < r->n_searches; k++) {
        const report_search *s = &r->searches[k];
        add(p, "<h3>");
        add_text(p, s->label);
        add(p, "</h3>\n<p class=\"note\">From <code>");
        add_text(p, s->path);
        add(p, "</code>: %lld iteration%s over %d expert%s", (long long)s->n,
            s->n == 1 ? "" : "s", s->experts, s->experts == 1 ? "" : "s");
        if (s->dim > s->experts)
            add(p, " (%lld weights per expert, one per layer; α shown as their mean)",
                (long long)(s->dim / s->experts));
        add(p, ".</p>\n");
        char *alt = t2_strdup_printf("few-shot search %s: α and score per CEM iteration",
                                     s->label);
        add_figures(p, figures, n, 1, k, alt);
        t2_free(alt);
        add(p, "<table>\n<tr><th>iteration</th><th>examples</th><th>best so far</th>"
            "<th>iteration best</th><th>iteration mean</th><th>best: log-likelihood</th>");
        for (int e = 0; e < s->experts; e++) {
            add(p, "<th>α ");
            add_text(p, s->names[e]);
            add(p, "</th>");
        }
        add(p, "</tr>\n");
        for (int64_t i = 0; i < s->n; i++) {
            add(p, "<tr><td class=\"num\">%.0f</td><td class=\"num\">%.0f</td>"
                "<td class=\"num\">%.1f %%</td><td class=\"num\">%.1f %%</td>"
                "<td class=\"num\">%.1f %%</td><td class=\"num\">%.6f</td>", s->iteration[i],
                s->examples[i], 100 * s->best_score[i], 100 * s->iteration_best[i],
                100 * s->iteration_mean[i], s->best_tiebreak[i]);
            for (int e = 0; e < s->experts; e++)
                add(p, "<td class=\"num\">%.3f</td>", s->best_alpha[i * s->experts + e]);
            add(p, "</tr>\n");
        }
        add(p, "</table>\n");
    }
}

static void evaluations(page *p, const report *r, const report_figure *figures, int n) {
    add(p, "<h2 id=\"eval\">Evaluation</h2>\n");
    for (int k = 0; k < r->n_evals; k++) {
        const report_eval *e = &r->evals[k];
        add(p, "<h3>");
        add_text(p, e->name);
        add(p, "</h3>\n<p class=\"note\">From <code>");
        add_text(p, e->path);
        add(p, "</code>: greedy accuracy on %lld samples per task, %d rank%s.</p>\n",
            (long long)e->samples, e->ranks, e->ranks == 1 ? "" : "s");
        char *alt = t2_strdup_printf("%s: accuracy per task and strategy with 95 %% intervals",
                                     e->name);
        add_figures(p, figures, n, 2, k, alt);
        t2_free(alt);
        add(p, "<table>\n<tr><th>task</th><th>strategy</th><th>accuracy</th>"
            "<th>95 %% interval</th><th>n</th><th>seconds</th><th>routed to / mixture</th>"
            "</tr>\n");
        for (int i = 0; i < e->n; i++) {
            const report_row *w = &e->rows[i];
            add(p, "<tr><td>");
            add_text(p, w->task);
            add(p, "</td><td>");
            add_text(p, w->strategy);
            add(p, "</td><td class=\"num\">%.1f %%</td><td class=\"num\">%.1f – %.1f %%</td>"
                "<td class=\"num\">%lld</td><td class=\"num\">%.1f</td><td>",
                100 * w->accuracy, 100 * w->low, 100 * w->high, (long long)w->n, w->seconds);
            add_text(p, w->detail[0] != '\0' ? w->detail : "—");
            add(p, "</td></tr>\n");
        }
        add(p, "</table>\n");
    }
}

int report_html(const report *r, const char *dir, const char *title, t2_error *err) {
    report_figure figures[256];
    int n = report_figures(r, figures, 256);
    page p = {0};
    add(&p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    add_text(&p, title);
    add(&p, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", style);
    add_text(&p, title);
    add(&p, "</h1>\n<p class=\"note\">Made by <code>t2 report</code> from %d training run%s, "
        "%d few-shot search%s and %d evaluation report%s. The plots are drawn by gnuplot from "
        "the <code>.dat</code> files beside this page (<code>report.gp</code>).</p>\n",
        r->n_runs, r->n_runs == 1 ? "" : "s", r->n_searches, r->n_searches == 1 ? "" : "es",
        r->n_evals, r->n_evals == 1 ? "" : "s");
    if (r->n_runs > 0) training(&p, r, figures, n);
    if (r->n_searches > 0) searches(&p, r, figures, n);
    if (r->n_evals > 0) evaluations(&p, r, figures, n);
    add(&p, "</body>\n</html>\n");
    char *path = t2_model_dir_path(dir, "index.html");
    int status = t2_file_write_atomic(path, p.s, p.len, err);
    t2_free(path);
    t2_free(p.s);
    return status;
}

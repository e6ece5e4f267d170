/* `t2 report`'s plots (cmd/report_impl.h): one whitespace-separated data file per run, search
 * and evaluation report, written with every value as parsed ("%.17g", so a data file holds
 * exactly the inputs' numbers), one gnuplot script drawing every PNG from them, and the run
 * of gnuplot in the folder (posix_spawnp, no shell). Data files (docs/report.md):
 *   train-<k>.dat    step reward_mean reward_std accuracy kl loss grad_norm tokens
 *                    step_seconds elapsed (run k, 1-based in input order)
 *   val-<k>.dat      step val_accuracy (run k's validation steps)
 *   fewshot-<k>.dat  iteration examples best_score iteration_best iteration_mean
 *                    best_tiebreak best_alpha[1..K] mean_alpha[1..K] (per expert; per-layer
 *                    weights averaged)
 *   eval-<k>.dat     "task" then accuracy low high for each strategy (NaN: not evaluated)
 * Does not parse inputs (report.c) or write the page (report_html.c). */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np: gnuplot runs in the folder */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "cmd/report_impl.h"
#include "model/model_dir.h"

extern char **environ;

/* The training plots: file stem, y label, caption, train-<k>.dat column (val: val-<k>.dat). */
enum { TRAIN_PLOTS = 5, PLOT_VAL = 1, PLOT_KL = 2, PLOT_GRAD = 3 };
static const struct train_plot {
    const char *stem, *ylabel, *caption;
    int column;
} train_plots[TRAIN_PLOTS] = {
    {"reward", "reward", "Reward per step: the batch mean, one colour per run (with one or two "
     "runs, a band of ± its standard deviation).", 2},
    {"val_accuracy", "validation accuracy (%)", "Greedy validation accuracy on the validation "
     "steps.", 2},
    {"kl", "KL", "KL of the batch from the base model per step.", 5},
    {"grad_norm", "gradient norm", "Norm of the gradient before clipping per step.", 7},
    {"step_time", "seconds per step", "Wall time per step: the sum of its phases (rollout, "
     "backward, wait, communication, update).", 9},
};

/* ---- text buffers ---- */

typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->len + (size_t)need + 1 > t->cap) {
        t->cap = 2 * (t->len + (size_t)need + 1) + 1024;
        t->s = t2_realloc(t->s, t->cap);
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)need;
}

/* A gnuplot single-quoted string of s ('' for each quote). */
static void add_quoted(text *t, const char *s) {
    add(t, "'");
    for (const char *c = s; *c != '\0'; c++) add(t, *c == '\'' ? "''" : "%c", *c);
    add(t, "'");
}

static int write_file(const char *dir, const char *name, text *t, t2_error *err) {
    char *path = t2_model_dir_path(dir, name);
    int status = t2_file_write_atomic(path, t->s ? t->s : "", t->len, err);
    t2_free(path);
    t2_free(t->s);
    memset(t, 0, sizeof *t);
    return status;
}

/* ---- which plots ---- */

/* 1 when every run's KL is 0 at every step (kl_beta = 0): the page says so instead of a
 * flat plot. */
int report_kl_all_zero(const report *r) {
    for (int i = 0; i < r->n_runs; i++)
        for (int64_t j = 0; j < r->runs[i].n; j++)
            if (r->runs[i].kl[j] != 0.0) return 0;
    return 1;
}

static int any_validation(const report *r) {
    for (int i = 0; i < r->n_runs; i++)
        for (int64_t j = 0; j < r->runs[i].n; j++)
            if (!isnan(r->runs[i].val[j])) return 1;
    return 0;
}

int report_figures(const report *r, report_figure *figures, int max) {
    int n = 0;
    for (int p = 0; r->n_runs > 0 && p < TRAIN_PLOTS && n < max; p++) {
        if ((p == PLOT_VAL && !any_validation(r)) || (p == PLOT_KL && report_kl_all_zero(r)))
            continue;
        figures[n] = (report_figure){.caption = train_plots[p].caption, .section = 0,
                                     .index = p};
        snprintf(figures[n++].stem, REPORT_NAME_MAX, "%s", train_plots[p].stem);
    }
    for (int k = 0; k < r->n_searches && n < max; k++) {
        figures[n] = (report_figure){.caption = "Few-shot search: the mixture weights α per "
                                     "expert (left: the best member so far, solid; the CEM's "
                                     "sampling mean, dashed) and the scores on the solved "
                                     "examples (right) per CEM iteration; the table adds the "
                                     "best member's tiebreak, the mean log-likelihood per token "
                                     "of the worked answers.",
                                     .section = 1, .index = k};
        snprintf(figures[n++].stem, REPORT_NAME_MAX, "fewshot-%d", k + 1);
    }
    for (int k = 0; k < r->n_evals && n < max; k++) {
        figures[n] = (report_figure){.caption = "Accuracy per task and strategy; the error bars "
                                     "are the 95 % Wilson intervals.",
                                     .section = 2, .index = k};
        snprintf(figures[n++].stem, REPORT_NAME_MAX, "eval-%d", k + 1);
    }
    return n;
}

/* ---- data files ---- */

static int write_run(const report_run *run, int k, const char *dir, t2_error *err) {
    text t = {0}, v = {0};
    add(&t, "# %s: step reward_mean reward_std accuracy kl loss grad_norm tokens step_seconds "
        "elapsed\n", run->path);
    add(&v, "# %s: step val_accuracy\n", run->path);
    for (int64_t i = 0; i < run->n; i++) {
        add(&t, "%.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", run->step[i],
            run->reward_mean[i], run->reward_std[i], run->accuracy[i], run->kl[i], run->loss[i],
            run->grad_norm[i], run->tokens[i], run->step_seconds[i], run->elapsed[i]);
        if (!isnan(run->val[i])) add(&v, "%.17g %.17g\n", run->step[i], run->val[i]);
    }
    char name[64];
    snprintf(name, sizeof name, "train-%d.dat", k + 1);
    int status = write_file(dir, name, &t, err);
    snprintf(name, sizeof name, "val-%d.dat", k + 1);
    if (status == 0) status = write_file(dir, name, &v, err);
    t2_free(t.s);
    t2_free(v.s);
    return status;
}

static int write_search(const report_search *s, int k, const char *dir, t2_error *err) {
    text t = {0};
    add(&t, "# %s (%s): iteration examples best_score iteration_best iteration_mean "
        "best_tiebreak", s->label, s->path);
    for (int e = 0; e < s->experts; e++) add(&t, " best_alpha[%s]", s->names[e]);
    for (int e = 0; e < s->experts; e++) add(&t, " mean_alpha[%s]", s->names[e]);
    add(&t, "\n");
    for (int64_t i = 0; i < s->n; i++) {
        add(&t, "%.17g %.17g %.17g %.17g %.17g %.17g", s->iteration[i], s->examples[i],
            s->best_score[i], s->iteration_best[i], s->iteration_mean[i], s->best_tiebreak[i]);
        for (int e = 0; e < s->experts; e++) add(&t, " %.17g", s->best_alpha[i * s->experts + e]);
        for (int e = 0; e < s->experts; e++) add(&t, " %.17g", s->mean_alpha[i * s->experts + e]);
        add(&t, "\n");
    }
    char name[64];
    snprintf(name, sizeof name, "fewshot-%d.dat", k + 1);
    return write_file(dir, name, &t, err);
}

static int write_eval(const report_eval *e, int k, const char *dir, t2_error *err) {
    text t = {0};
    add(&t, "# %s: task, then accuracy low high for each of", e->path);
    for (int s = 0; s < e->n_strategies; s++) add(&t, " %s", e->strategies[s]);
    add(&t, "\n");
    for (int task = 0; task < e->n_tasks; task++) {
        add(&t, "\"%s\"", e->tasks[task]);
        for (int s = 0; s < e->n_strategies; s++) {
            const report_row *row = NULL;
            for (int i = 0; i < e->n && row == NULL; i++)
                if (strcmp(e->rows[i].task, e->tasks[task]) == 0 &&
                    strcmp(e->rows[i].strategy, e->strategies[s]) == 0)
                    row = &e->rows[i];
            if (row == NULL) add(&t, " NaN NaN NaN");
            else add(&t, " %.17g %.17g %.17g", row->accuracy, row->low, row->high);
        }
        add(&t, "\n");
    }
    char name[64];
    snprintf(name, sizeof name, "eval-%d.dat", k + 1);
    return write_file(dir, name, &t, err);
}

/* ---- the script ---- */

static void script_header(text *t) {
    add(t, "# Written by t2 report (cmd/report_plot.c): draws the report's PNGs from the .dat\n"
        "# files of this folder. Run it here: gnuplot report.gp\n"
        "cairo = strstrt(GPVAL_TERMINALS, 'pngcairo') > 0\n"
        "term(w, h) = cairo ? sprintf(\"pngcairo size %%d,%%d noenhanced font 'sans,10'\", w, h)"
        " : sprintf('png size %%d,%%d noenhanced', w, h)\n"
        "set grid lc rgb '#dddddd'\n"
        "set border lc rgb '#555555'\n"
        "set key inside top right box opaque\n"
        "set style fill transparent solid 0.15 noborder\n");
}

static void script_train(text *t, const report *r, int p) {
    const struct train_plot *plot = &train_plots[p];
    int positive = 1;
    for (int i = 0; i < r->n_runs; i++)
        for (int64_t j = 0; j < r->runs[i].n; j++) positive &= r->runs[i].grad_norm[j] > 0;
    add(t, "\nT = term(900, 480)\nset terminal @T\nset output '%s.png'\n", plot->stem);
    add(t, "set title '%s per step'\nset xlabel 'step'\nset ylabel '%s'\n", plot->ylabel,
        plot->ylabel);
    add(t, p == PLOT_GRAD && positive ? "set logscale y\n" : "unset logscale y\n");
    add(t, "plot ");
    for (int k = 0; k < r->n_runs; k++) {
        add(t, "%s", k ? ", \\\n     " : "");
        if (p == 0 && r->n_runs <= 2) /* more bands than two hide each other */
            add(t, "'train-%d.dat' using 1:($2-$3):($2+$3) with filledcurves lc %d notitle, "
                "\\\n     ", k + 1, k + 1);
        if (p == PLOT_VAL)
            add(t, "'val-%d.dat' using 1:($2*100) with linespoints lw 2 pt 7 ps 0.7 lc %d "
                "title ", k + 1, k + 1);
        else
            add(t, "'train-%d.dat' using 1:%d with lines lw 2 lc %d title ", k + 1,
                plot->column, k + 1);
        add_quoted(t, r->runs[k].name);
    }
    add(t, "\nunset logscale y\n");
}

static void script_search(text *t, const report_search *s, int k) {
    int K = s->experts;
    add(t, "\nT = term(1100, 440)\nset terminal @T\nset output 'fewshot-%d.png'\n", k + 1);
    add(t, "set multiplot layout 1,2 title ");
    add_quoted(t, s->label);
    double top = 0.0; /* the score axis: 0 to the best score, rounded up to 10 % */
    for (int64_t i = 0; i < s->n; i++)
        if (100 * s->best_score[i] > top) top = 100 * s->best_score[i];
    top = top < 10 ? 10 : 10 * ceil(top / 10);
    add(t, "\nset xlabel 'CEM iteration'\nset xtics 1\nset key outside right center vertical\n"
        "set title 'mixture weight α per expert'\nset ylabel 'α'\n"
        "set yrange [-0.05:1.05]\nplot ");
    for (int e = 0; e < K; e++) {
        add(t, "%s'fewshot-%d.dat' using 1:%d with linespoints lw 2 pt 7 lc %d title ",
            e ? ", \\\n     " : "", k + 1, 7 + e, e + 1);
        char *title = t2_strdup_printf("%s (best)", s->names[e]);
        add_quoted(t, title);
        t2_free(title);
        add(t, ", \\\n     'fewshot-%d.dat' using 1:%d with lines lw 1 dt 2 lc %d title ", k + 1,
            7 + K + e, e + 1);
        title = t2_strdup_printf("%s (CEM mean)", s->names[e]);
        add_quoted(t, title);
        t2_free(title);
    }
    add(t, "\nset title 'score on the solved examples'\nset ylabel 'accuracy (%%)'\n"
        "set yrange [0:%g]\n"
        "plot 'fewshot-%d.dat' using 1:($3*100) with linespoints lw 2 pt 7 lc 1 "
        "title 'best so far', \\\n"
        "     '' using 1:($4*100) with linespoints lw 1 pt 6 lc 2 title 'iteration best', \\\n"
        "     '' using 1:($5*100) with linespoints lw 1 pt 4 lc 3 title 'iteration mean'\n"
        "unset multiplot\nset xtics autofreq\nset yrange [*:*]\n"
        "set key inside top right box opaque\n",
        top, k + 1);
}

static void script_eval(text *t, const report_eval *e, int k) {
    add(t, "\nT = term(1100, 500)\nset terminal @T\nset output 'eval-%d.png'\n", k + 1);
    add(t, "set title ");
    char *title = t2_strdup_printf("%s: accuracy with 95 %% intervals (%lld samples per task, "
                                   "%d rank%s)", e->name, (long long)e->samples, e->ranks,
                                   e->ranks == 1 ? "" : "s");
    add_quoted(t, title);
    t2_free(title);
    add(t, "\nset xlabel ''\nset ylabel 'accuracy (%%)'\nset yrange [0:*]\n"
        "set style data histograms\nset style histogram errorbars gap 2 lw 1\n"
        "set style fill solid 0.75 border -1\nset key outside right top vertical\n"
        "set boxwidth 0.9\nplot ");
    for (int s = 0; s < e->n_strategies; s++) {
        int c = 2 + 3 * s;
        add(t, "%s'eval-%d.dat' using ($%d*100):($%d*100):($%d*100)%s title ",
            s ? ", \\\n     " : "", k + 1, c, c + 1, c + 2, s == 0 ? ":xtic(1)" : "");
        add_quoted(t, e->strategies[s]);
    }
    add(t, "\nset style fill transparent solid 0.15 noborder\nset key inside top right box opaque\n"
        "set yrange [*:*]\n");
}

/* ---- running gnuplot ---- */

/* The last non-empty line of dir/gnuplot.log into buf ("" when none). */
static void last_log_line(const char *dir, char *buf, size_t size) {
    char *path = t2_model_dir_path(dir, "gnuplot.log");
    char *log = NULL;
    size_t len = 0;
    t2_error ignored = {{0}};
    buf[0] = '\0';
    if (t2_file_read(path, &log, &len, &ignored) == 0) {
        while (len > 0 && (log[len - 1] == '\n' || log[len - 1] == ' ')) log[--len] = '\0';
        char *start = strrchr(log, '\n');
        snprintf(buf, size, "%s", start ? start + 1 : log);
    }
    t2_free(log);
    t2_free(path);
}

static int run_gnuplot(const char *dir, const char *gnuplot, t2_error *err) {
    char cwd[4096] = "";
    char *program = t2_strdup(gnuplot); /* a relative path must survive the chdir */
    if (strchr(gnuplot, '/') != NULL && gnuplot[0] != '/' && getcwd(cwd, sizeof cwd) != NULL) {
        t2_free(program);
        program = t2_strdup_printf("%s/%s", cwd, gnuplot);
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addchdir_np(&actions, dir);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "gnuplot.log", O_WRONLY | O_CREAT | O_TRUNC,
                                     0666);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    char *argv[] = {program, "report.gp", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, program, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    if (rc == ENOENT)
        status = t2_error_set(err, "%s: not found; expected the gnuplot program (Debian package "
                              "gnuplot-nox, which scripts/setup.sh installs) on PATH or given "
                              "by --gnuplot", gnuplot);
    else if (rc != 0)
        status = t2_error_set(err, "%s: cannot run: %s; expected the gnuplot program", gnuplot,
                              strerror(rc));
    int wstatus = 0;
    while (rc == 0 && waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (rc == 0 && !(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)) {
        char line[512];
        last_log_line(dir, line, sizeof line);
        status = t2_error_set(err, "%s: %s %d running %s/report.gp%s%s; expected success (its "
                              "output is in %s/gnuplot.log)", gnuplot,
                              WIFEXITED(wstatus) ? "exited with status" : "killed by signal",
                              WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : WTERMSIG(wstatus),
                              dir, line[0] ? ": " : "", line, dir);
    }
    t2_free(program);
    return status;
}

int report_plot(const report *r, const char *dir, const char *gnuplot, t2_error *err) {
    int status = 0;
    for (int k = 0; status == 0 && k < r->n_runs; k++) status = write_run(&r->runs[k], k, dir, err);
    for (int k = 0; status == 0 && k < r->n_searches; k++)
        status = write_search(&r->searches[k], k, dir, err);
    for (int k = 0; status == 0 && k < r->n_evals; k++)
        status = write_eval(&r->evals[k], k, dir, err);
    if (status != 0) return status;
    text t = {0};
    script_header(&t);
    for (int p = 0; r->n_runs > 0 && p < TRAIN_PLOTS; p++)
        if ((p != PLOT_VAL || any_validation(r)) && (p != PLOT_KL || !report_kl_all_zero(r)))
            script_train(&t, r, p);
    for (int k = 0; k < r->n_searches; k++) script_search(&t, &r->searches[k], k);
    for (int k = 0; k < r->n_evals; k++) script_eval(&t, &r->evals[k], k);
    status = write_file(dir, "report.gp", &t, err);
    report_figure figures[256];
    int n = report_figures(r, figures, 256);
    for (int i = 0; i < n; i++) { /* an earlier report's plot must not pass for a new one */
        char *png = t2_strdup_printf("%s/%s.png", dir, figures[i].stem);
        unlink(png);
        t2_free(png);
    }
    if (status == 0) status = run_gnuplot(dir, gnuplot, err);
    for (int i = 0; i < n && status == 0; i++) { /* gnuplot can fail on a plot and go on */
        char *png = t2_strdup_printf("%s/%s.png", dir, figures[i].stem);
        struct stat sb;
        if (stat(png, &sb) != 0 || sb.st_size == 0)
            status = t2_error_set(err, "%s: gnuplot wrote no plot; expected it from %s/report.gp "
                                  "(see %s/gnuplot.log)", png, dir, dir);
        t2_free(png);
    }
    return status;
}

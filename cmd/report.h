/* `t2 report`: training metrics (t2 train's JSON lines), few-shot search logs (fewshot_log) and
 * evaluation reports (t2 eval's JSON) turned into a folder holding one HTML page, PNG plots
 * drawn by gnuplot, the data files the plots are drawn from and the gnuplot script
 * (docs/report.md). Shared by `t2 report` and `t2 demo`. */
#ifndef T2_CMD_REPORT_H
#define T2_CMD_REPORT_H

#include "base/error.h"

/* Reads the n input files (each recognised by its content), writes dir/index.html, the
 * plots, the data files (dir/<plot>.dat) and dir/report.gp, and runs gnuplot (the program
 * `gnuplot`, searched on PATH, or the given path) in dir. dir is created when missing (its parent must exist);
 * files of an earlier report there are replaced. title heads the page. Returns 0, or -1
 * with err: an unreadable or unrecognised input ("<file>: line 3: ..."), gnuplot missing
 * ("gnuplot: not found ...") or failing ("gnuplot: exited with status 1 ..."), a file that
 * cannot be written. On failure dir may hold some of the files. Prints nothing. */
int t2_report_write(const char *dir, const char *const *inputs, int n, const char *gnuplot,
                    const char *title, t2_error *err);

#endif

/* Progress of long work, on rank 0's stderr: a redrawn bar when stderr is a terminal, one
 * line per step otherwise (logs stay readable). Other ranks print nothing. */
#ifndef T2_BASE_PROGRESS_H
#define T2_BASE_PROGRESS_H

#include <stdint.h>

typedef struct t2_progress {
    const char *label;  /* borrowed, e.g. "decompose" */
    int64_t total;      /* steps expected */
    int64_t done;
    double start_time;  /* seconds, monotonic */
    int is_tty;
    int enabled;        /* 0 on ranks other than 0 */
} t2_progress;

void t2_progress_init(t2_progress *p, const char *label, int64_t total);
/* Marks `done` steps finished; `note` (may be NULL) follows the counts on the line. */
void t2_progress_update(t2_progress *p, int64_t done, const char *note);
void t2_progress_finish(t2_progress *p);

double t2_time_now(void); /* monotonic seconds */

#endif

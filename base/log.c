/* Leveled stderr logging (see log.h). */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>

static int log_rank = 0;
static t2_log_level log_max = T2_LOG_INFO;

void t2_log_set_rank(int rank) { log_rank = rank; }
void t2_log_set_verbosity(t2_log_level max) { log_max = max; }
int t2_log_rank(void) { return log_rank; }

void t2_log(t2_log_level level, const char *fmt, ...) {
    if (level > log_max) return;
    if (log_rank != 0 && level != T2_LOG_ERROR) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (log_rank != 0)
        fprintf(stderr, "[rank %d] %s\n", log_rank, line);
    else
        fprintf(stderr, "%s\n", line);
}

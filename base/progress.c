/* Progress bar / progress lines (see progress.h). */
#include "base/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

double t2_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void t2_progress_init(t2_progress *p, const char *label, int64_t total) {
    p->label = label;
    p->total = total;
    p->done = 0;
    p->start_time = t2_time_now();
    p->is_tty = isatty(fileno(stderr));
    p->enabled = t2_log_rank() == 0;
}

void t2_progress_update(t2_progress *p, int64_t done, const char *note) {
    p->done = done;
    if (!p->enabled) return;
    double elapsed = t2_time_now() - p->start_time;
    double eta = done > 0 ? elapsed * (double)(p->total - done) / (double)done : 0.0;
    if (p->is_tty) {
        enum { WIDTH = 30 };
        int filled = p->total > 0 ? (int)(WIDTH * done / p->total) : WIDTH;
        char bar[WIDTH + 1];
        for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '.';
        bar[WIDTH] = '\0';
        fprintf(stderr, "\r%s [%s] %lld/%lld  %.1fs  eta %.1fs %s\033[K", p->label, bar,
                (long long)done, (long long)p->total, elapsed, eta, note ? note : "");
    } else {
        fprintf(stderr, "%s %6lld/%-6lld %8.1fs  eta %8.1fs  %s\n", p->label, (long long)done,
                (long long)p->total, elapsed, eta, note ? note : "");
    }
    fflush(stderr);
}

void t2_progress_finish(t2_progress *p) {
    if (p->enabled && p->is_tty) fputc('\n', stderr);
}

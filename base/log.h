/* Leveled logging to stderr. Results never go through here (they go to stdout or files).
 * Rank 0 prints every level up to the verbosity; other ranks print only errors, tagged with
 * their rank. dist/ tells this module the process's rank at start-up. */
#ifndef T2_BASE_LOG_H
#define T2_BASE_LOG_H

typedef enum t2_log_level {
    T2_LOG_ERROR = 0,
    T2_LOG_WARN = 1,
    T2_LOG_INFO = 2,
    T2_LOG_DEBUG = 3,
} t2_log_level;

void t2_log(t2_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void t2_log_set_rank(int rank);              /* default 0 */
void t2_log_set_verbosity(t2_log_level max); /* default T2_LOG_INFO */
int t2_log_rank(void);

#endif

/* The counters of `t2 serve` and their Prometheus text exposition (GET /metrics, text format
 * 0.0.4: "# HELP" / "# TYPE" lines, then "name{labels} value"): HTTP requests by endpoint and
 * status, request latency and queue wait histograms, client disconnects, and the engine's
 * counters (rl/serve_engine.h: requests, tokens, queue depth, routing). docs/serve.md lists
 * the names. Thread-safe. Does not: serve HTTP (cmd/serve_http.c). */
#ifndef T2_CMD_SERVE_METRICS_H
#define T2_CMD_SERVE_METRICS_H

#include <pthread.h>
#include <stdint.h>

#include "rl/serve_engine.h"

typedef enum t2_serve_endpoint {
    T2_SERVE_ENDPOINT_CHAT = 0,        /* /v1/chat/completions */
    T2_SERVE_ENDPOINT_COMPLETIONS = 1, /* /v1/completions */
    T2_SERVE_ENDPOINT_MODELS = 2,      /* /v1/models */
    T2_SERVE_ENDPOINT_HEALTH = 3,      /* /health */
    T2_SERVE_ENDPOINT_METRICS = 4,     /* /metrics */
    T2_SERVE_ENDPOINT_OTHER = 5,       /* anything else (404) */
    T2_SERVE_ENDPOINT_COUNT = 6,
} t2_serve_endpoint;

enum {
    T2_SERVE_METRICS_STATUSES = 10, /* 200 400 404 405 408 413 415 500 503, other */
    T2_SERVE_METRICS_BUCKETS = 14,  /* histogram buckets, +Inf last */
};

typedef struct t2_serve_histogram {
    int64_t counts[T2_SERVE_METRICS_BUCKETS]; /* per bucket (not cumulative) */
    double sum;
    int64_t count;
} t2_serve_histogram;

typedef struct t2_serve_metrics {
    pthread_mutex_t mu;
    int64_t requests[T2_SERVE_ENDPOINT_COUNT][T2_SERVE_METRICS_STATUSES];
    t2_serve_histogram latency[2]; /* chat, completions: receipt to the last byte queued */
    t2_serve_histogram queue_wait; /* finished completions: submit to the first step */
    int64_t disconnects;           /* completions whose client left before the end */
} t2_serve_metrics;

void t2_serve_metrics_init(t2_serve_metrics *m);
void t2_serve_metrics_free(t2_serve_metrics *m);

/* One request answered: its endpoint and status; for completions also its latency, its
 * queue wait (< 0: none) and whether the client left first. */
void t2_serve_metrics_record(t2_serve_metrics *m, t2_serve_endpoint endpoint, int status,
                             double seconds, double queued_seconds, int disconnected);

/* The exposition of m and the engine's counters: a heap string (t2_free). */
char *t2_serve_metrics_text(t2_serve_metrics *m, t2_serve_engine *engine);

#endif

/* Counters and the Prometheus text of `t2 serve` (see serve_metrics.h). */
#include "cmd/serve_metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

static const int statuses[T2_SERVE_METRICS_STATUSES - 1] = {200, 400, 404, 405, 408,
                                                             413, 415, 500, 503};
static const double bounds[T2_SERVE_METRICS_BUCKETS - 1] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0};
static const char *const endpoints[T2_SERVE_ENDPOINT_COUNT] = {
    "/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics", "other"};

void t2_serve_metrics_init(t2_serve_metrics *m) {
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void t2_serve_metrics_free(t2_serve_metrics *m) { pthread_mutex_destroy(&m->mu); }

static void observe(t2_serve_histogram *h, double x) {
    int b = 0;
    while (b < T2_SERVE_METRICS_BUCKETS - 1 && x > bounds[b]) b++;
    h->counts[b]++;
    h->sum += x;
    h->count++;
}

void t2_serve_metrics_record(t2_serve_metrics *m, t2_serve_endpoint endpoint, int status,
                             double seconds, double queued_seconds, int disconnected) {
    int s = 0;
    while (s < T2_SERVE_METRICS_STATUSES - 1 && statuses[s] != status) s++;
    pthread_mutex_lock(&m->mu);
    m->requests[endpoint][s]++;
    if (endpoint == T2_SERVE_ENDPOINT_CHAT || endpoint == T2_SERVE_ENDPOINT_COMPLETIONS) {
        observe(&m->latency[endpoint], seconds);
        if (queued_seconds >= 0.0) observe(&m->queue_wait, queued_seconds);
        m->disconnects += disconnected != 0;
    }
    pthread_mutex_unlock(&m->mu);
}

typedef struct text {
    char *buf;
    size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = 2 * t->cap + (size_t)(n > 0 ? n : 0);
        t->buf = t2_realloc(t->buf, t->cap);
    }
}

static void header(text *t, const char *name, const char *type, const char *help) {
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void histogram(text *t, const char *name, const char *labels, const t2_serve_histogram *h) {
    int64_t cumulative = 0;
    for (int b = 0; b < T2_SERVE_METRICS_BUCKETS; b++) {
        cumulative += h->counts[b];
        if (b < T2_SERVE_METRICS_BUCKETS - 1)
            put(t, "%s_bucket{%sle=\"%g\"} %lld\n", name, labels, bounds[b],
                (long long)cumulative);
        else put(t, "%s_bucket{%sle=\"+Inf\"} %lld\n", name, labels, (long long)cumulative);
    }
    const char *bare = labels[0] ? "{" : "";
    char tail[128];
    snprintf(tail, sizeof tail, "%.*s%s", labels[0] ? (int)strlen(labels) - 1 : 0, labels,
             labels[0] ? "}" : "");
    put(t, "%s_sum%s%s %.6f\n%s_count%s%s %lld\n", name, bare, tail, h->sum, name, bare, tail,
        (long long)h->count);
}

static void engine_metrics(text *t, t2_serve_engine *engine) {
    t2_serve_stats st;
    memset(&st, 0, sizeof st);
    t2_serve_engine_stats(engine, &st); /* first: how many routes */
    int64_t *routed = t2_alloc_array((size_t)(st.n_names > 0 ? st.n_names : 1), sizeof *routed);
    st.routed = routed;
    t2_serve_engine_stats(engine, &st);
    const struct { const char *name, *type, *help; int64_t value; } rows[] = {
        {"t2_serve_requests_total", "counter", "requests the engine accepted", st.requests},
        {"t2_serve_requests_refused_total", "counter", "requests the engine refused (queue full or stopping)", st.refused},
        {"t2_serve_requests_cancelled_total", "counter", "requests cancelled (client gone or shutdown)", st.cancelled},
        {"t2_serve_prompt_tokens_total", "counter", "prompt tokens of the answering passes", st.prompt_tokens},
        {"t2_serve_prompt_tokens_cached_total", "counter", "of those, kept from a slot's cache (not prefilled again)", st.cached_tokens},
        {"t2_serve_completion_tokens_total", "counter", "tokens generated", st.completion_tokens},
        {"t2_serve_queue_depth", "gauge", "requests waiting for a slot", st.queued},
        {"t2_serve_active_sequences", "gauge", "sequences decoding", st.active},
        {"t2_serve_engine_steps_total", "counter", "batched decoding steps", st.steps},
        {"t2_serve_engine_factored_steps_total", "counter",
         "steps that ran the experts' matrices in factored form", st.factored_steps},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        header(t, rows[i].name, rows[i].type, rows[i].help);
        put(t, "%s %lld\n", rows[i].name, (long long)rows[i].value);
    }
    header(t, "t2_serve_routed_total", "counter",
           "finished requests answered with each adaptation (base or an expert)");
    for (int i = 0; i < st.n_names; i++)
        put(t, "t2_serve_routed_total{adaptation=\"%s\"} %lld\n", st.names[i],
            (long long)routed[i]);
    t2_free(routed);
}

char *t2_serve_metrics_text(t2_serve_metrics *m, t2_serve_engine *engine) {
    text t = {t2_alloc(4096), 0, 4096};
    t.buf[0] = '\0';
    pthread_mutex_lock(&m->mu);
    header(&t, "t2_serve_http_requests_total", "counter", "HTTP requests answered, by endpoint and status");
    for (int e = 0; e < T2_SERVE_ENDPOINT_COUNT; e++)
        for (int s = 0; s < T2_SERVE_METRICS_STATUSES; s++) {
            if (m->requests[e][s] == 0) continue;
            char code[16];
            if (s < T2_SERVE_METRICS_STATUSES - 1) snprintf(code, sizeof code, "%d", statuses[s]);
            else snprintf(code, sizeof code, "other");
            put(&t, "t2_serve_http_requests_total{endpoint=\"%s\",status=\"%s\"} %lld\n",
                endpoints[e], code, (long long)m->requests[e][s]);
        }
    header(&t, "t2_serve_request_duration_seconds", "histogram",
           "completion requests, from receipt to the end of the answer");
    for (int e = 0; e < 2; e++) {
        char labels[64];
        snprintf(labels, sizeof labels, "endpoint=\"%s\",", endpoints[e]);
        histogram(&t, "t2_serve_request_duration_seconds", labels, &m->latency[e]);
    }
    header(&t, "t2_serve_queue_wait_seconds", "histogram",
           "finished completion requests, from submission to their first decoding step");
    histogram(&t, "t2_serve_queue_wait_seconds", "", &m->queue_wait);
    header(&t, "t2_serve_client_disconnects_total", "counter",
           "completion requests whose client left before the answer ended");
    put(&t, "t2_serve_client_disconnects_total %lld\n", (long long)m->disconnects);
    pthread_mutex_unlock(&m->mu);
    engine_metrics(&t, engine);
    return t.buf;
}

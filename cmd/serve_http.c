/* The libmicrohttpd daemon of `t2 serve` (see serve_http.h). Threads: libmicrohttpd's pool
 * polls the sockets and calls handle(); a completion request is parsed and submitted there,
 * then its connection is suspended while the engine works (cmd/serve_call.c). Nothing here
 * blocks on the engine. */
#include "cmd/serve_http.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/progress.h"
#include "cmd/serve_call.h"
#include "cmd/serve_json.h"
#include "cmd/serve_metrics.h"
#include "cmd/serve_watch.h"

struct t2_serve_http {
    struct MHD_Daemon *daemon;
    t2_serve_engine *engine; /* borrowed */
    int listen_fd;           /* -1 once quiesced */
    int port;
    size_t max_body;
    atomic_int draining;
    atomic_uint_fast64_t numbers; /* completion requests so far: ids and default seeds */
    uint64_t seed_base;
    t2_serve_metrics metrics;
    t2_serve_watch watch;
};

/* One HTTP request, libmicrohttpd's con_cls. */
typedef struct request {
    t2_serve_endpoint endpoint;
    int post;                  /* the method is POST (else GET) */
    char method[8];
    char path[64];             /* for the log line (cut) */
    double start;
    char *body;                /* [len] of cap; up to max_body bytes */
    size_t len, cap;
    unsigned status;           /* queued response's; 0 before */
    int refuse_body;           /* an error was decided before the body ended: drop the body */
    t2_serve_api_error error;  /* ... that error */
    char model[64];            /* for the log line */
    t2_serve_call *call;
    t2_serve_watch_entry *watch;
} request;

static const char *const endpoint_paths[] = {"/v1/chat/completions", "/v1/completions",
                                             "/v1/models", "/health", "/metrics"};

static t2_serve_endpoint endpoint_of(const char *url) {
    for (int e = 0; e < T2_SERVE_ENDPOINT_OTHER; e++)
        if (strcmp(url, endpoint_paths[e]) == 0) return (t2_serve_endpoint)e;
    return T2_SERVE_ENDPOINT_OTHER;
}

/* Queues body (heap, taken) with status. */
static enum MHD_Result respond(struct MHD_Connection *conn, request *r, unsigned status,
                               const char *content_type, char *body) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), body,
                                                                MHD_RESPMEM_MUST_COPY);
    t2_free(body);
    if (resp == NULL) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (status == 503) MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (status == 405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                r->endpoint <= T2_SERVE_ENDPOINT_COMPLETIONS ? "POST" : "GET");
    enum MHD_Result ok = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    if (ok == MHD_YES) r->status = status;
    return ok;
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, request *r,
                                     const t2_serve_api_error *e) {
    return respond(conn, r, (unsigned)e->status, "application/json", t2_serve_json_error(e));
}

/* The checks that need no body: route, method, content type, declared length. 0 when the
 * request may go on; -1 with e. */
static int check_head(t2_serve_http *h, struct MHD_Connection *conn, request *r,
                      t2_serve_api_error *e) {
    if (r->endpoint == T2_SERVE_ENDPOINT_OTHER)
        return t2_serve_json_error_set(e, 404, "not_found", NULL,
                                       "%s: no such endpoint; expected /v1/chat/completions, "
                                       "/v1/completions, /v1/models, /health or /metrics",
                                       r->path);
    int wants_post = r->endpoint <= T2_SERVE_ENDPOINT_COMPLETIONS;
    if (r->post != wants_post || (!r->post && strcmp(r->method, "GET") != 0))
        return t2_serve_json_error_set(e, 405, "method_not_allowed", NULL,
                                       "%s %s: method not allowed; expected %s", r->method,
                                       r->path, wants_post ? "POST" : "GET");
    if (!r->post) return 0;
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t n = strlen("application/json");
    if (type == NULL || strncasecmp(type, "application/json", n) != 0 ||
        (type[n] != '\0' && type[n] != ';' && type[n] != ' '))
        return t2_serve_json_error_set(e, 415, "unsupported_media_type", NULL,
                                       "Content-Type: %s; expected application/json",
                                       type != NULL ? type : "missing");
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length != NULL && strtoull(length, NULL, 10) > h->max_body)
        return t2_serve_json_error_set(e, 413, "request_too_large", NULL,
                                       "body: %s bytes; expected at most %zu", length,
                                       h->max_body);
    return 0;
}

static char *health_body(t2_serve_http *h, unsigned *status) {
    int draining = atomic_load(&h->draining);
    *status = draining ? 503 : 200;
    return t2_strdup(draining ? "{\"status\":\"draining\"}" : "{\"status\":\"ok\"}");
}

/* POST /v1/chat/completions or /v1/completions with its whole body. */
static enum MHD_Result complete(t2_serve_http *h, struct MHD_Connection *conn, request *r) {
    t2_serve_kind kind = r->endpoint == T2_SERVE_ENDPOINT_CHAT ? T2_SERVE_CHAT
                                                               : T2_SERVE_COMPLETION;
    uint64_t number = atomic_fetch_add(&h->numbers, 1) + 1;
    t2_serve_json_request req;
    t2_serve_api_error *e = &r->error;
    if (t2_serve_json_request_read(&req, kind, r->body != NULL ? r->body : "", r->len,
                                   h->seed_base + number, e) != 0)
        return respond_error(conn, r, e);
    snprintf(r->model, sizeof r->model, "%s", req.request.model);
    r->call = t2_serve_call_new(conn, &req, number);
    int status = t2_serve_call_submit(r->call, h->engine, &req.request, e);
    int stream = req.stream;
    t2_serve_json_request_free(&req);
    t2_free(r->body);
    r->body = NULL;
    if (status != 0) return respond_error(conn, r, e);
    if (!stream) return MHD_YES; /* the answer comes when the engine is done (handle) */
    struct MHD_Response *resp = t2_serve_call_stream(r->call);
    if (resp == NULL) return MHD_NO;
    enum MHD_Result ok = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    if (ok == MHD_YES) r->status = 200;
    return ok;
}

/* The request whole: answer it (or start to). */
static enum MHD_Result dispatch(t2_serve_http *h, struct MHD_Connection *conn, request *r) {
    unsigned status = 200;
    switch (r->endpoint) {
    case T2_SERVE_ENDPOINT_MODELS:
        return respond(conn, r, 200, "application/json",
                       t2_serve_json_models(t2_serve_engine_models(h->engine),
                                            (int64_t)time(NULL)));
    case T2_SERVE_ENDPOINT_HEALTH: {
        char *body = health_body(h, &status);
        return respond(conn, r, status, "application/json", body);
    }
    case T2_SERVE_ENDPOINT_METRICS:
        return respond(conn, r, 200, "text/plain; version=0.0.4",
                       t2_serve_metrics_text(&h->metrics, h->engine));
    default:
        return complete(h, conn, r);
    }
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls) {
    (void)version;
    t2_serve_http *h = cls;
    request *r = *con_cls;
    if (r == NULL) { /* the headers are in */
        r = t2_alloc_zero(sizeof *r);
        *con_cls = r;
        r->start = t2_time_now();
        r->endpoint = endpoint_of(url);
        r->post = strcmp(method, "POST") == 0;
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->path, sizeof r->path, "%s", url);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        r->watch = ci != NULL ? ci->socket_context : NULL;
        if (check_head(h, conn, r, &r->error) == 0) return MHD_YES;
        /* Answer now, before the body is read (a 10 MB body is not read past this); if
         * libmicrohttpd cannot yet, the body is dropped as it comes and answered at its end. */
        if (respond_error(conn, r, &r->error) == MHD_YES) return MHD_YES;
        r->refuse_body = 1;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->status != 0 || r->refuse_body) return MHD_YES; /* answered: drop the body */
        if (r->len + n > h->max_body) {
            t2_serve_json_error_set(&r->error, 413, "request_too_large", NULL,
                                    "body: more than %zu bytes; expected at most %zu",
                                    h->max_body, h->max_body);
            t2_free(r->body);
            r->body = NULL;
            /* Stop reading: a body sent without its length is cut off with the connection. */
            return respond_error(conn, r, &r->error) == MHD_YES ? MHD_YES : MHD_NO;
        }
        if (r->len + n + 1 > r->cap) {
            r->cap = 2 * (r->len + n + 1);
            if (r->cap > h->max_body + 1) r->cap = h->max_body + 1;
            r->body = t2_realloc(r->body, r->cap);
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        return MHD_YES;
    }
    if (r->status != 0) return MHD_YES;
    if (r->refuse_body) return respond_error(conn, r, &r->error);
    if (r->call != NULL) { /* resumed: the engine is done */
        struct MHD_Response *resp = NULL;
        unsigned status = 0;
        if (!t2_serve_call_answer(r->call, &resp, &status)) return MHD_YES;
        if (resp == NULL) return MHD_NO;
        enum MHD_Result ok = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        if (ok == MHD_YES) r->status = status;
        return ok;
    }
    t2_serve_watch_reading(&h->watch, r->watch, 0);
    enum MHD_Result ok = dispatch(h, conn, r);
    if (ok == MHD_YES && r->status == 0 && r->call != NULL) {
        struct MHD_Response *resp = NULL;
        unsigned status = 0;
        if (t2_serve_call_answer(r->call, &resp, &status)) { /* done already */
            if (resp == NULL) return MHD_NO;
            ok = MHD_queue_response(conn, status, resp);
            MHD_destroy_response(resp);
            if (ok == MHD_YES) r->status = status;
        }
    }
    return ok;
}

static const char *termination(enum MHD_RequestTerminationCode toe) {
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK: return NULL;
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return "timed out";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "closed at shutdown";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return "client left";
    default: return "connection error";
    }
}

/* The request is over (answered, or the connection closed): one log line, the metrics. */
static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
    (void)conn;
    t2_serve_http *h = cls;
    request *r = *con_cls;
    if (r == NULL) return;
    *con_cls = NULL;
    t2_serve_call_summary s = {.finish = "-", .queued_seconds = -1.0, .adaptation = "-"};
    if (r->call != NULL) t2_serve_call_close(r->call, h->engine, &s);
    double seconds = t2_time_now() - r->start;
    const char *why = termination(toe);
    int left = why != NULL && r->call != NULL && !s.finished;
    if (r->status != 0)
        t2_serve_metrics_record(&h->metrics, r->endpoint, (int)r->status, seconds,
                                s.queued_seconds, left);
    char status[16] = "-", what[256] = "", error[80] = "";
    if (r->status != 0) snprintf(status, sizeof status, "%u", r->status);
    if (r->call != NULL && !s.submitted) snprintf(what, sizeof what, " model=%s", r->model);
    else if (r->call != NULL)
        snprintf(what, sizeof what, " model=%s adaptation=%s tokens=%lld+%lld cached=%lld "
                 "route=%lld finish=%s", r->model, s.adaptation, (long long)s.prompt_tokens,
                 (long long)s.completion_tokens, (long long)s.cached_tokens,
                 (long long)s.route_tokens,
                 s.cancelled ? "cancelled" : s.finish);
    if (r->status >= 400 && r->error.code != NULL)
        snprintf(error, sizeof error, " error=%s", r->error.code);
    fprintf(stderr, "t2 serve: %s %s %s %.3fs%s%s%s%s%s\n", r->method, r->path, status, seconds,
            what, error, why != NULL ? " (" : "", why != NULL ? why : "", why != NULL ? ")" : "");
    t2_serve_watch_reading(&h->watch, r->watch, 1);
    t2_free(r->body);
    t2_free(r);
}

static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe) {
    t2_serve_http *h = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci != NULL ? t2_serve_watch_add(&h->watch, ci->connect_fd) : NULL;
    } else {
        t2_serve_watch_remove(&h->watch, *socket_context);
        *socket_context = NULL;
    }
}

/* A listening socket on host:port. */
static int listen_on(const char *host, int64_t port, int *fd_out, int *port_out,
                     t2_error *err) {
    char service[16];
    snprintf(service, sizeof service, "%lld", (long long)port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *ai = NULL;
    int rc = getaddrinfo(host, service, &hints, &ai);
    if (rc != 0)
        return t2_error_set(err, "host: '%s' does not resolve (%s); expected an address of "
                            "this machine such as 127.0.0.1", host, gai_strerror(rc));
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol), one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0 ||
        fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return t2_error_set(err, "%s:%lld: cannot listen (%s); expected a free port on an "
                            "address of this machine", host, (long long)port, strerror(e));
    }
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    *port_out = addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&addr)->sin_port);
    *fd_out = fd;
    freeaddrinfo(ai);
    return 0;
}

int t2_serve_http_start(t2_serve_http **out, t2_serve_engine *engine,
                        const t2_serve_http_options *o, t2_error *err) {
    *out = NULL;
    t2_serve_http *h = t2_alloc_zero(sizeof *h);
    h->engine = engine;
    h->max_body = (size_t)o->max_body;
    h->seed_base = (uint64_t)time(NULL) * 1000003u;
    t2_serve_metrics_init(&h->metrics);
    t2_serve_watch_init(&h->watch, o->timeout);
    if (listen_on(o->host, o->port, &h->listen_fd, &h->port, err) != 0) {
        t2_serve_http_stop(h, 0.0);
        return -1;
    }
    unsigned timeout = o->timeout < 1.0 ? 1u : (unsigned)o->timeout;
    h->daemon = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, handle, h,
        MHD_OPTION_LISTEN_SOCKET, h->listen_fd,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->connections,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
        MHD_OPTION_NOTIFY_COMPLETED, completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, notify_connection, h,
        MHD_OPTION_END);
    if (h->daemon == NULL) {
        close(h->listen_fd);
        h->listen_fd = -1;
        t2_serve_http_stop(h, 0.0);
        return t2_error_set(err, "%s:%lld: libmicrohttpd did not start; expected a "
                            "connections and threads setting it accepts", o->host,
                            (long long)o->port);
    }
    *out = h;
    return 0;
}

int t2_serve_http_port(const t2_serve_http *h) { return h->port; }

int t2_serve_http_check(t2_serve_http *h) { return t2_serve_watch_check(&h->watch); }

void t2_serve_http_quiesce(t2_serve_http *h) {
    atomic_store(&h->draining, 1);
    if (h->daemon == NULL || h->listen_fd < 0) return;
    int fd = MHD_quiesce_daemon(h->daemon);
    if (fd >= 0) close(fd);
    h->listen_fd = -1;
}

void t2_serve_http_stop(t2_serve_http *h, double wait_seconds) {
    if (h == NULL) return;
    if (h->daemon != NULL) {
        double end = t2_time_now() + wait_seconds;
        for (;;) {
            const union MHD_DaemonInfo *di =
                MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
            if (di == NULL || di->num_connections == 0 || t2_time_now() >= end) break;
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        MHD_stop_daemon(h->daemon);
    } else if (h->listen_fd >= 0) {
        close(h->listen_fd);
    }
    t2_serve_watch_free(&h->watch);
    t2_serve_metrics_free(&h->metrics);
    t2_free(h);
}

/* The HTTP side of `t2 serve`: a libmicrohttpd daemon answering OpenAI's API in front of the
 * engine (rl/serve_engine.h) — GET /v1/models, POST /v1/chat/completions and
 * /v1/completions (whole or streamed as server-sent events), GET /health and GET /metrics —
 * with OpenAI-style errors for bad requests, a bound on body size and on the time a request
 * may take to arrive, and one log line per request on stderr. docs/serve.md is the manual.
 * Does not: decode (the engine), parse JSON (cmd/serve_json.c) or handle signals
 * (cmd/serve.c). */
#ifndef T2_CMD_SERVE_HTTP_H
#define T2_CMD_SERVE_HTTP_H

#include <stdint.h>

#include "base/error.h"
#include "rl/serve_engine.h"

typedef struct t2_serve_http t2_serve_http; /* opaque */

typedef struct t2_serve_http_options {
    const char *host;      /* numeric address or name to listen on */
    int64_t port;          /* 0: any free port (t2_serve_http_port says which) */
    double timeout;        /* seconds: a request must arrive within it, and idle connections
                              close after it */
    int64_t max_body;      /* bytes; larger bodies get 413 without being read past it */
    int64_t connections;   /* open connections at most */
    int64_t threads;       /* threads polling the sockets */
} t2_serve_http_options;

/* Listens and starts answering with engine (borrowed: it must outlive the server). 0, or -1
 * with err (an address that does not resolve, a port in use, ...) and *out NULL. */
int t2_serve_http_start(t2_serve_http **out, t2_serve_engine *engine,
                        const t2_serve_http_options *o, t2_error *err);

/* The port listened on. */
int t2_serve_http_port(const t2_serve_http *h);

/* Closes connections whose request has been arriving for longer than the timeout; call it
 * about once a second. Returns how many it closed. */
int t2_serve_http_check(t2_serve_http *h);

/* Stops accepting connections (the listening socket is closed); open connections are still
 * served, /health answers 503. */
void t2_serve_http_quiesce(t2_serve_http *h);

/* Waits up to wait_seconds for the open connections to finish, stops the daemon (closing
 * those left) and frees h. Every engine request must be done first (t2_serve_engine_drain).
 * NULL ok. */
void t2_serve_http_stop(t2_serve_http *h, double wait_seconds);

#endif

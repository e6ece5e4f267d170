/* One completion request of `t2 serve` between its HTTP connection and the engine: the text
 * the engine hands over (on its own thread), the answer or the server-sent events made of
 * it, and the connection suspended while there is nothing to send and resumed when there is
 * (libmicrohttpd's MHD_suspend_connection / MHD_resume_connection). A call is shared by the
 * connection, the streamed response and the engine, and freed when the last lets go.
 * Streams follow OpenAI's chat.completion.chunk and text_completion chunk formats, each
 * event "data: {...}\n\n", the last "data: [DONE]\n\n". Does not: read request bodies or
 * route URLs (cmd/serve_http.c). */
#ifndef T2_CMD_SERVE_CALL_H
#define T2_CMD_SERVE_CALL_H

#include <microhttpd.h>
#include <stdint.h>

#include "cmd/serve_json.h"
#include "rl/serve_engine.h"

typedef struct t2_serve_call t2_serve_call; /* opaque */

/* What the log line and the metrics say of a call once its connection is done with it. */
typedef struct t2_serve_call_summary {
    int submitted;          /* the engine accepted it */
    int finished;           /* on_done came: the fields below are the result's */
    int cancelled;          /* cancelled by the engine (shutdown) or because the client left */
    const char *finish;     /* "stop" / "length" when finished and not cancelled, else "-" */
    int64_t prompt_tokens, cached_tokens, completion_tokens, route_tokens;
    double queued_seconds;  /* submit to first step; -1 when not finished */
    char adaptation[128];   /* "-" when not finished */
} t2_serve_call_summary;

/* A call of request r (its kind, model and stream options are copied) on connection conn;
 * number makes its id ("chatcmpl-N" / "cmpl-N"). The caller holds one reference, released
 * by t2_serve_call_close. */
t2_serve_call *t2_serve_call_new(struct MHD_Connection *conn, const t2_serve_json_request *r,
                                 uint64_t number);

/* Submits r to the engine. 0, or -1 with e (the engine's refusal: 400, 404 or 503). */
int t2_serve_call_submit(t2_serve_call *c, t2_serve_engine *engine, const t2_serve_request *r,
                         t2_serve_api_error *e);

/* Non-streaming: once the engine is done, the answer (200, or 503 when it was cancelled by
 * a shutdown) in *response and *status, returning 1; before that, suspends the connection
 * (resumed when the engine is done) and returns 0. Call from the access handler only. */
int t2_serve_call_answer(t2_serve_call *c, struct MHD_Response **response, unsigned *status);

/* Streaming: the 200 response whose body is the event stream (it holds its own reference).
 * NULL when libmicrohttpd cannot make one. */
struct MHD_Response *t2_serve_call_stream(t2_serve_call *c);

/* The connection is done with the call (libmicrohttpd's request-completed callback): an
 * unfinished request is cancelled in the engine, summary filled, the caller's reference
 * released. c is not to be used after. */
void t2_serve_call_close(t2_serve_call *c, t2_serve_engine *engine,
                         t2_serve_call_summary *summary);

#endif

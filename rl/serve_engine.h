/* The engine behind `t2 serve`: concurrent requests decoded together, each with its own
 * adaptation (the base model, one expert of a bundle, or "auto": Transformer²'s two passes).
 *
 * Requests arrive from any thread (t2_serve_engine_submit) and wait in a bounded queue; one
 * engine thread (started by t2_serve_engine_open) runs the steps. A step:
 *   1. admits waiting requests into free KV cache slots (continuous batching: a sequence joins
 *      and leaves the batch between steps);
 *   2. groups the active sequences by the weights they decode with (base, expert k, the
 *      classifier) and runs one batched forward per group over the shared KV cache — new
 *      sequences prefill in the same call as the others' decode tokens (model/forward.h);
 *   3. samples each sequence's next token (model/sampler.h, the request's own t2_rng
 *      stream seeded from its seed), streams its final text through on_text, and finishes
 *      it on EOS, a stop string or max_tokens (on_done, then its slot is free).
 * "auto" runs the routing pass first (rl/adapt.h: the prompt strategy asks the base model,
 * the classifier strategy the bundle's classifier expert, "Question: Classify: <question>
 * \nAnswer:" with <question> the last user message or the completion prompt), reads the
 * category with t2_dispatch_parse, then answers in the same slot with that expert's weights
 * (or the base model's when the category is none, "other" or ambiguous).
 * Weights: each expert's W' is composed once at open into its own float32 copy of the
 * targets (t2_model_weights_share + t2_mixture_compose); the other matrices are shared with
 * the base model. Memory: (experts + classifier) x the targets' elements x 4 bytes on top of
 * the model, except under expert_form factored, which makes no copy (every step runs the
 * targets factored: U from the store's mapping, one float32 Vᵀ per target).
 * Prompt reuse: a slot's KV cache keeps what it held after its request leaves, and a pass in
 * it with the same weights prefills only the part of its prompt the cache does not hold,
 * copying a longer shared prefix from another slot (a chat's next turn, a shared system
 * prompt); a waiting request takes the free slot whose cache it goes on from, else the least
 * recently used one (rl/serve_reuse.c).
 * Prompts: chat requests go through the model's chat format (model/prompt_encoder.h, "auto":
 * the tokenizer_config.json's template); completion requests are the raw text with BOS when
 * the tokenizer adds one.
 * Single-process; no MPI. Does not: speak HTTP or JSON (cmd/serve_http.c does). */
#ifndef T2_RL_SERVE_ENGINE_H
#define T2_RL_SERVE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "model/generate.h"
#include "model/prompt_format.h"

typedef struct t2_serve_engine t2_serve_engine; /* opaque */

typedef enum t2_serve_routing {
    T2_SERVE_ROUTE_PROMPT = 0,     /* "auto" asks the base model */
    T2_SERVE_ROUTE_CLASSIFIER = 1, /* "auto" asks the bundle's classifier expert */
} t2_serve_routing;

/* How a step runs the experts' target matrices when its sequences use several experts
 * (rl/serve_form.c): each group's composed W' over its own rows, or the factored form
 * W'x = U (diag(e_g) (Vᵀ x)) over all rows at once; auto measures both and takes the faster
 * for the step's number of groups and rows. factored runs every step and every row, prompts
 * included, in factored form and composes no W' copy: the form for a model whose experts'
 * copies would not fit in memory. */
typedef enum t2_serve_form {
    T2_SERVE_FORM_AUTO = 0,
    T2_SERVE_FORM_COMPOSED = 1,
    T2_SERVE_FORM_FACTORED = 2,
} t2_serve_form;

/* "auto", "composed", "factored" <-> the enum: 0, or -1 for another name. */
const char *t2_serve_form_name(t2_serve_form form);
int t2_serve_form_from_name(const char *name, t2_serve_form *out);

typedef struct t2_serve_engine_options {
    const char *model;   /* model folder */
    const char *store;   /* its decomposition store; NULL without a bundle */
    const char *bundle;  /* expert bundle; NULL: only "base" is served */
    t2_serve_routing routing;
    int64_t slots;       /* sequences decoding at once, >= 1 */
    int64_t queue;       /* requests waiting for a slot, >= 0; past it submit says busy */
    int64_t context;     /* positions per slot (prompt + new tokens); 0: the model's own */
    int threads;         /* compute threads (BLIS, attention); 0: every CPU */
    t2_serve_form form;  /* steps that mix experts */
    t2_weight_type kv_cache; /* the attention cache: T2_WEIGHT_F32 (0) or T2_WEIGHT_F16 */
    int no_prompt_reuse; /* 1: every pass prefills its whole prompt (prompt reuse above) */
} t2_serve_engine_options;

/* One request. Exactly one of messages (chat: n_messages >= 1) and prompt (completion) is
 * set. Strings are borrowed for the duration of the submit call only (the engine copies). */
typedef struct t2_serve_request {
    const char *model;                /* "base", "auto" or an expert's name */
    const t2_chat_message *messages;  /* [n_messages] */
    int n_messages;
    const char *prompt;
    int64_t max_tokens;               /* >= 1; 0: up to the context */
    float temperature;                /* >= 0 (0: greedy) */
    float top_p;                      /* (0, 1] */
    uint64_t seed;                    /* the sampling stream's seed */
    const char *const *stop;          /* [n_stop] non-empty stop strings */
    int n_stop;                       /* 0 to T2_SERVE_MAX_STOPS */
} t2_serve_request;

enum { T2_SERVE_MAX_STOPS = 16 }; /* stop strings of one request, at most */

/* How a request ended. */
typedef struct t2_serve_result {
    int cancelled;                   /* t2_serve_engine_cancel or shutdown; finish undefined */
    t2_finish_reason finish;         /* length, eos (OpenAI "stop") or stop string ("stop") */
    int64_t prompt_tokens;           /* the answering pass's prompt */
    int64_t cached_tokens;           /* of them, kept from the slot's cache (not prefilled) */
    int64_t completion_tokens;
    int64_t route_tokens;            /* auto: prompt + new tokens of the routing pass */
    const char *adaptation;          /* "base", "<expert>" or "auto:<expert>" / "auto:base"
                                        (valid during on_done only) */
    double queued_seconds;           /* submit to first step */
    double total_seconds;            /* submit to done */
} t2_serve_result;

/* Called on the engine thread; must return quickly (copy, signal, return). on_text gets the
 * answer's text in pieces as soon as each is final (a piece that could start a stop string
 * is held back); on_done comes exactly once per accepted request, last. */
typedef struct t2_serve_callbacks {
    void (*on_text)(void *ctx, const char *text, size_t len);
    void (*on_done)(void *ctx, const t2_serve_result *result);
    void *ctx;
} t2_serve_callbacks;

/* Why a submit was refused: the HTTP status it maps to. */
typedef enum t2_serve_refusal {
    T2_SERVE_BAD_REQUEST = 400,  /* empty messages, a bad role, max_tokens past the context,
                                    a prompt longer than the context, invalid UTF-8, ... */
    T2_SERVE_UNKNOWN_MODEL = 404,
    T2_SERVE_BUSY = 503,         /* the queue is full, or the engine is stopping */
} t2_serve_refusal;

/* Counters for /metrics (monotonic unless said otherwise). */
typedef struct t2_serve_stats {
    int64_t requests, refused, cancelled;
    int64_t prompt_tokens, completion_tokens;
    int64_t cached_tokens;           /* answering passes' prompt tokens kept from a slot's cache */
    int64_t queued, active;          /* now (gauges) */
    int64_t steps;
    int64_t factored_steps;          /* steps that ran the factored form */
    int64_t decode_steps;            /* steps whose rows were all decode rows (no prompt) */
    int64_t decode_rows;             /* their rows (a routing pass's included) */
    double decode_seconds;           /* their wall time, forward, sampling and bookkeeping */
    int64_t composed_bytes;          /* the experts' W' copies (0 under expert_form factored) */
    const char *const *names;        /* [n_names] the routes counted below: "base", each
                                        expert (bundle order); borrowed from the engine */
    int64_t *routed;                 /* [n_names] requests answered with each (caller's buffer) */
    int n_names;
} t2_serve_stats;

/* Loads the model (and store and bundle), composes every expert, starts the engine thread.
 * 0, or -1 with err (a file that does not load, a bundle not made for this model, lora
 * experts, slots < 1, ...) and *out NULL. */
int t2_serve_engine_open(t2_serve_engine **out, const t2_serve_engine_options *options,
                         t2_error *err);

/* The served model names: "base", each expert in bundle order, then "auto" when there is a
 * bundle (borrowed, NULL-terminated). */
const char *const *t2_serve_engine_models(const t2_serve_engine *e);

/* Any thread. Validates, copies and queues the request: a positive id, or -1 with *refusal
 * and err (one line, for the client). cb's functions run on the engine thread until on_done. */
int64_t t2_serve_engine_submit(t2_serve_engine *e, const t2_serve_request *request,
                               const t2_serve_callbacks *cb, t2_serve_refusal *refusal,
                               t2_error *err);

/* Any thread. Frees the request's slot at the next step (a client that went away); on_done
 * follows with cancelled = 1 unless the request already finished. Unknown ids are ignored. */
void t2_serve_engine_cancel(t2_serve_engine *e, int64_t id);

/* Any thread. Fills stats (stats->routed: a buffer of at least n_names counters, or NULL). */
void t2_serve_engine_stats(t2_serve_engine *e, t2_serve_stats *stats);

/* Any thread. Stops accepting (submit says busy from now on); requests in flight may finish
 * for grace_seconds, then the rest are cancelled. Returns when every on_done has run. */
void t2_serve_engine_drain(t2_serve_engine *e, double grace_seconds);

/* Stops the engine thread (draining with no grace first) and frees everything. NULL ok. */
void t2_serve_engine_close(t2_serve_engine *e);

#endif

/* `t2 serve [CONFIG] --model DIR [--store S --bundle B] [--key value ...]`: the model behind
 * an OpenAI-compatible HTTP API (docs/serve.md). Loads the engine (rl/serve_engine.h: base,
 * each expert of the bundle, and "auto", Transformer²'s two passes), starts the HTTP side
 * (cmd/serve_http.h), prints "t2 serve: listening on http://HOST:PORT" to stderr, and serves
 * until SIGTERM or SIGINT: then it stops accepting, lets the requests in flight finish for
 * up to --grace seconds (cancelling the rest), and exits 0. One process: under mpirun with
 * more than one rank it refuses to start. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/memory.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/run_config.h"
#include "cmd/serve_http.h"
#include "cmd/settings.h"
#include "model/kv_cache.h"
#include "rl/serve_engine.h"

enum { SERVE_MAX_SETTINGS = 24 };

typedef struct serve_settings {
    char *model, *store, *bundle, *strategy, *host, *expert_form, *kv_cache;
    int64_t port, slots, queue, context, threads, max_body, connections, http_threads;
    int prompt_reuse;
    double timeout, grace;
} serve_settings;

static int make_table(t2_setting *table, serve_settings *s) {
    memset(s, 0, sizeof *s);
    s->strategy = t2_strdup("prompt");
    s->expert_form = t2_strdup("auto");
    s->kv_cache = t2_strdup("f32");
    s->host = t2_strdup("127.0.0.1");
    s->port = 8080;
    s->slots = 8;
    s->queue = 64;
    s->max_body = 1 << 20;
    s->connections = 512;
    s->http_threads = 2;
    s->timeout = 30.0;
    s->grace = 10.0;
    s->prompt_reuse = 1;
    const t2_setting entries[] = {
        {"model", T2_SETTING_STRING, &s->model, 0, 0, 1, "base model folder"},
        {"store", T2_SETTING_STRING, &s->store, 0, 0, 0, "decomposition store of the model (t2 decompose); needed with a bundle"},
        {"bundle", T2_SETTING_STRING, &s->bundle, 0, 0, 0, "expert bundle (t2 bundle create) made for the model; without one only base is served"},
        {"strategy", T2_SETTING_STRING, &s->strategy, 0, 0, 0, "how the model auto picks an expert: prompt (the base model names the task) or classifier (the bundle's classifier expert)"},
        {"expert_form", T2_SETTING_STRING, &s->expert_form, 0, 0, 0, "how a batch that mixes experts runs their matrices: composed (each expert's own W' over its rows), factored (U (e ⊙ Vᵀx) over all rows at once, and no W' copies in memory) or auto (the faster, measured while serving)"},
        {"host", T2_SETTING_STRING, &s->host, 0, 0, 0, "address to listen on"},
        {"port", T2_SETTING_INT, &s->port, 0, 65535, 0, "port to listen on (0: any free port, printed at start)"},
        {"slots", T2_SETTING_INT, &s->slots, 1, 4096, 0, "sequences decoded together (the batch)"},
        {"queue", T2_SETTING_INT, &s->queue, 0, 1e6, 0, "requests waiting for a slot at most; past it 503 with Retry-After"},
        {"context", T2_SETTING_INT, &s->context, 0, 1e7, 0, "positions per sequence, prompt and answer (0: the model's own)"},
        {"kv_cache", T2_SETTING_STRING, &s->kv_cache, 0, 0, 0, "the attention cache's type: f32, or f16 (half the memory per slot and the bytes a step reads; keys and values rounded)"},
        {"prompt_reuse", T2_SETTING_BOOL, &s->prompt_reuse, 0, 1, 0, "a request prefills only the part of its prompt that no slot's cache holds already (a chat's next turn, a shared system prompt); --no-prompt-reuse prefills every prompt whole"},
        {"threads", T2_SETTING_INT, &s->threads, 0, 4096, 0, "compute threads (0: every CPU)"},
        {"timeout", T2_SETTING_FLOAT, &s->timeout, 1, 86400, 0, "seconds a request may take to arrive, and an idle connection may stay open"},
        {"max_body", T2_SETTING_INT, &s->max_body, 1024, 1e9, 0, "largest request body in bytes; larger ones get 413"},
        {"connections", T2_SETTING_INT, &s->connections, 1, 1e5, 0, "open connections at most"},
        {"http_threads", T2_SETTING_INT, &s->http_threads, 1, 256, 0, "threads serving the connections"},
        {"grace", T2_SETTING_FLOAT, &s->grace, 0, 3600, 0, "seconds requests in flight may go on after SIGTERM / SIGINT before they are cancelled"},
    };
    memcpy(table, entries, sizeof entries);
    return (int)(sizeof entries / sizeof entries[0]);
}

static void print_usage(const t2_setting *table, int n) {
    printf("usage: t2 serve [CONFIG | --config FILE] --model DIR [--store S --bundle B] "
           "[--key value ...]\n\n"
           "Serves the model over HTTP with OpenAI's API: GET /v1/models, POST\n"
           "/v1/chat/completions and /v1/completions (streamed with \"stream\": true), GET\n"
           "/health and GET /metrics (Prometheus). The request's model picks the adaptation:\n"
           "base, an expert of the bundle, or auto (the two passes of Transformer²). Prints\n"
           "'t2 serve: listening on http://HOST:PORT' to stderr, one line per request after\n"
           "it, and stops on SIGTERM or SIGINT. CONFIG is a libconfig file with the keys\n"
           "below (flags override it); see docs/serve.md.\n\n");
    t2_settings_print_help(table, n, stdout);
}

static int check(const serve_settings *s, t2_serve_routing *routing, t2_serve_form *form,
                 t2_weight_type *kv_cache, t2_error *err) {
    if (t2_kv_cache_type_parse("kv_cache", s->kv_cache, kv_cache, err) != 0) return -1;
    if (t2_serve_form_from_name(s->expert_form, form) != 0)
        return t2_error_set(err, "expert_form: '%s' is not known; expected auto, composed or "
                            "factored", s->expert_form);
    if (strcmp(s->strategy, "prompt") == 0) *routing = T2_SERVE_ROUTE_PROMPT;
    else if (strcmp(s->strategy, "classifier") == 0) *routing = T2_SERVE_ROUTE_CLASSIFIER;
    else
        return t2_error_set(err, "strategy: '%s' is not known; expected prompt or classifier",
                            s->strategy);
    if (s->bundle != NULL && s->store == NULL)
        return t2_error_set(err, "store: not set; expected the model's decomposition store "
                            "(t2 decompose) with --bundle");
    if (s->bundle == NULL && s->store != NULL)
        return t2_error_set(err, "bundle: not set; expected an expert bundle with --store "
                            "(or neither, to serve the base model alone)");
    return 0;
}

/* Serves until SIGTERM or SIGINT (blocked in every thread since t2_cmd_serve), checking for
 * slow requests once a second. Returns the signal. */
static int wait_for_signal(t2_serve_http *h) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    for (;;) {
        struct timespec second = {1, 0};
        int sig = sigtimedwait(&set, NULL, &second);
        if (sig == SIGTERM || sig == SIGINT) return sig;
        t2_serve_http_check(h);
    }
}

static int serve(const serve_settings *s, t2_serve_routing routing, t2_serve_form form,
                 t2_weight_type kv_cache, t2_error *err) {
    t2_serve_engine_options eo = {.model = s->model, .store = s->store, .bundle = s->bundle,
                                  .routing = routing, .slots = s->slots, .queue = s->queue,
                                  .context = s->context, .threads = (int)s->threads,
                                  .form = form, .kv_cache = kv_cache,
                                  .no_prompt_reuse = !s->prompt_reuse};
    t2_serve_engine *engine = NULL;
    if (t2_serve_engine_open(&engine, &eo, err) != 0) return T2_EXIT_FAILURE;
    t2_serve_http_options ho = {.host = s->host, .port = s->port, .timeout = s->timeout,
                                .max_body = s->max_body, .connections = s->connections,
                                .threads = s->http_threads};
    t2_serve_http *h = NULL;
    if (t2_serve_http_start(&h, engine, &ho, err) != 0) {
        t2_serve_engine_close(engine);
        return T2_EXIT_FAILURE;
    }
    fprintf(stderr, "t2 serve: models");
    for (const char *const *m = t2_serve_engine_models(engine); *m != NULL; m++)
        fprintf(stderr, " %s", *m);
    fprintf(stderr, "; %lld slots, queue %lld, strategy %s, expert form %s, KV cache %s, "
            "prompt reuse %s\n", (long long)s->slots, (long long)s->queue, s->strategy,
            s->expert_form, s->kv_cache, s->prompt_reuse ? "on" : "off");
    t2_serve_stats st = {0};
    t2_serve_engine_stats(engine, &st);
    if (st.composed_bytes > 0) {
        char bytes[16];
        t2_memory_format(bytes, st.composed_bytes);
        fprintf(stderr, "t2 serve: the experts' composed W' take %s (expert_form factored "
                "makes no copy)\n", bytes);
    }
    int v6 = strchr(s->host, ':') != NULL;
    fprintf(stderr, "t2 serve: listening on http://%s%s%s:%d\n", v6 ? "[" : "", s->host,
            v6 ? "]" : "", t2_serve_http_port(h));
    fflush(stderr);
    int sig = wait_for_signal(h);
    fprintf(stderr, "t2 serve: %s: no new connections; requests in flight have %g s\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", s->grace);
    t2_serve_http_quiesce(h);
    t2_serve_engine_drain(engine, s->grace);
    t2_serve_http_stop(h, 2.0);
    t2_serve_engine_close(engine);
    fprintf(stderr, "t2 serve: stopped\n");
    return T2_EXIT_OK;
}

static int run_command(const t2_runtime *rt, void *settings, const char *config_text,
                       t2_error *err) {
    (void)config_text;
    const serve_settings *s = settings;
    if (rt->size > 1) {
        t2_error_set(err, "mpirun: %d ranks; expected one process (t2 serve does not run "
                     "under mpirun with more than one rank)", rt->size);
        return T2_EXIT_USAGE;
    }
    t2_serve_routing routing = T2_SERVE_ROUTE_PROMPT;
    t2_serve_form form = T2_SERVE_FORM_AUTO;
    t2_weight_type kv_cache = T2_WEIGHT_F32;
    if (check(s, &routing, &form, &kv_cache, err) != 0) return T2_EXIT_USAGE;
    return serve(s, routing, form, kv_cache, err);
}

/* `--config FILE` anywhere is the same as CONFIG first: argv rewritten into out (heap
 * array of borrowed strings). 0, or -1 when given twice or without a value. */
static int move_config_flag(int argc, char **argv, char ***out, int *out_argc) {
    *out = t2_alloc_array((size_t)argc + 1, sizeof **out);
    int at = -1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--config") == 0) {
            if (at >= 0 || i + 1 >= argc) return -1;
            at = i;
        }
    int n = 0;
    (*out)[n++] = argv[0];
    if (at >= 0) {
        if (argc > 1 && strncmp(argv[1], "--", 2) != 0) return -1; /* CONFIG too */
        (*out)[n++] = argv[at + 1];
    }
    for (int i = 1; i < argc; i++) {
        if (at >= 0 && (i == at || i == at + 1)) continue;
        (*out)[n++] = argv[i];
    }
    *out_argc = n;
    return 0;
}

int t2_cmd_serve(int argc, char **argv) {
    t2_setting table[SERVE_MAX_SETTINGS];
    serve_settings s;
    int n = make_table(table, &s);
    char **args = NULL;
    int n_args = 0;
    if (move_config_flag(argc, argv, &args, &n_args) != 0) {
        t2_free(args);
        t2_settings_free(table, n);
        return t2_cli_usage("serve", "--config: given twice, without a file, or with CONFIG; "
                            "expected one config file");
    }
    /* Every thread started from here (MPI's, the engine's, libmicrohttpd's) inherits this
     * mask, so SIGTERM and SIGINT reach only sigtimedwait (wait_for_signal). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    t2_run_config_command c = {"serve", table, n, print_usage, run_command, &s};
    int status = t2_run_config_main(&c, n_args, args);
    t2_free(args);
    return status;
}

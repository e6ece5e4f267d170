/* Benchmark of the serve engine (rl/serve_engine.h): aggregate tokens/s of 1, 8 and 32
 * concurrent streams, against the batched forward (model/forward.h) doing the same work.
 *
 * Streams are completion requests submitted together (greedy, --new N new tokens at most,
 * default 64, prompts "Question: What is A + B? Show each step.\nAnswer:" of ~48 tokens
 * with three-digit A and B, no two alike in a run; no stop strings; the default model often
 * ends a stream early with EOS), timed from the
 * first submit to the last on_done, prefill and the auto routing pass included. Three mixes:
 *   one expert          every stream on the expert "math";
 *   3 experts           streams round-robin over math, code and reasoning;
 *   3 experts + auto    round-robin over math, code, reasoning and auto (prompt routing:
 *                       an auto stream first runs its routing pass with the base model);
 * and for each, measured right after it in the same run (rounds interleave them): the
 * forward's own run of the same streams with the base weights, in a process of its own (see
 * reference_start), one t2_forward_run per step
 * over every sequence (bench_forward's decode loop), each sequence prefilled in one call and
 * then decoding as many tokens as the engine's stream produced (it leaves the batch after
 * them): tokens/s of prefill + decode, and of the decode steps alone. Each figure is the best
 * of --rounds rounds (default 5). Printed per stream count and mix: engine tokens/s, the
 * forward's prefill+decode tokens/s and the ratio, the forward's decode-only tokens/s, the
 * tokens per stream; then 3 experts / one and 3 experts + auto / one (the mixing cost), with
 * PASS / MISS against the targets at 32 streams (one expert >= 0.8 x the forward,
 * prefill and decode, and again for the decode steps alone: the engine's steps that held no
 * prompt row (t2_serve_stats decode_rows / decode_seconds) against the forward's decode
 * steps; the mix >= 0.75 x one expert). Timings are printed, never checked by a test.
 *
 * A burst of N streams decodes N at once only until the first ones end: an auto stream runs
 * its routing pass before its answer, so the last auto streams finish alone. The sustained
 * table keeps N requests in flight instead (as llama-server or vLLM see N busy clients, and
 * as vLLM's benchmark_serving --max-concurrency N measures): each stream submits its next
 * request (the next prompt) as soon as its last one ends, --requests of them (default 4; 0
 * skips the table), timed from the first submit to the last on_done, best of the same rounds;
 * it also prints the auto mix's routing-pass tokens (prompt + new) per answered token.
 *
 *   bench_serve [--model DIR] [--store S --bundle B] [--new N] [--rounds N] [--threads N]
 *               [--form auto|composed|factored]  (how steps that mix experts run: serve's
 *               --expert-form; the share of steps that ran factored is printed)
 *               [--requests N] [--streams LIST]  (stream counts, ascending, at most 32
 *               each; default 1,8,32; the targets are read at the last)
 *               [--prompt-reuse on|off]  (the engine's prompt reuse, rl/serve_reuse.c;
 *               default off, so that the engine prefills what the forward's reference does;
 *               on, the sustained table also prints the share of the answering passes'
 *               prompt tokens kept from the slots' caches: the prompts' shared beginning)
 * --model defaults to the source tree's assets/default-model (T2_SOURCE_DIR). Without
 * --store / --bundle, a store of the model's MLP matrices and a bundle of random svf experts
 * (math, code, reasoning, classifier) are made in a temporary folder by the serve test's
 * fixture (`tests/test_serve_engine make DIR MODEL` of the build tree) and removed
 * afterwards.
 * Threads: --threads (default 1: BLIS and attention; the machine is shared). */
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "linalg/blis_setup.h"
#include "model/forward.h"
#include "model/generate.h"
#include "model/model_dir.h"
#include "model/sampler.h"
#include "rl/serve_engine.h"

enum { MAX_STREAMS = 32, MAX_SIZES = 8 };

typedef struct options {
    const char *model, *store, *bundle;
    int64_t new_tokens, rounds, threads;
    int64_t requests;       /* per stream under sustained load; 0: no sustained runs */
    int prompt_reuse;       /* the engine's prompt reuse (--prompt-reuse on|off, default off) */
    int64_t sizes[MAX_SIZES]; /* the stream counts, ascending */
    int n_sizes;
    t2_serve_form form;
} options;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Prompt number i: each of the first 810,000 its own, all of one length (three-digit terms),
 * so that no prompt of a run is sent twice (prompt reuse would skip its prefill) and the
 * forward's reference prefills prompts as long as the engine's. */
static void prompt_of(int64_t i, char *buf, size_t size) {
    snprintf(buf, size, "Question: What is %lld + %lld? Show each step.\nAnswer:",
             (long long)(100 + i % 900), (long long)(100 + i / 900 % 900));
}

/* ---- the reference: the forward's decode of the batch ---- */

/* Runs the batch's prompts with the base weights, sequence i for steps[i] tokens (it leaves
 * the batch after them, as the engine's stream i did): tokens/s of prefill and decode, and of
 * the decode steps alone in *decode_only. */
static double reference_decode(const t2_model_dir *m, int64_t batch, const int64_t *steps,
                               double *decode_only) {
    int32_t *ids[MAX_STREAMS];
    int64_t lens[MAX_STREAMS], longest = 0, most = 0, total = 0;
    for (int64_t i = 0; i < batch; i++) {
        char text[128];
        prompt_of(i, text, sizeof text);
        lens[i] = t2_prompt_encoder_encode(&m->prompt, text, &ids[i]);
        if (lens[i] > longest) longest = lens[i];
        if (steps[i] > most) most = steps[i];
        total += steps[i];
    }
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, &m->cfg, &m->weights, 512, longest + most + 1);
    t2_kv_cache_init(&cache, &m->cfg, batch, longest + most + 1);
    int64_t vocab = m->cfg.vocab_size;
    float *logits = t2_alloc((size_t)(batch * vocab) * sizeof(float));
    int32_t next[MAX_STREAMS];
    int64_t row_of[MAX_STREAMS];
    t2_forward_seq seqs[MAX_STREAMS];
    t2_error err = {{0}};
    for (int64_t i = 0; i < batch; i++) {
        seqs[i] = (t2_forward_seq){.slot = i, .n_tokens = lens[i], .tokens = ids[i]};
        row_of[i] = i;
    }
    double start = now();
    T2_ASSERT(t2_forward_run(&f, &cache, seqs, batch, T2_FORWARD_LOGITS_LAST, logits, &err) == 0);
    double decode_start = now();
    for (int64_t t = 1; t < most; t++) { /* step t feeds each sequence's token t - 1 */
        int64_t n = 0;
        for (int64_t i = 0; i < batch; i++) {
            if (t >= steps[i]) continue;
            next[i] = t2_sampler_argmax(logits + row_of[i] * vocab, vocab);
            seqs[n] = (t2_forward_seq){.slot = i, .n_tokens = 1, .tokens = &next[i]};
            row_of[i] = n++;
        }
        T2_ASSERT(t2_forward_run(&f, &cache, seqs, n, T2_FORWARD_LOGITS_LAST, logits, &err) == 0);
    }
    double end = now();
    *decode_only = (double)total / (end - decode_start);
    t2_free(logits);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
    for (int64_t i = 0; i < batch; i++) t2_free(ids[i]);
    return (double)total / (end - start);
}

/* The reference runs in a process of its own, forked before the engine opens: libgomp keeps
 * OpenMP workers for every thread that ran a parallel region, and with more of them than
 * cores every region waits for a futex wake (model/worker_pool.h), so in one process the
 * engine's workers and the reference's would slow each other. Jobs go down a pipe (the
 * stream count, then each stream's steps), timings come back up another. */
typedef struct reference {
    pid_t pid;
    int jobs, timings; /* the parent's ends */
} reference;

static void reference_serve(const char *model, int64_t threads, int jobs, int timings) {
    t2_model_dir m;
    t2_error err = {{0}};
    t2_blis_setup((int)threads, 1);
    double out[2] = {-1, -1};
    if (t2_model_dir_load(&m, model, &err) != 0) {
        fprintf(stderr, "bench_serve: %s\n", err.msg);
        T2_ASSERT(write(timings, out, sizeof out) == sizeof out);
        _exit(1);
    }
    int64_t batch, steps[MAX_STREAMS];
    while (read(jobs, &batch, sizeof batch) == sizeof batch && batch > 0) {
        T2_ASSERT(batch <= MAX_STREAMS);
        T2_ASSERT(read(jobs, steps, (size_t)batch * sizeof *steps) ==
                  (ssize_t)((size_t)batch * sizeof *steps));
        out[0] = reference_decode(&m, batch, steps, &out[1]);
        T2_ASSERT(write(timings, out, sizeof out) == sizeof out);
    }
    t2_model_dir_free(&m);
    _exit(0);
}

static void reference_start(reference *r, const char *model, int64_t threads) {
    int down[2], up[2];
    T2_ASSERT(pipe(down) == 0 && pipe(up) == 0);
    fflush(NULL);
    r->pid = fork();
    T2_ASSERT(r->pid >= 0);
    if (r->pid == 0) {
        close(down[1]);
        close(up[0]);
        reference_serve(model, threads, down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    r->jobs = down[1];
    r->timings = up[0];
}

/* The reference's tokens/s of prefill + decode for these streams, decode alone in
 * *decode_only; exits when the reference process failed. */
static double reference_run(reference *r, int64_t batch, const int64_t *steps,
                            double *decode_only) {
    double in[2];
    T2_ASSERT(write(r->jobs, &batch, sizeof batch) == sizeof batch);
    T2_ASSERT(write(r->jobs, steps, (size_t)batch * sizeof *steps) ==
              (ssize_t)((size_t)batch * sizeof *steps));
    if (read(r->timings, in, sizeof in) != sizeof in || in[0] < 0) exit(1);
    *decode_only = in[1];
    return in[0];
}

static void reference_stop(reference *r) {
    int64_t end = 0;
    T2_ASSERT(write(r->jobs, &end, sizeof end) == sizeof end);
    close(r->jobs);
    close(r->timings);
    T2_ASSERT(waitpid(r->pid, NULL, 0) == r->pid);
}

/* ---- the engine ---- */

typedef struct tally {
    pthread_mutex_t lock;
    pthread_cond_t done;
    int64_t finished, tokens, route_tokens, prompt_tokens, cached_tokens;
    int64_t stream_tokens[MAX_STREAMS]; /* each stream's last completion tokens */
    int64_t ended[MAX_STREAMS];         /* streams whose request ended, not yet resubmitted */
    int64_t n_ended;
} tally;

typedef struct stream {
    tally *t;
    int64_t i;
} stream;

static void on_done(void *ctx, const t2_serve_result *r) {
    const stream *s = ctx;
    pthread_mutex_lock(&s->t->lock);
    s->t->finished++;
    s->t->tokens += r->completion_tokens;
    s->t->route_tokens += r->route_tokens;
    s->t->prompt_tokens += r->prompt_tokens;
    s->t->cached_tokens += r->cached_tokens;
    s->t->stream_tokens[s->i] = r->completion_tokens;
    s->t->ended[s->t->n_ended++] = s->i;
    pthread_cond_signal(&s->t->done);
    pthread_mutex_unlock(&s->t->lock);
}

/* What engine_run measured besides tokens/s. */
typedef struct run_shares {
    double route;  /* the routing passes' prompt + new tokens per answered token */
    double cached; /* the answering passes' prompt tokens kept from a slot's cache, a share */
    double decode_rate; /* rows per second of the engine's steps of decode rows only */
} run_shares;

static int64_t next_prompt; /* the number of the next prompt any run sends */

/* batch streams, each submitting its next request as soon as its last one ends, `requests`
 * requests each (1: a burst); request j of stream i is on models[(i + j * batch) % n_models],
 * with the next prompt of the process (prompt_of(next_prompt++)). Aggregate completion
 * tokens/s from the first submit to the last on_done; each stream's tokens of its last
 * request into tokens[batch] (unless NULL); the shares into *shares. */
static double engine_run(t2_serve_engine *e, int64_t batch, const char *const *models,
                         int n_models, int64_t new_tokens, int64_t requests, int64_t *tokens,
                         run_shares *shares) {
    t2_serve_stats before = {0}, after = {0};
    t2_serve_engine_stats(e, &before);
    tally t = {.finished = 0};
    pthread_mutex_init(&t.lock, NULL);
    pthread_cond_init(&t.done, NULL);
    stream streams[MAX_STREAMS];
    int64_t sent[MAX_STREAMS] = {0};
    char text[128];
    double start = now();
    for (int64_t i = 0; i < batch; i++) t.ended[t.n_ended++] = i;
    pthread_mutex_lock(&t.lock);
    while (t.finished < batch * requests) {
        while (t.n_ended > 0) {
            int64_t i = t.ended[--t.n_ended];
            if (sent[i] == requests) continue;
            int64_t q = i + sent[i]++ * batch; /* the request's number in this run */
            prompt_of(next_prompt++, text, sizeof text);
            streams[i] = (stream){&t, i};
            t2_serve_callbacks cb = {NULL, on_done, &streams[i]};
            t2_serve_request r = {.model = models[q % n_models], .prompt = text,
                                  .max_tokens = new_tokens, .temperature = 0.0f,
                                  .top_p = 1.0f};
            t2_serve_refusal refusal;
            t2_error err = {{0}};
            pthread_mutex_unlock(&t.lock); /* on_done may run before submit returns */
            if (t2_serve_engine_submit(e, &r, &cb, &refusal, &err) < 0) {
                fprintf(stderr, "bench_serve: submit refused (%d): %s\n", (int)refusal,
                        err.msg);
                exit(1);
            }
            pthread_mutex_lock(&t.lock);
        }
        if (t.finished < batch * requests) pthread_cond_wait(&t.done, &t.lock);
    }
    pthread_mutex_unlock(&t.lock);
    double seconds = now() - start;
    t2_serve_engine_stats(e, &after);
    shares->decode_rate = (double)(after.decode_rows - before.decode_rows) /
                          (after.decode_seconds - before.decode_seconds);
    if (tokens != NULL) memcpy(tokens, t.stream_tokens, (size_t)batch * sizeof *tokens);
    shares->route = (double)t.route_tokens / (double)t.tokens;
    shares->cached = (double)t.cached_tokens / (double)t.prompt_tokens;
    pthread_cond_destroy(&t.done);
    pthread_mutex_destroy(&t.lock);
    return (double)t.tokens / seconds;
}

/* ---- inputs and options ---- */

/* Makes the store and bundle of the model folder `model` with the serve test's fixture into
 * dir; 0 or -1. */
static int make_inputs(const char *model, char *dir, char **store, char **bundle) {
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return -1;
    self[len] = '\0';
    setenv("T2_SOURCE_DIR", T2_SOURCE_DIR, 0);
    char *cmd = t2_strdup_printf("'%s/../tests/test_serve_engine' make '%s' '%s' >/dev/null "
                                 "2>&1", dirname(self), dir, model);
    int rc = system(cmd);
    t2_free(cmd);
    if (rc != 0) {
        fprintf(stderr, "bench_serve: the serve test's fixture (tests/test_serve_engine make) "
                "failed; build it (target test_serve_engine) or give --store and --bundle\n");
        return -1;
    }
    *store = t2_strdup_printf("%s/model.svd", dir);
    *bundle = t2_strdup_printf("%s/experts.t2b", dir);
    return 0;
}

static int parse(int argc, char **argv, options *o) {
    *o = (options){.model = T2_SOURCE_DIR "/assets/default-model", .new_tokens = 64,
                   .rounds = 5, .threads = 1, .requests = 4,
                   .sizes = {1, 8, 32}, .n_sizes = 3};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) return -1;
        if (strcmp(a, "--model") == 0) o->model = v;
        else if (strcmp(a, "--store") == 0) o->store = v;
        else if (strcmp(a, "--bundle") == 0) o->bundle = v;
        else if (strcmp(a, "--new") == 0) o->new_tokens = strtoll(v, NULL, 10);
        else if (strcmp(a, "--rounds") == 0) o->rounds = strtoll(v, NULL, 10);
        else if (strcmp(a, "--threads") == 0) o->threads = strtoll(v, NULL, 10);
        else if (strcmp(a, "--requests") == 0) o->requests = strtoll(v, NULL, 10);
        else if (strcmp(a, "--streams") == 0) {
            char *end = (char *)v;
            for (o->n_sizes = 0; o->n_sizes < MAX_SIZES && *end != '\0'; o->n_sizes++) {
                o->sizes[o->n_sizes] = strtoll(end, &end, 10);
                if (*end == ',') end++;
                if (o->sizes[o->n_sizes] < 1 || o->sizes[o->n_sizes] > MAX_STREAMS ||
                    (o->n_sizes > 0 && o->sizes[o->n_sizes] <= o->sizes[o->n_sizes - 1]))
                    return -1;
            }
            if (*end != '\0' || o->n_sizes == 0) return -1;
        }
        else if (strcmp(a, "--prompt-reuse") == 0) {
            if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) return -1;
            o->prompt_reuse = strcmp(v, "on") == 0;
        } else if (strcmp(a, "--form") == 0) {
            if (t2_serve_form_from_name(v, &o->form) != 0) return -1;
        } else return -1;
        i++;
    }
    if (o->new_tokens < 1 || o->rounds < 1 || o->threads < 0 || o->requests < 0 ||
        (o->store == NULL) != (o->bundle == NULL))
        return -1;
    return 0;
}

/* The stream mixes: one expert, three experts, three experts and auto. */
enum { RUNS = 3 };
static const char *const spread[4] = {"math", "code", "reasoning", "auto"};
static const struct {
    const char *name;
    const char *const *models;
    int n;
} runs[RUNS] = {{"one expert", spread, 1}, {"3 experts", spread, 3},
                {"3 experts + auto", spread, 4}};

static const char *verdict(double got, double target) { return got >= target ? "PASS" : "MISS"; }

int main(int argc, char **argv) {
    options o;
    if (parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: bench_serve [--model DIR] [--store S --bundle B] [--new N] "
                "[--rounds N] [--threads N] [--form auto|composed|factored] [--requests N] "
                "[--streams N,N,...] [--prompt-reuse on|off]\n");
        return 2;
    }
    char dir[] = "/tmp/bench_serve.XXXXXX";
    char *store = NULL, *bundle = NULL;
    int made = o.store == NULL;
    if (made) {
        if (mkdtemp(dir) == NULL || make_inputs(o.model, dir, &store, &bundle) != 0) return 1;
    } else {
        store = t2_strdup(o.store);
        bundle = t2_strdup(o.bundle);
    }
    t2_serve_engine_options eo = {.model = o.model, .store = store, .bundle = bundle,
                                  .routing = T2_SERVE_ROUTE_PROMPT, .slots = MAX_STREAMS,
                                  .queue = MAX_STREAMS, .threads = (int)o.threads,
                                  .form = o.form, .no_prompt_reuse = !o.prompt_reuse};
    reference ref_process;
    reference_start(&ref_process, o.model, o.threads); /* before any OpenMP work here */
    t2_serve_engine *e = NULL;
    t2_error err = {{0}};
    if (t2_serve_engine_open(&e, &eo, &err) != 0) {
        fprintf(stderr, "bench_serve: %s\n", err.msg);
        return 1;
    }
    printf("bench_serve: %s, %lld new tokens per stream, best of %lld rounds, %lld thread(s), "
           "expert form %s, prompt reuse %s\n", o.model, (long long)o.new_tokens,
           (long long)o.rounds, (long long)o.threads, t2_serve_form_name(o.form),
           o.prompt_reuse ? "on" : "off");
    printf("each cell: engine tok/s / forward prefill+decode tok/s of the same streams (ratio), "
           "forward decode-only tok/s, tokens per stream\n");
    printf("%-8s %34s %34s %34s %6s %6s\n", "streams", runs[0].name, runs[1].name, runs[2].name,
           "3/one", "mix/one");
    double last_one = 0, last_ref = 0, last_decode = 0, last_spread = 0, last_engine_decode = 0;
    double load[MAX_SIZES][RUNS] = {{0}}, route_share[MAX_SIZES] = {0};
    double cached_share[MAX_SIZES][RUNS] = {{0}};
    const int64_t *sizes = o.sizes;
    int n_sizes = o.n_sizes;
    for (int k = 0; k < n_sizes; k++) {
        int64_t b = sizes[k], lens[RUNS][MAX_STREAMS];
        double best[RUNS] = {0}, ref[RUNS] = {0}, decode[RUNS] = {0}, d;
        double engine_decode[RUNS] = {0};
        run_shares sh;
        engine_run(e, b, runs[RUNS - 1].models, runs[RUNS - 1].n, o.new_tokens, 1, lens[0],
                   &sh);
        for (int64_t r = 0; r < o.rounds; r++)
            for (int j = 0; j < RUNS; j++) {
                double x = engine_run(e, b, runs[j].models, runs[j].n, o.new_tokens, 1, lens[j],
                                      &sh);
                if (x > best[j]) best[j] = x;
                if (sh.decode_rate > engine_decode[j]) engine_decode[j] = sh.decode_rate;
                x = reference_run(&ref_process, b, lens[j], &d);
                if (x > ref[j]) ref[j] = x;
                if (d > decode[j]) decode[j] = d;
                if (o.requests == 0) continue;
                x = engine_run(e, b, runs[j].models, runs[j].n, o.new_tokens, o.requests,
                               NULL, &sh);
                if (x > load[k][j]) load[k][j] = x;
                cached_share[k][j] = sh.cached;
                if (j == RUNS - 1) route_share[k] = sh.route;
            }
        printf("%-8lld", (long long)b);
        for (int j = 0; j < RUNS; j++) {
            int64_t sum = 0;
            for (int64_t i = 0; i < b; i++) sum += lens[j][i];
            char cell[64];
            snprintf(cell, sizeof cell, "%.0f / %.0f (%.2f) %.0f %.0f", best[j], ref[j],
                     best[j] / ref[j], decode[j], (double)sum / (double)b);
            printf(" %34s", cell);
        }
        printf(" %6.2f %6.2f\n", best[1] / best[0], best[2] / best[0]);
        last_one = best[0];
        last_ref = ref[0];
        last_decode = decode[0];
        last_engine_decode = engine_decode[0];
        last_spread = best[2];
    }
    printf("targets at %lld streams: one expert >= 0.80 x forward: %.2f %s; the decode steps "
           "alone (no prompt row), engine %.0f rows/s against the forward's %.0f: %.2f %s; "
           "mixing cost <= 25 %% (3 experts + auto >= 0.75 x one): %.2f %s\n",
           (long long)sizes[n_sizes - 1], last_one / last_ref, verdict(last_one / last_ref, 0.8),
           last_engine_decode, last_decode, last_engine_decode / last_decode,
           verdict(last_engine_decode / last_decode, 0.8), last_spread / last_one,
           verdict(last_spread / last_one, 0.75));
    if (o.requests > 0) {
        printf("sustained load: each stream submits its next request as soon as its last one "
               "ends, %lld requests per stream; engine tok/s\n", (long long)o.requests);
        printf("%-8s %17s %17s %17s %6s %6s %s%s\n", "streams", runs[0].name, runs[1].name,
               runs[2].name, "3/one", "mix/one", "routing tokens per answered token (auto mix)",
               o.prompt_reuse ? "; prompt tokens kept from the slots' caches (each mix)" : "");
        for (int k = 0; k < n_sizes; k++) {
            printf("%-8lld %17.0f %17.0f %17.0f %6.2f %6.2f %.2f", (long long)sizes[k],
                   load[k][0], load[k][1], load[k][2], load[k][1] / load[k][0],
                   load[k][2] / load[k][0], route_share[k]);
            for (int j = 0; o.prompt_reuse && j < RUNS; j++)
                printf("%s%.0f %%", j == 0 ? "; " : " ", 100.0 * cached_share[k][j]);
            printf("\n");
        }
        double mix = load[n_sizes - 1][2] / load[n_sizes - 1][0];
        printf("sustained, %lld streams: mixing cost <= 25 %% (3 experts + auto >= 0.75 x one): "
               "%.2f %s\n", (long long)sizes[n_sizes - 1], mix, verdict(mix, 0.75));
    }
    t2_serve_stats st = {0};
    t2_serve_engine_stats(e, &st);
    printf("steps in factored form: %lld of %lld\n", (long long)st.factored_steps,
           (long long)st.steps);
    reference_stop(&ref_process);
    t2_serve_engine_close(e);
    if (made) {
        unlink(store);
        unlink(bundle);
        rmdir(dir);
    }
    t2_free(store);
    t2_free(bundle);
    return 0;
}

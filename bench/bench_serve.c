/* Benchmark of the serve engine (rl/serve_engine.h): aggregate tokens/s of 1, 8 and 32
 * concurrent streams, against the batched forward (model/forward.h) doing the same work.
 *
 * Streams are completion requests submitted together (greedy, --new N new tokens at most,
 * default 64, prompts "Question: What is A + B? Show each step.\nAnswer:" of ~46 tokens,
 * no stop strings; the default model often ends a stream early with EOS), timed from the
 * first submit to the last on_done, prefill and the auto routing pass included. Three mixes:
 *   one expert          every stream on the expert "math";
 *   3 experts           streams round-robin over math, code and reasoning;
 *   3 experts + auto    round-robin over math, code, reasoning and auto (prompt routing:
 *                       an auto stream first runs its routing pass with the base model);
 * and for each, measured right after it in the same run (rounds interleave them): the
 * forward's own run of the same streams with the base weights, one t2_forward_run per step
 * over every sequence (bench_forward's decode loop), each sequence prefilled in one call and
 * then decoding as many tokens as the engine's stream produced (it leaves the batch after
 * them): tokens/s of prefill + decode, and of the decode steps alone. Each figure is the best
 * of --rounds rounds (default 5). Printed per stream count and mix: engine tokens/s, the
 * forward's prefill+decode tokens/s and the ratio, the forward's decode-only tokens/s, the
 * tokens per stream; then 3 experts / one and 3 experts + auto / one (the mixing cost), with
 * PASS / MISS against the targets at 32 streams (one expert >= 0.8 x the forward;
 * the mix >= 0.75 x one expert). Timings are printed, never checked by a test.
 *
 *   bench_serve [--model DIR] [--store S --bundle B] [--new N] [--rounds N] [--threads N]
 *               [--form auto|composed|factored]  (how steps that mix experts run: serve's
 *               --expert-form; the share of steps that ran factored is printed)
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
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "model/forward.h"
#include "model/generate.h"
#include "model/model_dir.h"
#include "model/sampler.h"
#include "rl/serve_engine.h"

enum { MAX_STREAMS = 32, N_SIZES = 3 };
static const int64_t sizes[N_SIZES] = {1, 8, 32};

typedef struct options {
    const char *model, *store, *bundle;
    int64_t new_tokens, rounds, threads;
    t2_serve_form form;
} options;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void prompt_of(int64_t i, char *buf, size_t size) {
    snprintf(buf, size, "Question: What is %lld + %lld? Show each step.\nAnswer:",
             (long long)(11 + 7 * i), (long long)(23 + 3 * i));
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

/* ---- the engine ---- */

typedef struct tally {
    pthread_mutex_t lock;
    pthread_cond_t done;
    int64_t finished;
    int64_t tokens[MAX_STREAMS]; /* each stream's completion tokens */
} tally;

typedef struct stream {
    tally *t;
    int64_t i;
} stream;

static void on_done(void *ctx, const t2_serve_result *r) {
    const stream *s = ctx;
    pthread_mutex_lock(&s->t->lock);
    s->t->finished++;
    s->t->tokens[s->i] = r->completion_tokens;
    pthread_cond_signal(&s->t->done);
    pthread_mutex_unlock(&s->t->lock);
}

/* Aggregate completion tokens/s of batch streams, stream i on models[i % n_models]; each
 * stream's tokens into tokens[batch]. */
static double engine_run(t2_serve_engine *e, int64_t batch, const char *const *models,
                         int n_models, int64_t new_tokens, int64_t *tokens) {
    tally t = {.finished = 0};
    pthread_mutex_init(&t.lock, NULL);
    pthread_cond_init(&t.done, NULL);
    char texts[MAX_STREAMS][128];
    stream streams[MAX_STREAMS];
    double start = now();
    for (int64_t i = 0; i < batch; i++) {
        prompt_of(i, texts[i], sizeof texts[i]);
        streams[i] = (stream){&t, i};
        t2_serve_callbacks cb = {NULL, on_done, &streams[i]};
        t2_serve_request r = {.model = models[i % n_models], .prompt = texts[i],
                              .max_tokens = new_tokens, .temperature = 0.0f, .top_p = 1.0f};
        t2_serve_refusal refusal;
        t2_error err = {{0}};
        if (t2_serve_engine_submit(e, &r, &cb, &refusal, &err) < 0) {
            fprintf(stderr, "bench_serve: submit refused (%d): %s\n", (int)refusal, err.msg);
            exit(1);
        }
    }
    pthread_mutex_lock(&t.lock);
    while (t.finished < batch) pthread_cond_wait(&t.done, &t.lock);
    pthread_mutex_unlock(&t.lock);
    double seconds = now() - start;
    int64_t total = 0;
    for (int64_t i = 0; i < batch; i++) total += tokens[i] = t.tokens[i];
    pthread_cond_destroy(&t.done);
    pthread_mutex_destroy(&t.lock);
    return (double)total / seconds;
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
                   .rounds = 5, .threads = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) return -1;
        if (strcmp(a, "--model") == 0) o->model = v;
        else if (strcmp(a, "--store") == 0) o->store = v;
        else if (strcmp(a, "--bundle") == 0) o->bundle = v;
        else if (strcmp(a, "--new") == 0) o->new_tokens = strtoll(v, NULL, 10);
        else if (strcmp(a, "--rounds") == 0) o->rounds = strtoll(v, NULL, 10);
        else if (strcmp(a, "--threads") == 0) o->threads = strtoll(v, NULL, 10);
        else if (strcmp(a, "--form") == 0) {
            if (t2_serve_form_from_name(v, &o->form) != 0) return -1;
        } else return -1;
        i++;
    }
    if (o->new_tokens < 1 || o->rounds < 1 || o->threads < 0 ||
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
                "[--rounds N] [--threads N] [--form auto|composed|factored]\n");
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
                                  .form = o.form};
    t2_serve_engine *e = NULL;
    t2_model_dir m;
    t2_error err = {{0}};
    if (t2_serve_engine_open(&e, &eo, &err) != 0 || t2_model_dir_load(&m, o.model, &err) != 0) {
        fprintf(stderr, "bench_serve: %s\n", err.msg);
        return 1;
    }
    printf("bench_serve: %s, %lld new tokens per stream, best of %lld rounds, %lld thread(s), "
           "expert form %s\n", o.model, (long long)o.new_tokens, (long long)o.rounds,
           (long long)o.threads, t2_serve_form_name(o.form));
    printf("each cell: engine tok/s / forward prefill+decode tok/s of the same streams (ratio), "
           "forward decode-only tok/s, tokens per stream\n");
    printf("%-8s %34s %34s %34s %6s %6s\n", "streams", runs[0].name, runs[1].name, runs[2].name,
           "3/one", "mix/one");
    double last_one = 0, last_ref = 0, last_decode = 0, last_spread = 0;
    for (int k = 0; k < N_SIZES; k++) {
        int64_t b = sizes[k], lens[RUNS][MAX_STREAMS];
        double best[RUNS] = {0}, ref[RUNS] = {0}, decode[RUNS] = {0}, d;
        engine_run(e, b, runs[RUNS - 1].models, runs[RUNS - 1].n, o.new_tokens, lens[0]);
        for (int64_t r = 0; r < o.rounds; r++)
            for (int j = 0; j < RUNS; j++) {
                double x = engine_run(e, b, runs[j].models, runs[j].n, o.new_tokens, lens[j]);
                if (x > best[j]) best[j] = x;
                x = reference_decode(&m, b, lens[j], &d);
                if (x > ref[j]) ref[j] = x;
                if (d > decode[j]) decode[j] = d;
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
        last_spread = best[2];
    }
    printf("targets at 32 streams: one expert >= 0.80 x forward: %.2f %s (x the decode steps "
           "alone, prefill excluded: %.2f); mixing cost <= 25 %% (3 experts + auto >= 0.75 x "
           "one): %.2f %s\n", last_one / last_ref, verdict(last_one / last_ref, 0.8),
           last_one / last_decode, last_spread / last_one,
           verdict(last_spread / last_one, 0.75));
    t2_serve_stats st = {0};
    t2_serve_engine_stats(e, &st);
    printf("steps in factored form: %lld of %lld\n", (long long)st.factored_steps,
           (long long)st.steps);
    t2_model_dir_free(&m);
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

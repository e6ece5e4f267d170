/* Benchmark of the serve engine's prompt reuse (rl/serve_reuse.c) on multi-turn chats, against
 * the same engine without it, in the same run.
 *
 * S conversations run at once on the base model (or --adaptation NAME: an expert of --bundle, or
 * auto, whose answer copies the conversation from the slot of its last answer when the same
 * expert answers), T turns each. Turn t of conversation i sends
 * the whole conversation so far, as OpenAI clients do: the earlier questions and the model's
 * answers, then a new question ("What is A + B? Show each step.", A and B of three digits,
 * no two alike), greedy, at most --new N tokens. A conversation sends its next turn as soon
 * as the last one ends. Each round opens an engine without prompt reuse and one with it
 * (alternating which goes first), each running every conversation from its first turn.
 * Printed per setting: the best round's wall time from the first submit to the last answer,
 * the prompt tokens sent and those prefilled (not kept from a slot's cache), and the median
 * time to the first token of turns 2 .. T over every round (submit to the first piece of
 * text, or to the end for an answer without text); then with ÷ without, and whether the two
 * settings gave every turn the same answer (greedy: they may differ only in a near-tie).
 * A ratio, never checked by a test.
 *
 *   bench_serve_chat [--model DIR] [--store S --bundle B --adaptation NAME] [--streams S]
 *                    [--slots N] [--turns T] [--new N] [--rounds R] [--threads N]
 * --slots: the engine's (default S). auto's routing pass needs a free slot other than the one
 * its conversation's last answer left, or it runs there and the answer finds nothing kept:
 * give auto more slots than conversations.
 * Defaults: the source tree's assets/default-model, 8 conversations, 4 turns, 48 new tokens,
 * 3 rounds, 1 thread. The conversation must fit the context (the default model's 512
 * positions hold 4 turns of 48 tokens); a turn the engine refuses ends the run with its
 * message. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "rl/serve_engine.h"

enum { MAX_STREAMS = 32, MAX_TURNS = 16, ANSWER_MAX = 4096, MAX_ROUNDS = 16 };

typedef struct options {
    const char *model, *store, *bundle, *adaptation;
    int64_t streams, slots, turns, new_tokens, rounds, threads;
} options;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One conversation: its questions, the answers so far, and its turn in flight. */
typedef struct conversation {
    char question[MAX_TURNS][64];
    char answer[MAX_TURNS][ANSWER_MAX];
    size_t answer_len;        /* of the turn in flight */
    int64_t turn;             /* the turn in flight */
    double submitted, first;  /* of the turn in flight; first 0 until its first text */
    struct chat_run *run;
} conversation;

typedef struct chat_run {
    pthread_mutex_t lock;
    pthread_cond_t done;
    conversation conv[MAX_STREAMS];
    int64_t ended[MAX_STREAMS], n_ended; /* conversations whose turn ended, to go on */
    int64_t finished;                    /* turns answered */
    int64_t prompt_tokens, cached_tokens;
    const char *adaptation; /* the requests' model */
    double *first_token; /* turns 2 .. T: seconds to the first text, appended */
    int64_t n_first;
} chat_run;

/* Keeps printable ASCII and newlines: the next turn sends the answer back as a message,
 * which must be UTF-8 (a random model's bytes may not be). */
static void on_text(void *ctx, const char *text, size_t len) {
    conversation *c = ctx;
    pthread_mutex_lock(&c->run->lock);
    if (c->first == 0) c->first = now();
    char *out = c->answer[c->turn];
    for (size_t i = 0; i < len && c->answer_len + 1 < ANSWER_MAX; i++)
        if ((text[i] >= ' ' && text[i] <= '~') || text[i] == '\n')
            out[c->answer_len++] = text[i];
    out[c->answer_len] = '\0';
    pthread_mutex_unlock(&c->run->lock);
}

static void on_done(void *ctx, const t2_serve_result *r) {
    conversation *c = ctx;
    chat_run *run = c->run;
    pthread_mutex_lock(&run->lock);
    if (c->turn > 0)
        run->first_token[run->n_first++] = (c->first > 0 ? c->first : now()) - c->submitted;
    run->prompt_tokens += r->prompt_tokens;
    run->cached_tokens += r->cached_tokens;
    run->finished++;
    run->ended[run->n_ended++] = c - run->conv;
    pthread_cond_signal(&run->done);
    pthread_mutex_unlock(&run->lock);
}

/* Submits conversation c's turn c->turn (the lock held; released around the submit). */
static void submit_turn(t2_serve_engine *e, chat_run *run, conversation *c, int64_t new_tokens) {
    t2_chat_message msgs[2 * MAX_TURNS];
    int n = 0;
    for (int64_t t = 0; t <= c->turn; t++) {
        msgs[n++] = (t2_chat_message){"user", c->question[t]};
        if (t < c->turn) msgs[n++] = (t2_chat_message){"assistant", c->answer[t]};
    }
    c->answer_len = 0;
    c->answer[c->turn][0] = '\0';
    c->first = 0;
    c->submitted = now();
    t2_serve_request r = {.model = run->adaptation, .messages = msgs, .n_messages = n,
                          .max_tokens = new_tokens, .temperature = 0.0f, .top_p = 1.0f};
    t2_serve_callbacks cb = {on_text, on_done, c};
    t2_serve_refusal refusal;
    t2_error err = {{0}};
    pthread_mutex_unlock(&run->lock); /* on_done may run before submit returns */
    if (t2_serve_engine_submit(e, &r, &cb, &refusal, &err) < 0) {
        fprintf(stderr, "bench_serve_chat: turn %lld refused (%d): %s\n",
                (long long)c->turn + 1, (int)refusal, err.msg);
        exit(1);
    }
    pthread_mutex_lock(&run->lock);
}

/* Every conversation's turns on a fresh engine; the wall time. */
static double chat_round(const options *o, int reuse, chat_run *run) {
    t2_serve_engine_options eo = {.model = o->model, .store = o->store, .bundle = o->bundle,
                                  .slots = o->slots, .queue = o->streams,
                                  .threads = (int)o->threads, .no_prompt_reuse = !reuse};
    t2_serve_engine *e = NULL;
    t2_error err = {{0}};
    if (t2_serve_engine_open(&e, &eo, &err) != 0) {
        fprintf(stderr, "bench_serve_chat: %s\n", err.msg);
        exit(1);
    }
    run->n_ended = run->finished = run->prompt_tokens = run->cached_tokens = 0;
    run->adaptation = o->adaptation;
    for (int64_t i = 0; i < o->streams; i++) {
        run->conv[i].turn = 0;
        run->conv[i].run = run;
        for (int64_t t = 0; t < o->turns; t++) {
            int64_t q = i * o->turns + t;
            snprintf(run->conv[i].question[t], sizeof run->conv[i].question[t],
                     "What is %lld + %lld? Show each step.", (long long)(100 + q % 900),
                     (long long)(100 + q / 900 % 900));
        }
    }
    double start = now();
    pthread_mutex_lock(&run->lock);
    for (int64_t i = 0; i < o->streams; i++)
        submit_turn(e, run, &run->conv[i], o->new_tokens);
    while (run->finished < o->streams * o->turns) {
        while (run->n_ended > 0) {
            conversation *c = &run->conv[run->ended[--run->n_ended]];
            if (++c->turn < o->turns) submit_turn(e, run, c, o->new_tokens);
        }
        if (run->finished < o->streams * o->turns) pthread_cond_wait(&run->done, &run->lock);
    }
    pthread_mutex_unlock(&run->lock);
    double seconds = now() - start;
    t2_serve_engine_close(e);
    return seconds;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int parse(int argc, char **argv, options *o) {
    *o = (options){.model = T2_SOURCE_DIR "/assets/default-model", .adaptation = "base",
                   .streams = 8, .turns = 4,
                   .new_tokens = 48, .rounds = 3, .threads = 1};
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) return -1;
        if (strcmp(a, "--model") == 0) o->model = v;
        else if (strcmp(a, "--store") == 0) o->store = v;
        else if (strcmp(a, "--bundle") == 0) o->bundle = v;
        else if (strcmp(a, "--adaptation") == 0) o->adaptation = v;
        else if (strcmp(a, "--streams") == 0) o->streams = strtoll(v, NULL, 10);
        else if (strcmp(a, "--slots") == 0) o->slots = strtoll(v, NULL, 10);
        else if (strcmp(a, "--turns") == 0) o->turns = strtoll(v, NULL, 10);
        else if (strcmp(a, "--new") == 0) o->new_tokens = strtoll(v, NULL, 10);
        else if (strcmp(a, "--rounds") == 0) o->rounds = strtoll(v, NULL, 10);
        else if (strcmp(a, "--threads") == 0) o->threads = strtoll(v, NULL, 10);
        else return -1;
    }
    if (o->slots == 0) o->slots = o->streams;
    int ok = (o->store == NULL) == (o->bundle == NULL) && o->slots >= 1 && o->streams >= 1 &&
             o->streams <= MAX_STREAMS && o->turns >= 2 && o->turns <= MAX_TURNS &&
             o->new_tokens >= 1 && o->rounds >= 1 && o->rounds <= MAX_ROUNDS && o->threads >= 0;
    return ok ? 0 : -1;
}

int main(int argc, char **argv) {
    options o;
    if (parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: bench_serve_chat [--model DIR] [--store S --bundle B "
                "--adaptation NAME] [--streams 1..32] [--slots N] [--turns 2..16] [--new N] "
                "[--rounds 1..16] [--threads N]\n");
        return 2;
    }
    printf("bench_serve_chat: %s, %lld conversations of %lld turns on %s (each turn sends "
           "the whole conversation), %lld slots, up to %lld new tokens a turn, best of %lld "
           "rounds, %lld thread(s)\n", o.model, (long long)o.streams, (long long)o.turns,
           o.adaptation, (long long)o.slots,
           (long long)o.new_tokens, (long long)o.rounds, (long long)o.threads);
    static chat_run runs[2]; /* [0] without prompt reuse, [1] with */
    double best[2] = {0}, *firsts[2];
    int64_t sent[2] = {0}, prefilled[2] = {0}, differ = 0;
    for (int k = 0; k < 2; k++) {
        pthread_mutex_init(&runs[k].lock, NULL);
        pthread_cond_init(&runs[k].done, NULL);
        firsts[k] = t2_alloc_array((size_t)(o.rounds * o.streams * o.turns), sizeof(double));
        runs[k].first_token = firsts[k];
        runs[k].n_first = 0;
    }
    for (int64_t r = 0; r < o.rounds; r++)
        for (int j = 0; j < 2; j++) {
            int k = (int)((j + r) % 2);
            double seconds = chat_round(&o, k, &runs[k]);
            if (best[k] == 0 || seconds < best[k]) {
                best[k] = seconds;
                sent[k] = runs[k].prompt_tokens;
                prefilled[k] = runs[k].prompt_tokens - runs[k].cached_tokens;
            }
        }
    for (int64_t i = 0; i < o.streams; i++)
        for (int64_t t = 0; t < o.turns; t++)
            differ += strcmp(runs[0].conv[i].answer[t], runs[1].conv[i].answer[t]) != 0;
    double median[2];
    printf("%-14s %9s %9s %15s %10s %30s\n", "prompt reuse", "seconds", "turns/s",
           "prompt tokens", "prefilled", "first token, turns 2+ (median)");
    for (int k = 0; k < 2; k++) {
        qsort(firsts[k], (size_t)runs[k].n_first, sizeof(double), compare_doubles);
        median[k] = firsts[k][runs[k].n_first / 2];
        printf("%-14s %9.3f %9.1f %15lld %10lld %27.1f ms\n", k ? "on" : "off", best[k],
               (double)(o.streams * o.turns) / best[k], (long long)sent[k],
               (long long)prefilled[k], 1e3 * median[k]);
    }
    printf("on / off: wall time %.2f, tokens prefilled %.2f, first token %.2f; answers: %s\n",
           best[1] / best[0], (double)prefilled[1] / (double)prefilled[0],
           median[1] / median[0], differ == 0 ? "the same in every turn" : "differ");
    if (differ > 0)
        printf("(%lld of %lld turns answered differently: a near-tie summed in another "
               "order)\n", (long long)differ, (long long)(o.streams * o.turns));
    for (int k = 0; k < 2; k++) {
        t2_free(firsts[k]);
        pthread_cond_destroy(&runs[k].done);
        pthread_mutex_destroy(&runs[k].lock);
    }
    return 0;
}

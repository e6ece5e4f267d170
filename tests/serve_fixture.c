/* What the serve engine's tests share (see serve_fixture.h). */
#include "serve_fixture.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "check.h"
#include "serve_inputs.h"

const char *const t2_serve_fixture_questions[3] = {
    "Question: What is 12 + 7?\nAnswer:",
    "Question: Reverse the list [3, 1, 2].\nAnswer:",
    "Question: Tom has 3 apples and eats one. How many are left?\nAnswer:",
};

int t2_serve_fixture_open(t2_serve_fixture *fx, const char *dir) {
    memset(fx, 0, sizeof *fx);
    fx->form = T2_SERVE_FORM_COMPOSED;
    fx->model_path = t2_check_source_path("assets/default-model");
    if (t2_serve_inputs_make(fx->model_path, dir, &fx->store_path, &fx->bundle_path) != 0)
        return -1;
    t2_error err = {{0}};
    if (t2_model_dir_load(&fx->model, fx->model_path, &err) != 0 ||
        t2_bundle_read(&fx->bundle, fx->bundle_path, &err) != 0 ||
        t2_decomposition_store_open(&fx->store, fx->store_path, &err) != 0 ||
        t2_adapt_init(&fx->adapt, &fx->model, &fx->bundle, &fx->store, 0, &err) != 0) {
        CHECK(0, "fixture: %s", err.msg);
        return -1;
    }
    return 0;
}

void t2_serve_fixture_close(t2_serve_fixture *fx, const char *dir) {
    t2_adapt_free(&fx->adapt);
    t2_decomposition_store_close(&fx->store);
    t2_bundle_free(&fx->bundle);
    t2_model_dir_free(&fx->model);
    if (fx->store_path != NULL) unlink(fx->store_path);
    if (fx->bundle_path != NULL) unlink(fx->bundle_path);
    rmdir(dir);
    t2_free(fx->model_path);
    t2_free(fx->store_path);
    t2_free(fx->bundle_path);
}

t2_serve_engine *t2_serve_fixture_engine(t2_serve_fixture *fx, int64_t slots, int64_t queue,
                                         int64_t context, t2_serve_routing routing) {
    t2_serve_engine_options o = {.model = fx->model_path, .store = fx->store_path,
                                 .bundle = fx->bundle_path, .routing = routing, .slots = slots,
                                 .queue = queue, .context = context, .threads = 1,
                                 .form = fx->form, .no_prompt_reuse = fx->no_prompt_reuse};
    t2_serve_engine *e = NULL;
    t2_error err = {{0}};
    CHECK(t2_serve_engine_open(&e, &o, &err) == 0, "open: %s", err.msg);
    return e;
}

t2_serve_request t2_serve_fixture_completion(const char *model, const char *prompt,
                                             int64_t max_tokens) {
    return (t2_serve_request){.model = model, .prompt = prompt, .max_tokens = max_tokens,
                              .temperature = 0.0f, .top_p = 1.0f};
}

int64_t t2_serve_fixture_encode(t2_serve_fixture *fx, const char *text, int32_t **ids) {
    return t2_prompt_encoder_encode(&fx->model.prompt, text, ids);
}

/* ---- collecting a request's callbacks ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int gate_closed;  /* gated requests wait in on_text while set */
static int gate_reached; /* a gated request is waiting */

static void on_text(void *ctx, const char *text, size_t len) {
    t2_serve_collect *c = ctx;
    pthread_mutex_lock(&mu);
    if (c->len + len < T2_SERVE_COLLECT_TEXT) {
        memcpy(c->text + c->len, text, len);
        c->len += len;
        c->text[c->len] = '\0';
    }
    c->pieces++;
    if (c->gated) {
        gate_reached = 1;
        pthread_cond_broadcast(&cv);
        while (gate_closed) pthread_cond_wait(&cv, &mu);
    }
    pthread_mutex_unlock(&mu);
}

static void on_done(void *ctx, const t2_serve_result *r) {
    t2_serve_collect *c = ctx;
    pthread_mutex_lock(&mu);
    c->done_calls++;
    c->result = *r;
    snprintf(c->adaptation, sizeof c->adaptation, "%s", r->adaptation);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

t2_serve_callbacks t2_serve_collect_callbacks(t2_serve_collect *c) {
    return (t2_serve_callbacks){on_text, on_done, c};
}

int64_t t2_serve_collect_submit(t2_serve_engine *e, const t2_serve_request *r,
                                t2_serve_collect *c) {
    t2_serve_callbacks cb = t2_serve_collect_callbacks(c);
    t2_serve_refusal refusal = 0;
    t2_error err = {{0}};
    int64_t id = t2_serve_engine_submit(e, r, &cb, &refusal, &err);
    CHECK(id > 0, "submit %s: refused %d: %s", r->model, (int)refusal, err.msg);
    return id;
}

int t2_serve_collect_wait(int (*pred)(const t2_serve_collect *), const t2_serve_collect *c,
                          const char *what) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&mu);
    int rc = 0;
    while (!pred(c) && rc == 0) rc = pthread_cond_timedwait(&cv, &mu, &until);
    int ok = pred(c);
    pthread_mutex_unlock(&mu);
    CHECK(ok, "%s: not reached within 60 s", what);
    return ok;
}

int t2_serve_collect_done(const t2_serve_collect *c) { return c->done_calls > 0; }

int t2_serve_collect_gated(const t2_serve_collect *c) {
    (void)c;
    return gate_reached;
}

void t2_serve_collect_gate(int closed) {
    pthread_mutex_lock(&mu);
    gate_closed = closed;
    gate_reached = 0;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

void t2_serve_collect_lock(void) { pthread_mutex_lock(&mu); }
void t2_serve_collect_unlock(void) { pthread_mutex_unlock(&mu); }

void t2_serve_collect_same_text(const t2_serve_collect *c, const char *want, const char *what) {
    CHECK(c->done_calls == 1 && !c->result.cancelled && strcmp(c->text, want) == 0,
          "%s: %d on_done, cancelled %d, text '%s'; expected one on_done and '%s'", what,
          c->done_calls, c->result.cancelled, c->text, want);
}

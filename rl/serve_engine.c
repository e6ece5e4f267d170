/* The serve engine: opening (model, bundle, store, every expert's W' composed once), the
 * bounded queue, the engine thread and the public calls (see serve_engine.h; the ownership
 * rules are in serve_impl.h). A request's step is in serve_batch.c, its checks in
 * serve_request.c.
 * Capacity: a submit is accepted while the jobs queued or in slots are fewer than
 * slots + queue (a request that finds a free slot does not wait for one).
 * Reference: vLLM's engine loop (continuous batching, a scheduler admitting requests
 * between steps). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/log.h"
#include "base/memory.h"
#include "linalg/blis_setup.h"
#include "model/fingerprint.h"
#include "model/safetensors.h"
#include "model/worker_pool.h"
#include "rl/adapt.h"
#include "rl/evaluate.h"
#include "rl/serve_impl.h"

enum { SERVE_MAX_ROWS = 512 }; /* forward rows per step (decode rows + prefill chunks) */

double t2_serve_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- opening ---- */

static int check_options(const t2_serve_engine_options *o, t2_error *err) {
    if (o->model == NULL) return t2_error_set(err, "model: not set; expected a model folder");
    if (o->slots < 1)
        return t2_error_set(err, "slots: %lld; expected at least 1", (long long)o->slots);
    if (o->queue < 0)
        return t2_error_set(err, "queue: %lld; expected at least 0", (long long)o->queue);
    if (o->context < 0)
        return t2_error_set(err, "context: %lld; expected 0 (the model's) or more positions",
                            (long long)o->context);
    if (o->threads < 0)
        return t2_error_set(err, "threads: %d; expected 0 (every CPU) or more", o->threads);
    if (o->routing != T2_SERVE_ROUTE_PROMPT && o->routing != T2_SERVE_ROUTE_CLASSIFIER)
        return t2_error_set(err, "routing: %d; expected prompt or classifier", (int)o->routing);
    if (o->bundle != NULL && o->store == NULL)
        return t2_error_set(err, "store: not set; expected the model's decomposition store "
                            "(t2 decompose), which the bundle's experts need");
    return 0;
}

/* The bundle, checked against the model: svf experts, routable names, none called base or
 * auto, a classifier when routing asks it. */
static int open_bundle(t2_serve_engine *e, const t2_serve_engine_options *o, t2_error *err) {
    if (t2_bundle_read(&e->bundle, o->bundle, err) != 0) return -1;
    char fp[T2_FINGERPRINT_CHARS];
    if (t2_model_fingerprint_dir(o->model, fp, err) != 0 ||
        t2_bundle_check_model(&e->bundle, fp, o->model, o->bundle, err) != 0)
        return -1;
    if (e->bundle.experts[0].options.method != T2_ADAPTER_SVF)
        return t2_error_set(err, "%s: holds %s experts; expected svf experts (served experts "
                            "are singular-value masks)", o->bundle,
                            t2_adapter_method_name(e->bundle.experts[0].options.method));
    for (int k = 0; k < e->bundle.n; k++)
        if (strcmp(e->bundle.categories[k], "base") == 0 ||
            strcmp(e->bundle.categories[k], "auto") == 0)
            return t2_error_set(err, "%s: has an expert named '%s', a name serve gives the base "
                                "model or the routing; expected other expert names", o->bundle,
                                e->bundle.categories[k]);
    t2_adapt_strategy strategy;
    const char *name = o->routing == T2_SERVE_ROUTE_CLASSIFIER ? "classifier" : "prompt";
    if (t2_adapt_strategy_parse(&strategy, name, &e->bundle, o->bundle, err) != 0)
        return t2_error_prefix(err, "routing");
    e->n_experts = e->bundle.n;
    return 0;
}

static int open_store(t2_serve_engine *e, const t2_serve_engine_options *o, t2_error *err) {
    if (t2_decomposition_store_open(&e->store, o->store, err) != 0) return -1;
    t2_safetensors st;
    if (t2_safetensors_open(&st, o->model, err) != 0) return -1;
    int status = t2_decomposition_store_check_model(&e->store, &st, o->model, err);
    t2_safetensors_close(&st);
    return status;
}

/* The experts' W' copies (`copies` bytes) against the memory available (base/memory.h):
 * when they would not fit, expert_form composed is refused and auto runs factored, which
 * makes none. */
static int fit_copies(t2_serve_engine *e, int64_t copies, t2_error *err) {
    if (e->form == T2_SERVE_FORM_FACTORED) return 0;
    int64_t available = t2_memory_available();
    if (available < 0 || copies <= available) return 0;
    char need[16], have[16];
    t2_memory_format(need, copies);
    t2_memory_format(have, available);
    if (e->form == T2_SERVE_FORM_COMPOSED)
        return t2_error_set(err, "expert_form composed: the experts' W' copies take %s, more "
                            "than the %s of memory available; expected expert_form factored "
                            "(no copies) or auto", need, have);
    t2_log(T2_LOG_WARN, "serve: the experts' W' copies would take %s, more than the %s of "
           "memory available: they run in factored form, with no copies", need, have);
    e->form = T2_SERVE_FORM_FACTORED;
    return 0;
}

/* Every expert's (and the classifier's) W' in its own copy of the targets; under
 * expert_form factored no copy: the groups' targets are absent, and every step runs them in
 * factored form. */
static int compose_experts(t2_serve_engine *e, t2_error *err) {
    int members = e->n_experts + (e->classifier >= 0 ? 1 : 0);
    t2_expert *all = t2_alloc_array((size_t)members, sizeof *all);
    memcpy(all, e->bundle.experts, (size_t)e->n_experts * sizeof *all);
    if (e->classifier >= 0) all[e->n_experts] = e->bundle.classifier;
    int status = t2_mixture_init(&e->mixture, all, members, 0, &e->model.cfg, &e->store, err);
    t2_free(all);
    if (status != 0) return -1;
    const char **names = t2_adapter_target_names(&e->mixture.adapter);
    int n = e->mixture.adapter.n;
    int64_t copies = (int64_t)members * (int64_t)sizeof(float) *
                     t2_model_weights_private_floats(&e->model.cfg, names, n);
    if (fit_copies(e, copies, err) != 0) {
        t2_free(names);
        return -1;
    }
    if (e->form != T2_SERVE_FORM_FACTORED) e->composed_bytes = copies;
    float *alpha = t2_alloc_array((size_t)members, sizeof *alpha);
    for (int k = 0; k < members; k++) {
        t2_model_weights *w = &e->composed[1 + k];
        e->weights[1 + k] = w;
        if (e->form == T2_SERVE_FORM_FACTORED) {
            t2_model_weights_share_absent(w, &e->model.weights, &e->model.cfg, names, n);
            continue;
        }
        t2_model_weights_share(w, &e->model.weights, &e->model.cfg, names, n);
        memset(alpha, 0, (size_t)members * sizeof *alpha);
        alpha[k] = 1.0f;
        t2_mixture_compose(&e->mixture, alpha, w);
    }
    t2_free(alpha);
    t2_free(names);
    return 0;
}

/* The names, the prompt encoders and the stop strings. */
static int prepare_prompts(t2_serve_engine *e, t2_error *err) {
    t2_prompt_settings chat = t2_prompt_settings_default();
    if (t2_model_dir_set_prompt(&e->model, &chat, err) != 0) return -1;
    t2_prompt_settings plain = chat;
    plain.format = (char *)"plain";
    if (t2_prompt_encoder_init(&e->plain, e->model.tok, &e->model.tok_config, &plain, err) != 0)
        return -1;
    e->n_route_stops = t2_evaluate_stop_strings(&e->model.prompt, NULL, e->route_stops);
    for (; e->model.prompt.stops[e->n_chat_stops] != NULL; e->n_chat_stops++)
        e->chat_stops[e->n_chat_stops] = e->model.prompt.stops[e->n_chat_stops];
    e->n_names = 1 + e->n_experts;
    e->names = t2_alloc_array((size_t)(e->n_names + 2), sizeof *e->names);
    e->names[0] = "base";
    for (int k = 0; k < e->n_experts; k++) e->names[1 + k] = e->bundle.categories[k];
    if (e->n_experts > 0) e->names[e->n_names] = "auto";
    return 0;
}

static void *engine_main(void *arg);

/* Everything of open but the engine thread: options checked, e filled; 0 or -1 with err. */
static int load(t2_serve_engine *e, const t2_serve_engine_options *options, t2_error *err) {
    e->classifier = -1;
    e->routing = options->routing;
    e->n_slots = options->slots;
    e->form = options->form;
    e->queue_limit = options->queue;
    e->prompt_reuse = !options->no_prompt_reuse;
    t2_blis_setup(options->threads, 1);
    int status = options->bundle != NULL ? open_bundle(e, options, err) : 0;
    if (status == 0) status = t2_model_dir_load(&e->model, options->model, err);
    if (status == 0) status = prepare_prompts(e, err);
    if (status == 0) {
        int64_t own = e->model.cfg.max_position_embeddings;
        e->context = options->context > 0 ? options->context : own;
        if (e->context > own)
            status = t2_error_set(err, "context: %lld positions; expected at most the model's "
                                  "%lld (max_position_embeddings)", (long long)e->context,
                                  (long long)own);
    }
    if (status == 0 && e->n_experts > 0) status = open_store(e, options, err);
    if (status == 0) {
        if (e->n_experts > 0 && e->routing == T2_SERVE_ROUTE_CLASSIFIER)
            e->classifier = 1 + e->n_experts;
        e->n_groups = 1 + e->n_experts + (e->classifier >= 0 ? 1 : 0);
        e->composed = t2_alloc_zero((size_t)e->n_groups * sizeof *e->composed);
        e->weights = t2_alloc_zero((size_t)e->n_groups * sizeof *e->weights);
        e->weights[0] = &e->model.weights;
        if (e->n_experts > 0) status = compose_experts(e, err);
    }
    if (status != 0) return -1;
    int64_t rows = e->n_slots > SERVE_MAX_ROWS ? e->n_slots : SERVE_MAX_ROWS;
    t2_forward_init(&e->forward, &e->model.cfg, &e->model.weights, rows, e->context);
    t2_serve_form_prepare(e);
    t2_kv_cache_init_typed(&e->cache, &e->model.cfg, e->n_slots, e->context, options->kv_cache);
    e->logits = t2_alloc((size_t)(e->n_slots * e->model.cfg.vocab_size) * sizeof(float));
    e->batch = t2_alloc_array((size_t)e->n_slots, sizeof *e->batch);
    e->batch_slot = t2_alloc_array((size_t)e->n_slots, sizeof *e->batch_slot);
    e->slots = t2_alloc_zero((size_t)e->n_slots * sizeof *e->slots);
    e->held_ids = t2_alloc_array((size_t)(e->n_slots * e->context), sizeof *e->held_ids);
    for (int64_t s = 0; s < e->n_slots; s++) e->slots[s].held = e->held_ids + s * e->context;
    e->routed = t2_alloc_zero((size_t)e->n_names * sizeof *e->routed);
    return 0;
}

typedef struct load_call {
    t2_serve_engine *e;
    const t2_serve_engine_options *options;
    t2_error *err;
    int status;
} load_call;

static void load_aside(void *arg) {
    load_call *call = arg;
    call->status = load(call->e, call->options, call->err);
}

int t2_serve_engine_open(t2_serve_engine **out, const t2_serve_engine_options *options,
                         t2_error *err) {
    *out = NULL;
    if (check_options(options, err) != 0) return -1;
    t2_serve_engine *e = t2_alloc_zero(sizeof *e);
    /* composing and loading run BLIS's OpenMP threads: on a thread that ends before the
     * engine thread starts, so only the engine's OpenMP workers live on (worker_pool.h) */
    load_call call = {e, options, err, -1};
    if (t2_worker_pool_run_aside(load_aside, &call) != 0)
        t2_error_set(err, "engine: cannot start a thread; expected a system with threads");
    if (call.status != 0) {
        t2_serve_engine_close(e);
        return -1;
    }
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->work, NULL);
    pthread_cond_init(&e->idle, NULL);
    if (pthread_create(&e->thread, NULL, engine_main, e) != 0) {
        t2_error_set(err, "engine: cannot start its thread; expected a system with threads");
        t2_serve_engine_close(e);
        return -1;
    }
    e->started = 1;
    *out = e;
    return 0;
}

const char *const *t2_serve_engine_models(const t2_serve_engine *e) {
    return (const char *const *)e->names;
}

/* ---- the engine thread ---- */

/* Under the lock: takes slot s's job out (its result from the slot) onto *done. */
static void release_slot(t2_serve_engine *e, int64_t s, int cancelled, t2_serve_job **done) {
    t2_serve_slot *slot = &e->slots[s];
    t2_serve_job *job = slot->job;
    t2_serve_result *r = &job->result;
    r->cancelled = cancelled;
    r->finish = slot->gen.finish;
    r->prompt_tokens = job->n_prompt;
    r->cached_tokens = slot->routing ? 0 : slot->reused;
    r->completion_tokens = slot->routing ? 0 : slot->gen.n_tokens;
    r->route_tokens = slot->routing ? job->n_route_prompt + slot->gen.n_tokens :
                                      slot->route_tokens;
    r->queued_seconds = slot->admitted - job->submitted;
    if (!job->is_auto) job->adaptation = t2_strdup(e->names[job->group]);
    else if (slot->routing) job->adaptation = t2_strdup("auto");
    else job->adaptation = t2_strdup_printf("auto:%s", e->names[1 + slot->route]);
    if (cancelled) e->cancelled++;
    else {
        e->prompt_tokens += job->n_prompt;
        e->cached_tokens += r->cached_tokens;
        e->routed[slot->group]++;
    }
    slot->job = NULL;
    e->n_active--;
    t2_serve_slot_end(e, s);
    job->next = *done;
    *done = job;
}

/* Under the lock: cancels the queued jobs marked so (every one when all). */
static void drop_queued(t2_serve_engine *e, int all, double now, t2_serve_job **done) {
    t2_serve_job **link = &e->head, *last = NULL;
    while (*link != NULL) {
        t2_serve_job *job = *link;
        if (!all && !job->cancel) {
            last = job;
            link = &job->next;
            continue;
        }
        *link = job->next;
        e->n_queued--;
        e->cancelled++;
        job->result.cancelled = 1;
        job->result.prompt_tokens = job->n_prompt;
        job->result.queued_seconds = now - job->submitted;
        job->adaptation = t2_strdup(job->is_auto ? "auto" : e->names[job->group]);
        job->next = *done;
        *done = job;
    }
    e->tail = last;
}

/* Without the lock: every on_done of the list, then the jobs freed. */
static void finish_jobs(t2_serve_engine *e, t2_serve_job *done) {
    int64_t n = 0;
    double now = t2_serve_now();
    while (done != NULL) {
        t2_serve_job *job = done;
        done = job->next;
        job->result.adaptation = job->adaptation;
        job->result.total_seconds = now - job->submitted;
        job->cb.on_done(job->cb.ctx, &job->result);
        t2_serve_job_free(job);
        n++;
    }
    if (n == 0) return;
    pthread_mutex_lock(&e->lock);
    e->pending -= n;
    if (e->pending == 0) pthread_cond_broadcast(&e->idle);
    pthread_mutex_unlock(&e->lock);
}

static void *engine_main(void *arg) {
    t2_serve_engine *e = arg;
    pthread_mutex_lock(&e->lock);
    for (;;) {
        while (!e->stopping && e->head == NULL && e->n_active == 0)
            pthread_cond_wait(&e->work, &e->lock);
        if (e->head == NULL && e->n_active == 0) break; /* stopping */
        double now = t2_serve_now();
        int expired = e->draining && now >= e->deadline;
        t2_serve_job *done = NULL;
        drop_queued(e, expired, now, &done);
        for (int64_t s = 0; s < e->n_slots; s++)
            if (e->slots[s].job != NULL && (expired || e->slots[s].job->cancel))
                release_slot(e, s, 1, &done);
        while (e->head != NULL) {
            int64_t s = t2_serve_slot_pick(e, e->head); /* the one whose cache suits it */
            if (s < 0) break;
            t2_serve_job *job = e->head;
            e->head = job->next;
            if (e->head == NULL) e->tail = NULL;
            e->n_queued--;
            e->n_active++;
            e->slots[s].job = job;
            e->slots[s].admitted = now;
            e->slots[s].pending = NULL; /* t2_serve_slot_begin below */
        }
        int64_t active = e->n_active;
        pthread_mutex_unlock(&e->lock);

        /* slots[s].job is written by this thread only: reading it unlocked is safe */
        for (int64_t s = 0; s < e->n_slots; s++)
            if (e->slots[s].job != NULL && e->slots[s].pending == NULL)
                t2_serve_slot_begin(e, s);
        finish_jobs(e, done);
        done = NULL;
        int64_t sampled = active > 0 ? t2_serve_batch_step(e) : 0;

        pthread_mutex_lock(&e->lock);
        if (active > 0) {
            e->steps++;
            e->factored_steps += e->step_form != T2_FORWARD_COMPOSED;
            if (e->step_decode_rows > 0) {
                e->decode_steps++;
                e->decode_rows += e->step_decode_rows;
                e->decode_seconds += e->step_seconds;
            }
        }
        e->completion_tokens += sampled;
        for (int64_t s = 0; s < e->n_slots; s++)
            if (e->slots[s].job != NULL && e->slots[s].done) release_slot(e, s, 0, &done);
        pthread_mutex_unlock(&e->lock);
        finish_jobs(e, done);
        pthread_mutex_lock(&e->lock);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

/* ---- the public calls ---- */

int64_t t2_serve_engine_submit(t2_serve_engine *e, const t2_serve_request *request,
                               const t2_serve_callbacks *cb, t2_serve_refusal *refusal,
                               t2_error *err) {
    t2_serve_job *job = NULL;
    int status = t2_serve_job_make(e, request, cb, &job, refusal, err);
    pthread_mutex_lock(&e->lock);
    if (status == 0 && (e->draining || e->stopping)) {
        *refusal = T2_SERVE_BUSY;
        status = t2_error_set(err, "engine: stopping; expected requests before the shutdown");
    } else if (status == 0 && e->n_queued + e->n_active >= e->n_slots + e->queue_limit) {
        *refusal = T2_SERVE_BUSY;
        status = t2_error_set(err, "queue: full (%lld requests waiting); expected fewer "
                              "concurrent requests, retry later", (long long)e->n_queued);
    }
    int64_t id = -1;
    if (status != 0) {
        e->refused++;
    } else {
        id = job->id = ++e->next_id;
        if (e->tail != NULL) e->tail->next = job;
        else e->head = job;
        e->tail = job;
        e->n_queued++;
        e->pending++;
        e->requests++;
        pthread_cond_signal(&e->work);
    }
    pthread_mutex_unlock(&e->lock);
    if (status != 0) t2_serve_job_free(job);
    return id;
}

void t2_serve_engine_cancel(t2_serve_engine *e, int64_t id) {
    pthread_mutex_lock(&e->lock);
    for (t2_serve_job *job = e->head; job != NULL; job = job->next)
        if (job->id == id) job->cancel = 1;
    for (int64_t s = 0; s < e->n_slots; s++)
        if (e->slots[s].job != NULL && e->slots[s].job->id == id) e->slots[s].job->cancel = 1;
    pthread_mutex_unlock(&e->lock);
}

void t2_serve_engine_stats(t2_serve_engine *e, t2_serve_stats *stats) {
    int64_t *routed = stats->routed;
    pthread_mutex_lock(&e->lock);
    *stats = (t2_serve_stats){
        .requests = e->requests,
        .refused = e->refused,
        .cancelled = e->cancelled,
        .prompt_tokens = e->prompt_tokens,
        .cached_tokens = e->cached_tokens,
        .completion_tokens = e->completion_tokens,
        .queued = e->n_queued,
        .active = e->n_active,
        .steps = e->steps,
        .factored_steps = e->factored_steps,
        .decode_steps = e->decode_steps,
        .decode_rows = e->decode_rows,
        .decode_seconds = e->decode_seconds,
        .composed_bytes = e->composed_bytes,
        .names = (const char *const *)e->names,
        .routed = routed,
        .n_names = e->n_names,
    };
    if (routed != NULL) memcpy(routed, e->routed, (size_t)e->n_names * sizeof *routed);
    pthread_mutex_unlock(&e->lock);
}

void t2_serve_engine_drain(t2_serve_engine *e, double grace_seconds) {
    pthread_mutex_lock(&e->lock);
    double deadline = t2_serve_now() + (grace_seconds > 0 ? grace_seconds : 0);
    if (!e->draining || deadline < e->deadline) e->deadline = deadline;
    e->draining = 1;
    pthread_cond_signal(&e->work);
    while (e->pending > 0) pthread_cond_wait(&e->idle, &e->lock);
    pthread_mutex_unlock(&e->lock);
}

void t2_serve_engine_close(t2_serve_engine *e) {
    if (e == NULL) return;
    if (e->started) {
        t2_serve_engine_drain(e, 0);
        pthread_mutex_lock(&e->lock);
        e->stopping = 1;
        pthread_cond_signal(&e->work);
        pthread_mutex_unlock(&e->lock);
        pthread_join(e->thread, NULL);
        pthread_cond_destroy(&e->idle);
        pthread_cond_destroy(&e->work);
        pthread_mutex_destroy(&e->lock);
    }
    for (int64_t s = 0; e->slots != NULL && s < e->n_slots; s++) t2_serve_slot_end(e, s);
    t2_free(e->slots);
    t2_free(e->held_ids);
    t2_free(e->batch_slot);
    t2_free(e->batch);
    t2_free(e->logits);
    t2_kv_cache_free(&e->cache);
    t2_forward_free(&e->forward);
    t2_serve_form_free(e);
    t2_free(e->routed);
    for (int g = 1; e->composed != NULL && g < e->n_groups; g++)
        if (e->weights[g] != NULL) t2_model_weights_free(&e->composed[g]);
    t2_free(e->composed);
    t2_free(e->weights);
    t2_mixture_free(&e->mixture);
    t2_decomposition_store_close(&e->store);
    t2_free(e->names);
    t2_prompt_encoder_free(&e->plain);
    t2_model_dir_free(&e->model);
    t2_bundle_free(&e->bundle);
    t2_free(e);
}

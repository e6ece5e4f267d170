/* A serve request checked and turned into a job (see serve_impl.h): every refusal of
 * serve_engine.h is decided here, on the submitting thread, before anything is queued.
 * Prompts: chat messages rendered in the model's chat format (model/prompt_format.h) and
 * encoded with no ids added (the format writes its own BOS), or joined as the plain format
 * does with the BOS the tokenizer adds; a completion prompt is its raw text with that BOS.
 * "auto" also gets the routing prompt "Question: Classify: <question>\nAnswer:" encoded as
 * rl/adapt.c encodes it (the model's prompt encoder).
 * UTF-8: RFC 3629 (no overlong forms, surrogates or code points past U+10FFFF). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "rl/adapt.h"
#include "rl/serve_impl.h"
#include "rl/task.h"

/* 1 when s[0..len) is valid UTF-8 (RFC 3629). */
static int valid_utf8(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0) lo = 0xA0;      /* overlong */
            if (c == 0xED) hi = 0x9F;      /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0) lo = 0x90;      /* overlong */
            if (c == 0xF4) hi = 0x8F;      /* past U+10FFFF */
        } else {
            return 0;
        }
        if (len - i <= n) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xC0) != 0x80) return 0;
        i += n + 1;
    }
    return 1;
}

static int check_text(const char *text, const char *what, t2_error *err) {
    if (text == NULL) return t2_error_set(err, "%s: not set; expected a string", what);
    if (!valid_utf8((const unsigned char *)text, strlen(text)))
        return t2_error_set(err, "%s: not valid UTF-8; expected UTF-8 text", what);
    return 0;
}

/* The weights index of a served model name, -1 for "auto", -2 when not served. */
static int find_model(const t2_serve_engine *e, const char *name) {
    if (strcmp(name, "base") == 0) return 0;
    for (int k = 0; k < e->n_experts; k++)
        if (strcmp(name, e->bundle.categories[k]) == 0) return 1 + k;
    if (e->n_experts > 0 && strcmp(name, "auto") == 0) return -1;
    return -2;
}

static int unknown_model(const t2_serve_engine *e, const char *name, t2_error *err) {
    char known[T2_ERROR_MAX / 2] = "";
    for (int i = 0; e->names[i] != NULL; i++) {
        size_t used = strlen(known);
        snprintf(known + used, sizeof known - used, "%s%s", i > 0 ? ", " : "", e->names[i]);
    }
    return t2_error_set(err, "model: '%.200s' is not served; expected one of %s", name, known);
}

/* Everything but the prompt: 0 or -1 with err (all 400). */
static int check_fields(const t2_serve_request *r, t2_error *err) {
    if (r->messages != NULL && r->prompt != NULL)
        return t2_error_set(err, "request: both messages and prompt set; expected one of them");
    if (r->messages == NULL && r->prompt == NULL)
        return t2_error_set(err, "request: neither messages nor prompt set; expected one");
    if (r->messages != NULL && r->n_messages < 1)
        return t2_error_set(err, "messages: empty; expected at least one message");
    for (int i = 0; r->messages != NULL && i < r->n_messages; i++) {
        char what[64];
        snprintf(what, sizeof what, "messages[%d].role", i);
        if (check_text(r->messages[i].role, what, err) != 0) return -1;
        const char *role = r->messages[i].role;
        if (strcmp(role, "system") != 0 && strcmp(role, "user") != 0 &&
            strcmp(role, "assistant") != 0)
            return t2_error_set(err, "%s: '%.100s' is not a role t2 serves; expected system, "
                                "user or assistant", what, role);
        snprintf(what, sizeof what, "messages[%d].content", i);
        if (check_text(r->messages[i].content, what, err) != 0) return -1;
    }
    if (r->prompt != NULL && check_text(r->prompt, "prompt", err) != 0) return -1;
    if (r->max_tokens < 0)
        return t2_error_set(err, "max_tokens: %lld; expected at least 1 (0: up to the context)",
                            (long long)r->max_tokens);
    if (!(r->temperature >= 0.0f) || !isfinite(r->temperature))
        return t2_error_set(err, "temperature: %g; expected a number >= 0",
                            (double)r->temperature);
    if (!(r->top_p > 0.0f && r->top_p <= 1.0f))
        return t2_error_set(err, "top_p: %g; expected a number in (0, 1]", (double)r->top_p);
    if (r->n_stop < 0 || r->n_stop > T2_SERVE_MAX_STOPS || (r->n_stop > 0 && r->stop == NULL))
        return t2_error_set(err, "stop: %d strings; expected 0 to %d", r->n_stop,
                            T2_SERVE_MAX_STOPS);
    for (int i = 0; i < r->n_stop; i++) {
        char what[32];
        snprintf(what, sizeof what, "stop[%d]", i);
        if (check_text(r->stop[i], what, err) != 0) return -1;
        if (r->stop[i][0] == '\0')
            return t2_error_set(err, "%s: empty; expected a non-empty string", what);
    }
    return 0;
}

/* ids = [bos] + the tokens of text (heap in *ids), their number returned. */
static int64_t encode_with_bos(const t2_serve_engine *e, const char *text, int32_t **ids) {
    int32_t *body = NULL;
    int64_t n = t2_tokenizer_encode(e->model.tok, text, strlen(text), &body);
    if (e->plain.bos_id < 0) {
        *ids = body;
        return n;
    }
    *ids = t2_alloc_array((size_t)(n + 1), sizeof **ids);
    (*ids)[0] = e->plain.bos_id;
    if (n > 0) memcpy(*ids + 1, body, (size_t)n * sizeof **ids);
    t2_free(body);
    return n + 1;
}

/* The answering prompt's ids into job: 0, or -1 with err (a conversation the chat format
 * refuses, no tokens). */
static int encode_prompt(const t2_serve_engine *e, const t2_serve_request *r, t2_serve_job *job,
                         t2_error *err) {
    if (r->prompt != NULL) {
        job->n_prompt = encode_with_bos(e, r->prompt, &job->prompt);
    } else {
        const t2_prompt_encoder *pe = &e->model.prompt;
        t2_chat_tokens tokens = {pe->bos_text, pe->eos_text, pe->default_system};
        char *text = t2_prompt_format_render(pe->format, r->messages, r->n_messages, 1, &tokens,
                                             err);
        if (text == NULL) return t2_error_prefix(err, "messages");
        if (t2_prompt_encoder_is_chat(pe))
            job->n_prompt = t2_tokenizer_encode(pe->tok, text, strlen(text), &job->prompt);
        else
            job->n_prompt = encode_with_bos(e, text, &job->prompt);
        t2_free(text);
    }
    if (job->n_prompt < 1)
        return t2_error_set(err, "%s: no tokens; expected a prompt of at least one token",
                            r->prompt != NULL ? "prompt" : "messages");
    return 0;
}

/* auto: the routing prompt of the last user message (else the last message) or of the
 * completion prompt; a text in the task format "Question: <q>\nAnswer:" is routed on <q>,
 * as rl/adapt.c routes its prompts. */
static void encode_route(const t2_serve_engine *e, const t2_serve_request *r, t2_serve_job *job) {
    static const char head[] = "Question: ", tail[] = "\nAnswer:";
    const char *question = r->prompt;
    if (question == NULL) {
        question = r->messages[r->n_messages - 1].content;
        for (int i = r->n_messages - 1; i >= 0; i--)
            if (strcmp(r->messages[i].role, "user") == 0) {
                question = r->messages[i].content;
                break;
            }
    }
    size_t len = strlen(question), nh = sizeof head - 1, nt = sizeof tail - 1;
    if (len >= nh + nt && memcmp(question, head, nh) == 0 &&
        memcmp(question + len - nt, tail, nt) == 0) {
        question += nh;
        len -= nh + nt;
    }
    static const char label[] = "Classify: ";
    char *classify = t2_alloc(sizeof label + len);
    memcpy(classify, label, sizeof label - 1);
    memcpy(classify + sizeof label - 1, question, len);
    classify[sizeof label - 1 + len] = '\0';
    char *prompt = t2_task_prompt_make(classify);
    job->n_route_prompt = t2_prompt_encoder_encode(&e->model.prompt, prompt, &job->route_prompt);
    t2_free(prompt);
    t2_free(classify);
}

static int check_ids(const t2_serve_engine *e, const int32_t *ids, int64_t n, const char *what,
                     t2_error *err) {
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= e->model.cfg.vocab_size)
            return t2_error_set(err, "%s: token %lld is id %d, outside the model's vocabulary; "
                                "expected 0 <= id < %lld", what, (long long)i, ids[i],
                                (long long)e->model.cfg.vocab_size);
    return 0;
}

/* The context limits: 0 or -1 with err; sets the max tokens of both passes. */
static int fit_context(const t2_serve_engine *e, const t2_serve_request *r, t2_serve_job *job,
                       t2_error *err) {
    const char *what = r->prompt != NULL ? "prompt" : "messages";
    if (check_ids(e, job->prompt, job->n_prompt, what, err) != 0) return -1;
    if (job->n_prompt >= e->context)
        return t2_error_set(err, "%s: %lld tokens; expected fewer than the context of %lld "
                            "positions", what, (long long)job->n_prompt, (long long)e->context);
    job->max_tokens = r->max_tokens > 0 ? r->max_tokens : e->context - job->n_prompt;
    if (job->n_prompt + job->max_tokens > e->context)
        return t2_error_set(err, "max_tokens: %lld with a prompt of %lld tokens is past the "
                            "context of %lld positions; expected at most %lld",
                            (long long)r->max_tokens, (long long)job->n_prompt,
                            (long long)e->context, (long long)(e->context - job->n_prompt));
    if (!job->is_auto) return 0;
    if (check_ids(e, job->route_prompt, job->n_route_prompt, what, err) != 0) return -1;
    if (job->n_route_prompt >= e->context)
        return t2_error_set(err, "%s: the routing prompt of auto takes %lld tokens; expected "
                            "fewer than the context of %lld positions", what,
                            (long long)job->n_route_prompt, (long long)e->context);
    int64_t room = e->context - job->n_route_prompt;
    job->route_max_tokens = room < T2_ADAPT_ROUTE_TOKENS ? room : T2_ADAPT_ROUTE_TOKENS;
    return 0;
}

void t2_serve_job_free(t2_serve_job *job) {
    if (job == NULL) return;
    for (int i = 0; i < job->n_stops; i++) t2_free(job->stops[i]);
    t2_free(job->stops);
    t2_free(job->prompt);
    t2_free(job->route_prompt);
    t2_free(job->adaptation);
    t2_free(job);
}

int t2_serve_job_make(const t2_serve_engine *e, const t2_serve_request *r,
                      const t2_serve_callbacks *cb, t2_serve_job **out,
                      t2_serve_refusal *refusal, t2_error *err) {
    T2_ASSERT(r != NULL && cb != NULL && cb->on_done != NULL);
    *out = NULL;
    *refusal = T2_SERVE_BAD_REQUEST;
    if (check_text(r->model, "model", err) != 0) return -1;
    int group = find_model(e, r->model);
    if (group == -2) {
        *refusal = T2_SERVE_UNKNOWN_MODEL;
        return unknown_model(e, r->model, err);
    }
    if (check_fields(r, err) != 0) return -1;
    t2_serve_job *job = t2_alloc_zero(sizeof *job);
    job->cb = *cb;
    job->is_auto = group == -1;
    job->group = group < 0 ? 0 : group;
    job->sampler = (t2_sampler_params){.temperature = r->temperature, .top_k = 0,
                                       .top_p = r->top_p};
    job->seed = r->seed;
    int status = encode_prompt(e, r, job, err);
    if (status == 0 && job->is_auto) encode_route(e, r, job);
    if (status == 0) status = fit_context(e, r, job, err);
    if (status != 0) {
        t2_serve_job_free(job);
        return -1;
    }
    job->n_stops = r->n_stop;
    job->stops = t2_alloc_array((size_t)(r->n_stop > 0 ? r->n_stop : 1), sizeof *job->stops);
    for (int i = 0; i < r->n_stop; i++) job->stops[i] = t2_strdup(r->stop[i]);
    job->submitted = t2_serve_now();
    *out = job;
    return 0;
}

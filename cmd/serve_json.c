/* Request bodies in, answer bodies out, for `t2 serve` (see serve_json.h). */
#include "cmd/serve_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

enum { MAX_STOPS = 4 }; /* OpenAI's limit */

int t2_serve_json_error_set(t2_serve_api_error *e, int status, const char *code,
                            const char *param, const char *fmt, ...) {
    e->status = status;
    e->type = status >= 500 ? "server_error" : "invalid_request_error";
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param != NULL ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

/* A json_dumps result as a t2 heap string. */
static char *dump(json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    char *out = t2_strdup(s);
    free(s);
    return out;
}

char *t2_serve_json_error(const t2_serve_api_error *e) {
    /* The message may quote bytes of the request: it is cleaned to UTF-8 first. */
    size_t n = strlen(e->message), clean_len = 0;
    char *clean = t2_alloc(3 * n + 1);
    t2_serve_json_utf8_clean(e->message, n, 1, clean, &clean_len);
    json_t *err = json_pack("{s:s%,s:s,s:o,s:s}", "message", clean, clean_len, "type", e->type,
                            "param", e->param[0] ? json_string(e->param) : json_null(),
                            "code", e->code);
    t2_free(clean);
    return dump(json_pack("{s:o}", "error", err));
}

/* Length of the valid UTF-8 sequence at s[0..left) (RFC 3629: no overlong forms, no
 * surrogates, at most U+10FFFF); 0 when invalid; -1 when valid so far but cut short. */
static int utf8_sequence(const unsigned char *s, size_t left) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    int n;
    unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else return 0;
    for (int i = 1; i < n; i++) {
        if ((size_t)i >= left) return -1;
        unsigned char lower = i == 1 ? lo : 0x80, upper = i == 1 ? hi : 0xBF;
        if (s[i] < lower || s[i] > upper) return 0;
    }
    return n;
}

size_t t2_serve_json_utf8_clean(const char *in, size_t len, int final, char *out,
                                size_t *out_len) {
    const unsigned char *s = (const unsigned char *)in;
    size_t read = 0, written = 0;
    while (read < len) {
        int n = utf8_sequence(s + read, len - read);
        if (n < 0 && !final) break;
        if (n <= 0) {
            memcpy(out + written, "\xEF\xBF\xBD", 3);
            written += 3;
            read++;
            continue;
        }
        memcpy(out + written, s + read, (size_t)n);
        written += (size_t)n;
        read += (size_t)n;
    }
    *out_len = written;
    return read;
}

/* The offset of the first byte of body that is not valid UTF-8, or len. */
static size_t utf8_invalid_at(const char *body, size_t len) {
    const unsigned char *s = (const unsigned char *)body;
    for (size_t i = 0; i < len;) {
        int n = utf8_sequence(s + i, len - i);
        if (n <= 0) return i;
        i += (size_t)n;
    }
    return len;
}

/* Optional integer field: 0 when absent (value untouched), 1 when read, -1 with e. */
static int read_int(json_t *root, const char *key, int64_t min, int64_t *value,
                    t2_serve_api_error *e) {
    json_t *v = json_object_get(root, key);
    if (v == NULL || json_is_null(v)) return 0;
    if (!json_is_integer(v))
        return t2_serve_json_error_set(e, 400, "invalid_type", key,
                                       "%s: not an integer; expected an integer >= %lld", key,
                                       (long long)min);
    if (json_integer_value(v) < min)
        return t2_serve_json_error_set(e, 400, "invalid_value", key,
                                       "%s: %lld; expected an integer >= %lld", key,
                                       (long long)json_integer_value(v), (long long)min);
    *value = json_integer_value(v);
    return 1;
}

/* Optional number field in [min, max] (min excluded when open_min). */
static int read_number(json_t *root, const char *key, double min, double max, int open_min,
                       float *value, t2_serve_api_error *e) {
    json_t *v = json_object_get(root, key);
    if (v == NULL || json_is_null(v)) return 0;
    double x = json_number_value(v);
    if (!json_is_number(v) || !isfinite(x) || x < min || x > max || (open_min && x == min))
        return t2_serve_json_error_set(e, 400, "invalid_value", key,
                                       "%s: not a number in %s%g, %g]; expected one", key,
                                       open_min ? "(" : "[", min, max);
    *value = (float)x;
    return 1;
}

static int read_bool(json_t *obj, const char *key, int *value, t2_serve_api_error *e) {
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) return 0;
    if (!json_is_boolean(v))
        return t2_serve_json_error_set(e, 400, "invalid_type", key,
                                       "%s: not a boolean; expected true or false", key);
    *value = json_is_true(v);
    return 1;
}

/* A message's content: a string, or an array of {"type": "text", "text": ...} parts joined
 * into *joined (heap) ; null is "". */
static int read_content(json_t *content, int i, const char **text, char **joined,
                        t2_serve_api_error *e) {
    if (content == NULL || json_is_null(content)) {
        *text = "";
        return 0;
    }
    if (json_is_string(content)) {
        *text = json_string_value(content);
        return 0;
    }
    if (!json_is_array(content))
        return t2_serve_json_error_set(e, 400, "invalid_type", "messages",
                                       "messages[%d].content: not a string or an array of text "
                                       "parts; expected one", i);
    size_t total = 1, k;
    json_t *part;
    json_array_foreach(content, k, part) {
        json_t *type = json_object_get(part, "type"), *t = json_object_get(part, "text");
        if (!json_is_string(type) || strcmp(json_string_value(type), "text") != 0 ||
            !json_is_string(t))
            return t2_serve_json_error_set(e, 400, "invalid_value", "messages",
                                           "messages[%d].content[%zu]: not a text part; "
                                           "expected {\"type\": \"text\", \"text\": ...}", i, k);
        total += json_string_length(t);
    }
    *joined = t2_alloc(total);
    size_t at = 0;
    json_array_foreach(content, k, part) {
        json_t *t = json_object_get(part, "text");
        memcpy(*joined + at, json_string_value(t), json_string_length(t));
        at += json_string_length(t);
    }
    (*joined)[at] = '\0';
    *text = *joined;
    return 0;
}

static int read_messages(t2_serve_json_request *r, t2_serve_api_error *e) {
    json_t *msgs = json_object_get(r->root, "messages");
    if (!json_is_array(msgs))
        return t2_serve_json_error_set(e, 400, msgs == NULL ? "missing_required_parameter"
                                       : "invalid_type", "messages",
                                       "messages: %s; expected an array of messages",
                                       msgs == NULL ? "missing" : "not an array");
    size_t n = json_array_size(msgs);
    if (n == 0)
        return t2_serve_json_error_set(e, 400, "invalid_value", "messages",
                                       "messages: empty; expected at least one message");
    if (n > 1000000)
        return t2_serve_json_error_set(e, 400, "invalid_value", "messages",
                                       "messages: %zu; expected at most 1000000", n);
    r->messages = t2_alloc_array(n, sizeof *r->messages);
    r->texts = t2_alloc_array(n, sizeof *r->texts);
    r->request.messages = r->messages;
    r->request.n_messages = (int)n;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(msgs, i), *role = json_object_get(m, "role");
        if (!json_is_object(m) || !json_is_string(role))
            return t2_serve_json_error_set(e, 400, "invalid_value", "messages",
                                           "messages[%zu]: %s; expected an object with a "
                                           "role and a content", i,
                                           json_is_object(m) ? "no role" : "not an object");
        r->messages[i].role = json_string_value(role);
        if (read_content(json_object_get(m, "content"), (int)i, &r->messages[i].content,
                         &r->texts[i], e) != 0)
            return -1;
    }
    return 0;
}

static int read_prompt(t2_serve_json_request *r, t2_serve_api_error *e) {
    json_t *p = json_object_get(r->root, "prompt");
    if (json_is_array(p) && json_array_size(p) == 1 && json_is_string(json_array_get(p, 0)))
        p = json_array_get(p, 0);
    if (!json_is_string(p))
        return t2_serve_json_error_set(e, 400, p == NULL ? "missing_required_parameter"
                                       : "invalid_type", "prompt",
                                       "prompt: %s; expected a string", p == NULL ? "missing"
                                       : "not a string (or an array of one string)");
    r->request.prompt = json_string_value(p);
    return 0;
}

static int read_stop(t2_serve_json_request *r, t2_serve_api_error *e) {
    json_t *stop = json_object_get(r->root, "stop");
    if (stop == NULL || json_is_null(stop)) return 0;
    size_t n = json_is_string(stop) ? 1 : json_is_array(stop) ? json_array_size(stop) : 0;
    if ((!json_is_string(stop) && !json_is_array(stop)) || n > MAX_STOPS)
        return t2_serve_json_error_set(e, 400, "invalid_value", "stop",
                                       "stop: not a string or an array of at most %d strings; "
                                       "expected one", MAX_STOPS);
    r->stop = t2_alloc_array(n > 0 ? n : 1, sizeof *r->stop);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_is_string(stop) ? stop : json_array_get(stop, i);
        if (!json_is_string(s) || json_string_length(s) == 0)
            return t2_serve_json_error_set(e, 400, "invalid_value", "stop",
                                           "stop[%zu]: %s; expected a non-empty string", i,
                                           json_is_string(s) ? "empty" : "not a string");
        r->stop[i] = json_string_value(s);
    }
    r->request.stop = r->stop;
    r->request.n_stop = (int)n;
    return 0;
}

static int read_fields(t2_serve_json_request *r, uint64_t default_seed,
                       t2_serve_api_error *e) {
    json_t *root = r->root, *model = json_object_get(root, "model");
    if (!json_is_string(model) || json_string_length(model) == 0)
        return t2_serve_json_error_set(e, 400, model == NULL ? "missing_required_parameter"
                                       : "invalid_value", "model",
                                       "model: %s; expected the name of a served model "
                                       "(GET /v1/models)", model == NULL ? "missing"
                                       : "not a non-empty string");
    r->request.model = json_string_value(model);
    if ((r->kind == T2_SERVE_CHAT ? read_messages(r, e) : read_prompt(r, e)) != 0) return -1;
    int64_t max_tokens = r->kind == T2_SERVE_CHAT ? 0 : 16;
    if (read_int(root, "max_tokens", 1, &max_tokens, e) < 0) return -1;
    if (r->kind == T2_SERVE_CHAT &&
        read_int(root, "max_completion_tokens", 1, &max_tokens, e) < 0)
        return -1;
    r->request.max_tokens = max_tokens;
    r->request.temperature = 1.0f;
    r->request.top_p = 1.0f;
    if (read_number(root, "temperature", 0.0, 2.0, 0, &r->request.temperature, e) < 0 ||
        read_number(root, "top_p", 0.0, 1.0, 1, &r->request.top_p, e) < 0)
        return -1;
    json_t *s = json_object_get(root, "seed");
    if (s != NULL && !json_is_null(s) && !json_is_integer(s))
        return t2_serve_json_error_set(e, 400, "invalid_type", "seed",
                                       "seed: not an integer; expected one");
    r->request.seed = json_is_integer(s) ? (uint64_t)json_integer_value(s) : default_seed;
    int64_t n = 1;
    if (read_int(root, "n", 1, &n, e) < 0) return -1;
    if (n != 1)
        return t2_serve_json_error_set(e, 400, "invalid_value", "n",
                                       "n: %lld; expected 1 (one choice per request)",
                                       (long long)n);
    if (read_stop(r, e) != 0 || read_bool(root, "stream", &r->stream, e) < 0) return -1;
    json_t *so = json_object_get(root, "stream_options");
    if (so != NULL && !json_is_null(so) && !json_is_object(so))
        return t2_serve_json_error_set(e, 400, "invalid_type", "stream_options",
                                       "stream_options: not an object; expected one");
    if (so != NULL && read_bool(so, "include_usage", &r->include_usage, e) < 0) return -1;
    return 0;
}

int t2_serve_json_request_read(t2_serve_json_request *r, t2_serve_kind kind, const char *body,
                               size_t len, uint64_t default_seed, t2_serve_api_error *e) {
    memset(r, 0, sizeof *r);
    r->kind = kind;
    size_t bad = utf8_invalid_at(body, len);
    if (bad < len)
        return t2_serve_json_error_set(e, 400, "invalid_utf8", NULL,
                                       "body: invalid UTF-8 at byte %zu; expected UTF-8 JSON",
                                       bad);
    json_error_t jerr;
    r->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (r->root == NULL)
        return t2_serve_json_error_set(e, 400, "invalid_json", NULL,
                                       "body: %s at line %d, column %d; expected a JSON object",
                                       jerr.text, jerr.line, jerr.column);
    if (!json_is_object(r->root)) {
        t2_serve_json_request_free(r);
        return t2_serve_json_error_set(e, 400, "invalid_json", NULL,
                                       "body: not a JSON object; expected one");
    }
    if (read_fields(r, default_seed, e) != 0) {
        t2_serve_json_request_free(r);
        return -1;
    }
    return 0;
}

void t2_serve_json_request_free(t2_serve_json_request *r) {
    for (int i = 0; r->texts != NULL && i < r->request.n_messages; i++) t2_free(r->texts[i]);
    t2_free(r->texts);
    t2_free(r->messages);
    t2_free(r->stop);
    json_decref(r->root);
    memset(r, 0, sizeof *r);
}

const char *t2_serve_json_finish(const t2_serve_result *result) {
    return result->finish == T2_FINISH_LENGTH ? "length" : "stop";
}

static json_t *usage(const t2_serve_result *result) {
    return json_pack("{s:I,s:I,s:I,s:{s:I},s:I}", "prompt_tokens",
                     (json_int_t)result->prompt_tokens, "completion_tokens",
                     (json_int_t)result->completion_tokens, "total_tokens",
                     (json_int_t)(result->prompt_tokens + result->completion_tokens),
                     "prompt_tokens_details", "cached_tokens",
                     (json_int_t)result->cached_tokens, "t2_route_tokens",
                     (json_int_t)result->route_tokens);
}

/* The fields every answer object starts with. */
static json_t *answer_object(const t2_serve_json_answer *a, const char *object) {
    json_t *o = json_pack("{s:s,s:s,s:I,s:s}", "id", a->id, "object", object, "created",
                          (json_int_t)a->created, "model", a->model);
    if (a->adaptation != NULL) json_object_set_new(o, "t2_adaptation", json_string(a->adaptation));
    return o;
}

char *t2_serve_json_completion(const t2_serve_json_answer *a, const char *text, size_t len,
                               const t2_serve_result *result) {
    int chat = a->kind == T2_SERVE_CHAT;
    json_t *o = answer_object(a, chat ? "chat.completion" : "text_completion");
    json_t *choice;
    if (chat)
        choice = json_pack("{s:i,s:{s:s,s:s%},s:n,s:s}", "index", 0, "message", "role",
                           "assistant", "content", text, len, "logprobs", "finish_reason",
                           t2_serve_json_finish(result));
    else
        choice = json_pack("{s:s%,s:i,s:n,s:s}", "text", text, len, "index", 0, "logprobs",
                           "finish_reason", t2_serve_json_finish(result));
    json_object_set_new(o, "choices", json_pack("[o]", choice));
    json_object_set_new(o, "usage", usage(result));
    return dump(o);
}

char *t2_serve_json_chunk(const t2_serve_json_answer *a, const char *text, size_t len,
                          const char *finish, int first) {
    int chat = a->kind == T2_SERVE_CHAT;
    json_t *o = answer_object(a, chat ? "chat.completion.chunk" : "text_completion");
    json_t *choice;
    if (chat) {
        json_t *delta = json_object();
        if (first) json_object_set_new(delta, "role", json_string("assistant"));
        if (len > 0 || finish == NULL)
            json_object_set_new(delta, "content", json_stringn(text, len));
        choice = json_pack("{s:i,s:o,s:n}", "index", 0, "delta", delta, "logprobs");
    } else {
        choice = json_pack("{s:s%,s:i,s:n}", "text", text, len, "index", 0, "logprobs");
    }
    json_object_set_new(choice, "finish_reason",
                        finish != NULL ? json_string(finish) : json_null());
    json_object_set_new(o, "choices", json_pack("[o]", choice));
    return dump(o);
}

char *t2_serve_json_usage_chunk(const t2_serve_json_answer *a, const t2_serve_result *result) {
    json_t *o = answer_object(a, a->kind == T2_SERVE_CHAT ? "chat.completion.chunk"
                                                          : "text_completion");
    json_object_set_new(o, "choices", json_array());
    json_object_set_new(o, "usage", usage(result));
    return dump(o);
}

char *t2_serve_json_models(const char *const *names, int64_t created) {
    json_t *data = json_array();
    for (int i = 0; names[i] != NULL; i++)
        json_array_append_new(data, json_pack("{s:s,s:s,s:I,s:s}", "id", names[i], "object",
                                              "model", "created", (json_int_t)created,
                                              "owned_by", "t2"));
    return dump(json_pack("{s:s,s:o}", "object", "list", "data", data));
}

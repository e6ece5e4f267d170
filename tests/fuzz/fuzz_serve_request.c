/* Fuzz target: the request bodies of `t2 serve` (cmd/serve_json.c), the JSON a client POSTs
 * to /v1/chat/completions and /v1/completions. Every input is read as both kinds
 * (t2_serve_json_request_read); checked beyond the sanitizers:
 *   - an accepted request has exactly what its kind needs (messages for chat, a prompt for
 *     completions), roles and contents present, sampling values in the documented ranges and
 *     at most 4 non-empty stop strings;
 *   - a refused one has status 400 and an error object that is valid JSON;
 *   - the UTF-8 cleaner of generated text (t2_serve_json_utf8_clean) reads every byte when
 *     told the text is final and writes valid UTF-8 (jansson accepts it as a JSON string).
 * Seeds: tests/fuzz/corpus/serve_request/ (the request bodies of tests/test_serve_http.sh). */
#include <jansson.h>
#include <string.h>

#include "base/alloc.h"
#include "cmd/serve_json.h"
#include "harness.h"

static void check_accepted(const t2_serve_json_request *r, t2_serve_kind kind) {
    const t2_serve_request *q = &r->request;
    if (kind == T2_SERVE_CHAT) {
        t2_fuzz_require(q->prompt == NULL && q->n_messages >= 1 && q->messages != NULL,
                        "a chat request without messages");
        for (int i = 0; i < q->n_messages; i++)
            t2_fuzz_require(q->messages[i].role != NULL && q->messages[i].content != NULL,
                            "a message without a role or content");
    } else {
        t2_fuzz_require(q->prompt != NULL && q->messages == NULL, "a completion without prompt");
    }
    t2_fuzz_require(q->model != NULL, "a request without a model");
    t2_fuzz_require(q->max_tokens >= 0, "max_tokens below 0");
    t2_fuzz_require(q->temperature >= 0.0f && q->temperature <= 2.0f, "temperature out of range");
    t2_fuzz_require(q->top_p > 0.0f && q->top_p <= 1.0f, "top_p out of range");
    t2_fuzz_require(q->n_stop >= 0 && q->n_stop <= 4, "more than 4 stop strings");
    for (int i = 0; i < q->n_stop; i++)
        t2_fuzz_require(q->stop[i] != NULL && q->stop[i][0] != '\0', "an empty stop string");
}

static void check_refused(const t2_serve_api_error *e) {
    t2_fuzz_require(e->status == 400, "a refused body whose status is not 400");
    char *text = t2_serve_json_error(e);
    json_error_t parse_error;
    json_t *root = json_loads(text, 0, &parse_error);
    t2_fuzz_require(root != NULL && json_is_object(json_object_get(root, "error")),
                    "an error object that is not valid JSON");
    json_decref(root);
    t2_free(text);
}

static void check_utf8_clean(const uint8_t *data, size_t size) {
    char *out = t2_alloc(3 * size + 1);
    size_t out_len = 0;
    size_t read = t2_serve_json_utf8_clean((const char *)data, size, 1, out, &out_len);
    t2_fuzz_require(read == size, "final text not read to its end");
    t2_fuzz_require(out_len <= 3 * size, "cleaned text longer than its room");
    json_t *s = json_stringn(out, out_len);
    t2_fuzz_require(s != NULL, "cleaned text that is not valid UTF-8");
    json_decref(s);
    t2_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int kind = T2_SERVE_CHAT; kind <= T2_SERVE_COMPLETION; kind++) {
        t2_serve_json_request r;
        t2_serve_api_error e;
        memset(&r, 0, sizeof r);
        memset(&e, 0, sizeof e);
        if (t2_serve_json_request_read(&r, (t2_serve_kind)kind, (const char *)data, size, 7,
                                       &e) == 0)
            check_accepted(&r, (t2_serve_kind)kind);
        else
            check_refused(&e);
        t2_serve_json_request_free(&r);
    }
    check_utf8_clean(data, size);
    return 0;
}

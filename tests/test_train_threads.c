/* The training pass on 2 and 3 worker threads (t2_trainer_set_threads) against 1, on the
 * fixture models with biases and tied embeddings, 3 x 70 tokens (the rows and the 6
 * (sequence, KV head) pairs split unevenly over 3 threads):
 *   - loss, logits, token_logprobs, every callback's X and Δ and every matrix gradient are
 *     bitwise equal (each row and each pair is computed the same way on any thread);
 *   - norm and bias gradients, whose sums over rows are split between threads, agree to
 *     float rounding. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "model/train.h"
#include "model_fixture.h"

enum { N_SEQS = 3, SEQ_LEN = 70, ROWS = N_SEQS * SEQ_LEN, MAX_TENSORS = 64 };

/* Sum and sum of squares of every callback's X and Δ, in call order (a fingerprint that any
 * differing value changes). */
typedef struct fingerprint {
    double values[2 * 7 * 8];
    int n;
} fingerprint;

static void fingerprint_linear(void *ctx, int64_t layer, t2_linear_kind kind, const float *x,
                               const float *delta, int64_t rows, int64_t in, int64_t out) {
    fingerprint *f = ctx;
    double sx = 0.0, sd = 0.0;
    for (int64_t i = 0; i < rows * in; i++) sx += x[i] * (double)(i % 7 + 1);
    for (int64_t i = 0; i < rows * out; i++) sd += delta[i] * (double)(i % 5 + 1);
    if (f->n + 2 <= (int)(sizeof f->values / sizeof f->values[0])) {
        f->values[f->n++] = sx;
        f->values[f->n++] = sd;
    }
}

typedef struct tensor_list {
    int n;
    char names[MAX_TENSORS][96];
    int64_t sizes[MAX_TENSORS];
    float *data[MAX_TENSORS];
} tensor_list;

static void list_tensor(void *ctx, const char *name, int n_dims, const int64_t *shape,
                        float *data) {
    tensor_list *list = ctx;
    if (list->n == MAX_TENSORS) return;
    snprintf(list->names[list->n], sizeof list->names[0], "%s", name);
    list->sizes[list->n] = n_dims == 2 ? shape[0] * shape[1] : shape[0];
    list->data[list->n++] = data;
}

typedef struct result {
    double loss;
    float *logits, logprobs[ROWS];
    t2_model_weights grads;
    fingerprint fp;
} result;

static void run(result *r, const t2_model_config *cfg, const t2_model_weights *w,
                const t2_train_batch *b, int threads) {
    t2_trainer *tr = t2_trainer_new(cfg, w, N_SEQS, SEQ_LEN);
    t2_trainer_set_threads(tr, threads);
    t2_model_weights_init(&r->grads, cfg);
    memset(&r->fp, 0, sizeof r->fp);
    t2_train_options opt = {&r->grads, fingerprint_linear, &r->fp, r->logprobs};
    t2_error err = {{0}};
    CHECK(t2_trainer_step(tr, b, &opt, &r->loss, &err) == 0, "%s", err.msg);
    r->logits = t2_alloc((size_t)(ROWS * cfg->vocab_size) * sizeof(float));
    memcpy(r->logits, t2_trainer_logits(tr), (size_t)(ROWS * cfg->vocab_size) * sizeof(float));
    t2_trainer_free(tr);
}

static void result_free(result *r) {
    t2_free(r->logits);
    t2_model_weights_free(&r->grads);
}

static void check_variant(const char *name, t2_rng *rng) {
    t2_model_config cfg;
    t2_model_weights w;
    t2_model_fixture_config(&cfg, name);
    t2_model_fixture_weights(&w, &cfg, name);
    int32_t tokens[ROWS], targets[ROWS];
    float weights[ROWS];
    for (int64_t i = 0; i < ROWS; i++) {
        tokens[i] = (int32_t)(t2_rng_next(rng) % (uint64_t)cfg.vocab_size);
        targets[i] = (int32_t)(t2_rng_next(rng) % (uint64_t)cfg.vocab_size);
        weights[i] = 1.0f / ROWS;
    }
    t2_train_batch b = {N_SEQS, SEQ_LEN, tokens, targets, weights};
    result one;
    run(&one, &cfg, &w, &b, 1);
    for (int threads = 2; threads <= 3; threads++) {
        result many;
        run(&many, &cfg, &w, &b, threads);
        char what[160];
        CHECK(many.loss == one.loss, "%s, %d threads: loss %.17g; 1 thread %.17g", name, threads,
              many.loss, one.loss);
        snprintf(what, sizeof what, "%s, %d threads: logits", name, threads);
        t2_check_close(what, many.logits, one.logits, ROWS * cfg.vocab_size, 0.0, 0.0);
        snprintf(what, sizeof what, "%s, %d threads: token_logprobs", name, threads);
        t2_check_close(what, many.logprobs, one.logprobs, ROWS, 0.0, 0.0);
        snprintf(what, sizeof what, "%s, %d threads: callback X and Δ fingerprints", name,
                 threads);
        CHECK(many.fp.n == one.fp.n && many.fp.n == 2 * 7 * (int)cfg.num_hidden_layers,
              "%s: %d and %d fingerprints", what, many.fp.n, one.fp.n);
        t2_check_close_double(what, many.fp.values, one.fp.values, one.fp.n, 0.0, 0.0);
        tensor_list gm = {0}, g1 = {0};
        t2_model_weights_visit(&many.grads, &cfg, list_tensor, &gm);
        t2_model_weights_visit(&one.grads, &cfg, list_tensor, &g1);
        for (int i = 0; i < g1.n && i < gm.n; i++) {
            int summed = strstr(g1.names[i], "norm") != NULL || strstr(g1.names[i], "bias");
            snprintf(what, sizeof what, "%s, %d threads: gradient of %s", name, threads,
                     g1.names[i]);
            t2_check_close(what, gm.data[i], g1.data[i], g1.sizes[i], summed ? 1e-7 : 0.0,
                           summed ? 1e-5 : 0.0);
        }
        result_free(&many);
    }
    result_free(&one);
    t2_model_weights_free(&w);
}

int main(void) {
    t2_blis_setup(1, 1);
    t2_rng rng;
    t2_rng_init(&rng, 31);
    check_variant("llama_bias", &rng);
    check_variant("qwen2", &rng);
    check_variant("mistral_tied", &rng);
    return t2_check_exit_code();
}

/* The training pass's forward and loss (model/train.h) on every model of
 * tests/model_fixture.h:
 *   - its logits equal the inference forward's (t2_forward_run, all-token logits, fresh KV
 *     slots) to 1e-4, for a full batch and for a smaller one (fewer, shorter sequences)
 *     in the same workspace; sequences longer than one 64-row attention block;
 *   - token_logprobs are log softmax(logits)[target] (0 where the target is out of range
 *     and the weight 0) and the loss is sum w (-log p) — a weighted sum, not a mean;
 *   - t2_trainer_loss gives the step's loss; a step with neither gradients nor callback
 *     only evaluates;
 *   - bad batches (token or weighted target outside the vocabulary, batch larger than the
 *     workspace) fail with one line and add nothing to the gradients. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "model/forward.h"
#include "model/train.h"
#include "model_fixture.h"

enum { MAX_SEQS = 3, MAX_LEN = 70 };

typedef struct batch_data {
    int32_t tokens[MAX_SEQS * MAX_LEN], targets[MAX_SEQS * MAX_LEN];
    float weights[MAX_SEQS * MAX_LEN];
    t2_train_batch batch;
} batch_data;

static void make_batch(batch_data *bd, int64_t n_seqs, int64_t seq_len, int64_t vocab,
                       t2_rng *rng) {
    int64_t rows = n_seqs * seq_len;
    for (int64_t r = 0; r < rows; r++) {
        bd->tokens[r] = (int32_t)(t2_rng_next(rng) % (uint64_t)vocab);
        bd->targets[r] = (int32_t)(t2_rng_next(rng) % (uint64_t)vocab);
        bd->weights[r] = (float)(r % 3) * 0.25f; /* 0, 0.25, 0.5, ... */
        if (r % 3 == 0) bd->targets[r] = (r % 2) ? -7 : (int32_t)vocab; /* ignored */
    }
    bd->batch = (t2_train_batch){n_seqs, seq_len, bd->tokens, bd->targets, bd->weights};
}

/* Logits of the batch's sequences from the inference forward (fresh slots). */
static void inference_logits(const t2_model_config *cfg, const t2_model_weights *w,
                             const t2_train_batch *b, float *logits) {
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, cfg, w, b->n_seqs * b->seq_len, b->seq_len);
    t2_kv_cache_init(&cache, cfg, b->n_seqs, b->seq_len);
    t2_forward_seq seqs[MAX_SEQS];
    for (int64_t s = 0; s < b->n_seqs; s++)
        seqs[s] = (t2_forward_seq){s, b->seq_len, b->tokens + s * b->seq_len, 0};
    t2_error err = {{0}};
    CHECK(t2_forward_run(&f, &cache, seqs, b->n_seqs, T2_FORWARD_LOGITS_ALL, logits, &err) == 0,
          "%s", err.msg);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
}

/* Step on the batch, compare logits, log-probabilities and loss with the inference forward. */
static void check_against_inference(const char *name, t2_trainer *tr,
                                    const t2_model_config *cfg, const t2_model_weights *w,
                                    const t2_train_batch *b) {
    int64_t rows = b->n_seqs * b->seq_len, vocab = cfg->vocab_size;
    float *want = t2_alloc_array((size_t)(rows * vocab), sizeof(float));
    float *logprobs = t2_alloc_array((size_t)rows, sizeof(float));
    double *lp_got = t2_alloc_array((size_t)rows, sizeof(double));
    double *lp_want = t2_alloc_array((size_t)rows, sizeof(double));
    inference_logits(cfg, w, b, want);
    t2_train_options opt = {NULL, NULL, NULL, logprobs};
    double loss = 0.0, loss_only = 0.0, want_loss = 0.0;
    t2_error err = {{0}};
    CHECK(t2_trainer_step(tr, b, &opt, &loss, &err) == 0, "%s: %s", name, err.msg);
    char what[128];
    snprintf(what, sizeof what, "%s %lldx%lld: training logits vs inference forward", name,
             (long long)b->n_seqs, (long long)b->seq_len);
    t2_check_close(what, t2_trainer_logits(tr), want, rows * vocab, 1e-4, 0.0);
    for (int64_t r = 0; r < rows; r++) {
        const float *row = want + r * vocab;
        double max = row[0], sum = 0.0;
        for (int64_t j = 1; j < vocab; j++) max = row[j] > max ? row[j] : max;
        for (int64_t j = 0; j < vocab; j++) sum += exp(row[j] - max);
        int32_t target = b->targets[r];
        lp_want[r] = target >= 0 && target < vocab ? row[target] - max - log(sum) : 0.0;
        lp_got[r] = logprobs[r];
        want_loss -= b->weights[r] * lp_want[r];
    }
    snprintf(what, sizeof what, "%s %lldx%lld: token_logprobs", name, (long long)b->n_seqs,
             (long long)b->seq_len);
    t2_check_close_double(what, lp_got, lp_want, rows, 2e-4, 0.0);
    CHECK(fabs(loss - want_loss) <= 1e-4 * fabs(want_loss) + 1e-5,
          "%s: loss %.9g; expected sum w (-log p) = %.9g", name, loss, want_loss);
    CHECK(t2_trainer_loss(tr, b, NULL, &loss_only, &err) == 0, "%s: %s", name, err.msg);
    CHECK(loss_only == loss, "%s: t2_trainer_loss %.9g; the step gave %.9g", name, loss_only,
          loss);
    t2_free(lp_want);
    t2_free(lp_got);
    t2_free(logprobs);
    t2_free(want);
}

static void check_variant(const char *name, t2_rng *rng) {
    t2_model_config cfg;
    t2_model_weights w;
    CHECK(t2_model_fixture_config(&cfg, name) == 0, "unknown fixture %s", name);
    t2_model_fixture_weights(&w, &cfg, name);
    t2_trainer *tr = t2_trainer_new(&cfg, &w, MAX_SEQS, MAX_LEN);
    batch_data bd;
    make_batch(&bd, MAX_SEQS, MAX_LEN, cfg.vocab_size, rng);
    check_against_inference(name, tr, &cfg, &w, &bd.batch);
    make_batch(&bd, 2, 9, cfg.vocab_size, rng);
    check_against_inference(name, tr, &cfg, &w, &bd.batch);
    t2_trainer_free(tr);
    t2_model_weights_free(&w);
}

/* A failing step: returns -1 with a message containing `expect`, leaves grads as they were. */
static void check_rejected(t2_trainer *tr, const t2_train_batch *b, t2_model_weights *grads,
                           const char *expect) {
    for (int64_t i = 0; i < grads->slab_floats; i++) grads->slab[i] = 0.5f;
    t2_train_options opt = {grads, NULL, NULL, NULL};
    double loss = -1.0;
    t2_error err = {{0}};
    CHECK(t2_trainer_step(tr, b, &opt, &loss, &err) == -1, "a bad batch was accepted (%s)",
          expect);
    CHECK(strstr(err.msg, expect) != NULL, "error '%s'; expected it to mention '%s'", err.msg,
          expect);
    int64_t touched = 0;
    for (int64_t i = 0; i < grads->slab_floats; i++) touched += grads->slab[i] != 0.5f;
    CHECK(touched == 0, "a rejected batch changed %lld gradient values", (long long)touched);
    fprintf(stderr, "ok   rejected: %s\n", err.msg);
}

static void test_bad_batches(t2_rng *rng) {
    t2_model_config cfg;
    t2_model_weights w, grads;
    t2_model_fixture_config(&cfg, "llama");
    t2_model_fixture_weights(&w, &cfg, "llama");
    t2_model_weights_init(&grads, &cfg);
    t2_trainer *tr = t2_trainer_new(&cfg, &w, 2, 8);
    batch_data bd;
    make_batch(&bd, 2, 8, cfg.vocab_size, rng);
    bd.tokens[11] = (int32_t)cfg.vocab_size;
    check_rejected(tr, &bd.batch, &grads, "sequence 1, token 3: id 300 is outside the vocabulary");
    bd.tokens[11] = 5;
    bd.tokens[0] = -1;
    check_rejected(tr, &bd.batch, &grads, "sequence 0, token 0: id -1");
    bd.tokens[0] = 5;
    bd.weights[4] = 0.1f;
    bd.targets[4] = 400;
    check_rejected(tr, &bd.batch, &grads, "position 4: target 400 is outside the vocabulary");
    bd.targets[4] = 3;
    bd.batch.n_seqs = 3;
    check_rejected(tr, &bd.batch, &grads, "3 sequences of 8 tokens; expected 1 to 2 sequences");
    bd.batch = (t2_train_batch){1, 9, bd.tokens, bd.targets, bd.weights};
    check_rejected(tr, &bd.batch, &grads, "of 1 to 8 tokens");
    /* out-of-range targets where the weight is 0 are fine (make_batch puts some there) */
    bd.batch = (t2_train_batch){2, 8, bd.tokens, bd.targets, bd.weights};
    t2_train_options opt = {&grads, NULL, NULL, NULL};
    double loss = 0.0;
    t2_error err = {{0}};
    CHECK(t2_trainer_step(tr, &bd.batch, &opt, &loss, &err) == 0, "%s", err.msg);
    CHECK(isfinite(loss), "loss %g", loss);
    t2_trainer_free(tr);
    t2_model_weights_free(&grads);
    t2_model_weights_free(&w);
}

int main(void) {
    t2_blis_setup(1, 1);
    t2_rng rng;
    t2_rng_init(&rng, 21);
    for (int i = 0; i < T2_MODEL_FIXTURE_VARIANTS; i++)
        check_variant(t2_model_fixture_name(i), &rng);
    test_bad_batches(&rng);
    t2_trainer_free(NULL);
    return t2_check_exit_code();
}

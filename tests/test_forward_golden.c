/* The forward against golden logits from an independent float64 torch implementation of the
 * Hugging Face forward (tests/reference/llama_reference.py; regenerate as its docstring says).
 * For every fixture variant: the model is built from its seed, written as a model folder and
 * loaded back through config.json / model.safetensors (the path real models take); its
 * weights' fingerprint must match the golden file's (else the fixture changed, not the
 * forward), then every token's logits must match within 1e-4, both in one prefill and as a
 * short prefill followed by one-token decode steps. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "model/forward.h"
#include "model/safetensors.h"
#include "model_fixture.h"

typedef struct golden {
    double sum, sum_sq;
    int64_t n_tokens, rows, cols;
    int32_t *tokens;
    float *logits; /* rows x cols */
} golden;

/* Reads the next whitespace-separated word that must equal `key`. */
static int expect_key(char **p, const char *key) {
    while (**p == ' ' || **p == '\n') (*p)++;
    size_t len = strlen(key);
    if (strncmp(*p, key, len) != 0) return -1;
    *p += len;
    return 0;
}

static int read_golden(golden *g, const char *path, const char *variant) {
    char *text = NULL;
    size_t len = 0;
    t2_error err = {{0}};
    if (t2_file_read(path, &text, &len, &err) != 0) {
        CHECK(0, "%s", err.msg);
        return -1;
    }
    char *p = strchr(text, '\n'); /* skip the comment line */
    int ok = p != NULL && expect_key(&p, "variant") == 0;
    if (ok) {
        while (*p == ' ') p++;
        ok = strncmp(p, variant, strlen(variant)) == 0;
        p = strchr(p, '\n');
    }
    ok = ok && p != NULL && expect_key(&p, "fingerprint") == 0;
    if (ok) {
        g->sum = strtod(p, &p);
        g->sum_sq = strtod(p, &p);
        ok = expect_key(&p, "tokens") == 0;
    }
    if (ok) {
        g->n_tokens = strtoll(p, &p, 10);
        g->tokens = t2_alloc_array((size_t)g->n_tokens, sizeof(int32_t));
        for (int64_t i = 0; i < g->n_tokens; i++) g->tokens[i] = (int32_t)strtol(p, &p, 10);
        ok = expect_key(&p, "logits") == 0;
    }
    if (ok) {
        g->rows = strtoll(p, &p, 10);
        g->cols = strtoll(p, &p, 10);
        g->logits = t2_alloc_array((size_t)(g->rows * g->cols), sizeof(float));
        for (int64_t i = 0; i < g->rows * g->cols; i++) g->logits[i] = strtof(p, &p);
    }
    t2_free(text);
    CHECK(ok, "%s: not a golden file for variant %s", path, variant);
    return ok ? 0 : -1;
}

static void remove_model_dir(const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    unlink(path);
    rmdir(dir);
}

/* Writes the variant's model into dir, loads it back, and removes the folder. */
static int load_variant(const char *variant, const char *dir, t2_model_config *cfg,
                        t2_model_weights *w) {
    t2_model_config made;
    t2_model_weights built;
    t2_model_fixture_config(&made, variant);
    t2_model_fixture_weights(&built, &made, variant);
    t2_error err = {{0}};
    int rc = t2_model_fixture_write(dir, &made, &built, &err);
    t2_model_weights_free(&built);
    t2_safetensors st = {0};
    if (rc == 0) rc = t2_model_config_load(cfg, dir, &err);
    if (rc == 0) rc = t2_safetensors_open(&st, dir, &err);
    if (rc == 0) {
        t2_model_weights_init(w, cfg);
        rc = t2_model_weights_load(w, cfg, &st, &err);
    }
    t2_safetensors_close(&st);
    remove_model_dir(dir);
    CHECK(rc == 0, "%s: %s", variant, err.msg);
    return rc;
}

static void check_variant(const char *variant, const char *temp_root) {
    char rel[128], dir[512];
    snprintf(rel, sizeof rel, "tests/reference/golden/%s.txt", variant);
    snprintf(dir, sizeof dir, "%s/%s", temp_root, variant);
    char *path = t2_check_source_path(rel);
    golden g = {0};
    t2_model_config cfg;
    t2_model_weights w = {0};
    if (read_golden(&g, path, variant) != 0 || load_variant(variant, dir, &cfg, &w) != 0) {
        t2_free(path);
        return;
    }
    double sum, sum_sq;
    t2_model_fixture_fingerprint(&w, &cfg, &sum, &sum_sq);
    CHECK(fabs(sum - g.sum) <= 1e-9 * fabs(g.sum_sq) && fabs(sum_sq - g.sum_sq) <= 1e-9 * g.sum_sq,
          "%s: the fixture's weights (sum %.12g, sum of squares %.12g) are not the ones the "
          "golden file was made from (%.12g, %.12g); regenerate it (see "
          "tests/reference/llama_reference.py)", variant, sum, sum_sq, g.sum, g.sum_sq);
    CHECK(g.rows == g.n_tokens && g.cols == cfg.vocab_size, "%s: golden logits %lld x %lld",
          variant, (long long)g.rows, (long long)g.cols);

    int64_t n = g.n_tokens, vocab = cfg.vocab_size;
    float *logits = t2_alloc_array((size_t)(n * vocab), sizeof(float));
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, &cfg, &w, n, n);
    t2_kv_cache_init(&cache, &cfg, 1, n);
    t2_error err = {{0}};
    t2_forward_seq seq = {0, n, g.tokens, 0};
    CHECK(t2_forward_run(&f, &cache, &seq, 1, T2_FORWARD_LOGITS_ALL, logits, &err) == 0, "%s",
          err.msg);
    char what[160];
    snprintf(what, sizeof what, "%s: logits of %lld tokens vs golden", variant, (long long)n);
    t2_check_close(what, logits, g.logits, n * vocab, 1e-4, 0.0);

    t2_kv_cache_reset(&cache, 0);
    enum { PREFILL = 5 };
    seq = (t2_forward_seq){0, PREFILL, g.tokens, 0};
    CHECK(t2_forward_run(&f, &cache, &seq, 1, T2_FORWARD_LOGITS_LAST, logits, &err) == 0, "%s",
          err.msg);
    for (int64_t t = PREFILL; t < n; t++) {
        seq = (t2_forward_seq){0, 1, &g.tokens[t], 0};
        CHECK(t2_forward_run(&f, &cache, &seq, 1, T2_FORWARD_LOGITS_LAST, logits + t * vocab,
                             &err) == 0, "%s", err.msg);
    }
    snprintf(what, sizeof what, "%s: decoded logits vs golden", variant);
    t2_check_close(what, logits + PREFILL * vocab, g.logits + PREFILL * vocab,
                   (n - PREFILL) * vocab, 1e-4, 0.0);

    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
    t2_free(logits);
    t2_model_weights_free(&w);
    t2_free(g.tokens);
    t2_free(g.logits);
    t2_free(path);
}

int main(void) {
    t2_blis_setup(0, 1);
    char *temp_root = t2_check_temp_dir("forward_golden");
    for (int v = 0; v < T2_MODEL_FIXTURE_VARIANTS; v++)
        check_variant(t2_model_fixture_name(v), temp_root);
    rmdir(temp_root);
    t2_free(temp_root);
    return t2_check_exit_code();
}

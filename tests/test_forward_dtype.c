/* Models whose files hold BF16 or F16 weights run on those weights in place (issue 16's
 * "weights stay in their file dtype"), with the logits of their float32 twin:
 *   - t2_model_dir_load maps BF16 / F16 matrices in the file's dtype (no float32 copy: the
 *     views point into the file's mapping); F32 matrices are copied into the weights' slab;
 *   - the forward on the mapped BF16 / F16 weights gives bit for bit the logits of the same
 *     file widened to float32 (t2_model_dir_load_writable), prefill and decode, on every
 *     fixture variant (biases, tied embeddings, head_dim != d / heads) — except BF16 on the
 *     bfloat16 dot-product kernels (linalg/skinny.h), whose logits are within the BF16 bound
 *     below of the widening's;
 *   - those logits are the F32 model's within the dtype's rounding: the error relative to the
 *     logits' spread stays below a bound of some units of the dtype's roundoff (BF16 2^-8,
 *     F16 2^-11), and F16 is closer than BF16. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "linalg/skinny.h"
#include "model/forward.h"
#include "model/model_dir.h"
#include "model_fixture.h"

enum { PROMPT = 9, STEPS = 3, CAPACITY = 32 };

/* Logits of PROMPT tokens (all rows) then STEPS decode steps (one row each). */
static float *run_logits(const t2_model_dir *m) {
    int64_t vocab = m->cfg.vocab_size, rows = PROMPT + STEPS;
    float *logits = t2_alloc_array((size_t)(rows * vocab), sizeof *logits);
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, &m->cfg, &m->weights, PROMPT, CAPACITY);
    t2_kv_cache_init(&cache, &m->cfg, 1, CAPACITY);
    int32_t tokens[PROMPT + STEPS];
    for (int i = 0; i < PROMPT + STEPS; i++) tokens[i] = (int32_t)((i * 37 + 11) % vocab);
    t2_error err = {{0}};
    t2_forward_seq seq = {0, PROMPT, tokens, 0};
    CHECK(t2_forward_run(&f, &cache, &seq, 1, T2_FORWARD_LOGITS_ALL, logits, &err) == 0, "%s",
          err.msg);
    for (int s = 0; s < STEPS; s++) {
        seq = (t2_forward_seq){0, 1, tokens + PROMPT + s, 0};
        CHECK(t2_forward_run(&f, &cache, &seq, 1, T2_FORWARD_LOGITS_LAST,
                             logits + (PROMPT + s) * vocab, &err) == 0, "%s", err.msg);
    }
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
    return logits;
}

/* max |got - want| / rms(want) over n logits. */
static double relative_error(const float *got, const float *want, int64_t n) {
    double worst = 0.0, sum_sq = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]);
        worst = e > worst ? e : worst;
        sum_sq += (double)want[i] * want[i];
    }
    return worst / sqrt(sum_sq / (double)n);
}

/* 1 when the view lies inside one of the model's mapped files. */
static int in_mapping(const t2_model_dir *m, t2_weight w) {
    const t2_safetensors *st = m->weights.files;
    for (int i = 0; st != NULL && i < st->n_files; i++) {
        const unsigned char *base = st->maps[i];
        if ((const unsigned char *)w.data >= base && (const unsigned char *)w.data < base + st->map_sizes[i])
            return 1;
    }
    return 0;
}

static void check_variant(const char *variant, const char *root) {
    t2_model_config cfg;
    CHECK(t2_model_fixture_config(&cfg, variant) == 0, "variant %s", variant);
    t2_model_weights w;
    t2_model_fixture_weights(&w, &cfg, variant);
    const t2_dtype dtypes[] = {T2_DTYPE_F32, T2_DTYPE_BF16, T2_DTYPE_F16};
    const t2_weight_type types[] = {T2_WEIGHT_F32, T2_WEIGHT_BF16, T2_WEIGHT_F16};
    /* the bound on max error / rms(logits): 32 units of the dtype's roundoff (measured 12 to
     * 19 units on these variants, whose N(0, 0.2^2) weights amplify errors; a wrong
     * conversion gives errors of order 1) */
    const double bound[] = {0.0, 32.0 * 0x1p-8, 32.0 * 0x1p-11};
    /* the BF16 kernels round the activations to bfloat16 on bfloat16 weights (llama.cpp's
     * arithmetic), so there the widening's float32 products are no longer the same bits */
    t2_skinny_kernel active = t2_skinny_active_kernel();
    int bf16_dots = t2_skinny_max_rows_of(active, T2_WEIGHT_BF16) == T2_SKINNY_ALL_ROWS;
    float *f32_logits = NULL;
    double errors[3] = {0.0, 0.0, 0.0};
    int64_t n = (PROMPT + STEPS) * cfg.vocab_size;
    for (int d = 0; d < 3; d++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s-%s", root, variant, t2_dtype_name(dtypes[d]));
        t2_error err = {{0}};
        CHECK(t2_model_fixture_write_as(dir, &cfg, &w, dtypes[d], &err) == 0, "%s", err.msg);
        t2_model_dir mapped, wide;
        CHECK(t2_model_dir_load(&mapped, dir, &err) == 0, "%s", err.msg);
        CHECK(t2_model_dir_load_writable(&wide, dir, &err) == 0, "%s", err.msg);
        CHECK(t2_model_weights_matrix_type(&mapped.weights, &cfg) == (int)types[d],
              "%s %s: matrices held as %d; expected the file's dtype", variant,
              t2_dtype_name(dtypes[d]), t2_model_weights_matrix_type(&mapped.weights, &cfg));
        int want_mapped = dtypes[d] != T2_DTYPE_F32;
        CHECK(in_mapping(&mapped, mapped.weights.layers[1].w_down) == want_mapped &&
                  in_mapping(&mapped, mapped.weights.embed) == want_mapped,
              "%s %s: the matrices are %s the file's mapping; expected %s", variant,
              t2_dtype_name(dtypes[d]), want_mapped ? "not read from" : "read from",
              want_mapped ? "views into it" : "a float32 copy");
        CHECK(t2_model_weights_matrix_type(&wide.weights, &cfg) == T2_WEIGHT_F32,
              "the writable load is float32");
        float *got = run_logits(&mapped), *twin = run_logits(&wide);
        if (bf16_dots && dtypes[d] == T2_DTYPE_BF16) {
            double error = relative_error(got, twin, n);
            CHECK(error > 0.0 && error < bound[d], "%s BF16 on bfloat16 dot products: error "
                  "%.3g against the float32 widening's logits; expected within (0, %.3g)",
                  variant, error, bound[d]);
        } else {
            CHECK(memcmp(got, twin, (size_t)n * sizeof *got) == 0, "%s %s: logits on the "
                  "mapped weights differ from the float32 widening's (max error / rms %.3g)",
                  variant, t2_dtype_name(dtypes[d]), relative_error(got, twin, n));
        }
        if (d == 0) {
            f32_logits = got;
        } else {
            errors[d] = relative_error(got, f32_logits, n);
            fprintf(stderr, "%s %s: max |logit error| / rms(logits) = %.3g (bound %.3g)\n",
                    variant, t2_dtype_name(dtypes[d]), errors[d], bound[d]);
            CHECK(errors[d] > 0.0 && errors[d] < bound[d], "%s %s: error %.3g against the F32 "
                  "model; expected within (0, %.3g)", variant, t2_dtype_name(dtypes[d]),
                  errors[d], bound[d]);
            t2_free(got);
        }
        t2_free(twin);
        t2_model_dir_free(&mapped);
        t2_model_dir_free(&wide);
    }
    CHECK(errors[2] < errors[1], "%s: F16 error %.3g not below BF16's %.3g", variant, errors[2],
          errors[1]);
    t2_free(f32_logits);
    t2_model_weights_free(&w);
}

int main(void) {
    t2_blis_setup(2, 1);
    char *root = t2_check_temp_dir("forward_dtype");
    for (int i = 0; i < T2_MODEL_FIXTURE_VARIANTS; i++) check_variant(t2_model_fixture_name(i), root);
    CHECK(t2_check_remove_tree(root) == 0, "cannot remove %s", root);
    t2_free(root);
    return t2_check_exit_code();
}

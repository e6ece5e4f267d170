/* For the adapter tests (tests/test_adapter*.c): a small random model (a variant of
 * test_train_reference.h) with a real decomposition store of its block linears (double
 * ?gesdd through linalg/svd.h, stored in float as `t2 decompose` does), and plain-loop double
 * twins of the adapter's maths (model/adapter.h) to compare against. */
#ifndef T2_TESTS_TEST_ADAPTER_FIXTURE_H
#define T2_TESTS_TEST_ADAPTER_FIXTURE_H

#include <stdint.h>

#include "model/adapter.h"
#include "model/decomposition_store.h"
#include "model/targets.h"

typedef struct t2_adapter_fixture {
    t2_model_config cfg;
    t2_model_weights w;          /* the base model */
    char *dir;                   /* temporary folder holding the two files below */
    char *model_path, *store_path;
    t2_decomposition_store store; /* open on store_path */
} t2_adapter_fixture;

/* Variant `variant` of t2_train_ref_model, with intermediate_size ffn when ffn > 0 (weights
 * then redrawn N(0, 0.3²)), and a store of the targets of `set`. Aborts the test on failure. */
void t2_adapter_fixture_init(t2_adapter_fixture *f, int variant, int64_t ffn, t2_target_set set);
void t2_adapter_fixture_free(t2_adapter_fixture *f); /* removes the files */

/* The names of the store's targets (borrowed from it). */
const char *const *t2_adapter_fixture_names(const t2_adapter_fixture *f);

/* The matrix of (layer, kind) in w (rows x cols), looked up independently of the adapter. */
float *t2_adapter_fixture_weight(const t2_model_weights *w, int64_t layer, t2_linear_kind kind);

/* Parameters away from the initial point, so every term of the gradient matters: the
 * initial ones (seed) then svf sigmoid p + N(0, 0.5²), svf linear z + N(0, 0.3²), lora A as
 * initialised and B ~ N(0, 0.1²) (nonzero, else ∂L/∂A = 0). */
void t2_adapter_fixture_params(const t2_adapter *a, uint64_t seed, float *params);

/* svf: the effective singular values e (r) = c s ⊙ m of target t for parameters p (r). */
void t2_adapter_fixture_effective(const t2_adapter *a, const t2_adapter_target *t,
                                  const double *p, double *e);
/* W' of target t (rows x cols, overwritten) for its parameters p: svf U diag(e) Vᵀ, lora
 * base + alpha/k B A, in double loops. */
void t2_adapter_fixture_compose(const t2_adapter *a, const t2_adapter_target *t,
                                const double *p, double *w);

#endif

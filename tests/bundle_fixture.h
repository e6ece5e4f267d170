/* Experts built field by field for the expert and bundle tests (tests/expert_cli.c,
 * tests/bundle_cli.c, tests/test_bundle.c): any name, base-model fingerprint, method,
 * targets and values, with a fixed task config and training summary, so that what
 * `t2 inspect` prints of them is known. */
#ifndef T2_TESTS_BUNDLE_FIXTURE_H
#define T2_TESTS_BUNDLE_FIXTURE_H

#include <stdint.h>

#include "rl/expert.h"

enum { T2_BUNDLE_FIXTURE_SVF_PARAMS = 7 }; /* values of t2_bundle_fixture_svf */

/* An expert of options o over n targets (tensors[i], rows[i] x cols[i]), parameters in
 * target order from values, task as given, config "task = \"math\";\nsteps = 40;\n" and the
 * summary 40 steps, best step 30, accuracy 0.75 on 200 samples, 12.5 s, 123456 tokens,
 * 3 ranks. Free with t2_expert_free. */
void t2_bundle_fixture_expert(t2_expert *e, const char *name, const char *fingerprint,
                              const t2_adapter_options *o, const char *task, int n,
                              const char *const *tensors, const int64_t *rows,
                              const int64_t *cols, const float *values);

/* The svf expert (sigmoid, max_mult 2, renormalize) of the expert tests, named name with
 * task name: targets model.layers.0.mlp.up_proj.weight [4, 6] (values 0..3) and
 * model.layers.1.mlp.down_proj.weight [6, 3] (values 4..6). */
void t2_bundle_fixture_svf(t2_expert *e, const char *name, const char *fingerprint,
                           const float values[T2_BUNDLE_FIXTURE_SVF_PARAMS]);

/* "<dir>/<name>" as a heap string (t2_free). */
char *t2_bundle_fixture_path(const char *dir, const char *name);

#endif

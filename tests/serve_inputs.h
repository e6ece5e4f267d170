/* Test inputs of the serve engine (tests/test_serve_engine.c, and bench/bench_serve.c through
 * `test_serve_engine make DIR`): a decomposition store of a model's MLP matrices (double
 * ?gesdd, written as `t2 decompose` writes it) and a bundle of random svf experts math, code,
 * reasoning and the classifier cls. */
#ifndef T2_TESTS_SERVE_INPUTS_H
#define T2_TESTS_SERVE_INPUTS_H

/* dir/model.svd and dir/experts.t2b for the model folder at model; *store and *bundle their
 * paths (heap). 0, or -1 after a failed CHECK. */
int t2_serve_inputs_make(const char *model, const char *dir, char **store, char **bundle);

#endif

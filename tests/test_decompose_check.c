/* Checks a store written by `t2 decompose` against its model, the way a loader sees it:
 *   test_decompose_check MODEL STORE TARGETS
 * The store opens and validates, holds TARGETS matrices, matches the model's weights
 * (t2_decomposition_store_check_model), and every target W is reconstructed from the stored
 * float factors, W ~ U diag(S) V^T, with residual and orthogonality at float precision and
 * S descending. This is what proves the layout (U out x r, V in x r, row-major) for every
 * path that wrote it: LAPACK on one rank, either orientation on rank groups, any shards. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "linalg/svd.h"
#include "model/decomposition_store.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: test_decompose_check MODEL STORE TARGETS\n");
        return 2;
    }
    const char *model = argv[1], *path = argv[2];
    int want_targets = atoi(argv[3]);
    t2_safetensors st;
    t2_decomposition_store store;
    t2_error err = {{0}};
    int status = t2_safetensors_open(&st, model, &err);
    CHECK(status == 0, "%s", err.msg);
    if (status == 0) status = t2_decomposition_store_open(&store, path, &err);
    CHECK(status == 0, "%s", err.msg);
    if (status != 0) {
        t2_safetensors_close(&st);
        return t2_check_exit_code();
    }
    CHECK(store.n == want_targets, "%s holds %d targets; expected %d", path, store.n, want_targets);
    CHECK(t2_decomposition_store_check_model(&store, &st, model, &err) == 0, "%s", err.msg);
    double worst = 0.0;
    for (int i = 0; i < store.n; i++) {
        int64_t rows = store.rows[i], cols = store.cols[i], r = store.ranks[i];
        float *u = t2_alloc((size_t)(rows * r) * sizeof *u),
              *v = t2_alloc((size_t)(cols * r) * sizeof *v);
        float *s = t2_alloc((size_t)r * sizeof *s),
              *w = t2_alloc((size_t)(rows * cols) * sizeof *w);
        CHECK(t2_decomposition_store_read(&store, i, u, s, v, &err) == 0, "%s", err.msg);
        const t2_tensor_info *t = t2_safetensors_find(&st, store.names[i]);
        CHECK(t != NULL && t2_safetensors_read_f32(t, 0, rows * cols, w, &err) == 0, "%s: %s",
              store.names[i], err.msg);
        t2_svd_check c;
        t2_svd_check_local(&c, T2_PRECISION_FLOAT, w, u, s, v, rows, cols);
        CHECK(c.residual < 2e-5 && c.u_orth < 2e-5 && c.v_orth < 2e-5 && c.descending,
              "%s (%lldx%lld): residual %.3g, |U^T U - I| %.3g, |V^T V - I| %.3g, descending %d",
              store.names[i], (long long)rows, (long long)cols, c.residual, c.u_orth, c.v_orth,
              c.descending);
        worst = fmax(worst, fmax(c.residual, fmax(c.u_orth, c.v_orth)));
        t2_free(u);
        t2_free(v);
        t2_free(s);
        t2_free(w);
    }
    printf("%s: %d targets, worst residual/orthogonality %.2e\n", path, store.n, worst);
    t2_decomposition_store_close(&store);
    t2_safetensors_close(&st);
    return t2_check_exit_code();
}

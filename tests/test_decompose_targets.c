/* Target selection (model/targets.h) on a model-like safetensors file: the default set, mlp,
 * attn, globs and regexes, and the errors (nothing matches, a bad regex, a 1-D tensor
 * selected by name); then the decomposition plan (dist/decompose.h): every matrix planned
 * once, groups covering all ranks in each round, big matrices on groups, the rest balanced
 * over single ranks, the memory budget respected. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "dist/decompose.h"
#include "model/targets.h"

static const char *const matrices[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                       "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj",
                                       "mlp.down_proj"};

/* Three blocks of 7 matrices (4 x 6), their norms, embeddings and lm_head. */
static void write_model(const char *path) {
    static float data[64];
    t2_safetensors_writer w;
    t2_safetensors_writer_init(&w);
    char name[128];
    for (int layer = 0; layer < 3; layer++) {
        for (int m = 0; m < 7; m++) {
            snprintf(name, sizeof name, "model.layers.%d.%s.weight", layer, matrices[m]);
            t2_safetensors_writer_add(&w, name, T2_DTYPE_BF16, 2, (int64_t[]){4, 6}, data);
        }
        snprintf(name, sizeof name, "model.layers.%d.input_layernorm.weight", layer);
        t2_safetensors_writer_add(&w, name, T2_DTYPE_F32, 1, (int64_t[]){6}, data);
    }
    t2_safetensors_writer_add(&w, "model.embed_tokens.weight", T2_DTYPE_F32, 2, (int64_t[]){8, 6},
                              data);
    t2_safetensors_writer_add(&w, "lm_head.weight", T2_DTYPE_F32, 2, (int64_t[]){8, 6}, data);
    t2_safetensors_writer_add(&w, "model.norm.weight", T2_DTYPE_F32, 1, (int64_t[]){6}, data);
    t2_error err = {{0}};
    CHECK(t2_safetensors_writer_write(&w, path, &err) == 0, "%s", err.msg);
    t2_safetensors_writer_free(&w);
}

static void expect_count(const t2_safetensors *st, t2_target_selector sel, int want,
                         const char *first) {
    t2_target_list list;
    t2_error err = {{0}};
    char what[256];
    t2_target_selector_describe(&sel, what, sizeof what);
    int status = t2_targets_select(&list, st, "m", &sel, &err);
    CHECK(status == 0 && list.n == want, "%s: status %d (%s), %d targets; expected %d", what,
          status, err.msg, list.n, want);
    if (status == 0 && first != NULL && list.n > 0)
        CHECK(strcmp(list.items[0].name, first) == 0 && list.items[0].rows > 0,
              "%s: first target %s; expected %s", what, list.items[0].name, first);
    t2_target_list_free(&list);
}

static void expect_error(const t2_safetensors *st, t2_target_selector sel, const char *fragment) {
    t2_target_list list;
    t2_error err = {{0}};
    int status = t2_targets_select(&list, st, "m", &sel, &err);
    CHECK(status != 0 && list.n == 0 && strstr(err.msg, fragment) != NULL,
          "status %d, message '%s'; expected an error with '%s'", status, err.msg, fragment);
    t2_target_list_free(&list);
}

static void check_targets(void) {
    char *dir = t2_check_temp_dir("decompose_targets");
    size_t n = strlen(dir) + 32;
    char *path = t2_alloc(n);
    snprintf(path, n, "%s/m.safetensors", dir);
    write_model(path);
    t2_safetensors st;
    t2_error err = {{0}};
    CHECK(t2_safetensors_open(&st, path, &err) == 0, "%s", err.msg);
    expect_count(&st, (t2_target_selector){T2_TARGET_SET_ALL, NULL, NULL}, 21,
                 "model.layers.0.mlp.down_proj.weight");
    expect_count(&st, (t2_target_selector){T2_TARGET_SET_MLP, NULL, NULL}, 9, NULL);
    expect_count(&st, (t2_target_selector){T2_TARGET_SET_ATTN, NULL, NULL}, 12,
                 "model.layers.0.self_attn.k_proj.weight");
    expect_count(&st, (t2_target_selector){T2_TARGET_SET_ALL, "lm_head.weight", NULL}, 1, NULL);
    /* '*' crosses dots; 1-D norms are never targets */
    expect_count(&st, (t2_target_selector){T2_TARGET_SET_ALL, "*.weight", NULL}, 23, NULL);
    expect_count(&st, (t2_target_selector){T2_TARGET_SET_ALL, "model.layers.[02].mlp.*", NULL},
                 6, NULL);
    expect_count(&st, (t2_target_selector){T2_TARGET_SET_ALL, NULL, "layers\\.1\\..*_proj"}, 7,
                 NULL);
    expect_count(&st, (t2_target_selector){T2_TARGET_SET_ALL, NULL, "^lm_head|embed"}, 2, NULL);
    expect_error(&st, (t2_target_selector){T2_TARGET_SET_ALL, "model.layers.*.mlp.nope", NULL},
                 "m: the target selection (glob 'model.layers.*.mlp.nope') matches no matrix");
    expect_error(&st, (t2_target_selector){T2_TARGET_SET_ALL, "*norm*", NULL},
                 "matches no matrix");
    expect_error(&st, (t2_target_selector){T2_TARGET_SET_ALL, NULL, "layers.(0"},
                 "regex 'layers.(0': ");
    t2_target_set set;
    CHECK(t2_target_set_from_name("mlp", &set) == 0 && set == T2_TARGET_SET_MLP &&
              t2_target_set_from_name("MLP", &set) != 0,
          "set names");
    t2_safetensors_close(&st);
    t2_free(path);
    CHECK(t2_check_remove_tree(dir) == 0, "cannot remove %s", dir);
    t2_free(dir);
}

/* Checks the plan's invariants; returns the number of grouped jobs. */
static int check_plan(const char *what, const int64_t *rows, const int64_t *cols, int n,
                      int ranks, int64_t budget) {
    t2_decompose_plan plan;
    t2_decompose_plan_make(&plan, rows, cols, n, ranks, budget, T2_PRECISION_DOUBLE);
    int *seen = t2_alloc_array((size_t)n, sizeof *seen);
    double *load = t2_alloc_array((size_t)ranks, sizeof *load);
    for (int k = 0; k < plan.n_rounds; k++) {
        int covered = 0;
        for (int j = plan.round_start[k]; j < plan.round_start[k + 1]; j++) {
            const t2_decompose_job *job = &plan.grouped[j];
            CHECK(job->first_rank == covered && job->ranks >= 1, "%s: round %d group %d starts "
                  "at rank %d with %d ranks", what, k, j, job->first_rank, job->ranks);
            covered += job->ranks;
            seen[job->target]++;
            int64_t bytes =
                t2_svd_lapack_bytes(T2_PRECISION_DOUBLE, rows[job->target], cols[job->target]);
            CHECK(job->ranks > 1 || bytes <= budget, "%s: a matrix of %lld bytes alone on a "
                  "rank with budget %lld", what, (long long)bytes, (long long)budget);
        }
        CHECK(covered == ranks, "%s: round %d covers %d of %d ranks", what, k, covered, ranks);
    }
    double previous = 1e300, biggest = 0.0;
    for (int i = 0; i < plan.n_singles; i++) {
        const t2_decompose_job *job = &plan.singles[i];
        double cost = t2_svd_flops(rows[job->target], cols[job->target]);
        CHECK(job->ranks == 1 && job->first_rank >= 0 && job->first_rank < ranks &&
                  cost <= previous,
              "%s: single %d on rank %d costs %g after %g", what, i, job->first_rank, cost,
              previous);
        previous = cost;
        biggest = cost > biggest ? cost : biggest;
        load[job->first_rank] += cost;
        seen[job->target]++;
    }
    for (int i = 0; i < n; i++)
        CHECK(seen[i] == 1, "%s: matrix %d planned %d times", what, i, seen[i]);
    double lo = 1e300, hi = 0.0;
    for (int r = 0; r < ranks; r++) {
        lo = load[r] < lo ? load[r] : lo;
        hi = load[r] > hi ? load[r] : hi;
    }
    if (plan.n_singles >= ranks)
        CHECK(hi - lo <= biggest, "%s: single-rank loads %g .. %g differ by more than the "
              "largest matrix %g", what, lo, hi, biggest);
    int grouped = plan.n_grouped;
    t2_free(seen);
    t2_free(load);
    t2_decompose_plan_free(&plan);
    return grouped;
}

static void check_plans(void) {
    /* A 4-layer model: q, k, v, o, gate, up, down of d 512, kv 256, ffn 1408. */
    int64_t rows[28], cols[28];
    static const int64_t shapes[7][2] = {{512, 512}, {256, 512}, {256, 512}, {512, 512},
                                         {1408, 512}, {1408, 512}, {512, 1408}};
    for (int i = 0; i < 28; i++) {
        rows[i] = shapes[i % 7][0];
        cols[i] = shapes[i % 7][1];
    }
    int64_t plenty = (int64_t)1 << 40;
    CHECK(check_plan("model on 1 rank", rows, cols, 28, 1, plenty) == 0, "grouped on 1 rank");
    CHECK(check_plan("model on 2 ranks", rows, cols, 28, 2, plenty) == 0, "grouped on 2 ranks");
    CHECK(check_plan("model on 3 ranks", rows, cols, 28, 3, plenty) == 0, "grouped on 3 ranks");
    CHECK(check_plan("two matrices on 4 ranks", rows + 4, cols + 4, 2, 4, plenty) == 2,
          "two matrices on 4 ranks: expected both on groups");
    CHECK(check_plan("one matrix on 3 ranks", rows, cols, 1, 3, plenty) == 1,
          "one matrix on 3 ranks: expected a group");
    /* The gate matrix needs ~12 MB alone: with an 8 MB budget it goes to a group. */
    int64_t budget = 8 << 20;
    CHECK(check_plan("memory budget", rows, cols, 28, 3, budget) >= 2,
          "large matrices under a small budget were not grouped");
    CHECK(check_plan("no matrices", rows, cols, 0, 2, plenty) == 0, "empty plan");
}

int main(void) {
    check_targets();
    check_plans();
    return t2_check_exit_code();
}

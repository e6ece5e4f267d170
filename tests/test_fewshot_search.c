/* dist/fewshot: the few-shot search itself, before its fallback to the best single expert,
 * on synthetic objectives with a known answer (t2_fewshot_objective), on 2 ranks:
 *   - interior: examples answered only near an interior mixture α* (example j when
 *     |α - α*| < r_j), the tiebreak -|α - α*|²; every single expert answers none. The
 *     search's own answer must score on every example — so lie within r_0 = 0.05 of α* —
 *     beat every single expert, and need no fallback. With 3 experts (α* = (0.25, 0.5, 0.6))
 *     and with 2 experts per layer over 2 layers (α* = (0.3, 0.6 | 0.7, 0.4));
 *   - fallback: 3 examples seen one per iteration, one iteration: example 0 is answered
 *     near the centre, examples 1 and 2 by single experts only. The search's members win on
 *     example 0 and score 1/3 on all three; the best single expert scores 2/3, so the
 *     answer falls back to it, and the result says so with the search's own score;
 *   - every rank returns the same α bit for bit; a failed scoring on rank 1 fails the
 *     search on every rank with its message; iterations 0 is refused with one line. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "dist/fewshot.h"
#include "dist/runtime.h"

enum { MAX_DIM = 8, MAX_EXAMPLES = 8 };

typedef struct synthetic {
    int64_t dim;
    double target[MAX_DIM]; /* α* */
    double radius[MAX_EXAMPLES];
    int kind;               /* 0: interior, 1: fallback */
    int fail_rank;          /* >= 0: this rank's scorings fail */
    int rank;
} synthetic;

static double distance2(const synthetic *s, const float *alpha) {
    double sum = 0.0;
    for (int64_t d = 0; d < s->dim; d++) {
        double diff = alpha[d] - s->target[d];
        sum += diff * diff;
    }
    return sum;
}

/* 1 when alpha is (nearly) a single expert: one weight near 1, the others near 0 (one layer). */
static int is_single(const synthetic *s, const float *alpha) {
    int ones = 0, zeros = 0;
    for (int64_t d = 0; d < s->dim; d++) {
        ones += alpha[d] >= 0.99f;
        zeros += alpha[d] <= 0.01f;
    }
    return ones == 1 && zeros == s->dim - 1;
}

static int score_synthetic(void *ctx, const float *alpha, const int64_t *which, int64_t m,
                           double *score, double *tiebreak, t2_error *err) {
    const synthetic *s = ctx;
    if (s->rank == s->fail_rank) return t2_error_set(err, "synthetic: scoring failed");
    double d2 = distance2(s, alpha), correct = 0.0, tie = 0.0;
    for (int64_t j = 0; j < m; j++) {
        int64_t e = which != NULL ? which[j] : j;
        if (s->kind == 0) {
            correct += d2 < s->radius[e] * s->radius[e];
            tie -= d2;
        } else if (e == 0) {
            correct += d2 < s->radius[0] * s->radius[0];
            tie -= d2;
        } else {
            correct += is_single(s, alpha);
        }
    }
    *score = correct / (double)m;
    *tiebreak = tie / (double)m;
    return 0;
}

/* 1 when every rank holds the same n floats (bitwise). */
static int same_on_every_rank(const float *x, int64_t n) {
    float lo[MAX_DIM], hi[MAX_DIM];
    MPI_Allreduce(x, lo, (int)n, MPI_FLOAT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(x, hi, (int)n, MPI_FLOAT, MPI_MAX, MPI_COMM_WORLD);
    return memcmp(lo, hi, (size_t)n * sizeof *lo) == 0 && memcmp(lo, x, (size_t)n * sizeof *x) == 0;
}

static void check_interior(const t2_runtime *rt, int experts, int layers, const double *target) {
    synthetic s = {.dim = experts * layers, .kind = 0, .fail_rank = -1, .rank = rt->rank};
    int64_t n = 8;
    for (int64_t d = 0; d < s.dim; d++) s.target[d] = target[d];
    for (int64_t j = 0; j < n; j++) s.radius[j] = 0.05 + 0.05 * (double)j;
    t2_fewshot_objective obj = {.experts = experts, .dim = s.dim, .n = n,
                                .score = score_synthetic, .ctx = &s};
    t2_fewshot_options o = t2_fewshot_default_options(s.dim, experts);
    o.iterations = 12;
    float alpha[MAX_DIM];
    t2_fewshot_result r;
    t2_error err = {{0}};
    int status = t2_fewshot_search(rt, &obj, &o, alpha, &r, &err);
    CHECK(status == 0, "interior K=%d layers=%d: %s", experts, layers, err.msg);
    if (status != 0) return;
    double worst = 0.0;
    for (int64_t d = 0; d < s.dim; d++) worst = fmax(worst, fabs(alpha[d] - target[d]));
    CHECK(r.fallback == 0, "interior K=%d layers=%d: the search's answer (%g) fell back to "
          "expert %d (%g)", experts, layers, r.search_score, r.best_single_expert,
          r.best_single);
    CHECK(r.search_score == 1.0, "interior K=%d layers=%d: the search's answer scores %g; "
          "expected 1 (every example)", experts, layers, r.search_score);
    CHECK(worst < 0.05, "interior K=%d layers=%d: α is %g from α* at worst; expected < 0.05",
          experts, layers, worst);
    CHECK(r.best_single == 0.0 && r.search_score > r.best_single,
          "interior K=%d layers=%d: best single expert %g, search %g", experts, layers,
          r.best_single, r.search_score);
    CHECK(r.score == r.search_score && r.tiebreak == r.search_tiebreak,
          "interior: the answer (%g, %g) is not the search's (%g, %g)", r.score, r.tiebreak,
          r.search_score, r.search_tiebreak);
    CHECK(same_on_every_rank(alpha, s.dim), "interior K=%d layers=%d: α differs between ranks",
          experts, layers);
    if (rt->rank == 0)
        printf("interior K=%d layers=%d: α within %.4f of α*, score %g (best single %g), "
               "%lld evaluations\n", experts, layers, worst, r.search_score, r.best_single,
               (long long)r.evaluations);
}

static void check_fallback(const t2_runtime *rt) {
    synthetic s = {.dim = 2, .target = {0.5, 0.5}, .radius = {0.35}, .kind = 1,
                   .fail_rank = -1, .rank = rt->rank};
    t2_fewshot_objective obj = {.experts = 2, .dim = 2, .n = 3, .score = score_synthetic,
                                .ctx = &s};
    t2_fewshot_options o = t2_fewshot_default_options(2, 2);
    o.iterations = 1;
    o.batch = 1; /* iteration 0 sees example 0 alone */
    float alpha[2];
    t2_fewshot_result r;
    t2_error err = {{0}};
    int status = t2_fewshot_search(rt, &obj, &o, alpha, &r, &err);
    CHECK(status == 0, "fallback: %s", err.msg);
    if (status != 0) return;
    CHECK(fabs(r.search_score - 1.0 / 3.0) < 1e-12, "fallback: the search's own answer scores "
          "%g; expected 1/3 (example 0 only)", r.search_score);
    CHECK(fabs(r.best_single - 2.0 / 3.0) < 1e-12 && r.best_single_expert == 0,
          "fallback: best single expert %d scores %g; expected expert 0 with 2/3",
          r.best_single_expert, r.best_single);
    CHECK(r.fallback == 1 && r.score == r.best_single,
          "fallback: fallback %d, answer %g; expected 1 and the best single's %g", r.fallback,
          r.score, r.best_single);
    CHECK(alpha[0] == 1.0f && alpha[1] == 0.0f, "fallback: α = (%g, %g); expected (1, 0)",
          alpha[0], alpha[1]);
}

static void check_errors(const t2_runtime *rt) {
    synthetic s = {.dim = 2, .target = {0.5, 0.5}, .radius = {0.1}, .kind = 0,
                   .fail_rank = 1, .rank = rt->rank};
    t2_fewshot_objective obj = {.experts = 2, .dim = 2, .n = 1, .score = score_synthetic,
                                .ctx = &s};
    t2_fewshot_options o = t2_fewshot_default_options(2, 2);
    float alpha[2];
    t2_fewshot_result r;
    t2_error err = {{0}};
    int status = t2_fewshot_search(rt, &obj, &o, alpha, &r, &err);
    CHECK(status == -1, "a failed scoring on rank 1 returned %d", status);
    if (rt->size > 1)
        CHECK(strcmp(err.msg, "rank 1: synthetic: scoring failed") == 0,
              "a failed scoring on rank 1: '%s'", err.msg);
    s.fail_rank = -1;
    o.iterations = 0;
    memset(&err, 0, sizeof err);
    status = t2_fewshot_search(rt, &obj, &o, alpha, &r, &err);
    CHECK(status == -1 && strcmp(err.msg, "fewshot_iterations: 0; expected at least 1") == 0,
          "iterations 0: %d '%s'", status, err.msg);
}

int main(int argc, char **argv) {
    t2_runtime rt;
    t2_runtime_init(&rt, &argc, &argv);
    const double three[] = {0.25, 0.5, 0.6}, per_layer[] = {0.3, 0.6, 0.7, 0.4};
    check_interior(&rt, 3, 1, three);
    check_interior(&rt, 2, 2, per_layer);
    check_fallback(&rt);
    check_errors(&rt);
    int failed = t2_check_exit_code() != 0, any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    t2_runtime_finalize(&rt);
    return any;
}

/* rl/cem: the cross-entropy method finds the known optimum of toy objectives (a quadratic with
 * its optimum inside [0,1]^D for D = 3 and 12, one whose optimum lies on the faces of the box,
 * a noisy one, a plateau only the tiebreak resolves), refits the Gaussians to the elites as the
 * formulas say, orders members by score then tiebreak then first seen, keeps and re-scores the
 * best members, is reproducible per seed, and rejects bad options with one line. */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "rl/cem.h"

/* -|α - target|² (the toy objective; its maximum over [0,1]^D is at target clamped). */
static double quadratic(const float *alpha, const double *target, int64_t dim) {
    double sum = 0.0;
    for (int64_t d = 0; d < dim; d++) sum += (alpha[d] - target[d]) * (alpha[d] - target[d]);
    return -sum;
}

/* Largest |a - b| over dim values. */
static double max_diff(const float *a, const double *b, int64_t dim) {
    double worst = 0.0;
    for (int64_t d = 0; d < dim; d++) worst = fmax(worst, fabs(a[d] - b[d]));
    return worst;
}

/* Runs `iterations` of CEM with default options on the quadratic around target, each score
 * plus Gaussian noise of std `noise` (0: exact), with `flat` = 1 scoring every member 0 and
 * putting the objective in the tiebreak only. Leaves the search in c. */
static void run(t2_cem *c, const double *target, int64_t dim, int iterations, double noise,
                int flat, uint64_t seed) {
    t2_error err = {{0}};
    CHECK(t2_cem_init(c, dim, NULL, seed, &err) == 0, "init: %s", err.msg);
    float *population = t2_alloc_array((size_t)(c->population * dim), sizeof *population);
    double *scores = t2_alloc_array((size_t)c->population, sizeof *scores);
    double *tiebreak = t2_alloc_array((size_t)c->population, sizeof *tiebreak);
    t2_rng noise_rng;
    t2_rng_init(&noise_rng, seed + 1000);
    for (int it = 0; it < iterations; it++) {
        t2_cem_ask(c, population);
        for (int64_t m = 0; m < c->population; m++) {
            double f = quadratic(population + m * dim, target, dim) +
                       noise * (double)t2_rng_normal(&noise_rng);
            scores[m] = flat ? 0.0 : f;
            tiebreak[m] = flat ? f : 0.0;
        }
        t2_cem_tell(c, population, scores, tiebreak);
    }
    t2_free(population);
    t2_free(scores);
    t2_free(tiebreak);
}

/* A random interior optimum: every coordinate in [0.1, 0.9]. */
static void interior_target(double *target, int64_t dim, uint64_t seed) {
    t2_rng rng;
    t2_rng_init(&rng, seed);
    for (int64_t d = 0; d < dim; d++) target[d] = 0.1 + 0.8 * t2_rng_uniform_double(&rng);
}

static void check_interior(int64_t dim, int iterations) {
    double target[12];
    interior_target(target, dim, 77 + (uint64_t)dim);
    t2_cem c;
    run(&c, target, dim, iterations, 0.0, 0, 5);
    float best[12], mean[12];
    double score;
    t2_cem_best(&c, best, &score, NULL);
    t2_cem_mean(&c, mean);
    CHECK(max_diff(best, target, dim) <= 1e-2, "D=%lld: best member %g from the optimum",
          (long long)dim, max_diff(best, target, dim));
    CHECK(max_diff(mean, target, dim) <= 1e-2, "D=%lld: mean %g from the optimum",
          (long long)dim, max_diff(mean, target, dim));
    CHECK(score == quadratic(best, target, dim), "D=%lld: best score %g is not its objective %g",
          (long long)dim, score, quadratic(best, target, dim));
    CHECK(c.iteration == iterations, "iteration %lld", (long long)c.iteration);
    t2_cem_free(&c);
}

/* The unconstrained optimum lies outside the box in 4 of 6 coordinates: CEM must end on the
 * faces (clamped samples put members exactly there). */
static void check_boundary(void) {
    const int64_t dim = 6;
    const double target[6] = {1.4, -0.3, 0.4, 1.0, 0.0, 0.7};
    const double want[6] = {1.0, 0.0, 0.4, 1.0, 0.0, 0.7};
    t2_cem c;
    run(&c, target, dim, 40, 0.0, 0, 11);
    float best[6];
    t2_cem_best(&c, best, NULL, NULL);
    CHECK(max_diff(best, want, dim) <= 1e-2, "boundary: best member %g from the optimum",
          max_diff(best, want, dim));
    CHECK(best[0] == 1.0f && best[1] == 0.0f, "boundary: best (%g, %g) not exactly on the faces",
          best[0], best[1]);
    t2_cem_free(&c);
}

/* Scores with noise of std 0.005, far above the objective's spread over the last elites: the
 * mean still converges, the best noisy member's score overstates its true value,
 * and re-scoring the kept members with the exact objective picks the truly best of them. */
static void check_noisy(void) {
    const int64_t dim = 3;
    double target[3];
    interior_target(target, dim, 99);
    t2_cem c;
    run(&c, target, dim, 40, 0.005, 0, 21);
    float mean[3], kept[4 * 3], best[3];
    t2_cem_mean(&c, mean);
    CHECK(max_diff(mean, target, dim) <= 5e-2, "noisy: mean %g from the optimum",
          max_diff(mean, target, dim));
    double noisy_best;
    t2_cem_best(&c, best, &noisy_best, NULL);
    CHECK(noisy_best > quadratic(best, target, dim),
          "noisy: best score %g does not overstate its true value %g", noisy_best,
          quadratic(best, target, dim));
    int64_t n = t2_cem_kept(&c, kept, NULL, NULL);
    CHECK(n == 4, "noisy: %lld kept, want 4", (long long)n);
    double exact[4];
    int64_t argmax = 0;
    for (int64_t i = 0; i < n; i++) {
        exact[i] = quadratic(kept + i * dim, target, dim);
        if (exact[i] > exact[argmax]) argmax = i;
    }
    t2_cem_rescore(&c, n, exact, NULL);
    double score;
    t2_cem_best(&c, best, &score, NULL);
    CHECK(score == exact[argmax] && memcmp(best, kept + argmax * dim, sizeof best) == 0,
          "rescore: best score %g, want kept member %lld's %g", score, (long long)argmax,
          exact[argmax]);
    CHECK(max_diff(best, target, dim) <= 5e-2, "noisy: re-scored best %g from the optimum",
          max_diff(best, target, dim));
    t2_cem_free(&c);
}

/* Every score is equal: only the tiebreak carries the objective, and CEM still finds it. */
static void check_plateau(void) {
    const int64_t dim = 3;
    double target[3];
    interior_target(target, dim, 123);
    t2_cem c;
    run(&c, target, dim, 40, 0.0, 1, 31);
    float best[3];
    double score, tiebreak;
    t2_cem_best(&c, best, &score, &tiebreak);
    CHECK(max_diff(best, target, dim) <= 1e-2, "plateau: best member %g from the optimum",
          max_diff(best, target, dim));
    CHECK(score == 0.0 && tiebreak == quadratic(best, target, dim), "plateau: score %g tiebreak %g",
          score, tiebreak);
    t2_cem_free(&c);
}

/* Hand-made populations: the order (score, then tiebreak, then first seen), the kept list
 * without duplicates, and the refit of mean and std to the elites. */
static void check_order_and_refit(void) {
    t2_cem_options o = t2_cem_default_options(2);
    o.population = 5;
    o.elite_fraction = 0.4; /* 2 elites */
    o.keep = 3;
    o.std_smoothing = 0.5;
    o.min_std = 0.18;
    t2_cem c;
    t2_error err = {{0}};
    CHECK(t2_cem_init(&c, 2, &o, 1, &err) == 0, "init: %s", err.msg);
    CHECK(c.elites == 2, "elites %lld, want 2", (long long)c.elites);
    const float pop[5 * 2] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f};
    /* rows 1 and 2 tie on score 2; row 2's tiebreak is higher; rows 0 and 3 tie on both */
    const double scores[5] = {1.0, 2.0, 2.0, 1.0, 0.0};
    const double tiebreak[5] = {-1.0, -0.7, -0.5, -1.0, 5.0};
    t2_cem_tell(&c, pop, scores, tiebreak);
    float kept[3 * 2];
    double kept_scores[3], kept_tiebreaks[3];
    int64_t n = t2_cem_kept(&c, kept, kept_scores, kept_tiebreaks);
    const float want_kept[3 * 2] = {0.5f, 0.6f, 0.3f, 0.4f, 0.1f, 0.2f};
    CHECK(n == 3, "kept %lld, want 3", (long long)n);
    t2_check_close("kept members (rows 2, 1, 0)", kept, want_kept, 6, 0, 0);
    CHECK(kept_scores[0] == 2.0 && kept_tiebreaks[0] == -0.5 && kept_scores[2] == 1.0,
          "kept scores %g %g %g", kept_scores[0], kept_scores[1], kept_scores[2]);
    /* elites rows 2 and 1: mean (0.4, 0.5); their std |0.5 - 0.3| / 2 = 0.1, smoothed with the
     * initial 0.5: 0.5 · 0.1 + 0.5 · 0.5 = 0.3 */
    const double want_mean[2] = {0.4, 0.5}, want_std[2] = {0.3, 0.3};
    t2_check_close_double("refit mean", c.mean, want_mean, 2, 1e-7, 0);
    t2_check_close_double("refit std", c.std, want_std, 2, 1e-7, 0);

    /* a second tell: row 0 repeats the best α with a worse record (ignored), row 1 repeats
     * the third kept α with a better record (moves to the top), row 2 equals the old best on
     * score and tiebreak (goes after it: seen later; the last kept member falls off), rows 3
     * and 4 are worse. Elites rows 1 and 2: mean (0.05, 0.1); their std (0.05, 0.1), smoothed
     * (0.175, 0.2), floored (0.18, 0.2). */
    const float pop2[5 * 2] = {0.5f, 0.6f, 0.1f, 0.2f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f, 0.0f};
    const double scores2[5] = {0.0, 3.0, 2.0, -3.0, -4.0};
    const double tiebreak2[5] = {0.0, 0.0, -0.5, 0.0, 0.0};
    t2_cem_tell(&c, pop2, scores2, tiebreak2);
    n = t2_cem_kept(&c, kept, kept_scores, NULL);
    const float want_kept2[3 * 2] = {0.1f, 0.2f, 0.5f, 0.6f, 0.0f, 0.0f};
    CHECK(n == 3, "kept %lld, want 3", (long long)n);
    t2_check_close("kept after the second tell", kept, want_kept2, 6, 0, 0);
    CHECK(kept_scores[0] == 3.0 && kept_scores[1] == 2.0 && kept_scores[2] == 2.0,
          "kept scores %g %g %g, want 3 2 2", kept_scores[0], kept_scores[1], kept_scores[2]);
    const double want_mean2[2] = {0.05, 0.1}, want_std2[2] = {0.18, 0.2};
    t2_check_close_double("refit mean 2", c.mean, want_mean2, 2, 1e-7, 0);
    t2_check_close_double("refit std 2 (first floored)", c.std, want_std2, 2, 1e-7, 0);

    /* re-scoring: the last kept member becomes the best; the other two tie and keep order */
    const double rescores[3] = {0.5, 0.5, 0.9};
    t2_cem_rescore(&c, 3, rescores, NULL);
    n = t2_cem_kept(&c, kept, kept_scores, kept_tiebreaks);
    const float want_kept3[3 * 2] = {0.0f, 0.0f, 0.1f, 0.2f, 0.5f, 0.6f};
    t2_check_close("kept after rescore", kept, want_kept3, 6, 0, 0);
    CHECK(kept_scores[0] == 0.9 && kept_tiebreaks[0] == -INFINITY, "rescored best %g %g",
          kept_scores[0], kept_tiebreaks[0]);
    t2_cem_free(&c);
    t2_cem_free(&c); /* twice is allowed */

    /* without tiebreaks, equal scores keep row order */
    o.keep = 5;
    CHECK(t2_cem_init(&c, 2, &o, 1, &err) == 0, "init: %s", err.msg);
    const double equal[5] = {1.0, 1.0, 1.0, 1.0, 1.0};
    t2_cem_tell(&c, pop, equal, NULL);
    float all[5 * 2];
    n = t2_cem_kept(&c, all, NULL, NULL);
    CHECK(n == 5, "kept %lld, want 5", (long long)n);
    t2_check_close("equal scores in row order", all, pop, 10, 0, 0);
    t2_cem_free(&c);
}

/* Elite counts from the fraction: floor, at least 1, never more than P. */
static void check_elites(void) {
    const int64_t populations[4] = {32, 10, 3, 7};
    const double fractions[4] = {0.2, 0.3, 0.2, 1.0};
    const int64_t want[4] = {6, 3, 1, 7};
    for (int i = 0; i < 4; i++) {
        t2_cem_options o = t2_cem_default_options(4);
        o.population = populations[i];
        o.elite_fraction = fractions[i];
        t2_cem c;
        CHECK(t2_cem_init(&c, 4, &o, 0, NULL) == 0, "init");
        CHECK(c.elites == want[i], "P=%lld fraction %g: %lld elites, want %lld",
              (long long)populations[i], fractions[i], (long long)c.elites, (long long)want[i]);
        t2_cem_free(&c);
    }
    t2_cem_options d = t2_cem_default_options(4);
    CHECK(d.population == 32 && d.elite_fraction == 0.2 && d.init_mean == 0.25 &&
              d.init_std == 0.5 && d.std_smoothing == 0.4 && d.min_std == 1e-3 && d.keep == 4,
          "defaults for D=4: P %lld, fraction %g, mean %g, std %g, smoothing %g, min %g, "
          "keep %lld",
          (long long)d.population, d.elite_fraction, d.init_mean, d.init_std, d.std_smoothing,
          d.min_std, (long long)d.keep);
}

/* Samples stay in [0,1]: wide Gaussians around 0.5 clamp many to exactly 0 and 1. */
static void check_clamp(void) {
    t2_cem_options o = t2_cem_default_options(8);
    o.init_mean = 0.5;
    o.init_std = 1.0;
    t2_cem c;
    CHECK(t2_cem_init(&c, 8, &o, 3, NULL) == 0, "init");
    float pop[32 * 8];
    t2_cem_ask(&c, pop);
    int zeros = 0, ones = 0, outside = 0;
    for (int i = 0; i < 32 * 8; i++) {
        zeros += pop[i] == 0.0f;
        ones += pop[i] == 1.0f;
        outside += !(pop[i] >= 0.0f && pop[i] <= 1.0f);
    }
    CHECK(outside == 0 && zeros > 0 && ones > 0, "%d outside [0,1], %d zeros, %d ones", outside,
          zeros, ones);
    t2_cem_free(&c);
}

/* Same seed: bitwise the same populations and result; another seed: another population. */
static void check_reproducible(void) {
    const int64_t dim = 5;
    double target[5];
    interior_target(target, dim, 7);
    t2_cem a, b;
    run(&a, target, dim, 12, 0.01, 0, 42);
    run(&b, target, dim, 12, 0.01, 0, 42);
    float pa[32 * 5], pb[32 * 5];
    t2_cem_ask(&a, pa);
    t2_cem_ask(&b, pb);
    float best_a[5], best_b[5];
    double score_a, score_b;
    t2_cem_best(&a, best_a, &score_a, NULL);
    t2_cem_best(&b, best_b, &score_b, NULL);
    CHECK(memcmp(pa, pb, sizeof pa) == 0, "same seed: populations differ");
    CHECK(memcmp(best_a, best_b, sizeof best_a) == 0 && score_a == score_b,
          "same seed: best members differ");
    CHECK(memcmp(a.mean, b.mean, (size_t)dim * sizeof *a.mean) == 0 &&
              memcmp(a.std, b.std, (size_t)dim * sizeof *a.std) == 0,
          "same seed: distributions differ");
    t2_cem_free(&a);
    t2_cem_free(&b);

    t2_cem c1, c2;
    CHECK(t2_cem_init(&c1, dim, NULL, 1, NULL) == 0 && t2_cem_init(&c2, dim, NULL, 2, NULL) == 0,
          "init");
    t2_cem_ask(&c1, pa);
    t2_cem_ask(&c2, pb);
    int same = 0;
    for (int i = 0; i < 32 * 5; i++) same += pa[i] == pb[i] && pa[i] != 0.0f && pa[i] != 1.0f;
    CHECK(same == 0, "seeds 1 and 2: %d identical unclamped values", same);
    t2_cem_free(&c1);
    t2_cem_free(&c2);
}

/* Bad options: -1, one line naming the option, and an object t2_cem_free accepts. */
static void check_bad_options(void) {
    struct {
        const char *what;
        int64_t dim;
        t2_cem_options o;
        const char *want;
    } cases[10];
    for (int i = 0; i < 10; i++) {
        cases[i].dim = 3;
        cases[i].o = t2_cem_default_options(3);
    }
    cases[0].what = "dim", cases[0].dim = 0;
    cases[0].want = "cem.dim: 0 weights is out of range; expected 1 to 1000000";
    cases[1].what = "population", cases[1].o.population = 0;
    cases[1].want = "cem.population: 0 is out of range; expected 1 to 1000000";
    cases[2].what = "fraction 0", cases[2].o.elite_fraction = 0.0;
    cases[2].want = "cem.elite_fraction: 0 is out of range; expected (0, 1]";
    cases[3].what = "fraction NaN", cases[3].o.elite_fraction = NAN;
    cases[3].want = "cem.elite_fraction: nan is out of range; expected (0, 1]";
    cases[4].what = "fraction 1.5", cases[4].o.elite_fraction = 1.5;
    cases[4].want = "cem.elite_fraction: 1.5 is out of range; expected (0, 1]";
    cases[5].what = "init_mean", cases[5].o.init_mean = -0.5;
    cases[5].want = "cem.init_mean: -0.5 is out of range; expected [0, 1]";
    cases[6].what = "init_std", cases[6].o.init_std = 0.0;
    cases[6].want = "cem.init_std: 0 is out of range; expected a finite value > 0";
    cases[7].what = "min_std", cases[7].o.min_std = INFINITY;
    cases[7].want = "cem.min_std: inf is out of range; expected a finite value >= 0";
    cases[8].what = "keep", cases[8].o.keep = 0;
    cases[8].want = "cem.keep: 0 is out of range; expected 1 to 1000000";
    cases[9].what = "std_smoothing", cases[9].o.std_smoothing = 1.01;
    cases[9].want = "cem.std_smoothing: 1.01 is out of range; expected (0, 1]";
    for (int i = 0; i < 10; i++) {
        t2_cem c;
        t2_error err = {{0}};
        int rc = t2_cem_init(&c, cases[i].dim, &cases[i].o, 0, &err);
        CHECK(rc == -1 && strcmp(err.msg, cases[i].want) == 0, "%s: rc %d, error '%s', want '%s'",
              cases[i].what, rc, err.msg, cases[i].want);
        CHECK(t2_cem_kept(&c, NULL, NULL, NULL) == 0, "%s: a failed init keeps members",
              cases[i].what);
        t2_cem_free(&c);
    }
}

int main(void) {
    check_interior(3, 30);
    check_interior(12, 60);
    check_boundary();
    check_noisy();
    check_plateau();
    check_order_and_refit();
    check_elites();
    check_clamp();
    check_reproducible();
    check_bad_options();
    return t2_check_exit_code();
}

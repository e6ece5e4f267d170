/* The cross-entropy method over mixture weights (see cem.h for the method, the ordering and the
 * defaults). Sampling: member by member, dimension by dimension, one t2_rng_normal each, so a
 * population depends only on the seed and the scores told so far. Does not evaluate members. */
#include "rl/cem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

/* Largest population, kept-list size and dimension accepted: far beyond any useful search,
 * small enough that P x D and keep x D never overflow. */
enum { CEM_MAX_COUNT = 1000000 };

/* One scored member of a tell, for ranking. */
struct t2_cem_rank {
    double score, tiebreak;
    int64_t index; /* row of the population */
};

t2_cem_options t2_cem_default_options(int64_t dim) {
    T2_ASSERT(dim >= 1);
    return (t2_cem_options){.population = 32,
                            .elite_fraction = 0.2,
                            .init_mean = 1.0 / (double)dim,
                            .init_std = 0.5,
                            .std_smoothing = 0.4,
                            .min_std = 1e-3,
                            .keep = 4};
}

/* 1 when (score_a, tiebreak_a) is strictly better than (score_b, tiebreak_b). */
static int is_better(double score_a, double tiebreak_a, double score_b, double tiebreak_b) {
    if (score_a != score_b) return score_a > score_b;
    return tiebreak_a > tiebreak_b;
}

/* qsort order: better first; equal members by row, so the order is total and deterministic. */
static int compare_rank(const void *pa, const void *pb) {
    const struct t2_cem_rank *a = pa, *b = pb;
    if (is_better(a->score, a->tiebreak, b->score, b->tiebreak)) return -1;
    if (is_better(b->score, b->tiebreak, a->score, a->tiebreak)) return 1;
    return (a->index > b->index) - (a->index < b->index);
}

int t2_cem_init(t2_cem *c, int64_t dim, const t2_cem_options *options, uint64_t seed,
                t2_error *err) {
    memset(c, 0, sizeof *c);
    if (dim < 1 || dim > CEM_MAX_COUNT)
        return t2_error_set(err, "cem.dim: %lld weights is out of range; expected 1 to %d",
                            (long long)dim, CEM_MAX_COUNT);
    t2_cem_options o = options != NULL ? *options : t2_cem_default_options(dim);
    if (o.population < 1 || o.population > CEM_MAX_COUNT)
        return t2_error_set(err, "cem.population: %lld is out of range; expected 1 to %d",
                            (long long)o.population, CEM_MAX_COUNT);
    if (!(o.elite_fraction > 0.0 && o.elite_fraction <= 1.0))
        return t2_error_set(err, "cem.elite_fraction: %g is out of range; expected (0, 1]",
                            o.elite_fraction);
    if (!(o.init_mean >= 0.0 && o.init_mean <= 1.0))
        return t2_error_set(err, "cem.init_mean: %g is out of range; expected [0, 1]",
                            o.init_mean);
    if (!(o.init_std > 0.0 && isfinite(o.init_std)))
        return t2_error_set(err, "cem.init_std: %g is out of range; expected a finite value > 0",
                            o.init_std);
    if (!(o.std_smoothing > 0.0 && o.std_smoothing <= 1.0))
        return t2_error_set(err, "cem.std_smoothing: %g is out of range; expected (0, 1]",
                            o.std_smoothing);
    if (!(o.min_std >= 0.0 && isfinite(o.min_std)))
        return t2_error_set(err, "cem.min_std: %g is out of range; expected a finite value >= 0",
                            o.min_std);
    if (o.keep < 1 || o.keep > CEM_MAX_COUNT)
        return t2_error_set(err, "cem.keep: %lld is out of range; expected 1 to %d",
                            (long long)o.keep, CEM_MAX_COUNT);

    c->dim = dim;
    c->population = o.population;
    /* the epsilon keeps 0.3 x 10 (2.9999999999999996 in binary) at 3 elites */
    c->elites = (int64_t)floor(o.elite_fraction * (double)o.population + 1e-9);
    if (c->elites < 1) c->elites = 1;
    if (c->elites > c->population) c->elites = c->population;
    c->keep = o.keep;
    c->std_smoothing = o.std_smoothing;
    c->min_std = o.min_std;
    c->mean = t2_alloc_array((size_t)dim, sizeof *c->mean);
    c->std = t2_alloc_array((size_t)dim, sizeof *c->std);
    for (int64_t d = 0; d < dim; d++) {
        c->mean[d] = o.init_mean;
        c->std[d] = o.init_std;
    }
    c->kept_alpha = t2_alloc_array((size_t)(o.keep * dim), sizeof *c->kept_alpha);
    c->kept_score = t2_alloc_array((size_t)o.keep, sizeof *c->kept_score);
    c->kept_tiebreak = t2_alloc_array((size_t)o.keep, sizeof *c->kept_tiebreak);
    c->ranked = t2_alloc_array((size_t)o.population, sizeof *c->ranked);
    t2_rng_init(&c->rng, seed);
    return 0;
}

void t2_cem_free(t2_cem *c) {
    t2_free(c->mean);
    t2_free(c->std);
    t2_free(c->kept_alpha);
    t2_free(c->kept_score);
    t2_free(c->kept_tiebreak);
    t2_free(c->ranked);
    memset(c, 0, sizeof *c);
}

/* Clamps to [0,1] (x is finite: mean and std are). */
static float clamp_unit(double x) { return x > 0.0 ? (x < 1.0 ? (float)x : 1.0f) : 0.0f; }

void t2_cem_ask(t2_cem *c, float *population) {
    T2_ASSERT(c->mean != NULL);
    for (int64_t m = 0; m < c->population; m++) {
        float *member = population + m * c->dim;
        for (int64_t d = 0; d < c->dim; d++)
            member[d] = clamp_unit(c->mean[d] + c->std[d] * (double)t2_rng_normal(&c->rng));
    }
}

static int same_alpha(const float *a, const float *b, int64_t dim) {
    for (int64_t d = 0; d < dim; d++)
        if (a[d] != b[d]) return 0;
    return 1;
}

/* Removes kept entry i, moving the later ones up. */
static void kept_remove(t2_cem *c, int64_t i) {
    int64_t after = c->kept - i - 1;
    memmove(c->kept_alpha + i * c->dim, c->kept_alpha + (i + 1) * c->dim,
            (size_t)(after * c->dim) * sizeof *c->kept_alpha);
    memmove(c->kept_score + i, c->kept_score + i + 1, (size_t)after * sizeof *c->kept_score);
    memmove(c->kept_tiebreak + i, c->kept_tiebreak + i + 1,
            (size_t)after * sizeof *c->kept_tiebreak);
    c->kept--;
}

/* Offers one scored member to the kept list: it goes after every entry at least as good (the
 * earlier one wins a tie); an α already kept keeps only its better record. */
static void kept_offer(t2_cem *c, const float *alpha, double score, double tiebreak) {
    for (int64_t i = 0; i < c->kept; i++) {
        if (!same_alpha(c->kept_alpha + i * c->dim, alpha, c->dim)) continue;
        if (!is_better(score, tiebreak, c->kept_score[i], c->kept_tiebreak[i])) return;
        kept_remove(c, i);
        break;
    }
    int64_t at = 0;
    while (at < c->kept && !is_better(score, tiebreak, c->kept_score[at], c->kept_tiebreak[at]))
        at++;
    if (at >= c->keep) return;
    if (c->kept == c->keep) c->kept--; /* the last entry falls off */
    int64_t after = c->kept - at;
    memmove(c->kept_alpha + (at + 1) * c->dim, c->kept_alpha + at * c->dim,
            (size_t)(after * c->dim) * sizeof *c->kept_alpha);
    memmove(c->kept_score + at + 1, c->kept_score + at, (size_t)after * sizeof *c->kept_score);
    memmove(c->kept_tiebreak + at + 1, c->kept_tiebreak + at,
            (size_t)after * sizeof *c->kept_tiebreak);
    memcpy(c->kept_alpha + at * c->dim, alpha, (size_t)c->dim * sizeof *alpha);
    c->kept_score[at] = score;
    c->kept_tiebreak[at] = tiebreak;
    c->kept++;
}

void t2_cem_tell(t2_cem *c, const float *population, const double *scores,
                 const double *tiebreak) {
    T2_ASSERT(c->mean != NULL);
    const int64_t members = c->population, dim = c->dim, elites = c->elites;
    for (int64_t m = 0; m < members; m++) {
        const float *member = population + m * dim;
        for (int64_t d = 0; d < dim; d++) T2_ASSERT(member[d] >= 0.0f && member[d] <= 1.0f);
        T2_ASSERT(!isnan(scores[m]));
        T2_ASSERT(tiebreak == NULL || !isnan(tiebreak[m]));
        c->ranked[m] = (struct t2_cem_rank){
            .score = scores[m], .tiebreak = tiebreak != NULL ? tiebreak[m] : -INFINITY, .index = m};
    }
    qsort(c->ranked, (size_t)members, sizeof *c->ranked, compare_rank);

    for (int64_t r = 0; r < members; r++)
        kept_offer(c, population + c->ranked[r].index * dim, c->ranked[r].score,
                   c->ranked[r].tiebreak);

    /* refit to the elites: their average; their biased standard deviation, smoothed with the
     * previous std and floored */
    for (int64_t d = 0; d < dim; d++) {
        double sum = 0.0;
        for (int64_t e = 0; e < elites; e++) sum += population[c->ranked[e].index * dim + d];
        double mean = sum / (double)elites, squares = 0.0;
        for (int64_t e = 0; e < elites; e++) {
            double diff = population[c->ranked[e].index * dim + d] - mean;
            squares += diff * diff;
        }
        c->mean[d] = mean;
        double std = c->std_smoothing * sqrt(squares / (double)elites) +
                     (1.0 - c->std_smoothing) * c->std[d];
        c->std[d] = fmax(std, c->min_std);
    }
    c->iteration++;
}

void t2_cem_best(const t2_cem *c, float *alpha, double *score, double *tiebreak) {
    T2_ASSERT(c->kept >= 1);
    if (alpha != NULL) memcpy(alpha, c->kept_alpha, (size_t)c->dim * sizeof *alpha);
    if (score != NULL) *score = c->kept_score[0];
    if (tiebreak != NULL) *tiebreak = c->kept_tiebreak[0];
}

int64_t t2_cem_kept(const t2_cem *c, float *alphas, double *scores, double *tiebreaks) {
    if (alphas != NULL && c->kept > 0)
        memcpy(alphas, c->kept_alpha, (size_t)(c->kept * c->dim) * sizeof *alphas);
    for (int64_t i = 0; i < c->kept; i++) {
        if (scores != NULL) scores[i] = c->kept_score[i];
        if (tiebreaks != NULL) tiebreaks[i] = c->kept_tiebreak[i];
    }
    return c->kept;
}

/* Swaps kept entries i and i + 1 (alpha rows element by element: no scratch row needed). */
static void kept_swap_next(t2_cem *c, int64_t i) {
    float *a = c->kept_alpha + i * c->dim, *b = a + c->dim;
    for (int64_t d = 0; d < c->dim; d++) {
        float t = a[d];
        a[d] = b[d];
        b[d] = t;
    }
    double s = c->kept_score[i], t = c->kept_tiebreak[i];
    c->kept_score[i] = c->kept_score[i + 1];
    c->kept_tiebreak[i] = c->kept_tiebreak[i + 1];
    c->kept_score[i + 1] = s;
    c->kept_tiebreak[i + 1] = t;
}

void t2_cem_rescore(t2_cem *c, int64_t n, const double *scores, const double *tiebreaks) {
    T2_ASSERT(n == c->kept);
    for (int64_t i = 0; i < n; i++) {
        T2_ASSERT(!isnan(scores[i]));
        T2_ASSERT(tiebreaks == NULL || !isnan(tiebreaks[i]));
        c->kept_score[i] = scores[i];
        c->kept_tiebreak[i] = tiebreaks != NULL ? tiebreaks[i] : -INFINITY;
    }
    /* stable insertion sort: an entry moves up only past strictly worse ones */
    for (int64_t i = 1; i < n; i++)
        for (int64_t j = i; j > 0 && is_better(c->kept_score[j], c->kept_tiebreak[j],
                                               c->kept_score[j - 1], c->kept_tiebreak[j - 1]);
             j--)
            kept_swap_next(c, j - 1);
}

void t2_cem_mean(const t2_cem *c, float *mean) {
    for (int64_t d = 0; d < c->dim; d++) mean[d] = (float)c->mean[d];
}

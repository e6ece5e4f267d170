/* The cross-entropy method (CEM) over mixture weights α ∈ [0,1]^D: the few-shot adaptation's
 * search for m' = Σ_k α_k m_k (DESIGN.md, Adaptation 3; D = K experts, or K × layers for
 * per-layer weights).
 *
 * Each iteration samples a population of P members from independent Gaussians (one mean and
 * one standard deviation per dimension), clamps every coordinate to [0,1], lets the caller
 * score the members (higher is better), and refits the Gaussians to the E best members, the
 * elites: per dimension
 *     mean <- average of the elites
 *     std  <- max(min_std, s · (their standard deviation, 1/E) + (1 - s) · std)
 * with the std smoothing s (s = 1 is plain CEM); the floor keeps the search from freezing
 * completely.
 *
 * Ask/tell: the caller owns the loop and the evaluation, so dist/ can score members on
 * whatever ranks it likes and the CEM itself stays single-process:
 *     t2_cem_init(&c, D, &options, seed, &err);
 *     for (it = 0; it < iterations; it++) {           // the caller fixes the count
 *         t2_cem_ask(&c, population);                  // P x D, row-major
 *         ... score each row: scores[P], tiebreak[P] (e.g. mean log-likelihood) ...
 *         t2_cem_tell(&c, population, scores, tiebreak);
 *     }
 *     // "best member re-evaluated": the few best members seen are re-scored on more data
 *     n = t2_cem_kept(&c, kept, NULL, NULL);            // up to options.keep members, best first
 *     ... score kept[0..n) again: rescores[n], retiebreak[n] ...
 *     t2_cem_rescore(&c, n, rescores, retiebreak);      // replaces their scores, re-sorts
 *     t2_cem_best(&c, alpha, &score, &tiebreak);        // the answer
 *     t2_cem_free(&c);
 *
 * Ordering: member a is better than b when score_a > score_b, or the scores are equal and
 * tiebreak_a > tiebreak_b (DESIGN.md: ties broken by the mean log-likelihood of the correct
 * answers); when both are equal the member seen first wins (earlier iteration, then lower row),
 * so every choice is deterministic. The CEM remembers the `keep` best members seen over all
 * iterations (distinct α only: an α seen again keeps its better record), which is what
 * t2_cem_best and t2_cem_kept report.
 *
 * Defaults (t2_cem_default_options), and why:
 *   population 32, elite_fraction 0.2 (→ 6 elites)  DESIGN.md.
 *   init_mean 1/D   the uniform mixture: with expert vectors near 1 (they rescale singular
 *                   values) Σ α_k = 1 keeps the weights at the base model's scale, where 0.5
 *                   would start from D/2 times the scale. Per-layer searches (D = K × layers)
 *                   should set 1/K.
 *   init_std 0.5    one std spans half the box, so the first populations reach any corner of
 *                   [0,1]^D (clamping puts the far tails on the faces, where optima often are).
 *   std_smoothing 0.4  plain CEM (1) with only 6 elites shrinks the std faster than the mean
 *                   travels and stalls short of the optimum. On -|α - α*|² with α* uniform in
 *                   [0.1, 0.9]^D (50 draws), plain CEM missed α* by more than 1e-2 after 30
 *                   iterations in 8 draws at D = 3 (by up to 0.14) and in all 50 at D = 12 (up
 *                   to 0.63), and after 60 still in 46 at D = 12; with 0.4: in none at D = 3
 *                   and 6 after 30 iterations, none at D = 12 after 60. At 10 iterations it is
 *                   still settling (more draws above 1e-2 at D = 3) but its worst miss is 8
 *                   times smaller (0.02 against 0.16). The smoothed update follows Kroese,
 *                   Porotsky & Rubinstein (2006).
 *   min_std 1e-3    finer than any difference a handful of few-shot examples can resolve.
 *   keep 4          members re-evaluated at the end: enough to undo the winner's curse of a
 *                   noisy few-shot score, cheap next to P evaluations per iteration.
 *
 * Reproducible: the same seed, options and scores give bitwise the same populations and
 * result. Does not evaluate anything, know about experts, or call MPI.
 * Reference: Rubinstein, "The cross-entropy method for combinatorial and continuous
 * optimization" (1999); de Boer et al., "A tutorial on the cross-entropy method" (2005);
 * Kroese, Porotsky & Rubinstein, "The cross-entropy method for continuous multi-extremal
 * optimization" (2006), for the smoothed std. */
#ifndef T2_RL_CEM_H
#define T2_RL_CEM_H

#include <stdint.h>

#include "base/error.h"
#include "base/rng.h"

typedef struct t2_cem_options {
    int64_t population;    /* P >= 1: members per iteration */
    double elite_fraction; /* in (0, 1]: E = max(1, floor(elite_fraction · P)) */
    double init_mean;      /* in [0, 1]: the first mean of every dimension */
    double init_std;       /* > 0: the first std of every dimension */
    double std_smoothing;  /* in (0, 1]: weight s of the elites' std in the refit */
    double min_std;        /* >= 0: the floor of every refitted std */
    int64_t keep;          /* >= 1: best distinct members remembered for re-evaluation */
} t2_cem_options;

/* The defaults above for a search over dim >= 1 weights. */
t2_cem_options t2_cem_default_options(int64_t dim);

/* A search in progress. Fields are read-only for callers. */
typedef struct t2_cem {
    int64_t dim;        /* D */
    int64_t population; /* P */
    int64_t elites;     /* E */
    int64_t keep;       /* capacity of the kept list */
    double std_smoothing, min_std;
    int64_t iteration;  /* t2_cem_tell calls so far */
    double *mean;       /* [D] the current sampling mean, in [0,1] */
    double *std;        /* [D] the current sampling std, >= min_std after the first tell */
    int64_t kept;       /* members in the kept list, <= keep */
    float *kept_alpha;  /* [keep x D] row-major, best first */
    double *kept_score, *kept_tiebreak; /* [keep] */
    struct t2_cem_rank *ranked; /* [P] scratch: the members of one tell, best first */
    t2_rng rng;
} t2_cem;

/* Starts a search over dim weights with options (NULL: t2_cem_default_options(dim)) and the
 * random stream seed. Returns 0, or -1 with err = "cem.<option>: <value> is out of range;
 * expected ..." (or "cem.dim: ...") when an option is outside the ranges above; c is then
 * zeroed (t2_cem_free is still allowed). */
int t2_cem_init(t2_cem *c, int64_t dim, const t2_cem_options *options, uint64_t seed,
                t2_error *err);
/* Accepts a zeroed or failed object; may run twice. */
void t2_cem_free(t2_cem *c);

/* Draws a new population: writes P x D values in [0,1] (row-major, member by member) to
 * population. Each call draws fresh members from the current mean and std. */
void t2_cem_ask(t2_cem *c, float *population);

/* Refits the Gaussians to the elites of the P x D population with scores[P] (higher is
 * better) and tiebreak[P] (NULL: no tiebreak, every member's is -infinity), and adds its
 * members to the kept list. population is normally what t2_cem_ask wrote, but the caller may
 * replace rows before scoring (e.g. one-hot experts or the previous best), so the search learns
 * from whatever was scored. Preconditions (asserted): every value of population in [0,1],
 * no score or tiebreak is NaN. */
void t2_cem_tell(t2_cem *c, const float *population, const double *scores,
                 const double *tiebreak);

/* The best member seen (after t2_cem_rescore: the best re-scored one): its D weights into
 * alpha, its score and tiebreak into *score and *tiebreak (each may be NULL). Requires at
 * least one t2_cem_tell (asserted). */
void t2_cem_best(const t2_cem *c, float *alpha, double *score, double *tiebreak);

/* The kept members, best first: returns their number n (1..keep once a tell was made, else 0)
 * and writes n x D weights to alphas, their scores and tiebreaks to scores[n] and tiebreaks[n]
 * (each output may be NULL; give room for keep members). */
int64_t t2_cem_kept(const t2_cem *c, float *alphas, double *scores, double *tiebreaks);

/* Replaces the scores and tiebreaks (NULL: -infinity) of the n kept members, in the order
 * t2_cem_kept gave them, by a re-evaluation, and re-sorts them (an equal pair keeps its
 * previous order). Usually called once after the last tell; later tells compare their members
 * against the re-scored values. n must be what t2_cem_kept returned (asserted). */
void t2_cem_rescore(t2_cem *c, int64_t n, const double *scores, const double *tiebreaks);

/* The current sampling mean (D values in [0,1]) into mean: after the last tell, the centre of
 * the elites, a smoothed alternative candidate to the best single member. */
void t2_cem_mean(const t2_cem *c, float *mean);

#endif

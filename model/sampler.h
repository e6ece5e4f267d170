/* Choosing the next token from a row of logits.
 *
 * Semantics (the order of Hugging Face's logits warpers: temperature, top-k, top-p):
 *   temperature == 0 (or top_k == 1): greedy, the arg max (the lowest id among equal maxima);
 *   otherwise p = softmax(logits / temperature);
 *   top_k > 0: keep the k most probable tokens (ties broken towards lower ids);
 *   top_p < 1: of those, keep the smallest most-probable-first prefix whose probability sum
 *              reaches top_p (at least one token);
 *   then draw from the kept tokens in proportion to p, with one uniform number from the
 *   caller's t2_rng stream (greedy draws none).
 * The same stream state and the same logits give the same token on any machine: the draw
 * uses double sums over a deterministic order (probability descending, then id ascending).
 * The random stream is the caller's so that many sequences can share one sampler's scratch
 * while each keeps its own reproducible stream.
 * Does not: apply repetition penalties or min-p; read the logits of more than one row. */
#ifndef T2_MODEL_SAMPLER_H
#define T2_MODEL_SAMPLER_H

#include <stdint.h>

#include "base/rng.h"

typedef struct t2_sampler_params {
    float temperature; /* >= 0; 0 is greedy */
    int64_t top_k;     /* 0 = off */
    float top_p;       /* in (0, 1]; 1 = off */
} t2_sampler_params;

typedef struct t2_sampler_candidate {
    float prob;
    int32_t id;
} t2_sampler_candidate;

typedef struct t2_sampler {
    t2_sampler_params params;
    int64_t vocab;
    float *probs;     /* [vocab] scratch: probabilities */
    t2_sampler_candidate *cand; /* [vocab] scratch: candidates, most probable first */
} t2_sampler;

/* A sampler over vocab ids. Asserts the params are in range (callers validate user input).
 * Free with t2_sampler_free. */
void t2_sampler_init(t2_sampler *s, const t2_sampler_params *params, int64_t vocab);
void t2_sampler_free(t2_sampler *s); /* accepts a zeroed object; may run twice */

/* The next token for one row of vocab logits (not modified); advances rng unless greedy. */
int32_t t2_sampler_sample(t2_sampler *s, const float *logits, t2_rng *rng);

/* The arg max of n logits: the lowest index among equal maxima. */
int32_t t2_sampler_argmax(const float *logits, int64_t n);

#endif

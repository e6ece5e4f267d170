/* A small, seeded, reproducible random stream (xoshiro256** seeded through splitmix64).
 * Every random choice in t2 comes from one of these, seeded from the config or the CLI. */
#ifndef T2_BASE_RNG_H
#define T2_BASE_RNG_H

#include <stdint.h>

typedef struct t2_rng {
    uint64_t s[4];
} t2_rng;

void t2_rng_init(t2_rng *rng, uint64_t seed);
uint64_t t2_rng_next(t2_rng *rng);
float t2_rng_uniform(t2_rng *rng);  /* in [0, 1), 24 random bits */
double t2_rng_uniform_double(t2_rng *rng); /* in [0, 1), 53 random bits */
float t2_rng_normal(t2_rng *rng);   /* standard normal (Box-Muller) */

#endif

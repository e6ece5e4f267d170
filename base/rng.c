/* xoshiro256** (Blackman & Vigna, 2018), seeded with splitmix64. */
#include "base/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void t2_rng_init(t2_rng *rng, uint64_t seed) {
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t t2_rng_next(t2_rng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float t2_rng_uniform(t2_rng *rng) { return (float)(t2_rng_next(rng) >> 40) * (1.0f / 16777216.0f); }

double t2_rng_uniform_double(t2_rng *rng) {
    return (double)(t2_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

float t2_rng_normal(t2_rng *rng) {
    double u1 = 1.0 - t2_rng_uniform_double(rng); /* (0, 1]: log is finite */
    double u2 = t2_rng_uniform_double(rng);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

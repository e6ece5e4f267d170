/* Private to linalg/: the lane-parallel reductions the elementwise kernels share. Without
 * -ffast-math the compiler will not reorder a float reduction, so reductions keep LANES
 * explicit partial sums (one SIMD register) and fold them as a tree. Inline, header-only. */
#ifndef T2_LINALG_LANES_H
#define T2_LINALG_LANES_H

#include <math.h>
#include <stdint.h>

enum { LANES = 16 };

/* The sum of the LANES partial sums, as a tree (a serial sum would be a chain of LANES
 * dependent adds, which dominates a head_dim-long dot product). Overwrites acc. */
static inline float reduce_lanes(float *acc) {
    for (int64_t width = LANES / 2; width >= 1; width /= 2)
        for (int64_t l = 0; l < width; l++) acc[l] += acc[l + width];
    return acc[0];
}

/* sum of x[0..n) in LANES partial sums. */
static inline float sum_lanes(const float *x, int64_t n) {
    float acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int64_t l = 0; l < LANES; l++) acc[l] += x[i + l];
    float sum = reduce_lanes(acc);
    for (; i < n; i++) sum += x[i];
    return sum;
}

/* sum_i a[i] * b[i] in LANES partial sums. */
static inline float dot(const float *restrict a, const float *restrict b, int64_t n) {
    float acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int64_t l = 0; l < LANES; l++) acc[l] = fmaf(a[i + l], b[i + l], acc[l]);
    float sum = reduce_lanes(acc);
    for (; i < n; i++) sum = fmaf(a[i], b[i], sum);
    return sum;
}

#endif

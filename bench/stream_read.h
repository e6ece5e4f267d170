/* The benchmarks' physical reference for weight streaming: a STREAM-like read of n floats
 * with the kernels' threads (OpenMP). Each thread reads its contiguous part as 8 streams in
 * lockstep: more than one stream keeps more memory requests in flight, and on the machines
 * measured 8 streams read 10-20 % faster than 1 (a single-stream read understated the
 * bandwidth the decode kernels reach). Header-only, for bench_forward and bench_skinny. */
#ifndef T2_BENCH_STREAM_READ_H
#define T2_BENCH_STREAM_READ_H

#include <stdint.h>

#include "base/progress.h"

/* Seconds to read w[0..n) once on `threads` threads; the sum goes into *sink so the read is
 * not optimised away. */
static inline double stream_read_seconds(const float *w, int64_t n, int threads, float *sink) {
    double start = t2_time_now();
    float total = 0.0f;
#pragma omp parallel for num_threads(threads) schedule(static, 1) reduction(+ : total)
    for (int t = 0; t < threads; t++) {
        const float *part = w + n * t / threads;
        int64_t len = (n * (t + 1) / threads - n * t / threads) / 8 / 16 * 16; /* per stream */
        float acc[8][16] = {{0}};
        for (int64_t i = 0; i < len; i += 16)
            for (int s = 0; s < 8; s++)
                for (int l = 0; l < 16; l++) acc[s][l] += part[s * len + i + l];
        for (int s = 0; s < 8; s++)
            for (int l = 0; l < 16; l++) total += acc[s][l];
    }
    *sink += total;
    return t2_time_now() - start;
}

#endif

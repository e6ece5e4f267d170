/* The benchmarks' physical reference for weight streaming: a STREAM-like read of n floats
 * with the kernels' threads (OpenMP), each thread reading its contiguous part. Machines
 * differ in the pattern that reads fastest: on the Intel Xeons measured, 8 streams in
 * lockstep read 10-20 % faster than 1 (more memory requests in flight); on the AMD EPYC
 * (Zen 5) measured, 1 sequential stream was the faster. So the reference reads both ways and
 * takes the faster, never understating the bandwidth the decode kernels can reach.
 * Header-only, for bench_forward and bench_skinny. */
#ifndef T2_BENCH_STREAM_READ_H
#define T2_BENCH_STREAM_READ_H

#include <stdint.h>

#include "base/progress.h"

/* Seconds to read w[0..n) once on `threads` threads, each part as `streams` (1 or 8) streams;
 * the sum goes into *sink so the read is not optimised away. */
static inline double stream_read_seconds_as(const float *w, int64_t n, int threads, int streams,
                                            float *sink) {
    double start = t2_time_now();
    float total = 0.0f;
#pragma omp parallel for num_threads(threads) schedule(static, 1) reduction(+ : total)
    for (int t = 0; t < threads; t++) {
        const float *part = w + n * t / threads;
        int64_t len = (n * (t + 1) / threads - n * t / threads) / streams / 16 * 16;
        float acc[8][16] = {{0}};
        for (int64_t i = 0; i < len; i += 16)
            for (int s = 0; s < streams; s++)
                for (int l = 0; l < 16; l++) acc[s][l] += part[s * len + i + l];
        for (int s = 0; s < streams; s++)
            for (int l = 0; l < 16; l++) total += acc[s][l];
    }
    *sink += total;
    return t2_time_now() - start;
}

/* The faster of an 8-stream and a 1-stream read of w[0..n), in seconds. */
static inline double stream_read_seconds(const float *w, int64_t n, int threads, float *sink) {
    double eight = stream_read_seconds_as(w, n, threads, 8, sink);
    double one = stream_read_seconds_as(w, n, threads, 1, sink);
    return eight < one ? eight : one;
}

#endif

/* Private to linalg/: lanes.h's reduction tree in AVX-512 registers, for the kernels that
 * enable AVX-512 per function (linalg/skinny.c, linalg/decode_attention.c). Each reduction
 * adds the same pairs of lanes as reduce_lanes (l and l + 8, then l + 4, l + 2, l + 1), so
 * its sums are bitwise those of the plain-C tree. Inline, header-only; include only from
 * files that pick AVX-512 at run time (the callers check the CPU first).
 * Reference: Intel Intrinsics Guide. */
#ifndef T2_LINALG_LANES_AVX512_H
#define T2_LINALG_LANES_AVX512_H

#include <immintrin.h>

/* A macro: a function attribute cannot be named any other way. */
#define T2_AVX512 __attribute__((target("avx512f")))

/* The tree of lanes.h on one 16-lane register. */
T2_AVX512 static inline float reduce_avx512(__m512 v) {
    __m256 lo = _mm512_castps512_ps256(v);
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    __m256 s8 = _mm256_add_ps(lo, hi);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

/* The trees of four registers at once: lanes 0-3 of the result are the sums of a, b, c and
 * d, in 10 shuffles and 5 adds instead of 16 and 16. */
T2_AVX512 static inline __m128 reduce4_avx512(__m512 a, __m512 b, __m512 c, __m512 d) {
    /* [a 0-7 | b 0-7] + [a 8-15 | b 8-15]: a's and b's 8 sums of l and l + 8 */
    __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
    __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xEE));
    /* 128-bit lane q: the 4 sums of l and l + 4 of register q (a, b, c, d) */
    __m512 s4 = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88),
                              _mm512_shuffle_f32x4(ab, cd, 0xDD));
    /* in each 128-bit lane: l + (l + 2), then l + (l + 1) */
    __m512 s2 = _mm512_add_ps(_mm512_shuffle_ps(s4, s4, 0x44), _mm512_shuffle_ps(s4, s4, 0xEE));
    __m512 s1 = _mm512_add_ps(_mm512_shuffle_ps(s2, s2, 0x00), _mm512_shuffle_ps(s2, s2, 0x55));
    /* element 0 of each 128-bit lane */
    __m512i firsts = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(firsts, s1));
}

#endif

/* Skinny products C = A Bᵀ (+ C) on a bfloat16 B in bfloat16 dot products: the kernel of
 * CPUs with AVX-512-BF16 (vdpbf16ps) and its plain-C twin. See linalg/skinny.h for when they
 * run; not here: the float32 kernels (linalg/skinny.c), the split over threads.
 *
 * The arithmetic is the instruction's, so both kernels give the same bits:
 *   - each element of A's row is rounded to bfloat16 as it is loaded (vcvtne2ps2bf16: to
 *     nearest even; a subnormal becomes a zero of its sign; a NaN stays a quiet NaN);
 *   - lane l of 16 accumulates, for every chunk of 32 elements starting at p (k's tail
 *     padded with zeros), first a[p+2l+1] b[p+2l+1], then a[p+2l] b[p+2l], each with one
 *     fused multiply-add whose inputs are taken as zero when subnormal and whose result is
 *     flushed to a zero when subnormal (vdpbf16ps: DAZ, FTZ, round to nearest even, MXCSR
 *     not consulted);
 *   - the 16 lanes are folded as linalg/lanes.h's tree in float32.
 * Products of two bfloat16 values are exact in float32, so the result differs from the
 * float32 kernels' on B's widening only by A's rounding to 8 significant bits and the lane
 * order: a relative error of about 2^-9 per product, which averages out over k.
 * The order was checked on this machine against vdpbf16ps on 3.2 x 10^7 random lanes and the
 * rounding against vcvtne2ps2bf16 on 1.3 x 10^8 random floats, NaNs and subnormals included
 * (docs/inference.md).
 *
 * Tiles as the float32 AVX-512 kernel (linalg/skinny.c): m x 8 for m <= 2 (eight streams of
 * B for the memory-bound m = 1), else 4 x 6; k in chunks of 32 (one cache line of each B
 * row); the next block of B's rows prefetched into L2 while this one is swept.
 *
 * This file is compiled for baseline x86-64 (linalg/CMakeLists.txt); the SIMD kernel enables
 * its ISA with a target attribute and runs only where t2_skinny_kernel_supported() says so.
 * Reference: Intel 64 and IA-32 Architectures Software Developer's Manual, VCVTNE2PS2BF16
 * and VDPBF16PS. */
#include <math.h>
#include <string.h>

#include "base/assert.h"
#include "linalg/lanes.h"
#include "linalg/skinny_impl.h"

enum { CHUNK = 32 };

/* ---- plain C ---------------------------------------------------------------------------- */

/* x, or a zero of its sign when x is subnormal (DAZ and FTZ). */
static float flush_subnormal(float x) {
    return fpclassify(x) == FP_SUBNORMAL ? copysignf(0.0f, x) : x;
}

/* x rounded to bfloat16 as vcvtne2ps2bf16 does, widened back to float32. */
static float round_to_bf16(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u)
        bits = (bits | 0x00400000u) & 0xffff0000u; /* quiet NaN, payload's top kept */
    else if ((bits & 0x7f800000u) == 0)
        bits &= 0x80000000u; /* zero or subnormal: a zero of its sign */
    else
        bits = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* acc + a b as one lane of vdpbf16ps adds one product. */
static float add_product(float acc, float a, float b) {
    return flush_subnormal(fmaf(flush_subnormal(a), flush_subnormal(b), flush_subnormal(acc)));
}

/* a · b of length k in the order above; b is a row of bfloat16. */
static float dot_bf16_plain(const float *a, const uint16_t *b, int64_t k) {
    float acc[LANES] = {0};
    for (int64_t p = 0; p < k; p += CHUNK) {
        for (int64_t l = 0; l < LANES; l++) {
            for (int64_t half = 1; half >= 0; half--) { /* odd element first */
                int64_t e = p + 2 * l + half;
                float a_e = e < k ? round_to_bf16(a[e]) : 0.0f;
                float b_e = e < k ? t2_weight_bf16_to_f32(b[e]) : 0.0f;
                acc[l] = add_product(acc[l], a_e, b_e);
            }
        }
    }
    return reduce_lanes(acc);
}

void skinny_columns_bf16_plain(const skinny_operands *op, int64_t m, int64_t j0, int64_t j1) {
    T2_ASSERT(op->b_type == T2_WEIGHT_BF16);
    for (int64_t j = j0; j < j1; j++) {
        const uint16_t *b_row = (const uint16_t *)(const void *)skinny_b_row(op, j, 2);
        for (int64_t i = 0; i < m; i++)
            skinny_store(op, i, j, dot_bf16_plain(op->a + i * op->lda, b_row, op->k));
    }
}

/* ---- AVX-512-BF16 ----------------------------------------------------------------------- */

/* A macro: a function attribute cannot be named any other way. */
#define T2_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))

/* The rows x cols tile of C at (i0, j0) (rows <= SKINNY_AVX512_ROWS,
 * cols <= SKINNY_AVX512_COLS, constants after inlining). */
T2_AVX512_BF16 __attribute__((always_inline)) static inline void tile_bf16(
    const skinny_operands *op, int64_t i0, int rows, int64_t j0, int cols, int prefetch) {
    const float *a_row[SKINNY_AVX512_ROWS];
    const unsigned char *b_row[SKINNY_AVX512_COLS];
    __m512 acc[SKINNY_AVX512_ROWS][SKINNY_AVX512_COLS];
    for (int r = 0; r < rows; r++) a_row[r] = op->a + (i0 + r) * op->lda;
    for (int c = 0; c < cols; c++) b_row[c] = skinny_b_row(op, j0 + c, 2);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) acc[r][c] = _mm512_setzero_ps();
    int64_t k = op->k, p = 0, ahead = cols * op->ldb * 2; /* the next block's rows */
    for (; p + CHUNK <= k; p += CHUNK) {
        __m512bh b_vec[SKINNY_AVX512_COLS];
        for (int c = 0; c < cols; c++)
            b_vec[c] = (__m512bh)_mm512_loadu_si512((const void *)(b_row[c] + 2 * p));
        for (int c = 0; c < cols && prefetch; c++) skinny_prefetch_l2(b_row[c] + 2 * p, ahead);
        for (int r = 0; r < rows; r++) {
            __m512bh a_vec = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(a_row[r] + p + 16),
                                                 _mm512_loadu_ps(a_row[r] + p));
            for (int c = 0; c < cols; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], a_vec, b_vec[c]);
        }
    }
    if (p < k) { /* masked loads read nothing past the end and give zeros there */
        __mmask32 mask = (__mmask32)((1u << (k - p)) - 1u);
        __m512bh b_vec[SKINNY_AVX512_COLS];
        for (int c = 0; c < cols; c++)
            b_vec[c] = (__m512bh)_mm512_maskz_loadu_epi16(mask, b_row[c] + 2 * p);
        for (int r = 0; r < rows; r++) {
            __m512 lo = _mm512_maskz_loadu_ps((__mmask16)mask, a_row[r] + p);
            __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(mask >> 16), a_row[r] + p + 16);
            __m512bh a_vec = _mm512_cvtne2ps_pbh(hi, lo);
            for (int c = 0; c < cols; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], a_vec, b_vec[c]);
        }
    }
    skinny_store_tile_avx512(op, i0, rows, j0, cols, acc);
}

/* One tile of any shape the driver uses, each inlined with constant sizes. Not inlined
 * itself, so that its registers are allocated for the tile alone. */
T2_AVX512_BF16 __attribute__((noinline)) static void tile_bf16_any(const skinny_operands *op,
                                                                   int64_t i0, int rows,
                                                                   int64_t j0, int cols,
                                                                   int prefetch) {
    switch (rows * 16 + cols) {
    case 1 * 16 + 8: tile_bf16(op, i0, 1, j0, 8, prefetch); break;
    case 2 * 16 + 8: tile_bf16(op, i0, 2, j0, 8, prefetch); break;
    case 4 * 16 + 6: tile_bf16(op, i0, 4, j0, 6, prefetch); break;
    case 3 * 16 + 6: tile_bf16(op, i0, 3, j0, 6, prefetch); break;
    case 2 * 16 + 6: tile_bf16(op, i0, 2, j0, 6, prefetch); break;
    case 1 * 16 + 6: tile_bf16(op, i0, 1, j0, 6, prefetch); break;
    case 4 * 16 + 1: tile_bf16(op, i0, 4, j0, 1, prefetch); break;
    case 3 * 16 + 1: tile_bf16(op, i0, 3, j0, 1, prefetch); break;
    case 2 * 16 + 1: tile_bf16(op, i0, 2, j0, 1, prefetch); break;
    case 1 * 16 + 1: tile_bf16(op, i0, 1, j0, 1, prefetch); break;
    default: T2_ASSERT(!"tile shape");
    }
}

/* Columns [j0, j1) in the AVX-512 tiles. */
T2_AVX512_BF16 void skinny_columns_bf16_avx512(const skinny_operands *op, int64_t m, int64_t j0,
                                               int64_t j1) {
    T2_ASSERT(op->b_type == T2_WEIGHT_BF16);
    skinny_columns_avx512_tiles(op, m, j0, j1, tile_bf16_any);
}

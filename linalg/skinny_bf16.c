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
 * B for the memory-bound m = 1, or 1 x 1 where t2_skinny_single_row_streams() says one),
 * else 4 x 6; k in chunks of 32 (one cache line of each B
 * row); the next block of B's rows prefetched into L2 while this one is swept. From 3 rows
 * on, A's rows are rounded once per block of 128 rows into the thread's scratch, and the
 * tiles load them as bfloat16 (half the bytes from L2, no rounding in the inner loop: 1.3x
 * at 32 rows, 1.7x at 128 on a Zen 5); the same rounding, so the same bits.
 *
 * This file is compiled for baseline x86-64 (linalg/CMakeLists.txt); the SIMD kernel enables
 * its ISA with a target attribute and runs only where t2_skinny_kernel_supported() says so.
 * Reference: Intel 64 and IA-32 Architectures Software Developer's Manual, VCVTNE2PS2BF16
 * and VDPBF16PS. */
#include <math.h>
#include <string.h>

#include "base/assert.h"
#include "base/progress.h"
#include "linalg/lanes.h"
#include "linalg/skinny_impl.h"

/* k in chunks of 32 (one cache line of a bfloat16 row); from 3 rows on, long rows in slabs of
 * K_SLAB (columns_in_slabs). */
enum { CHUNK = 32, K_SLAB = 2048 };

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

/* A's 32 elements at p of a row, rounded to bfloat16: `rounded` rows already hold them so
 * (bfloat16 pairs in op->a's floats, zero-padded to a multiple of 32). */
T2_AVX512_BF16 __attribute__((always_inline)) static inline __m512bh load_a_bf16(const float *row,
                                                                              int64_t p,
                                                                              int rounded) {
    if (rounded) return (__m512bh)_mm512_loadu_si512((const void *)((const uint16_t *)row + p));
    return _mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + p + 16), _mm512_loadu_ps(row + p));
}

/* Where a slab keeps the 16 lanes of element (row, column) of its row and column block. */
static inline float *slab_sums(const skinny_operands *op, int64_t row, int column) {
    return op->partial + (row * SKINNY_AVX512_WIDE_COLS + column) * LANES;
}

/* The rows x cols tile of C at (i0, j0) (rows <= SKINNY_AVX512_ROWS,
 * cols <= SKINNY_AVX512_COLS, rounded: A's rows in bfloat16 already; constants after
 * inlining). */
T2_AVX512_BF16 __attribute__((always_inline)) static inline void tile_bf16(
    const skinny_operands *op, int64_t i0, int rows, int64_t j0, int cols, int prefetch,
    int rounded) {
    const float *a_row[SKINNY_AVX512_ROWS];
    const unsigned char *b_row[SKINNY_AVX512_COLS];
    __m512 acc[SKINNY_AVX512_ROWS][SKINNY_AVX512_COLS];
    for (int r = 0; r < rows; r++) a_row[r] = op->a + (i0 + r) * op->lda;
    for (int c = 0; c < cols; c++) b_row[c] = skinny_b_row(op, j0 + c, 2);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            acc[r][c] = op->resume ? _mm512_load_ps(slab_sums(op, i0 + r, c))
                                   : _mm512_setzero_ps();
    int64_t k = op->k, p = 0, ahead = cols * op->ldb * 2; /* the next block's rows */
    for (; p + CHUNK <= k; p += CHUNK) {
        __m512bh b_vec[SKINNY_AVX512_COLS];
        for (int c = 0; c < cols; c++)
            b_vec[c] = (__m512bh)_mm512_loadu_si512((const void *)(b_row[c] + 2 * p));
        for (int c = 0; c < cols && prefetch; c++) skinny_prefetch_l2(b_row[c] + 2 * p, ahead);
        for (int r = 0; r < rows; r++) {
            __m512bh a_vec = load_a_bf16(a_row[r], p, rounded);
            for (int c = 0; c < cols; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], a_vec, b_vec[c]);
        }
    }
    if (p < k) { /* masked loads read nothing past the end and give zeros there */
        __mmask32 mask = (__mmask32)((1u << (k - p)) - 1u);
        __m512bh b_vec[SKINNY_AVX512_COLS];
        for (int c = 0; c < cols; c++)
            b_vec[c] = (__m512bh)_mm512_maskz_loadu_epi16(mask, b_row[c] + 2 * p);
        for (int r = 0; r < rows; r++) {
            /* rounded rows are zero-padded to a multiple of 32: a whole load stays in them */
            __m512bh a_vec = rounded ? load_a_bf16(a_row[r], p, 1)
                                     : _mm512_cvtne2ps_pbh(
                                           _mm512_maskz_loadu_ps((__mmask16)(mask >> 16),
                                                                 a_row[r] + p + 16),
                                           _mm512_maskz_loadu_ps((__mmask16)mask, a_row[r] + p));
            for (int c = 0; c < cols; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], a_vec, b_vec[c]);
        }
    }
    if (op->suspend) {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) _mm512_store_ps(slab_sums(op, i0 + r, c), acc[r][c]);
        return;
    }
    skinny_store_tile_avx512(op, i0, rows, j0, cols, acc);
}

/* One tile of any shape the driver uses, each inlined with constant sizes. Not inlined
 * itself, so that each tile's registers are allocated for the tile alone. A in float32: the
 * shapes of m <= 2 (m x 8, and m x 1 for the last columns or one stream). */
T2_AVX512_BF16 __attribute__((noinline)) static void tile_bf16_any(const skinny_operands *op,
                                                                   int64_t i0, int rows,
                                                                   int64_t j0, int cols,
                                                                   int prefetch) {
    switch (rows * 16 + cols) {
    case 1 * 16 + 8: tile_bf16(op, i0, 1, j0, 8, prefetch, 0); break;
    case 2 * 16 + 8: tile_bf16(op, i0, 2, j0, 8, prefetch, 0); break;
    case 2 * 16 + 1: tile_bf16(op, i0, 2, j0, 1, prefetch, 0); break;
    case 1 * 16 + 1: tile_bf16(op, i0, 1, j0, 1, prefetch, 0); break;
    default: T2_ASSERT(!"tile shape");
    }
}

/* A rounded already: every shape (a row block's last 1 or 2 rows take those of m <= 2). */
T2_AVX512_BF16 __attribute__((noinline)) static void tile_bf16_rounded_any(
    const skinny_operands *op, int64_t i0, int rows, int64_t j0, int cols, int prefetch) {
    switch (rows * 16 + cols) {
    case 1 * 16 + 8: tile_bf16(op, i0, 1, j0, 8, prefetch, 1); break;
    case 2 * 16 + 8: tile_bf16(op, i0, 2, j0, 8, prefetch, 1); break;
    case 4 * 16 + 6: tile_bf16(op, i0, 4, j0, 6, prefetch, 1); break;
    case 3 * 16 + 6: tile_bf16(op, i0, 3, j0, 6, prefetch, 1); break;
    case 2 * 16 + 6: tile_bf16(op, i0, 2, j0, 6, prefetch, 1); break;
    case 1 * 16 + 6: tile_bf16(op, i0, 1, j0, 6, prefetch, 1); break;
    case 4 * 16 + 1: tile_bf16(op, i0, 4, j0, 1, prefetch, 1); break;
    case 3 * 16 + 1: tile_bf16(op, i0, 3, j0, 1, prefetch, 1); break;
    case 2 * 16 + 1: tile_bf16(op, i0, 2, j0, 1, prefetch, 1); break;
    case 1 * 16 + 1: tile_bf16(op, i0, 1, j0, 1, prefetch, 1); break;
    default: T2_ASSERT(!"tile shape");
    }
}

/* Rows [i0, i0 + rows) of A rounded to bfloat16 into `out` (rows x k_padded, k padded with
 * zeros to a multiple of 32), exactly as the tiles round them when they load. */
T2_AVX512_BF16 static void round_rows(uint16_t *out, int64_t k_padded, const skinny_operands *op,
                                      int64_t i0, int64_t rows) {
    int64_t k = op->k;
    for (int64_t r = 0; r < rows; r++) {
        const float *a = op->a + (i0 + r) * op->lda;
        uint16_t *row = out + r * k_padded;
        for (int64_t p = 0; p < k_padded; p += CHUNK) {
            int64_t left = k - p < CHUNK ? (k - p > 0 ? k - p : 0) : CHUNK;
            __mmask32 mask = (__mmask32)(left == CHUNK ? 0xffffffffu : (1u << left) - 1u);
            __m512 lo = _mm512_maskz_loadu_ps((__mmask16)mask, a + p);
            __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(mask >> 16), a + p + 16);
            _mm512_storeu_si512((void *)(row + p), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
    }
}

/* Columns [j0, j1) of op (A rounded, `rows` rows) with k in slabs of K_SLAB: for each block
 * of columns, the slabs in order, each over all the row tiles, each tile going on from the
 * sums the last slab left in `partial` (rows x SKINNY_AVX512_WIDE_COLS x 16 floats). The
 * same products in the same order as one pass over k, so the same bits; but a weight block's
 * slab (6 x 2,048 bfloat16, 24 KB) stays in L1 while the row tiles sweep it, where the whole
 * of a long row (6 x 8,192: 96 KB) is read again from L2 by every row tile. */
T2_AVX512_BF16 static void columns_in_slabs(const skinny_operands *op, int64_t rows, int64_t j0,
                                            int64_t j1, float *partial) {
    int cols = SKINNY_AVX512_WIDE_COLS;
    for (int64_t j = j0; j < j1; j += cols) {
        if (j + cols > j1) cols = 1;
        for (int64_t p0 = 0; p0 < op->k; p0 += K_SLAB) {
            skinny_operands slab = *op;
            slab.a = (const float *)(const void *)((const uint16_t *)(const void *)op->a + p0);
            slab.b = op->b + 2 * p0;
            slab.k = op->k - p0 < K_SLAB ? op->k - p0 : K_SLAB;
            slab.partial = partial;
            slab.resume = p0 > 0;
            slab.suspend = p0 + K_SLAB < op->k;
            int64_t i = 0;
            for (; i + SKINNY_AVX512_ROWS <= rows; i += SKINNY_AVX512_ROWS)
                tile_bf16_rounded_any(&slab, i, SKINNY_AVX512_ROWS, j, cols, i == 0);
            if (i < rows) tile_bf16_rounded_any(&slab, i, (int)(rows - i), j, cols, i == 0);
        }
    }
}

/* Columns [j0, j1) in the AVX-512 tiles. From 3 rows on, where each row of A meets many
 * column tiles, A's rows are rounded once per block of SKINNY_ROW_BLOCK rows into the
 * thread's scratch (half the bytes of float32 and no rounding in the tiles); the products
 * are the same bits. */
T2_AVX512_BF16 void skinny_columns_bf16_avx512(const skinny_operands *op, int64_t m, int64_t j0,
                                               int64_t j1) {
    T2_ASSERT(op->b_type == T2_WEIGHT_BF16);
    if (m <= 2) {
        skinny_columns_avx512_tiles(op, m, j0, j1, tile_bf16_any);
        return;
    }
    int64_t k_padded = (op->k + CHUNK - 1) / CHUNK * CHUNK;
    int64_t block = m < SKINNY_ROW_BLOCK ? m : SKINNY_ROW_BLOCK;
    int slabs = op->k > K_SLAB;
    int64_t partial_floats = slabs ? block * SKINNY_AVX512_WIDE_COLS * LANES : 0;
    float *scratch = skinny_thread_scratch(block * k_padded / 2 + partial_floats);
    uint16_t *rounded = (uint16_t *)(void *)scratch;
    float *partial = scratch + block * k_padded / 2; /* 64-byte aligned: k_padded % 32 == 0 */
    for (int64_t i0 = 0; i0 < m; i0 += SKINNY_ROW_BLOCK) {
        int64_t rows = m - i0 < SKINNY_ROW_BLOCK ? m - i0 : SKINNY_ROW_BLOCK;
        round_rows(rounded, k_padded, op, i0, rows);
        skinny_operands block_op = *op;
        block_op.c = op->c + i0 * op->ldc;
        block_op.a = (const float *)(const void *)rounded;
        block_op.lda = k_padded / 2; /* in floats: two bfloat16 each */
        if (slabs)
            columns_in_slabs(&block_op, rows, j0, j1, partial);
        else
            skinny_columns_avx512_tiles(&block_op, rows, j0, j1, tile_bf16_rounded_any);
    }
}

/* ---- how fast vdpbf16ps runs here --------------------------------------------------------- */

enum { PROBE_CHAINS = 12, PROBE_ITERATIONS = 1 << 14, PROBE_ROUNDS = 5 };

/* Twelve independent chains of one instruction (enough to hide the latency of either on
 * the CPUs measured), the sources in registers; "v" operands keep the chains alive. */
#define PROBE_CHAIN_DECLARE(i) __m512 acc##i = _mm512_set1_ps((float)(i));
#define PROBE_TWELVE(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define PROBE_SUM(i) sum = _mm512_add_ps(sum, acc##i);

/* A function `name` returning the seconds of PROBE_ITERATIONS x 12 `STEP`s, on sources a0,
 * a1, b0, b1 of `type` (held in registers: the empty asm hides their values). */
#define PROBE_TIMER(name, type, a0_value, a1_value, b0_value, b1_value, STEP)                   \
    T2_AVX512_BF16 static double name(void) {                                                  \
        PROBE_TWELVE(PROBE_CHAIN_DECLARE)                                                      \
        type a0 = a0_value, a1 = a1_value, b0 = b0_value, b1 = b1_value;                       \
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(b0), "+v"(b1));                         \
        double start = t2_time_now();                                                          \
        for (int it = 0; it < PROBE_ITERATIONS; it++) {                                        \
            PROBE_TWELVE(STEP)                                                                 \
            __asm__ volatile("" : "+v"(acc0), "+v"(acc5), "+v"(acc11));                        \
        }                                                                                      \
        double seconds = t2_time_now() - start;                                                \
        __m512 sum = _mm512_setzero_ps();                                                      \
        PROBE_TWELVE(PROBE_SUM)                                                                \
        __asm__ volatile("" : : "v"(sum));                                                     \
        return seconds;                                                                        \
    }

#define PROBE_DOT(i) acc##i = _mm512_dpbf16_ps(acc##i, (i) & 1 ? a0 : a1, (i) & 2 ? b0 : b1);
#define PROBE_FMA(i) acc##i = _mm512_fmadd_ps((i) & 1 ? a0 : a1, (i) & 2 ? b0 : b1, acc##i);
PROBE_TIMER(time_bf16_dots, __m512bh, (__m512bh)_mm512_set1_epi16(0x3f80),
            (__m512bh)_mm512_set1_epi16(0x3f81), (__m512bh)_mm512_set1_epi16(0x3c00),
            (__m512bh)_mm512_set1_epi16(0x3c01), PROBE_DOT)
PROBE_TIMER(time_fmas, __m512, _mm512_set1_ps(1.0f), _mm512_set1_ps(1.001f),
            _mm512_set1_ps(0.0078125f), _mm512_set1_ps(0.0079f), PROBE_FMA)

double skinny_bf16_dot_speedup(void) {
    double best_dots = 1e30, best_fmas = 1e30;
    for (int round = 0; round <= PROBE_ROUNDS; round++) { /* round 0 warms the units up */
        double dots = time_bf16_dots(), fmas = time_fmas();
        if (round > 0 && dots < best_dots) best_dots = dots;
        if (round > 0 && fmas < best_fmas) best_fmas = fmas;
    }
    /* a vdpbf16ps adds 32 products, a vfmadd231ps 16 */
    return 2.0 * best_fmas / best_dots;
}

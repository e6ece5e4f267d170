/* Skinny products C = A Bᵀ (see skinny.h): the AVX-512, AVX2 and plain-C kernels, the
 * run-time choice between them, and the split of C's columns over threads. Not here: the
 * decision which products come here (linalg/gemm.c), the bfloat16 dot-product kernels
 * (linalg/skinny_bf16.c).
 *
 * Each kernel walks its columns in blocks of COLS rows of B and, for every block, all of
 * A's rows in blocks of ROWS: a ROWS x COLS tile of C is held in registers (one 16-lane
 * accumulator per element) while k is swept once, so a block of B is read from memory once
 * per call and then from cache for the other row blocks. At m = 1 this is a stream over B.
 * While the first row tile sweeps a block, the next block's rows are prefetched into L2 at
 * the same offsets, so their memory latency hides behind this block's arithmetic (the other
 * row tiles issue no prefetches: repeating them for every tile cost 10-20 % at 128 rows).
 * These prefetches were not emitted at all before 2026-12-07 (skinny_impl.h says why); with
 * them, 8 to 32 rows run 8-15 % faster (docs/inference.md). On half-precision B with
 * SKINNY_WIDEN_ROWS rows or more, the AVX-512 kernel widens each block once into a float32
 * scratch instead of in every row tile (columns_avx512_widened).
 *
 * This file is compiled for the baseline x86-64 ISA (linalg/CMakeLists.txt); the SIMD
 * kernels enable their ISA per function with target attributes.
 * Reference: Intel Intrinsics Guide; the lane order is linalg/lanes.h's. */
#include "linalg/skinny.h"

#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "linalg/blis_setup.h"
#include "linalg/skinny_impl.h"

/* Elements [p, p + count) of a row of B (count < 16) as float32 in lanes 0 .. count-1 of
 * out, zeros after: the k tail, where a full vector load would read past the row. */
static inline void widen_tail(float out[16], const unsigned char *row, int64_t p, int64_t count,
                              t2_weight_type type) {
    memset(out, 0, 16 * sizeof *out);
    t2_weight w = {{.data = (void *)row}, type};
    t2_weight_widen(out, w, p, count);
}

/* ---- plain C ---------------------------------------------------------------------------- */

enum { LANES = 16 };

/* Element p of a row of B as float32. */
static inline float b_elem(const unsigned char *row, int64_t p, t2_weight_type type) {
    if (type == T2_WEIGHT_F32) {
        float v;
        memcpy(&v, row + p * (int64_t)sizeof v, sizeof v);
        return v;
    }
    uint16_t bits;
    memcpy(&bits, row + p * (int64_t)sizeof bits, sizeof bits);
    return type == T2_WEIGHT_BF16 ? t2_weight_bf16_to_f32(bits) : t2_weight_f16_to_f32(bits);
}

/* a · b of length k in the kernels' lane order (see skinny.h). */
static float dot_plain(const float *a, const unsigned char *b, t2_weight_type type, int64_t k) {
    float acc[LANES] = {0};
    int64_t p = 0;
    for (; p + LANES <= k; p += LANES)
        for (int64_t l = 0; l < LANES; l++) acc[l] = fmaf(a[p + l], b_elem(b, p + l, type), acc[l]);
    if (p < k) {
        for (int64_t l = 0; l < LANES; l++) {
            int inside = p + l < k;
            acc[l] = fmaf(inside ? a[p + l] : 0.0f, inside ? b_elem(b, p + l, type) : 0.0f, acc[l]);
        }
    }
    for (int64_t width = LANES / 2; width >= 1; width /= 2)
        for (int64_t l = 0; l < width; l++) acc[l] += acc[l + width];
    return acc[0];
}

static void columns_plain(const skinny_operands *op, int64_t m, int64_t j0, int64_t j1) {
    size_t size = t2_weight_type_size(op->b_type);
    for (int64_t j = j0; j < j1; j++) {
        const unsigned char *b_row = skinny_b_row(op, j, size);
        for (int64_t i = 0; i < m; i++)
            skinny_store(op, i, j, dot_plain(op->a + i * op->lda, b_row, op->b_type, op->k));
    }
}

/* ---- AVX2 + FMA: a 16-lane accumulator is two 8-float registers, lo and hi ---------------- */

/* Tiles: 1 x 4 when m == 1, else up to 2 x 3: at most 12 of the 16 registers accumulate. */
enum { AVX2_ROWS = 2, AVX2_COLS = 4 };

/* A macro: a function attribute cannot be named any other way. F16C converts float16. */
#define T2_AVX2 __attribute__((target("avx2,fma,f16c")))

/* 8 elements of B at `at` as float32. */
T2_AVX2 static inline __m256 load8_avx2(const unsigned char *at, t2_weight_type type) {
    if (type == T2_WEIGHT_F32) return _mm256_loadu_ps((const float *)(const void *)at);
    __m128i bits = _mm_loadu_si128((const __m128i *)(const void *)at);
    if (type == T2_WEIGHT_F16) return _mm256_cvtph_ps(bits);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16));
}

/* The tree of lanes.h on lanes lo (0..7) and hi (8..15). */
T2_AVX2 static inline float reduce_avx2(__m256 lo, __m256 hi) {
    __m256 s8 = _mm256_add_ps(lo, hi);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

/* The rows x cols tile of C at (i0, j0); rows <= AVX2_ROWS, cols <= AVX2_COLS and B's type
 * are compile-time constants after inlining, so the accumulators live in registers.
 * prefetch: 1 in the first row tile of a column block, which fetches the next block (the
 * other row tiles read this block from cache). */
T2_AVX2 __attribute__((always_inline)) static inline void tile_avx2(
    const skinny_operands *op, int64_t i0, int rows, int64_t j0, int cols, int prefetch,
    t2_weight_type type) {
    const size_t size = type == T2_WEIGHT_F32 ? 4 : 2;
    const float *a_row[AVX2_ROWS];
    const unsigned char *b_row[AVX2_COLS];
    __m256 lo[AVX2_ROWS][AVX2_COLS], hi[AVX2_ROWS][AVX2_COLS];
    for (int r = 0; r < rows; r++) a_row[r] = op->a + (i0 + r) * op->lda;
    for (int c = 0; c < cols; c++) b_row[c] = skinny_b_row(op, j0 + c, size);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) lo[r][c] = hi[r][c] = _mm256_setzero_ps();
    int64_t k = op->k, p = 0;
    int64_t ahead = cols * op->ldb * (int64_t)size; /* the next block's rows, same offset */
    for (; p + LANES <= k; p += LANES) {
        for (int c = 0; c < cols && prefetch; c++)
            skinny_prefetch_l2(b_row[c] + p * (int64_t)size, ahead);
        for (int r = 0; r < rows; r++) {
            __m256 a_lo = _mm256_loadu_ps(a_row[r] + p);
            __m256 a_hi = _mm256_loadu_ps(a_row[r] + p + 8);
            for (int c = 0; c < cols; c++) {
                const unsigned char *at = b_row[c] + p * (int64_t)size;
                lo[r][c] = _mm256_fmadd_ps(a_lo, load8_avx2(at, type), lo[r][c]);
                hi[r][c] = _mm256_fmadd_ps(a_hi, load8_avx2(at + 8 * size, type), hi[r][c]);
            }
        }
    }
    if (p < k) { /* masked loads read nothing past the end and give zeros there */
        __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256i mask_lo = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(k - p)), lane);
        __m256i mask_hi = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(k - p) - 8), lane);
        float b_tail[AVX2_COLS][16];
        for (int c = 0; c < cols; c++) widen_tail(b_tail[c], b_row[c], p, k - p, type);
        for (int r = 0; r < rows; r++) {
            __m256 a_lo = _mm256_maskload_ps(a_row[r] + p, mask_lo);
            __m256 a_hi = _mm256_maskload_ps(a_row[r] + p + 8, mask_hi);
            for (int c = 0; c < cols; c++) {
                lo[r][c] = _mm256_fmadd_ps(a_lo, _mm256_loadu_ps(b_tail[c]), lo[r][c]);
                hi[r][c] = _mm256_fmadd_ps(a_hi, _mm256_loadu_ps(b_tail[c] + 8), hi[r][c]);
            }
        }
    }
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            skinny_store(op, i0 + r, j0 + c, reduce_avx2(lo[r][c], hi[r][c]));
}

/* One tile of any shape the driver uses, for B of one type: each shape inlined with
 * constant sizes. */
T2_AVX2 __attribute__((always_inline)) static inline void tile_avx2_shape(
    const skinny_operands *op, int64_t i0, int rows, int64_t j0, int cols, int prefetch,
    t2_weight_type type) {
    switch (rows * 16 + cols) {
    case 1 * 16 + 4: tile_avx2(op, i0, 1, j0, 4, prefetch, type); break;
    case 2 * 16 + 3: tile_avx2(op, i0, 2, j0, 3, prefetch, type); break;
    case 1 * 16 + 3: tile_avx2(op, i0, 1, j0, 3, prefetch, type); break;
    case 2 * 16 + 1: tile_avx2(op, i0, 2, j0, 1, prefetch, type); break;
    case 1 * 16 + 1: tile_avx2(op, i0, 1, j0, 1, prefetch, type); break;
    default: T2_ASSERT(!"tile shape");
    }
}

/* One tile for B's type. Not inlined itself, so that its registers are allocated for the
 * tile alone. */
T2_AVX2 __attribute__((noinline)) static void tile_avx2_any(const skinny_operands *op, int64_t i0,
                                                            int rows, int64_t j0, int cols,
                                                            int prefetch) {
    switch (op->b_type) {
    case T2_WEIGHT_F32: tile_avx2_shape(op, i0, rows, j0, cols, prefetch, T2_WEIGHT_F32); break;
    case T2_WEIGHT_BF16: tile_avx2_shape(op, i0, rows, j0, cols, prefetch, T2_WEIGHT_BF16); break;
    case T2_WEIGHT_F16: tile_avx2_shape(op, i0, rows, j0, cols, prefetch, T2_WEIGHT_F16); break;
    }
}

/* Columns [j0, j1) of C: m == 1 in 1 x 4 tiles (1 x 1 when t2_skinny_single_row_streams()
 * says one stream), else 2 x 3 (and one row, one column last). */
T2_AVX2 static void columns_avx2(const skinny_operands *op, int64_t m, int64_t j0, int64_t j1) {
    int cols = m > 1 ? AVX2_COLS - 1 : t2_skinny_single_row_streams() > 1 ? AVX2_COLS : 1;
    for (int64_t j = j0; j < j1; j += cols) {
        if (j + cols > j1) cols = 1;
        int64_t i = 0;
        for (; i + AVX2_ROWS <= m; i += AVX2_ROWS) tile_avx2_any(op, i, AVX2_ROWS, j, cols, i == 0);
        if (i < m) tile_avx2_any(op, i, 1, j, cols, i == 0);
    }
}

/* ---- AVX-512F --------------------------------------------------------------------------- */

/* 16 elements of B at `at` as float32. */
T2_AVX512 static inline __m512 load16_avx512(const unsigned char *at, t2_weight_type type) {
    if (type == T2_WEIGHT_F32) return _mm512_loadu_ps((const float *)(const void *)at);
    __m256i bits = _mm256_loadu_si256((const __m256i *)(const void *)at);
    if (type == T2_WEIGHT_F16) return _mm512_cvtph_ps(bits);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
}

/* The rows x cols tile of C at (i0, j0) (rows <= SKINNY_AVX512_ROWS,
 * cols <= SKINNY_AVX512_COLS and B's type compile-time constants after inlining). */
T2_AVX512 __attribute__((always_inline)) static inline void tile_avx512(
    const skinny_operands *op, int64_t i0, int rows, int64_t j0, int cols, int prefetch,
    t2_weight_type type) {
    const size_t size = type == T2_WEIGHT_F32 ? 4 : 2;
    const float *a_row[SKINNY_AVX512_ROWS];
    const unsigned char *b_row[SKINNY_AVX512_COLS];
    __m512 acc[SKINNY_AVX512_ROWS][SKINNY_AVX512_COLS];
    for (int r = 0; r < rows; r++) a_row[r] = op->a + (i0 + r) * op->lda;
    for (int c = 0; c < cols; c++) b_row[c] = skinny_b_row(op, j0 + c, size);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) acc[r][c] = _mm512_setzero_ps();
    int64_t k = op->k, p = 0;
    int64_t ahead = cols * op->ldb * (int64_t)size; /* the next block's rows, same offset */
    for (; p + LANES <= k; p += LANES) {
        __m512 b_vec[SKINNY_AVX512_COLS];
        for (int c = 0; c < cols; c++) b_vec[c] = load16_avx512(b_row[c] + p * (int64_t)size, type);
        for (int c = 0; c < cols && prefetch; c++)
            skinny_prefetch_l2(b_row[c] + p * (int64_t)size, ahead);
        for (int r = 0; r < rows; r++) {
            __m512 a_vec = _mm512_loadu_ps(a_row[r] + p);
            for (int c = 0; c < cols; c++) acc[r][c] = _mm512_fmadd_ps(a_vec, b_vec[c], acc[r][c]);
        }
    }
    if (p < k) { /* masked loads read nothing past the end and give zeros there */
        __mmask16 mask = (__mmask16)((1u << (k - p)) - 1u);
        __m512 b_vec[SKINNY_AVX512_COLS];
        for (int c = 0; c < cols; c++) {
            float b_tail[16];
            widen_tail(b_tail, b_row[c], p, k - p, type);
            b_vec[c] = _mm512_loadu_ps(b_tail);
        }
        for (int r = 0; r < rows; r++) {
            __m512 a_vec = _mm512_maskz_loadu_ps(mask, a_row[r] + p);
            for (int c = 0; c < cols; c++) acc[r][c] = _mm512_fmadd_ps(a_vec, b_vec[c], acc[r][c]);
        }
    }
    skinny_store_tile_avx512(op, i0, rows, j0, cols, acc);
}

/* One tile of any shape the driver uses, for B of one type (see tile_avx2_shape). */
T2_AVX512 __attribute__((always_inline)) static inline void tile_avx512_shape(
    const skinny_operands *op, int64_t i0, int rows, int64_t j0, int cols, int prefetch,
    t2_weight_type type) {
    switch (rows * 16 + cols) {
    case 1 * 16 + 8: tile_avx512(op, i0, 1, j0, 8, prefetch, type); break;
    case 2 * 16 + 8: tile_avx512(op, i0, 2, j0, 8, prefetch, type); break;
    case 4 * 16 + 6: tile_avx512(op, i0, 4, j0, 6, prefetch, type); break;
    case 3 * 16 + 6: tile_avx512(op, i0, 3, j0, 6, prefetch, type); break;
    case 2 * 16 + 6: tile_avx512(op, i0, 2, j0, 6, prefetch, type); break;
    case 1 * 16 + 6: tile_avx512(op, i0, 1, j0, 6, prefetch, type); break;
    case 4 * 16 + 1: tile_avx512(op, i0, 4, j0, 1, prefetch, type); break;
    case 3 * 16 + 1: tile_avx512(op, i0, 3, j0, 1, prefetch, type); break;
    case 2 * 16 + 1: tile_avx512(op, i0, 2, j0, 1, prefetch, type); break;
    case 1 * 16 + 1: tile_avx512(op, i0, 1, j0, 1, prefetch, type); break;
    default: T2_ASSERT(!"tile shape");
    }
}

/* One tile for B's type (see tile_avx2_any). */
T2_AVX512 __attribute__((noinline)) static void tile_avx512_any(const skinny_operands *op,
                                                                int64_t i0, int rows, int64_t j0,
                                                                int cols, int prefetch) {
    switch (op->b_type) {
    case T2_WEIGHT_F32: tile_avx512_shape(op, i0, rows, j0, cols, prefetch, T2_WEIGHT_F32); break;
    case T2_WEIGHT_BF16: tile_avx512_shape(op, i0, rows, j0, cols, prefetch, T2_WEIGHT_BF16); break;
    case T2_WEIGHT_F16: tile_avx512_shape(op, i0, rows, j0, cols, prefetch, T2_WEIGHT_F16); break;
    }
}

/* ---- AVX-512F on half-precision B with many rows: B's blocks widened once ---------------- */

/* Widening a vector of half-precision B costs two instructions, one of them on the port that
 * also runs 512-bit FMAs. In place, every 4-row tile repeats it: at 128 rows a block is
 * widened 32 times, 36 operations on the two FMA ports for every 24 FMAs. From this many rows
 * on, each block of B's rows is widened once into a float32 scratch and the tiles read that
 * (bench_skinny --bf16, docs/inference.md). */
enum { SKINNY_WIDEN_ROWS = 28 };

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_release(void *scratch) { t2_free(scratch); }
static void scratch_key_create(void) {
    int created = pthread_key_create(&scratch_key, scratch_release);
    T2_ASSERT(created == 0);
}

float *skinny_thread_scratch(int64_t floats) {
    pthread_once(&scratch_once, scratch_key_create);
    int64_t *scratch = pthread_getspecific(scratch_key); /* scratch[0]: floats it holds */
    if (scratch == NULL || scratch[0] < floats) {
        t2_free(scratch);
        /* the size in the first 8 bytes; the floats from byte 64 on */
        scratch = t2_alloc_array((size_t)floats * sizeof(float) + 64, 1);
        scratch[0] = floats;
        int set = pthread_setspecific(scratch_key, scratch);
        T2_ASSERT(set == 0);
    }
    return (float *)(void *)((unsigned char *)scratch + 64);
}

/* Rows [j, j + rows) of B into out (rows x k float32, row-major), exactly. Not
 * t2_weight_widen: that one is compiled for baseline x86-64 (4 lanes where this loop has 16)
 * and opens its own OpenMP region for long spans, while this runs inside the product's
 * threads. */
T2_AVX512 static void widen_rows_avx512(float *out, const skinny_operands *op, int64_t j,
                                        int rows) {
    size_t size = t2_weight_type_size(op->b_type);
    int64_t k = op->k;
    for (int r = 0; r < rows; r++) {
        const unsigned char *row = skinny_b_row(op, j + r, size);
        float *to = out + r * k;
        int64_t p = 0;
        for (; p + LANES <= k; p += LANES)
            _mm512_storeu_ps(to + p, load16_avx512(row + p * (int64_t)size, op->b_type));
        if (p < k) {
            float tail[16];
            widen_tail(tail, row, p, k - p, op->b_type);
            memcpy(to + p, tail, (size_t)(k - p) * sizeof(float));
        }
    }
}

/* Part `part` of `parts` of the cache lines of B's rows [j, j + rows) fetched into L2. */
static void prefetch_rows_part(const skinny_operands *op, int64_t j, int rows, int64_t part,
                               int64_t parts) {
    size_t size = t2_weight_type_size(op->b_type);
    int64_t lines = (op->k * (int64_t)size + 63) / 64;
    for (int r = 0; r < rows; r++) {
        const unsigned char *row = skinny_b_row(op, j + r, size);
        for (int64_t line = lines * part / parts; line < lines * (part + 1) / parts; line++)
            skinny_prefetch_l2(row, line * 64);
    }
}

/* Columns [j0, j1) of C for half-precision B: the tiles of skinny_columns_avx512_tiles, each
 * block of B's rows widened once into the thread's scratch and read from there as float32.
 * While the row tiles sweep a block, each fetches its share of the next block's rows into
 * L2, so the next widening reads from cache. */
T2_AVX512 static void columns_avx512_widened(const skinny_operands *op, int64_t m, int64_t j0,
                                             int64_t j1) {
    int cols = SKINNY_AVX512_WIDE_COLS;
    int64_t tiles = (m + SKINNY_AVX512_ROWS - 1) / SKINNY_AVX512_ROWS;
    float *block = skinny_thread_scratch(cols * op->k);
    skinny_operands wide = *op;
    wide.b = (const unsigned char *)block;
    wide.b_type = T2_WEIGHT_F32;
    wide.ldb = op->k;
    for (int64_t j = j0; j < j1; j += cols) {
        if (j + cols > j1) cols = 1;
        widen_rows_avx512(block, op, j, cols);
        wide.c = op->c + j; /* C's columns from j, B's rows from the block's first */
        int64_t next = j + cols, next_cols = j1 - next < cols ? j1 - next : cols;
        for (int64_t t = 0; t < tiles; t++) {
            int64_t i = t * SKINNY_AVX512_ROWS;
            int rows = m - i < SKINNY_AVX512_ROWS ? (int)(m - i) : SKINNY_AVX512_ROWS;
            if (next_cols > 0) prefetch_rows_part(op, next, (int)next_cols, t, tiles);
            tile_avx512_any(&wide, i, rows, 0, cols, 0);
        }
    }
}

/* Columns [j0, j1) of C in the AVX-512 tiles. */
T2_AVX512 static void columns_avx512(const skinny_operands *op, int64_t m, int64_t j0, int64_t j1) {
    if (op->b_type != T2_WEIGHT_F32 && m >= SKINNY_WIDEN_ROWS)
        columns_avx512_widened(op, m, j0, j1);
    else
        skinny_columns_avx512_tiles(op, m, j0, j1, tile_avx512_any);
}

/* ---- choice of kernel ------------------------------------------------------------------- */

static int single_row_streams = 8;
static pthread_once_t streams_once = PTHREAD_ONCE_INIT;

static void choose_streams(void) {
    const char *env = getenv("T2_SKINNY_STREAMS");
    __builtin_cpu_init();
    if (env != NULL && (strcmp(env, "1") == 0 || strcmp(env, "8") == 0))
        single_row_streams = atoi(env);
    else
        single_row_streams = __builtin_cpu_is("amd") ? 1 : 8;
}

int t2_skinny_single_row_streams(void) {
    pthread_once(&streams_once, choose_streams);
    return single_row_streams;
}

static const char *const kernel_names[] = {"blis", "plain", "avx2", "avx512", "avx512bf16",
                                           "plainbf16"};
static t2_skinny_kernel active_kernel = T2_SKINNY_KERNEL_BLIS;
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;

int t2_skinny_kernel_supported(t2_skinny_kernel kernel) {
    __builtin_cpu_init();
    switch (kernel) {
    case T2_SKINNY_KERNEL_BLIS:
    case T2_SKINNY_KERNEL_PLAIN:
    case T2_SKINNY_KERNEL_PLAIN_BF16: return 1;
    case T2_SKINNY_KERNEL_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("f16c");
    case T2_SKINNY_KERNEL_AVX512: return __builtin_cpu_supports("avx512f");
    case T2_SKINNY_KERNEL_AVX512_BF16:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512bf16");
    }
    return 0;
}

const char *t2_skinny_kernel_name(t2_skinny_kernel kernel) {
    T2_ASSERT((unsigned)kernel <= T2_SKINNY_KERNEL_PLAIN_BF16);
    return kernel_names[kernel];
}

int t2_skinny_kernel_runs_avx512(t2_skinny_kernel kernel) {
    return kernel == T2_SKINNY_KERNEL_AVX512 || kernel == T2_SKINNY_KERNEL_AVX512_BF16;
}

static void choose_kernel(void) {
    const char *env = getenv("T2_KERNEL");
    for (int kernel = T2_SKINNY_KERNEL_BLIS; env && kernel <= T2_SKINNY_KERNEL_PLAIN_BF16;
         kernel++) {
        if (strcmp(env, kernel_names[kernel]) == 0 && t2_skinny_kernel_supported(kernel)) {
            active_kernel = kernel;
            return;
        }
    }
    /* avx512bf16 only where vdpbf16ps adds products clearly faster than vfmadd231ps (the AMD
     * EPYC Zen 5 measured: 1.8x; the Intel Xeons: half, where avx512's widening is the faster,
     * docs/inference.md) */
    if (t2_skinny_bf16_dot_speedup() >= T2_SKINNY_BF16_MIN_SPEEDUP)
        active_kernel = T2_SKINNY_KERNEL_AVX512_BF16;
    else if (t2_skinny_kernel_supported(T2_SKINNY_KERNEL_AVX512))
        active_kernel = T2_SKINNY_KERNEL_AVX512;
    else if (t2_skinny_kernel_supported(T2_SKINNY_KERNEL_AVX2))
        active_kernel = T2_SKINNY_KERNEL_AVX2;
    else
        active_kernel = T2_SKINNY_KERNEL_BLIS;
}

int64_t t2_skinny_max_rows(t2_skinny_kernel kernel) {
    switch (kernel) {
    case T2_SKINNY_KERNEL_BLIS: return 0;
    case T2_SKINNY_KERNEL_AVX2: return 4;
    case T2_SKINNY_KERNEL_PLAIN:
    case T2_SKINNY_KERNEL_AVX512:
    case T2_SKINNY_KERNEL_AVX512_BF16:
    case T2_SKINNY_KERNEL_PLAIN_BF16: return 128;
    }
    return 0;
}

static pthread_once_t speedup_once = PTHREAD_ONCE_INIT;
static double bf16_dot_speedup;

static void measure_speedup(void) {
    if (t2_skinny_kernel_supported(T2_SKINNY_KERNEL_AVX512_BF16))
        bf16_dot_speedup = skinny_bf16_dot_speedup();
}

double t2_skinny_bf16_dot_speedup(void) {
    pthread_once(&speedup_once, measure_speedup);
    return bf16_dot_speedup;
}

int64_t t2_skinny_max_rows_of(t2_skinny_kernel kernel, t2_weight_type type) {
    if (type == T2_WEIGHT_F32) return t2_skinny_max_rows(kernel);
    if (type == T2_WEIGHT_BF16 && (kernel == T2_SKINNY_KERNEL_AVX512_BF16 ||
                                   kernel == T2_SKINNY_KERNEL_PLAIN_BF16))
        return T2_SKINNY_ALL_ROWS;
    return kernel == T2_SKINNY_KERNEL_BLIS ? 0 : t2_skinny_max_rows(T2_SKINNY_KERNEL_AVX512);
}

t2_skinny_kernel t2_skinny_active_kernel(void) {
    pthread_once(&choose_once, choose_kernel);
    return active_kernel;
}

/* ---- the product ------------------------------------------------------------------------ */

typedef void columns_fn(const skinny_operands *op, int64_t m, int64_t j0, int64_t j1);

/* The columns function of the kernel for B of the given type: the BF16 kernels take their
 * bfloat16 dot products on bfloat16 B (linalg/skinny_bf16.c) and are the float32 kernels of
 * their ISA otherwise. */
static columns_fn *columns_of(t2_skinny_kernel kernel, t2_weight_type b_type) {
    switch (kernel) {
    case T2_SKINNY_KERNEL_AVX512_BF16:
        return b_type == T2_WEIGHT_BF16 ? skinny_columns_bf16_avx512 : columns_avx512;
    case T2_SKINNY_KERNEL_PLAIN_BF16:
        return b_type == T2_WEIGHT_BF16 ? skinny_columns_bf16_plain : columns_plain;
    case T2_SKINNY_KERNEL_AVX512: return columns_avx512;
    case T2_SKINNY_KERNEL_AVX2: return columns_avx2;
    case T2_SKINNY_KERNEL_PLAIN: return columns_plain;
    case T2_SKINNY_KERNEL_BLIS: break;
    }
    T2_ASSERT(!"a skinny kernel");
    return columns_plain;
}

void t2_skinny_forward_weight_with(t2_skinny_kernel kernel, int threads, float *c, int64_t ldc,
                                   const float *a, int64_t lda, t2_weight b, int64_t ldb,
                                   int64_t m, int64_t n, int64_t k, float beta) {
    T2_ASSERT(m >= 1 && n >= 0 && k >= 0);
    T2_ASSERT(ldc >= n && lda >= k && ldb >= k && threads >= 1);
    T2_ASSERT(beta == 0.0f || beta == 1.0f);
    T2_ASSERT(kernel != T2_SKINNY_KERNEL_BLIS && t2_skinny_kernel_supported(kernel));
    columns_fn *columns = columns_of(kernel, b.type);
    skinny_operands op = {c, a, b.data, b.type, ldc, lda, ldb, k, beta == 1.0f, NULL, 0, 0};
    if (m * n * k < T2_SKINNY_PARALLEL_MACS) threads = 1;
    if (threads == 1) {
        columns(&op, m, 0, n);
        return;
    }
    /* thread t's columns start at a multiple of 8 (whole tiles); which thread computes a
     * column does not change its value */
    int64_t blocks = (n + 7) / 8;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int t = 0; t < threads; t++) {
        int64_t j0 = blocks * t / threads * 8, j1 = blocks * (t + 1) / threads * 8;
        columns(&op, m, j0 < n ? j0 : n, j1 < n ? j1 : n);
    }
}

void t2_skinny_forward_weight(float *c, int64_t ldc, const float *a, int64_t lda, t2_weight b,
                              int64_t ldb, int64_t m, int64_t n, int64_t k, float beta) {
    t2_skinny_forward_weight_with(t2_skinny_active_kernel(), t2_blis_threads(), c, ldc, a, lda, b,
                                  ldb, m, n, k, beta);
}

void t2_skinny_forward_with(t2_skinny_kernel kernel, int threads, float *c, int64_t ldc,
                            const float *a, int64_t lda, const float *b, int64_t ldb,
                            int64_t m, int64_t n, int64_t k, float beta) {
    t2_skinny_forward_weight_with(kernel, threads, c, ldc, a, lda,
                                  t2_weight_of_f32((float *)b), ldb, m, n, k, beta);
}

void t2_skinny_forward(float *c, int64_t ldc, const float *a, int64_t lda, const float *b,
                       int64_t ldb, int64_t m, int64_t n, int64_t k, float beta) {
    t2_skinny_forward_with(t2_skinny_active_kernel(), t2_blis_threads(), c, ldc, a, lda, b, ldb,
                           m, n, k, beta);
}

void t2_skinny_forward_ref(float *c, int64_t ldc, const float *a, int64_t lda, const float *b,
                           int64_t ldb, int64_t m, int64_t n, int64_t k, float beta) {
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            double sum = 0.0;
            for (int64_t p = 0; p < k; p++) sum += (double)a[i * lda + p] * b[j * ldb + p];
            float *c_ij = &c[i * ldc + j];
            *c_ij = (float)(beta == 0.0f ? sum : sum + (double)*c_ij);
        }
    }
}

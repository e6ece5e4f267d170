/* Private to linalg/skinny*.c: the operands of one skinny product and the helpers every
 * kernel file shares (linalg/skinny.c: float32 arithmetic on any storage type;
 * linalg/skinny_bf16.c: bfloat16 dot products on bfloat16 weights). See linalg/skinny.h. */
#ifndef T2_LINALG_SKINNY_IMPL_H
#define T2_LINALG_SKINNY_IMPL_H

#include <immintrin.h>
#include <stdint.h>

#include "linalg/lanes_avx512.h"
#include "linalg/skinny.h"
#include "linalg/weight.h"

/* The operands of one product, shared by every thread. B's elements are of b_type (the
 * kernels are inlined per type, so the type is a constant inside each loop). */
typedef struct skinny_operands {
    float *c;
    const float *a;
    const unsigned char *b;
    t2_weight_type b_type;
    int64_t ldc, lda, ldb, k; /* ldb in elements */
    int accumulate;           /* beta == 1 */
    /* The bfloat16 kernel's slabs of k (linalg/skinny_bf16.c), NULL / 0 otherwise: a tile
     * starts from (resume) or ends in (suspend) the 16-lane sums of its elements in
     * partial[(row * SKINNY_AVX512_WIDE_COLS + column) * 16], row and column within the
     * tile's row block and column block. */
    float *partial;
    int resume, suspend;
} skinny_operands;

/* The AVX-512 kernels' tiles: up to 4 rows x 6 columns when m > 2 (24 of the 32 registers
 * accumulate, 6 hold B's vectors; 4-6 % faster than 6 x 4 at m = 8..128, which loads A's
 * rows more often from L2); m x 8 when m <= 2, which keeps 8 streams of B in flight for the
 * memory-bound m = 1. */
enum { SKINNY_AVX512_ROWS = 4, SKINNY_AVX512_COLS = 8, SKINNY_AVX512_WIDE_COLS = 6 };

/* Row j of B, as bytes. */
static inline const unsigned char *skinny_b_row(const skinny_operands *op, int64_t j,
                                                size_t elem_size) {
    return op->b + (size_t)(j * op->ldb) * elem_size;
}

/* C's element (i, j) gets the reduced sum. */
static inline void skinny_store(const skinny_operands *op, int64_t i, int64_t j, float sum) {
    float *c_ij = &op->c[i * op->ldc + j];
    *c_ij = op->accumulate ? *c_ij + sum : sum;
}

/* C's elements (i, j .. j + 3) get the four sums. */
T2_AVX512 static inline void skinny_store4_avx512(const skinny_operands *op, int64_t i, int64_t j,
                                                  __m128 sums) {
    float *c_ij = &op->c[i * op->ldc + j];
    if (op->accumulate) sums = _mm_add_ps(_mm_loadu_ps(c_ij), sums);
    _mm_storeu_ps(c_ij, sums);
}

/* C's rows x cols elements at (i0, j0) get the folded sums of the tile's accumulators
 * (acc[r][c] for element (i0 + r, j0 + c)), four at a time where it can. */
T2_AVX512 __attribute__((always_inline)) static inline void skinny_store_tile_avx512(
    const skinny_operands *op, int64_t i0, int rows, int64_t j0, int cols,
    __m512 acc[][SKINNY_AVX512_COLS]) {
    for (int r = 0; r < rows; r++) {
        int c = 0;
        for (; c + 4 <= cols; c += 4)
            skinny_store4_avx512(op, i0 + r, j0 + c,
                                 reduce4_avx512(acc[r][c], acc[r][c + 1], acc[r][c + 2],
                                                acc[r][c + 3]));
        for (; c < cols; c++) skinny_store(op, i0 + r, j0 + c, reduce_avx512(acc[r][c]));
    }
}

/* The calling thread's scratch of at least `floats` floats (64-byte aligned): it grows, never
 * shrinks, and is freed when the thread exits (a pthread key's destructor), so a product
 * allocates nothing once its threads have seen the largest k. One per thread, for whichever
 * kernel the thread runs. */
float *skinny_thread_scratch(int64_t floats);

/* Fetches the cache line at `at + ahead` bytes into L2 (prefetcht1: read, locality 2). The
 * address is computed as an integer: past the last block it points beyond B, which a
 * prefetch may touch (it never faults) but C pointer arithmetic may not. The builtin, not
 * _mm_prefetch: GCC 12 drops _mm_prefetch's instruction when it reaches a function with a
 * target attribute through an inline helper (none was emitted before 2026-12-07). */
static inline void skinny_prefetch_l2(const unsigned char *at, int64_t ahead) {
    __builtin_prefetch((const void *)((uintptr_t)at + (uintptr_t)ahead), 0, 2);
}

/* One rows x cols tile of C at (i0, j0); prefetch: 1 in the first row tile of a column
 * block, which fetches the next block into L2 (the other row tiles find this block in
 * cache and issue no prefetches). */
typedef void skinny_tile_fn(const skinny_operands *op, int64_t i0, int rows, int64_t j0,
                            int cols, int prefetch);

/* Rows of A swept per pass over the columns: 128 rows of k <= 1024 floats stay in a 1 MiB L2
 * while the columns' tiles read them again and again (512 rows, 2 MB, ran 15 % slower). */
enum { SKINNY_ROW_BLOCK = 128 };

/* Columns [j0, j1) of C in the AVX-512 tiles: m <= 2 in m x 8 (m = 1: 1 x 1 when
 * t2_skinny_single_row_streams() says one stream), else 4 x 6 (the last 1 to 3 rows in one
 * smaller tile; the last columns one at a time); past SKINNY_ROW_BLOCK rows, block by block
 * of rows. */
static inline void skinny_columns_avx512_tiles(const skinny_operands *op, int64_t m, int64_t j0,
                                               int64_t j1, skinny_tile_fn *tile) {
    int rows = m <= 2 ? (int)m : SKINNY_AVX512_ROWS;
    int m_cols = m > 2 ? SKINNY_AVX512_WIDE_COLS
                       : m == 2 || t2_skinny_single_row_streams() > 1 ? SKINNY_AVX512_COLS : 1;
    for (int64_t i0 = 0; i0 < m; i0 += SKINNY_ROW_BLOCK) {
        int64_t i_end = m - i0 < SKINNY_ROW_BLOCK ? m : i0 + SKINNY_ROW_BLOCK;
        int cols = m_cols;
        for (int64_t j = j0; j < j1; j += cols) {
            if (j + cols > j1) cols = 1;
            int64_t i = i0;
            for (; i + rows <= i_end; i += rows) tile(op, i, rows, j, cols, i == i0);
            if (i < i_end) tile(op, i, (int)(i_end - i), j, cols, i == i0);
        }
    }
}

/* Columns [j0, j1) of C = A Bᵀ (+ C) for a bfloat16 B, in bfloat16 dot products
 * (linalg/skinny_bf16.c): the AVX-512-BF16 kernel and its plain-C twin, bitwise equal. */
void skinny_columns_bf16_avx512(const skinny_operands *op, int64_t m, int64_t j0, int64_t j1);
void skinny_columns_bf16_plain(const skinny_operands *op, int64_t m, int64_t j0, int64_t j1);

/* Multiply-adds per second of vdpbf16ps over those of vfmadd231ps on this core, timed on
 * register-only loops (best of five rounds of ~0.2 M instructions each, well under a
 * millisecond in all). Only on CPUs with AVX-512-BF16. */
double skinny_bf16_dot_speedup(void);

#endif

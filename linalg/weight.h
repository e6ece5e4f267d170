/* A weight matrix in the element type it is stored in: float32, or bfloat16 / float16 as
 * the model's files hold them (read in place from a memory-mapped file, never widened to a
 * float32 copy), and the products the model runs on it.
 *
 * Products compute in float32 whatever the storage: a bfloat16 or float16 element is
 * widened exactly to float32 as it is loaded, so a product on a half-precision matrix equals
 * bit for bit the same product on its float32 widening (tests/test_weight.c). The exception,
 * only when T2_KERNEL forces it: the AVX-512-BF16 kernel and its twin take bfloat16 dot
 * products on bfloat16 matrices (linalg/skinny.h).
 *
 *   t2_weight_gemm        C (m x n) = A (m x k) Wᵀ (+ C)   W: n x k row-major (out x in)
 *   t2_weight_gemm_input  C (m x k) = A (m x n) W  (+ C)   the gradient through W
 *
 * A float32 W goes to t2_gemm unchanged (which sends few rows to the skinny kernels). For a
 * half-precision W, up to t2_skinny_max_rows_of() rows of A run the skinny kernels
 * (linalg/skinny.h), which read half-precision elements directly (half the bytes of float32:
 * decoding is bound by those bytes; on the BF16 kernels a bfloat16 W takes every row
 * count, prompts too). Beyond that, and for t2_weight_gemm_input, blocks of W's rows are
 * widened into a float32 scratch and multiplied by BLIS (the products are then bound by
 * arithmetic, and the widening is a small part). Threading: t2_blis_threads()
 * (linalg/blis_setup.h). */
#ifndef T2_LINALG_WEIGHT_H
#define T2_LINALG_WEIGHT_H

#include <stddef.h>
#include <stdint.h>

typedef enum t2_weight_type {
    T2_WEIGHT_F32,
    T2_WEIGHT_BF16, /* the top 16 bits of a float32 */
    T2_WEIGHT_F16   /* IEEE 754 binary16 */
} t2_weight_type;

typedef struct t2_weight {
    union {
        float *f32;     /* T2_WEIGHT_F32 */
        uint16_t *half; /* T2_WEIGHT_BF16, T2_WEIGHT_F16 */
        void *data;
    };
    t2_weight_type type;
} t2_weight;

/* A float32 view of `data`. */
static inline t2_weight t2_weight_of_f32(float *data) {
    return (t2_weight){{.f32 = data}, T2_WEIGHT_F32};
}

/* Bytes per element of the type. */
size_t t2_weight_type_size(t2_weight_type type);
/* "F32", "BF16", "F16". */
const char *t2_weight_type_name(t2_weight_type type);

/* The element `offset` elements further into w's storage (same type). */
t2_weight t2_weight_offset(t2_weight w, int64_t offset);

/* 1 when b starts right where the first `count` elements of a end, in the same type: then
 * a and b are one matrix (q, k and v as one [q k v] product). */
int t2_weight_follows(t2_weight a, int64_t count, t2_weight b);

/* out[0 .. count) = elements [offset, offset + count) of w as float32 (exact). Runs on
 * t2_blis_threads() threads when count is large. */
void t2_weight_widen(float *out, t2_weight w, int64_t offset, int64_t count);

/* One half-precision value as float32 (exact). */
float t2_weight_bf16_to_f32(uint16_t bits);
float t2_weight_f16_to_f32(uint16_t bits);

/* C (m x n, ldc >= n) = A (m x k, lda >= k) Wᵀ, beta 0 (C not read) or 1 (C +=). W is n x k
 * with row stride k. m, n, k >= 0. */
void t2_weight_gemm(float *c, int64_t ldc, const float *a, int64_t lda, t2_weight w, int64_t m,
                    int64_t n, int64_t k, float beta);

/* C (m x k, ldc >= k) = A (m x n, lda >= n) W, beta 0 or 1. W is n x k with row stride k. */
void t2_weight_gemm_input(float *c, int64_t ldc, const float *a, int64_t lda, t2_weight w,
                          int64_t m, int64_t n, int64_t k, float beta);

#endif

/* Skinny products C = A Bᵀ for a few rows of A: the linear layers of decoding, where each
 * weight matrix B is streamed once per token and BLIS's large-GEMM kernels are the wrong
 * tool (at m = 1 they reach a fraction of the memory bandwidth).
 *
 *   C (m x n, ldc >= n)  =  A (m x k, lda >= k) · Bᵀ        beta == 0 (C is not read)
 *                       +=  A · Bᵀ                          beta == 1
 *   B: n x k row-major (ldb >= k): Hugging Face's out x in weight layout.
 *   m >= 1 (any; t2_gemm sends up to t2_skinny_max_rows(kernel) rows); C must not overlap
 *   A or B.
 *
 * Kernels, chosen once per process at the first call: AVX-512-BF16, AVX-512F, AVX2+FMA+F16C,
 * plain C. The SIMD ones are compiled with function-level target attributes and picked with
 * __builtin_cpu_supports, so a binary built anywhere runs on any x86-64. The environment
 * variable T2_KERNEL=avx512|avx2|plain|blis|avx512bf16|plainbf16 forces one (blis: every
 * product goes to BLIS); an unknown value or a kernel the CPU lacks falls back to the
 * automatic choice: AVX-512-BF16 where its vdpbf16ps adds products at least
 * T2_SKINNY_BF16_MIN_SPEEDUP times as fast as vfmadd231ps (t2_skinny_bf16_dot_speedup: 1.8
 * times on the AMD EPYC Zen 5 measured; half as fast on the AVX-512-BF16 Xeons t2 was
 * measured on, where the kernel multiplied bfloat16 weights slower than avx512's widening,
 * docs/inference.md),
 * else AVX-512F, else AVX2+FMA, else BLIS (the plain kernels would call libm's software fmaf
 * there). t2_skinny_active_kernel() says which one runs.
 *
 * Float32 arithmetic (every kernel on float32 and float16 B; all but the two BF16 kernels on
 * bfloat16 B): every element is computed the same way: 16 partial sums, lane l accumulating
 * a[p] b[p] for p = l mod 16 in increasing p with fused multiply-adds (the k tail padded
 * with zeros), folded as the tree of linalg/lanes.h (l + l+8, + l+4, + l+2, + l+1), then
 * stored or added to C. So results are bitwise the same on every kernel, for every thread
 * count, for every m and every position of a row or column in the product: a sequence's
 * logits do not depend on the batch it decodes in. They differ from BLIS's in the last bits.
 *
 * Bfloat16 dot products (the BF16 kernels on bfloat16 B, linalg/skinny_bf16.c): A's elements
 * are rounded to bfloat16 and pairs of products summed as AVX-512-BF16's vdpbf16ps does —
 * llama.cpp's arithmetic on bfloat16 weights, with half the loads and no widening. Bitwise
 * the same on avx512bf16 and plainbf16, for every thread count, m and position; not equal to
 * the float32 arithmetic on B's widening (A's rounding: ~2^-9 relative per product).
 *
 * Threading: OpenMP over column ranges of C (each element computed by one thread), with
 * t2_blis_threads() threads (linalg/blis_setup.h) for products of at least
 * T2_SKINNY_PARALLEL_MACS multiply-adds, else one. OpenMP because the BLIS t2 loads is its
 * OpenMP build: both share libgomp's one pool of threads, whose workers are still spinning
 * from the last product when the next one starts (a region costs ~1 µs here).
 *
 * Memory: nothing per call, except that the AVX-512 kernel on half-precision B with many
 * rows widens each block of B's rows into a float32 scratch of the calling thread (6 x k
 * floats, grown to the largest k the thread has seen, freed when the thread exits). */
#ifndef T2_LINALG_SKINNY_H
#define T2_LINALG_SKINNY_H

#include <stdint.h>

#include "linalg/weight.h"

/* The size (m n k) from which a product runs on several threads: below it one thread was
 * as fast (docs/inference.md). */
enum { T2_SKINNY_PARALLEL_MACS = 1 << 15 };

typedef enum t2_skinny_kernel {
    T2_SKINNY_KERNEL_BLIS,  /* none: products go to BLIS */
    T2_SKINNY_KERNEL_PLAIN, /* portable C with fmaf */
    T2_SKINNY_KERNEL_AVX2,  /* AVX2 + FMA */
    T2_SKINNY_KERNEL_AVX512, /* AVX-512F */
    /* AVX-512F, and on bfloat16 weights bfloat16 dot products (AVX-512-BF16's vdpbf16ps):
     * A's elements rounded to bfloat16, see linalg/skinny_bf16.c */
    T2_SKINNY_KERNEL_AVX512_BF16,
    T2_SKINNY_KERNEL_PLAIN_BF16 /* its portable-C twin: plain, and the same bf16 products */
} t2_skinny_kernel;

/* C = A Bᵀ (beta 0) or C += A Bᵀ (beta 1), shapes as above, on the active kernel (which must
 * not be T2_SKINNY_KERNEL_BLIS) and t2_blis_threads() threads. */
void t2_skinny_forward(float *c, int64_t ldc, const float *a, int64_t lda, const float *b,
                       int64_t ldb, int64_t m, int64_t n, int64_t k, float beta);

/* The same on the given kernel (one the CPU supports, not BLIS) and at most `threads`
 * threads (>= 1): for tests and benchmarks. */
void t2_skinny_forward_with(t2_skinny_kernel kernel, int threads, float *c, int64_t ldc,
                            const float *a, int64_t lda, const float *b, int64_t ldb,
                            int64_t m, int64_t n, int64_t k, float beta);

/* The same with B in its storage type (linalg/weight.h): float16 elements, and bfloat16 ones
 * on all but the BF16 kernels, are widened to float32 as they are loaded, so the result
 * equals bit for bit that of B's float32 widening; the BF16 kernels take bfloat16 dot
 * products on bfloat16 B (above). ldb counts elements. */
void t2_skinny_forward_weight(float *c, int64_t ldc, const float *a, int64_t lda, t2_weight b,
                              int64_t ldb, int64_t m, int64_t n, int64_t k, float beta);
void t2_skinny_forward_weight_with(t2_skinny_kernel kernel, int threads, float *c, int64_t ldc,
                                   const float *a, int64_t lda, t2_weight b, int64_t ldb,
                                   int64_t m, int64_t n, int64_t k, float beta);

/* Plain-loop twin accumulating in double, for tests. Any m >= 0. */
void t2_skinny_forward_ref(float *c, int64_t ldc, const float *a, int64_t lda, const float *b,
                           int64_t ldb, int64_t m, int64_t n, int64_t k, float beta);

/* The most rows for which t2_gemm runs the kernel rather than BLIS: where it measured
 * faster than BLIS's kernel set for the same CPU (docs/inference.md): AVX-512 (and
 * AVX-512-BF16) 128, AVX2 4; plain and plainbf16 (forced only) as AVX-512, so a forced plain
 * run reproduces an AVX-512 run bit for bit; BLIS 0. */
int64_t t2_skinny_max_rows(t2_skinny_kernel kernel);
/* The same for B of the given type: float32 as above; bfloat16 on the BF16 kernels every row
 * count (T2_SKINNY_ALL_ROWS); otherwise bfloat16 / float16 128 on every kernel but BLIS (0),
 * since BLIS would first need all of B widened, which costs more than the AVX2 kernel loses
 * to BLIS up to 128 rows. */
int64_t t2_skinny_max_rows_of(t2_skinny_kernel kernel, t2_weight_type type);

/* t2_skinny_max_rows_of for bfloat16 weights on the BF16 kernels: every row count, prompts'
 * too, so that a sequence's products take the same bfloat16 arithmetic whatever the batch
 * (the kernels sweep A in blocks of rows that stay in L2, see linalg/skinny_impl.h). */
#define T2_SKINNY_ALL_ROWS INT64_MAX

/* Multiply-adds per second of AVX-512-BF16's vdpbf16ps over AVX-512F's vfmadd231ps on one
 * core of this CPU, measured once per process on register-only loops (under a
 * millisecond); 0 without AVX-512-BF16. The automatic choice takes avx512bf16 from
 * T2_SKINNY_BF16_MIN_SPEEDUP on (measured: 1.8 on an AMD EPYC Zen 5, 0.5 on an Intel Xeon). */
double t2_skinny_bf16_dot_speedup(void);
#define T2_SKINNY_BF16_MIN_SPEEDUP 1.4

/* The kernel t2_skinny_forward runs (T2_KERNEL, else the CPU's best); decided at the first
 * call of any function here, then fixed for the process. */
t2_skinny_kernel t2_skinny_active_kernel(void);

/* 1 when this CPU can run the kernel (BLIS and plain: always). */
int t2_skinny_kernel_supported(t2_skinny_kernel kernel);

/* 1 for the kernels whose float32 arithmetic is AVX-512F's (avx512, avx512bf16): the other
 * kernels of linalg/ (decode attention) follow this choice. */
int t2_skinny_kernel_runs_avx512(t2_skinny_kernel kernel);

/* How many of B's rows each thread streams at once when m = 1 on the SIMD kernels: 8 (the
 * 1 x 8 tile; AVX2: 1 x 4) or 1 (1 x 1 tiles: B read row after row, one stream a thread; each
 * element computed the same way, so the same bits). T2_SKINNY_STREAMS=1|8 forces one; else 1
 * on AMD's CPUs, 8 on the others: on the AMD EPYC (Zen 5) measured, one stream read the
 * weights 15-25 % faster than eight in lockstep, on the Intel Xeons measured before eight
 * were the faster (docs/inference.md). Decided once per process. */
int t2_skinny_single_row_streams(void);

/* "blis", "plain", "avx2", "avx512", "avx512bf16", "plainbf16": the names T2_KERNEL takes. */
const char *t2_skinny_kernel_name(t2_skinny_kernel kernel);

#endif

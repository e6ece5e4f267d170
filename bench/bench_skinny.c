/* Benchmark of the skinny kernels (linalg/skinny.h) against BLIS on the linear layers of a
 * decode step, by row count: where the kernels beat BLIS sets t2_skinny_max_rows.
 *
 * The weights are the projections of L layers of a Llama-shaped model (random; default the
 * d1024 model of docs/inference.md: d 1024, 8/4 heads of 128, ffn 2816, 4 layers), as the
 * forward runs them: [Wq Wk Wv], Wo (accumulating), [Wg Wu], Wd (accumulating). For each
 * row count m it times one pass over all layers through every skinny kernel the CPU has and
 * through BLIS (t2_gemm_strided, which never dispatches), alternating, the best of
 * --repeats rounds after a warm-up, and prints GFLOP/s and GB/s of weights read. The
 * physical reference, measured in the same run before every round: a STREAM-like read of
 * the same weights with the same threads (OpenMP), in GB/s, best of the run.
 *
 *   bench_skinny [--d N] [--heads N] [--kv-heads N] [--ffn N] [--layers N] [--repeats N]
 *                [--rows N]...   (row counts; default 1 2 4 8 12 16 24 32 48 64)
 *                [--bf16]        (the weights in bfloat16: every kernel reads them so, the
 *                                 avx512bf16 kernel with its bfloat16 dot products; BLIS, the
 *                                 reference, multiplies their float32 widening)
 * Threads: t2_blis_setup(0, 1), i.e. BLIS_NUM_THREADS or every CPU available; BLIS's kernel
 * set as t2 picks it (BLIS_ARCH_TYPE=3 for haswell's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/progress.h"
#include "base/rng.h"
#include "linalg/blis_setup.h"
#include "linalg/gemm.h"
#include "linalg/skinny.h"
#include "stream_read.h"

enum { MAX_ROW_COUNTS = 16, PRODUCTS = 4 };

typedef struct options {
    int64_t d, heads, kv_heads, ffn, layers, repeats;
    int64_t rows[MAX_ROW_COUNTS];
    int n_rows;
    int bf16; /* --bf16 */
} options;

/* One layer's products: out (m x n) = in (m x k) Wᵀ, beta. */
typedef struct product {
    int64_t n, k;
    float beta;
    float *w[64];     /* per layer */
    uint16_t *h[64];  /* the same, as bfloat16 (--bf16) */
} product;

static int parse_options(options *o, int argc, char **argv) {
    *o = (options){1024, 8, 4, 2816, 4, 5, {1, 2, 4, 8, 12, 16, 24, 32, 48, 64}, 10, 0};
    int user_rows = 0;
    for (int i = 1; i < argc; i++) {
        const char *names[] = {"--d", "--heads", "--kv-heads", "--ffn", "--layers", "--repeats"};
        int64_t *values[] = {&o->d, &o->heads, &o->kv_heads, &o->ffn, &o->layers, &o->repeats};
        int known = 0;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            if (strcmp(argv[i], names[k]) != 0 || i + 1 >= argc) continue;
            *values[k] = strtoll(argv[++i], NULL, 10);
            known = *values[k] > 0;
        }
        if (strcmp(argv[i], "--bf16") == 0) known = o->bf16 = 1;
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc && user_rows < MAX_ROW_COUNTS) {
            o->rows[user_rows] = strtoll(argv[++i], NULL, 10);
            known = o->rows[user_rows++] > 0;
            o->n_rows = user_rows;
        }
        if (!known) {
            fprintf(stderr, "bench_skinny: bad argument '%s'; see the header of "
                    "bench/bench_skinny.c\n", argv[i]);
            return -1;
        }
    }
    if (o->layers > 64 || o->d % o->heads != 0 || o->heads % o->kv_heads != 0) {
        fprintf(stderr, "bench_skinny: at most 64 layers; heads must divide d and be a "
                "multiple of kv-heads\n");
        return -1;
    }
    return 0;
}

/* Seconds for one pass over every layer's products with m rows. kernel BLIS: through BLIS. */
static double time_pass(const options *o, const product *prods, t2_skinny_kernel kernel,
                        int64_t m, float *x, float *y) {
    double start = t2_time_now();
    for (int64_t l = 0; l < o->layers; l++) {
        for (int p = 0; p < PRODUCTS; p++) {
            const product *pr = &prods[p];
            /* inputs in x, outputs in y: the values do not matter, only the shapes */
            if (kernel == T2_SKINNY_KERNEL_BLIS)
                t2_gemm_strided(y, pr->n, 1, x, pr->k, 1, pr->w[l], 1, pr->k, m, pr->n, pr->k,
                                1.0f, pr->beta);
            else if (o->bf16)
                t2_skinny_forward_weight_with(kernel, t2_blis_threads(), y, pr->n, x, pr->k,
                                              (t2_weight){{.half = pr->h[l]}, T2_WEIGHT_BF16},
                                              pr->k, m, pr->n, pr->k, pr->beta);
            else
                t2_skinny_forward_with(kernel, t2_blis_threads(), y, pr->n, x, pr->k, pr->w[l],
                                       pr->k, m, pr->n, pr->k, pr->beta);
        }
    }
    return t2_time_now() - start;
}

int main(int argc, char **argv) {
    options o;
    if (parse_options(&o, argc, argv) != 0) return 2;
    t2_blis_setup(0, 1);
    int64_t hd = o.d / o.heads, q = o.heads * hd, kv = o.kv_heads * hd;
    product prods[PRODUCTS] = {{q + 2 * kv, o.d, 0.0f, {0}, {0}},
                               {o.d, q, 1.0f, {0}, {0}},
                               {2 * o.ffn, o.d, 0.0f, {0}, {0}},
                               {o.d, o.ffn, 1.0f, {0}, {0}}};
    int64_t layer_floats = 0;
    for (int p = 0; p < PRODUCTS; p++) layer_floats += prods[p].n * prods[p].k;
    float *slab = t2_alloc_array_huge((size_t)(layer_floats * o.layers), sizeof(float));
    t2_rng rng;
    t2_rng_init(&rng, 1);
    uint16_t *half = o.bf16 ? t2_alloc_array_huge((size_t)(layer_floats * o.layers), 2) : NULL;
    for (int64_t i = 0; i < layer_floats * o.layers; i++) {
        slab[i] = 0.02f * t2_rng_normal(&rng);
        if (!half) continue;
        uint32_t bits;
        memcpy(&bits, &slab[i], sizeof bits);
        half[i] = (uint16_t)(bits >> 16); /* truncated: the values do not matter */
        slab[i] = t2_weight_bf16_to_f32(half[i]);
    }
    int64_t offset = 0;
    for (int64_t l = 0; l < o.layers; l++) {
        for (int p = 0; p < PRODUCTS; p++) {
            prods[p].w[l] = slab + offset;
            prods[p].h[l] = half ? half + offset : NULL;
            offset += prods[p].n * prods[p].k;
        }
    }
    int64_t max_rows = 0, width = o.ffn > o.d ? 2 * o.ffn : 2 * o.d;
    for (int r = 0; r < o.n_rows; r++) max_rows = o.rows[r] > max_rows ? o.rows[r] : max_rows;
    float *x = t2_alloc_array((size_t)(max_rows * width), sizeof(float));
    float *y = t2_alloc_array((size_t)(max_rows * (width + q + 2 * kv)), sizeof(float));
    for (int64_t i = 0; i < max_rows * width; i++) x[i] = t2_rng_normal(&rng);
    double f32_bytes = (double)(layer_floats * o.layers) * sizeof(float);
    double bytes = o.bf16 ? f32_bytes / 2 : f32_bytes; /* what the skinny kernels read */
    double flops_per_row = 2.0 * (double)(layer_floats * o.layers);

    t2_skinny_kernel kernels[4];
    int n_kernels = 0;
    for (int k = T2_SKINNY_KERNEL_AVX512_BF16; k >= T2_SKINNY_KERNEL_AVX2; k--)
        if (t2_skinny_kernel_supported(k) && (o.bf16 || k != T2_SKINNY_KERNEL_AVX512_BF16))
            kernels[n_kernels++] = k; /* avx512bf16 is avx512 on float32 weights */
    kernels[n_kernels++] = T2_SKINNY_KERNEL_BLIS;

    float sink = 0.0f;
    double read_best = 1e30; /* over the whole run: a read precedes every round */
    for (int64_t r = 0; r < o.repeats + 1; r++) {
        double t = stream_read_seconds(slab, layer_floats * o.layers, t2_blis_threads(), &sink);
        if (r > 0 && t < read_best) read_best = t;
    }
    printf("bench_skinny: d %lld, heads %lld/%lld, ffn %lld, %lld layers: %.0f MB of %s "
           "weights; BLIS %s, %d threads\n", (long long)o.d, (long long)o.heads,
           (long long)o.kv_heads, (long long)o.ffn, (long long)o.layers, bytes * 1e-6,
           o.bf16 ? "BF16" : "F32", t2_blis_arch_name(), t2_blis_threads());
    printf("%5s", "rows");
    for (int k = 0; k < n_kernels; k++)
        printf("  %8s GFLOP/s  GB/s", t2_skinny_kernel_name(kernels[k]));
    printf("  best/BLIS\n");
    for (int r = 0; r < o.n_rows; r++) {
        int64_t m = o.rows[r];
        double best[4] = {1e30, 1e30, 1e30, 1e30};
        for (int64_t rep = 0; rep < o.repeats + 1; rep++) {
            double t_read =
                stream_read_seconds(slab, layer_floats * o.layers, t2_blis_threads(), &sink);
            read_best = t_read < read_best ? t_read : read_best;
            for (int k = 0; k < n_kernels; k++) {
                double t = time_pass(&o, prods, kernels[k], m, x, y);
                if (rep > 0 && t < best[k]) best[k] = t;
            }
        }
        printf("%5lld", (long long)m);
        double fastest = 1e30;
        for (int k = 0; k < n_kernels; k++) {
            if (best[k] >= 1e30) {
                printf("  %8s %7s %5s", "", "-", "-");
                continue;
            }
            double read = kernels[k] == T2_SKINNY_KERNEL_BLIS ? f32_bytes : bytes;
            printf("  %8s %7.1f %5.1f", "", flops_per_row * (double)m / best[k] * 1e-9,
                   read / best[k] * 1e-9);
            if (kernels[k] != T2_SKINNY_KERNEL_BLIS && best[k] < fastest) fastest = best[k];
        }
        if (fastest < 1e30) printf("  %8.2f", best[n_kernels - 1] / fastest);
        printf("\n");
    }
    printf("reference: STREAM-like read of the weights, best of the run: %.1f GB/s\n",
           f32_bytes / read_best * 1e-9);
    if (sink == 12345.0f) printf("\n"); /* keeps the read from being optimised away */
    t2_free(x);
    t2_free(y);
    t2_free(slab);
    t2_free(half);
    return 0;
}

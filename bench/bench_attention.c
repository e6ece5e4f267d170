/* Benchmark of decode speed against the context length: how much of a one-sequence decode
 * step the attention over the KV cache costs as the context grows.
 *
 * Builds a random Llama-style model in memory (issue 15's shape by default: d_model 1024,
 * 8 heads / 4 KV heads, 4 layers, ffn 2816, vocab 512; flags change it) and, for each
 * context C of --contexts, fills one KV cache slot with C random positions (random keys and
 * values cost the attention what real ones do, without a long prefill), then decodes one
 * token at a time. Prints the median step's tokens/s, the K/V bytes a step reads, and the
 * ratio of each context's speed to the first context's (issue 15's target: context 2,048
 * keeps >= 70 % of the speed at context 128). Rounds of --steps steps over all contexts
 * alternate (--repeats rounds after one warm-up round), so every context sees the same
 * machine; each round starts again from the filled context.
 *
 *   bench_attention [--d N] [--heads N] [--kv-heads N] [--layers N] [--ffn N] [--vocab N]
 *                   [--contexts A,B,...] [--steps N] [--repeats N] [--kv F32|F16]
 * Threads: t2_blis_setup(0, 1), i.e. BLIS_NUM_THREADS or every CPU available. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "bench_model.h"
#include "base/progress.h"
#include "base/rng.h"
#include "linalg/blis_setup.h"
#include "model/forward.h"

enum { MAX_CONTEXTS = 8 };

typedef struct options {
    int64_t d, heads, kv_heads, layers, ffn, vocab, steps, repeats;
    int64_t contexts[MAX_CONTEXTS];
    int n_contexts;
    t2_weight_type kv; /* the KV cache's type */
} options;

static int parse_contexts(options *o, const char *list) {
    o->n_contexts = 0;
    for (const char *p = list; *p != '\0';) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v <= 0 || o->n_contexts == MAX_CONTEXTS) return -1;
        o->contexts[o->n_contexts++] = v;
        if (*end == ',') end++;
        else if (*end != '\0') return -1;
        p = end;
    }
    return o->n_contexts > 0 ? 0 : -1;
}

static int parse_options(options *o, int argc, char **argv) {
    *o = (options){1024, 8, 4, 4, 2816, 512, 16, 3, {128, 2048, 8192}, 3, T2_WEIGHT_F32};
    const char *names[] = {"--d",   "--heads", "--kv-heads", "--layers",
                           "--ffn", "--vocab", "--steps",    "--repeats"};
    int64_t *values[] = {&o->d,   &o->heads, &o->kv_heads, &o->layers,
                         &o->ffn, &o->vocab, &o->steps,    &o->repeats};
    for (int i = 1; i < argc; i++) {
        int known = 0;
        if (strcmp(argv[i], "--contexts") == 0 && i + 1 < argc) {
            known = parse_contexts(o, argv[++i]) == 0;
        } else if (strcmp(argv[i], "--kv") == 0 && i + 1 < argc) {
            known = bench_kv_type(argv[++i], &o->kv);
        } else {
            known = bench_int_flag(argc, argv, &i, names, values, sizeof names / sizeof names[0]);
        }
        if (!known) {
            fprintf(stderr, "bench_attention: bad argument '%s'; see the header of "
                    "bench/bench_attention.c\n", argv[i]);
            return -1;
        }
    }
    return bench_check_heads("bench_attention", o->d, o->heads, o->kv_heads);
}


static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int64_t n) {
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Slot 0 holds ctx positions of random keys and values in every layer and KV head. */
static void fill_context(t2_kv_cache *cache, int64_t ctx, t2_rng *rng) {
    t2_kv_cache_reset(cache, 0);
    int64_t hd = cache->head_dim;
    float *k = t2_alloc_array((size_t)hd, sizeof(float)), *v = t2_alloc_array((size_t)hd, sizeof(float));
    for (int64_t layer = 0; layer < cache->n_layers; layer++) {
        for (int64_t h = 0; h < cache->n_kv_heads; h++) {
            for (int64_t pos = 0; pos < ctx; pos++) {
                for (int64_t i = 0; i < hd; i++) {
                    k[i] = t2_rng_normal(rng);
                    v[i] = t2_rng_normal(rng);
                }
                t2_kv_cache_store(cache, 0, layer, h, pos, k, v);
            }
        }
    }
    t2_free(k);
    t2_free(v);
    cache->length[0] = ctx;
}

int main(int argc, char **argv) {
    options o;
    if (parse_options(&o, argc, argv) != 0) return 2;
    t2_blis_setup(0, 1);
    int64_t max_ctx = 0;
    for (int c = 0; c < o.n_contexts; c++)
        max_ctx = o.contexts[c] > max_ctx ? o.contexts[c] : max_ctx;
    int64_t capacity = max_ctx + o.steps;
    t2_model_config cfg = bench_model_config(o.d, o.ffn, o.layers, o.heads, o.kv_heads, o.vocab,
                                             capacity, 0);
    t2_model_weights w;
    t2_model_weights_init(&w, &cfg);
    t2_model_weights_init_random(&w, &cfg, 1, 0.02f);
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, &cfg, &w, 1, capacity);
    t2_kv_cache_init_typed(&cache, &cfg, 1, capacity, o.kv);
    float *logits = t2_alloc_array((size_t)cfg.vocab_size, sizeof(float));
    int64_t n_timed = o.steps * o.repeats;
    double *times = t2_alloc_array((size_t)(o.n_contexts * n_timed), sizeof(double));
    t2_rng rng;
    t2_rng_init(&rng, 11);
    for (int64_t r = 0; r < o.repeats + 1; r++) {
        for (int c = 0; c < o.n_contexts; c++) {
            fill_context(&cache, o.contexts[c], &rng);
            for (int64_t t = 0; t < o.steps; t++) {
                int32_t token = (int32_t)(t2_rng_next(&rng) % (uint64_t)cfg.vocab_size);
                t2_forward_seq seq = {0, 1, &token, 0};
                t2_error err = {{0}};
                double start = t2_time_now();
                if (t2_forward_run(&f, &cache, &seq, 1, T2_FORWARD_LOGITS_LAST, logits,
                                   &err) != 0) {
                    fprintf(stderr, "bench_attention: %s\n", err.msg);
                    return 1;
                }
                double elapsed = t2_time_now() - start;
                if (r > 0) times[c * n_timed + (r - 1) * o.steps + t] = elapsed;
            }
        }
    }
    printf("bench_attention: d_model %lld, heads %lld/%lld, layers %lld, ffn %lld, vocab %lld; "
           "KV cache %s; decode of 1 sequence; BLIS %s, %d threads; median of %lld steps\n",
           (long long)o.d, (long long)o.heads, (long long)o.kv_heads, (long long)o.layers,
           (long long)o.ffn, (long long)o.vocab, t2_weight_type_name(o.kv), t2_blis_arch_name(),
           t2_blis_threads(), (long long)n_timed);
    printf("%10s %10s %12s %12s %14s\n", "context", "tokens/s", "ms/token", "K/V MB/step",
           "vs first ctx");
    double first = 0.0;
    for (int c = 0; c < o.n_contexts; c++) {
        double step = median(times + c * n_timed, n_timed);
        double kv_mb = 2.0 * (double)(o.contexts[c] + o.steps / 2) * (double)cfg.head_dim *
                       (double)(cfg.num_key_value_heads * cfg.num_hidden_layers) *
                       (double)t2_weight_type_size(o.kv) / 1e6;
        if (c == 0) first = 1.0 / step;
        printf("%10lld %10.1f %12.2f %12.1f %13.0f %%\n", (long long)o.contexts[c], 1.0 / step,
               1e3 * step, kv_mb, 100.0 * (1.0 / step) / first);
    }
    t2_free(times);
    t2_free(logits);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
    t2_model_weights_free(&w);
    return 0;
}
